package usagesim

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func TestValidationErrors(t *testing.T) {
	h := newHarness(t, Options{})
	tok := h.token()
	// A valid token for page 2 of THIS_MONTH with pageSize 2.
	first := h.page(h.post(groupA, tok, map[string]any{"timePeriod": "THIS_MONTH", "pageSize": 2}))
	if first.Meta.NextToken == nil {
		t.Fatal("THIS_MONTH with pageSize 2 has one page; the test needs more")
	}
	next := *first.Meta.NextToken
	garbage := base64.RawURLEncoding.EncodeToString([]byte(`{"page":0,"query":"x"}`))
	tests := []struct {
		name        string
		contentType string
		body        string
		want        string
	}{
		{"timePeriod with startDate", "application/json", `{"timePeriod":"THIS_MONTH","startDate":"2026-03-01"}`,
			userErrorBody("timePeriod cannot be combined with startDate or endDate", `{"startDate":"2026-03-01","timePeriod":"THIS_MONTH"}`)},
		{"timePeriod with both dates", "application/json", `{"timePeriod":"YESTERDAY","startDate":"2026-03-01","endDate":"2026-03-02"}`,
			userErrorBody("timePeriod cannot be combined with startDate or endDate", `{"endDate":"2026-03-02","startDate":"2026-03-01","timePeriod":"YESTERDAY"}`)},
		{"unknown timePeriod", "application/json", `{"timePeriod":"LAST_WEEK"}`,
			userErrorBody("Invalid timePeriod: must be one of YESTERDAY, THIS_MONTH, LAST_MONTH, THIS_YEAR", `{"timePeriod":"LAST_WEEK"}`)},
		{"lower-case timePeriod", "application/json", `{"timePeriod":"this_month"}`,
			userErrorBody("Invalid timePeriod: must be one of YESTERDAY, THIS_MONTH, LAST_MONTH, THIS_YEAR", `{"timePeriod":"this_month"}`)},
		{"unknown aggregationPeriod", "application/json", `{"timePeriod":"THIS_MONTH","aggregationPeriod":"WEEKLY"}`,
			userErrorBody("Invalid aggregationPeriod: must be one of DAILY, MONTHLY", `{"aggregationPeriod":"WEEKLY"}`)},
		{"malformed startDate", "application/json", `{"startDate":"2026-3-01","endDate":"2026-03-02"}`,
			userErrorBody("Invalid startDate: must be a date formatted YYYY-MM-DD", `{"startDate":"2026-3-01"}`)},
		{"malformed endDate", "application/json", `{"startDate":"2026-03-01","endDate":"2026-02-30"}`,
			userErrorBody("Invalid endDate: must be a date formatted YYYY-MM-DD", `{"endDate":"2026-02-30"}`)},
		{"end before start", "application/json", `{"startDate":"2026-03-02","endDate":"2026-03-01"}`,
			userErrorBody("endDate must not be before startDate", `{"endDate":"2026-03-01","startDate":"2026-03-02"}`)},
		{"range of 366 days", "application/json", `{"startDate":"2025-03-01","endDate":"2026-03-01"}`,
			userErrorBody("Date range must not exceed 365 days", `{"endDate":"2026-03-01","startDate":"2025-03-01"}`)},
		{"no period", "application/json", `{"pageSize":10}`,
			userErrorBody("Either timePeriod or both startDate and endDate are required", `{}`)},
		{"empty body", "", ``,
			userErrorBody("Either timePeriod or both startDate and endDate are required", `{}`)},
		{"only startDate", "application/json", `{"startDate":"2026-03-01"}`,
			userErrorBody("startDate and endDate must be given together", `{"startDate":"2026-03-01"}`)},
		{"pageSize 0", "application/json", `{"timePeriod":"THIS_MONTH","pageSize":0}`,
			userErrorBody("Invalid pageSize: must be an integer from 1 to 1000", `{"pageSize":"0"}`)},
		{"pageSize 1001", "application/json", `{"timePeriod":"THIS_MONTH","pageSize":1001}`,
			userErrorBody("Invalid pageSize: must be an integer from 1 to 1000", `{"pageSize":"1001"}`)},
		{"pageSize fraction", "application/json", `{"timePeriod":"THIS_MONTH","pageSize":2.5}`,
			userErrorBody("Invalid pageSize: must be an integer from 1 to 1000", `{"pageSize":"2.5"}`)},
		{"pageSize text", "application/json", `{"timePeriod":"THIS_MONTH","pageSize":"ten"}`,
			userErrorBody("Invalid pageSize: must be an integer from 1 to 1000", `{"pageSize":"ten"}`)},
		{"pageSize boolean", "application/json", `{"timePeriod":"THIS_MONTH","pageSize":true}`,
			userErrorBody("Invalid pageSize: must be an integer from 1 to 1000", `{"pageSize":"true"}`)},
		{"timePeriod number", "application/json", `{"timePeriod":["THIS_MONTH"]}`,
			userErrorBody("Invalid timePeriod: must be a string", `{"timePeriod":"[\"THIS_MONTH\"]"}`)},
		{"pageToken not base64", "application/json", `{"timePeriod":"THIS_MONTH","pageSize":2,"pageToken":"%%%"}`,
			userErrorBody("Invalid pageToken: must be a token returned for the same query", `{"pageToken":"%%%"}`)},
		{"pageToken page 0", "application/json", `{"timePeriod":"THIS_MONTH","pageSize":2,"pageToken":"` + garbage + `"}`,
			userErrorBody("Invalid pageToken: must be a token returned for the same query", `{"pageToken":"`+garbage+`"}`)},
		{"pageToken of another period", "application/json", `{"timePeriod":"LAST_MONTH","pageSize":2,"pageToken":"` + next + `"}`,
			userErrorBody("Invalid pageToken: must be a token returned for the same query", `{"pageToken":"`+next+`"}`)},
		{"pageToken of another pageSize", "application/json", `{"timePeriod":"THIS_MONTH","pageSize":3,"pageToken":"` + next + `"}`,
			userErrorBody("Invalid pageToken: must be a token returned for the same query", `{"pageToken":"`+next+`"}`)},
		{"pageToken of another filter", "application/json", `{"timePeriod":"THIS_MONTH","pageSize":2,"productCategory":"sms-outbound","pageToken":"` + next + `"}`,
			userErrorBody("Invalid pageToken: must be a token returned for the same query", `{"pageToken":"`+next+`"}`)},
		{"malformed JSON", "application/json", `{"timePeriod":`,
			userErrorBody("Invalid request body: must be a JSON object", `{}`)},
		{"JSON array", "application/json", `["THIS_MONTH"]`,
			userErrorBody("Invalid request body: must be a JSON object", `{}`)},
		{"unsupported content type", "text/plain", `timePeriod=THIS_MONTH`,
			userErrorBody("Unsupported Content-Type: send application/json or application/x-www-form-urlencoded", `{"Content-Type":"text/plain"}`)},
		{"form body error", "application/x-www-form-urlencoded", `timePeriod=NEXT_MONTH`,
			userErrorBody("Invalid timePeriod: must be one of YESTERDAY, THIS_MONTH, LAST_MONTH, THIS_YEAR", `{"timePeriod":"NEXT_MONTH"}`)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := h.request(http.MethodPost, recordsPath(groupA), tc.contentType, tc.body)
			req.Header.Set("Authorization", "Bearer "+tok)
			a := h.do(req)
			if a.status != http.StatusBadRequest || a.body != tc.want {
				t.Errorf("got %d %s\nwant 400 %s", a.status, a.body, tc.want)
			}
		})
	}
	t.Run("same token of another group", func(t *testing.T) {
		a := h.post(groupB, tok, map[string]any{"timePeriod": "THIS_MONTH", "pageSize": 2, "pageToken": next})
		want := userErrorBody("Invalid pageToken: must be a token returned for the same query", `{"pageToken":"`+next+`"}`)
		if a.status != http.StatusBadRequest || a.body != want {
			t.Errorf("got %d %s\nwant 400 %s", a.status, a.body, want)
		}
	})
	t.Run("query string error", func(t *testing.T) {
		req := h.request(http.MethodPost, recordsPath(groupA)+"?startDate=2026-01-01&endDate=2026-13-01", "", "")
		req.Header.Set("Authorization", "Bearer "+tok)
		a := h.do(req)
		want := userErrorBody("Invalid endDate: must be a date formatted YYYY-MM-DD", `{"endDate":"2026-13-01"}`)
		if a.status != http.StatusBadRequest || a.body != want {
			t.Errorf("got %d %s\nwant 400 %s", a.status, a.body, want)
		}
	})
}

