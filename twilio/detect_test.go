package twilio

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// An API that answers every encoding but honours pageSize in none: the
// client says so and falls back to JSON. The outcome is not kept for the
// client's lifetime: the group that found it keeps the fallback for
// redetectAfter, and another group detects for itself.
func TestDetectNoneHonoured(t *testing.T) {
	f := newFakeAPI(t)
	three := []string{recordJSON("sms", `"1"`, "1"), recordJSON("mms", `"1"`, "1"), recordJSON("voice", `"1"`, "1")}
	f.records = func(int, seenRequest) reply { return reply{body: pageJSON("2025-01-31", "", three...)} }
	var learnt []Learned
	now := time.Date(2025, 1, 31, 12, 0, 0, 0, time.UTC)
	c, _ := newTestClient(t, f, func(c *Config) {
		c.Encoding = EncodingAuto
		c.Learned = func(l Learned) { learnt = append(learnt, l) }
		c.Now = func() time.Time { return now }
	})
	for range 2 {
		u, err := c.FetchRecords(t.Context(), testID, thisMonth)
		if err != nil {
			t.Fatal(err)
		}
		if len(u.Records) != 3 {
			t.Fatalf("%d records, want 3", len(u.Records))
		}
	}
	reqs := f.recordRequests()
	if len(reqs) != 3+2 {
		t.Fatalf("%d records requests, want 3 to detect and 2 fetches", len(reqs))
	}
	wantReqs := []seenRequest{
		{ContentType: "application/json", Body: `{"timePeriod":"THIS_MONTH","pageSize":1}`},
		{RawQuery: "pageSize=1&timePeriod=THIS_MONTH"},
		{ContentType: "application/x-www-form-urlencoded", Body: "pageSize=1&timePeriod=THIS_MONTH"},
		{ContentType: "application/json", Body: `{"timePeriod":"THIS_MONTH","aggregationPeriod":"MONTHLY"}`},
		{ContentType: "application/json", Body: `{"timePeriod":"THIS_MONTH","aggregationPeriod":"MONTHLY"}`},
	}
	for i, w := range wantReqs {
		if r := reqs[i]; r.ContentType != w.ContentType || r.Body != w.Body || r.RawQuery != w.RawQuery {
			t.Errorf("request %d: content type %q, body %q, query %q; want %q, %q, %q",
				i, r.ContentType, r.Body, r.RawQuery, w.ContentType, w.Body, w.RawQuery)
		}
	}
	if len(learnt) != 1 || learnt[0].Detection == nil {
		t.Fatalf("Learned told %+v, want one detection", learnt)
	}
	d := learnt[0].Detection
	if d.Encoding != EncodingJSON || d.Honoured || len(d.Trials) != 3 {
		t.Fatalf("detection %+v, want the json fallback after 3 trials", d)
	}
	for i, tr := range d.Trials {
		if tr.Status != 200 || tr.Honoured || tr.Detail != "meta.pageSize 20" || tr.Period != ThisMonth {
			t.Errorf("trial %d: %+v, want this month answered 200, not honoured (meta.pageSize 20)", i, tr)
		}
	}
	if tr := c.RequestShape(); tr.Encoding != EncodingJSON || tr.Detection != d {
		t.Errorf("RequestShape %+v", tr)
	}

	// Another group detects for itself: 3 more requests and the fetch.
	other := "commerce_billingprofile_OTHER1"
	if _, err := c.FetchRecords(t.Context(), other, thisMonth); err != nil {
		t.Fatal(err)
	}
	if n := len(f.recordRequests()); n != 5+3+1 {
		t.Errorf("%d requests after another group's fetch, want 9", n)
	}
	// The first group detects again once redetectAfter has passed.
	now = now.Add(redetectAfter)
	if _, err := c.FetchRecords(t.Context(), testID, thisMonth); err != nil {
		t.Fatal(err)
	}
	if n := len(f.recordRequests()); n != 9+3+1 {
		t.Errorf("%d requests after redetectAfter, want 13", n)
	}
	if len(learnt) != 3 {
		t.Errorf("Learned told %d times, want once per detection (3)", len(learnt))
	}
}

// Detection asks last month when this month cannot tell (too few records)
// or is refused as a period (71003, 404): one period not ready or too new
// decides nothing, and a refusal of one period does not fail detection.
func TestDetectFallsBackToLastMonth(t *testing.T) {
	one := recordJSON("sms", `"1"`, "1")
	for _, tc := range []struct {
		name      string
		thisMonth reply
	}{
		{"too few records", reply{body: `{"asOf":"2025-01-31","records":[` + one + `],"meta":{}}`}},
		{"export not found", reply{status: 404, body: `{"code":71003,"message":"Usage export not found","status":404}`}},
		{"not found", reply{status: 404, body: `{"code":20404,"message":"Not found","status":404}`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAPI(t)
			f.records = func(_ int, r seenRequest) reply {
				switch {
				case strings.Contains(r.Body, "THIS_MONTH"):
					return tc.thisMonth
				case strings.Contains(r.Body, "LAST_MONTH"):
					return reply{body: `{"asOf":"2025-01-31","records":[` + one + `],"meta":{"pageSize":1,"nextToken":"t"}}`}
				}
				return reply{status: 400, body: `{"code":20001,"message":"send JSON","status":400}`}
			}
			c, _ := newTestClient(t, f, nil)
			d, err := c.Detect(t.Context(), testID)
			if err != nil {
				t.Fatal(err)
			}
			if !d.Honoured || d.Encoding != EncodingJSON || len(d.Trials) != 1 {
				t.Fatalf("detection %+v, want json honoured", d)
			}
			if tr := d.Trials[0]; tr.Period != LastMonth || tr.Detail != "meta.pageSize 1" {
				t.Errorf("trial %+v, want the verdict from last month", tr)
			}
			if n := len(f.recordRequests()); n != 2 {
				t.Errorf("%d requests, want this month then last month", n)
			}
		})
	}
}

