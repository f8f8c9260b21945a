package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/config"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim"
)

const testSecret = "s3cr3t-never-printed-7f1c"

// simulator starts a simulated Usage API accepting testSecret.
func simulator(t *testing.T) (*usagesim.Server, *usagesim.Instance) {
	t.Helper()
	sim := usagesim.New(usagesim.Options{ClientID: "test-client", ClientSecret: testSecret})
	inst, err := usagesim.Start(sim, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inst.Close() })
	return sim, inst
}

// writeConfig writes a config for the simulator with the given billing groups
// section and returns its path.
func writeConfig(t *testing.T, path string, inst *usagesim.Instance, groups string) {
	t.Helper()
	body := fmt.Sprintf("twilio:\n  api_url: %s\n  token_url: %s\n  client_id: test-client\n  client_secret: %s\nbilling_groups:\n%s",
		inst.URL, inst.TokenURL, testSecret, groups)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

// beforeGroups inserts text into the config at path just before its
// billing_groups key: the end of the twilio section, or a top-level key.
func beforeGroups(t *testing.T, path, text string) {
	t.Helper()
	body, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	body = []byte(strings.Replace(string(body), "billing_groups:\n", text+"billing_groups:\n", 1))
	if err := os.WriteFile(path, body, 0o600); err != nil {
		t.Fatal(err)
	}
}

// testOptions are the flags of the exporters under test. A scrape waits for
// the refreshes it starts, and a refresh for the simulator, for up to a
// minute: the bounds only catch a hang, so that a slow machine fails no test.
func testOptions() options {
	return options{
		telemetryPath: "/metrics", scrapeTimeout: time.Minute, timeoutOffset: 500 * time.Millisecond, lifecycle: true,
		cacheTTL: 15 * time.Minute, twilioTimeout: time.Minute, concurrency: 2,
	}
}

type testExporter struct {
	*exporter
	server *httptest.Server
	logs   *syncBuffer // read while refreshes log in the background
}

func newTestExporter(t *testing.T, path string) *testExporter {
	t.Helper()
	return newTestExporterWith(t, path, testOptions())
}

// newTestExporterWith serves an exporter with options o for the config at
// path on a test HTTP server.
func newTestExporterWith(t *testing.T, path string, o options) *testExporter {
	t.Helper()
	logs := &syncBuffer{}
	ex, err := newExporter(o, func() (*config.Config, error) { return config.Load(path, noEnv) }, prometheus.NewRegistry(), log.NewLogfmtLogger(logs))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ex.Close)
	mux, err := ex.routes(o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &testExporter{exporter: ex, server: srv, logs: logs}
}

func noEnv(string) (string, bool) { return "", false }

func request(t *testing.T, method, url string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header
}

// groupsAB configures the first two demo groups of the simulator.
var groupsAB = func() string {
	g := usagesim.DemoGroups()
	return fmt.Sprintf("  - id: %s\n    name: marketing\n  - id: %s\n    name: support\n", g[0].ID, g[1].ID)
}()

func TestReloadEndpoint(t *testing.T) {
	sim, inst := simulator(t)
	path := filepath.Join(t.TempDir(), "config.yml")
	writeConfig(t, path, inst, groupsAB)
	ex := newTestExporter(t, path)

	scrape := func() string {
		_, body, _ := request(t, http.MethodGet, ex.server.URL+"/metrics")
		return body
	}
	if body := scrape(); !strings.Contains(body, `twilio_billing_group_up{billing_group="support"} 1`) {
		t.Fatalf("first scrape lacks support up 1:\n%s", grepTwilio(body))
	}
	fetches := sim.Stats().RecordsRequests

	code, body, hdr := request(t, http.MethodGet, ex.server.URL+"/-/reload")
	if code != http.StatusMethodNotAllowed || hdr.Get("Allow") != http.MethodPost || body != "This endpoint requires a POST request.\n" {
		t.Fatalf("GET /-/reload = %d %q (Allow %q), want 405 with Allow: POST", code, body, hdr.Get("Allow"))
	}

	// A bad config is rejected, the error is returned, the old config stays.
	if err := os.WriteFile(path, []byte("twilio:\n  clinet_id: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, body, _ = request(t, http.MethodPost, ex.server.URL+"/-/reload")
	if code != http.StatusInternalServerError || !strings.Contains(body, `Failed to reload config: config: line 2: unknown key "clinet_id" in twilio`) {
		t.Fatalf("POST /-/reload with a bad config = %d %q", code, body)
	}
	if err := testutil.GatherAndCompare(ex.gatherer, strings.NewReader(`# HELP twilio_exporter_config_last_reload_successful 1 if the latest configuration reload succeeded, else 0.
# TYPE twilio_exporter_config_last_reload_successful gauge
twilio_exporter_config_last_reload_successful 0
`), "twilio_exporter_config_last_reload_successful"); err != nil {
		t.Fatal(err)
	}
	if body := scrape(); !strings.Contains(body, `twilio_billing_group_up{billing_group="support"} 1`) || !strings.Contains(body, `twilio_billing_group_up{billing_group="marketing"} 1`) {
		t.Fatalf("after a bad reload the old groups should still be served:\n%s", grepTwilio(body))
	}

	// A good config renames one group and drops the other: the renamed group
	// keeps its cache (no new fetch), the dropped one disappears.
	writeConfig(t, path, inst, "  - id: "+usagesim.DemoGroups()[1].ID+"\n    name: helpdesk\n")
	code, body, _ = request(t, http.MethodPost, ex.server.URL+"/-/reload")
	if code != http.StatusOK || body != "Configuration reloaded.\n" {
		t.Fatalf("POST /-/reload with a good config = %d %q", code, body)
	}
	after := scrape()
	if !strings.Contains(after, `twilio_billing_group_up{billing_group="helpdesk"} 1`) || strings.Contains(after, `billing_group="marketing"`) || strings.Contains(after, `billing_group="support"`) {
		t.Fatalf("after a good reload want only helpdesk:\n%s", grepTwilio(after))
	}
	if got := sim.Stats().RecordsRequests; got != fetches {
		t.Fatalf("records requests after reload = %d, want %d (cache kept)", got, fetches)
	}
	if !strings.Contains(after, "twilio_exporter_config_last_reload_successful 1") {
		t.Fatalf("reload success gauge not back to 1:\n%s", grepTwilio(after))
	}
	if strings.Contains(ex.logs.String(), testSecret) {
		t.Fatalf("logs contain the client secret:\n%s", ex.logs.String())
	}
}

func grepTwilio(body string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, "twilio_") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

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

func TestScrapeTimeout(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   time.Duration
	}{
		{"", 10 * time.Second},
		{"30", 29500 * time.Millisecond},
		{"0.25", minScrapeWait},
		{"abc", 10 * time.Second},
		{"-5", 10 * time.Second},
	} {
		r := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		if tc.header != "" {
			r.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", tc.header)
		}
		if got := scrapeTimeout(r, 10*time.Second, 500*time.Millisecond); got != tc.want {
			t.Errorf("header %q: timeout %v, want %v", tc.header, got, tc.want)
		}
	}
}

func TestConfigCheck(t *testing.T) {
	_, inst := simulator(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yml")
	writeConfig(t, good, inst, groupsAB)
	var stdout, stderr bytes.Buffer
	if code := run([]string{"--config.check", "--config.file", good}, &stdout, &stderr); code != 0 {
		t.Fatalf("--config.check on a good file: exit %d\n%s", code, stderr.String())
	}
	if out := stdout.String(); !strings.Contains(out, usagesim.DemoGroups()[1].ID) || !strings.Contains(out, "<secret>") || strings.Contains(out+stderr.String(), testSecret) {
		t.Fatalf("--config.check output should show the config with the secret masked:\n%s", out)
	}

	bad := filepath.Join(dir, "bad.yml")
	if err := os.WriteFile(bad, []byte("twilio:\n  api_url: foo\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	stderr.Reset()
	if code := run([]string{"--config.check", "--config.file", bad}, &stdout, &stderr); code != 1 {
		t.Fatalf("--config.check on a bad file: exit %d, want 1", code)
	}
	if !strings.Contains(stderr.String(), `config: twilio.api_url: "foo" is not an absolute http(s) URL`) {
		t.Fatalf("--config.check on a bad file printed:\n%s", stderr.String())
	}
}

func TestBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--cache.ttl=soon"}, `twilio_billing_exporter: error: time: invalid duration "soon", try --help`},
		{[]string{"--log.level=loud"}, `twilio_billing_exporter: error: enum value must be one of debug,info,warn,error, got 'loud'`},
		{[]string{"--no-such-flag"}, `twilio_billing_exporter: error: unknown long flag '--no-such-flag'`},
		{[]string{"--cache.ttl=-1m"}, "twilio_billing_exporter: error: --cache.ttl=-1m0s must be positive, try --help"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(tc.args, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", tc.args, code, stderr.String(), tc.want)
		}
	}
}

func TestMetricsURL(t *testing.T) {
	for addr, want := range map[string]string{
		":10117":          "http://localhost:10117/metrics",
		"127.0.0.1:10117": "http://127.0.0.1:10117/metrics",
		"[::]:10117":      "http://localhost:10117/metrics",
	} {
		if got := metricsURL(addr, "/metrics"); got != want {
			t.Errorf("metricsURL(%q) = %q, want %q", addr, got, want)
		}
	}
}

// TestPeriodsFromConfig shows the periods section reaching the exporter:
// yesterday off everywhere, last month on by default but off for one group.
func TestPeriodsFromConfig(t *testing.T) {
	sim, inst := simulator(t)
	path := filepath.Join(t.TempDir(), "config.yml")
	g := usagesim.DemoGroups()
	groups := fmt.Sprintf("  - id: %s\n    name: marketing\n  - id: %s\n    name: support\n    periods: {last_month: {enabled: false}}\n", g[0].ID, g[1].ID)
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
		{`twilio_billing_group_yesterday_`, false},
	} {
		if got := strings.Contains(metrics, tc.series); got != tc.want {
			t.Errorf("exposition contains %q: %v, want %v", tc.series, got, tc.want)
		}
	}
	// THIS_MONTH for both groups and LAST_MONTH for one: records requests
	// come from exactly three snapshots, and one more learns the request
	// encoding (auto, the default), which a JSON body answers at once.
	wantRequests := 1
	for _, x := range []struct {
		id, period string
	}{{g[0].ID, "THIS_MONTH"}, {g[1].ID, "THIS_MONTH"}, {g[0].ID, "LAST_MONTH"}} {
		recs, _ := sim.Records(x.id, x.period)
		wantRequests += (len(recs) + config.DefaultPageSize - 1) / config.DefaultPageSize
	}
	if got := sim.Stats().RecordsRequests; got != wantRequests {
		t.Errorf("records requests = %d, want %d", got, wantRequests)
	}
}

// TestReloadAppliesPageSize: page_size is a client setting, so a reload that
// changes it changes the pageSize of the next requests.
func TestReloadAppliesPageSize(t *testing.T) {
	sim := usagesim.New(usagesim.Options{ClientID: "test-client", ClientSecret: testSecret})
	var mu sync.Mutex
	var sizes []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/Records") {
			body, _ := io.ReadAll(r.Body)
			var params struct {
				PageSize int `json:"pageSize"`
			}
			_ = json.Unmarshal(body, &params)
			mu.Lock()
			sizes = append(sizes, strconv.Itoa(params.PageSize))
			mu.Unlock()
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		sim.ServeHTTP(w, r)
	}))
	defer srv.Close()
	inst := &usagesim.Instance{URL: srv.URL, TokenURL: srv.URL + "/v2/token"}
	path := filepath.Join(t.TempDir(), "config.yml")
	group := "  - id: " + usagesim.DemoGroups()[1].ID + "\n    periods: {yesterday: {enabled: false}, last_month: {enabled: false}}\n"
	writeConfig(t, path, inst, group)
	withPageSize := func(n int) {
		// An explicit encoding: auto would send pageSize 1 to learn it.
		beforeGroups(t, path, fmt.Sprintf("  request_encoding: json\n  page_size: %d\n", n))
	}
	withPageSize(5)
	clk := &testClock{t: time.Now()}
	o := testOptions()
	o.now = clk.Now
	o.cacheTTL = time.Second // the simulator's data is dated by the real clock
	ex := newTestExporterWith(t, path, o)
	request(t, http.MethodGet, ex.server.URL+"/metrics")
	writeConfig(t, path, inst, group)
	withPageSize(500)
	if code, body, _ := request(t, http.MethodPost, ex.server.URL+"/-/reload"); code != http.StatusOK {
		t.Fatalf("reload: %d %s", code, body)
	}
	clk.Add(o.cacheTTL) // the next scrape refreshes
	request(t, http.MethodGet, ex.server.URL+"/metrics")
	mu.Lock()
	defer mu.Unlock()
	if len(sizes) < 2 || sizes[0] != "5" || sizes[len(sizes)-1] != "500" {
		t.Fatalf("pageSize sent: %v, want 5s before the reload and 500 after", sizes)
	}
}