func TestRangeLimits(t *testing.T) {
	h := newHarness(t, Options{})
	tok := h.token()
	for _, tc := range []struct{ start, end string }{
		{"2025-03-16", "2026-03-15"}, // exactly 365 days
		{"2026-03-15", "2026-03-15"}, // one day
		{"2026-04-01", "2026-04-30"}, // all in the future: no records
	} {
		pg := h.page(h.post(groupA, tok, map[string]any{"startDate": tc.start, "endDate": tc.end}))
		if tc.start > "2026-03-15" && len(pg.Records) != 0 {
			t.Errorf("%s..%s: %d records, want none", tc.start, tc.end, len(pg.Records))
		}
	}
}

func TestNotFoundAndMethods(t *testing.T) {
	h := newHarness(t, Options{})
	tok := h.token()
	tests := []struct {
		name, method, path string
		wantStatus         int
		wantBody           string
		wantAllow          string
	}{
		{"unknown group", http.MethodPost, recordsPath("commerce_billingprofile_NOPE9"), 404,
			`{"code":20404,"message":"The requested resource /v2/Usage/BillingGroups/commerce_billingprofile_NOPE9/Records was not found","more_info":"https://www.twilio.com/docs/errors/20404","status":404}`, ""},
		{"unknown path", http.MethodPost, "/v2/Usage/Records", 404,
			`{"code":20404,"message":"The requested resource /v2/Usage/Records was not found","more_info":"https://www.twilio.com/docs/errors/20404","status":404}`, ""},
		{"GET records", http.MethodGet, recordsPath(groupA), 405,
			`{"code":20004,"message":"Method not allowed","more_info":"https://www.twilio.com/docs/errors/20004","status":405}`, "POST"},
		{"PUT records", http.MethodPut, recordsPath(groupA), 405,
			`{"code":20004,"message":"Method not allowed","more_info":"https://www.twilio.com/docs/errors/20004","status":405}`, "POST"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := h.request(tc.method, tc.path, "application/json", `{"timePeriod":"THIS_MONTH"}`)
			req.Header.Set("Authorization", "Bearer "+tok)
			a := h.do(req)
			if a.status != tc.wantStatus || a.body != tc.wantBody {
				t.Errorf("got %d %s\nwant %d %s", a.status, a.body, tc.wantStatus, tc.wantBody)
			}
			if got := a.header.Get("Allow"); got != tc.wantAllow {
				t.Errorf("Allow = %q, want %q", got, tc.wantAllow)
			}
		})
	}
}