func TestJudgePageSize(t *testing.T) {
	rec := recordJSON("sms", `"1"`, "1")
	for _, tc := range []struct {
		body     string
		honoured bool
		seen     bool // the answer could tell
		detail   string
	}{
		{`{"records":[],"meta":{"pageSize":1}}`, true, true, "meta.pageSize 1"},
		{`{"records":[],"meta":{"pageSize":"1"}}`, true, true, "meta.pageSize 1"},
		{`{"records":[],"meta":{"pageSize":50}}`, false, true, "meta.pageSize 50"},
		{`{"records":[` + rec + `],"meta":{"nextToken":"t"}}`, true, true, "1 record and a next page"},
		{`{"items":[` + rec + `],"meta":{"key":"items","nextToken":"t"}}`, true, true, "1 record and a next page"},
		{`{"records":[` + rec + `,` + rec + `],"meta":{}}`, false, true, "2 records on a page of 1"},
		{`{"records":[` + rec + `],"meta":{}}`, false, false, "1 records, no next page and no meta.pageSize: the page size cannot be seen"},
		{`{"meta":{}}`, false, false, "the answer has neither meta.pageSize nor a records array"},
		{`[]`, false, false, "the answer is not a Records page: is a JSON array, want an object"},
	} {
		h, seen, d := judgePageSize([]byte(tc.body))
		if h != tc.honoured || seen != tc.seen || d != tc.detail {
			t.Errorf("%s: %v %v %q, want %v %v %q", tc.body, h, seen, d, tc.honoured, tc.seen, tc.detail)
		}
	}
}

// A continuation refused with and without the query fails, naming both
// answers, and nothing is learnt.
func TestTokenAloneRefusedToo(t *testing.T) {
	f := newFakeAPI(t)
	f.records = func(n int, _ seenRequest) reply {
		if n == 1 {
			return reply{body: pageJSON("2025-01-31", "tok2", recordJSON("sms", `"1"`, "1"))}
		}
		return reply{status: 400, body: fmt.Sprintf(`{"code":20001,"message":"refused %d","status":400}`, n)}
	}
	var learnt []Learned
	c, _ := newTestClient(t, f, func(c *Config) { c.Learned = func(l Learned) { learnt = append(learnt, l) } })
	_, err := c.FetchRecords(t.Context(), testID, thisMonth)
	assertErr(t, err, "twilio: records for "+testMasked+": page 2: HTTP 400: code 20001: refused 2"+
		"; sent again with the query's parameters repeated, the token only where the encoding puts parameters: HTTP 400: code 20001: refused 3"+
		"; sent again with the page token alone, the token also in the query string: HTTP 400: code 20001: refused 4"+
		"; sent again with the page token alone, the token only where the encoding puts parameters: HTTP 400: code 20001: refused 5")
	reqs := f.recordRequests()
	want := []seenRequest{
		{Body: `{"timePeriod":"THIS_MONTH","aggregationPeriod":"MONTHLY"}`},
		{Body: `{"timePeriod":"THIS_MONTH","aggregationPeriod":"MONTHLY","pageToken":"tok2"}`, RawQuery: "pageToken=tok2"},
		{Body: `{"timePeriod":"THIS_MONTH","aggregationPeriod":"MONTHLY","pageToken":"tok2"}`},
		{Body: `{"pageToken":"tok2"}`, RawQuery: "pageToken=tok2"},
		{Body: `{"pageToken":"tok2"}`},
	}
	if len(reqs) != len(want) {
		t.Fatalf("%d requests, want %d", len(reqs), len(want))
	}
	for i, w := range want {
		if reqs[i].Body != w.Body || reqs[i].RawQuery != w.RawQuery {
			t.Errorf("request %d: body %s query %q, want %s %q", i+1, reqs[i].Body, reqs[i].RawQuery, w.Body, w.RawQuery)
		}
	}
	if len(learnt) != 0 || c.RequestShape().Continuation != (Continuation{}) {
		t.Errorf("learnt %+v from a refusal of both", learnt)
	}
	// A refusal other than 400 is not sent again.
	f.records = func(_ int, r seenRequest) reply {
		if !strings.Contains(r.Body, "pageToken") {
			return reply{body: pageJSON("2025-01-31", "tok2", recordJSON("sms", `"1"`, "1"))}
		}
		return reply{status: 404, body: `{"code":20404,"message":"gone","status":404}`}
	}
	_, err = c.FetchRecords(t.Context(), testID, thisMonth)
	assertErr(t, err, "twilio: records for "+testMasked+": page 2: HTTP 404: code 20404: gone")
	if n := len(f.recordRequests()); n != 7 {
		t.Errorf("%d requests in all, want 7", n)
	}
}
