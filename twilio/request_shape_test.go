package twilio_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/twilio"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim/simtest"
)

// These tests run the client against simulators that answer as the APIs
// Twilio's docs allow: parameters read from one place only, the page token
// under another name, continuations that must carry the token alone.

// startSimWith is startSim with edited options.
func startSimWith(t *testing.T, edit func(*usagesim.Options)) *usagesim.Instance {
	t.Helper()
	opts := usagesim.Options{
		ClientID:     simClientID,
		ClientSecret: simClientSecret,
		Now:          func() time.Time { return simNow },
	}
	edit(&opts)
	return simtest.Start(t, usagesim.New(opts))
}

// learnings collects what a client reports through Config.Learned.
type learnings struct {
	mu  sync.Mutex
	got []twilio.Learned
}

func (l *learnings) add(x twilio.Learned) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.got = append(l.got, x)
}

func (l *learnings) all() []twilio.Learned {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]twilio.Learned(nil), l.got...)
}

func TestTransportAutoDetectsEncoding(t *testing.T) {
	for _, tc := range []struct {
		from usagesim.ParamSource
		want twilio.Encoding
		// refused lists the encodings tried before the one honoured.
		refused []twilio.Encoding
	}{
		{usagesim.ParamsAnywhere, twilio.EncodingJSON, nil},
		{usagesim.ParamsQueryOnly, twilio.EncodingQuery, []twilio.Encoding{twilio.EncodingJSON}},
		{usagesim.ParamsJSONOnly, twilio.EncodingJSON, nil},
		{usagesim.ParamsFormOnly, twilio.EncodingForm, []twilio.Encoding{twilio.EncodingJSON, twilio.EncodingQuery}},
	} {
		t.Run(tc.from.String(), func(t *testing.T) {
			in := startSimWith(t, func(o *usagesim.Options) { o.Params = tc.from })
			var l learnings
			c, _ := newSimClient(t, in, func(c *twilio.Config) {
				c.Encoding = twilio.EncodingAuto
				c.Learned = l.add
			})
			if got := c.RequestShape(); got.Setting != twilio.EncodingAuto || got.Encoding != "" || got.Detection != nil {
				t.Fatalf("before any fetch: %+v, want auto and nothing learnt", got)
			}
			// Three groups at once: one detection, whichever group asks first.
			want := map[string][]twilio.Record{}
			for _, id := range []string{marketingID, supportID, platformID} {
				want[id], _ = expected(t, in, id, "THIS_MONTH")
			}
			_, asOf := expected(t, in, supportID, "THIS_MONTH")
			pages := 0
			var mu sync.Mutex
			var wg sync.WaitGroup
			for id := range want {
				wg.Add(1)
				go func() {
					defer wg.Done()
					u, err := c.FetchRecords(t.Context(), id, twilio.Query{TimePeriod: twilio.ThisMonth, PageSize: 7})
					if err != nil {
						t.Errorf("%s: %v", id, err)
						return
					}
					checkUsage(t, id, u, want[id], asOf, pagesFor(len(want[id]), 7))
					mu.Lock()
					pages += u.Pages
					mu.Unlock()
				}()
			}
			wg.Wait()
			detection := len(tc.refused) + 1
			checkStats(t, in, 1, detection+pages, 0)

			got := c.RequestShape()
			if got.Encoding != tc.want || got.Detection == nil || !got.Detection.Honoured {
				t.Fatalf("learnt %+v, want %s honoured", got, tc.want)
			}
			trials := got.Detection.Trials
			if len(trials) != detection {
				t.Fatalf("trials %+v, want %d", trials, detection)
			}
			for i, enc := range tc.refused {
				if tr := trials[i]; tr.Encoding != enc || tr.Status != 400 || tr.Honoured || !strings.Contains(tr.Detail, "HTTP 400") {
					t.Errorf("trial %d: %+v, want %s refused with HTTP 400", i, tr, enc)
				}
			}
			if tr := trials[detection-1]; tr.Encoding != tc.want || tr.Status != 200 || tr.Detail != "meta.pageSize 1" {
				t.Errorf("last trial %+v, want %s answered with meta.pageSize 1", tr, tc.want)
			}
			if ls := l.all(); len(ls) != 1 || ls[0].Detection != got.Detection || ls[0].Continuation != nil {
				t.Errorf("Learned was told %+v, want the detection once", ls)
			}

			// Learnt once per client: the next fetch sends its pages only.
			in.Server.ResetStats()
			u, err := c.FetchRecords(t.Context(), supportID, twilio.Query{TimePeriod: twilio.ThisMonth, PageSize: 7})
			if err != nil {
				t.Fatal(err)
			}
			checkStats(t, in, 0, u.Pages, 0)
		})
	}
}

