package main

import (
	"testing"
	"time"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/collector"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/config"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/exporter"
)

// TestCollectorGroupsBudgetAlertThresholds: a group with a budget gets its
// own thresholds or the defaults (what the rules compared with before they
// were configurable), a group without one none, and owner labels pass through.
func TestCollectorGroupsBudgetAlertThresholds(t *testing.T) {
	cfg, err := config.Parse([]byte(`twilio:
  api_url: https://usage.example.com
  client_id: OQ1
  client_secret: not-shown
billing_groups:
  - id: commerce_billingprofile_A1
    budget: {amount: 100, currency: USD}
  - id: commerce_billingprofile_A2
    budget: {amount: 100, currency: USD}
    budget_alert_thresholds: {nearly: 0.7, warning: 0.9, critical: 1.2}
    labels: {team: payments}
  - id: commerce_billingprofile_A3
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	groups := exporter.Groups(cfg, time.Minute)
	want := []*collector.Thresholds{{Nearly: 0.9, Warning: 1, Critical: 1.5}, {Nearly: 0.7, Warning: 0.9, Critical: 1.2}, nil}
	for i, g := range groups {
		switch got := g.Thresholds; {
		case (got == nil) != (want[i] == nil):
			t.Errorf("group %d: thresholds %v, want %v", i, got, want[i])
		case got != nil && *got != *want[i]:
			t.Errorf("group %d: thresholds %+v, want %+v", i, *got, *want[i])
		}
	}
	if got := groups[1].Labels["team"]; got != "payments" {
		t.Errorf("group 1: team %q, want payments", got)
	}
}
