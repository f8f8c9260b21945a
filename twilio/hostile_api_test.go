package twilio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestNewRefusesPlainHTTPToOtherHosts: the client itself never sends the
// client secret or the bearer token over plain http to a non-loopback host.
func TestNewRefusesPlainHTTPToOtherHosts(t *testing.T) {
	for _, tc := range []struct{ api, token, want string }{
		{"http://usage.example.com", "https://oauth.example.com/v2/token",
			`twilio: config: APIURL "http://usage.example.com" uses plain http, which would send the bearer token in clear: use https (plain http is accepted only for loopback addresses such as 127.0.0.1)`},
		{"https://usage.example.com", "http://oauth.example.com/v2/token",
			`twilio: config: TokenURL "http://oauth.example.com/v2/token" uses plain http, which would send the client secret in clear: use https (plain http is accepted only for loopback addresses such as 127.0.0.1)`},
		{"http://127.0.0.1:1", "http://localhost:1/v2/token", ""},
		{"http://[::1]:1", "https://oauth.example.com/v2/token", ""},
	} {
		_, err := New(Config{APIURL: tc.api, TokenURL: tc.token, ClientID: testClient, ClientSecret: testSecret})
		want := tc.want
		if want == "" {
			want = "<nil>"
		}
		assertErr(t, err, want)
	}
}

// TestLabelTextCleaned: control, bidi-control and separator characters in
// every text field of a record are replaced by U+FFFD, the same way every
// time, and ordinary text (accents, CJK, emoji, spaces) is left alone.
func TestLabelTextCleaned(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"sms-outbound", "sms-outbound"},
		{"Téléphonie 電話 📞 a b", "Téléphonie 電話 📞 a b"},
		{"esc\x1b[31mred", "esc\uFFFD[31mred"},
		{"nul\x00bel\x07cr\rlf\ntab\tdel\x7f", "nul\uFFFDbel\uFFFDcr\uFFFDlf\uFFFDtab\uFFFDdel\uFFFD"},
		{"c1\u0085\u009b", "c1\uFFFD\uFFFD"},
		{"rlo\u202egpj.exe", "rlo\uFFFDgpj.exe"},
		{"\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069", strings.Repeat("\uFFFD", 11)},
		{"line\u2028para\u2029", "line\uFFFDpara\uFFFD"},
		{"bad\xffutf8", "bad\uFFFDutf8"},
	} {
		if got := cleanText(tc.in); got != tc.want {
			t.Errorf("cleanText(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if again := cleanText(cleanText(tc.in)); again != tc.want {
			t.Errorf("cleanText twice (%q) = %q, want %q", tc.in, again, tc.want)
		}
	}

	// Through the client: every field that becomes a label value. (A
	// currency is refused unless it is an ISO 4217 code, so it never
	// carries such characters.)
	f := newFakeAPI(t)
	f.records = func(int, seenRequest) reply {
		return reply{body: pageJSON("2025-01-31", "",
			`{"productName":"Evil\u202e\u0007","productCategory":"sms\u001b[2J","usage":{"amount":"1","unit":"seg\r\nments"},"price":{"amount":1,"currency":"USD"}}`)}
	}
	c, _ := newTestClient(t, f, nil)
	u, err := c.FetchRecords(context.Background(), testID, thisMonth)
	if err != nil {
		t.Fatal(err)
	}
	r := u.Records[0]
	got := fmt.Sprintf("%+q %+q %+q %+q", r.ProductName, r.ProductCategory, r.UsageUnit, r.Currency)
	if want := `"Evil\ufffd\ufffd" "sms\ufffd[2J" "seg\ufffd\ufffdments" "USD"`; got != want {
		t.Errorf("record text %s, want %s", got, want)
	}
}

