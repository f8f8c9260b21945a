package collector

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/internal/testsupport"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/twilio"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim/simtest"
)

// auto is the exporter's default config: the request encoding learnt.
func auto(c *twilio.Config) { c.Encoding = twilio.EncodingAuto }

// TestDataUpdateMidRefresh: a data update that lands while a refresh pages
// (the first page as of yesterday, the later ones as of today) is served
// exactly as today's data, never as a mix; a second update during the
// restarted pagination refuses the refresh (up 0, one log line naming both
// dates) and keeps serving the last good data.
func TestDataUpdateMidRefresh(t *testing.T) {
	clk := testsupport.NewClock(time.Date(2026, 11, 26, 10, 30, 0, 0, time.UTC))
	sim := usagesim.New(usagesim.Options{Now: clk.Now})
	g := Group{ID: support, Label: "support"}
	var logs testsupport.SyncBuffer
	cache := NewCache(simtest.Client(t, simtest.Start(t, sim), 7, auto), monthly(15*time.Minute, g), CacheOptions{Now: clk.Now, Logger: newLogfmt(&logs), Concurrency: 1})
	defer cache.Close()

	// The first refresh learns the encoding and serves today's data.
	if d := diffSeries(dataSeries(gatherValues(t, New(cache.Get(context.Background()))), g.Label), simSeries(t, sim, clk.Now(), g)); d != "" {
		t.Fatalf("first refresh:%s", d)
	}

	clk.Add(15 * time.Minute)
	sim.InjectFault(usagesim.Fault{Kind: usagesim.StaleData, BillingGroup: support, Page: 1, Times: 1})
	sim.ResetStats()
	got := gatherValues(t, New(cache.Get(context.Background())))
	want := simSeries(t, sim, clk.Now(), g)
	if d := diffSeries(dataSeries(got, g.Label), want); d != "" {
		t.Fatalf("a pagination across a data update is not today's data:%s", d)
	}
	if got[upSeries(g.Label)] != 1 || sim.Stats().Faults != 1 {
		t.Fatalf("up = %v after %d faulted requests, want 1 after 1", got[upSeries(g.Label)], sim.Stats().Faults)
	}
	if n := countLines(logs.String(), "level=info", "changed while it was paged", "as_of=2026-11-26"); n != 1 {
		t.Fatalf("%d log lines say the pagination was read again, want 1:\n%s", n, logs.String())
	}

	clk.Add(15 * time.Minute)
	sim.InjectFault(usagesim.Fault{Kind: usagesim.StaleData, BillingGroup: support, Page: 1, Times: 2})
	got = gatherValues(t, New(cache.Get(context.Background())))
	if got[upSeries(g.Label)] != 0 {
		t.Fatalf("up = %v, want 0 after the data moved twice", got[upSeries(g.Label)])
	}
	if d := diffSeries(dataSeries(got, g.Label), want); d != "" {
		t.Fatalf("the last good data is not served:%s", d)
	}
	line := "asOf went from 2026-11-25 to 2026-11-26, and after starting again from the first page from 2026-11-25 to 2026-11-26"
	if n := countLines(logs.String(), "level=error", "billing_group=support", line); n != 1 {
		t.Fatalf("%d log lines name both dates, want 1:\n%s", n, logs.String())
	}
}

