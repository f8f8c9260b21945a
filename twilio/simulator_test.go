package twilio_test

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/internal/testsupport"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/twilio"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim"
)

// These tests run the real client against the real simulated Usage API, so
// that every client behaviour and every simulator fault is covered end to
// end: what a caller of FetchRecords sees, and how many requests it took.

// simNow is the simulator's fixed clock: mid-month, so THIS_MONTH has 15
// days and LAST_MONTH is February.
var simNow = time.Date(2026, time.March, 15, 12, 0, 0, 0, time.UTC)

const (
	simClientID     = "OQsimulatorclient"
	simClientSecret = "sim-secret-never-in-errors"
	wrongSecret     = "wrong-secret-never-in-errors"

	marketingID = "commerce_billingprofile_DEMO01MARKETING"
	supportID   = "commerce_billingprofile_DEMO02SUPPORT"
	platformID  = "commerce_billingprofile_DEMO03PLATFORM"
	unknownID   = "commerce_billingprofile_NOSUCHGROUP"

	supportMasked = "commerce_billingprofile_…PORT" // supportID as errors show it
	unknownMasked = "commerce_billingprofile_…ROUP"

	simMinBackoff = 10 * time.Millisecond
	simMaxBackoff = 2 * time.Second
)

// startSim serves the demo groups on a loopback port with simNow as clock
// and the test credentials; the instance is closed when the test ends.
func startSim(t *testing.T) *usagesim.Instance {
	t.Helper()
	return startSimWith(t, func(*usagesim.Options) {})
}

// waitRecorder is a Config.Sleep that records the waits the client asks for
// instead of waiting.
type waitRecorder struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (w *waitRecorder) sleep(ctx context.Context, d time.Duration) error {
	w.mu.Lock()
	w.waits = append(w.waits, d)
	w.mu.Unlock()
	return ctx.Err()
}

func (w *waitRecorder) got() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.waits)
}

// newSimClient returns a client of in with its own transport, the test
// credentials, small deterministic backoff (no jitter) and recorded instead
// of real waits; edit adjusts the config first.
func newSimClient(t *testing.T, in *usagesim.Instance, edit func(*twilio.Config)) (*twilio.Client, *waitRecorder) {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	w := &waitRecorder{}
	cfg := twilio.Config{
		APIURL:       in.URL,
		TokenURL:     in.TokenURL,
		ClientID:     simClientID,
		ClientSecret: simClientSecret,
		HTTPClient:   &http.Client{Transport: tr, Timeout: 10 * time.Second},
		MinBackoff:   simMinBackoff,
		MaxBackoff:   simMaxBackoff,
		Sleep:        w.sleep,
		Jitter:       func(time.Duration) time.Duration { return 0 },
	}
	if edit != nil {
		edit(&cfg)
	}
	c, err := twilio.New(cfg)
	if err != nil {
		t.Fatalf("twilio.New: %v", err)
	}
	return c, w
}

// expected returns what the simulator says it serves for a group and period,
// converted to what the client should decode, and the asOf date.
func expected(t *testing.T, in *usagesim.Instance, groupID, period string) ([]twilio.Record, time.Time) {
	t.Helper()
	wire, asOf := in.Server.Records(groupID, period)
	if len(wire) == 0 {
		t.Fatalf("simulator serves no %s records for %s", period, groupID)
	}
	at, err := time.Parse(twilio.DateLayout, asOf)
	if err != nil {
		t.Fatalf("simulator asOf %q: %v", asOf, err)
	}
	return toRecords(t, wire), at
}

// toRecords converts wire records independently of the client's decoder:
// amounts with ParseDecimal from the wire text (prices as the shortest
// decimal of the simulator's float64), dates with time.Parse.
func toRecords(t *testing.T, wire []usagesim.WireRecord) []twilio.Record {
	t.Helper()
	date := func(s string) time.Time {
		d, err := time.Parse(twilio.DateLayout, s)
		if err != nil {
			t.Fatalf("simulator date %q: %v", s, err)
		}
		return d
	}
	out := make([]twilio.Record, 0, len(wire))
	for _, w := range wire {
		usage, err := twilio.ParseDecimal(w.Usage.Amount)
		if err != nil {
			t.Fatalf("simulator usage amount %q: %v", w.Usage.Amount, err)
		}
		price := testsupport.Decimal(strconv.FormatFloat(w.Price.Amount, 'f', -1, 64))
		out = append(out, twilio.Record{
			ProductName:     w.ProductName,
			ProductCategory: w.ProductCategory,
			StartDate:       date(w.StartDate),
			EndDate:         date(w.EndDate),
			UsageAmount:     usage,
			UsageUnit:       w.Usage.Unit,
			PriceAmount:     price,
			Currency:        w.Price.Currency,
		})
	}
	return out
}

