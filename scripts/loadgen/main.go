// Command loadgen measures the exporter under load: it starts a simulated
// Usage API with many billing groups, runs the exporter binary against it on
// loopback, and scrapes /metrics from several clients for a bounded time. It
// reports throughput and latency separately for scrapes served from a warm
// cache and scrapes that overlapped a refresh (an upstream request in flight),
// the upstream requests against the ideal, and the exporter's resident memory.
//
//	make build && go run ./scripts/loadgen -exporter ./twilio_billing_exporter
//
// With -storm it measures resident memory, latency and errors against the
// number of concurrent scrapers instead; with -floor it compares cached
// scrapes with a trivial client_golang server serving the same samples (see
// storm.go). It is its own load generator, so nothing else need be installed.
// scripts/loadtest.sh builds the exporter and runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// upstream wraps the simulated API and counts the requests in flight.
type upstream struct {
	h        http.Handler
	inflight atomic.Int64
	events   atomic.Int64 // starts and ends of requests
	records  atomic.Int64
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.inflight.Add(1)
	u.events.Add(1)
	if strings.HasSuffix(r.URL.Path, "/Records") {
		u.records.Add(1)
	}
	defer func() { u.events.Add(1); u.inflight.Add(-1) }()
	u.h.ServeHTTP(w, r)
}

// busy reports whether the upstream has a request in flight, and a token
// that changes whenever one starts or ends.
func (u *upstream) busy() (bool, int64) { return u.inflight.Load() > 0, u.events.Load() }

type sample struct {
	d       time.Duration
	refresh bool
}

