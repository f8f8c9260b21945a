package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim"
)

// widened serves every records page with each record repeated n times
// under distinct categories ("sms-outbound", "sms-outbound-2", ...), so
// that a group has as many categories as a large organization's.
func widened(h http.Handler, n int) http.Handler {
	if n <= 1 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/Records") {
			h.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		var page usagesim.WirePage
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &page) != nil {
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			w.Write(rec.Body.Bytes())
			return
		}
		out := make([]usagesim.WireRecord, 0, n*len(page.Records))
		for _, rec := range page.Records {
			out = append(out, rec)
			for i := 2; i <= n; i++ {
				c := rec
				c.ProductCategory = fmt.Sprintf("%s-%d", rec.ProductCategory, i)
				c.ProductName = fmt.Sprintf("%s-%d", rec.ProductName, i)
				out = append(out, c)
			}
		}
		page.Records = out
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(page) // the load generator's own fake API: a failed write is the client's
	})
}

// result is one scrape as a client saw it.
type result struct {
	d      time.Duration
	status int // 0: the request failed
	bytes  int
}

// hammer runs n clients scraping url back to back until ctx is done, asking
// for gzip as Prometheus does when gzip is set, and returns every scrape.
// Bodies are read whole and not decompressed.
func hammer(ctx context.Context, url string, n int, gzip bool) []result {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n, DisableCompression: true}, Timeout: time.Minute}
	defer client.CloseIdleConnections()
	var mu sync.Mutex
	var all []result
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			var mine []result
			for ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(context.WithoutCancel(ctx), http.MethodGet, url, nil)
				req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "10")
				if gzip {
					req.Header.Set("Accept-Encoding", "gzip")
				}
				t := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					mine = append(mine, result{d: time.Since(t)})
					continue
				}
				b, err := io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				r := result{d: time.Since(t), status: resp.StatusCode, bytes: int(b)}
				if err != nil {
					r.status = 0
				}
				mine = append(mine, r)
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	return all
}

// summary is what a run of hammer measured.
type summary struct {
	ok, rejected, failed int
	p50, p99             time.Duration
	rate                 float64 // successful scrapes per second
	bytes                int     // body size of the last successful scrape
}

func summarize(rs []result, elapsed time.Duration) summary {
	var s summary
	var d []time.Duration
	for _, r := range rs {
		switch r.status {
		case http.StatusOK:
			s.ok++
			d = append(d, r.d)
			s.bytes = r.bytes
		case http.StatusServiceUnavailable:
			s.rejected++
		default:
			s.failed++
		}
	}
	if len(d) > 0 {
		slices.Sort(d)
		s.p50, s.p99 = pct(d, 50), pct(d, 99)
	}
	s.rate = float64(s.ok) / elapsed.Seconds()
	return s
}

// rssKB reads a process's resident set size in kB (Linux), 0 if unknown.
func rssKB(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return n
		}
	}
	return 0
}

// peakRSS samples pid's RSS every 10 ms until stop is closed and returns
// the largest.
func peakRSS(pid int, stop <-chan struct{}) <-chan int {
	out := make(chan int, 1)
	go func() {
		peak := rssKB(pid)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				out <- max(peak, rssKB(pid))
				return
			case <-t.C:
				peak = max(peak, rssKB(pid))
			}
		}
	}()
	return out
}

// runStorm scrapes the exporter with each number of concurrent scrapers in
// levels, in turn, gzip requested, and reports per level the outcome of the
// scrapes, their latency, and the exporter's peak resident memory against
// its resident memory after one scrape.
func runStorm(url string, pid int, what, levels string, duration time.Duration) error {
	base := rssKB(pid)
	fmt.Printf("exporter: %s\n", what)
	fmt.Printf("RSS after one scrape: %d kB; each level runs %s, scrapes back to back, gzip\n", base, duration)
	fmt.Printf("%8s %8s %8s %8s %8s %10s %10s %10s %12s %8s\n", "scrapers", "ok", "503", "failed", "ok/s", "p50", "p99", "max RSS kB", "x one scrape", "")
	for _, f := range strings.Split(levels, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return fmt.Errorf("-storm: %q is not a number of scrapers", f)
		}
		stop := make(chan struct{})
		peak := peakRSS(pid, stop)
		ctx, cancel := context.WithTimeout(context.Background(), duration)
		start := time.Now()
		rs := hammer(ctx, url, n, true)
		elapsed := time.Since(start)
		cancel()
		close(stop)
		p := <-peak
		s := summarize(rs, elapsed)
		fmt.Printf("%8d %8d %8d %8d %8.1f %10s %10s %10d %12.2f\n", n, s.ok, s.rejected, s.failed, s.rate, s.p50, s.p99, p, float64(p)/float64(base))
	}
	return nil
}

