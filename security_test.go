package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/internal/testsupport"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/server"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim"
)

// TestSecurityScrapeInputCannotRedirect: nothing a scraper sends (query
// parameters, headers, Host, paths, methods) makes the exporter call a URL or
// a billing group that is not in its config. The test clock passes a cache
// lifetime before each probe, so every scrape refreshes every group: any
// input that could steer the client would show up in the simulators'
// request counts.
func TestSecurityScrapeInputCannotRedirect(t *testing.T) {
	checkLeaks(t)
	sim, inst := simulator(t)
	decoy, decoyInst := simulator(t) // a Usage API the config does not name
	groups := usagesim.DemoGroups()
	path := filepath.Join(t.TempDir(), "config.yml")
	writeConfig(t, path, inst, groupsAB)
	clk := testsupport.NewClock(time.Now())
	o := testOptions()
	o.now = clk.Now
	o.cacheTTL = time.Second // the simulators' data is dated by the real clock
	srv := newTestExporterWith(t, path, o).server

	other := groups[2].ID // a real group of the simulator, not configured
	steer := []string{decoyInst.URL, decoyInst.TokenURL, other, "commerce_billingprofile_EVIL1"}
	type probe struct {
		method, target string
		header         map[string]string
		host           string
	}
	var probes []probe
	for _, q := range []string{
		"target=" + steer[0], "api_url=" + steer[0], "token_url=" + steer[1], "billing_group=" + steer[2],
		"id=" + steer[3], "collect[]=" + steer[2], "name[]=twilio_billing_group_up", "url=" + steer[0] + "/v2/Usage/BillingGroups/" + steer[2] + "/Records",
	} {
		probes = append(probes, probe{method: http.MethodGet, target: "/metrics?" + q})
	}
	for _, v := range []string{"NaN", "Inf", "-Inf", "1e309", "1e10", "-1", "0", "0x1p-2", "30s", "", " 1", strings.Repeat("9", 4096)} {
		probes = append(probes, probe{method: http.MethodGet, target: "/metrics", header: map[string]string{"X-Prometheus-Scrape-Timeout-Seconds": v}})
	}
	for _, h := range []string{"X-Forwarded-Host", "X-Forwarded-For", "Forwarded", "X-Original-URL", "X-Rewrite-URL", "Referer", "Authorization"} {
		probes = append(probes, probe{method: http.MethodGet, target: "/metrics", header: map[string]string{h: steer[0]}})
	}
	probes = append(probes,
		probe{method: http.MethodGet, target: "/metrics", host: strings.TrimPrefix(decoyInst.URL, "http://")},
		probe{method: http.MethodPost, target: "/metrics?billing_group=" + other},
		probe{method: http.MethodGet, target: "/metrics/" + other},
		probe{method: http.MethodGet, target: "/metrics/../metrics"},
		probe{method: http.MethodGet, target: "//metrics"},
		probe{method: http.MethodGet, target: "/v2/Usage/BillingGroups/" + other + "/Records"},
		probe{method: http.MethodGet, target: "/%2e%2e/metrics"},
		probe{method: http.MethodPost, target: "/-/reload?config.file=/dev/null"},
	)

	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	defer client.CloseIdleConnections()
	for _, p := range probes {
		clk.Add(o.cacheTTL)
		req, err := http.NewRequest(p.method, srv.URL+p.target, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range p.header {
			req.Header.Set(k, v)
		}
		if p.host != "" {
			req.Host = p.host
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s %v: %v", p.method, p.target, p.header, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		// A timeout header of a fraction of a second leaves the scrape
		// 100 ms, which a loaded machine may spend before the new state is
		// encoded: the encoding goes on, and the same scrape again gets it
		// (the clock stands still, so no new refresh is started).
		for tries := 0; resp.StatusCode == http.StatusServiceUnavailable && strings.Contains(string(body), "still being encoded") && tries < 20; tries++ {
			if resp, err = client.Do(req); err != nil {
				t.Fatalf("%s %s %v, again: %v", p.method, p.target, p.header, err)
			}
			body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		if strings.HasPrefix(p.target, "/metrics?") || p.target == "/metrics" {
			if resp.StatusCode != http.StatusOK || upValues(string(body)) != "marketing=1 support=1" {
				t.Errorf("%s %s %v: %d with groups %q, want 200 with marketing and support", p.method, p.target, p.header, resp.StatusCode, upValues(string(body)))
			}
		}
		for _, s := range steer[2:] {
			if strings.Contains(string(body), s) {
				t.Errorf("%s %s: the answer names %s", p.method, p.target, s)
			}
		}
	}

	if st := decoy.Stats(); st.TokenRequests+st.RecordsRequests != 0 {
		t.Errorf("the exporter called a Usage API that is not in its config: %+v", st)
	}
	st := sim.Stats()
	var called []string
	for id := range st.ByGroup {
		called = append(called, id)
	}
	sort.Strings(called)
	if want := groups[0].ID + " " + groups[1].ID; strings.Join(called, " ") != want {
		t.Errorf("records requested for %v, want only the configured %s", called, want)
	}
	if st.RecordsRequests < len(probes) {
		t.Errorf("only %d records requests for %d probes: the probes did not refresh, so the test proves nothing", st.RecordsRequests, len(probes))
	}
}

// TestSecurityScrapeTimeoutOddValues: whatever the timeout header says, the
// wait is between server.MinScrapeWait and server.MaxScrapeWait less the offset, never an
// overflowed time.Duration (TestScrapeTimeout has the ordinary values).
func TestSecurityScrapeTimeoutOddValues(t *testing.T) {
	const fallback, offset = 10 * time.Second, 500 * time.Millisecond
	for _, tc := range []struct {
		header string
		want   time.Duration
	}{
		{"NaN", fallback},
		{"-Inf", fallback},
		{"-0", fallback},
		{"1e309", fallback}, // out of float64 range: not a number ParseFloat accepts
		{"30s", fallback},
		{" 30", fallback},
		{"0x1p-2", server.MinScrapeWait},
		{"5e-324", server.MinScrapeWait},
		{"Inf", server.MaxScrapeWait - offset},
		{"1e10", server.MaxScrapeWait - offset},
		{"9223372036.854775807", server.MaxScrapeWait - offset},
		{"86400", server.MaxScrapeWait - offset},
		{"3600", time.Hour - offset},
	} {
		r := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		r.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", tc.header)
		if got := server.ScrapeTimeout(r, fallback, offset); got != tc.want {
			t.Errorf("header %q: timeout %v, want %v", tc.header, got, tc.want)
		}
	}
	r := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	r.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "Inf")
	if got := server.ScrapeTimeout(r, fallback, 0); got != server.MaxScrapeWait {
		t.Errorf("header Inf without offset: timeout %v, want %v", got, server.MaxScrapeWait)
	}
}

// TestSecurityBinaryWritesNoFiles: the exporter's non-test code never creates,
// writes, renames or removes a file, so the container runs with a read-only
// root filesystem. e2e's TestSecurityRunsAsNonRootWithoutWritableFiles runs
// the binary as the image's user in a read-only directory.
func TestSecurityBinaryWritesNoFiles(t *testing.T) {
	writes := map[string]bool{
		"Create": true, "CreateTemp": true, "WriteFile": true, "OpenFile": true, "Mkdir": true,
		"MkdirAll": true, "MkdirTemp": true, "Rename": true, "Remove": true, "RemoveAll": true,
		"Chmod": true, "Chown": true, "Symlink": true, "Link": true, "Truncate": true,
	}
	var files []string
	for _, dir := range []string{".", "collector", "config", "twilio", "usagesim"} {
		matches, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range matches {
			if !strings.HasSuffix(m, "_test.go") {
				files = append(files, m)
			}
		}
	}
	if len(files) < 10 {
		t.Fatalf("found only %d source files: %v", len(files), files)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		osName := ""
		for _, imp := range f.Imports {
			if imp.Path.Value == `"os"` {
				osName = "os"
				if imp.Name != nil {
					osName = imp.Name.Name
				}
			}
		}
		if osName == "" {
			continue
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if x, ok := sel.X.(*ast.Ident); ok && x.Name == osName && writes[sel.Sel.Name] {
					t.Errorf("%s: calls os.%s; the binary must not write files (read-only root filesystem)", fset.Position(sel.Pos()), sel.Sel.Name)
				}
			}
			return true
		})
	}
}