func run() error {
	exporter := flag.String("exporter", "", "path of the exporter binary (required)")
	groups := flag.Int("groups", 100, "billing groups (each with the whole simulated catalogue)")
	clients := flag.Int("clients", 4, "concurrent scrapers")
	duration := flag.Duration("duration", 30*time.Second, "how long to scrape")
	ttl := flag.Duration("ttl", 10*time.Second, "the exporter's --cache.ttl; refreshes happen this often during the run")
	latency := flag.Duration("latency", 20*time.Millisecond, "simulated Usage API latency per page")
	pageSize := flag.Int("page-size", 25, "records per page")
	concurrency := flag.Int("concurrency", 4, "the exporter's --twilio.concurrency")
	widen := flag.Int("widen", 1, "serve each simulated record this many times under distinct categories (4: about 200 categories per group)")
	periods := flag.Bool("periods", false, "fetch yesterday, last month and this year too (four periods, as by default), not month to date alone")
	storm := flag.String("storm", "", "comma-separated concurrent scraper counts: measure RSS, latency and errors at each (see storm.go)")
	floor := flag.Bool("floor", false, "compare cached scrapes with a trivial client_golang server serving the same samples, with and without gzip")
	stormPath := flag.String("storm-path", "/metrics", "the path -storm requests: /metrics, or / for the landing page")
	maxRequests := flag.Int("max-requests", -1, "the exporter's --web.max-requests; -1 keeps its default")
	serveFloor := flag.String("serve-floor", "", "internal: serve the samples of this exposition file with client_golang on -listen")
	listen := flag.String("listen", "", "internal: listen address of -serve-floor")
	flag.Parse()
	if *serveFloor != "" {
		return runFloorServer(*serveFloor, *listen)
	}
	if *exporter == "" {
		return fmt.Errorf("-exporter is required")
	}

	var simGroups []usagesim.Group
	for i := range *groups {
		simGroups = append(simGroups, usagesim.Group{ID: fmt.Sprintf("commerce_billingprofile_LOAD%05d", i), Name: fmt.Sprintf("group-%05d", i), Currency: "USD", Seed: int64(i + 1)})
	}
	sim := usagesim.New(usagesim.Options{Groups: simGroups})
	records, _ := sim.Records(simGroups[0].ID, "THIS_MONTH")
	pages := max(1, (len(records)+*pageSize-1) / *pageSize)
	if *latency > 0 {
		sim.InjectFault(usagesim.Fault{Kind: usagesim.Slow, Delay: *latency})
	}
	up := &upstream{h: widened(sim, *widen)}
	apiLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	apiSrv := &http.Server{Handler: up, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = apiSrv.Serve(apiLn) }() // ends with ErrServerClosed at Close
	defer func() { _ = apiSrv.Close() }()
	apiURL := "http://" + apiLn.Addr().String()

	dir, err := os.MkdirTemp("", "loadgen")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }() // a temporary directory: best effort
	// Month to date only unless -periods, so that the upstream count
	// compares with groups x pages x refreshes of one period.
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "twilio:\n  api_url: %s\n  token_url: %s/v2/token\n  client_id: %s\n  client_secret: %s\n  page_size: %d\n",
		apiURL, apiURL, usagesim.DefaultClientID, usagesim.DefaultClientSecret, *pageSize)
	if !*periods {
		cfg.WriteString("periods: {yesterday: {enabled: false}, last_month: {enabled: false}, this_year: {enabled: false}}\n")
	}
	cfg.WriteString("billing_groups:\n")
	for _, g := range simGroups {
		fmt.Fprintf(&cfg, "  - id: %s\n    name: %s\n", g.ID, g.Name)
	}
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg.String()), 0o600); err != nil {
		return err
	}
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	args := []string{"--config.file=" + cfgPath, "--web.listen-address=" + addr,
		"--cache.ttl=" + ttl.String(), fmt.Sprintf("--twilio.concurrency=%d", *concurrency), "--log.level=warn"}
	if *maxRequests >= 0 {
		args = append(args, fmt.Sprintf("--web.max-requests=%d", *maxRequests))
	}
	cmd := exec.Command(*exporter, args...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *clients}, Timeout: time.Minute}
	metricsURL := "http://" + addr + "/metrics"
	if err := waitReady(client, "http://"+addr+"/-/ready", 30*time.Second); err != nil {
		return err
	}
	body, err := scrape(client, metricsURL) // waits for the first refresh
	if err != nil {
		return err
	}
	// A cold refresh of many groups can outlast one scrape's deadline: wait
	// until every group and period is up, so the run measures a warm cache.
	want := *groups
	if *periods {
		want *= 4
	}
	for deadline := time.Now().Add(10 * time.Minute); upCount(body) < want; {
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d groups and periods up after 10 minutes", upCount(body), want)
		}
		time.Sleep(time.Second)
		if body, err = scrape(client, metricsURL); err != nil {
			return err
		}
	}
	series := 0
	for _, line := range strings.Split(body, "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			series++
		}
	}
	up.records.Store(0)
	what := fmt.Sprintf("%d groups x %d records (%d pages of %d), %d series per scrape, %d bytes of text, --cache.ttl=%s",
		*groups, len(records)**widen, pages, *pageSize**widen, series, len(body), *ttl)
	if *storm != "" {
		stormURL := "http://" + addr + *stormPath
		if *stormPath != "/metrics" {
			// Idle is after one request of the stormed path, as after
			// one scrape.
			if _, err := scrape(client, stormURL); err != nil {
				return err
			}
			what += ", storming " + *stormPath
		}
		return runStorm(stormURL, cmd.Process.Pid, what, *storm, *duration)
	}
	if *floor {
		return runFloor(metricsURL, cmd.Process.Pid, body, dir, what, *clients, *duration)
	}

	var mu sync.Mutex
	var samples []sample
	var failures atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), *duration)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for range *clients {
		wg.Go(func() {
			var mine []sample
			for ctx.Err() == nil {
				busy0, ev0 := up.busy()
				t := time.Now()
				_, err := scrape(client, metricsURL)
				d := time.Since(t)
				busy1, ev1 := up.busy()
				if err != nil {
					failures.Add(1)
					continue
				}
				mine = append(mine, sample{d: d, refresh: busy0 || busy1 || ev0 != ev1})
			}
			mu.Lock()
			samples = append(samples, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	rss, hwm := memory(cmd.Process.Pid)

	var warm, refresh []time.Duration
	for _, s := range samples {
		if s.refresh {
			refresh = append(refresh, s.d)
		} else {
			warm = append(warm, s.d)
		}
	}
	fmt.Printf("exporter: %d groups x %d records (%d pages of %d), %d series per scrape, --cache.ttl=%s, API latency %s per page\n",
		*groups, len(records), pages, *pageSize, series, *ttl, *latency)
	fmt.Printf("load: %d clients for %s, %d scrapes, %.1f scrapes/s, %d failed\n",
		*clients, elapsed.Round(time.Millisecond), len(samples), float64(len(samples))/elapsed.Seconds(), failures.Load())
	fmt.Printf("%-18s %8s %10s %10s %10s %10s\n", "scrapes", "count", "p50", "p90", "p99", "max")
	for _, row := range []struct {
		name string
		d    []time.Duration
	}{{"warm cache", warm}, {"during a refresh", refresh}} {
		if len(row.d) == 0 {
			fmt.Printf("%-18s %8d\n", row.name, 0)
			continue
		}
		slices.Sort(row.d)
		fmt.Printf("%-18s %8d %10s %10s %10s %10s\n", row.name, len(row.d),
			pct(row.d, 50), pct(row.d, 90), pct(row.d, 99), row.d[len(row.d)-1].Round(10*time.Microsecond))
	}
	n := up.records.Load()
	fmt.Printf("upstream records requests: %d = %.2f x groups x pages (refreshes of every group; run / ttl = %.1f)\n",
		n, float64(n)/float64(*groups*pages), float64(elapsed)/float64(*ttl))
	fmt.Printf("exporter memory: VmRSS %s, VmHWM (peak) %s\n", rss, hwm)
	return nil
}

// upCount counts the groups and periods whose latest refresh succeeded.
func upCount(body string) int {
	n := 0
	for _, line := range strings.Split(body, "\n") {
		for _, p := range []string{"twilio_billing_group_up{", "twilio_billing_group_yesterday_up{", "twilio_billing_group_last_month_up{", "twilio_billing_group_this_year_up{"} {
			if strings.HasPrefix(line, p) && strings.HasSuffix(line, "} 1") {
				n++
			}
		}
	}
	return n
}

func pct(d []time.Duration, p int) time.Duration {
	return d[min(len(d)-1, (len(d)*p+99)/100-1)].Round(10 * time.Microsecond)
}

func scrape(c *http.Client, url string) (string, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "10")
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return string(b), nil
}

func waitReady(c *http.Client, url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if resp, err := c.Get(url); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("not ready at %s after %s", url, timeout)
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().String(), nil
}

// memory reads the resident set size and its peak from /proc (Linux).
func memory(pid int) (rss, hwm string) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "n/a", "n/a"
	}
	rss, hwm = "n/a", "n/a"
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			rss = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			hwm = strings.TrimSpace(v)
		}
	}
	return rss, hwm
}
