package config

import (
	"maps"
	"testing"
	"time"
)

func TestPeriodTTLs(t *testing.T) {
	const head = "twilio: {api_url: https://usage.example.com, client_id: id, client_secret: s}\n"
	tests := []struct {
		name                           string
		yaml                           string
		yesterday, lastMonth, thisYear time.Duration
	}{
		{"defaults", "billing_groups: [{id: commerce_billingprofile_A1}]\n", time.Hour, 6 * time.Hour, 6 * time.Hour},
		{"top level switches off and sets a lifetime",
			"periods: {yesterday: {enabled: false}, last_month: {cache_ttl: 12h}, this_year: {cache_ttl: 24h}}\nbilling_groups: [{id: commerce_billingprofile_A1}]\n",
			0, 12 * time.Hour, 24 * time.Hour},
		{"group overrides the top level",
			"periods: {yesterday: {enabled: false}, this_year: {enabled: false}}\nbilling_groups: [{id: commerce_billingprofile_A1, periods: {yesterday: {enabled: true, cache_ttl: 30m}, last_month: {enabled: false}, this_year: {enabled: true}}}]\n",
			30 * time.Minute, 0, 6 * time.Hour},
		{"group lifetime keeps the top-level switch",
			"periods: {last_month: {enabled: false}, this_year: {enabled: false}}\nbilling_groups: [{id: commerce_billingprofile_A1, periods: {last_month: {cache_ttl: 2h}, this_year: {cache_ttl: 2h}}}]\n",
			time.Hour, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse([]byte(head+tc.yaml), nil)
			if err != nil {
				t.Fatal(err)
			}
			got := cfg.PeriodTTLs(cfg.BillingGroups[0])
			want := map[string]time.Duration{"yesterday": tc.yesterday, "last_month": tc.lastMonth, "this_year": tc.thisYear}
			if !maps.Equal(got, want) {
				t.Fatalf("PeriodTTLs = %v; want %v", got, want)
			}
		})
	}
}

func TestPeriodsDump(t *testing.T) {
	cfg, err := Parse([]byte("twilio: {api_url: https://usage.example.com, client_id: id, client_secret: s}\nperiods: {last_month: {enabled: true, cache_ttl: 90m}, this_year: {enabled: false}}\nbilling_groups: [{id: commerce_billingprofile_A1, budget: {amount: 100, currency: USD}, annual_budget: {amount: 1000, currency: USD}, periods: {this_year: {cache_ttl: 12h}}}]\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := `twilio:
  api_url: https://usage.example.com
  token_url: https://oauth.twilio.com/v2/token
  client_id: id
  client_secret: <secret>
  request_encoding: auto
  page_token_param: pageToken
  page_size: 100
  max_pages: 1000
  max_records: 100000
  max_series: 10000
periods:
  last_month:
    enabled: true
    cache_ttl: 1h30m0s
  this_year:
    enabled: false
billing_groups:
  - id: commerce_billingprofile_A1
    budget:
      amount: 100
      currency: USD
    annual_budget:
      amount: 1000
      currency: USD
    periods:
      this_year:
        cache_ttl: 12h0m0s
`
	if got := cfg.String(); got != want {
		t.Fatalf("dump:\n%s\nwant:\n%s", got, want)
	}
}