// TestExportNotFoundStaysWithItsPeriod: last month's export not generated
// yet (Twilio error 71003, plausible on the 1st) against an API that reads
// its parameters from the query string only, so that learning the encoding
// matters: last month is up 0 with the reason, and retried on the retry
// interval; month to date, yesterday and the year are exact and up 1.
func TestExportNotFoundStaysWithItsPeriod(t *testing.T) {
	clk := testsupport.NewClock(time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC))
	sim := usagesim.New(usagesim.Options{Now: clk.Now, Params: usagesim.ParamsQueryOnly})
	sim.InjectFault(usagesim.Fault{Kind: usagesim.ExportNotFound, TimePeriod: "LAST_MONTH"})
	var groups []Group
	for _, dg := range usagesim.DemoGroups() {
		g := Group{ID: dg.ID, Label: dg.Name}
		for p := range NumPeriods {
			g.TTL[p] = 15 * time.Minute
		}
		groups = append(groups, g)
	}
	var logs testsupport.SyncBuffer
	cache := NewCache(simtest.Client(t, simtest.Start(t, sim), 7, auto), groups, CacheOptions{Now: clk.Now, Logger: newLogfmt(&logs), Concurrency: 2, RetryInterval: time.Minute})
	defer cache.Close()

	got := gatherValues(t, New(cache.Get(context.Background())))
	for _, g := range groups {
		for _, m := range []string{"twilio_billing_group_up", "twilio_billing_group_yesterday_up", "twilio_billing_group_this_year_up"} {
			if v := got[fmt.Sprintf(`%s{billing_group=%q}`, m, g.Label)]; v != 1 {
				t.Errorf("%s{billing_group=%q} = %v, want 1", m, g.Label, v)
			}
		}
		if v := got[fmt.Sprintf(`twilio_billing_group_last_month_up{billing_group=%q}`, g.Label)]; v != 0 {
			t.Errorf("last month up = %v for %s, want 0", v, g.Label)
		}
		if d := diffSeries(dataSeries(got, g.Label), simSeries(t, sim, clk.Now(), g)); d != "" {
			t.Errorf("%s: month to date is not exact:%s", g.Label, d)
		}
	}
	if n := countLines(logs.String(), "period=last_month", "code 71003: Usage export not found"); n != len(groups) {
		t.Errorf("%d log lines give last month's reason, want %d:\n%s", n, len(groups), logs.String())
	}

	// The export appears: the next refresh after the retry interval serves it.
	sim.ClearFaults()
	clk.Add(time.Minute)
	got = gatherValues(t, New(cache.Get(context.Background())))
	for _, g := range groups {
		if v := got[fmt.Sprintf(`twilio_billing_group_last_month_up{billing_group=%q}`, g.Label)]; v != 1 {
			t.Errorf("last month up = %v for %s after the retry interval, want 1", v, g.Label)
		}
	}
}

// TestRateLimitedInEveryShape: a 429 from the Records or the token endpoint,
// in each of Twilio's error body shapes, with a Retry-After past the
// client's MaxBackoff: the refresh waits what the API asked (its deadline
// leaves room) and serves exactly the API's data.
func TestRateLimitedInEveryShape(t *testing.T) {
	for _, shape := range []usagesim.ErrorShape{usagesim.ErrorsAsSent, usagesim.ErrorsNewer, usagesim.ErrorsList} {
		for _, kind := range []usagesim.FaultKind{usagesim.RateLimit, usagesim.TokenRateLimit} {
			t.Run(shape.String()+" "+kind.String(), func(t *testing.T) {
				clk := testsupport.NewClock(time.Date(2026, 11, 26, 10, 30, 0, 0, time.UTC))
				sim := usagesim.New(usagesim.Options{Now: clk.Now, ErrorShape: shape})
				sim.InjectFault(usagesim.Fault{Kind: kind, RetryAfter: "45", Times: 1})
				inst := simtest.Start(t, sim)
				var mu sync.Mutex
				var waits []time.Duration
				client, err := twilio.New(twilio.Config{
					APIURL: inst.URL, TokenURL: inst.TokenURL,
					ClientID: usagesim.DefaultClientID, ClientSecret: usagesim.DefaultClientSecret,
					PageSize: 7, MaxBackoff: 30 * time.Second,
					Sleep: func(context.Context, time.Duration) error { return nil },
					Waiting: func(w twilio.Wait) {
						mu.Lock()
						defer mu.Unlock()
						waits = append(waits, w.Delay)
					},
				})
				if err != nil {
					t.Fatal(err)
				}
				g := Group{ID: support, Label: "support"}
				cache := NewCache(client, monthly(15*time.Minute, g), CacheOptions{Now: clk.Now, RefreshTimeout: 2 * time.Minute, Concurrency: 1})
				defer cache.Close()
				got := gatherValues(t, New(cache.Get(context.Background())))
				if d := diffSeries(dataSeries(got, g.Label), simSeries(t, sim, clk.Now(), g)); d != "" || got[upSeries(g.Label)] != 1 {
					t.Fatalf("up %v, not the API's data:%s", got[upSeries(g.Label)], d)
				}
				mu.Lock()
				defer mu.Unlock()
				if len(waits) != 1 || waits[0] != 45*time.Second {
					t.Errorf("waited %v, want the 45s Retry-After asked for once", waits)
				}
			})
		}
	}
}