func recordEqual(a, b twilio.Record) bool {
	return a.ProductName == b.ProductName && a.ProductCategory == b.ProductCategory &&
		a.StartDate.Equal(b.StartDate) && a.EndDate.Equal(b.EndDate) &&
		a.UsageAmount.Cmp(b.UsageAmount) == 0 && a.UsageUnit == b.UsageUnit &&
		a.PriceAmount.Cmp(b.PriceAmount) == 0 && a.Currency == b.Currency
}

// checkRecords compares record for record and reports the first difference.
func checkRecords(t *testing.T, what string, got, want []twilio.Record) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: Records is nil", what)
	}
	for i := range min(len(got), len(want)) {
		if !recordEqual(got[i], want[i]) {
			t.Errorf("%s: record %d:\n got %+v\nwant %+v", what, i, got[i], want[i])
			return
		}
	}
	if len(got) != len(want) {
		t.Errorf("%s: %d records, want %d", what, len(got), len(want))
	}
}

// checkUsage checks a complete result: its records, asOf and page count.
func checkUsage(t *testing.T, what string, u *twilio.Usage, want []twilio.Record, asOf time.Time, pages int) {
	t.Helper()
	if u == nil {
		t.Fatalf("%s: nil Usage", what)
	}
	checkRecords(t, what, u.Records, want)
	if !u.AsOf.Equal(asOf) {
		t.Errorf("%s: AsOf %s, want %s", what, u.AsOf, asOf)
	}
	if u.Pages != pages {
		t.Errorf("%s: Pages %d, want %d", what, u.Pages, pages)
	}
}

// checkStats compares the simulator's request counts.
func checkStats(t *testing.T, in *usagesim.Instance, token, records, faults int) {
	t.Helper()
	st := in.Server.Stats()
	if st.TokenRequests != token || st.RecordsRequests != records || st.Faults != faults {
		t.Errorf("simulator stats: %d token, %d records, %d faulted requests; want %d, %d, %d",
			st.TokenRequests, st.RecordsRequests, st.Faults, token, records, faults)
	}
}

func pagesFor(n, size int) int { return (n + size - 1) / size }

// hint is what the client says to do about a Twilio error code.
func hint(code int) string { return (&twilio.APIError{Code: code}).Hint() }

func errText(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

func TestSimulatorFullFetch(t *testing.T) {
	const size = 7
	in := startSim(t)
	c, waits := newSimClient(t, in, nil)
	q := twilio.Query{TimePeriod: twilio.ThisMonth, PageSize: size}
	wantByGroup := map[string]int{}
	total := 0
	// Two rounds over every group: one token serves every page of both.
	for round := 1; round <= 2; round++ {
		for _, g := range usagesim.DemoGroups() {
			want, asOf := expected(t, in, g.ID, "THIS_MONTH")
			pages := pagesFor(len(want), size)
			if pages < 3 {
				t.Fatalf("%s has %d records: too few to paginate", g.ID, len(want))
			}
			for _, r := range want {
				if r.Currency != g.Currency || !r.StartDate.Equal(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)) ||
					!r.EndDate.Equal(time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)) {
					t.Fatalf("%s: simulator record %+v is not a March %s record", g.ID, r, g.Currency)
				}
			}
			u, err := c.FetchRecords(t.Context(), g.ID, q)
			if err != nil {
				t.Fatalf("round %d, %s: %v", round, g.ID, err)
			}
			checkUsage(t, "round "+strconv.Itoa(round)+" "+g.Name, u, want, asOf, pages)
			wantByGroup[g.ID] += pages
			total += pages
		}
	}
	checkStats(t, in, 1, total, 0)
	if got := in.Server.Stats().ByGroup; !maps.Equal(got, wantByGroup) {
		t.Errorf("records requests by group %v, want %v", got, wantByGroup)
	}
	if w := waits.got(); len(w) != 0 {
		t.Errorf("waited %v, want no retries", w)
	}
}

func TestSimulatorEncodings(t *testing.T) {
	in := startSim(t)
	monthly := twilio.Query{TimePeriod: twilio.ThisMonth, PageSize: 7}
	// Every parameter at once: a page token only works for the query that
	// produced it, so a parameter lost on any page fails the fetch.
	daily := twilio.Query{TimePeriod: twilio.ThisMonth, ProductCategory: "sms-outbound",
		AggregationPeriod: twilio.Daily, PageSize: 7}
	want, asOf := expected(t, in, supportID, "THIS_MONTH")
	var first *twilio.Usage
	for _, enc := range []twilio.Encoding{twilio.EncodingJSON, twilio.EncodingQuery, twilio.EncodingForm} {
		t.Run(string(enc), func(t *testing.T) {
			in.Server.ResetStats()
			c, _ := newSimClient(t, in, func(c *twilio.Config) { c.Encoding = enc })
			u, err := c.FetchRecords(t.Context(), supportID, monthly)
			if err != nil {
				t.Fatalf("monthly: %v", err)
			}
			checkUsage(t, "monthly", u, want, asOf, pagesFor(len(want), 7))

			d, err := c.FetchRecords(t.Context(), supportID, daily)
			if err != nil {
				t.Fatalf("daily: %v", err)
			}
			// sms-outbound holds two products, one record each per day.
			if len(d.Records) != 2*15 || d.Pages != pagesFor(2*15, 7) {
				t.Fatalf("daily: %d records in %d pages, want 30 in %d", len(d.Records), d.Pages, pagesFor(30, 7))
			}
			for i, r := range d.Records {
				if r.ProductCategory != "sms-outbound" || !r.StartDate.Equal(r.EndDate) ||
					r.StartDate.Day() != 1+i/2 || r.StartDate.Month() != time.March {
					t.Fatalf("daily record %d is %+v", i, r)
				}
			}
			if first == nil {
				first = d
			} else {
				checkUsage(t, "daily vs json", d, first.Records, first.AsOf, first.Pages)
			}
			checkStats(t, in, 1, u.Pages+d.Pages, 0)
		})
	}
}

