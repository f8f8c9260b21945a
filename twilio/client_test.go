package twilio

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestNewConfigErrors(t *testing.T) {
	valid := func() Config {
		return Config{APIURL: "https://api.example.test", ClientID: testClient, ClientSecret: testSecret}
	}
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"valid", func(*Config) {}, "<nil>"},
		{"no API URL", func(c *Config) { c.APIURL = "" }, "twilio: config: APIURL is required"},
		{"relative API URL", func(c *Config) { c.APIURL = "/v2" }, `twilio: config: APIURL "/v2" is not an absolute http(s) URL`},
		{"ftp API URL", func(c *Config) { c.APIURL = "ftp://h.test" }, `twilio: config: APIURL "ftp://h.test" is not an absolute http(s) URL`},
		{"unparseable API URL", func(c *Config) { c.APIURL = "http://h.test/%zz" }, "twilio: config: APIURL is not a valid URL"},
		{"API URL with query", func(c *Config) { c.APIURL = "https://h.test/?a=b" },
			`twilio: config: APIURL "https://h.test/?a=b" must not have a query or fragment (give the base URL only)`},
		{"API URL with a password, not quoted", func(c *Config) { c.APIURL = "https://u:pw@h.test" },
			"twilio: config: APIURL must not contain a user name or password (set client_id and client_secret instead)"},
		{"bad token URL", func(c *Config) { c.TokenURL = "oauth.twilio.com/v2/token" },
			`twilio: config: TokenURL "oauth.twilio.com/v2/token" is not an absolute http(s) URL`},
		{"no client ID", func(c *Config) { c.ClientID = "" }, "twilio: config: ClientID is required"},
		{"no client secret", func(c *Config) { c.ClientSecret = "" }, "twilio: config: ClientSecret is required"},
		{"encoding", func(c *Config) { c.Encoding = "xml" }, `twilio: config: Encoding: "xml" is not one of auto, json, query, form`},
		{"page token param with a space", func(c *Config) { c.PageTokenParam = "page token" },
			`twilio: config: PageTokenParam: "page token" is not a parameter name (want up to 64 letters, digits, _ - or ., starting with a letter)`},
		{"page token param taken", func(c *Config) { c.PageTokenParam = "pageSize" },
			`twilio: config: PageTokenParam: "pageSize" is a query parameter already`},
		{"max pages", func(c *Config) { c.MaxPages = -1 }, "twilio: config: MaxPages -1 is negative"},
		{"max body", func(c *Config) { c.MaxBodyBytes = -1 }, "twilio: config: MaxBodyBytes -1 is negative"},
		{"max attempts", func(c *Config) { c.MaxAttempts = -2 }, "twilio: config: MaxAttempts -2 is negative"},
		{"min backoff", func(c *Config) { c.MinBackoff = -time.Second }, "twilio: config: MinBackoff -1s is negative"},
		{"max backoff", func(c *Config) { c.MaxBackoff = -time.Second }, "twilio: config: MaxBackoff -1s is negative"},
		{"backoff order", func(c *Config) { c.MinBackoff = time.Minute },
			"twilio: config: MinBackoff 1m0s is greater than MaxBackoff 30s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid()
			tt.edit(&cfg)
			c, err := New(cfg)
			assertErr(t, err, tt.want)
			if (c == nil) == (err == nil) {
				t.Errorf("client %v with error %v", c, err)
			}
			if err != nil && strings.Contains(err.Error(), testSecret) {
				t.Errorf("error contains the secret: %v", err)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	c, err := New(Config{APIURL: "https://api.example.test/", ClientID: testClient, ClientSecret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	got := []any{c.encoding, c.tokenParam, c.maxPages, c.maxBody, c.maxAttempts, c.minBackoff, c.maxBackoff,
		c.userAgent, c.http.Timeout, c.tokens.conf.TokenURL}
	want := []any{EncodingJSON, "pageToken", 1000, int64(16 << 20), 4, 500 * time.Millisecond, 30 * time.Second,
		"twilio_billing_exporter", 30 * time.Second, "https://oauth.twilio.com/v2/token"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("defaults\n got %v\nwant %v", got, want)
	}
}

func TestRequestEncoding(t *testing.T) {
	q := Query{StartDate: "2025-01-01", EndDate: "2025-01-31", ProductCategory: "sms & mms", AggregationPeriod: Daily, PageSize: 2}
	tests := []struct {
		encoding    Encoding
		contentType string
		bodies      [2]string
		queries     [2]string
	}{
		{EncodingJSON, "application/json", [2]string{
			`{"startDate":"2025-01-01","endDate":"2025-01-31","productCategory":"sms \u0026 mms","aggregationPeriod":"DAILY","pageSize":2}`,
			`{"startDate":"2025-01-01","endDate":"2025-01-31","productCategory":"sms \u0026 mms","aggregationPeriod":"DAILY","pageSize":2,"pageToken":"p2/+="}`,
		}, [2]string{"", "pageToken=p2%2F%2B%3D"}}, // the token in the query string too, where Twilio's SDKs send it
		{EncodingQuery, "", [2]string{"", ""}, [2]string{
			"aggregationPeriod=DAILY&endDate=2025-01-31&pageSize=2&productCategory=sms+%26+mms&startDate=2025-01-01",
			"aggregationPeriod=DAILY&endDate=2025-01-31&pageSize=2&pageToken=p2%2F%2B%3D&productCategory=sms+%26+mms&startDate=2025-01-01",
		}},
		{EncodingForm, "application/x-www-form-urlencoded", [2]string{
			"aggregationPeriod=DAILY&endDate=2025-01-31&pageSize=2&productCategory=sms+%26+mms&startDate=2025-01-01",
			"aggregationPeriod=DAILY&endDate=2025-01-31&pageSize=2&pageToken=p2%2F%2B%3D&productCategory=sms+%26+mms&startDate=2025-01-01",
		}, [2]string{"", "pageToken=p2%2F%2B%3D"}},
	}
	for _, tt := range tests {
		t.Run(string(tt.encoding), func(t *testing.T) {
			f := newFakeAPI(t)
			f.records = func(n int, _ seenRequest) reply {
				if n == 1 {
					return reply{body: pageJSON("2025-01-31", "p2/+=")}
				}
				return reply{body: pageJSON("2025-01-31", "")}
			}
			c, _ := newTestClient(t, f, func(c *Config) { c.Encoding = tt.encoding; c.APIURL = f.srv.URL + "/base/" })
			if _, err := c.FetchRecords(t.Context(), testID, q); err != nil {
				t.Fatal(err)
			}
			reqs := f.recordRequests()
			if len(reqs) != 2 {
				t.Fatalf("got %d requests, want 2", len(reqs))
			}
			for i, r := range reqs {
				want := seenRequest{
					Method: "POST", Path: "/base/v2/Usage/BillingGroups/" + testID + "/Records",
					EscapedPath: "/base/v2/Usage/BillingGroups/" + testID + "/Records",
					RawQuery:    tt.queries[i], ContentType: tt.contentType, Body: tt.bodies[i],
					Auth: "Bearer tok-1", UserAgent: "twilio_billing_exporter",
				}
				if r != want {
					t.Errorf("request %d\n got %+v\nwant %+v", i+1, r, want)
				}
			}
		})
	}
}

func TestPagination(t *testing.T) {
	f := newFakeAPI(t)
	pages := map[string]reply{
		"":   {body: pageJSON("2025-01-31", "t2", recordJSON("a", `"1"`, "1.5"), recordJSON("b", `"2"`, "2.5"))},
		"t2": {body: pageJSON("2025-01-31", "t3", recordJSON("c", `"3"`, "3.5"))},
		"t3": {body: pageJSON("2025-01-31", "t4")},
		"t4": {body: pageJSON("2025-01-31", "", recordJSON("d", "4", `"4.5"`))},
	}
	var tokens []string
	f.records = func(_ int, r seenRequest) reply {
		v, _ := url.ParseQuery(r.RawQuery)
		tokens = append(tokens, v.Get("pageToken"))
		return pages[v.Get("pageToken")]
	}
	c, _ := newTestClient(t, f, func(c *Config) { c.Encoding = EncodingQuery })
	u, err := c.FetchRecords(t.Context(), testID, thisMonth)
	if err != nil {
		t.Fatal(err)
	}
	var cats []string
	var sum float64
	for _, r := range u.Records {
		cats = append(cats, r.ProductCategory)
		sum += r.UsageAmount.Float64()*10 + r.PriceAmount.Float64()
	}
	if got, want := strings.Join(cats, ","), "a,b,c,d"; got != want {
		t.Errorf("categories %s, want %s", got, want)
	}
	if sum != 112 {
		t.Errorf("amount checksum %v, want 112", sum)
	}
	if !slices.Equal(tokens, []string{"", "t2", "t3", "t4"}) {
		t.Errorf("page tokens sent %q", tokens)
	}
	if u.Pages != 4 || !u.AsOf.Equal(date("2025-01-31")) || u.Restarted {
		t.Errorf("pages %d asOf %s restarted %v, want 4 and 2025-01-31, not restarted", u.Pages, u.AsOf, u.Restarted)
	}
	if tok, _ := f.counts(); tok != 1 {
		t.Errorf("token calls %d, want 1", tok)
	}
}

// A page whose asOf differs from the first page's is of another state of
// the data: the pagination starts again from the first page, once, and a
// second change refuses the fetch naming every date.
func TestPaginationAsOfMoves(t *testing.T) {
	for _, tc := range []struct {
		name   string
		asOfs  []string // by request: each page's asOf, in the order sent
		err    string
		tokens []string
	}{
		{"same asOf", []string{"2025-01-31", "2025-01-31"}, "", []string{"", "t2"}},
		{"moves once", []string{"2025-01-30", "2025-01-31", "2025-01-31", "2025-01-31"}, "", []string{"", "t2", "", "t2"}},
		{"moves twice", []string{"2025-01-30", "2025-01-31", "2025-01-31", "2025-02-01"},
			"twilio: records for " + testMasked + ": the data changed while it was paged, twice: asOf went from 2025-01-30 to 2025-01-31, and after starting again from the first page from 2025-01-31 to 2025-02-01; this period is refused until the data stays the same over one pagination",
			[]string{"", "t2", "", "t2"}},
		{"a page without asOf", []string{"2025-01-31", "", "2025-01-31", ""},
			"twilio: records for " + testMasked + ": the data changed while it was paged, twice: asOf went from 2025-01-31 to (none), and after starting again from the first page from 2025-01-31 to (none)",
			nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAPI(t)
			var tokens []string
			f.records = func(n int, r seenRequest) reply {
				v, _ := url.ParseQuery(r.RawQuery)
				tok := v.Get("pageToken")
				tokens = append(tokens, tok)
				asOf := tc.asOfs[min(n, len(tc.asOfs))-1]
				page := func(next string, recs ...string) reply {
					if asOf == "" {
						return reply{body: `{"records":[` + strings.Join(recs, ",") + `],"meta":{"nextToken":` + strconv.Quote(next) + `}}`}
					}
					return reply{body: pageJSON(asOf, next, recs...)}
				}
				if tok == "" {
					return page("t2", recordJSON("a", `"1"`, "1.5"))
				}
				return page("", recordJSON("b", `"2"`, "2.5"))
			}
			c, _ := newTestClient(t, f, func(c *Config) { c.Encoding = EncodingQuery })
			u, err := c.FetchRecords(t.Context(), testID, thisMonth)
			switch {
			case tc.err != "":
				if err == nil || !strings.HasPrefix(err.Error(), tc.err) {
					t.Fatalf("error %v\nwant %s", err, tc.err)
				}
			case err != nil:
				t.Fatal(err)
			case len(u.Records) != 2 || u.Pages != 2 || !u.AsOf.Equal(date("2025-01-31")) || u.Restarted != (len(tokens) == 4):
				t.Errorf("%d records in %d pages, asOf %s, restarted %v", len(u.Records), u.Pages, u.AsOf, u.Restarted)
			}
			if tc.tokens != nil && !slices.Equal(tokens, tc.tokens) {
				t.Errorf("page tokens sent %q, want %q", tokens, tc.tokens)
			}
		})
	}
}

// A range longer than 365 days is sent in parts of at most 365 days, split
// at a month's end; parts of two states of the data (another asOf) are
// refused, naming both.
func TestLongRangeParts(t *testing.T) {
	f := newFakeAPI(t)
	var bodies []string
	asOf := map[string]string{"2024-01-01": "2025-01-31", "2024-12-01": "2025-01-31"}
	f.records = func(_ int, r seenRequest) reply {
		bodies = append(bodies, r.Body)
		for start, a := range asOf {
			if strings.Contains(r.Body, `"startDate":"`+start+`"`) {
				return reply{body: pageJSON(a, "", recordJSON("sms", `"1"`, "1"))}
			}
		}
		return reply{status: 400, body: `{"code":20001,"message":"unexpected"}`}
	}
	c, _ := newTestClient(t, f, nil)
	q := Query{StartDate: "2024-01-01", EndDate: "2024-12-31"}
	u, err := c.FetchRecords(t.Context(), testID, q)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`{"startDate":"2024-01-01","endDate":"2024-11-30","aggregationPeriod":"MONTHLY"}`,
		`{"startDate":"2024-12-01","endDate":"2024-12-31","aggregationPeriod":"MONTHLY"}`,
	}
	if !slices.Equal(bodies, want) {
		t.Errorf("requests %q, want %q", bodies, want)
	}
	if len(u.Records) != 2 || u.Pages != 2 || u.Records[1].Page != 2 || !u.AsOf.Equal(date("2025-01-31")) {
		t.Errorf("usage %+v", u)
	}
	asOf["2024-12-01"] = "2025-02-01"
	_, err = c.FetchRecords(t.Context(), testID, q)
	assertErr(t, err, "twilio: records for "+testMasked+": 2024-01-01 to 2024-12-31 is fetched in 2 parts of at most 365 days, "+
		"and the data changed between them: asOf 2025-01-31, then 2025-02-01 in part 2 (2024-12-01 to 2024-12-31)")
	// A part that fails says which.
	delete(asOf, "2024-12-01")
	_, err = c.FetchRecords(t.Context(), testID, q)
	assertErr(t, err, "twilio: records for "+testMasked+": page 1: HTTP 400: code 20001: unexpected (in part 2 of 2, 2024-12-01 to 2024-12-31, of 2024-01-01 to 2024-12-31)")
}

func TestPaginationLimits(t *testing.T) {
	tests := []struct {
		name     string
		maxPages int
		next     func(n int) string
		want     string
		requests int
	}{
		{"repeating token", 0, func(n int) string { return []string{"", "a", "b", "a"}[n] },
			"twilio: records for " + testMasked + ": page 3: meta.nextToken repeats the one page 1 returned; stopping to avoid an endless loop", 3},
		{"token of the page itself", 0, func(int) string { return "same" },
			"twilio: records for " + testMasked + ": page 2: meta.nextToken repeats the one page 1 returned; stopping to avoid an endless loop", 2},
		{"max pages", 3, func(n int) string { return fmt.Sprint("t", n) },
			"twilio: records for " + testMasked + ": more than 3 pages (MaxPages)", 3},
		{"exactly max pages", 3, func(n int) string { return map[int]string{1: "x", 2: "y"}[n] }, "<nil>", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t)
			f.records = func(n int, _ seenRequest) reply {
				return reply{body: pageJSON("2025-01-31", tt.next(n), recordJSON("a", `"1"`, "1"))}
			}
			c, _ := newTestClient(t, f, func(c *Config) { c.MaxPages = tt.maxPages })
			u, err := c.FetchRecords(t.Context(), testID, thisMonth)
			assertErr(t, err, tt.want)
			if (err == nil) != (u != nil) {
				t.Errorf("usage %v with error %v", u, err)
			}
			if _, n := f.counts(); n != tt.requests {
				t.Errorf("records requests %d, want %d", n, tt.requests)
			}
		})
	}
}

