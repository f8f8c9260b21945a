package usagesim

import (
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// send posts a records request for groupA with the parameters in the query
// string, a JSON body or a form body.
func (h *harness) send(token, where string, params url.Values) answer {
	h.t.Helper()
	path, ct, body := recordsPath(groupA), "", ""
	switch where {
	case "query":
		path += "?" + params.Encode()
	case "json":
		m := map[string]any{}
		for k := range params {
			m[k] = params.Get(k)
		}
		ct, body = "application/json", string(mustJSON(m))
	case "form":
		ct, body = "application/x-www-form-urlencoded", params.Encode()
	}
	req := h.request(http.MethodPost, path, ct, body)
	req.Header.Set("Authorization", "Bearer "+token)
	return h.do(req)
}

func TestParamSources(t *testing.T) {
	const noPeriod = "Either timePeriod or both startDate and endDate are required"
	const badType = "Unsupported Content-Type: send application/json or application/x-www-form-urlencoded"
	params := url.Values{"timePeriod": {"THIS_MONTH"}, "pageSize": {"1"}}
	for _, tc := range []struct {
		from ParamSource
		// want is the answer per place: "" a page of 1, else the 400 message.
		want map[string]string
	}{
		{ParamsAnywhere, map[string]string{"query": "", "json": "", "form": ""}},
		{ParamsQueryOnly, map[string]string{"query": "", "json": noPeriod, "form": noPeriod}},
		{ParamsJSONOnly, map[string]string{"query": noPeriod, "json": "", "form": badType}},
		{ParamsFormOnly, map[string]string{"query": noPeriod, "json": badType, "form": ""}},
	} {
		t.Run(tc.from.String(), func(t *testing.T) {
			h := newHarness(t, Options{Params: tc.from})
			tok := h.token()
			for _, where := range []string{"query", "json", "form"} {
				a := h.send(tok, where, params)
				if msg := tc.want[where]; msg != "" {
					if a.status != http.StatusBadRequest || !strings.Contains(a.body, `"message":"`+msg+`"`) {
						t.Errorf("%s: %d %s, want 400 %q", where, a.status, a.body, msg)
					}
					continue
				}
				if p := h.page(a); len(p.Records) != 1 || p.Meta.PageSize != 1 || p.Meta.NextToken == nil {
					t.Errorf("%s: %d records, meta %+v; want a page of 1 with a next page", where, len(p.Records), p.Meta)
				}
			}
		})
	}
}

func TestPageTokenParamOption(t *testing.T) {
	h := newHarness(t, Options{PageTokenParam: "nextPageToken"})
	tok := h.token()
	first := h.page(h.post(groupA, tok, map[string]any{"timePeriod": "THIS_MONTH", "pageSize": 1}))
	// Under the default name the token is an unknown parameter: page 1 again.
	again := h.page(h.post(groupA, tok, map[string]any{"timePeriod": "THIS_MONTH", "pageSize": 1, "pageToken": *first.Meta.NextToken}))
	if *again.Meta.NextToken != *first.Meta.NextToken || !reflect.DeepEqual(again.Records[0], first.Records[0]) {
		t.Errorf("pageToken was read: got %+v", again.Meta)
	}
	second := h.page(h.post(groupA, tok, map[string]any{"timePeriod": "THIS_MONTH", "pageSize": 1, "nextPageToken": *first.Meta.NextToken}))
	if second.Meta.PreviousToken == nil || reflect.DeepEqual(second.Records[0], first.Records[0]) {
		t.Errorf("nextPageToken was not read: got %+v", second.Meta)
	}
}

func TestTokenAloneOption(t *testing.T) {
	h := newHarness(t, Options{TokenAlone: true})
	tok := h.token()
	q := map[string]any{"timePeriod": "THIS_MONTH", "pageSize": 2, "productCategory": ""}
	want, _ := h.walk(groupA, tok, map[string]any{"timePeriod": "THIS_MONTH", "pageSize": 1000})
	first := h.page(h.post(groupA, tok, q))
	q["pageToken"] = *first.Meta.NextToken
	a := h.post(groupA, tok, q)
	if a.status != http.StatusBadRequest || a.body != userErrorBody(msgTokenAlone, `{"pageSize":"2","timePeriod":"THIS_MONTH"}`) {
		t.Fatalf("continuation with the query: %d %s", a.status, a.body)
	}
	got := first.Records
	next := first.Meta.NextToken
	for next != nil {
		p := h.page(h.post(groupA, tok, map[string]any{"pageToken": *next}))
		got = append(got, p.Records...)
		next = p.Meta.NextToken
	}
	if len(got) != len(want) {
		t.Fatalf("token alone walked %d records, want %d", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("record %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	// A token alone that no page issued is refused as before.
	a = h.post(groupA, tok, map[string]any{"pageToken": encodePageToken(2, "0123456789abcdef")})
	if a.status != http.StatusBadRequest {
		t.Errorf("unknown token alone: %d %s", a.status, a.body)
	}
}

func TestDefaultTimePeriodOption(t *testing.T) {
	h := newHarness(t, Options{DefaultTimePeriod: "LAST_MONTH"})
	tok := h.token()
	got, _ := h.walk(groupA, tok, map[string]any{})
	want, _ := h.walk(groupA, tok, map[string]any{"timePeriod": "LAST_MONTH"})
	if len(got) == 0 || len(got) != len(want) || !reflect.DeepEqual(got[0], want[0]) {
		t.Errorf("no period: %d records, want last month's %d", len(got), len(want))
	}
}

// TokenInQuery reads the page token from the query string only, whatever
// carries the other parameters: the token in a JSON body alone is ignored
// (page 1 again), in the query string it continues.
func TestTokenInQueryOption(t *testing.T) {
	h := newHarness(t, Options{TokenInQuery: true})
	tok := h.token()
	q := map[string]any{"timePeriod": "THIS_MONTH", "pageSize": 1}
	first := h.page(h.post(groupA, tok, q))
	q["pageToken"] = *first.Meta.NextToken
	again := h.page(h.post(groupA, tok, q))
	if again.Meta.PreviousToken != nil || !reflect.DeepEqual(again.Records, first.Records) {
		t.Errorf("the token in the body was read: %+v", again.Meta)
	}
	b := mustJSON(q)
	req := h.request(http.MethodPost, recordsPath(groupA)+"?pageToken="+url.QueryEscape(*first.Meta.NextToken), "application/json", string(b))
	req.Header.Set("Authorization", "Bearer "+tok)
	second := h.page(h.do(req))
	if second.Meta.PreviousToken == nil || reflect.DeepEqual(second.Records, first.Records) {
		t.Errorf("the token in the query string was not read: %+v", second.Meta)
	}
}

// RefuseQueryWithBody refuses a query string beside a body, and nothing
// else.
func TestRefuseQueryWithBodyOption(t *testing.T) {
	h := newHarness(t, Options{RefuseQueryWithBody: true})
	tok := h.token()
	req := h.request(http.MethodPost, recordsPath(groupA)+"?pageToken=x", "application/json", `{"timePeriod":"THIS_MONTH"}`)
	req.Header.Set("Authorization", "Bearer "+tok)
	if a := h.do(req); a.status != http.StatusBadRequest || !strings.Contains(a.body, `"message":"`+msgQueryWithBody+`"`) {
		t.Errorf("query string and body: %d %s", a.status, a.body)
	}
	h.page(h.post(groupA, tok, map[string]any{"timePeriod": "THIS_MONTH"}))
	h.page(h.send(tok, "query", url.Values{"timePeriod": {"THIS_MONTH"}}))
}
