package config

import (
	"testing"
	"time"
)

func TestPeriodTTLs(t *testing.T) {
	const head = "twilio: {api_url: https://usage.example.com, client_id: id, client_secret: s}\n"
	tests := []struct {
		name                 string
		yaml                 string
		yesterday, lastMonth time.Duration
	}{
		{"defaults", "billing_groups: [{id: commerce_billingprofile_A1}]\n", time.Hour, 6 * time.Hour},
		{"top level switches off and sets a lifetime",
			"periods: {yesterday: {enabled: false}, last_month: {cache_ttl: 12h}}\nbilling_groups: [{id: commerce_billingprofile_A1}]\n",
			0, 12 * time.Hour},
		{"group overrides the top level",
			"periods: {yesterday: {enabled: false}}\nbilling_groups: [{id: commerce_billingprofile_A1, periods: {yesterday: {enabled: true, cache_ttl: 30m}, last_month: {enabled: false}}}]\n",
			30 * time.Minute, 0},
		{"group lifetime keeps the top-level switch",
			"periods: {last_month: {enabled: false}}\nbilling_groups: [{id: commerce_billingprofile_A1, periods: {last_month: {cache_ttl: 2h}}}]\n",
			time.Hour, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse([]byte(head+tc.yaml), nil)
			if err != nil {
				t.Fatal(err)
			}
			y, l := cfg.PeriodTTLs(cfg.BillingGroups[0])
			if y != tc.yesterday || l != tc.lastMonth {
				t.Fatalf("PeriodTTLs = %v, %v; want %v, %v", y, l, tc.yesterday, tc.lastMonth)
			}
		})
	}
}

func TestPeriodsDump(t *testing.T) {
	cfg, err := Parse([]byte("twilio: {api_url: https://usage.example.com, client_id: id, client_secret: s}\nperiods: {last_month: {enabled: true, cache_ttl: 90m}}\nbilling_groups: [{id: commerce_billingprofile_A1}]\n"), nil)
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
billing_groups:
  - id: commerce_billingprofile_A1
`
	if got := cfg.String(); got != want {
		t.Fatalf("dump:\n%s\nwant:\n%s", got, want)
	}
}