func TestSimulatorQueryParameters(t *testing.T) {
	in := startSim(t)
	c, _ := newSimClient(t, in, nil)
	month, asOf := expected(t, in, supportID, "THIS_MONTH")
	fetch := func(t *testing.T, q twilio.Query) *twilio.Usage {
		t.Helper()
		u, err := c.FetchRecords(t.Context(), supportID, q)
		if err != nil {
			t.Fatalf("FetchRecords(%+v): %v", q, err)
		}
		return u
	}

	t.Run("productCategory", func(t *testing.T) {
		for _, cat := range []string{"sms-outbound", "whatsapp-outbound", "no-such-category"} {
			var want []twilio.Record
			for _, r := range month {
				if r.ProductCategory == cat {
					want = append(want, r)
				}
			}
			if want == nil {
				want = []twilio.Record{}
			}
			if cat != "no-such-category" && len(want) != 2 {
				t.Fatalf("%s: simulator serves %d records, want 2 products", cat, len(want))
			}
			u := fetch(t, twilio.Query{TimePeriod: twilio.ThisMonth, ProductCategory: cat, PageSize: 1})
			checkUsage(t, cat, u, want, asOf, max(len(want), 1))
		}
	})

	t.Run("DAILY sums equal MONTHLY", func(t *testing.T) {
		u := fetch(t, twilio.Query{TimePeriod: twilio.ThisMonth, AggregationPeriod: twilio.Daily, PageSize: 100})
		if len(u.Records) != 15*len(month) {
			t.Fatalf("%d daily records, want %d products x 15 days", len(u.Records), len(month))
		}
		// Amounts are exact decimals, so the sums must be equal, not near.
		type sums struct{ usage, price twilio.Decimal }
		got := map[string]sums{}
		for _, r := range u.Records {
			if !r.StartDate.Equal(r.EndDate) || r.StartDate.Month() != time.March || r.StartDate.Day() > 15 {
				t.Fatalf("daily record %+v", r)
			}
			s := got[r.ProductName]
			s.usage = s.usage.Add(r.UsageAmount)
			s.price = s.price.Add(r.PriceAmount)
			got[r.ProductName] = s
		}
		if len(got) != len(month) {
			t.Errorf("%d products in daily records, want %d", len(got), len(month))
		}
		for _, r := range month {
			g := got[r.ProductName]
			if g.usage.Cmp(r.UsageAmount) != 0 || g.price.Cmp(r.PriceAmount) != 0 {
				t.Errorf("%s: daily sums %s %s, monthly %s %s", r.ProductName, g.usage, g.price, r.UsageAmount, r.PriceAmount)
			}
		}
	})

	t.Run("explicit range equals THIS_MONTH", func(t *testing.T) {
		u := fetch(t, twilio.Query{StartDate: "2026-03-01", EndDate: "2026-03-15", PageSize: 7})
		checkUsage(t, "2026-03-01..2026-03-15", u, month, asOf, pagesFor(len(month), 7))
	})

	t.Run("LAST_MONTH", func(t *testing.T) {
		want, asOf := expected(t, in, supportID, "LAST_MONTH")
		for _, r := range want {
			if !r.StartDate.Equal(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)) ||
				!r.EndDate.Equal(time.Date(2026, 2, 28, 0, 0, 0, 0, time.UTC)) {
				t.Fatalf("simulator LAST_MONTH record %+v", r)
			}
		}
		u := fetch(t, twilio.Query{TimePeriod: twilio.LastMonth, PageSize: 7})
		checkUsage(t, "LAST_MONTH", u, want, asOf, pagesFor(len(want), 7))
		u = fetch(t, twilio.Query{StartDate: "2026-02-01", EndDate: "2026-02-28", PageSize: 7})
		checkUsage(t, "2026-02-01..2026-02-28", u, want, asOf, pagesFor(len(want), 7))
	})
}