func TestFetchErrorsNameThePage(t *testing.T) {
	prefix := "twilio: records for " + testMasked + ": "
	tests := []struct {
		name  string
		pages []string
		edit  func(*Config)
		want  string
	}{
		{"malformed record on page 2", []string{
			pageJSON("2025-01-31", "n", recordJSON("a", `"1"`, "1")),
			pageJSON("2025-01-31", "", recordJSON("a", `"1"`, "1"), recordJSON("a", `"1"`, "1"), recordJSON("a", `"1"`, "1"),
				recordJSON("a", `"1"`, "1"), recordJSON("a", `"1"`, "1"), recordJSON("a", `"abc"`, "1")),
		}, nil, prefix + `page 2: record 5: usage.amount: "abc" is not a number`},
		{"truncated page 3", []string{
			pageJSON("2025-01-31", "n2"), pageJSON("2025-01-31", "n3"), `{"asOf":"2025-01-31","records":[`,
		}, nil, prefix + "page 3: response is truncated JSON (ends after 32 bytes)"},
		{"not JSON", []string{"upstream connect error"}, nil,
			prefix + "page 1: response is not valid JSON: invalid character 'u' looking for beginning of value"},
		{"oversized", []string{pageJSON("2025-01-31", "", recordJSON("a", `"1"`, "1"))},
			func(c *Config) { c.MaxBodyBytes = 100 }, prefix + "page 1: response body exceeds 100 bytes (MaxBodyBytes)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t)
			f.records = func(n int, _ seenRequest) reply { return reply{body: tt.pages[n-1]} }
			c, _ := newTestClient(t, f, tt.edit)
			u, err := c.FetchRecords(t.Context(), testID, thisMonth)
			assertErr(t, err, tt.want)
			if u != nil {
				t.Errorf("partial result %+v", u)
			}
			if _, n := f.counts(); n != len(tt.pages) {
				t.Errorf("records requests %d, want %d (no retry of a bad body)", n, len(tt.pages))
			}
		})
	}
}

