package twilio

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	testID     = "commerce_billingprofile_ABC123"
	testMasked = "commerce_billingprofile_…C123" // testID as errors show it
	testClient = "OQtestclient"
	testSecret = "s3cr3t-value-never-printed"
)

// reply is one scripted HTTP answer.
type reply struct {
	status int // 0 means 200
	header map[string]string
	body   string
	hangUp bool // close the connection without answering
}

// seenRequest is what the fake API recorded about one request.
type seenRequest struct {
	Method, Path, EscapedPath, RawQuery, ContentType, Body, Auth, UserAgent string
}

// fakeAPI is a token endpoint and a Records endpoint on one httptest server.
type fakeAPI struct {
	srv *httptest.Server

	mu         sync.Mutex
	tokenReply func(n int) reply                // n counts token calls from 1; nil: a fresh token
	records    func(n int, r seenRequest) reply // n counts records calls from 1
	tokenReqs  []seenRequest
	recordReqs []seenRequest
	expiresIn  int
}

func newFakeAPI(t *testing.T) *fakeAPI {
	t.Helper()
	f := &fakeAPI{expiresIn: 3600}
	mux := http.NewServeMux()
	mux.HandleFunc("/oauth/token", func(w http.ResponseWriter, r *http.Request) {
		sr := record(r)
		f.mu.Lock()
		f.tokenReqs = append(f.tokenReqs, sr)
		n, fn, exp := len(f.tokenReqs), f.tokenReply, f.expiresIn
		f.mu.Unlock()
		rep := reply{header: map[string]string{"Content-Type": "application/json"},
			body: fmt.Sprintf(`{"access_token":"tok-%d","token_type":"Bearer","expires_in":%d}`, n, exp)}
		if fn != nil {
			rep = fn(n)
		}
		write(w, rep)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		sr := record(r)
		f.mu.Lock()
		f.recordReqs = append(f.recordReqs, sr)
		n, fn := len(f.recordReqs), f.records
		f.mu.Unlock()
		if fn == nil {
			write(w, reply{body: pageJSON("2025-01-31", "")})
			return
		}
		write(w, fn(n, sr))
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func record(r *http.Request) seenRequest {
	b, _ := io.ReadAll(r.Body)
	return seenRequest{
		Method: r.Method, Path: r.URL.Path, EscapedPath: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery,
		ContentType: r.Header.Get("Content-Type"), Body: string(b),
		Auth: r.Header.Get("Authorization"), UserAgent: r.Header.Get("User-Agent"),
	}
}

func write(w http.ResponseWriter, rep reply) {
	if rep.hangUp {
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
		}
		return
	}
	for k, v := range rep.header {
		w.Header().Set(k, v)
	}
	if rep.status == 0 {
		rep.status = http.StatusOK
	}
	w.WriteHeader(rep.status)
	_, _ = io.WriteString(w, rep.body)
}

func (f *fakeAPI) counts() (token, records int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.tokenReqs), len(f.recordReqs)
}

func (f *fakeAPI) recordRequests() []seenRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seenRequest(nil), f.recordReqs...)
}

// sleeper records the waits the client asks for instead of waiting.
type sleeper struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *sleeper) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeper) got() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

// newTestClient returns a client of f that never really sleeps and uses no
// jitter; edit adjusts the config first.
func newTestClient(t *testing.T, f *fakeAPI, edit func(*Config)) (*Client, *sleeper) {
	t.Helper()
	s := &sleeper{}
	cfg := Config{
		APIURL:       f.srv.URL,
		TokenURL:     f.srv.URL + "/oauth/token",
		ClientID:     testClient,
		ClientSecret: testSecret,
		HTTPClient:   f.srv.Client(),
		Sleep:        s.sleep,
		Jitter:       func(time.Duration) time.Duration { return 0 },
	}
	if edit != nil {
		edit(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c, s
}

// pageJSON returns a Records response body.
func pageJSON(asOf, next string, records ...string) string {
	if records == nil {
		records = []string{}
	}
	meta := map[string]any{"key": "items", "pageSize": 20}
	if next != "" {
		meta["nextToken"] = next
	}
	m, _ := json.Marshal(meta)
	return fmt.Sprintf(`{"asOf":%q,"records":[%s],"meta":%s}`, asOf, strings.Join(records, ","), m)
}

// recordJSON returns one record with the given category and amounts, the
// amounts inserted verbatim.
func recordJSON(category, usage, price string) string {
	return fmt.Sprintf(`{"productName":"Product %s","productCategory":%q,"startDate":"2025-01-01","endDate":"2025-01-31",`+
		`"usage":{"amount":%s,"unit":"segments"},"price":{"amount":%s,"currency":"USD"}}`, category, category, usage, price)
}

var thisMonth = Query{TimePeriod: ThisMonth}

// errText returns err's text, or "<nil>".
func errText(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

func assertErr(t *testing.T, err error, want string) {
	t.Helper()
	if got := errText(err); got != want {
		t.Errorf("error:\n got: %s\nwant: %s", got, want)
	}
}

// TriggeredDeadline is a context whose deadline passes when Fire is called
// rather than at a time, so a test can end a fetch at the step it chooses
// (say, once the request is in flight) however fast the machine is. Err then
// reports context.DeadlineExceeded, as a real deadline does. Exported for the
// twilio_test package's tests.
type TriggeredDeadline struct {
	context.Context
	done chan struct{}
	once sync.Once
}

// NewTriggeredDeadline returns a TriggeredDeadline under parent.
func NewTriggeredDeadline(parent context.Context) *TriggeredDeadline {
	return &TriggeredDeadline{Context: parent, done: make(chan struct{})}
}

// Fire makes the deadline pass.
func (d *TriggeredDeadline) Fire() { d.once.Do(func() { close(d.done) }) }

// Done implements context.Context.
func (d *TriggeredDeadline) Done() <-chan struct{} { return d.done }

// Err implements context.Context.
func (d *TriggeredDeadline) Err() error {
	select {
	case <-d.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}