// TestRecordBudget: a page may hold more records than page_size asks for
// (they are kept), but the records of one fetch never exceed MaxRecords,
// however they are paged: the fetch fails with an error naming the limit.
func TestRecordBudget(t *testing.T) {
	records := func(n int) []string {
		rs := make([]string, n)
		for i := range rs {
			rs[i] = recordJSON(fmt.Sprintf("cat-%d", i), "1", "1")
		}
		return rs
	}
	big := pageJSON("2025-01-31", "", records(5000)...)

	// 5,000 records on one page where 100 were asked: kept.
	f := newFakeAPI(t)
	f.records = func(int, seenRequest) reply { return reply{body: big} }
	c, _ := newTestClient(t, f, func(c *Config) { c.PageSize = 100 })
	u, err := c.FetchRecords(context.Background(), testID, thisMonth)
	if err != nil || len(u.Records) != 5000 {
		t.Fatalf("one oversized page: %d records, err %v; want 5000", len(u.Records), err)
	}

	// The same page over a budget of 4,999.
	c, _ = newTestClient(t, f, func(c *Config) { c.PageSize = 100; c.MaxRecords = 4999 })
	_, err = c.FetchRecords(context.Background(), testID, thisMonth)
	assertErr(t, err, "twilio: records for "+testMasked+": page 1: more than 4999 records (MaxRecords, twilio.max_records); the page held 5000 records where 100 were asked for")
	// The probe's single pages keep the same budget.
	_, err = c.FetchPage(context.Background(), testID, thisMonth, PageOptions{Encoding: EncodingJSON})
	assertErr(t, err, "twilio: records for "+testMasked+": page 1: more than 4999 records (MaxRecords, twilio.max_records); the page held 5000 records where 100 were asked for")

	// Pages of the size asked for, adding up past the budget.
	f = newFakeAPI(t)
	f.records = func(n int, _ seenRequest) reply {
		return reply{body: pageJSON("2025-01-31", fmt.Sprintf("t%d", n), records(10)...)}
	}
	c, _ = newTestClient(t, f, func(c *Config) { c.PageSize = 10; c.MaxRecords = 25 })
	_, err = c.FetchRecords(context.Background(), testID, thisMonth)
	assertErr(t, err, "twilio: records for "+testMasked+": page 3: more than 25 records (MaxRecords, twilio.max_records)")
	if _, n := f.counts(); n != 3 {
		t.Errorf("%d records requests, want 3 (none after the budget ran out)", n)
	}
}

// TestPageTokenLoopDetectedOnHashes: a repeated token is still caught when
// tokens are long (only their hashes are kept).
func TestPageTokenLoopDetectedOnHashes(t *testing.T) {
	long := strings.Repeat("x", 1<<20)
	f := newFakeAPI(t)
	f.records = func(n int, _ seenRequest) reply {
		tok := long + fmt.Sprint(n)
		if n == 4 {
			tok = long + "2"
		}
		return reply{body: pageJSON("2025-01-31", tok)}
	}
	c, _ := newTestClient(t, f, func(c *Config) { c.Encoding = EncodingJSON })
	_, err := c.FetchRecords(context.Background(), testID, thisMonth)
	assertErr(t, err, "twilio: records for "+testMasked+": page 4: meta.nextToken repeats the one page 2 returned; stopping to avoid an endless loop")
}

