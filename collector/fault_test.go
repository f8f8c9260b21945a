package collector

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/internal/testsupport"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/twilio"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim"
)

// The fault matrix runs the real client, cache and collector against the
// simulated Usage API and breaks the API in every way it knows. RELIABILITY.md
// lists the cases and what each proves.

const (
	faultTTL      = 15 * time.Minute
	faultRetry    = DefaultRetryInterval // as the cache is built when RetryInterval is unset
	faultMaxPages = 20
	faultPageSize = 7
	faultBodyCap  = twilio.DefaultMaxBodyBytes
)

// faultEnv is one exporter pipeline (client -> cache -> collector) against one
// simulated API, with a clock the test moves.
type faultEnv struct {
	t      *testing.T
	clk    *testsupport.Clock
	sim    *usagesim.Server
	inst   *usagesim.Instance
	addr   string
	groups []Group
	cache  *Cache
	logs   *testsupport.SyncBuffer
	http   *http.Transport

	mu     sync.Mutex
	sleeps []time.Duration // backoff waits the client asked for
}

func newFaultEnv(t *testing.T, refreshTimeout time.Duration) *faultEnv {
	t.Helper()
	e := &faultEnv{
		t:    t,
		clk:  testsupport.NewClock(time.Date(2026, 11, 25, 10, 30, 0, 0, time.UTC)),
		logs: &testsupport.SyncBuffer{},
		http: http.DefaultTransport.(*http.Transport).Clone(),
	}
	// Tokens outlive the test's clock jumps, so that only the faults that are
	// about tokens touch them.
	e.sim = usagesim.New(usagesim.Options{Now: e.clk.Now, TokenTTL: 10000 * time.Hour})
	e.startSim("127.0.0.1:0")
	t.Cleanup(func() { _ = e.inst.Close() })
	client, err := twilio.New(twilio.Config{
		PageSize: faultPageSize,
		APIURL:   e.inst.URL, TokenURL: e.inst.TokenURL,
		ClientID: usagesim.DefaultClientID, ClientSecret: usagesim.DefaultClientSecret,
		MaxPages:   faultMaxPages,
		HTTPClient: &http.Client{Transport: e.http, Timeout: time.Minute},
		// Backoff waits are recorded, not slept, so that a storm of 429s
		// costs no wall time; the deadline check still uses real time.
		Sleep: func(ctx context.Context, d time.Duration) error {
			e.mu.Lock()
			e.sleeps = append(e.sleeps, d)
			e.mu.Unlock()
			return ctx.Err()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range usagesim.DemoGroups() {
		e.groups = append(e.groups, Group{ID: g.ID, Label: g.Name})
	}
	e.groups = monthly(faultTTL, e.groups...)
	e.cache = NewCache(client, e.groups, CacheOptions{
		RefreshTimeout: refreshTimeout, Concurrency: 2,
		Now: e.clk.Now, Logger: newLogfmt(e.logs),
	})
	t.Cleanup(e.http.CloseIdleConnections)
	t.Cleanup(e.cache.Close)
	return e
}

// startSim serves the simulator on addr; the first call picks the address
// that later calls (after a stop) reuse.
func (e *faultEnv) startSim(addr string) {
	e.t.Helper()
	inst, err := usagesim.Start(e.sim, addr)
	if err != nil {
		e.t.Fatal(err)
	}
	e.inst = inst
	e.addr = strings.TrimPrefix(inst.URL, "http://")
}

// scrape collects one scrape bounded by d and returns its samples.
func (e *faultEnv) scrape(d time.Duration) map[string]float64 {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return gatherValues(e.t, New(e.cache.Get(ctx)))
}

func (e *faultEnv) takeSleeps() []time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.sleeps
	e.sleeps = nil
	return s
}

// dataSeries are the series of one group that come from the API: cost,
// usage, records, as_of and the period bounds.
func dataSeries(got map[string]float64, label string) map[string]float64 {
	out := map[string]float64{}
	for k, v := range got {
		for _, m := range []string{
			"twilio_billing_group_cost", "twilio_billing_group_usage", "twilio_billing_group_records",
			"twilio_billing_group_as_of_timestamp_seconds", "twilio_billing_group_period_start_timestamp_seconds",
			"twilio_billing_group_period_end_timestamp_seconds",
		} {
			if containsLabel(k, m, label) {
				out[k] = v
			}
		}
	}
	return out
}

// simSeries is what dataSeries must be for g when the simulator's data now
// is served: the sums of the records it serves, in the order it serves them.
func simSeries(t *testing.T, sim *usagesim.Server, now time.Time, g Group) map[string]float64 {
	t.Helper()
	records, asOf := sim.Records(g.ID, "THIS_MONTH")
	sums := testsupport.ExactSums{}
	for _, r := range records {
		sums.AddFloat(t, fmt.Sprintf(`twilio_billing_group_cost{billing_group=%q,currency=%q,product_category=%q}`, g.Label, r.Price.Currency, r.ProductCategory), r.Price.Amount)
		sums.Add(t, fmt.Sprintf(`twilio_billing_group_usage{billing_group=%q,product_category=%q,unit=%q}`, g.Label, r.ProductCategory, r.Usage.Unit), r.Usage.Amount)
	}
	want := sums.Floats()
	day, err := time.Parse(time.DateOnly, asOf)
	if err != nil {
		t.Fatal(err)
	}
	start, _ := ThisMonth.Bounds(now, time.January)
	want[fmt.Sprintf(`twilio_billing_group_records{billing_group=%q}`, g.Label)] = float64(len(records))
	want[fmt.Sprintf(`twilio_billing_group_as_of_timestamp_seconds{billing_group=%q}`, g.Label)] = unixSeconds(day)
	want[fmt.Sprintf(`twilio_billing_group_period_start_timestamp_seconds{billing_group=%q}`, g.Label)] = unixSeconds(start)
	want[fmt.Sprintf(`twilio_billing_group_period_end_timestamp_seconds{billing_group=%q}`, g.Label)] = unixSeconds(start.AddDate(0, 1, 0))
	return want
}

// diffSeries describes how got differs from want, or returns "".
func diffSeries(got, want map[string]float64) string {
	var b strings.Builder
	for k, w := range want {
		if g, ok := got[k]; !ok {
			fmt.Fprintf(&b, "\n  missing %s (want %v)", k, w)
		} else if g != w {
			fmt.Fprintf(&b, "\n  %s = %v, want %v", k, g, w)
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			fmt.Fprintf(&b, "\n  unexpected %s = %v", k, g)
		}
	}
	return b.String()
}

func upSeries(label string) string {
	return fmt.Sprintf(`twilio_billing_group_up{billing_group=%q}`, label)
}

// countLines counts log lines holding every one of parts.
func countLines(logs string, parts ...string) int {
	n := 0
	for _, l := range strings.Split(logs, "\n") {
		all := l != ""
		for _, p := range parts {
			all = all && strings.Contains(l, p)
		}
		if all {
			n++
		}
	}
	return n
}

const (
	marketing = "commerce_billingprofile_DEMO01MARKETING"
	support   = "commerce_billingprofile_DEMO02SUPPORT"
)

// TestFaultMatrix breaks the simulated Usage API in one way per case, after a
// good first refresh, and scrapes three times, each after the retry interval
// so that each scrape retries the broken groups. Then:
//   - every scrape answers, the hanging one within its deadline;
//   - healthy groups' cost, usage and bookkeeping series equal exactly the
//     sums of what the API serves today;
//   - broken groups report up 0 and keep yesterday's series, exactly;
//   - each broken group's failure is logged once, with the reason, however
//     many scrapes retried it, and its recovery is logged once;
//   - retries, pages and body sizes stay within their bounds;
//   - no goroutine outlives the case.
func TestFaultMatrix(t *testing.T) {
	all := []string{"marketing", "support", "platform"}
	for _, tc := range []struct {
		name string
		// breakAPI breaks the API (or the network) once the first good
		// refresh is cached; repair undoes what ClearFaults does not.
		breakAPI, repair func(e *faultEnv)
		// down lists the labels that must be up 0 and keep old data.
		down []string
		// wantErr is in the one logged failure line of each down group.
		wantErr string
		// requests, if set, is how many records requests the three failed
		// refreshes of support send: retries and pages are bounded.
		requests int
		// sleeps, if set, is every backoff wait the client asks for.
		sleeps []time.Duration
		// deadline bounds the first faulted scrape (default a minute).
		deadline       time.Duration
		refreshTimeout time.Duration
	}{
		{
			name: "429 storm without Retry-After",
			breakAPI: func(e *faultEnv) {
				e.sim.InjectFault(usagesim.Fault{Kind: usagesim.RateLimit, BillingGroup: support})
			},
			down: []string{"support"}, wantErr: "giving up after 4 attempts: HTTP 429",
			requests: 3 * twilio.DefaultMaxAttempts,
		},
		{
			name: "429 storm with Retry-After",
			breakAPI: func(e *faultEnv) {
				e.sim.InjectFault(usagesim.Fault{Kind: usagesim.RateLimit, BillingGroup: support, RetryAfter: "7"})
			},
			down: []string{"support"}, wantErr: "giving up after 4 attempts: HTTP 429",
			requests: 3 * twilio.DefaultMaxAttempts,
			sleeps:   repeat(7*time.Second, 3*(twilio.DefaultMaxAttempts-1)),
		},
		{
			name: "429 burst then success",
			breakAPI: func(e *faultEnv) {
				e.sim.InjectFault(usagesim.Fault{Kind: usagesim.RateLimit, Times: 3, RetryAfter: "1"})
			},
		},
		{
			name: "5xx burst then success",
			breakAPI: func(e *faultEnv) {
				e.sim.InjectFault(usagesim.Fault{Kind: usagesim.ServerError, Times: 3})
				e.sim.InjectFault(usagesim.Fault{Kind: usagesim.ServerError, Status: http.StatusBadGateway, Page: 2, Times: 2})
			},
		},
		{
			name: "5xx storm",
			breakAPI: func(e *faultEnv) {
				e.sim.InjectFault(usagesim.Fault{Kind: usagesim.ServerError, Status: http.StatusInternalServerError, BillingGroup: support, Page: 2})
			},
			down: []string{"support"}, wantErr: "page 2: giving up after 4 attempts: HTTP 500",
			// page 1 once, page 2 four times, per refresh
			requests: 3 * (1 + twilio.DefaultMaxAttempts),
		},
		{
			name: "hanging API",
			breakAPI: func(e *faultEnv) {
				e.sim.InjectFault(usagesim.Fault{Kind: usagesim.Slow, BillingGroup: support, Delay: time.Hour})
			},
			down: []string{"support"}, wantErr: "context deadline exceeded",
			deadline: 200 * time.Millisecond, refreshTimeout: time.Second,
			requests: 3,
		},
		{
			name:     "connection refused",
			breakAPI: func(e *faultEnv) { _ = e.inst.Close() },
			repair:   func(e *faultEnv) { e.startSim(e.addr) },
			down:     all, wantErr: "connect: connection refused",
		},
		{
			name: "malformed JSON",
			breakAPI: func(e *faultEnv) {
				e.sim.InjectFault(usagesim.Fault{Kind: usagesim.MalformedJSON, BillingGroup: support, Page: 2})
			},
			down: []string{"support"}, wantErr: "page 2: response is not valid JSON",
			requests: 3 * 2,
		},
		{
			name: "truncated JSON",
			breakAPI: func(e *faultEnv) {
				e.sim.InjectFault(usagesim.Fault{Kind: usagesim.TruncatedJSON, BillingGroup: support})
			},
			down: []string{"support"}, wantErr: "page 1: response is truncated JSON",
			requests: 3,
		},
		{
			name: "oversized body",
			breakAPI: func(e *faultEnv) {
				e.sim.InjectFault(usagesim.Fault{Kind: usagesim.Oversized, BillingGroup: support, Size: faultBodyCap + 1<<20})
			},
			down: []string{"support"}, wantErr: fmt.Sprintf("page 1: response body exceeds %d bytes (MaxBodyBytes)", faultBodyCap),
			requests: 3,
		},
		{
			name: "repeating nextToken",
			breakAPI: func(e *faultEnv) {
				e.sim.InjectFault(usagesim.Fault{Kind: usagesim.RepeatingToken, BillingGroup: support, Page: 2})
			},
			down: []string{"support"}, wantErr: "page 2: meta.nextToken repeats the one page 1 returned",
			requests: 3 * 2,
		},
		{
			name: "endless nextToken",
			breakAPI: func(e *faultEnv) {
				e.sim.InjectFault(usagesim.Fault{Kind: usagesim.EndlessToken, BillingGroup: support})
			},
			down: []string{"support"}, wantErr: fmt.Sprintf("more than %d pages (MaxPages)", faultMaxPages),
			requests: 3 * faultMaxPages,
		},
		{
			name: "token endpoint down",
			breakAPI: func(e *faultEnv) {
				e.sim.ExpireTokens()
				e.sim.InjectFault(usagesim.Fault{Kind: usagesim.TokenDown})
			},
			down: all, wantErr: "temporarily_unavailable",
		},
		{
			name: "token endpoint rejects the client",
			breakAPI: func(e *faultEnv) {
				e.sim.ExpireTokens()
				e.sim.InjectFault(usagesim.Fault{Kind: usagesim.TokenReject})
			},
			down: all, wantErr: "token endpoint rejected the credentials of client ID",
		},
		{
			name: "token expires mid pagination",
			breakAPI: func(e *faultEnv) {
				e.sim.InjectFault(usagesim.Fault{Kind: usagesim.ExpiredToken, BillingGroup: support, Page: 2, Times: 1})
			},
		},
		{
			name: "token rejected on every page",
			breakAPI: func(e *faultEnv) {
				e.sim.InjectFault(usagesim.Fault{Kind: usagesim.ExpiredToken, BillingGroup: support, Page: 3})
			},
			down: []string{"support"}, wantErr: "page 3: HTTP 401",
			// pages 1 and 2, then page 3 once and once more with a new token
			requests: 3 * 4,
		},
		{
			name: "API version not eligible",
			breakAPI: func(e *faultEnv) {
				e.sim.InjectFault(usagesim.Fault{Kind: usagesim.NotEligible, BillingGroup: support})
			},
			down: []string{"support"}, wantErr: "71001",
			requests: 3,
		},
		{
			name: "malformed record",
			breakAPI: func(e *faultEnv) {
				e.sim.InjectFault(usagesim.Fault{Kind: usagesim.BadRecord, BillingGroup: support, Page: 2})
			},
			down: []string{"support"}, wantErr: "page 2: record 0: usage.amount",
			requests: 3 * 2,
		},
		{
			name: "offset pages repeat a row",
			breakAPI: func(e *faultEnv) {
				e.sim.SetShapes(usagesim.Shapes{RepeatAcrossPages: true})
			},
			repair: func(e *faultEnv) { e.sim.SetShapes(usagesim.Shapes{}) },
			down:   all, wantErr: `) overlaps page `,
		},
		{
			name: "two broken groups among three",
			breakAPI: func(e *faultEnv) {
				e.sim.InjectFault(usagesim.Fault{Kind: usagesim.NotEligible, BillingGroup: support})
				e.sim.InjectFault(usagesim.Fault{Kind: usagesim.ServerError, BillingGroup: marketing, Page: 3})
			},
			down: []string{"marketing", "support"}, wantErr: "HTTP",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			leaks := goleak.IgnoreCurrent()
			t.Cleanup(func() { goleak.VerifyNone(t, leaks) }) // runs last
			timeout := tc.refreshTimeout
			if timeout == 0 {
				timeout = 30 * time.Second
			}
			e := newFaultEnv(t, timeout)

			// Yesterday: a good refresh of every group.
			before := e.scrape(time.Minute)
			for _, g := range e.groups {
				if before[upSeries(g.Label)] != 1 {
					t.Fatalf("%s: up = %v before any fault, want 1", g.Label, before[upSeries(g.Label)])
				}
			}
			_ = e.takeSleeps()

			// Today: the snapshots have expired and the API breaks.
			e.clk.Add(24*time.Hour + time.Minute)
			today := e.clk.Now()
			down := map[string]bool{}
			for _, l := range tc.down {
				down[l] = true
			}
			want := map[string]map[string]float64{}
			for _, g := range e.groups {
				if down[g.Label] {
					want[g.Label] = dataSeries(before, g.Label)
				} else {
					want[g.Label] = simSeries(t, e.sim, today, g)
					if diffSeries(dataSeries(before, g.Label), want[g.Label]) == "" {
						t.Fatalf("%s: today's data equals yesterday's; the case could not tell them apart", g.Label)
					}
				}
			}
			e.sim.ResetStats()
			tc.breakAPI(e)

			deadline := tc.deadline
			if deadline == 0 {
				deadline = time.Minute
			}
			answered := make(chan map[string]float64, 1)
			go func() { answered <- e.scrape(deadline) }()
			select {
			case got := <-answered:
				if _, ok := got[upSeries("support")]; !ok {
					t.Fatalf("first faulted scrape lacks support's up:\n%v", got)
				}
			case <-time.After(deadline + 30*time.Second):
				t.Fatalf("the first faulted scrape did not answer within its %v deadline", deadline)
			}
			// Let refreshes the first scrape left running land before the
			// clock moves: the API dates its data by that clock.
			got := e.scrape(time.Minute)
			for range 2 {
				e.clk.Add(faultRetry + time.Second)
				got = e.scrape(time.Minute)
			}

			for _, g := range e.groups {
				wantUp := 1.0
				if down[g.Label] {
					wantUp = 0
				}
				if up := got[upSeries(g.Label)]; up != wantUp {
					t.Errorf("%s: up = %v, want %v", g.Label, up, wantUp)
				}
				if d := diffSeries(dataSeries(got, g.Label), want[g.Label]); d != "" {
					t.Errorf("%s: series differ from what it must serve:%s", g.Label, d)
				}
				failed := countLines(e.logs.String(), "billing_group="+g.Label, "Refresh failed")
				switch {
				case down[g.Label] && failed != 1:
					t.Errorf("%s: %d 'Refresh failed' lines after three failed refreshes, want 1:\n%s", g.Label, failed, e.logs)
				case down[g.Label] && countLines(e.logs.String(), "billing_group="+g.Label, "Refresh failed", tc.wantErr) != 1:
					t.Errorf("%s: the failure line does not say %q:\n%s", g.Label, tc.wantErr, e.logs)
				case !down[g.Label] && failed != 0:
					t.Errorf("%s: logged a failure, want none:\n%s", g.Label, e.logs)
				}
			}
			if tc.requests != 0 {
				if n := e.sim.Stats().ByGroup[support]; n != tc.requests {
					t.Errorf("support: %d records requests over three failed refreshes, want %d", n, tc.requests)
				}
			}
			if tc.sleeps != nil {
				if s := e.takeSleeps(); fmt.Sprint(s) != fmt.Sprint(tc.sleeps) {
					t.Errorf("backoff waits = %v, want %v", s, tc.sleeps)
				}
			}
			if len(tc.down) == 0 {
				return
			}

			// The API heals: one scrape after the retry interval brings
			// every group back, with today's data, and says so once.
			e.sim.ClearFaults()
			if tc.repair != nil {
				tc.repair(e)
			}
			e.clk.Add(faultRetry + time.Second)
			got = e.scrape(time.Minute)
			for _, g := range e.groups {
				if up := got[upSeries(g.Label)]; up != 1 {
					t.Errorf("after repair %s: up = %v, want 1", g.Label, up)
				}
				// Healthy groups still serve this morning's fresh snapshot;
				// the healed ones were fetched just now.
				wantNow := want[g.Label]
				if down[g.Label] {
					wantNow = simSeries(t, e.sim, e.clk.Now(), g)
				}
				if d := diffSeries(dataSeries(got, g.Label), wantNow); d != "" {
					t.Errorf("after repair %s: series differ from the API's:%s", g.Label, d)
				}
				wantBack := 0
				if down[g.Label] {
					wantBack = 1
				}
				if n := countLines(e.logs.String(), "billing_group="+g.Label, "Refresh succeeded again"); n != wantBack {
					t.Errorf("after repair %s: %d 'Refresh succeeded again' lines, want %d:\n%s", g.Label, n, wantBack, e.logs)
				}
			}
		})
	}
}

func repeat(d time.Duration, n int) []time.Duration {
	s := make([]time.Duration, n)
	for i := range s {
		s[i] = d
	}
	return s
}

// rolloverTransport moves the clock to the next month once the first records
// page of a refresh has been answered: the refresh starts on the last day of
// the month and ends after 00:00 UTC on the 1st.
type rolloverTransport struct {
	base  http.RoundTripper
	clk   *testsupport.Clock
	to    time.Time
	mu    sync.Mutex
	armed bool
}

func (rt *rolloverTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := rt.base.RoundTrip(r)
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.armed && strings.Contains(r.URL.Path, "/Records") {
		rt.armed = false
		rt.clk.Set(rt.to)
	}
	return resp, err
}

// TestFaultMonthRolloverMidRefresh: a refresh that starts at 23:59:50 UTC on
// the last day of the month and whose later pages are served after midnight
// (so they hold the new month's data, with a new asOf) is read again from
// the first page, all of it December's: it is refused as the period the
// refresh started in (up 0, the log says which record lies outside the
// month) and nothing of it is served; the next refresh serves exactly the
// new month's data.
func TestFaultMonthRolloverMidRefresh(t *testing.T) {
	clk := testsupport.NewClock(time.Date(2026, 11, 30, 23, 59, 50, 0, time.UTC))
	sim := usagesim.New(usagesim.Options{Now: clk.Now})
	inst, err := usagesim.Start(sim, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close()
	base := http.DefaultTransport.(*http.Transport).Clone()
	defer base.CloseIdleConnections()
	december := time.Date(2026, 12, 1, 0, 0, 5, 0, time.UTC)
	rt := &rolloverTransport{base: base, clk: clk, to: december, armed: true}
	client, err := twilio.New(twilio.Config{
		APIURL: inst.URL, TokenURL: inst.TokenURL,
		ClientID: usagesim.DefaultClientID, ClientSecret: usagesim.DefaultClientSecret,
		HTTPClient: &http.Client{Transport: rt}, MaxAttempts: 1, PageSize: faultPageSize,
	})
	if err != nil {
		t.Fatal(err)
	}
	g := Group{ID: support, Label: "support"}
	var logs testsupport.SyncBuffer
	cache := NewCache(client, monthly(faultTTL, g), CacheOptions{RetryInterval: time.Minute, Now: clk.Now, Logger: newLogfmt(&logs), Concurrency: 4})
	defer cache.Close()

	// The first scrape starts the refresh at 23:59:50 and waits for it; it
	// lands at 00:00:05 on December 1st with November's first page and
	// December's later pages. It must not be served as December's data.
	got := gatherValues(t, New(cache.Get(context.Background())))
	if !clk.Now().Equal(december) {
		t.Fatalf("clock = %v, want %v: the refresh did not span midnight", clk.Now(), december)
	}
	if got[upSeries(g.Label)] != 0 {
		t.Fatalf("up = %v, want 0 (the refresh mixed two months)", got[upSeries(g.Label)])
	}
	if d := dataSeries(got, g.Label); len(d) != 0 {
		t.Fatalf("a refresh that started in November was served in December:%s", diffSeries(d, nil))
	}
	if l := logs.String(); !strings.Contains(l, `err="collector: this_month: page 1 record 0 (\"link-shortening\" \"Link-Shortening-Clicks\", requests EUR, 2026-12-01 to 2026-12-01) lies outside the period (2026-11-01 to 2026-11-30): the API answered for another period"`) {
		t.Fatalf("the log does not say why the refresh was refused:\n%s", l)
	}

	// After the retry interval the next scrape refreshes again and serves
	// exactly December's data.
	clk.Add(time.Minute)
	got = gatherValues(t, New(cache.Get(context.Background())))
	if d := diffSeries(dataSeries(got, g.Label), simSeries(t, sim, clk.Now(), g)); d != "" {
		t.Fatalf("December's first full refresh differs from the API's data:%s", d)
	}
	if n := sim.Stats().ByGroup[support]; n < 2 {
		t.Fatalf("%d records requests; the first refresh needs more than one page to span midnight", n)
	}
}
