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

	"github.com/twilio-billing-exporter/twilio_billing_exporter/internal/testsupport"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/twilio"
)

// A reload that changes a group while its refresh is running must not lose
// the refresh it asks for: the old refresh's result is dropped and a new one
// runs, so the group is served rather than left empty for a cycle.
func TestSetGroupsDuringRefreshStartsANewOne(t *testing.T) {
	h := newHarness(t, []Group{groupB})
	h.fake.set(idB, usageB("2026-11-26", 1.5), nil)
	gate := h.fake.gate(idB)
	h.cache.Refresh()
	waitFor(t, func() bool { return h.fake.count(idB) == 1 })

	changed := groupB
	changed.Exclude = regexp.MustCompile("^nothing$")
	h.cache.SetGroups([]Group{changed})
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
func TestSetFetcherAndGroupsRetriesAtOnce(t *testing.T) {
	h := newHarness(t, []Group{groupB})
	h.fake.set(idB, nil, errors.New("twilio: token endpoint rejected the credentials"))
	h.scrape(t, time.Minute, upHelp+`twilio_billing_group_up{billing_group="commerce_billingprofile_BBB222"} 0
`, "twilio_billing_group_up")
	fixed := newFake()
	fixed.set(idB, usageB("2026-11-26", 1.5), nil)
	h.cache.SetFetcherAndGroups(fixed, []Group{groupB})
	h.scrape(t, time.Minute, upHelp+`twilio_billing_group_up{billing_group="commerce_billingprofile_BBB222"} 1
`, "twilio_billing_group_up")
}

// The retry interval runs from the end of a failed refresh: one that took
// two minutes to fail is not started again by the next scrape.
func TestRetryIntervalFromTheEndOfAFailure(t *testing.T) {
	h := newHarness(t, []Group{groupB})
	h.fake.set(idB, nil, errors.New("twilio: HTTP 503"))
	slow := &clockAdvancingFetcher{Fetcher: h.fake, clock: h.clock, by: 2 * time.Minute}
	h.cache.SetFetcherAndGroups(slow, []Group{groupB})
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
	clock *testsupport.Clock
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
	clk := testsupport.NewClock(time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC))
	fake.set(idB, nil, errors.New("twilio: HTTP 503"))
	c := NewCache(fake, monthly(time.Minute, groupB), CacheOptions{RetryInterval: time.Minute, Now: clk.Now, Logger: log.NewLogfmtLogger(blocked), Concurrency: 4})
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
		if st.Groups[0].Periods[ThisMonth].Up {
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

// State answers at once with what the cache holds: it neither starts a
// refresh nor waits for one, so a page can show it while the API is slow.
func TestStateNeitherStartsNorWaits(t *testing.T) {
	h := newHarness(t, []Group{groupB})
	h.fake.set(idB, usageB("2026-11-26", 1.5), nil)
	st := h.cache.State()
	if got := len(st.Groups); got != 1 {
		t.Fatalf("groups = %d, want 1", got)
	}
	month := st.Groups[0].Periods[ThisMonth]
	if !month.Fetched || month.Attempted || month.Snapshot != nil {
		t.Fatalf("month to date before any refresh = %+v, want fetched, not attempted, no snapshot", month)
	}
	if st.Groups[0].Periods[Yesterday].Fetched {
		t.Error("yesterday is reported fetched, but the group gives it no lifetime")
	}
	if got := h.fake.count(idB); got != 0 {
		t.Fatalf("State fetched %d times, want 0", got)
	}

	gate := h.fake.gate(idB)
	h.cache.Refresh()
	waitFor(t, func() bool { return h.fake.count(idB) == 1 })
	if st := h.cache.State(); st.Groups[0].Periods[ThisMonth].Attempted {
		t.Fatal("State reports a refresh that is still running as attempted")
	}
	close(gate)
	waitFor(t, func() bool {
		s := h.cache.State().Groups[0].Periods[ThisMonth].Snapshot
		return s != nil && s.Costs[0].Value == 1.5
	})
}

func TestCloseTwice(t *testing.T) {
	c := NewCache(newFake(), []Group{groupB}, CacheOptions{Concurrency: 1})
	c.Close()
	done := make(chan struct{})
	go func() { c.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a second Close blocks")
	}
}
