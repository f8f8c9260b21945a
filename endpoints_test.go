package main

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/internal/testsupport"
)

func TestLandingHealthReady(t *testing.T) {
	_, inst := simulator(t)
	path := filepath.Join(t.TempDir(), "config.yml")
	writeConfig(t, path, inst, groupsAB)
	ex := newTestExporter(t, path)
	// Not ready before the first refresh: a rollout would otherwise
	// replace a pod that has figures with one that has none.
	code, body, _ := request(t, http.MethodGet, ex.server.URL+"/-/ready")
	if want := "Not ready: waiting for the first refresh from Twilio (8 of the billing groups' periods to go, at most 1m0s more).\n"; code != http.StatusServiceUnavailable || body != want {
		t.Errorf("GET /-/ready before any refresh = %d %q, want 503 %q", code, body, want)
	}
	request(t, http.MethodGet, ex.server.URL+"/metrics") // waits for the first refreshes
	for _, tc := range []struct{ path, want string }{
		{"/-/healthy", "Healthy\n"},
		{"/-/ready", "Ready\n"},
	} {
		if code, body, _ := request(t, http.MethodGet, ex.server.URL+tc.path); code != 200 || body != tc.want {
			t.Errorf("GET %s = %d %q, want 200 %q", tc.path, code, body, tc.want)
		}
	}
	code, body, _ = request(t, http.MethodGet, ex.server.URL+"/")
	if code != 200 || !strings.Contains(body, "Twilio Billing Exporter") || !strings.Contains(body, `href="/metrics"`) {
		t.Fatalf("landing page = %d:\n%s", code, body)
	}
	if strings.Contains(body, testSecret) {
		t.Fatal("landing page shows the client secret")
	}
}

// Readiness waits for the first refresh only so long: a failed refresh
// counts as done (the exporter serves up 0, which the alerts report), and
// once --twilio.timeout has passed since start the exporter is ready
// whatever Twilio does. Once ready it stays ready, across a reload that adds
// a group.
func TestReadyIsBounded(t *testing.T) {
	_, inst := simulator(t)
	path := filepath.Join(t.TempDir(), "config.yml")
	writeConfig(t, path, inst, groupsAB)
	clk := testsupport.NewClock(time.Date(2026, time.March, 10, 6, 0, 0, 0, time.UTC))
	o := testOptions()
	o.now = clk.Now
	ex := newTestExporterWith(t, path, o)
	ready := func() int {
		code, _, _ := request(t, http.MethodGet, ex.server.URL+"/-/ready")
		return code
	}
	clk.Add(59 * time.Second)
	if code := ready(); code != http.StatusServiceUnavailable {
		t.Fatalf("GET /-/ready 59s after start without a refresh = %d, want 503", code)
	}
	clk.Add(time.Second)
	if code := ready(); code != http.StatusOK {
		t.Fatalf("GET /-/ready at --twilio.timeout after start without a refresh = %d, want 200", code)
	}
	writeConfig(t, path, inst, groupsAB+"  - id: commerce_billingprofile_"+strings.Repeat("9", 32)+"\n    name: new\n")
	if err := ex.Reload(); err != nil {
		t.Fatal(err)
	}
	if code := ready(); code != http.StatusOK {
		t.Fatalf("GET /-/ready after a reload adding a group = %d, want 200 (readiness is latched)", code)
	}
}

// A first refresh that fails makes the exporter ready too: it serves up 0
// for the group, which TwilioBillingGroupRefreshFailing reports.
func TestReadyAfterAFailedFirstRefresh(t *testing.T) {
	_, inst := simulator(t)
	path := filepath.Join(t.TempDir(), "config.yml")
	writeConfig(t, path, inst, "  - id: commerce_billingprofile_"+strings.Repeat("9", 32)+"\n    name: unknown\n")
	ex := newTestExporter(t, path)
	if code, _, _ := request(t, http.MethodGet, ex.server.URL+"/-/ready"); code != http.StatusServiceUnavailable {
		t.Fatalf("GET /-/ready before the first refresh = %d, want 503", code)
	}
	_, body, _ := request(t, http.MethodGet, ex.server.URL+"/metrics")
	if !strings.Contains(body, `twilio_billing_group_up{billing_group="unknown"} 0`) {
		t.Fatalf("scrape of an unknown group does not say up 0:\n%s", grepTwilio(body))
	}
	if code, body, _ := request(t, http.MethodGet, ex.server.URL+"/-/ready"); code != http.StatusOK {
		t.Fatalf("GET /-/ready after a failed first refresh = %d %q, want 200", code, body)
	}
}
