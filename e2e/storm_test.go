package e2e

import (
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim"
)

// stormAnswer is one scrape of a storm as the scraper saw it.
type stormAnswer struct {
	status int
	body   string // decompressed
	err    error
}

func stormScrape(client *http.Client, url string) stormAnswer {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Accept-Encoding", "gzip")
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "60")
	resp, err := client.Do(req)
	if err != nil {
		return stormAnswer{err: err}
	}
	defer resp.Body.Close()
	var r io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			return stormAnswer{status: resp.StatusCode, err: err}
		}
		r = zr
	}
	b, err := io.ReadAll(r)
	return stormAnswer{status: resp.StatusCode, body: string(b), err: err}
}

// TestScrapeStormIsBoundedByMaxRequests storms the binary with concurrent
// scrapes, --web.max-requests=4. First while the cache is cold and the Usage
// API holds every records request: exactly 4 scrapes wait for the refresh and
// every other one is answered 503 at once; when the API answers, the 4 get
// the data. Then 100 clients at once against the warm cache, half scraping,
// half opening the landing page: every answer is a whole gzip exposition
// with every group, a whole landing page or a 503. The rejections are all
// counted in twilio_exporter_scrapes_rejected_total and logged once.
func TestScrapeStormIsBoundedByMaxRequests(t *testing.T) {
	const limit, cold, warm, rounds = 4, 24, 100, 3
	sim := usagesim.New(usagesim.Options{})
	gate := make(chan struct{})
	var once sync.Once
	open := func() { once.Do(func() { close(gate) }) }
	defer open()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/Records") {
			<-gate
		}
		sim.ServeHTTP(w, r)
	}))
	defer api.Close()
	defer open() // before api.Close, which waits for held requests
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "twilio:\n  api_url: %q\n  token_url: %q\n  client_id: %s\n  client_secret: %s\nbilling_groups:\n",
		api.URL, api.URL+"/v2/token", usagesim.DefaultClientID, usagesim.DefaultClientSecret)
	groups := usagesim.DemoGroups()
	for _, g := range groups {
		fmt.Fprintf(&cfg, "  - id: %s\n    name: %s\n", g.ID, g.Name)
	}
	cfgFile := filepath.Join(t.TempDir(), "config.yml")
	if err := os.WriteFile(cfgFile, []byte(cfg.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	p := start(t, exporterBinary(t), "--config.file="+cfgFile, "--web.listen-address="+addr, fmt.Sprintf("--web.max-requests=%d", limit))
	base := "http://" + addr
	// Healthy, not ready: readiness waits for the first refresh, which the
	// gate holds until the storm has begun.
	waitHTTP(t, base+"/-/healthy", 15*time.Second)
	client := &http.Client{Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: warm}}
	defer client.CloseIdleConnections()
	const busy = "Too many requests at once: 4 scrapes and landing page requests are being served, the limit set by --web.max-requests. Try again later.\n"
	complete := func(a stormAnswer) bool {
		if a.err != nil || a.status != http.StatusOK {
			return false
		}
		// Not parse: this runs on the scrapers' goroutines, where t.Fatal
		// must not be called.
		p := expfmt.NewTextParser(model.UTF8Validation)
		families, err := p.TextToMetricFamilies(strings.NewReader(a.body))
		if err != nil {
			return false
		}
		up := families["twilio_billing_group_up"]
		return up != nil && len(up.Metric) == len(groups) && allOne(up) && strings.Contains(a.body, "\ntwilio_billing_group_cost{")
	}

	answers := make(chan stormAnswer, cold)
	for range cold {
		go func() { answers <- stormScrape(client, base+"/metrics") }()
	}
	rejected := 0
	for range cold - limit {
		if a := <-answers; a.err != nil || a.status != http.StatusServiceUnavailable || a.body != busy {
			t.Fatalf("cold storm: scrape answered %d %q (%v) while %d wait for the refresh, want 503 %q", a.status, a.body, a.err, limit, busy)
		}
		rejected++
	}
	open()
	for range limit {
		if a := <-answers; !complete(a) {
			t.Fatalf("cold storm: a scrape that waited for the refresh got %d (%v):\n%s", a.status, a.err, a.body)
		}
	}

	// The landing page shows every group, whole.
	page := func(a stormAnswer) bool {
		if a.err != nil || a.status != http.StatusOK || !strings.Contains(a.body, "</html>") {
			return false
		}
		for _, g := range groups {
			if !strings.Contains(a.body, ">"+g.Name+"<") {
				return false
			}
		}
		return true
	}

	// Half the warm storm scrapes, half opens the landing page: one limit
	// bounds both.
	var mu sync.Mutex
	served, pages := 0, 0
	var wg sync.WaitGroup
	for i := range warm {
		path, whole := "/metrics", complete
		if i%2 == 1 {
			path, whole = "/", page
		}
		wg.Go(func() {
			for range rounds {
				a := stormScrape(client, base+path)
				ok := whole(a)
				if ok && path == "/" {
					mu.Lock()
					pages++
					mu.Unlock()
				}
				mu.Lock()
				switch {
				case ok:
					served++
				case a.err == nil && a.status == http.StatusServiceUnavailable && a.body == busy:
					rejected++
				default:
					t.Errorf("warm storm: GET %s answered %d (%v), neither a whole answer nor 503:\n%.500s", path, a.status, a.err, a.body)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	t.Logf("warm storm: %d requests served (%d landing pages), %d rejected in all; exporter %s", served, pages, rejected, vmHWM(p.cmd.Process.Pid))
	if served == pages || pages == 0 {
		t.Errorf("warm storm: %d requests served, %d of them landing pages: want both scrapes and pages served", served, pages)
	}

	a := stormScrape(client, base+"/metrics")
	if !complete(a) {
		t.Fatalf("scrape after the storm: %d (%v)", a.status, a.err)
	}
	if want := fmt.Sprintf("\ntwilio_exporter_scrapes_rejected_total %d\n", rejected); !strings.Contains(a.body, want) {
		t.Errorf("after %d rejections the exposition lacks %q", rejected, strings.TrimSpace(want))
	}
	if n := strings.Count(p.out.String(), "Rejected scrapes over --web.max-requests"); n != 1 {
		t.Errorf("%d log lines about rejected scrapes in one storm, want 1:\n%s", n, p.out.String())
	}
}

// vmHWM is a process's peak resident memory as /proc reports it (Linux).
func vmHWM(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "peak RSS unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return "peak RSS " + strings.TrimSpace(v)
		}
	}
	return "peak RSS unknown"
}