// An explicit encoding is used as it is: no detection request, and a wrong
// one fails with the API's refusal.
func TestTransportExplicitEncodingSkipsDetection(t *testing.T) {
	in := startSimWith(t, func(o *usagesim.Options) { o.Params = usagesim.ParamsQueryOnly })
	want, asOf := expected(t, in, supportID, "THIS_MONTH")
	c, _ := newSimClient(t, in, func(c *twilio.Config) { c.Encoding = twilio.EncodingQuery })
	u, err := c.FetchRecords(t.Context(), supportID, twilio.Query{TimePeriod: twilio.ThisMonth, PageSize: 7})
	if err != nil {
		t.Fatal(err)
	}
	checkUsage(t, "query", u, want, asOf, pagesFor(len(want), 7))
	checkStats(t, in, 1, u.Pages, 0)
	if got := c.RequestShape(); got.Setting != twilio.EncodingQuery || got.Encoding != twilio.EncodingQuery || got.Detection != nil {
		t.Errorf("RequestShape %+v, want query as configured", got)
	}

	in.Server.ResetStats()
	c, _ = newSimClient(t, in, func(c *twilio.Config) { c.Encoding = twilio.EncodingJSON })
	_, err = c.FetchRecords(t.Context(), supportID, twilio.Query{TimePeriod: twilio.ThisMonth})
	wantErr := "twilio: records for " + supportMasked + ": page 1: HTTP 400: code 20001: Either timePeriod or both startDate and endDate are required"
	if errText(err) != wantErr {
		t.Errorf("json against a query-only API:\n got %s\nwant %s", errText(err), wantErr)
	}
	checkStats(t, in, 1, 1, 0)
}

// A detection that fails for another reason than the encoding is not
// remembered: the next fetch detects again.
func TestTransportDetectionRetriedAfterFailure(t *testing.T) {
	in := startSimWith(t, func(o *usagesim.Options) { o.Params = usagesim.ParamsQueryOnly })
	c, _ := newSimClient(t, in, func(c *twilio.Config) {
		c.Encoding = twilio.EncodingAuto
		c.MaxAttempts = 1
	})
	in.Server.InjectFault(usagesim.Fault{Kind: usagesim.ServerError, Times: 1})
	_, err := c.FetchRecords(t.Context(), supportID, twilio.Query{TimePeriod: twilio.ThisMonth})
	wantErr := "twilio: records for " + supportMasked + ": detect request encoding: json: giving up after 1 attempt: HTTP 503: code 20503: Service Unavailable (more info: https://www.twilio.com/docs/errors/20503)"
	if errText(err) != wantErr {
		t.Fatalf("got %s\nwant %s", errText(err), wantErr)
	}
	if got := c.RequestShape(); got.Encoding != "" {
		t.Fatalf("a failed detection was remembered: %+v", got)
	}
	want, asOf := expected(t, in, supportID, "THIS_MONTH")
	u, err := c.FetchRecords(t.Context(), supportID, twilio.Query{TimePeriod: twilio.ThisMonth, PageSize: 7})
	if err != nil {
		t.Fatal(err)
	}
	checkUsage(t, "after the failure", u, want, asOf, pagesFor(len(want), 7))
	if got := c.RequestShape(); got.Encoding != twilio.EncodingQuery {
		t.Errorf("learnt %+v, want query", got)
	}
}