func TestBodySizeLimit(t *testing.T) {
	body := pageJSON("2025-01-31", "", recordJSON("a", `"1"`, "1"))
	tests := []struct {
		limit int64
		want  string
	}{
		{int64(len(body)), "<nil>"},
		{int64(len(body)) - 1, fmt.Sprintf("twilio: records for %s: page 1: response body exceeds %d bytes (MaxBodyBytes)", testMasked, len(body)-1)},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.limit), func(t *testing.T) {
			f := newFakeAPI(t)
			f.records = func(int, seenRequest) reply { return reply{body: body} }
			c, _ := newTestClient(t, f, func(c *Config) { c.MaxBodyBytes = tt.limit })
			_, err := c.FetchRecords(t.Context(), testID, thisMonth)
			assertErr(t, err, tt.want)
		})
	}
}

func TestFetchRejectsBadInputBeforeRequests(t *testing.T) {
	f := newFakeAPI(t)
	c, _ := newTestClient(t, f, nil)
	_, err := c.FetchRecords(t.Context(), "commerce_billingprofile_x/y", thisMonth)
	assertErr(t, err, `twilio: commerce_billingprofile_… is not a billing group ID: '/' at byte 25 is not a letter or digit (want commerce_billingprofile_ followed by letters and digits)`)
	_, err = c.FetchRecords(t.Context(), testID, Query{TimePeriod: ThisMonth, StartDate: "2025-01-01", EndDate: "2025-01-02"})
	assertErr(t, err, "twilio: records for "+testMasked+": query: timePeriod cannot be combined with startDate/endDate")
	if tok, rec := f.counts(); tok+rec != 0 {
		t.Errorf("%d token and %d records requests, want none", tok, rec)
	}
}