func TestParameterTransportsAgree(t *testing.T) {
	h := newHarness(t, Options{})
	tok := h.token()
	send := func(query, contentType, body string) string {
		req := h.request(http.MethodPost, recordsPath(groupA)+query, contentType, body)
		req.Header.Set("Authorization", "Bearer "+tok)
		a := h.do(req)
		if a.status != http.StatusOK {
			t.Fatalf("status %d: %s", a.status, a.body)
		}
		return a.body
	}
	for _, params := range []url.Values{
		{"timePeriod": {"THIS_MONTH"}, "pageSize": {"4"}},
		{"startDate": {"2026-02-20"}, "endDate": {"2026-03-02"}, "aggregationPeriod": {"DAILY"}, "pageSize": {"7"}, "productCategory": {"sms-outbound"}},
	} {
		var js []string
		for k := range params {
			v := `"` + params.Get(k) + `"`
			if k == "pageSize" {
				v = params.Get(k) // a JSON number
			}
			js = append(js, `"`+k+`":`+v)
		}
		jsonNumber := "{" + strings.Join(js, ",") + "}"
		jsonString := strings.Replace(jsonNumber, `"pageSize":`+params.Get("pageSize"), `"pageSize":"`+params.Get("pageSize")+`"`, 1)
		want := send("", "application/json", jsonNumber)
		for name, got := range map[string]string{
			"JSON with string pageSize": send("", "application/json; charset=utf-8", jsonString),
			"query string":              send("?"+params.Encode(), "", ""),
			"form body":                 send("", "application/x-www-form-urlencoded", params.Encode()),
		} {
			if got != want {
				t.Errorf("%v by %s:\n%s\nwant (JSON):\n%s", params, name, got, want)
			}
		}
		// Following the next token by another transport gives the same page.
		pg := h.page(answer{status: 200, body: want})
		if pg.Meta.NextToken == nil {
			t.Fatalf("%v: want more than one page", params)
		}
		p2 := url.Values{}
		for k, v := range params {
			p2[k] = v
		}
		p2.Set("pageToken", *pg.Meta.NextToken)
		byForm := send("", "application/x-www-form-urlencoded", p2.Encode())
		byQuery := send("?"+p2.Encode(), "", "")
		if byForm != byQuery {
			t.Errorf("page 2 differs by form and query:\n%s\n%s", byForm, byQuery)
		}
	}
}