// The page token parameter is a setting: the default name against an API
// that calls it otherwise gets page 1 again and stops at the repeated token;
// the right name fetches everything.
func TestTransportPageTokenParam(t *testing.T) {
	in := startSimWith(t, func(o *usagesim.Options) { o.PageTokenParam = "nextPageToken" })
	want, asOf := expected(t, in, supportID, "THIS_MONTH")
	q := twilio.Query{TimePeriod: twilio.ThisMonth, PageSize: 7}

	c, _ := newSimClient(t, in, nil)
	_, err := c.FetchRecords(t.Context(), supportID, q)
	wantErr := "twilio: records for " + supportMasked + ": page 2: meta.nextToken repeats the one page 1 returned; stopping to avoid an endless loop"
	if errText(err) != wantErr {
		t.Errorf("default name:\n got %s\nwant %s", errText(err), wantErr)
	}

	for _, enc := range []twilio.Encoding{twilio.EncodingJSON, twilio.EncodingQuery, twilio.EncodingForm} {
		c, _ = newSimClient(t, in, func(c *twilio.Config) {
			c.PageTokenParam = "nextPageToken"
			c.Encoding = enc
		})
		u, err := c.FetchRecords(t.Context(), supportID, q)
		if err != nil {
			t.Fatalf("%s: %v", enc, err)
		}
		checkUsage(t, string(enc), u, want, asOf, pagesFor(len(want), 7))
	}
}

// A continuation refused because it repeats the query is sent again the
// next ways until the token alone works, once; from then on continuations
// send the token alone.
func TestTransportTokenAlone(t *testing.T) {
	in := startSimWith(t, func(o *usagesim.Options) { o.TokenAlone = true })
	want, asOf := expected(t, in, supportID, "THIS_MONTH")
	for _, tc := range []struct {
		enc     twilio.Encoding
		refused int // continuations refused before the token alone works
	}{
		// The query's parameters repeated, with and without the token's
		// copy in the query string.
		{twilio.EncodingJSON, 2},
		// The token is in the query string anyway: one way fewer.
		{twilio.EncodingQuery, 1},
		{twilio.EncodingForm, 2},
	} {
		t.Run(string(tc.enc), func(t *testing.T) {
			in.Server.ResetStats()
			var l learnings
			c, waits := newSimClient(t, in, func(c *twilio.Config) {
				c.Encoding = tc.enc
				c.Learned = l.add
			})
			q := twilio.Query{TimePeriod: twilio.ThisMonth, PageSize: 7}
			u, err := c.FetchRecords(t.Context(), supportID, q)
			if err != nil {
				t.Fatal(err)
			}
			pages := pagesFor(len(want), 7)
			checkUsage(t, "first fetch", u, want, asOf, pages)
			checkStats(t, in, 1, pages+tc.refused, 0)
			if w := waits.got(); len(w) != 0 {
				t.Errorf("waited %v: a refusal is not retried with backoff", w)
			}
			ls := l.all()
			if len(ls) != 1 || ls[0].Continuation == nil || *ls[0].Continuation != (twilio.Continuation{TokenAlone: true}) ||
				ls[0].BillingGroup != supportID ||
				!strings.Contains(ls[0].Refusal, "HTTP 400: code 20001: Invalid request: a page token must be sent alone") {
				t.Errorf("Learned was told %+v, want the token-alone finding once with the refusal", ls)
			}
			if got := c.RequestShape().Continuation; got != (twilio.Continuation{TokenAlone: true}) {
				t.Errorf("RequestShape().Continuation is %+v after learning the token alone", got)
			}

			in.Server.ResetStats()
			u, err = c.FetchRecords(t.Context(), marketingID, q)
			if err != nil {
				t.Fatal(err)
			}
			wantM, _ := expected(t, in, marketingID, "THIS_MONTH")
			checkUsage(t, "second fetch", u, wantM, asOf, pagesFor(len(wantM), 7))
			checkStats(t, in, 0, u.Pages, 0)
			if len(l.all()) != 1 {
				t.Errorf("Learned told again: %+v", l.all())
			}
		})
	}
}