func TestSimulatorClientValidation(t *testing.T) {
	in := startSim(t)
	c, _ := newSimClient(t, in, nil)
	p := "twilio: records for " + supportMasked + ": query: "
	tests := []struct {
		name string
		id   string
		q    twilio.Query
		want string
	}{
		{"bad billing group ID", "commerce_billingprofile_bad-id", twilio.Query{TimePeriod: twilio.ThisMonth},
			`twilio: commerce_billingprofile_… is not a billing group ID: '-' at byte 27 is not a letter or digit (want commerce_billingprofile_ followed by letters and digits)`},
		{"no period", supportID, twilio.Query{}, p + "set timePeriod, or startDate and endDate"},
		{"period and dates", supportID, twilio.Query{TimePeriod: twilio.ThisMonth, StartDate: "2026-03-01", EndDate: "2026-03-02"},
			p + "timePeriod cannot be combined with startDate/endDate"},
		{"unknown period", supportID, twilio.Query{TimePeriod: "LAST_WEEK"},
			p + `unknown timePeriod "LAST_WEEK" (want YESTERDAY, THIS_MONTH, LAST_MONTH or THIS_YEAR)`},
		{"one date", supportID, twilio.Query{StartDate: "2026-03-01"}, p + "startDate and endDate must be set together"},
		{"bad date", supportID, twilio.Query{StartDate: "2026-3-1", EndDate: "2026-03-02"},
			p + `startDate: "2026-3-1" is not a YYYY-MM-DD date`},
		{"end before start", supportID, twilio.Query{StartDate: "2026-03-02", EndDate: "2026-03-01"},
			p + "endDate 2026-03-01 is before startDate 2026-03-02"},
		{"unknown aggregation", supportID, twilio.Query{TimePeriod: twilio.ThisMonth, AggregationPeriod: "WEEKLY"},
			p + `unknown aggregationPeriod "WEEKLY" (want DAILY or MONTHLY)`},
		{"negative page size", supportID, twilio.Query{TimePeriod: twilio.ThisMonth, PageSize: -1},
			p + "pageSize -1 is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := c.FetchRecords(t.Context(), tt.id, tt.q)
			if got := errText(err); got != tt.want {
				t.Errorf("error:\n got: %s\nwant: %s", got, tt.want)
			}
			if u != nil {
				t.Errorf("got a result %+v with the error", u)
			}
			checkStats(t, in, 0, 0, 0)
		})
	}
}

// errClass is how the IsXxx helpers and *AuthError must classify an error.
type errClass int

const (
	plainError errClass = iota
	rateLimited
	notFound
	notEligible
	unauthorized // an *APIError with HTTP 401
	authRejected // an *AuthError
)

// apiCode is the Twilio code of the *twilio.APIError in err, 0 without one.
func apiCode(err error) int {
	var ae *twilio.APIError
	if errors.As(err, &ae) {
		return ae.Code
	}
	return 0
}

func checkClass(t *testing.T, err error, want errClass) {
	t.Helper()
	var ae *twilio.AuthError
	isAuth := errors.As(err, &ae)
	got := map[string]bool{
		"IsRateLimited": twilio.IsRateLimited(err),
		"IsNotFound":    twilio.IsNotFound(err),
		"code 71001":    apiCode(err) == twilio.CodeNotEligible,
		"unauthorized":  isAuth || apiCode(err) == twilio.CodeAuthentication,
		"*AuthError":    isAuth,
	}
	wantTrue := map[string]bool{
		"IsRateLimited": want == rateLimited,
		"IsNotFound":    want == notFound,
		"code 71001":    want == notEligible,
		"unauthorized":  want == unauthorized || want == authRejected,
		"*AuthError":    want == authRejected,
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if got[k] != wantTrue[k] {
			t.Errorf("%s(err) = %v, want %v", k, got[k], wantTrue[k])
		}
	}
	if isAuth && (ae.ClientID != simClientID || ae.StatusCode != http.StatusUnauthorized || ae.Unwrap() == nil) {
		t.Errorf("AuthError %+v: want client ID %q, HTTP 401 and the underlying error", ae, simClientID)
	}
}

// checkAPIError compares the *APIError in err's chain with want on status,
// code, userError, params and Retry-After; want nil means there must be none.
func checkAPIError(t *testing.T, err error, want *twilio.APIError) {
	t.Helper()
	var e *twilio.APIError
	if !errors.As(err, &e) {
		if want != nil {
			t.Errorf("no *APIError in %v", err)
		}
		return
	}
	if want == nil {
		t.Errorf("unexpected *APIError %+v", e)
		return
	}
	if e.StatusCode != want.StatusCode || e.Code != want.Code || e.UserError != want.UserError ||
		e.RetryAfter != want.RetryAfter || !maps.Equal(e.Params, want.Params) {
		t.Errorf("APIError {status %d, code %d, userError %v, params %v, retryAfter %s}, want {%d, %d, %v, %v, %s}",
			e.StatusCode, e.Code, e.UserError, e.Params, e.RetryAfter,
			want.StatusCode, want.Code, want.UserError, want.Params, want.RetryAfter)
	}
}