func TestPagination(t *testing.T) {
	h := newHarness(t, Options{DefaultPageSize: 5})
	tok := h.token()
	for _, q := range []map[string]any{
		{"timePeriod": "THIS_MONTH"},
		{"timePeriod": "THIS_MONTH", "aggregationPeriod": "DAILY"},
		{"timePeriod": "LAST_MONTH", "aggregationPeriod": "DAILY"},
		{"startDate": "2026-01-10", "endDate": "2026-02-05", "aggregationPeriod": "DAILY", "productCategory": "whatsapp-outbound"},
	} {
		full := h.page(h.post(groupA, tok, merge(q, map[string]any{"pageSize": 1000})))
		if full.Meta.NextToken != nil || full.Meta.PreviousToken != nil {
			t.Fatalf("%v: single page has tokens %v %v", q, full.Meta.NextToken, full.Meta.PreviousToken)
		}
		for _, size := range []int{0, 1, 3, 7, 1000} {
			qs := merge(q, nil)
			wantSize := 5
			if size > 0 {
				qs["pageSize"] = size
				wantSize = size
			}
			recs, pages := h.walk(groupA, tok, qs)
			if !reflect.DeepEqual(recs, full.Records) {
				t.Errorf("%v pageSize %d: pages hold %d records, want the %d of one page in order", q, size, len(recs), len(full.Records))
			}
			wantPages := max(1, (len(full.Records)+wantSize-1)/wantSize)
			if len(pages) != wantPages {
				t.Errorf("%v pageSize %d: %d pages, want %d", q, size, len(pages), wantPages)
			}
			seen := map[string]bool{}
			for i, pg := range pages {
				if pg.Meta.PageSize != wantSize || pg.Meta.Key != "items" {
					t.Errorf("page %d meta = %+v, want pageSize %d key items", i+1, pg.Meta, wantSize)
				}
				if (i == 0) != (pg.Meta.PreviousToken == nil) {
					t.Errorf("page %d previousToken = %v", i+1, pg.Meta.PreviousToken)
				}
				// The token that fetched page i-1 is the nextToken of page i-2.
				if i > 1 && *pg.Meta.PreviousToken != *pages[i-2].Meta.NextToken {
					t.Errorf("page %d previousToken is not the token of page %d", i+1, i)
				}
				if pg.Meta.NextToken != nil {
					if seen[*pg.Meta.NextToken] {
						t.Errorf("page %d repeats a nextToken", i+1)
					}
					seen[*pg.Meta.NextToken] = true
				}
			}
		}
	}
}