// An API that reads its filters from a body but the page token only from
// the query string, where Twilio's SDKs send it: the default continuation
// carries the token there too, so every encoding pages to the end with no
// request refused and nothing to learn. Sent only where the encoding puts
// parameters, the token is ignored and page 1 comes again.
func TestTransportTokenReadFromQueryString(t *testing.T) {
	for _, from := range []usagesim.ParamSource{usagesim.ParamsAnywhere, usagesim.ParamsJSONOnly, usagesim.ParamsFormOnly} {
		t.Run(from.String(), func(t *testing.T) {
			in := startSimWith(t, func(o *usagesim.Options) {
				o.Params = from
				o.TokenInQuery = true
			})
			var l learnings
			c, _ := newSimClient(t, in, func(c *twilio.Config) {
				c.Encoding = twilio.EncodingAuto
				c.Learned = l.add
			})
			for _, id := range []string{supportID, marketingID} {
				for _, period := range []twilio.TimePeriod{twilio.ThisMonth, twilio.LastMonth, twilio.ThisYear} {
					in.Server.ResetStats()
					u, err := c.FetchRecords(t.Context(), id, twilio.Query{TimePeriod: period, PageSize: 3})
					if err != nil {
						t.Fatalf("%s %s: %v", id, period, err)
					}
					want, asOf := expected(t, in, id, string(period))
					checkUsage(t, string(period), u, want, asOf, pagesFor(len(want), 3))
				}
			}
			for _, x := range l.all() {
				if x.Continuation != nil {
					t.Errorf("learnt %+v: no continuation was refused", x)
				}
			}
			if got := c.RequestShape().Continuation; got != (twilio.Continuation{}) {
				t.Errorf("RequestShape().Continuation %+v, want the default", got)
			}

			// The token only in the body: page 1 again.
			q := twilio.Query{TimePeriod: twilio.ThisMonth, PageSize: 3}
			first, err := c.FetchPage(t.Context(), supportID, q, twilio.PageOptions{})
			if err != nil {
				t.Fatal(err)
			}
			again, err := c.FetchPage(t.Context(), supportID, q, twilio.PageOptions{
				Token: first.NextToken, Continuation: twilio.Continuation{TokenNotInQuery: true}})
			if err != nil {
				t.Fatal(err)
			}
			if again.NextToken != first.NextToken {
				t.Errorf("the token in the body alone reached the API: next token %q after %q", again.NextToken, first.NextToken)
			}
		})
	}
}

// An API that refuses a query string beside a body: the token's copy in the
// query string is dropped after the first refusal, once, and the figures
// are exact.
func TestTransportQueryStringRefused(t *testing.T) {
	in := startSimWith(t, func(o *usagesim.Options) { o.RefuseQueryWithBody = true })
	want, asOf := expected(t, in, supportID, "THIS_MONTH")
	for _, enc := range []twilio.Encoding{twilio.EncodingJSON, twilio.EncodingForm} {
		t.Run(string(enc), func(t *testing.T) {
			in.Server.ResetStats()
			var l learnings
			c, _ := newSimClient(t, in, func(c *twilio.Config) {
				c.Encoding = enc
				c.Learned = l.add
			})
			q := twilio.Query{TimePeriod: twilio.ThisMonth, PageSize: 7}
			u, err := c.FetchRecords(t.Context(), supportID, q)
			if err != nil {
				t.Fatal(err)
			}
			pages := pagesFor(len(want), 7)
			checkUsage(t, "first fetch", u, want, asOf, pages)
			checkStats(t, in, 1, pages+1, 0)
			ls := l.all()
			if len(ls) != 1 || ls[0].Continuation == nil || *ls[0].Continuation != (twilio.Continuation{TokenNotInQuery: true}) ||
				!strings.Contains(ls[0].Refusal, "not both") {
				t.Errorf("Learned was told %+v, want the token kept out of the query string, once", ls)
			}
			in.Server.ResetStats()
			if _, err := c.FetchRecords(t.Context(), supportID, q); err != nil {
				t.Fatal(err)
			}
			checkStats(t, in, 0, pages, 0)
		})
	}
}