// TestUpstreamTextRedactedThenBounded: an error body echoing the bearer token
// or the client secret never shows any of it, not even the part before a
// cut, and every upstream text in an error is one bounded line.
func TestUpstreamTextRedactedThenBounded(t *testing.T) {
	// The Usage API echoes the bearer token in a 60 KB message.
	f := newFakeAPI(t)
	f.records = func(int, seenRequest) reply {
		msg := strings.Repeat("a", 250) + " token tok-1 \x1b[2J " + strings.Repeat("b\n", 15000)
		m, _ := json.Marshal(msg)
		return reply{status: http.StatusBadRequest, body: fmt.Sprintf(`{"code":20001,"message":%s}`, m)}
	}
	c, _ := newTestClient(t, f, nil)
	_, err := c.FetchRecords(context.Background(), testID, thisMonth)
	text := errText(err)
	if strings.Contains(text, "tok-") || strings.ContainsAny(text, "\x1b\n") || len(text) > 400 || !strings.Contains(text, "code 20001: aaa") {
		t.Errorf("Usage API error (%d bytes) holds the token, a control character or too much text:\n%q", len(text), text)
	}

	// A non-JSON error body echoing the bearer token right at the cut.
	f.records = func(int, seenRequest) reply {
		return reply{status: http.StatusForbidden, body: strings.Repeat("c", maxSnippet-4) + "tok-1"}
	}
	_, err = c.FetchRecords(context.Background(), testID, thisMonth)
	if text := errText(err); strings.Contains(text, "tok") || !strings.Contains(text, "[red") {
		t.Errorf("error %q: want the token redacted before the cut", text)
	}

	// The token endpoint echoes the client secret where the snippet is cut.
	for _, status := range []int{http.StatusInternalServerError, http.StatusUnauthorized} {
		f = newFakeAPI(t)
		f.tokenReply = func(int) reply {
			return reply{status: status, header: map[string]string{"Content-Type": "text/plain"},
				body: strings.Repeat("d", maxSnippet-6) + testSecret + "\x07"}
		}
		c, _ = newTestClient(t, f, func(c *Config) { c.MaxAttempts = 1 })
		_, err = c.FetchRecords(context.Background(), testID, thisMonth)
		text := errText(err)
		if strings.Contains(text, testSecret[:4]) || strings.Contains(text, "\x07") || len(text) > 600 {
			t.Errorf("HTTP %d: token endpoint error holds the start of the secret, a control character or too much text:\n%q", status, text)
		}
		// Described errors are redacted before their cut too.
		f.tokenReply = func(int) reply {
			return reply{status: status, header: map[string]string{"Content-Type": "application/json"},
				body: `{"error":"invalid_client","error_description":"` + strings.Repeat("e", maxSnippet-6) + testSecret + `"}`}
		}
		c, _ = newTestClient(t, f, func(c *Config) { c.MaxAttempts = 1 })
		_, err = c.FetchRecords(context.Background(), testID, thisMonth)
		if text := errText(err); strings.Contains(text, testSecret[:4]) || !strings.Contains(text, "eeee") {
			t.Errorf("HTTP %d: described token endpoint error %q: want the description without the secret", status, text)
		}
	}
}

// TestSecretSourceReadForEachToken: with a SecretSource, each
// token request sends the secret as it is then (a rotated secret is used
// without a new client), a cached token is reused without reading it, and a
// source error fails the request without naming the secret.
func TestSecretSourceReadForEachToken(t *testing.T) {
	f := newFakeAPI(t)
	f.records = func(n int, _ seenRequest) reply {
		if n == 3 {
			return reply{status: http.StatusUnauthorized, body: `{"code":20003,"message":"Authenticate"}`}
		}
		return reply{body: pageJSON("2025-01-31", "")}
	}
	var current string
	var sourceErr error
	reads := 0
	c, _ := newTestClient(t, f, func(c *Config) {
		c.SecretSource = func() (string, error) { reads++; return current, sourceErr }
	})
	fetch := func() error { _, err := c.FetchRecords(context.Background(), testID, thisMonth); return err }
	current = "first-secret"
	if err := fetch(); err != nil {
		t.Fatal(err)
	}
	current = "rotated-secret"
	if err := fetch(); err != nil { // the cached token: no token request
		t.Fatal(err)
	}
	if err := fetch(); err != nil { // 401, then a fresh token with the rotated secret
		t.Fatal(err)
	}
	f.mu.Lock()
	var sent []string
	for _, r := range f.tokenReqs {
		for _, kv := range strings.Split(r.Body, "&") {
			if v, ok := strings.CutPrefix(kv, "client_secret="); ok {
				sent = append(sent, v)
			}
		}
	}
	f.mu.Unlock()
	if got := strings.Join(sent, " "); got != "first-secret rotated-secret" || reads != 2 {
		t.Errorf("token requests sent secrets %q after %d reads, want first-secret rotated-secret after 2", got, reads)
	}

	f.tokenReply = func(int) reply { return reply{status: http.StatusUnauthorized, body: "bad " + current} }
	c, _ = newTestClient(t, f, func(c *Config) {
		c.SecretSource = func() (string, error) { return current, nil }
	})
	if err := fetch(); err == nil || strings.Contains(err.Error(), current) {
		t.Errorf("rejected credentials: error %v, want one without the secret", err)
	}
	sourceErr = fmt.Errorf("the file is empty")
	c, _ = newTestClient(t, f, func(c *Config) {
		c.SecretSource = func() (string, error) { return "", sourceErr }
	})
	assertErr(t, fetch(), "twilio: records for "+testMasked+": page 1: get OAuth token: read the client secret: the file is empty")
}

