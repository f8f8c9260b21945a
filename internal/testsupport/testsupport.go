// Package testsupport holds what the tests of several packages share: a log
// buffer safe for background writers, the exact sums a test expects of the
// exporter's money, decimals from literals, synthetic usage for load without
// the API, the exposition client_golang serves for gatherers, and scrapes
// of a running exporter. Only tests import it.
package testsupport

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/twilio"
)

// SyncBuffer is a bytes.Buffer safe for concurrent writers and readers: a
// test reads the logs while refreshes or a process write to them.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// ExactSums adds the decimal texts of amounts per series with math/big, a
// way independent of the exporter's own decimals: the exporter sums money
// and usage exactly and converts each total to float64 once, so the truth a
// test expects is summed the same way.
type ExactSums map[string]*big.Rat

// Add adds the amount text v to series k.
func (s ExactSums) Add(t testing.TB, k, v string) {
	t.Helper()
	r, ok := new(big.Rat).SetString(v)
	if !ok {
		t.Fatalf("%s: amount %q is not a decimal", k, v)
	}
	if s[k] == nil {
		s[k] = new(big.Rat)
	}
	s[k].Add(s[k], r)
}

// AddFloat adds a price as the simulator sends it: the shortest decimal of
// its float64, as encoding/json writes it.
func (s ExactSums) AddFloat(t testing.TB, k string, v float64) {
	t.Helper()
	s.Add(t, k, strconv.FormatFloat(v, 'f', -1, 64))
}

// Floats returns each sum as the float64 nearest to it: what the exporter
// must serve.
func (s ExactSums) Floats() map[string]float64 {
	out := make(map[string]float64, len(s))
	for k, r := range s {
		out[k], _ = r.Float64()
	}
	return out
}

// Decimal is twilio.ParseDecimal for a test's literals: it panics on a bad
// one.
func Decimal(s string) twilio.Decimal {
	d, err := twilio.ParseDecimal(s)
	if err != nil {
		panic("testsupport: Decimal: " + err.Error())
	}
	return d
}

// ScrapeFamilies scrapes url and parses the text exposition.
func ScrapeFamilies(url string) (map[string]*dto.MetricFamily, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }() // read to the end or abandoned: nothing to report
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(resp.Body)
}

// Tally is what concurrent scrapes of an exporter saw, per billing group:
// every snapshot (its last success time) and the latest records count.
type Tally struct {
	Scrapes   int
	Snapshots map[string]map[float64]bool
	Records   map[string]float64
}

// Scrape has scrapers goroutines scrape url perScrape times each, all at
// once, and adds what they saw to the tally; it returns the scrapes' errors.
func (tl *Tally) Scrape(url string, scrapers, perScrape int) error {
	if tl.Snapshots == nil {
		tl.Snapshots, tl.Records = map[string]map[float64]bool{}, map[string]float64{}
	}
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	for range scrapers {
		wg.Go(func() {
			for range perScrape {
				fams, err := ScrapeFamilies(url)
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
					mu.Unlock()
					return
				}
				tl.Scrapes++
				for _, m := range fams["twilio_billing_group_last_success_timestamp_seconds"].GetMetric() {
					g := m.GetLabel()[0].GetValue()
					if tl.Snapshots[g] == nil {
						tl.Snapshots[g] = map[float64]bool{}
					}
					tl.Snapshots[g][m.GetGauge().GetValue()] = true
				}
				for _, m := range fams["twilio_billing_group_records"].GetMetric() {
					tl.Records[m.GetLabel()[0].GetValue()] = m.GetGauge().GetValue()
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Clock is a clock a test moves by hand, shared by the code under test (as
// its Now) and the simulator, so that time passes when the test says,
// however fast or slow the machine is.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock standing at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// Add moves the clock on by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Gunzip decompresses b, which must be exactly one gzip member: a second
// member or trailing bytes would be read by some clients and not others.
func Gunzip(t testing.TB, b []byte) []byte {
	t.Helper()
	r := bytes.NewReader(b)
	zr, err := gzip.NewReader(r)
	if err != nil {
		t.Fatal(err)
	}
	zr.Multistream(false)
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gzip body: %v", err)
	}
	if r.Len() != 0 {
		t.Errorf("gzip body: %d bytes after the first member", r.Len())
	}
	return out
}

// Synthetic is a fetcher (collector.Fetcher) that answers every group with
// Categories product categories of one product, unit and currency each, in
// fresh strings as a decoded response would be: load without the API.
type Synthetic struct{ Categories int }

// FetchRecords implements collector.Fetcher.
func (f Synthetic) FetchRecords(_ context.Context, id string, _ twilio.Query) (*twilio.Usage, error) {
	u := &twilio.Usage{AsOf: time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC), Pages: 1}
	for i := range f.Categories {
		cat := fmt.Sprintf("category-%03d", i)
		u.Records = append(u.Records, twilio.Record{
			ProductName: "Product-" + cat, ProductCategory: cat, UsageUnit: "units",
			UsageAmount: Decimal(strconv.Itoa(1000 + i + len(id))), PriceAmount: Decimal(strconv.Itoa(i) + ".25"), Currency: "USD",
		})
	}
	return u, nil
}

// SyntheticConfig is the YAML of a config with groups billing groups (every
// other one with a budget) and an API no request reaches: Synthetic
// answers for it.
func SyntheticConfig(groups int) string {
	var yml strings.Builder
	yml.WriteString("twilio:\n  api_url: http://127.0.0.1:1\n  token_url: http://127.0.0.1:1/v2/token\n  client_id: bench\n  client_secret: bench-secret\nbilling_groups:\n")
	for i := range groups {
		fmt.Fprintf(&yml, "  - id: commerce_billingprofile_BENCH%05d\n    name: group-%05d\n", i, i)
		if i%2 == 0 {
			yml.WriteString("    budget: {amount: 5000, currency: USD}\n")
		}
	}
	return yml.String()
}

// DiscardWriter is an http.ResponseWriter that counts what it is sent and
// keeps it only when Body is set, so that a benchmark does not pay for
// buffering a large body.
type DiscardWriter struct {
	Head http.Header
	N    int              // bytes written
	Body *strings.Builder // when set, the body is kept
}

// Header implements http.ResponseWriter.
func (w *DiscardWriter) Header() http.Header { return w.Head }

// WriteHeader implements http.ResponseWriter.
func (w *DiscardWriter) WriteHeader(int) {}

// Write implements http.ResponseWriter.
func (w *DiscardWriter) Write(p []byte) (int, error) {
	w.N += len(p)
	if w.Body != nil {
		w.Body.Write(p)
	}
	return len(p), nil
}

// HeapInUse is the live heap after two collections: what a benchmark's data
// holds, without garbage.
func HeapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// Exposition is what client_golang serves for gatherers in format: every
// family gathered, encoded, and the format's end (# EOF in OpenMetrics).
func Exposition(t testing.TB, format expfmt.Format, gatherers ...prometheus.Gatherer) []byte {
	t.Helper()
	mfs, err := prometheus.Gatherers(gatherers).Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	enc := expfmt.NewEncoder(&b, format)
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	if c, ok := enc.(expfmt.Closer); ok {
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}