func TestSimulatorFaults(t *testing.T) {
	const size = 7
	in := startSim(t)
	want, asOf := expected(t, in, supportID, "THIS_MONTH")
	pages := pagesFor(len(want), size)
	if pages < 3 {
		t.Fatalf("%s has %d records: too few to paginate", supportID, len(want))
	}
	p := "twilio: records for " + supportMasked + ": "
	const moreInfo = " (more info: https://www.twilio.com/docs/errors/"
	tests := []struct {
		name   string
		faults []usagesim.Fault
		group  string // default supportID
		query  twilio.Query
		edit   func(*twilio.Config)
		expire bool // the fetch's deadline passes once its first records request reached the API (not at a time a slow token fetch could outlast); false: no deadline

		wantErr    string           // "" expects the complete result; {URL} is the simulator's
		wantAPI    *twilio.APIError // the *APIError in the chain; nil means none
		class      errClass
		wantCtxErr bool
		wantToken  int
		wantRecs   int
		wantFaults int
		wantWaits  []time.Duration
	}{
		{
			name:      "RateLimit twice with Retry-After, then success",
			faults:    []usagesim.Fault{{Kind: usagesim.RateLimit, RetryAfter: "1", Page: 2, Times: 2}},
			wantToken: 1, wantRecs: pages + 2, wantFaults: 2,
			// Retry-After (1s) wins over the 10ms..20ms backoff.
			wantWaits: []time.Duration{time.Second, time.Second},
		},
		{
			name:      "RateLimit with Retry-After beyond MaxBackoff",
			faults:    []usagesim.Fault{{Kind: usagesim.RateLimit, RetryAfter: "60", Times: 1}},
			wantToken: 1, wantRecs: pages + 1, wantFaults: 1,
			wantWaits: []time.Duration{simMaxBackoff},
		},
		{
			name:    "RateLimit forever",
			faults:  []usagesim.Fault{{Kind: usagesim.RateLimit, RetryAfter: "1"}},
			edit:    func(c *twilio.Config) { c.MaxAttempts = 3 },
			wantAPI: &twilio.APIError{StatusCode: 429, Code: 20429, RetryAfter: time.Second},
			wantErr: p + "page 1: giving up after 3 attempts: HTTP 429: code 20429: Too Many Requests" + moreInfo + "20429); " + hint(twilio.CodeTooManyRequests),
			class:   rateLimited, wantToken: 1, wantRecs: 3, wantFaults: 3,
			wantWaits: []time.Duration{time.Second, time.Second},
		},
		{
			name:      "ServerError burst, then success",
			faults:    []usagesim.Fault{{Kind: usagesim.ServerError, Times: 2}},
			wantToken: 1, wantRecs: pages + 2, wantFaults: 2,
			// Exponential backoff without jitter: half the ceiling, at least MinBackoff.
			wantWaits: []time.Duration{simMinBackoff, simMinBackoff},
		},
		{
			name:    "ServerError 500 forever",
			faults:  []usagesim.Fault{{Kind: usagesim.ServerError, Status: http.StatusInternalServerError, Page: 3}},
			edit:    func(c *twilio.Config) { c.MaxAttempts = 4 },
			wantAPI: &twilio.APIError{StatusCode: 500, Code: 20500},
			wantErr: p + "page 3: giving up after 4 attempts: HTTP 500: code 20500: Internal Server Error" + moreInfo + "20500)",
			class:   plainError, wantToken: 1, wantRecs: 2 + 4, wantFaults: 4,
			wantWaits: []time.Duration{simMinBackoff, simMinBackoff, 2 * simMinBackoff},
		},
		{
			name:      "Slow within no deadline",
			faults:    []usagesim.Fault{{Kind: usagesim.Slow, Delay: 20 * time.Millisecond, Times: 1}},
			wantToken: 1, wantRecs: pages, wantFaults: 1,
		},
		{
			name:       "Slow beyond the context deadline",
			faults:     []usagesim.Fault{{Kind: usagesim.Slow, Delay: time.Minute}},
			expire:     true,
			wantErr:    p + `page 1: Post "{URL}/v2/Usage/BillingGroups/` + supportMasked + `/Records": context deadline exceeded`,
			wantCtxErr: true, wantToken: 1, wantRecs: 1, wantFaults: 1,
		},
		{
			name:      "MalformedJSON on page 2",
			faults:    []usagesim.Fault{{Kind: usagesim.MalformedJSON, Page: 2}},
			wantErr:   p + "page 2: response is not valid JSON: invalid character '-' after object key:value pair",
			wantToken: 1, wantRecs: 2, wantFaults: 1,
		},
		{
			name:      "RepeatingToken",
			faults:    []usagesim.Fault{{Kind: usagesim.RepeatingToken}},
			wantErr:   p + "page 2: meta.nextToken repeats the one page 1 returned; stopping to avoid an endless loop",
			wantToken: 1, wantRecs: 2, wantFaults: 2,
		},
		{
			name:      "EndlessToken beyond MaxPages",
			faults:    []usagesim.Fault{{Kind: usagesim.EndlessToken}},
			edit:      func(c *twilio.Config) { c.MaxPages = 5 },
			wantErr:   p + "more than 5 pages (MaxPages)",
			wantToken: 1, wantRecs: 5, wantFaults: 5,
		},
		{
			name:      "ExpiredToken once mid-pagination",
			faults:    []usagesim.Fault{{Kind: usagesim.ExpiredToken, Page: 2, Times: 1}},
			wantToken: 2, wantRecs: pages + 1, wantFaults: 1,
		},
		{
			name:    "ExpiredToken forever",
			faults:  []usagesim.Fault{{Kind: usagesim.ExpiredToken}},
			wantAPI: &twilio.APIError{StatusCode: 401, Code: 20003},
			wantErr: p + "page 1: HTTP 401: code 20003: Authenticate: access token expired" + moreInfo + "20003); " + hint(twilio.CodeAuthentication),
			// One refresh with a fresh token, then the 401 is final.
			class: unauthorized, wantToken: 2, wantRecs: 2, wantFaults: 2,
		},
		{
			name:      "Oversized beyond MaxBodyBytes",
			faults:    []usagesim.Fault{{Kind: usagesim.Oversized, Size: 1 << 20}},
			edit:      func(c *twilio.Config) { c.MaxBodyBytes = 64 << 10 },
			wantErr:   p + "page 1: response body exceeds 65536 bytes (MaxBodyBytes)",
			wantToken: 1, wantRecs: 1, wantFaults: 1,
		},
		{
			name:    "NotEligible",
			faults:  []usagesim.Fault{{Kind: usagesim.NotEligible}},
			wantAPI: &twilio.APIError{StatusCode: 403, Code: 71001},
			wantErr: p + "page 1: HTTP 403: code 71001: Usage API version not eligible" + moreInfo + "71001); " + hint(twilio.CodeNotEligible),
			class:   notEligible, wantToken: 1, wantRecs: 1, wantFaults: 1,
		},
		{
			name:   "TokenReject",
			faults: []usagesim.Fault{{Kind: usagesim.TokenReject}},
			wantErr: p + `page 1: get OAuth token: token endpoint rejected the credentials of client ID "` + simClientID +
				`" (HTTP 401: invalid_client Client authentication failed): check client_id and client_secret`,
			class: authRejected, wantToken: 1, wantRecs: 0, wantFaults: 1,
		},
		{
			name: "wrong client secret",
			edit: func(c *twilio.Config) { c.ClientSecret = wrongSecret },
			wantErr: p + `page 1: get OAuth token: token endpoint rejected the credentials of client ID "` + simClientID +
				`" (HTTP 401: invalid_client Client authentication failed: unknown client_id or wrong client_secret): check client_id and client_secret`,
			class: authRejected, wantToken: 1, wantRecs: 0, wantFaults: 0,
		},
		{
			name:      "TokenDown forever",
			faults:    []usagesim.Fault{{Kind: usagesim.TokenDown}},
			edit:      func(c *twilio.Config) { c.MaxAttempts = 3 },
			wantErr:   p + "page 1: giving up after 3 attempts: get OAuth token: token endpoint answered HTTP 503: temporarily_unavailable",
			wantToken: 3, wantRecs: 0, wantFaults: 3,
			wantWaits: []time.Duration{simMinBackoff, simMinBackoff},
		},
		{
			name:      "TokenDown once",
			faults:    []usagesim.Fault{{Kind: usagesim.TokenDown, Times: 1}},
			wantToken: 2, wantRecs: pages, wantFaults: 1,
			wantWaits: []time.Duration{simMinBackoff},
		},
		{
			name:      "BadRecord on page 2",
			faults:    []usagesim.Fault{{Kind: usagesim.BadRecord, Page: 2}},
			wantErr:   p + `page 2: record 0: usage.amount: "abc" is not a number`,
			wantToken: 1, wantRecs: 2, wantFaults: 1,
		},
		{
			name:    "unknown billing group",
			group:   unknownID,
			wantAPI: &twilio.APIError{StatusCode: 404, Code: 20404},
			wantErr: "twilio: records for " + unknownMasked + ": page 1: HTTP 404: code 20404: The requested resource /v2/Usage/BillingGroups/" +
				unknownMasked + "/Records was not found" + moreInfo + "20404)",
			class: notFound, wantToken: 1, wantRecs: 1,
		},
		{
			name:      "pageSize above the simulator's limit",
			query:     twilio.Query{TimePeriod: twilio.ThisMonth, PageSize: 1001},
			wantAPI:   &twilio.APIError{StatusCode: 400, Code: 20001, UserError: true, Params: map[string]any{"pageSize": "1001"}},
			wantErr:   p + "page 1: HTTP 400: code 20001: Invalid pageSize: must be an integer from 1 to 1000",
			wantToken: 1, wantRecs: 1,
		},
		{
			name:      "PageTokenParam the simulator ignores",
			edit:      func(c *twilio.Config) { c.PageTokenParam = "nextToken" },
			wantErr:   p + "page 2: meta.nextToken repeats the one page 1 returned; stopping to avoid an endless loop",
			wantToken: 1, wantRecs: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in.Server.ClearFaults()
			in.Server.ResetStats()
			for _, f := range tt.faults {
				in.Server.InjectFault(f)
			}
			c, waits := newSimClient(t, in, tt.edit)
			group, q := tt.group, tt.query
			if group == "" {
				group = supportID
			}
			if q == (twilio.Query{}) {
				q = twilio.Query{TimePeriod: twilio.ThisMonth, PageSize: size}
			}
			ctx := t.Context()
			fired := make(chan time.Time, 1)
			if tt.expire {
				d := twilio.NewTriggeredDeadline(ctx)
				ctx = d
				go func() {
					defer d.Fire() // also when the fetch ended first
					// Until the request reached the API and the fault holds
					// it: the simulator counts the request before the fault.
					for st := in.Server.Stats(); (st.RecordsRequests == 0 || st.Faults == 0) && d.Err() == nil; st = in.Server.Stats() {
						time.Sleep(time.Millisecond)
					}
					fired <- time.Now()
				}()
			}
			u, err := c.FetchRecords(ctx, group, q)
			returned := time.Now()
			if d, ok := ctx.(*twilio.TriggeredDeadline); ok {
				d.Fire()
			}

			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("FetchRecords: %v", err)
				}
				checkUsage(t, "result", u, want, asOf, pages)
			} else {
				wantErr := strings.ReplaceAll(tt.wantErr, "{URL}", in.URL)
				if got := errText(err); got != wantErr {
					t.Errorf("error:\n got: %s\nwant: %s", got, wantErr)
				}
				if u != nil {
					t.Errorf("got a partial result (%d records, %d pages) with the error", len(u.Records), u.Pages)
				}
				checkClass(t, err, tt.class)
				checkAPIError(t, err, tt.wantAPI)
				if strings.Contains(errText(err), simClientSecret) || strings.Contains(errText(err), wrongSecret) {
					t.Errorf("error contains the client secret")
				}
			}
			if got := errors.Is(err, context.DeadlineExceeded); got != tt.wantCtxErr {
				t.Errorf("errors.Is(err, context.DeadlineExceeded) = %v, want %v", got, tt.wantCtxErr)
			}
			if tt.expire {
				// The fault holds the answer for a minute: a fetch that
				// waited for it ignored the deadline.
				if waited := returned.Sub(<-fired); waited > 30*time.Second {
					t.Errorf("fetch returned %s after its deadline passed", waited)
				}
			}
			checkStats(t, in, tt.wantToken, tt.wantRecs, tt.wantFaults)
			if got := waits.got(); !slices.Equal(got, tt.wantWaits) {
				t.Errorf("waits %v, want %v", got, tt.wantWaits)
			}
		})
	}
}

