package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/config"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/exporter"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/internal/testsupport"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/server"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim/simtest"
)

const testSecret = "s3cr3t-never-printed-7f1c"

// simulator starts a simulated Usage API accepting testSecret.
func simulator(t *testing.T) (*usagesim.Server, *usagesim.Instance) {
	t.Helper()
	sim := usagesim.New(usagesim.Options{ClientID: "test-client", ClientSecret: testSecret})
	inst := simtest.Start(t, sim)
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

// testExporter is an exporter served by its server on a test HTTP server.
type testExporter struct {
	*exporter.Exporter
	srv      *server.Server
	server   *httptest.Server
	gatherer *prometheus.Registry    // the exporter's and the server's own metrics
	logs     *testsupport.SyncBuffer // read while refreshes log in the background
}

func newTestExporter(t *testing.T, path string) *testExporter {
	t.Helper()
	return newTestExporterWith(t, path, testOptions())
}

// newTestExporterWith serves an exporter with options o for the config at
// path on a test HTTP server, as serve builds them.
func newTestExporterWith(t *testing.T, path string, o options) *testExporter {
	t.Helper()
	logs := &testsupport.SyncBuffer{}
	logger := log.NewLogfmtLogger(logs)
	reg := prometheus.NewRegistry()
	ex, err := exporter.New(o.exporter(), func() (*config.Config, error) { return config.Load(path, noEnv) }, reg, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ex.Close)
	srv := server.New(ex, reg, o.server(), logger)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return &testExporter{Exporter: ex, srv: srv, server: hs, gatherer: reg, logs: logs}
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

// exposition parses the samples of a text exposition, keyed by series.
func exposition(t *testing.T, text string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, l := range strings.Split(text, "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		i := strings.LastIndexByte(l, ' ')
		v, err := strconv.ParseFloat(l[i+1:], 64)
		if err != nil {
			t.Fatalf("sample %q: %v", l, err)
		}
		out[l[:i]] = v
	}
	return out
}

// checkLeaks fails t if goroutines started during the test outlive it. Call
// it first, so that its cleanup runs after every other one.
func checkLeaks(t *testing.T) {
	t.Helper()
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		http.DefaultClient.CloseIdleConnections()
		goleak.VerifyNone(t, opt)
	})
}

func upValues(body string) string {
	var ups []string
	for _, l := range strings.Split(body, "\n") {
		if rest, ok := strings.CutPrefix(l, `twilio_billing_group_up{billing_group="`); ok {
			label, value, _ := strings.Cut(rest, `"} `)
			ups = append(ups, label+"="+value)
		}
	}
	sort.Strings(ups)
	return strings.Join(ups, " ")
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
