package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/internal/testsupport"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/landing"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/landing/pagetest"
)

// TestReportingRatesExported: the reporting currency's rates are exported,
// its own at 1, with the date they were set; a reload that drops the
// section drops them, and one that changes a rate changes it.
func TestReportingRatesExported(t *testing.T) {
	_, inst := simulator(t)
	path := filepath.Join(t.TempDir(), "config.yml")
	writeConfig(t, path, inst, groupsAB)
	body, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	withRates := func(eur string) []byte {
		return append(append([]byte(nil), body...), "reporting_currency:\n  currency: USD\n  rates_as_of: 2026-01-01\n  rates: {EUR: "+eur+"}\n"...)
	}
	if err := os.WriteFile(path, withRates("1.08"), 0o600); err != nil {
		t.Fatal(err)
	}
	o := testOptions()
	o.lifecycle = true
	ex := newTestExporterWith(t, path, o)
	_, metrics, _ := request(t, http.MethodGet, ex.server.URL+"/metrics")
	for _, want := range []string{
		`twilio_billing_reporting_rate{currency="EUR",reporting_currency="USD"} 1.08`,
		`twilio_billing_reporting_rate{currency="USD",reporting_currency="USD"} 1`,
		`twilio_billing_reporting_rates_as_of_timestamp_seconds{reporting_currency="USD"} 1.7672256e+09`,
	} {
		if !strings.Contains(metrics, want+"\n") {
			t.Errorf("exposition lacks %s", want)
		}
	}

	if err := os.WriteFile(path, withRates("1.1"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := request(t, http.MethodPost, ex.server.URL+"/-/reload"); code != http.StatusOK {
		t.Fatalf("reload: %d", code)
	}
	if _, metrics, _ = request(t, http.MethodGet, ex.server.URL+"/metrics"); !strings.Contains(metrics, `twilio_billing_reporting_rate{currency="EUR",reporting_currency="USD"} 1.1`+"\n") {
		t.Error("a reloaded rate is not exported")
	}
	if err := os.WriteFile(path, body, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := request(t, http.MethodPost, ex.server.URL+"/-/reload"); code != http.StatusOK {
		t.Fatalf("reload: %d", code)
	}
	if _, metrics, _ = request(t, http.MethodGet, ex.server.URL+"/metrics"); strings.Contains(metrics, "twilio_billing_reporting_") {
		t.Error("rates are exported after the section was removed")
	}
}

// TestLandingPageShowsTheOrganizationTotal: the landing page converts every
// group's month and year into the reporting currency at the configured
// rates, says the rates' date, and names a currency without a rate, whose
// cost it leaves out rather than adding it as if it were in another.
func TestLandingPageShowsTheOrganizationTotal(t *testing.T) {
	for _, tc := range []struct {
		name, rates string
		eur         float64 // EUR's rate; 0: none
	}{
		{"every currency", "{EUR: 1.25}", 1.25},
		{"EUR without a rate", "{GBP: 1.5}", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, inst := simulator(t)
			path := filepath.Join(t.TempDir(), "config.yml")
			writeConfig(t, path, inst, groupsAB+"reporting_currency:\n  currency: USD\n  rates_as_of: 2026-01-01\n  rates: "+tc.rates+"\n")
			ex := newTestExporter(t, path)
			families, err := testsupport.ScrapeFamilies(ex.server.URL + "/metrics") // waits for the refreshes
			if err != nil {
				t.Fatal(err)
			}
			var month, year float64
			for _, g := range []string{"marketing", "support"} {
				for cur, v := range monthCostByCurrency(families, g) {
					month += v * map[string]float64{"USD": 1, "EUR": tc.eur}[cur]
				}
				for cur, v := range costByCurrency(families, "twilio_billing_group_this_year_cost", g) {
					year += v * map[string]float64{"USD": 1, "EUR": tc.eur}[cur]
				}
			}
			doc := getLanding(t, ex.server.URL+"/")
			if got, want := pagetest.Field(t, doc, "organization-month"), (landing.Money{Amount: month, Currency: "USD"}).String(); got != want {
				t.Errorf("organization this month %q, want %q", got, want)
			}
			if got, want := pagetest.Field(t, doc, "organization-year"), (landing.Money{Amount: year, Currency: "USD"}).String(); got != want {
				t.Errorf("organization this year %q, want %q", got, want)
			}
			rates := pagetest.Field(t, doc, "organization-rates")
			if !strings.HasPrefix(rates, "budget rates of 2026-01-01") || strings.Contains(rates, "no rate for EUR") != (tc.eur == 0) {
				t.Errorf("rates %q", rates)
			}
		})
	}
}