// lengthRecorder records the Content-Length of every Records response.
type lengthRecorder struct {
	base    http.RoundTripper
	mu      sync.Mutex
	lengths []int64
}

func (l *lengthRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := l.base.RoundTrip(req)
	if err == nil && strings.HasSuffix(req.URL.Path, "/Records") {
		l.mu.Lock()
		l.lengths = append(l.lengths, resp.ContentLength)
		l.mu.Unlock()
	}
	return resp, err
}

func (l *lengthRecorder) got() []int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.lengths)
}

func TestSimulatorTruncatedJSON(t *testing.T) {
	in := startSim(t)
	rec := &lengthRecorder{}
	c, _ := newSimClient(t, in, func(c *twilio.Config) {
		rec.base = c.HTTPClient.Transport
		c.HTTPClient.Transport = rec
	})
	q := twilio.Query{TimePeriod: twilio.ThisMonth, PageSize: 7}
	// A clean fetch learns the full length of page 2; the data and page
	// tokens are deterministic, so the faulted fetch gets half of it.
	if _, err := c.FetchRecords(t.Context(), supportID, q); err != nil {
		t.Fatalf("clean fetch: %v", err)
	}
	clean := rec.got()
	if len(clean) < 3 || clean[1] <= 0 {
		t.Fatalf("clean fetch response lengths %v", clean)
	}
	in.Server.ResetStats()
	in.Server.InjectFault(usagesim.Fault{Kind: usagesim.TruncatedJSON, Page: 2})
	u, err := c.FetchRecords(t.Context(), supportID, q)
	want := "twilio: records for " + supportMasked + ": page 2: response is truncated JSON (ends after " +
		strconv.FormatInt(clean[1]/2, 10) + " bytes)"
	if got := errText(err); got != want {
		t.Errorf("error:\n got: %s\nwant: %s", got, want)
	}
	if u != nil {
		t.Errorf("got a partial result (%d records) with the error", len(u.Records))
	}
	checkStats(t, in, 0, 2, 1)
}