func TestPreviousTokenFetchesPreviousPage(t *testing.T) {
	h := newHarness(t, Options{})
	tok := h.token()
	q := map[string]any{"timePeriod": "THIS_MONTH", "pageSize": 2}
	p1 := h.page(h.post(groupA, tok, q))
	p2 := h.page(h.post(groupA, tok, merge(q, map[string]any{"pageToken": *p1.Meta.NextToken})))
	p3 := h.page(h.post(groupA, tok, merge(q, map[string]any{"pageToken": *p2.Meta.NextToken})))
	back := h.page(h.post(groupA, tok, merge(q, map[string]any{"pageToken": *p3.Meta.PreviousToken})))
	if !reflect.DeepEqual(back, p2) {
		t.Errorf("previousToken of page 3 gave %+v, want page 2 %+v", back, p2)
	}
	if !strings.Contains(h.post(groupA, tok, q).body, `"previousToken":null`) {
		t.Error(`page 1 does not carry "previousToken":null`)
	}
}

func TestLastPageNextTokenIsNull(t *testing.T) {
	h := newHarness(t, Options{})
	a := h.post(groupA, h.token(), map[string]any{"timePeriod": "THIS_MONTH"})
	if !strings.HasSuffix(a.body, `"meta":{"key":"items","pageSize":50,"previousToken":null,"nextToken":null}}`) {
		t.Errorf("body ends %q", a.body[max(0, len(a.body)-120):])
	}
}

func TestProductCategoryFilter(t *testing.T) {
	h := newHarness(t, Options{})
	tok := h.token()
	all := h.page(h.post(groupA, tok, map[string]any{"timePeriod": "THIS_MONTH"})).Records
	for _, tc := range []struct {
		category string
		want     int
	}{
		{"sms-outbound", 2},
		{"whatsapp-outbound", 2},
		{"no-such-category", 0},
	} {
		got := h.page(h.post(groupA, tok, map[string]any{"timePeriod": "THIS_MONTH", "productCategory": tc.category})).Records
		var want []WireRecord
		for _, r := range all {
			if r.ProductCategory == tc.category {
				want = append(want, r)
			}
		}
		if len(got) != tc.want || (tc.want > 0 && !reflect.DeepEqual(got, want)) {
			t.Errorf("%s: got %+v\nwant %d records %+v", tc.category, got, tc.want, want)
		}
	}
}

func TestRecordsMatchesServedData(t *testing.T) {
	h := newHarness(t, Options{})
	tok := h.token()
	for _, g := range testGroups() {
		for _, period := range []string{"YESTERDAY", "THIS_MONTH", "LAST_MONTH", "THIS_YEAR"} {
			want, asOf := h.s.Records(g.ID, period)
			pg := h.page(h.post(g.ID, tok, map[string]any{"timePeriod": period, "pageSize": 1000}))
			if asOf != "2026-03-15" || pg.AsOf != asOf {
				t.Errorf("asOf = %q and %q, want 2026-03-15", asOf, pg.AsOf)
			}
			if len(want) == 0 || !reflect.DeepEqual(pg.Records, want) {
				t.Errorf("%s %s: served %+v\nRecords %+v", g.Name, period, pg.Records, want)
			}
		}
	}
	if recs, _ := h.s.Records("commerce_billingprofile_NOPE", "THIS_MONTH"); recs != nil {
		t.Errorf("unknown group: %v, want nil", recs)
	}
	if recs, _ := h.s.Records(groupA, "LAST_WEEK"); recs != nil {
		t.Errorf("unknown period: %v, want nil", recs)
	}
}

// merge returns a copy of a with b's entries added.
func merge(a, b map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}