// runFloor compares cached scrapes of the exporter with the floor: a
// trivial client_golang server (its own process) serving the same samples
// as const metrics built once, with the Go and process collectors, through
// one promhttp handler. The two are measured in alternating slices of the
// run, so that noise on a shared machine hits both alike.
func runFloor(url string, pid int, body, dir, what string, clients int, duration time.Duration) error {
	file := filepath.Join(dir, "floor.prom")
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	cmd := exec.Command(self, "-serve-floor", file, "-listen", addr)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	floorURL := "http://" + addr + "/metrics"
	// Parsing and building a million const metrics takes a while.
	if err := waitReady(http.DefaultClient, floorURL, 10*time.Minute); err != nil {
		return err
	}
	fmt.Printf("exporter: %s\n", what)
	fmt.Printf("floor: client_golang serving the same samples; %d clients back to back, %s per encoding, alternating slices\n", clients, duration)
	fmt.Printf("%-8s %12s %12s %8s %10s %10s %8s %12s\n", "encoding", "exporter p50", "floor p50", "x p50", "exporter/s", "floor/s", "x rate", "body bytes")
	const slices = 6
	for _, gzip := range []bool{false, true} {
		var exp, flo []result
		var expT, floT time.Duration
		for i := range slices {
			for j := range 2 {
				u, out, t := url, &exp, &expT
				if (i+j)%2 == 1 {
					u, out, t = floorURL, &flo, &floT
				}
				ctx, cancel := context.WithTimeout(context.Background(), duration/slices/2)
				start := time.Now()
				*out = append(*out, hammer(ctx, u, clients, gzip)...)
				*t += time.Since(start)
				cancel()
			}
		}
		e, f := summarize(exp, expT), summarize(flo, floT)
		if e.failed+e.rejected+f.failed+f.rejected > 0 {
			return fmt.Errorf("failed scrapes: exporter %d, floor %d", e.failed+e.rejected, f.failed+f.rejected)
		}
		name := map[bool]string{false: "identity", true: "gzip"}[gzip]
		fmt.Printf("%-8s %12s %12s %8.3f %10.1f %10.1f %8.2f %12d\n", name, e.p50, f.p50, float64(e.p50)/float64(f.p50), e.rate, f.rate, e.rate/f.rate, e.bytes)
	}
	fmt.Printf("memory at the end: exporter VmRSS %d kB, floor VmRSS %d kB\n", rssKB(pid), rssKB(cmd.Process.Pid))
	return nil
}

// runFloorServer serves the billing group samples of an exposition file
// (the exporter's text) the way a trivial client_golang exporter would.
func runFloorServer(file, listen string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }() // read only
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(f)
	if err != nil {
		return err
	}
	var metrics []prometheus.Metric
	for name, mf := range mfs {
		if !strings.HasPrefix(name, "twilio_billing_group_") && name != "twilio_exporter_refresh_duration_seconds" {
			continue
		}
		var desc *prometheus.Desc
		for _, m := range mf.GetMetric() {
			var names, values []string
			for _, l := range m.GetLabel() {
				names, values = append(names, l.GetName()), append(values, l.GetValue())
			}
			if desc == nil {
				desc = prometheus.NewDesc(name, mf.GetHelp(), names, nil)
			}
			metrics = append(metrics, prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, m.GetGauge().GetValue(), values...))
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(constCollector(metrics), collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Addr: listen, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// constCollector sends metrics built once.
type constCollector []prometheus.Metric

func (c constCollector) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(c, ch) }
func (c constCollector) Collect(ch chan<- prometheus.Metric) {
	for _, m := range c {
		ch <- m
	}
}