func TestSimulatorExpireTokensBetweenFetches(t *testing.T) {
	in := startSim(t)
	c, _ := newSimClient(t, in, nil)
	want, asOf := expected(t, in, platformID, "THIS_MONTH")
	q := twilio.Query{TimePeriod: twilio.ThisMonth, PageSize: 1000}
	for i := range 2 {
		u, err := c.FetchRecords(t.Context(), platformID, q)
		if err != nil {
			t.Fatalf("fetch %d: %v", i+1, err)
		}
		checkUsage(t, "fetch "+strconv.Itoa(i+1), u, want, asOf, 1)
		in.Server.ExpireTokens()
	}
	// The second fetch's first attempt got 401 and was retried with a fresh
	// token.
	checkStats(t, in, 2, 3, 0)
}

func TestSimulatorBrokenGroupAmongHealthy(t *testing.T) {
	const size = 7
	in := startSim(t)
	in.Server.InjectFault(usagesim.Fault{Kind: usagesim.ServerError, Status: http.StatusInternalServerError, BillingGroup: supportID})
	c, _ := newSimClient(t, in, func(c *twilio.Config) { c.MaxAttempts = 2 })
	groups := usagesim.DemoGroups()
	results := make([]*twilio.Usage, len(groups))
	errs := make([]error, len(groups))
	var wg sync.WaitGroup
	for i, g := range groups {
		wg.Go(func() {
			results[i], errs[i] = c.FetchRecords(t.Context(), g.ID, twilio.Query{TimePeriod: twilio.ThisMonth, PageSize: size})
		})
	}
	wg.Wait()
	wantByGroup := map[string]int{}
	total := 0
	for i, g := range groups {
		if g.ID == supportID {
			want := "twilio: records for " + supportMasked + ": page 1: giving up after 2 attempts: HTTP 500: code 20500: " +
				"Internal Server Error (more info: https://www.twilio.com/docs/errors/20500)"
			if got := errText(errs[i]); got != want {
				t.Errorf("%s error:\n got: %s\nwant: %s", g.Name, got, want)
			}
			if results[i] != nil {
				t.Errorf("%s: partial result with the error", g.Name)
			}
			wantByGroup[g.ID] = 2
			total += 2
			continue
		}
		if errs[i] != nil {
			t.Errorf("%s: %v", g.Name, errs[i])
			continue
		}
		want, asOf := expected(t, in, g.ID, "THIS_MONTH")
		pages := pagesFor(len(want), size)
		checkUsage(t, g.Name, results[i], want, asOf, pages)
		wantByGroup[g.ID] = pages
		total += pages
	}
	// The concurrent fetches share one token.
	checkStats(t, in, 1, total, 2)
	if got := in.Server.Stats().ByGroup; !maps.Equal(got, wantByGroup) {
		t.Errorf("records requests by group %v, want %v", got, wantByGroup)
	}
}

