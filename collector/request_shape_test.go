package collector

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/internal/testsupport"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/twilio"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim/simtest"
)

// TestTransportVariants runs the cache over a client set to learn the
// request encoding (the exporter's default) against simulators that read
// their parameters from one place only, name the page token otherwise, or
// want continuations to carry the token alone. Every variant must export
// exactly what the plain simulator gives a plain client, and learning must
// cost a few requests once, never on every refresh.
func TestTransportVariants(t *testing.T) {
	start := time.Date(2026, 11, 26, 10, 30, 0, 0, time.UTC)
	var groups []Group
	for _, g := range usagesim.DemoGroups() {
		groups = append(groups, Group{ID: g.ID, Label: g.Name})
	}
	// served runs one refresh of every group and returns the series that
	// carry the API's figures, and the records requests it took.
	served := func(t *testing.T, _ *testsupport.Clock, sim *usagesim.Server, cache *Cache) (map[string]float64, int) {
		t.Helper()
		sim.ResetStats()
		got := gatherValues(t, New(cache.Get(context.Background())))
		out := map[string]float64{}
		for k, v := range got {
			for _, m := range []string{"twilio_billing_group_cost{", "twilio_billing_group_usage{", "twilio_billing_group_records{", "twilio_billing_group_up{"} {
				if strings.HasPrefix(k, m) {
					out[k] = v
				}
			}
		}
		return out, sim.Stats().RecordsRequests
	}
	newCache := func(client *twilio.Client, clk *testsupport.Clock) *Cache {
		// One refresh at a time, so that the requests learning costs are
		// exact; twilio's tests cover learning under concurrency.
		c := NewCache(client, monthly(15*time.Minute, groups...), CacheOptions{Now: clk.Now, Concurrency: 1})
		t.Cleanup(c.Close)
		return c
	}

	baseClock := testsupport.NewClock(start)
	baseSim := usagesim.New(usagesim.Options{Now: baseClock.Now})
	want, pages := served(t, baseClock, baseSim, newCache(simtest.Client(t, simtest.Start(t, baseSim), 7, nil), baseClock))
	if len(want) < 3*3 || pages <= len(groups) {
		t.Fatalf("baseline: %d series in %d requests; the test needs several pages per group", len(want), pages)
	}
	for _, g := range groups {
		if want[`twilio_billing_group_up{billing_group="`+g.Label+`"}`] != 1 {
			t.Fatalf("baseline: %s is not up: %v", g.Label, want)
		}
	}
	// Usage grows with the clock: the second refresh's baseline.
	baseClock.Add(15 * time.Minute)
	wantLater, pagesLater := served(t, baseClock, baseSim, newCache(simtest.Client(t, simtest.Start(t, baseSim), 7, nil), baseClock))

	for _, tc := range []struct {
		name   string
		sim    func(*usagesim.Options)
		client func(*twilio.Config)
		// learn is the requests learning costs: detection's, plus one
		// refused continuation.
		learn int
		enc   twilio.Encoding
	}{
		{"query-only", func(o *usagesim.Options) { o.Params = usagesim.ParamsQueryOnly }, nil, 2, twilio.EncodingQuery},
		{"query-only, no period means this month", func(o *usagesim.Options) {
			o.Params = usagesim.ParamsQueryOnly
			o.DefaultTimePeriod = "THIS_MONTH"
			o.DefaultPageSize = 10
		}, nil, 2, twilio.EncodingQuery},
		{"json-only", func(o *usagesim.Options) { o.Params = usagesim.ParamsJSONOnly }, nil, 1, twilio.EncodingJSON},
		{"form-only", func(o *usagesim.Options) { o.Params = usagesim.ParamsFormOnly }, nil, 3, twilio.EncodingForm},
		{"page token named otherwise", func(o *usagesim.Options) { o.PageTokenParam = "nextPageToken" },
			func(c *twilio.Config) { c.PageTokenParam = "nextPageToken" }, 1, twilio.EncodingJSON},
		// Refused with the query repeated, with and without the token's
		// copy in the query string.
		{"continuation carries the token alone", func(o *usagesim.Options) { o.TokenAlone = true }, nil, 1 + 2, twilio.EncodingJSON},
		// Twilio's SDKs send the token in the query string: an API that
		// reads it there alone gets it from every continuation.
		{"page token read from the query string only", func(o *usagesim.Options) { o.TokenInQuery = true }, nil, 1, twilio.EncodingJSON},
		{"json-only, page token read from the query string only", func(o *usagesim.Options) {
			o.Params = usagesim.ParamsJSONOnly
			o.TokenInQuery = true
		}, nil, 1, twilio.EncodingJSON},
		{"no query string beside a body", func(o *usagesim.Options) { o.RefuseQueryWithBody = true }, nil, 1 + 1, twilio.EncodingJSON},
		{"query-only, token alone", func(o *usagesim.Options) {
			o.Params = usagesim.ParamsQueryOnly
			o.TokenAlone = true
		}, nil, 2 + 1, twilio.EncodingQuery},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := testsupport.NewClock(start)
			opts := usagesim.Options{Now: clk.Now}
			tc.sim(&opts)
			sim := usagesim.New(opts)
			inst := simtest.Start(t, sim)
			cfg := twilio.Config{
				APIURL: inst.URL, TokenURL: inst.TokenURL,
				ClientID: usagesim.DefaultClientID, ClientSecret: usagesim.DefaultClientSecret,
				MaxAttempts: 1, PageSize: 7, Encoding: twilio.EncodingAuto,
			}
			if tc.client != nil {
				tc.client(&cfg)
			}
			client, err := twilio.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			cache := newCache(client, clk)

			got, n := served(t, clk, sim, cache)
			if d := diffSeries(got, want); d != "" {
				t.Errorf("first refresh:%s", d)
			}
			if n != pages+tc.learn {
				t.Errorf("first refresh: %d records requests, want %d pages and %d to learn", n, pages, tc.learn)
			}
			if tr := client.RequestShape(); tr.Encoding != tc.enc {
				t.Errorf("learnt %+v, want %s", tr, tc.enc)
			}

			clk.Add(15 * time.Minute)
			got, n = served(t, clk, sim, cache)
			if d := diffSeries(got, wantLater); d != "" {
				t.Errorf("second refresh:%s", d)
			}
			if n != pagesLater {
				t.Errorf("second refresh: %d records requests, want the %d pages only", n, pagesLater)
			}
		})
	}
}