func TestAPIErrors(t *testing.T) {
	prefix := "twilio: records for " + testMasked + ": page 1: "
	type class struct{ unauthorized, rateLimited, notFound, notEligible, exportNotFound bool }
	tests := []struct {
		name  string
		reply reply
		want  APIError
		text  string
		class class
	}{
		{
			name: "legacy shape",
			reply: reply{status: 404, body: `{"code":20404,"message":"The requested resource was not found",` +
				`"more_info":"https://www.twilio.com/docs/errors/20404","status":404}`},
			want: APIError{StatusCode: 404, Code: 20404, Message: "The requested resource was not found",
				MoreInfo: "https://www.twilio.com/docs/errors/20404"},
			text:  "HTTP 404: code 20404: The requested resource was not found (more info: https://www.twilio.com/docs/errors/20404)",
			class: class{notFound: true},
		},
		{
			name: "newer shape",
			reply: reply{status: 400, body: `{"code":71001,"message":"Usage API version not eligible","httpStatusCode":400,` +
				`"params":{"billingGroupId":"x"},"userError":true}`},
			want: APIError{StatusCode: 400, Code: 71001, Message: "Usage API version not eligible",
				UserError: true, Params: map[string]any{"billingGroupId": "x"}},
			text:  "HTTP 400: code 71001: Usage API version not eligible; " + codeHints[CodeNotEligible],
			class: class{notEligible: true},
		},
		{
			name: "newer shape with moreInfo",
			reply: reply{status: 403, body: `{"code":70051,"message":"Authorization error: missing scope","moreInfo":"https://www.twilio.com/docs/errors/70051",` +
				`"httpStatusCode":403,"userError":true}`},
			want: APIError{StatusCode: 403, Code: 70051, Message: "Authorization error: missing scope",
				MoreInfo: "https://www.twilio.com/docs/errors/70051", UserError: true},
			text: "HTTP 403: code 70051: Authorization error: missing scope (more info: https://www.twilio.com/docs/errors/70051); " + codeHints[CodeScopeMissing],
		},
		{
			name: "errors list shape",
			reply: reply{status: 403, body: `{"errors":[{"code":71002,"message":"Subject not eligible for the usage export functionality",` +
				`"infoUrl":"https://www.twilio.com/docs/errors/71002","context":{}},{"code":20001,"message":"other"},{"code":20001,"message":"more"}]}`},
			want: APIError{StatusCode: 403, Code: 71002, Message: "Subject not eligible for the usage export functionality (and 2 more errors)",
				MoreInfo: "https://www.twilio.com/docs/errors/71002"},
			text: "HTTP 403: code 71002: Subject not eligible for the usage export functionality (and 2 more errors) (more info: https://www.twilio.com/docs/errors/71002); " +
				codeHints[CodeSubjectNotEligible],
		},
		{
			name:  "export not found",
			reply: reply{status: 404, body: `{"code":71003,"message":"Export not found","httpStatusCode":404,"userError":false}`},
			want:  APIError{StatusCode: 404, Code: 71003, Message: "Export not found"},
			text:  "HTTP 404: code 71003: Export not found; " + codeHints[CodeExportNotFound],
			class: class{notFound: true, exportNotFound: true},
		},
		{
			name:  "forbidden with auth code",
			reply: reply{status: 403, body: `{"code":20003,"message":"Authenticate"}`},
			want:  APIError{StatusCode: 403, Code: 20003, Message: "Authenticate"},
			text:  "HTTP 403: code 20003: Authenticate; " + codeHints[CodeAuthentication],
			class: class{unauthorized: true},
		},
		{
			name:  "HTML body",
			reply: reply{status: 404, body: "<html>\n  <body>Not   here</body>\n</html>\n"},
			want:  APIError{StatusCode: 404, Message: "<html> <body>Not here</body> </html>"},
			text:  "HTTP 404: <html> <body>Not here</body> </html>",
			class: class{notFound: true},
		},
		{
			name:  "long body",
			reply: reply{status: 400, body: strings.Repeat("é", 200)},
			want:  APIError{StatusCode: 400, Message: strings.Repeat("é", 128) + "…"},
			text:  "HTTP 400: " + strings.Repeat("é", 128) + "…",
		},
		{
			name:  "empty body",
			reply: reply{status: 409},
			want:  APIError{StatusCode: 409, Message: "Conflict"},
			text:  "HTTP 409: Conflict",
		},
		{
			name:  "JSON without code or message",
			reply: reply{status: 422, body: `{"detail":"nope"}`},
			want:  APIError{StatusCode: 422, Message: `{"detail":"nope"}`},
			text:  `HTTP 422: {"detail":"nope"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t)
			f.records = func(int, seenRequest) reply { return tt.reply }
			c, s := newTestClient(t, f, nil)
			u, err := c.FetchRecords(t.Context(), testID, thisMonth)
			if u != nil {
				t.Errorf("usage %+v with error", u)
			}
			assertErr(t, err, prefix+tt.text)
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("%T is not an *APIError", err)
			}
			if !reflect.DeepEqual(*ae, tt.want) {
				t.Errorf("APIError\n got %#v\nwant %#v", *ae, tt.want)
			}
			got := class{isUnauthorized(err), IsRateLimited(err), IsNotFound(err), isNotEligible(err), IsExportNotFound(err)}
			if got != tt.class {
				t.Errorf("classification %+v, want %+v", got, tt.class)
			}
			if _, n := f.counts(); n != 1 || len(s.got()) != 0 {
				t.Errorf("%d requests and waits %v; a 4xx must not be retried", n, s.got())
			}
		})
	}
}

func TestRetries(t *testing.T) {
	now := time.Date(2025, 2, 1, 12, 0, 0, 0, time.UTC)
	rateLimited := func(retryAfter string) reply {
		return reply{status: 429, header: map[string]string{"Retry-After": retryAfter},
			body: `{"code":20429,"message":"Too Many Requests","more_info":"https://www.twilio.com/docs/errors/20429","status":429}`}
	}
	unavailable := reply{status: 503, body: "Service Unavailable"}
	ok := reply{body: pageJSON("2025-01-31", "", recordJSON("a", `"1"`, "1"))}
	prefix := "twilio: records for " + testMasked + ": page 1: "
	tests := []struct {
		name        string
		replies     []reply
		maxAttempts int
		want        string
		waits       []time.Duration
	}{
		{"429 Retry-After seconds", []reply{rateLimited("7"), ok}, 0, "<nil>", []time.Duration{7 * time.Second}},
		{"429 Retry-After date", []reply{rateLimited(now.Add(10 * time.Second).Format(http.TimeFormat)), ok}, 0, "<nil>",
			[]time.Duration{10 * time.Second}},
		{"429 Retry-After date in the past", []reply{rateLimited(now.Add(-time.Hour).Format(http.TimeFormat)), ok}, 0, "<nil>",
			[]time.Duration{500 * time.Millisecond}},
		{"429 Retry-After capped", []reply{rateLimited("3600"), ok}, 0, "<nil>", []time.Duration{30 * time.Second}},
		{"429 Retry-After garbage", []reply{rateLimited("soon"), ok}, 0, "<nil>", []time.Duration{500 * time.Millisecond}},
		{"5xx burst then success", []reply{unavailable, {status: 500}, {status: 502}, ok}, 0, "<nil>",
			[]time.Duration{500 * time.Millisecond, 500 * time.Millisecond, time.Second}},
		{"attempts bounded", []reply{unavailable, unavailable, unavailable, unavailable, ok}, 0,
			prefix + "giving up after 4 attempts: HTTP 503: Service Unavailable",
			[]time.Duration{500 * time.Millisecond, 500 * time.Millisecond, time.Second}},
		{"rate limit persists", []reply{rateLimited("1"), rateLimited("1")}, 2,
			prefix + "giving up after 2 attempts: HTTP 429: code 20429: Too Many Requests (more info: https://www.twilio.com/docs/errors/20429); " + codeHints[CodeTooManyRequests],
			[]time.Duration{time.Second}},
		{"no retry when 1 attempt", []reply{unavailable, ok}, 1, prefix + "giving up after 1 attempt: HTTP 503: Service Unavailable", nil},
		{"400 not retried", []reply{{status: 400, body: `{"code":20001,"message":"Invalid parameter"}`}, ok}, 0,
			prefix + "HTTP 400: code 20001: Invalid parameter", nil},
		{"403 not retried", []reply{{status: 403}, ok}, 0, prefix + "HTTP 403: Forbidden", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t)
			f.records = func(n int, _ seenRequest) reply { return tt.replies[n-1] }
			c, s := newTestClient(t, f, func(c *Config) { c.MaxAttempts = tt.maxAttempts; c.Now = func() time.Time { return now } })
			u, err := c.FetchRecords(t.Context(), testID, thisMonth)
			assertErr(t, err, tt.want)
			if err == nil && len(u.Records) != 1 {
				t.Errorf("records %+v", u.Records)
			}
			if !slices.Equal(s.got(), tt.waits) {
				t.Errorf("waits %v, want %v", s.got(), tt.waits)
			}
			if _, n := f.counts(); n != len(tt.waits)+1 {
				t.Errorf("records requests %d, want %d", n, len(tt.waits)+1)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		attempt    int
		retryAfter time.Duration
		jitter     string // "none" or "full"
		want       time.Duration
	}{
		{1, 0, "none", 500 * time.Millisecond},
		{1, 0, "full", 500 * time.Millisecond},
		{2, 0, "none", 500 * time.Millisecond},
		{2, 0, "full", time.Second},
		{3, 0, "none", time.Second},
		{3, 0, "full", 2 * time.Second},
		{5, 0, "none", 4 * time.Second},
		{5, 0, "full", 8 * time.Second},
		{7, 0, "none", 15 * time.Second},
		{7, 0, "full", 30 * time.Second},
		{60, 0, "full", 30 * time.Second},
		{1000, 0, "none", 15 * time.Second},
		{1, 3 * time.Second, "none", 3 * time.Second},
		{5, 3 * time.Second, "full", 8 * time.Second},
		{1, time.Hour, "none", 30 * time.Second}, // no deadline: capped at MaxBackoff
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.attempt, tt.retryAfter, tt.jitter), func(t *testing.T) {
			c := &Client{minBackoff: 500 * time.Millisecond, maxBackoff: 30 * time.Second,
				jitter: func(n time.Duration) time.Duration {
					if tt.jitter == "full" {
						return n + time.Hour // out of range on purpose: must be clamped
					}
					return -time.Hour
				}}
			if got := c.backoff(tt.attempt, tt.retryAfter, false); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
			// Under a deadline, Retry-After is waited in full, past
			// MaxBackoff; the deadline decides.
			want := max(tt.want, tt.retryAfter)
			if got := c.backoff(tt.attempt, tt.retryAfter, true); got != want {
				t.Errorf("with a deadline: got %s, want %s", got, want)
			}
		})
	}
	c := &Client{minBackoff: 500 * time.Millisecond, maxBackoff: 30 * time.Second, jitter: uniformJitter}
	for i := 0; i < 200; i++ {
		if d := c.backoff(3, 0, true); d < time.Second || d > 2*time.Second {
			t.Fatalf("uniform jitter gave %s outside [1s, 2s]", d)
		}
	}
}

// A 429's Retry-After is waited in full when the refresh's deadline leaves
// room for it, whatever MaxBackoff says, in every error shape and from the
// token endpoint too; a wait past the deadline gives up at once, saying so.
// Each wait is told to Config.Waiting.
func TestRetryAfterBoundedByDeadline(t *testing.T) {
	shapes := map[string]string{
		"legacy": `{"code":20429,"message":"Too Many Requests","more_info":"https://www.twilio.com/docs/errors/20429","status":429}`,
		"newer":  `{"code":20429,"message":"Too Many Requests","moreInfo":"https://www.twilio.com/docs/errors/20429","httpStatusCode":429,"userError":false}`,
		"errors": `{"errors":[{"code":20429,"message":"Too many concurrent requests: retry according to the Retry-After header","infoUrl":"https://www.twilio.com/docs/errors/20429"}]}`,
	}
	ok := reply{body: pageJSON("2025-01-31", "", recordJSON("a", `"1"`, "1"))}
	for name, body := range shapes {
		for _, endpoint := range []string{EndpointRecords, EndpointToken} {
			t.Run(name+" "+endpoint, func(t *testing.T) {
				f := newFakeAPI(t)
				limited := reply{status: 429, header: map[string]string{"Retry-After": "45", "Content-Type": "application/json"}, body: body}
				f.records = func(n int, _ seenRequest) reply {
					if n == 1 && endpoint == EndpointRecords {
						return limited
					}
					return ok
				}
				if endpoint == EndpointToken {
					f.tokenReply = func(n int) reply {
						if n == 1 {
							return limited
						}
						return reply{header: map[string]string{"Content-Type": "application/json"},
							body: `{"access_token":"tok-2","token_type":"Bearer","expires_in":3600}`}
					}
				}
				var waits []Wait
				c, s := newTestClient(t, f, func(c *Config) {
					c.Now = time.Now
					c.Waiting = func(w Wait) { waits = append(waits, w) }
				})
				ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
				defer cancel()
				u, err := c.FetchRecords(ctx, testID, thisMonth)
				if err != nil || len(u.Records) != 1 {
					t.Fatalf("%v, %+v", err, u)
				}
				if got := s.got(); len(got) != 1 || got[0] != 45*time.Second {
					t.Errorf("waited %v, want 45s as Retry-After asked, past MaxBackoff (30s)", got)
				}
				if len(waits) != 1 || waits[0].Endpoint != endpoint || waits[0].RetryAfter != 45*time.Second ||
					waits[0].Delay != 45*time.Second || waits[0].Attempt != 1 || waits[0].BillingGroup != testMasked ||
					!strings.Contains(waits[0].Err, "429") || strings.Contains(waits[0].Err, testID) {
					t.Errorf("Waiting told %+v", waits)
				}

				// A deadline nearer than Retry-After: no wait, a clear error.
				f2 := newFakeAPI(t)
				f2.records = func(int, seenRequest) reply { return limited }
				c2, s2 := newTestClient(t, f2, func(c *Config) { c.Now = time.Now })
				ctx2, cancel2 := context.WithTimeout(t.Context(), 20*time.Second)
				defer cancel2()
				_, err = c2.FetchRecords(ctx2, testID, thisMonth)
				want := "page 1: giving up after 1 attempt: the API asked to wait 45s (Retry-After), which would pass the context deadline (context deadline exceeded): HTTP 429: code 20429"
				if !strings.Contains(errText(err), want) || !errors.Is(err, context.DeadlineExceeded) || len(s2.got()) != 0 {
					t.Errorf("error %s after waits %v\nwant it to hold %s", errText(err), s2.got(), want)
				}
			})
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 2, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"120", 2 * time.Minute},
		{" 5 ", 5 * time.Second},
		{"99999999999999999999999", 365 * 24 * time.Hour},
		{"-5", 0},
		{"1.5", 0},
		{"Sat, 01 Feb 2025 12:00:30 GMT", 30 * time.Second},
		{"Saturday, 01-Feb-25 12:01:00 GMT", time.Minute},
		{"Sat, 01 Feb 2025 11:00:00 GMT", 0},
		{"tomorrow", 0},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestContextDeadlineStopsRetries(t *testing.T) {
	f := newFakeAPI(t)
	f.records = func(int, seenRequest) reply {
		return reply{status: 429, header: map[string]string{"Retry-After": "3600"}, body: `{"code":20429,"message":"Too Many Requests"}`}
	}
	// The wait the API asks for (an hour) outlasts the deadline (a minute)
	// however long the first attempt takes.
	c, s := newTestClient(t, f, func(c *Config) { c.MaxBackoff = 2 * time.Hour })
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	_, err := c.FetchRecords(ctx, testID, thisMonth)
	assertErr(t, err, "twilio: records for "+testMasked+": page 1: giving up after 1 attempt: the API asked to wait 1h0m0s (Retry-After), which would pass "+
		"the context deadline (context deadline exceeded): HTTP 429: code 20429: Too Many Requests; "+codeHints[CodeTooManyRequests])
	if !errors.Is(err, context.DeadlineExceeded) || !IsRateLimited(err) {
		t.Errorf("errors.Is deadline %v, rate limited %v; want both", errors.Is(err, context.DeadlineExceeded), IsRateLimited(err))
	}
	if _, n := f.counts(); n != 1 || len(s.got()) != 0 {
		t.Errorf("%d requests, waits %v; want 1 request and no wait", n, s.got())
	}
}

func TestCancelStopsPromptly(t *testing.T) {
	t.Run("during backoff", func(t *testing.T) {
		f := newFakeAPI(t)
		f.records = func(int, seenRequest) reply { return reply{status: 503, body: "busy"} }
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		c, _ := newTestClient(t, f, func(c *Config) {
			// The real timer-based sleep, cancelled once it has begun.
			c.Sleep = func(ctx context.Context, d time.Duration) error {
				cancel()
				return sleepContext(ctx, d)
			}
			c.MinBackoff = time.Hour
			c.MaxBackoff = time.Hour
		})
		// Were the hour-long wait not cut short, the fetch would not
		// return: no clock needed.
		_, err := c.FetchRecords(ctx, testID, thisMonth)
		assertErr(t, err, "twilio: records for "+testMasked+": page 1: giving up after 1 attempt: context canceled while waiting to retry: HTTP 503: busy")
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err %v, want context.Canceled", err)
		}
	})
	t.Run("after a failed attempt", func(t *testing.T) {
		f := newFakeAPI(t)
		f.records = func(int, seenRequest) reply { return reply{status: 503, body: "busy"} }
		ctx, cancel := context.WithCancel(t.Context())
		c, s := newTestClient(t, f, func(c *Config) {
			c.Observer = func(endpoint string, _ int, _ time.Duration) {
				if endpoint == EndpointRecords {
					cancel()
				}
			}
		})
		_, err := c.FetchRecords(ctx, testID, thisMonth)
		assertErr(t, err, "twilio: records for "+testMasked+": page 1: context canceled: HTTP 503: busy")
		if !errors.Is(err, context.Canceled) || len(s.got()) != 0 {
			t.Errorf("err %v, waits %v", err, s.got())
		}
	})
	t.Run("during request", func(t *testing.T) {
		release := make(chan struct{})
		arrived := make(chan struct{}, 1)
		f := newFakeAPI(t)
		f.records = func(int, seenRequest) reply { arrived <- struct{}{}; <-release; return reply{status: 500} }
		defer close(release)
		c, _ := newTestClient(t, f, nil)
		// The deadline passes once the request has reached the API, not
		// after a time that a slow token fetch could outlast.
		ctx := NewTriggeredDeadline(t.Context())
		go func() { <-arrived; ctx.Fire() }()
		// The API answers only after the test ends (release): the fetch
		// returns only if the deadline aborts the request.
		_, err := c.FetchRecords(ctx, testID, thisMonth)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err %v, want the deadline error", err)
		}
		if want := "twilio: records for " + testMasked + ": page 1: Post \""; !strings.HasPrefix(errText(err), want) {
			t.Errorf("error %q does not start with %q", errText(err), want)
		}
	})
}

func TestUnauthorizedRefreshesTokenOnce(t *testing.T) {
	unauthorized := reply{status: 401, body: `{"code":20003,"message":"Authenticate","more_info":"https://www.twilio.com/docs/errors/20003","status":401}`}
	ok := reply{body: pageJSON("2025-01-31", "")}
	tests := []struct {
		name    string
		replies []reply
		want    string
		auths   []string
	}{
		{"refresh then success", []reply{unauthorized, ok}, "<nil>", []string{"Bearer tok-1", "Bearer tok-2"}},
		{"401 twice", []reply{unauthorized, unauthorized, ok},
			"twilio: records for " + testMasked + ": page 1: HTTP 401: code 20003: Authenticate (more info: https://www.twilio.com/docs/errors/20003); " + codeHints[CodeAuthentication],
			[]string{"Bearer tok-1", "Bearer tok-2"}},
		{"refresh does not use up an attempt", []reply{{status: 500}, unauthorized, ok}, "<nil>",
			[]string{"Bearer tok-1", "Bearer tok-1", "Bearer tok-2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t)
			f.records = func(n int, _ seenRequest) reply { return tt.replies[n-1] }
			c, s := newTestClient(t, f, func(c *Config) { c.MaxAttempts = 2 })
			_, err := c.FetchRecords(t.Context(), testID, thisMonth)
			assertErr(t, err, tt.want)
			if err != nil && !isUnauthorized(err) {
				t.Error("IsUnauthorized false")
			}
			var auths []string
			for _, r := range f.recordRequests() {
				auths = append(auths, r.Auth)
			}
			if !slices.Equal(auths, tt.auths) {
				t.Errorf("authorization headers %q, want %q", auths, tt.auths)
			}
			if tok, _ := f.counts(); tok != 2 {
				t.Errorf("token calls %d, want 2", tok)
			}
			for _, w := range s.got() {
				if w != 500*time.Millisecond {
					t.Errorf("waits %v: the refresh must not back off", s.got())
				}
			}
		})
	}
}

func TestTokenReuse(t *testing.T) {
	tests := []struct {
		name      string
		expiresIn int
		want      int
	}{
		{"reused while valid", 3600, 1},
		{"refreshed a minute before expiry", 50, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t)
			f.expiresIn = tt.expiresIn
			c, _ := newTestClient(t, f, nil)
			for range 3 {
				if _, err := c.FetchRecords(t.Context(), testID, thisMonth); err != nil {
					t.Fatal(err)
				}
			}
			if tok, rec := f.counts(); tok != tt.want || rec != 3 {
				t.Errorf("token calls %d, records %d; want %d and 3", tok, rec, tt.want)
			}
		})
	}
}

func TestTokenShared(t *testing.T) {
	f := newFakeAPI(t)
	c, _ := newTestClient(t, f, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			_, err := c.FetchRecords(t.Context(), testID, thisMonth)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if tok, rec := f.counts(); tok != 1 || rec != 8 {
		t.Errorf("token calls %d, records %d; want 1 and 8", tok, rec)
	}
}

func TestTokenRequest(t *testing.T) {
	f := newFakeAPI(t)
	c, _ := newTestClient(t, f, func(c *Config) { c.Scopes = []string{ScopeUsageRead, "other"}; c.UserAgent = "exporter/1.2" })
	if _, err := c.FetchRecords(t.Context(), testID, thisMonth); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	r := f.tokenReqs[0]
	f.mu.Unlock()
	form, err := url.ParseQuery(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	want := url.Values{"grant_type": {"client_credentials"}, "client_id": {testClient}, "client_secret": {testSecret},
		"scope": {"twilio/billing-insights/usage/read other"}}
	if r.Method != "POST" || r.ContentType != "application/x-www-form-urlencoded" || !reflect.DeepEqual(form, want) ||
		r.UserAgent != "exporter/1.2" || r.Auth != "" {
		t.Errorf("token request %+v, form %v", r, form)
	}
}

func TestTokenErrors(t *testing.T) {
	prefix := "twilio: records for " + testMasked + ": page 1: "
	tests := []struct {
		name       string
		reply      reply
		want       string
		authError  bool
		tokenCalls int
	}{
		{
			name: "rejected 401",
			reply: reply{status: 401, header: map[string]string{"Content-Type": "application/json"},
				body: `{"error":"invalid_client","error_description":"Client authentication failed"}`},
			want: prefix + `get OAuth token: token endpoint rejected the credentials of client ID "OQtestclient" ` +
				`(HTTP 401: invalid_client Client authentication failed): check client_id and client_secret`,
			authError: true, tokenCalls: 1,
		},
		{
			name: "rejected 400 echoing the secret",
			reply: reply{status: 400, header: map[string]string{"Content-Type": "application/json"},
				body: `{"error":"invalid_request","error_description":"bad secret ` + testSecret + `"}`},
			want: prefix + `get OAuth token: token endpoint rejected the credentials of client ID "OQtestclient" ` +
				`(HTTP 400: invalid_request bad secret [redacted]): check client_id and client_secret`,
			authError: true, tokenCalls: 1,
		},
		{
			name:  "rejected without body",
			reply: reply{status: 401},
			want: prefix + `get OAuth token: token endpoint rejected the credentials of client ID "OQtestclient" ` +
				`(HTTP 401): check client_id and client_secret`,
			authError: true, tokenCalls: 1,
		},
		{
			// A refusal that names the scope is not about the secret.
			name: "scope refused",
			reply: reply{status: 400, header: map[string]string{"Content-Type": "application/json"},
				body: `{"error":"invalid_scope","error_description":"The requested scope is invalid"}`},
			want: prefix + `get OAuth token: token endpoint refused the scope asked for by client ID "OQtestclient" ` +
				`(HTTP 400: invalid_scope The requested scope is invalid): ` + codeHints[CodeScopeMissing],
			authError: true, tokenCalls: 1,
		},
		{
			name: "scope named in a 400",
			reply: reply{status: 400, header: map[string]string{"Content-Type": "application/json"},
				body: `{"error":"invalid_request","error_description":"scope twilio/billing-insights/usage/read not granted to this app"}`},
			want: prefix + `get OAuth token: token endpoint refused the scope asked for by client ID "OQtestclient" ` +
				`(HTTP 400: invalid_request scope twilio/billing-insights/usage/read not granted to this app): ` + codeHints[CodeScopeMissing],
			authError: true, tokenCalls: 1,
		},
		{
			name: "Twilio shape, scope missing",
			reply: reply{status: 403, header: map[string]string{"Content-Type": "application/json"},
				body: `{"code":70051,"message":"Authorization error: the app is missing a scope","more_info":"https://www.twilio.com/docs/errors/70051","status":403}`},
			want: prefix + `get OAuth token: token endpoint refused the scope asked for by client ID "OQtestclient" ` +
				`(HTTP 403: code 70051: Authorization error: the app is missing a scope): ` + codeHints[CodeScopeMissing],
			authError: true, tokenCalls: 1,
		},
		{
			name: "Twilio shape, credentials",
			reply: reply{status: 401, header: map[string]string{"Content-Type": "application/json"},
				body: `{"code":20003,"message":"Authenticate","moreInfo":"https://www.twilio.com/docs/errors/20003","httpStatusCode":401}`},
			want: prefix + `get OAuth token: token endpoint rejected the credentials of client ID "OQtestclient" ` +
				`(HTTP 401: code 20003: Authenticate): check client_id and client_secret`,
			authError: true, tokenCalls: 1,
		},
		{
			name:       "endpoint down",
			reply:      reply{status: 503, body: "<h1>maintenance</h1>"},
			want:       prefix + "giving up after 4 attempts: get OAuth token: token endpoint answered HTTP 503: <h1>maintenance</h1>",
			tokenCalls: 4,
		},
		{
			name:       "no access token",
			reply:      reply{header: map[string]string{"Content-Type": "application/json"}, body: `{"token_type":"Bearer"}`},
			want:       prefix + "get OAuth token: oauth2: server response missing access_token",
			tokenCalls: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t)
			f.tokenReply = func(int) reply { return tt.reply }
			c, _ := newTestClient(t, f, nil)
			_, err := c.FetchRecords(t.Context(), testID, thisMonth)
			assertErr(t, err, tt.want)
			if strings.Contains(errText(err), testSecret) {
				t.Error("error text contains the client secret")
			}
			var ae *AuthError
			if errors.As(err, &ae) != tt.authError || isUnauthorized(err) != tt.authError {
				t.Errorf("AuthError %v, IsUnauthorized %v; want %v", errors.As(err, &ae), isUnauthorized(err), tt.authError)
			}
			if ae != nil && (ae.ClientID != testClient || ae.Unwrap() == nil) {
				t.Errorf("AuthError %+v", ae)
			}
			if tok, rec := f.counts(); tok != tt.tokenCalls || rec != 0 {
				t.Errorf("token calls %d, records %d; want %d and 0", tok, rec, tt.tokenCalls)
			}
		})
	}
}

func TestTokenEndpointUnreachable(t *testing.T) {
	f := newFakeAPI(t)
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	c, s := newTestClient(t, f, func(c *Config) { c.TokenURL = dead.URL + "/token"; c.MaxAttempts = 2 })
	_, err := c.FetchRecords(t.Context(), testID, thisMonth)
	want := "twilio: records for " + testMasked + ": page 1: giving up after 2 attempts: get OAuth token: Post \"" + dead.URL + "/token\": "
	if !strings.HasPrefix(errText(err), want) {
		t.Errorf("error %q does not start with %q", errText(err), want)
	}
	if len(s.got()) != 1 || isUnauthorized(err) {
		t.Errorf("waits %v, unauthorized %v; want one retry and not an auth error", s.got(), isUnauthorized(err))
	}
}

func TestObserver(t *testing.T) {
	type call struct {
		endpoint string
		code     int
	}
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	tests := []struct {
		name    string
		replies []reply
		deadAPI bool
		want    []call
	}{
		{"retry then success", []reply{{status: 503}, {status: 401}, {body: pageJSON("2025-01-31", "")}}, false,
			[]call{{"token", 200}, {"records", 503}, {"token", 200}, {"records", 401}, {"token", 200}, {"records", 200}}},
		{"transport error", nil, true, []call{{"token", 200}, {"records", 0}, {"records", 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t)
			f.expiresIn = 30 // every attempt needs a new token
			f.records = func(n int, _ seenRequest) reply { return tt.replies[n-1] }
			var mu sync.Mutex
			var got []call
			c, _ := newTestClient(t, f, func(c *Config) {
				c.MaxAttempts = 2
				if tt.deadAPI {
					c.APIURL = dead.URL
					f.expiresIn = 3600
				}
				c.Observer = func(endpoint string, code int, d time.Duration) {
					mu.Lock()
					defer mu.Unlock()
					if d < 0 {
						t.Errorf("negative duration %s", d)
					}
					got = append(got, call{endpoint, code})
				}
			})
			_, _ = c.FetchRecords(t.Context(), testID, thisMonth)
			mu.Lock()
			defer mu.Unlock()
			if !slices.Equal(got, tt.want) {
				t.Errorf("observed %v\n    want %v", got, tt.want)
			}
		})
	}
}

// isUnauthorized reports whether err means the credentials or the token
// were rejected: an *AuthError, or an APIError with HTTP 401 or code 20003.
func isUnauthorized(err error) bool {
	var ae *AuthError
	if errors.As(err, &ae) {
		return true
	}
	e := apiError(err)
	return e != nil && (e.StatusCode == http.StatusUnauthorized || e.Code == CodeAuthentication)
}

// isNotEligible reports whether err is an APIError with code 71001.
func isNotEligible(err error) bool {
	e := apiError(err)
	return e != nil && e.Code == CodeNotEligible
}