// TestTransportErrorNamesNoPageToken: with request_encoding query the page
// token travels in the query string; a connection that drops on a
// continuation gives an error naming the endpoint, not the token.
func TestTransportErrorNamesNoPageToken(t *testing.T) {
	const token = "pt-do-not-log-me"
	f := newFakeAPI(t)
	f.records = func(n int, _ seenRequest) reply {
		if n == 1 {
			return reply{body: pageJSON("2025-01-31", token, recordJSON("sms", "1", "1"))}
		}
		return reply{hangUp: true}
	}
	c, _ := newTestClient(t, f, func(c *Config) { c.Encoding = EncodingQuery })
	_, err := c.FetchRecords(context.Background(), testID, thisMonth)
	if err == nil || strings.Contains(err.Error(), token) || strings.Contains(err.Error(), "?") {
		t.Fatalf("error %v: want a transport error without the query string", err)
	}
	assertErr(t, err, "twilio: records for "+testMasked+`: page 2: giving up after 4 attempts: Post "`+f.srv.URL+"/v2/Usage/BillingGroups/"+testMasked+`/Records": EOF`)
	if reqs := f.recordRequests(); len(reqs) < 2 || !strings.Contains(reqs[1].RawQuery, token) {
		t.Errorf("the continuation did not send the token in the query string: %+v", reqs)
	}
}

// TestAPITextEscapedInErrors: what a hostile API names or sends (a member
// key, meta.key, an amount, a date) reaches a decode error, and so the log
// and the landing page, with every control and bidi character escaped.
func TestAPITextEscapedInErrors(t *testing.T) {
	good := `{"usage":{"amount":"1"},"price":{"amount":1,"currency":"USD"}}`
	for _, tc := range []struct{ body, want string }{
		{`{"it\u202eems":{},"meta":{"key":"it\u202eems"}}`,
			`response: it\u202eems: is a JSON object, want an array`},
		{`{"a\u001b[2Jb":7,"meta":{"key":"a\u001b[2Jb"}}`,
			`response: a\x1b[2Jb: is a JSON number, want an array`},
		{"{\"x\u2066\u2028y\":\"s\",\"meta\":{\"key\":\"x\u2066\u2028y\"}}",
			`response: x\u2066\u2028y: is a JSON string, want an array`},
		{`{"records":[],"items":[],"meta":{"key":"items"}}`,
			`response has two records arrays, "records" and "items" (named by meta.key)`},
		{`{"meta":{"key":"ev\u202eil\u001b"}}`,
			`response has no records array (neither "records" nor "ev\u202eil\x1b", named by meta.key)`},
		{"{\"records\":[{\"usage\":{\"amount\":\"1\u202e2\"},\"price\":{\"amount\":1,\"currency\":\"USD\"}}]}",
			`record 0: usage.amount: "1\u202e2" is not a number`},
		{"{\"records\":[" + good + ",{\"usage\":{\"amount\":1},\"price\":{\"amount\":{\"\u202e\":1},\"currency\":\"USD\"}}]}",
			`record 1: price.amount: {"\u202e":1} is not a number`},
		{"{\"asOf\":\"2025-01-31\u202e\",\"records\":[]}",
			`asOf: "2025-01-31\u202e" is not a YYYY-MM-DD date or RFC 3339 timestamp`},
	} {
		f := newFakeAPI(t)
		body := tc.body
		f.records = func(int, seenRequest) reply { return reply{body: body} }
		c, _ := newTestClient(t, f, nil)
		_, err := c.FetchRecords(context.Background(), testID, thisMonth)
		if err == nil {
			t.Errorf("%s: fetch succeeded", tc.body)
			continue
		}
		msg := err.Error()
		if !strings.HasSuffix(msg, ": "+tc.want) {
			t.Errorf("error %q\nwant it to end in %q", msg, tc.want)
		}
		if i := strings.IndexFunc(msg, UnsafeRune); i >= 0 {
			t.Errorf("error %+q holds an unsafe character at byte %d", msg, i)
		}
	}
}

