package usagesim

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestFaultAnswers(t *testing.T) {
	const (
		rateLimited = `{"code":20429,"message":"Too Many Requests","more_info":"https://www.twilio.com/docs/errors/20429","status":429}`
		unavailable = `{"code":20503,"message":"Service Unavailable","more_info":"https://www.twilio.com/docs/errors/20503","status":503}`
		internal    = `{"code":20500,"message":"Internal Server Error","more_info":"https://www.twilio.com/docs/errors/20500","status":500}`
		expired     = `{"code":20003,"message":"Authenticate: access token expired","more_info":"https://www.twilio.com/docs/errors/20003","status":401}`
		notElig403  = `{"code":71001,"message":"Usage API version not eligible","more_info":"https://www.twilio.com/docs/errors/71001","status":403}`
		notElig400  = `{"code":71001,"message":"Usage API version not eligible","more_info":"https://www.twilio.com/docs/errors/71001","status":400}`
	)
	q := map[string]any{"timePeriod": "THIS_MONTH"}
	tests := []struct {
		name       string
		fault      Fault
		wantStatus int
		wantBody   string // exact; "" = checked by check
		wantHeader map[string]string
		check      func(t *testing.T, a, healthy answer)
	}{
		{name: "RateLimit with Retry-After", fault: Fault{Kind: RateLimit, RetryAfter: "7"}, wantStatus: 429, wantBody: rateLimited,
			wantHeader: map[string]string{"Retry-After": "7"}},
		{name: "RateLimit without Retry-After", fault: Fault{Kind: RateLimit}, wantStatus: 429, wantBody: rateLimited,
			wantHeader: map[string]string{"Retry-After": ""}},
		{name: "ServerError default", fault: Fault{Kind: ServerError}, wantStatus: 503, wantBody: unavailable},
		{name: "ServerError 500", fault: Fault{Kind: ServerError, Status: 500}, wantStatus: 500, wantBody: internal},
		{name: "ExpiredToken", fault: Fault{Kind: ExpiredToken}, wantStatus: 401, wantBody: expired,
			wantHeader: map[string]string{"WWW-Authenticate": `Bearer error="invalid_token"`}},
		{name: "NotEligible default", fault: Fault{Kind: NotEligible}, wantStatus: 403, wantBody: notElig403},
		{name: "NotEligible 400", fault: Fault{Kind: NotEligible, Status: 400}, wantStatus: 400, wantBody: notElig400},
		{name: "ExportNotFound", fault: Fault{Kind: ExportNotFound}, wantStatus: 404,
			wantBody: `{"code":71003,"message":"Usage export not found","more_info":"https://www.twilio.com/docs/errors/71003","status":404}`},
		{name: "StaleData", fault: Fault{Kind: StaleData}, wantStatus: 200, check: func(t *testing.T, a, healthy answer) {
			var stale, now WirePage
			if json.Unmarshal([]byte(a.body), &stale) != nil || json.Unmarshal([]byte(healthy.body), &now) != nil {
				t.Fatalf("bodies %s, %s", a.body, healthy.body)
			}
			if stale.AsOf != "2026-03-14" || now.AsOf != "2026-03-15" || a.body == healthy.body {
				t.Errorf("asOf %s beside %s: want the day before, and other figures", stale.AsOf, now.AsOf)
			}
		}},
		{name: "MalformedJSON", fault: Fault{Kind: MalformedJSON}, wantStatus: 200, check: func(t *testing.T, a, _ answer) {
			if json.Valid([]byte(a.body)) || a.body == "" {
				t.Errorf("body %q is valid JSON", a.body)
			}
		}},
		{name: "TruncatedJSON", fault: Fault{Kind: TruncatedJSON}, wantStatus: 200, check: func(t *testing.T, a, healthy answer) {
			if json.Valid([]byte(a.body)) || len(a.body) != len(healthy.body)/2 || !strings.HasPrefix(healthy.body, a.body) {
				t.Errorf("body %q is not the first half of %q", a.body, healthy.body)
			}
		}},
		{name: "Oversized", fault: Fault{Kind: Oversized, Size: 1 << 20}, wantStatus: 200, check: func(t *testing.T, a, _ answer) {
			var pg WirePage
			if len(a.body) != 1<<20 || json.Unmarshal([]byte(a.body), &pg) != nil || len(pg.Records) < 1000 || a.header.Get("Content-Length") != strconv.Itoa(1<<20) {
				t.Errorf("body of %d bytes (Content-Length %s) with %d records, want valid JSON of %d bytes with many records",
					len(a.body), a.header.Get("Content-Length"), len(pg.Records), 1<<20)
			}
		}},
		{name: "Oversized smaller than a page", fault: Fault{Kind: Oversized, Size: 10}, wantStatus: 200,
			wantBody: `{"asOf":"2026-03-15","records":[],"meta":{"key":"items","pageSize":1000,"previousToken":null,"nextToken":null}}`},
		{name: "BadRecord", fault: Fault{Kind: BadRecord}, wantStatus: 200, check: func(t *testing.T, a, healthy answer) {
			var got, want WirePage
			_ = json.Unmarshal([]byte(a.body), &got)
			_ = json.Unmarshal([]byte(healthy.body), &want)
			if len(got.Records) != len(want.Records) || got.Records[0].Usage.Amount != "abc" {
				t.Fatalf("records %+v, want the healthy ones with the first amount abc", got.Records)
			}
			want.Records[0].Usage.Amount = "abc"
			if b, _ := json.Marshal(want); string(b) != a.body {
				t.Errorf("body %s\nwant %s", a.body, b)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			tok := h.token()
			healthy := h.post(groupA, tok, q)
			h.s.InjectFault(func() Fault { f := tc.fault; f.Times = 1; return f }())
			a := h.post(groupA, tok, q)
			if a.status != tc.wantStatus {
				t.Fatalf("status %d, want %d (body %.200s)", a.status, tc.wantStatus, a.body)
			}
			if tc.wantBody != "" && a.body != tc.wantBody {
				t.Errorf("body %s\nwant %s", a.body, tc.wantBody)
			}
			for k, v := range tc.wantHeader {
				if got := a.header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if tc.check != nil {
				tc.check(t, a, healthy)
			}
			if again := h.post(groupA, tok, q); again.status != 200 || again.body != healthy.body {
				t.Errorf("after its one use the fault still applies: %d %.200s", again.status, again.body)
			}
			if st := h.s.Stats(); st.Faults != 1 || st.RecordsRequests != 3 {
				t.Errorf("stats %+v, want 1 fault in 3 records requests", st)
			}
		})
	}
}

func TestBadRecordOnEmptyPage(t *testing.T) {
	h := newHarness(t, Options{})
	h.s.InjectFault(Fault{Kind: BadRecord})
	pg := h.page(h.post(groupB, h.token(), map[string]any{"timePeriod": "THIS_MONTH", "productCategory": "none"}))
	if len(pg.Records) != 1 || pg.Records[0].Usage.Amount != "abc" || pg.Records[0].Price.Currency != "EUR" {
		t.Errorf("records %+v, want one bad record in EUR", pg.Records)
	}
}

func TestTokenEndpointFaults(t *testing.T) {
	tests := []struct {
		kind       FaultKind
		wantStatus int
		wantBody   string
	}{
		{TokenReject, 401, `{"error":"invalid_client","error_description":"Client authentication failed"}`},
		{TokenDown, 503, `{"error":"temporarily_unavailable","error_description":"The authorization server is temporarily unavailable"}`},
	}
	for _, tc := range tests {
		t.Run(tc.kind.String(), func(t *testing.T) {
			h := newHarness(t, Options{})
			tok := h.token()
			h.s.InjectFault(Fault{Kind: tc.kind, Times: 2})
			form := url.Values{"grant_type": {"client_credentials"}, "client_id": {DefaultClientID}, "client_secret": {DefaultClientSecret}}
			for i := 0; i < 2; i++ {
				if a := h.tokenRequest(form); a.status != tc.wantStatus || a.body != tc.wantBody {
					t.Errorf("try %d: got %d %s\nwant %d %s", i+1, a.status, a.body, tc.wantStatus, tc.wantBody)
				}
			}
			// Records requests are not affected, and the third token request works.
			h.page(h.post(groupA, tok, map[string]any{"timePeriod": "THIS_MONTH"}))
			h.token()
			if st := h.s.Stats(); st.Faults != 2 || st.TokenRequests != 4 {
				t.Errorf("stats %+v, want 2 faults in 4 token requests", st)
			}
		})
	}
}

func TestRepeatingToken(t *testing.T) {
	q := map[string]any{"timePeriod": "THIS_MONTH", "pageSize": 2}
	t.Run("every page", func(t *testing.T) {
		h := newHarness(t, Options{})
		tok := h.token()
		h.s.InjectFault(Fault{Kind: RepeatingToken})
		p1 := h.page(h.post(groupA, tok, q))
		again := h.page(h.post(groupA, tok, merge(q, map[string]any{"pageToken": *p1.Meta.NextToken})))
		if *again.Meta.NextToken != *p1.Meta.NextToken || again.Records[0] != p1.Records[0] {
			t.Errorf("page 1's nextToken leads to %+v, want page 1 again with the same token", again)
		}
	})
	t.Run("page 2 only", func(t *testing.T) {
		h := newHarness(t, Options{})
		tok := h.token()
		h.s.InjectFault(Fault{Kind: RepeatingToken, Page: 2})
		p1 := h.page(h.post(groupA, tok, q))
		p2 := h.page(h.post(groupA, tok, merge(q, map[string]any{"pageToken": *p1.Meta.NextToken})))
		if p2.Meta.NextToken == nil || *p2.Meta.NextToken != *p1.Meta.NextToken {
			t.Errorf("page 2 nextToken %v, want page 1's %s", p2.Meta.NextToken, *p1.Meta.NextToken)
		}
		if p2.Records[0] == p1.Records[0] {
			t.Error("page 2 holds page 1's records")
		}
	})
}

func TestEndlessToken(t *testing.T) {
	h := newHarness(t, Options{})
	tok := h.token()
	h.s.InjectFault(Fault{Kind: EndlessToken, BillingGroup: groupB})
	q := map[string]any{"timePeriod": "THIS_MONTH", "pageSize": 1000}
	seen := map[string]bool{}
	p := merge(q, nil)
	for i := 1; i <= 5; i++ {
		pg := h.page(h.post(groupB, tok, p))
		if pg.Meta.NextToken == nil || seen[*pg.Meta.NextToken] {
			t.Fatalf("page %d nextToken %v, want a fresh one", i, pg.Meta.NextToken)
		}
		if (i == 1) != (len(pg.Records) > 0) {
			t.Errorf("page %d has %d records, want all on page 1 and none after", i, len(pg.Records))
		}
		seen[*pg.Meta.NextToken] = true
		p["pageToken"] = *pg.Meta.NextToken
	}
	if pg := h.page(h.post(groupA, tok, q)); pg.Meta.NextToken != nil {
		t.Errorf("healthy group A got nextToken %v", *pg.Meta.NextToken)
	}
}

func TestFaultScoping(t *testing.T) {
	q := map[string]any{"timePeriod": "THIS_MONTH", "pageSize": 3}
	type step struct {
		group  string
		page   int // 1 or 2
		status int
	}
	tests := []struct {
		name   string
		faults []Fault
		steps  []step
		faulty int // Stats.Faults at the end
	}{
		{"Times 2", []Fault{{Kind: ServerError, Times: 2}},
			[]step{{groupA, 1, 503}, {groupB, 1, 503}, {groupA, 1, 200}}, 2},
		{"Times 0 lasts", []Fault{{Kind: ServerError}},
			[]step{{groupA, 1, 503}, {groupA, 1, 503}, {groupA, 2, 503}, {groupC, 1, 503}}, 4},
		{"page 2 only", []Fault{{Kind: RateLimit, Page: 2, Times: 1}},
			[]step{{groupA, 1, 200}, {groupA, 2, 429}, {groupA, 2, 200}}, 1},
		{"one broken group", []Fault{{Kind: ServerError, BillingGroup: groupB}},
			[]step{{groupA, 1, 200}, {groupB, 1, 503}, {groupC, 1, 200}, {groupB, 2, 503}, {groupA, 2, 200}}, 2},
		{"injection order", []Fault{{Kind: RateLimit, Times: 1}, {Kind: ServerError, Times: 1}, {Kind: NotEligible, Times: 1, BillingGroup: groupC}},
			[]step{{groupA, 1, 429}, {groupA, 1, 503}, {groupA, 1, 200}, {groupC, 1, 403}, {groupC, 1, 200}}, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			tok := h.token()
			// Page 2 tokens, fetched before the faults.
			page2 := map[string]string{}
			for _, g := range []string{groupA, groupB, groupC} {
				page2[g] = *h.page(h.post(g, tok, q)).Meta.NextToken
			}
			h.s.ResetStats()
			for _, f := range tc.faults {
				h.s.InjectFault(f)
			}
			for i, s := range tc.steps {
				p := merge(q, nil)
				if s.page == 2 {
					p["pageToken"] = page2[s.group]
				}
				if a := h.post(s.group, tok, p); a.status != s.status {
					t.Errorf("step %d (%s page %d): status %d, want %d", i+1, s.group, s.page, a.status, s.status)
				}
			}
			if st := h.s.Stats(); st.Faults != tc.faulty || st.RecordsRequests != len(tc.steps) {
				t.Errorf("stats %+v, want %d faults in %d requests", st, tc.faulty, len(tc.steps))
			}
			h.s.ClearFaults()
			for _, g := range []string{groupA, groupB, groupC} {
				h.page(h.post(g, tok, q))
			}
		})
	}
}

// A fault scoped to a timePeriod answers only requests that send it.
func TestFaultScopedToTimePeriod(t *testing.T) {
	h := newHarness(t, Options{})
	tok := h.token()
	h.s.InjectFault(Fault{Kind: ExportNotFound, TimePeriod: "LAST_MONTH"})
	for _, tc := range []struct {
		period string
		status int
	}{{"LAST_MONTH", 404}, {"THIS_MONTH", 200}, {"YESTERDAY", 200}, {"LAST_MONTH", 404}} {
		if a := h.post(groupA, tok, map[string]any{"timePeriod": tc.period}); a.status != tc.status {
			t.Errorf("%s: status %d, want %d", tc.period, a.status, tc.status)
		}
	}
}

// handTimer is an Options.After fired by hand: it reports each delay asked
// for on asked, and fires when the test sends on fire.
type handTimer struct {
	asked chan time.Duration
	fire  chan time.Time
}

func newHandTimer() *handTimer {
	return &handTimer{asked: make(chan time.Duration, 8), fire: make(chan time.Time)}
}

func (h *handTimer) after(d time.Duration) <-chan time.Time {
	h.asked <- d
	return h.fire
}

// sendAsync sends req from another goroutine; the answer (or error) arrives
// on the channel returned.
func sendAsync(h *harness, req *http.Request) <-chan answer {
	out := make(chan answer, 1)
	go func() {
		resp, err := h.ts.Client().Do(req)
		if err != nil {
			out <- answer{body: err.Error()}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		out <- answer{status: resp.StatusCode, body: string(b)}
	}()
	return out
}

// TestSlowFault drives the Slow fault's wait by hand (Options.After): the
// request asks for the fault's delay, is answered only once it has passed,
// and a client that leaves ends the wait.
func TestSlowFault(t *testing.T) {
	recordsReq := func(h *harness, tok string) *http.Request {
		req := h.request(http.MethodPost, recordsPath(groupA), "application/json", `{"timePeriod":"THIS_MONTH"}`)
		req.Header.Set("Authorization", "Bearer "+tok)
		return req
	}
	t.Run("delays the real answer", func(t *testing.T) {
		timer := newHandTimer()
		h := newHarness(t, Options{After: timer.after})
		tok := h.token()
		healthy := h.do(recordsReq(h, tok))
		h.s.InjectFault(Fault{Kind: Slow, Delay: 150 * time.Millisecond, Times: 1})
		answered := sendAsync(h, recordsReq(h, tok))
		if d := <-timer.asked; d != 150*time.Millisecond {
			t.Errorf("the fault waits %v, want 150ms", d)
		}
		timer.fire <- time.Time{} // the delay passes; the request was held until now
		if a := <-answered; a.status != http.StatusOK || a.body != healthy.body {
			t.Errorf("answered %d %.100s, want the healthy answer", a.status, a.body)
		}
	})
	t.Run("combines with another fault", func(t *testing.T) {
		timer := newHandTimer()
		h := newHarness(t, Options{After: timer.after})
		tok := h.token()
		h.s.InjectFault(Fault{Kind: Slow, Delay: 50 * time.Millisecond, Times: 1})
		h.s.InjectFault(Fault{Kind: RateLimit, Times: 1})
		answered := sendAsync(h, recordsReq(h, tok))
		if d := <-timer.asked; d != 50*time.Millisecond {
			t.Errorf("the fault waits %v, want 50ms", d)
		}
		timer.fire <- time.Time{}
		if a := <-answered; a.status != http.StatusTooManyRequests {
			t.Errorf("answered %d, want 429 after the delay", a.status)
		}
	})
	t.Run("honours cancellation", func(t *testing.T) {
		timer := newHandTimer() // never fired
		h := newHarness(t, Options{After: timer.after})
		tok := h.token()
		h.s.InjectFault(Fault{Kind: Slow, Delay: time.Minute})
		ctx, cancel := context.WithCancel(context.Background())
		answered := sendAsync(h, recordsReq(h, tok).WithContext(ctx))
		<-timer.asked
		cancel() // the client leaves while the fault waits
		if a := <-answered; !strings.Contains(a.body, context.Canceled.Error()) {
			t.Errorf("answered %d %q, want the client's cancellation", a.status, a.body)
		}
		// httptest's Close waits for the handler: it returns only if the
		// slow handler stopped waiting when the client left.
		h.ts.Close()
	})
}

func TestFaultKindString(t *testing.T) {
	for k, want := range map[FaultKind]string{RateLimit: "RateLimit", BadRecord: "BadRecord", TokenDown: "TokenDown", 0: "FaultKind(0)", 99: "FaultKind(99)"} {
		if got := k.String(); got != want {
			t.Errorf("FaultKind(%d).String() = %q, want %q", int(k), got, want)
		}
	}
}

// Options.ErrorShape answers every Twilio error of the records endpoint, and
// the token endpoint's rate limit, in the shape asked for, keeping status and
// Retry-After; OAuth errors keep the OAuth shape.
func TestErrorShapes(t *testing.T) {
	for _, tc := range []struct {
		shape ErrorShape
		want  string
	}{
		{ErrorsAsSent, `{"code":20429,"message":"Too Many Requests","more_info":"https://www.twilio.com/docs/errors/20429","status":429}`},
		{ErrorsNewer, `{"code":20429,"message":"Too Many Requests","moreInfo":"https://www.twilio.com/docs/errors/20429","httpStatusCode":429,"userError":true}`},
		{ErrorsList, `{"errors":[{"code":20429,"message":"Too Many Requests","infoUrl":"https://www.twilio.com/docs/errors/20429","context":{}}]}`},
	} {
		t.Run(tc.shape.String(), func(t *testing.T) {
			h := newHarness(t, Options{ErrorShape: tc.shape})
			tok := h.token()
			h.s.InjectFault(Fault{Kind: RateLimit, RetryAfter: "45", Times: 1})
			a := h.post(groupA, tok, map[string]any{"timePeriod": "THIS_MONTH"})
			if a.status != 429 || a.body != tc.want || a.header.Get("Retry-After") != "45" {
				t.Errorf("records: %d %s (Retry-After %q), want 429 %s", a.status, a.body, a.header.Get("Retry-After"), tc.want)
			}
			h.s.InjectFault(Fault{Kind: TokenRateLimit, RetryAfter: "45", Times: 1})
			a = h.tokenRequest(url.Values{"grant_type": {"client_credentials"}, "client_id": {DefaultClientID}, "client_secret": {DefaultClientSecret}})
			if a.status != 429 || a.body != tc.want || a.header.Get("Retry-After") != "45" {
				t.Errorf("token: %d %s, want 429 %s", a.status, a.body, tc.want)
			}
			h.s.InjectFault(Fault{Kind: TokenScopeRefused, Times: 1})
			a = h.tokenRequest(url.Values{"grant_type": {"client_credentials"}, "client_id": {DefaultClientID}, "client_secret": {DefaultClientSecret}})
			if a.status != 400 || !strings.Contains(a.body, `"error":"invalid_scope"`) {
				t.Errorf("token scope: %d %s", a.status, a.body)
			}
			for kind, code := range map[FaultKind]string{SubjectNotEligible: `"code":71002`, ScopeMissing: `"code":70051`, ExportNotFound: `"code":71003`} {
				h.s.InjectFault(Fault{Kind: kind, Times: 1})
				if a := h.post(groupA, tok, map[string]any{"timePeriod": "THIS_MONTH"}); a.status < 400 || !strings.Contains(a.body, code) {
					t.Errorf("%s: %d %s", kind, a.status, a.body)
				}
			}
		})
	}
}
