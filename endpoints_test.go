package main

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

func TestLandingHealthReady(t *testing.T) {
	_, inst := simulator(t)
	path := filepath.Join(t.TempDir(), "config.yml")
	writeConfig(t, path, inst, groupsAB)
	ex := newTestExporter(t, path)
	for _, tc := range []struct{ path, want string }{
		{"/-/healthy", "Healthy\n"},
		{"/-/ready", "Ready\n"},
	} {
		if code, body, _ := request(t, http.MethodGet, ex.server.URL+tc.path); code != 200 || body != tc.want {
			t.Errorf("GET %s = %d %q, want 200 %q", tc.path, code, body, tc.want)
		}
	}
	code, body, _ := request(t, http.MethodGet, ex.server.URL+"/")
	if code != 200 || !strings.Contains(body, "Twilio Billing Exporter") || !strings.Contains(body, `href="/metrics"`) {
		t.Fatalf("landing page = %d:\n%s", code, body)
	}
	if strings.Contains(body, testSecret) {
		t.Fatal("landing page shows the client secret")
	}
}