// TestBillingGroupIDMaskedInErrors: the ID is a credential. Whatever holds
// it (the client's words, the URL of a failed request, an API message that
// echoes it) shows it masked, and the *APIError is still there to inspect.
func TestBillingGroupIDMaskedInErrors(t *testing.T) {
	f := newFakeAPI(t)
	f.records = func(int, seenRequest) reply {
		return reply{status: http.StatusNotFound, body: `{"code":20404,"message":"Billing group ` + testID + ` not found","status":404}`}
	}
	c, _ := newTestClient(t, f, nil)
	_, err := c.FetchRecords(context.Background(), testID, thisMonth)
	var ae *APIError
	if !errors.As(err, &ae) || ae.StatusCode != http.StatusNotFound {
		t.Fatalf("error %v: want an *APIError with HTTP 404", err)
	}
	assertErr(t, err, "twilio: records for "+testMasked+": page 1: HTTP 404: code 20404: Billing group "+testMasked+" not found")
	if want := "Billing group " + testMasked + " not found"; ae.Message != want {
		t.Errorf("APIError.Message %q, want %q", ae.Message, want)
	}
	_, err = c.FetchPage(context.Background(), testID, thisMonth, PageOptions{Encoding: EncodingJSON})
	if err == nil || strings.Contains(err.Error(), testID) || !strings.Contains(err.Error(), testMasked) {
		t.Errorf("FetchPage error %v: want the ID masked", err)
	}
	// A 404 refuses the period, not the encoding: detection tells nothing
	// and says why, the ID masked.
	d, err := c.Detect(context.Background(), testID)
	if err != nil || len(d.Trials) != 3 {
		t.Fatalf("Detect: %+v, %v: want three trials that could not tell", d, err)
	}
	for _, tr := range d.Trials {
		if tr.Status != http.StatusNotFound || strings.Contains(tr.Detail, testID) || !strings.Contains(tr.Detail, testMasked) {
			t.Errorf("Detect trial %+v: want the 404 with the ID masked", tr)
		}
	}
	f.records = func(int, seenRequest) reply {
		return reply{status: 403, body: `{"code":20403,"message":"Billing group ` + testID + ` is not yours"}`}
	}
	_, err = c.Detect(context.Background(), testID)
	if err == nil || strings.Contains(err.Error(), testID) || !strings.Contains(err.Error(), testMasked) {
		t.Errorf("Detect error %v: want the ID masked", err)
	}
}

