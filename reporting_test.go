package main

import (
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/internal/testsupport"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/landing"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/landing/pagetest"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim"
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
// cost it leaves out rather than adding it as if it were in another. The
// totals are exact: at each instant below, a page that added the rates'
// products as float64s showed a cent less or more than the decimals make.
func TestLandingPageShowsTheOrganizationTotal(t *testing.T) {
	for _, tc := range []struct {
		name, rates string
		eur         string // EUR's rate; "": none
		at          time.Time
	}{
		{"every currency", "{EUR: 1.25}", "1.25", time.Date(2026, time.November, 27, 0, 0, 0, 0, time.UTC)},
		{"every currency", "{EUR: 1.25}", "1.25", time.Date(2026, time.December, 10, 0, 0, 0, 0, time.UTC)},
		{"every currency", "{EUR: 1.25}", "1.25", time.Date(2026, time.December, 19, 0, 0, 0, 0, time.UTC)},
		{"EUR without a rate", "{GBP: 1.5}", "", time.Date(2026, time.December, 19, 0, 0, 0, 0, time.UTC)},
	} {
		t.Run(tc.name+" "+tc.at.Format(time.DateOnly), func(t *testing.T) {
			clk := testsupport.NewClock(tc.at)
			_, inst := simulatorWith(t, func(o *usagesim.Options) { o.Now = clk.Now })
			path := filepath.Join(t.TempDir(), "config.yml")
			writeConfig(t, path, inst, groupsAB+"reporting_currency:\n  currency: USD\n  rates_as_of: 2026-01-01\n  rates: "+tc.rates+"\n")
			o := testOptions()
			o.now = clk.Now
			ex := newTestExporterWith(t, path, o)
			families, err := testsupport.ScrapeFamilies(ex.server.URL + "/metrics") // waits for the refreshes
			if err != nil {
				t.Fatal(err)
			}
			// The truth: each currency's exact sum of the served figures,
			// times its rate, added exactly and rounded once.
			rateOf := map[string]*big.Rat{"USD": big.NewRat(1, 1)}
			if tc.eur != "" {
				rateOf["EUR"], _ = new(big.Rat).SetString(tc.eur)
			}
			month, year := new(big.Rat), new(big.Rat)
			for _, g := range []string{"marketing", "support"} {
				for total, sums := range map[*big.Rat]testsupport.ExactSums{
					month: monthCostByCurrency(t, families, g),
					year:  costByCurrency(t, families, "twilio_billing_group_this_year_cost", g),
				} {
					for cur, v := range sums {
						if rate, ok := rateOf[cur]; ok {
							total.Add(total, new(big.Rat).Mul(v, rate))
						}
					}
				}
			}
			cents := func(r *big.Rat) string {
				f, err := strconv.ParseFloat(r.FloatString(2), 64)
				if err != nil {
					t.Fatal(err)
				}
				return landing.Money{Amount: f, Currency: "USD"}.String()
			}
			doc := getLanding(t, ex.server.URL+"/")
			if got, want := pagetest.Field(t, doc, "organization-month"), cents(month); got != want {
				t.Errorf("organization this month %q, want %q", got, want)
			}
			if got, want := pagetest.Field(t, doc, "organization-year"), cents(year); got != want {
				t.Errorf("organization this year %q, want %q", got, want)
			}
			rates := pagetest.Field(t, doc, "organization-rates")
			if !strings.HasPrefix(rates, "budget rates of 2026-01-01") || strings.Contains(rates, "no rate for EUR") != (tc.eur == "") {
				t.Errorf("rates %q", rates)
			}
		})
	}
}