// TestSecurityBillingGroupIDMasked: Twilio calls the billing group ID a
// credential. A named group whose refresh fails (the API answers 404 and
// echoes the ID in its message) shows the ID only masked in the log line and
// on the landing page, and not at all in the metrics.
func TestSecurityBillingGroupIDMasked(t *testing.T) {
	checkLeaks(t)
	_, inst := simulator(t)
	const id, masked = "commerce_billingprofile_NOSUCHGROUP7QX2", "commerce_billingprofile_…7QX2"
	path := filepath.Join(t.TempDir(), "config.yml")
	writeConfig(t, path, inst, groupsAB+"  - id: "+id+"\n    name: ghost\n")
	ex := newTestExporter(t, path)

	code, metrics, _ := request(t, http.MethodGet, ex.server.URL+"/metrics")
	if code != http.StatusOK || !strings.Contains(metrics, `twilio_billing_group_up{billing_group="ghost"} 0`) {
		t.Fatalf("GET /metrics = %d, want 200 with ghost up 0:\n%s", code, grepTwilio(metrics))
	}
	_, landing, _ := request(t, http.MethodGet, ex.server.URL+"/")
	logs := ex.logs.String()
	for where, text := range map[string]string{"metrics": metrics, "landing page": landing, "logs": logs} {
		if strings.Contains(text, id) || strings.Contains(text, strings.TrimPrefix(id, "commerce_billingprofile_")) {
			t.Errorf("the %s show the billing group ID in full:\n%s", where, text)
		}
	}
	for where, text := range map[string]string{"landing page": landing, "logs": logs} {
		if !strings.Contains(text, "BillingGroups/"+masked+"/Records was not found") {
			t.Errorf("the %s do not show the refresh error with the ID masked (%s):\n%s", where, masked, text)
		}
	}
}
