// Package e2e runs the real exporter binary against real Prometheus tools:
// promtool checks its exposition and a Prometheus server scrapes it.
package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/internal/testsupport"
)

// tool finds an external program the tests run for real: from the env var
// (set by `make test`), else from PATH. In CI a missing tool fails the test.
func tool(t *testing.T, env, name string) string {
	t.Helper()
	if p := os.Getenv(env); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s=%s: %v", env, p, err)
		}
		return p
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s not found: set %s or run `make test`, which installs it", name, env)
	}
	t.Skipf("%s not found: set %s or run `make test`, which installs it", name, env)
	return ""
}

var build struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

// exporterBinary builds the exporter once per test run.
func exporterBinary(t *testing.T) string {
	t.Helper()
	build.once.Do(func() {
		dir, err := os.MkdirTemp("", "twilio-billing-exporter-e2e")
		if err != nil {
			build.err = err
			return
		}
		build.path = filepath.Join(dir, "twilio_billing_exporter")
		cmd := exec.Command("go", "build", "-o", build.path, ".")
		cmd.Dir = ".."
		build.out, build.err = cmd.CombinedOutput()
	})
	if build.err != nil {
		t.Fatalf("go build: %v\n%s", build.err, build.out)
	}
	return build.path
}

func TestMain(m *testing.M) {
	code := m.Run()
	if build.path != "" {
		os.RemoveAll(filepath.Dir(build.path))
	}
	os.Exit(code)
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// process is a running program whose output is kept for failure messages.
type process struct {
	cmd *exec.Cmd
	out *testsupport.SyncBuffer
}

// start runs a program until the test ends, then stops it with SIGTERM.
func start(t *testing.T, path string, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(path, args...), out: &testsupport.SyncBuffer{}}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- p.cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-done
			t.Errorf("%s did not stop within 10s of SIGTERM", filepath.Base(path))
		}
		if t.Failed() {
			t.Logf("output of %s:\n%s", filepath.Base(path), p.out.String())
		}
	})
	return p
}

// waitHTTP polls url until it answers 200 or the timeout passes.
func waitHTTP(t *testing.T, url string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready within %v (last error %v)", url, timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func get(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s\n%s", url, resp.Status, body)
	}
	return body
}

// startDemo runs the exporter with --demo and waits until its first refresh
// of every group has landed.
func startDemo(t *testing.T) string {
	t.Helper()
	addr := freeAddr(t)
	start(t, exporterBinary(t), "--demo", "--web.listen-address="+addr, "--log.level=debug")
	base := "http://" + addr
	// The bounds only catch a hang: a loaded machine may start slowly.
	waitHTTP(t, base+"/-/ready", time.Minute)
	deadline := time.Now().Add(time.Minute)
	for {
		families := parse(t, get(t, base+"/metrics"))
		if up := families["twilio_billing_group_up"]; up != nil && len(up.Metric) >= 3 && allOne(up) {
			return base
		}
		if time.Now().After(deadline) {
			t.Fatalf("demo groups not all up within a minute")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func allOne(f *dto.MetricFamily) bool {
	for _, m := range f.Metric {
		if m.GetGauge().GetValue() != 1 {
			return false
		}
	}
	return true
}

func parse(t *testing.T, body []byte) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("exposition does not parse: %v", err)
	}
	return families
}

func TestDemoExpositionPassesPromtoolCheckMetrics(t *testing.T) {
	promtool := tool(t, "PROMTOOL", "promtool")
	base := startDemo(t)
	body := get(t, base+"/metrics")
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) != 0 {
		t.Fatalf("promtool check metrics: err=%v, findings:\n%s", err, out)
	}
	families := parse(t, body)
	for _, name := range []string{
		"twilio_billing_group_cost", "twilio_billing_group_usage", "twilio_billing_group_product_info",
		"twilio_billing_group_budget", "twilio_billing_group_period_start_timestamp_seconds",
		"twilio_billing_group_period_end_timestamp_seconds", "twilio_billing_group_as_of_timestamp_seconds",
		"twilio_billing_group_yesterday_as_of_timestamp_seconds", "twilio_billing_group_last_month_as_of_timestamp_seconds",
		"twilio_billing_group_this_year_cost", "twilio_billing_group_this_year_usage",
		"twilio_billing_group_this_year_period_start_timestamp_seconds", "twilio_billing_group_this_year_period_end_timestamp_seconds",
		"twilio_billing_group_this_year_up", "twilio_billing_group_this_year_as_of_timestamp_seconds",
		"twilio_billing_group_annual_budget",
		"twilio_billing_group_up", "twilio_billing_group_last_success_timestamp_seconds",
		"twilio_billing_group_records", "twilio_exporter_refresh_duration_seconds",
		"twilio_exporter_api_requests_total", "twilio_exporter_config_last_reload_successful",
		"twilio_exporter_config_last_reload_success_timestamp_seconds", "twilio_exporter_build_info",
		"go_goroutines", "process_resident_memory_bytes",
	} {
		if families[name] == nil {
			t.Errorf("demo exposition lacks %s", name)
		}
	}
}