// TestRedactionCannotBeBypassed: a hostile endpoint that echoes the bearer
// token or the client secret JSON-escaped, or pads its answer so that the
// read limit cuts through the credential, still gets none of it into an
// error: not the whole, not a readable start, not an escaped start.
func TestRedactionCannotBeBypassed(t *testing.T) {
	escaped := func(s string) string {
		var b strings.Builder
		for _, r := range s {
			fmt.Fprintf(&b, `\u%04X`, r)
		}
		return b.String()
	}
	// padTo returns prefix, blanks and text, so long that a reader of n
	// bytes stops after keep bytes of text.
	padTo := func(n int, prefix, text string, keep int) string {
		return prefix + strings.Repeat(" ", n-len(prefix)-keep) + text
	}
	readLimit := maxErrorBodyBytes + 1
	for _, tc := range []struct {
		name string
		body string
	}{
		{"first character escaped", `{"code":20003,"message":"bad bearer \u0074ok-1"}`},
		{"every character escaped", `{"code":20003,"message":"bad bearer ` + escaped("tok-1") + `"}`},
		{"escaped in a body that is no JSON", `bad bearer ` + escaped("tok-1")},
		{"cut after its start", padTo(readLimit, `{"code":20003,"message":"`, `tok-1"}`, 4)},
		{"cut inside an escape", padTo(readLimit, `{"code":20003,"message":"`, `tok`+escaped("-1")+`"}`, 5)},
		{"escaped and cut", padTo(readLimit, `{"code":20003,"message":"`, escaped("tok-1")+`"}`, 15)},
	} {
		t.Run("records/"+tc.name, func(t *testing.T) {
			f := newFakeAPI(t)
			f.records = func(int, seenRequest) reply {
				return reply{status: http.StatusBadRequest, body: tc.body}
			}
			c, _ := newTestClient(t, f, func(c *Config) { c.MaxAttempts = 1 })
			_, err := c.FetchRecords(context.Background(), testID, thisMonth)
			text := errText(err)
			for _, leak := range []string{"tok", `\u0074`} {
				if strings.Contains(strings.ToLower(text), strings.ToLower(leak)) {
					t.Errorf("error holds %q of the token:\n%q", leak, text)
				}
			}
			if !strings.Contains(text, "HTTP 400") {
				t.Errorf("error %q does not say HTTP 400", text)
			}
		})
	}

	start := testSecret[:4]
	tokenLimit := maxTokenErrorBody
	for _, tc := range []struct {
		name, contentType, body string
	}{
		{"escaped in a JSON description", "application/json", `{"error":"invalid_client","error_description":"bad ` + escaped(testSecret) + `"}`},
		{"escaped in text", "text/plain", "bad secret " + escaped(testSecret)},
		{"cut after its start", "text/plain", padTo(tokenLimit, "bad secret", testSecret, len(testSecret)-2)},
		{"escaped and cut", "text/plain", padTo(tokenLimit, "bad secret", escaped(testSecret), 6*4+3)},
	} {
		for _, status := range []int{http.StatusInternalServerError, http.StatusUnauthorized} {
			t.Run(fmt.Sprintf("token/%s/%d", tc.name, status), func(t *testing.T) {
				f := newFakeAPI(t)
				f.tokenReply = func(int) reply {
					return reply{status: status, header: map[string]string{"Content-Type": tc.contentType}, body: tc.body}
				}
				c, _ := newTestClient(t, f, func(c *Config) { c.MaxAttempts = 1 })
				_, err := c.FetchRecords(context.Background(), testID, thisMonth)
				text := errText(err)
				if strings.Contains(text, start) || strings.Contains(strings.ToLower(text), strings.ToLower(escaped(start[:1]))) {
					t.Errorf("error holds the start of the secret:\n%q", text)
				}
				if !strings.Contains(text, "token endpoint") {
					t.Errorf("error %q does not name the token endpoint", text)
				}
			})
		}
	}
}

// TestRedactBytesForms: each JSON form of each character is recognised,
// hex digits in either case, and a start at the end only when the text was
// cut there.
func TestRedactBytesForms(t *testing.T) {
	for _, tc := range []struct {
		in   string
		cut  bool
		want string
	}{
		{`a s3/x b`, false, `a [redacted] b`},
		{`a s3\/x b`, false, `a [redacted] b`},
		{`a \u0073\u0033\u002F\u0078 b`, false, `a [redacted] b`},
		{`a \u0073\u0033\u002f\u0078 b`, false, `a [redacted] b`},
		{`a s3\u002 b`, false, `a s3\u002 b`},
		{`a s3/`, false, `a s3/`},
		{`a s3/`, true, `a [redacted]`},
		{`a s3\u00`, true, `a [redacted]`},
		{`a s3\`, true, `a [redacted]`},
		{`a s\u0033/x s3/x`, false, `a [redacted] [redacted]`},
		{`s4/x`, true, `s4/x`},
	} {
		if got := string(redactBytes([]byte(tc.in), "s3/x", tc.cut)); got != tc.want {
			t.Errorf("redactBytes(%q, cut=%v) = %q, want %q", tc.in, tc.cut, got, tc.want)
		}
	}
}
