package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/landing/pagetest"
)

// TestFiscalYearFromConfig: fiscal_year_start makes the year the fiscal year
// in the exposition (its month, the year's bounds) and on the landing page;
// a reload that drops it brings the calendar year back at the next scrape,
// never the old year's figures under the new bounds.
func TestFiscalYearFromConfig(t *testing.T) {
	_, inst := simulator(t)
	path := filepath.Join(t.TempDir(), "config.yml")
	writeConfig(t, path, inst, groupsAB)
	calendar, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// A fiscal year that began 11 months ago (in February when that is
	// January), so that it differs from the calendar year.
	now := time.Now().UTC()
	first := max(now.Month()%12+1, time.February)
	year := now.Year()
	if now.Month() < first {
		year--
	}
	fiscalStart := time.Date(year, first, 1, 0, 0, 0, 0, time.UTC)
	calendarStart := time.Date(now.Year(), time.January, 1, 0, 0, 0, 0, time.UTC)
	fiscal := append(append([]byte(nil), calendar...), "fiscal_year_start: {month: "+strings.TrimLeft(fiscalStart.Format("01"), "0")+"}\n"...)
	if err := os.WriteFile(path, fiscal, 0o600); err != nil {
		t.Fatal(err)
	}
	ex := newTestExporter(t, path)

	check := func(step string, month float64, start time.Time, label, from string) {
		t.Helper()
		_, body, _ := request(t, http.MethodGet, ex.server.URL+"/metrics")
		got := exposition(t, body)
		if got["twilio_billing_fiscal_year_start_month"] != month {
			t.Errorf("%s: twilio_billing_fiscal_year_start_month = %v, want %v", step, got["twilio_billing_fiscal_year_start_month"], month)
		}
		for _, g := range []string{"marketing", "support"} {
			key := `twilio_billing_group_this_year_period_start_timestamp_seconds{billing_group="` + g + `"}`
			if got[key] != float64(start.Unix()) {
				t.Errorf("%s: %s = %v, want %v (%s)", step, key, got[key], start.Unix(), start.Format(time.DateOnly))
			}
			if end := `twilio_billing_group_this_year_period_end_timestamp_seconds{billing_group="` + g + `"}`; got[end] != float64(start.AddDate(1, 0, 0).Unix()) {
				t.Errorf("%s: %s = %v, want a year after the start", step, end, got[end])
			}
		}
		doc := getLanding(t, ex.server.URL+"/")
		card := pagetest.Group(t, doc, "support")
		if !strings.Contains(pagetest.Text(card), label) || !strings.Contains(pagetest.Field(t, card, "year"), from) {
			t.Errorf("%s: the landing page's year to date is not labelled %q:\n%s", step, label, pagetest.Text(card))
		}
	}
	check("fiscal", float64(first), fiscalStart, "Fiscal year to date", "from 1 "+first.String())

	if err := os.WriteFile(path, calendar, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := request(t, http.MethodPost, ex.server.URL+"/-/reload"); code != http.StatusOK {
		t.Fatalf("reload: %d", code)
	}
	check("calendar after a reload", 1, calendarStart, "Spent this year", "")
}