func TestSimulatorObserver(t *testing.T) {
	type call struct {
		endpoint string
		code     int
	}
	tests := []struct {
		name  string
		fault usagesim.Fault
		want  []call
	}{
		{"one 429, then success", usagesim.Fault{Kind: usagesim.RateLimit, Times: 1},
			[]call{{twilio.EndpointToken, 200}, {twilio.EndpointRecords, 429}, {twilio.EndpointRecords, 200}}},
		{"token endpoint down once", usagesim.Fault{Kind: usagesim.TokenDown, Times: 1},
			[]call{{twilio.EndpointToken, 503}, {twilio.EndpointToken, 200}, {twilio.EndpointRecords, 200}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := startSim(t)
			in.Server.InjectFault(tt.fault)
			var mu sync.Mutex
			var got []call
			c, _ := newSimClient(t, in, func(c *twilio.Config) {
				c.Observer = func(endpoint string, code int, d time.Duration) {
					mu.Lock()
					defer mu.Unlock()
					if d < 0 {
						t.Errorf("negative duration %s", d)
					}
					got = append(got, call{endpoint, code})
				}
			})
			u, err := c.FetchRecords(t.Context(), marketingID, twilio.Query{TimePeriod: twilio.ThisMonth, PageSize: 1000})
			if err != nil {
				t.Fatalf("FetchRecords: %v", err)
			}
			want, asOf := expected(t, in, marketingID, "THIS_MONTH")
			checkUsage(t, "result", u, want, asOf, 1)
			mu.Lock()
			defer mu.Unlock()
			if !slices.Equal(got, tt.want) {
				t.Errorf("observed %v\n    want %v", got, tt.want)
			}
		})
	}
}
