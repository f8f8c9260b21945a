package collector

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/twilio"
)

// A reload that changes a group while its refresh is running must not lose
// the refresh it asks for: the old refresh's result is dropped and a new one
// runs, so the group is served rather than left empty for a cycle.
func TestUpdateDuringRefreshStartsANewOne(t *testing.T) {
	h := newHarness(t, []Group{groupB})
	h.fake.set(idB, usageB("2026-11-26", 1.5), nil)
	gate := h.fake.gate(idB)
	h.cache.Refresh()
	waitFor(t, func() bool { return h.fake.count(idB) == 1 })

	changed := groupB
	changed.Exclude = regexp.MustCompile("^nothing$")
	h.cache.Update(nil, []Group{changed})
	h.fake.mu.Lock()
	h.fake.gates[idB] = nil // the new refresh is not held
	h.fake.mu.Unlock()
	h.fake.set(idB, usageB("2026-11-26", 2.5), nil)
	h.scrape(t, time.Minute, costHelp+`
twilio_billing_group_cost{billing_group="commerce_billingprofile_BBB222",currency="EUR",product_category="verify"} 2.5
`, "twilio_billing_group_cost")
	close(gate) // the old refresh ends; its result must not replace the new one
	waitFor(t, func() bool { return h.fake.count(idB) == 2 })
	h.scrape(t, time.Minute, costHelp+`
twilio_billing_group_cost{billing_group="commerce_billingprofile_BBB222",currency="EUR",product_category="verify"} 2.5
`, "twilio_billing_group_cost")
}

// A reload with a new fetcher (credentials fixed) retries a failed group at
// once instead of after the retry interval.
func TestUpdateWithNewFetcherRetriesAtOnce(t *testing.T) {
	h := newHarness(t, []Group{groupB})
	h.fake.set(idB, nil, errors.New("twilio: token endpoint rejected the credentials"))
	h.scrape(t, time.Minute, upHelp+`twilio_billing_group_up{billing_group="commerce_billingprofile_BBB222"} 0
`, "twilio_billing_group_up")
	fixed := newFake()
	fixed.set(idB, usageB("2026-11-26", 1.5), nil)
	h.cache.Update(fixed, []Group{groupB})
	h.scrape(t, time.Minute, upHelp+`twilio_billing_group_up{billing_group="commerce_billingprofile_BBB222"} 1
`, "twilio_billing_group_up")
}

// The retry interval runs from the end of a failed refresh: one that took
// two minutes to fail is not started again by the next scrape.
func TestRetryIntervalFromTheEndOfAFailure(t *testing.T) {
	h := newHarness(t, []Group{groupB})
	h.fake.set(idB, nil, errors.New("twilio: HTTP 503"))
	slow := &clockAdvancingFetcher{Fetcher: h.fake, clock: h.clock, by: 2 * time.Minute}
	h.cache.Update(slow, []Group{groupB})
	h.scrape(t, time.Minute, "", "no_such_metric")
	h.clock.Add(30 * time.Second)
	h.scrape(t, time.Minute, "", "no_such_metric")
	if got := h.fake.count(idB); got != 1 {
		t.Fatalf("fetches = %d, want 1: the failure ended 30s ago, within the 1m retry interval", got)
	}
}

// clockAdvancingFetcher moves the clock while it fetches, like a slow API.
type clockAdvancingFetcher struct {
	Fetcher
	clock *clock
	by    time.Duration
}

func (f *clockAdvancingFetcher) FetchRecords(ctx context.Context, id string, q twilio.Query) (*twilio.Usage, error) {
	u, err := f.Fetcher.FetchRecords(ctx, id, q)
	f.clock.Add(f.by)
	return u, err
}

// A log writer that blocks must not hold up scrapes: refreshes log after
// they release the cache's lock.
func TestBlockedLoggerDoesNotBlockScrapes(t *testing.T) {
	blocked := &blockingWriter{release: make(chan struct{})}
	defer blocked.unblock()
	fake := newFake()
	clk := &clock{t: time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)}
	fake.set(idB, nil, errors.New("twilio: HTTP 503"))
	c := NewCache(fake, []Group{groupB}, CacheOptions{TTL: time.Minute, RetryInterval: time.Minute, Now: clk.Now, Logger: log.NewLogfmtLogger(blocked)})
	defer c.Close()
	defer blocked.unblock()
	c.Refresh()
	waitFor(t, func() bool { return blocked.waiting() })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	done := make(chan State, 1)
	go func() { done <- c.Get(ctx) }()
	select {
	case st := <-done:
		if st.Groups[0].Up {
			t.Fatal("up after a failed refresh")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a scrape with a 100ms deadline is stuck behind a blocked log writer")
	}
}

// blockingWriter blocks every Write until released.
type blockingWriter struct {
	mu      sync.Mutex
	n       int
	release chan struct{}
	once    sync.Once
}

func (w *blockingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.n++
	w.mu.Unlock()
	<-w.release
	return len(p), nil
}

func (w *blockingWriter) waiting() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n > 0
}

func (w *blockingWriter) unblock() { w.once.Do(func() { close(w.release) }) }

// After 00:00 UTC on the 1st, product names only last month's snapshot held
// are not exported either.
func TestProductInfoOnlyFromServedSnapshots(t *testing.T) {
	h := newHarness(t, []Group{groupB})
	h.clock.Set(time.Date(2026, 11, 30, 23, 0, 0, 0, time.UTC))
	h.fake.set(idB, usageB("2026-11-30", 9), nil)
	const info = "# HELP twilio_billing_group_product_info Human-readable name of a product seen in a product category; always 1.\n# TYPE twilio_billing_group_product_info gauge\n"
	h.scrape(t, time.Minute, info+`twilio_billing_group_product_info{product="Verify-SMS",product_category="verify"} 1
`, "twilio_billing_group_product_info")
	h.clock.Set(time.Date(2026, 12, 1, 0, 5, 0, 0, time.UTC))
	h.fake.set(idB, nil, errors.New("twilio: HTTP 503"))
	h.scrape(t, time.Minute, "", "twilio_billing_group_product_info")
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return strings.TrimSpace(err.Error())
}

func TestCloseTwice(t *testing.T) {
	c := NewCache(newFake(), []Group{groupB}, CacheOptions{})
	c.Close()
	done := make(chan struct{})
	go func() { c.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a second Close blocks")
	}
}
