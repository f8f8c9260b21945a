package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/internal/testsupport"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim"
)

// TestBinaryAgainstUsageAPIVariants runs the real binary, configured as the
// docs' example is (the twilio section's defaults), against APIs that answer
// as Twilio's SDKs and error pages suggest the real one may: each period up
// as the case says, and every period served exactly the API's data.
func TestBinaryAgainstUsageAPIVariants(t *testing.T) {
	bin := exporterBinary(t)
	groups := usagesim.DemoGroups()[:2]
	for _, tc := range []struct {
		name   string
		sim    func(*usagesim.Options)
		fault  *usagesim.Fault
		twilio string   // appended to the twilio section
		down   []string // periods up 0 for every group; the others up 1
		logs   []string // lines the log must hold
		fiscal bool     // a fiscal year that began 11 months ago, or in February
	}{
		{name: "page token read from the query string only", sim: func(o *usagesim.Options) { o.TokenInQuery = true }},
		{name: "JSON body only, page token from the query string", sim: func(o *usagesim.Options) {
			o.Params = usagesim.ParamsJSONOnly
			o.TokenInQuery = true
		}},
		// The encoding is configured so that no detection request uses the
		// fault up: the first page of support's month to date is the
		// stale one, whatever the order of refreshes.
		{name: "a data update during a pagination", twilio: "  request_encoding: json\n",
			fault: &usagesim.Fault{Kind: usagesim.StaleData, BillingGroup: groups[1].ID, TimePeriod: "THIS_MONTH", Page: 1, Times: 1},
			logs:  []string{`billing_group=support msg="The Usage API's data changed while it was paged`}},
		// Twilio's 429s in each error shape, from either endpoint: waited
		// as Retry-After asks, logged, and the figures exact.
		{name: "429 in the newer error shape", sim: func(o *usagesim.Options) { o.ErrorShape = usagesim.ErrorsNewer },
			fault: &usagesim.Fault{Kind: usagesim.RateLimit, RetryAfter: "1", Times: 2},
			logs:  []string{`msg="Waiting to retry the Usage API" endpoint=records`, `retry_after=1s`, `code 20429: Too Many Requests (more info: https://www.twilio.com/docs/errors/20429); too many requests at once`}},
		{name: "429 in the errors-list shape", sim: func(o *usagesim.Options) { o.ErrorShape = usagesim.ErrorsList },
			fault: &usagesim.Fault{Kind: usagesim.RateLimit, RetryAfter: "1", Times: 2},
			logs:  []string{`msg="Waiting to retry the Usage API" endpoint=records`, `retry_after=1s`}},
		{name: "429 from the token endpoint", sim: func(o *usagesim.Options) { o.ErrorShape = usagesim.ErrorsList },
			fault: &usagesim.Fault{Kind: usagesim.TokenRateLimit, RetryAfter: "1", Times: 1},
			logs:  []string{`msg="Waiting to retry the Usage API" endpoint=token`, `retry_after=1s`}},
		{name: "last month's export not ready", sim: func(o *usagesim.Options) { o.Params = usagesim.ParamsQueryOnly },
			fault: &usagesim.Fault{Kind: usagesim.ExportNotFound, TimePeriod: "LAST_MONTH"},
			down:  []string{"last_month"},
			logs:  []string{`period=last_month`, `code 71003: Usage export not found`}},
		// The API has no name for a fiscal year: it is asked as a range,
		// and served exactly the API's days from its first to today.
		{name: "a fiscal year", fiscal: true},
		{name: "a fiscal year, page token from the query string only", sim: func(o *usagesim.Options) { o.TokenInQuery = true }, fiscal: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A fixed clock: the API's figures do not move while the test
			// compares them.
			now := time.Now()
			opts := usagesim.Options{ClientID: "variant-client", ClientSecret: "variant-secret", Now: func() time.Time { return now }}
			if tc.sim != nil {
				tc.sim(&opts)
			}
			sim := usagesim.New(opts)
			if tc.fault != nil {
				sim.InjectFault(*tc.fault)
			}
			inst, err := usagesim.Start(sim, "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { inst.Close() })
			cfg := fmt.Sprintf("twilio:\n  api_url: %s\n  token_url: %s\n  client_id: variant-client\n  client_secret: variant-secret\n  page_size: 7\n%sbilling_groups:\n",
				inst.URL, inst.TokenURL, tc.twilio)
			for _, g := range groups {
				cfg += fmt.Sprintf("  - id: %s\n    name: %s\n", g.ID, g.Name)
			}
			yearStart, yearFirst := time.January, ""
			if tc.fiscal {
				yearStart = max(now.UTC().Month()%12+1, time.February)
				year := now.UTC().Year()
				if now.UTC().Month() < yearStart {
					year--
				}
				yearFirst = time.Date(year, yearStart, 1, 0, 0, 0, 0, time.UTC).Format("2006-01-02")
				cfg += fmt.Sprintf("fiscal_year_start: {month: %d}\n", yearStart)
			}
			path := filepath.Join(t.TempDir(), "config.yml")
			if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			addr := freeAddr(t)
			p := start(t, bin, "--config.file="+path, "--web.listen-address="+addr)
			base := "http://" + addr
			// Ready once every period's first refresh has finished.
			waitHTTP(t, base+"/-/ready", time.Minute)
			families := parse(t, get(t, base+"/metrics"))
			got := map[string]float64{}
			for name, f := range families {
				for _, m := range f.Metric {
					var labels []string
					for _, l := range m.Label {
						labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
					}
					got[name+"{"+strings.Join(labels, ",")+"}"] = m.GetGauge().GetValue()
				}
			}
			for _, g := range groups {
				for _, period := range []string{"", "yesterday_", "last_month_", "this_year_"} {
					want := 1.0
					for _, d := range tc.down {
						if period == d+"_" {
							want = 0
						}
					}
					key := fmt.Sprintf("twilio_billing_group_%sup{billing_group=%q}", period, g.Name)
					if got[key] != want {
						t.Errorf("%s = %v, want %v", key, got[key], want)
					}
				}
				// Every period served is exactly the API's data.
				for _, period := range []string{"", "yesterday_", "last_month_", "this_year_"} {
					if got[fmt.Sprintf("twilio_billing_group_%sup{billing_group=%q}", period, g.Name)] != 1 {
						continue
					}
					tp := map[string]string{"": "THIS_MONTH", "yesterday_": "YESTERDAY", "last_month_": "LAST_MONTH", "this_year_": "THIS_YEAR"}[period]
					records, _ := sim.Records(g.ID, tp)
					if period == "this_year_" && tc.fiscal {
						tp = yearFirst + " to today"
						records = sim.DailyRecords(g.ID, yearFirst, now.UTC().Format("2006-01-02"))
						start, _ := time.Parse("2006-01-02", yearFirst)
						if key := fmt.Sprintf("twilio_billing_group_this_year_period_start_timestamp_seconds{billing_group=%q}", g.Name); got[key] != float64(start.Unix()) {
							t.Errorf("%s = %v, want %s", key, got[key], yearFirst)
						}
					}
					sums := testsupport.ExactSums{}
					for _, r := range records {
						sums.AddFloat(t, fmt.Sprintf(`twilio_billing_group_%scost{billing_group=%q,currency=%q,product_category=%q}`, period, g.Name, r.Price.Currency, r.ProductCategory), r.Price.Amount)
						sums.Add(t, fmt.Sprintf(`twilio_billing_group_%susage{billing_group=%q,product_category=%q,unit=%q}`, period, g.Name, r.ProductCategory, r.Usage.Unit), r.Usage.Amount)
					}
					want := sums.Floats()
					for k, v := range want {
						if got[k] != v {
							t.Errorf("%s = %v, want %v (the API's data)", k, got[k], v)
						}
					}
					n := 0
					for k := range got {
						if strings.HasPrefix(k, fmt.Sprintf("twilio_billing_group_%scost{billing_group=%q,", period, g.Name)) ||
							strings.HasPrefix(k, fmt.Sprintf("twilio_billing_group_%susage{billing_group=%q,", period, g.Name)) {
							n++
						}
					}
					if n != len(want) {
						t.Errorf("%s %s: %d cost and usage series, want %d", g.Name, tp, n, len(want))
					}
				}
			}
			if m := got["twilio_billing_fiscal_year_start_month{}"]; m != float64(yearStart) {
				t.Errorf("twilio_billing_fiscal_year_start_month = %v, want %d", m, yearStart)
			}
			for _, l := range tc.logs {
				if !strings.Contains(p.out.String(), l) {
					t.Errorf("the log lacks %s", l)
				}
			}
		})
	}
}
