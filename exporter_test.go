package main

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/config"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim"
)

// TestPeriodsFromConfig shows the periods section reaching the exporter:
// yesterday off everywhere, last month and this year on by default but off
// for one group.
func TestPeriodsFromConfig(t *testing.T) {
	sim, inst := simulator(t)
	path := filepath.Join(t.TempDir(), "config.yml")
	g := usagesim.DemoGroups()
	groups := fmt.Sprintf("  - id: %s\n    name: marketing\n  - id: %s\n    name: support\n    periods: {last_month: {enabled: false}, this_year: {enabled: false}}\n", g[0].ID, g[1].ID)
	writeConfig(t, path, inst, groups)
	beforeGroups(t, path, "periods:\n  yesterday: {enabled: false}\n")
	ex := newTestExporter(t, path)
	_, metrics, _ := request(t, http.MethodGet, ex.server.URL+"/metrics")
	for _, tc := range []struct {
		series string
		want   bool
	}{
		{`twilio_billing_group_last_month_up{billing_group="marketing"} 1`, true},
		{`twilio_billing_group_last_month_up{billing_group="support"}`, false},
		{`twilio_billing_group_last_month_cost{billing_group="marketing"`, true},
		{`twilio_billing_group_this_year_up{billing_group="marketing"} 1`, true},
		{`twilio_billing_group_this_year_cost{billing_group="marketing"`, true},
		{`twilio_billing_group_this_year_up{billing_group="support"}`, false},
		{`twilio_billing_group_yesterday_`, false},
	} {
		if got := strings.Contains(metrics, tc.series); got != tc.want {
			t.Errorf("exposition contains %q: %v, want %v", tc.series, got, tc.want)
		}
	}
	// THIS_MONTH for both groups, LAST_MONTH and THIS_YEAR for one: records
	// requests come from exactly four snapshots, and one more learns the request
	// encoding (auto, the default), which a JSON body answers at once.
	wantRequests := 1
	for _, x := range []struct {
		id, period string
	}{{g[0].ID, "THIS_MONTH"}, {g[1].ID, "THIS_MONTH"}, {g[0].ID, "LAST_MONTH"}, {g[0].ID, "THIS_YEAR"}} {
		recs, _ := sim.Records(x.id, x.period)
		wantRequests += (len(recs) + config.DefaultPageSize - 1) / config.DefaultPageSize
	}
	if got := sim.Stats().RecordsRequests; got != wantRequests {
		t.Errorf("records requests = %d, want %d", got, wantRequests)
	}
}
