package twilio

import (
	"fmt"
	"strings"
	"testing"
)

// An API that answers every encoding but honours pageSize in none: the
// client says so and falls back to JSON, once.
func TestDetectNoneHonoured(t *testing.T) {
	f := newFakeAPI(t)
	three := []string{recordJSON("sms", `"1"`, "1"), recordJSON("mms", `"1"`, "1"), recordJSON("voice", `"1"`, "1")}
	f.records = func(int, seenRequest) reply { return reply{body: pageJSON("2025-01-31", "", three...)} }
	var learnt []Learned
	c, _ := newTestClient(t, f, func(c *Config) {
		c.Encoding = EncodingAuto
		c.Learned = func(l Learned) { learnt = append(learnt, l) }
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
		{ContentType: "application/json", Body: `{"timePeriod":"LAST_MONTH","pageSize":1}`},
		{RawQuery: "pageSize=1&timePeriod=LAST_MONTH"},
		{ContentType: "application/x-www-form-urlencoded", Body: "pageSize=1&timePeriod=LAST_MONTH"},
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
		if tr.Status != 200 || tr.Honoured || tr.Detail != "meta.pageSize 20" {
			t.Errorf("trial %d: %+v, want 200 not honoured (meta.pageSize 20)", i, tr)
		}
	}
	if tr := c.Transport(); tr.Encoding != EncodingJSON || tr.Detection != d {
		t.Errorf("Transport %+v", tr)
	}
}

func TestJudgePageSize(t *testing.T) {
	rec := recordJSON("sms", `"1"`, "1")
	for _, tc := range []struct {
		body     string
		honoured bool
		detail   string
	}{
		{`{"records":[],"meta":{"pageSize":1}}`, true, "meta.pageSize 1"},
		{`{"records":[],"meta":{"pageSize":"1"}}`, true, "meta.pageSize 1"},
		{`{"records":[],"meta":{"pageSize":50}}`, false, "meta.pageSize 50"},
		{`{"records":[` + rec + `],"meta":{"nextToken":"t"}}`, true, "1 record and a next page"},
		{`{"items":[` + rec + `],"meta":{"key":"items","nextToken":"t"}}`, true, "1 record and a next page"},
		{`{"records":[` + rec + `,` + rec + `],"meta":{}}`, false, "2 records on a page of 1"},
		{`{"records":[` + rec + `],"meta":{}}`, false, "1 records, no next page and no meta.pageSize: the page size cannot be seen"},
		{`{"meta":{}}`, false, "the answer has neither meta.pageSize nor a records array"},
		{`[]`, false, "the answer is not a Records page: is a JSON array, want an object"},
	} {
		h, d := judgePageSize([]byte(tc.body))
		if h != tc.honoured || d != tc.detail {
			t.Errorf("%s: %v %q, want %v %q", tc.body, h, d, tc.honoured, tc.detail)
		}
	}
}

// A continuation refused with and without the query fails, naming both
// answers, and nothing is learnt.
func TestTokenAloneRefusedToo(t *testing.T) {
	f := newFakeAPI(t)
	f.records = func(n int, r seenRequest) reply {
		if n == 1 {
			return reply{body: pageJSON("2025-01-31", "tok2", recordJSON("sms", `"1"`, "1"))}
		}
		return reply{status: 400, body: fmt.Sprintf(`{"code":20001,"message":"refused %d","status":400}`, n)}
	}
	var learnt []Learned
	c, _ := newTestClient(t, f, func(c *Config) { c.Learned = func(l Learned) { learnt = append(learnt, l) } })
	_, err := c.FetchRecords(t.Context(), testID, thisMonth)
	assertErr(t, err, "twilio: records for "+testMasked+": page 2: HTTP 400: code 20001: refused 2; sent again with the page token alone: HTTP 400: code 20001: refused 3")
	reqs := f.recordRequests()
	if len(reqs) != 3 || reqs[1].Body != `{"timePeriod":"THIS_MONTH","aggregationPeriod":"MONTHLY","pageToken":"tok2"}` || reqs[2].Body != `{"pageToken":"tok2"}` {
		t.Fatalf("requests %+v", reqs)
	}
	if len(learnt) != 0 || c.Transport().TokenAlone {
		t.Errorf("learnt %+v from a refusal of both", learnt)
	}
	// A refusal other than 400 is not sent again.
	f.records = func(n int, r seenRequest) reply {
		if !strings.Contains(r.Body, "pageToken") {
			return reply{body: pageJSON("2025-01-31", "tok2", recordJSON("sms", `"1"`, "1"))}
		}
		return reply{status: 404, body: `{"code":20404,"message":"gone","status":404}`}
	}
	_, err = c.FetchRecords(t.Context(), testID, thisMonth)
	assertErr(t, err, "twilio: records for "+testMasked+": page 2: HTTP 404: code 20404: gone")
	if n := len(f.recordRequests()); n != 5 {
		t.Errorf("%d requests in all, want 5", n)
	}
}
