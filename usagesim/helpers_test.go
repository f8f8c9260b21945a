package usagesim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/internal/testsupport"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// Billing groups used by most tests.
const (
	groupA = "commerce_billingprofile_TESTA1"
	groupB = "commerce_billingprofile_TESTB2"
	groupC = "commerce_billingprofile_TESTC3"
)

func testGroups() []Group {
	return []Group{
		{ID: groupA, Name: "alpha", Currency: "USD", Categories: 6, Scale: 2, Seed: 1},
		{ID: groupB, Name: "beta", Currency: "EUR", Categories: 3, Scale: 1, Seed: 2},
		{ID: groupC, Name: "gamma", Currency: "GBP", Categories: 4, Scale: 0.5, Seed: 3},
	}
}

// midMarch is the default test time: 15 March 2026, 12:00 UTC.
var midMarch = time.Date(2026, time.March, 15, 12, 0, 0, 0, time.UTC)

// harness is a Server behind httptest with a settable clock.
type harness struct {
	t     *testing.T
	s     *Server
	ts    *httptest.Server
	clock *testsupport.Clock
}

// newHarness serves opts (test groups and a clock at midMarch unless set).
func newHarness(t *testing.T, opts Options) *harness {
	t.Helper()
	clock := testsupport.NewClock(midMarch)
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	if opts.Groups == nil {
		opts.Groups = testGroups()
	}
	s := New(opts)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return &harness{t: t, s: s, ts: ts, clock: clock}
}

// answer is a complete HTTP answer.
type answer struct {
	status int
	header http.Header
	body   string
}

// do sends a request and reads the whole answer.
func (h *harness) do(req *http.Request) answer {
	h.t.Helper()
	resp, err := h.ts.Client().Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatalf("%s %s: read body: %v", req.Method, req.URL, err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// request builds a request to a path of the test server.
func (h *harness) request(method, path, contentType, body string) *http.Request {
	h.t.Helper()
	req, err := http.NewRequest(method, h.ts.URL+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return req
}

// tokenRequest posts form values to the token endpoint.
func (h *harness) tokenRequest(form url.Values) answer {
	h.t.Helper()
	return h.do(h.request(http.MethodPost, "/v2/token", "application/x-www-form-urlencoded", form.Encode()))
}

// token returns a fresh bearer token for the default credentials.
func (h *harness) token() string {
	h.t.Helper()
	a := h.tokenRequest(url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {DefaultClientID},
		"client_secret": {DefaultClientSecret},
	})
	if a.status != http.StatusOK {
		h.t.Fatalf("token: status %d, body %s", a.status, a.body)
	}
	var tok tokenAnswer
	if err := json.Unmarshal([]byte(a.body), &tok); err != nil {
		h.t.Fatalf("token: %v", err)
	}
	return tok.AccessToken
}

// recordsPath is the records endpoint path of a group.
func recordsPath(group string) string {
	return "/v2/Usage/BillingGroups/" + group + "/Records"
}

// post sends a records request with a JSON body of params and a bearer token.
func (h *harness) post(group, token string, params map[string]any) answer {
	h.t.Helper()
	b, err := json.Marshal(params)
	if err != nil {
		h.t.Fatal(err)
	}
	req := h.request(http.MethodPost, recordsPath(group), "application/json", string(b))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return h.do(req)
}

// page decodes a successful records answer.
func (h *harness) page(a answer) WirePage {
	h.t.Helper()
	if a.status != http.StatusOK {
		h.t.Fatalf("records: status %d, body %s", a.status, a.body)
	}
	var p WirePage
	dec := json.NewDecoder(bytes.NewReader([]byte(a.body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		h.t.Fatalf("records: decode %s: %v", a.body, err)
	}
	return p
}

// walk fetches every page of a query and returns all records and the pages.
func (h *harness) walk(group, token string, params map[string]any) ([]WireRecord, []WirePage) {
	h.t.Helper()
	var recs []WireRecord
	var pages []WirePage
	p := map[string]any{}
	for k, v := range params {
		p[k] = v
	}
	for i := 0; ; i++ {
		if i > 10000 {
			h.t.Fatal("walk: more than 10000 pages")
		}
		pg := h.page(h.post(group, token, p))
		pages = append(pages, pg)
		recs = append(recs, pg.Records...)
		if pg.Meta.NextToken == nil {
			return recs, pages
		}
		p[paramPageToken] = *pg.Meta.NextToken
	}
}

// milli parses a usage amount into thousandths of a unit.
func milli(t *testing.T, amount string) int64 {
	t.Helper()
	whole, frac, _ := strings.Cut(amount, ".")
	if len(frac) > 3 {
		t.Fatalf("amount %q has more than 3 decimals", amount)
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		t.Fatalf("amount %q: %v", amount, err)
	}
	f := int64(0)
	if frac != "" {
		f, err = strconv.ParseInt((frac + "00")[:3], 10, 64)
		if err != nil {
			t.Fatalf("amount %q: %v", amount, err)
		}
	}
	return w*1000 + f
}

// cents converts a price amount to hundredths, failing on finer precision.
func cents(t *testing.T, amount float64) int64 {
	t.Helper()
	c := int64(amount*100 + 0.5)
	if float64(c)/100 != amount {
		t.Fatalf("price %v is not in cents", amount)
	}
	return c
}

// userErrorBody is the newer Twilio error body of a 400.
func userErrorBody(message, params string) string {
	return `{"code":20001,"message":"` + message + `","httpStatusCode":400,"params":` + params + `,"userError":true}`
}