// promQuery runs an instant query through Prometheus' HTTP API.
func promQuery(t *testing.T, base, query string) model.Vector {
	t.Helper()
	return promVector(t, base+"/api/v1/query?query="+url.QueryEscape(query), query)
}

// promQueryAt runs an instant query at a given time.
func promQueryAt(t *testing.T, base, query string, at time.Time) model.Vector {
	t.Helper()
	return promVector(t, base+"/api/v1/query?query="+url.QueryEscape(query)+"&time="+strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', 3, 64), query)
}

// promVector asks Prometheus' HTTP API for the instant query at u and
// returns its vector.
func promVector(t *testing.T, u, query string) model.Vector {
	t.Helper()
	body := get(t, u)
	var resp struct {
		Status string `json:"status"`
		Data   struct {
			ResultType string       `json:"resultType"`
			Result     model.Vector `json:"result"`
		} `json:"data"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatalf("query %q: %v\n%s", query, err, body)
	}
	if resp.Status != "success" {
		t.Fatalf("query %q: %s", query, resp.Error)
	}
	return resp.Data.Result
}

func TestPrometheusScrapesDemoExporter(t *testing.T) {
	prometheus := tool(t, "PROMETHEUS", "prometheus")
	exporter := startDemo(t)
	exporterAddr := strings.TrimPrefix(exporter, "http://")

	dir := t.TempDir()
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: twilio_billing
    static_configs:
      - targets: [%q]
`, exporterAddr)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	promAddr := freeAddr(t)
	start(t, prometheus, "--config.file="+cfgPath, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+promAddr)
	prom := "http://" + promAddr
	waitHTTP(t, prom+"/-/ready", 60*time.Second)

	const query = `sum by (billing_group, currency) (twilio_billing_group_cost{job="twilio_billing"})`
	var got model.Vector
	deadline := time.Now().Add(30 * time.Second)
	for len(got) < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus returned %d series for %s within 30s, want 3", len(got), query)
		}
		time.Sleep(500 * time.Millisecond)
		got = promQuery(t, prom, query)
	}

	// The cache holds the snapshot for 15 minutes, so what the exporter serves
	// now is what Prometheus scraped.
	want := map[string]float64{}
	for _, m := range parse(t, get(t, exporter+"/metrics"))["twilio_billing_group_cost"].Metric {
		var group, currency string
		for _, l := range m.Label {
			switch l.GetName() {
			case "billing_group":
				group = l.GetValue()
			case "currency":
				currency = l.GetValue()
			}
		}
		want[group+"/"+currency] += m.GetGauge().GetValue()
	}
	if len(got) != len(want) {
		t.Fatalf("Prometheus has %d group/currency series, exporter %d", len(got), len(want))
	}
	for _, s := range got {
		key := string(s.Metric["billing_group"]) + "/" + string(s.Metric["currency"])
		w, ok := want[key]
		if !ok {
			t.Errorf("Prometheus has %s, the exporter does not", key)
			continue
		}
		if g := float64(s.Value); math.Abs(g-w) > 1e-9*math.Max(1, math.Abs(w)) || w <= 0 {
			t.Errorf("%s: Prometheus says %v, exporter says %v (want equal and positive)", key, g, w)
		}
	}
	if up := promQuery(t, prom, `up{job="twilio_billing"}`); len(up) != 1 || up[0].Value != 1 {
		t.Errorf("up = %v, want one series with value 1", up)
	}
}