// FetchPage sends exactly what it is asked: a continuation refused is not
// sent again with the token alone.
func TestFetchPageSendsAsAsked(t *testing.T) {
	in := startSimWith(t, func(o *usagesim.Options) { o.TokenAlone = true })
	c, _ := newSimClient(t, in, nil)
	q := twilio.Query{TimePeriod: twilio.ThisMonth, PageSize: 7}
	first, err := c.FetchPage(t.Context(), supportID, q, twilio.PageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want, asOf := expected(t, in, supportID, "THIS_MONTH")
	checkRecords(t, "page 1", first.Records, want[:7])
	if first.NextToken == "" || !first.AsOf.Equal(asOf) {
		t.Fatalf("page 1: next token %q, asOf %s", first.NextToken, first.AsOf)
	}
	in.Server.ResetStats()
	_, err = c.FetchPage(t.Context(), supportID, q, twilio.PageOptions{Token: first.NextToken})
	wantErr := "twilio: records for " + supportMasked + ": HTTP 400: code 20001: Invalid request: a page token must be sent alone, it carries the query's parameters"
	if errText(err) != wantErr {
		t.Fatalf("got %s\nwant %s", errText(err), wantErr)
	}
	second, err := c.FetchPage(t.Context(), supportID, q, twilio.PageOptions{Token: first.NextToken, Continuation: twilio.Continuation{TokenAlone: true}})
	if err != nil {
		t.Fatal(err)
	}
	checkRecords(t, "page 2", second.Records, want[7:min(14, len(want))])
	checkStats(t, in, 0, 2, 0)
	if got := c.RequestShape().Continuation; got != (twilio.Continuation{}) {
		t.Errorf("FetchPage taught the client to send continuations with %s", got)
	}
}

// An API that reads the query string only and answers a request naming no
// period with this month's first page: a JSON client's parameters are
// ignored, so whatever it asks it gets this month in the API's page size
// (the token it also sends in the query string continues that); auto sees
// pageSize ignored in the body and learns the query string.
func TestTransportQueryOnlyWithDefaultPeriod(t *testing.T) {
	in := startSimWith(t, func(o *usagesim.Options) {
		o.Params = usagesim.ParamsQueryOnly
		o.DefaultTimePeriod = "THIS_MONTH"
		o.DefaultPageSize = 10
	})
	thisMonth, asOf := expected(t, in, supportID, "THIS_MONTH")
	c, _ := newSimClient(t, in, func(c *twilio.Config) { c.Encoding = twilio.EncodingJSON })
	u, err := c.FetchRecords(t.Context(), supportID, twilio.Query{TimePeriod: twilio.LastMonth, PageSize: 7})
	if err != nil {
		t.Fatal(err)
	}
	// The collector's period rule refuses these rows for last month.
	checkUsage(t, "json", u, thisMonth, asOf, pagesFor(len(thisMonth), 10))

	c, _ = newSimClient(t, in, func(c *twilio.Config) { c.Encoding = twilio.EncodingAuto })
	u, err = c.FetchRecords(t.Context(), supportID, twilio.Query{TimePeriod: twilio.ThisMonth, PageSize: 7})
	if err != nil {
		t.Fatal(err)
	}
	checkUsage(t, "auto", u, thisMonth, asOf, pagesFor(len(thisMonth), 7))
	d := c.RequestShape().Detection
	if d == nil || d.Encoding != twilio.EncodingQuery || len(d.Trials) != 2 ||
		d.Trials[0] != (twilio.EncodingTrial{Encoding: twilio.EncodingJSON, Period: twilio.ThisMonth, Status: 200, Detail: "meta.pageSize 10"}) {
		t.Errorf("detection %+v, want json answered with meta.pageSize 10, then query", d)
	}
}
