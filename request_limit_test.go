package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/internal/testsupport"
)

// heldWriter is a ResponseWriter whose first Write reports that its scrape
// holds a slot (it is writing the body) and then blocks until release closes.
type heldWriter struct {
	header  http.Header
	writing chan<- struct{}
	release <-chan struct{}
	once    sync.Once
	code    int
}

func (w *heldWriter) Header() http.Header  { return w.header }
func (w *heldWriter) WriteHeader(code int) { w.code = code }
func (w *heldWriter) Write(p []byte) (int, error) {
	w.once.Do(func() {
		w.writing <- struct{}{}
		<-w.release
	})
	return len(p), nil
}

// holdScrapes starts n scrapes of h and returns once all n are inside the
// handler, and a function that lets them finish and waits for them.
func holdScrapes(h http.Handler, n int) (release func()) {
	return holdRequests(h, "/metrics", n)
}

// holdRequests is holdScrapes for GET requests of path.
func holdRequests(h http.Handler, path string, n int) (release func()) {
	writing, done := make(chan struct{}, n), make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		w := &heldWriter{header: http.Header{}, writing: writing, release: done}
		wg.Go(func() { h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil)) })
	}
	for range n {
		<-writing
	}
	return func() { close(done); wg.Wait() }
}

// TestMaxRequestsAnswers503OverTheLimit holds --web.max-requests scrapes in
// flight and checks that the next ones are answered 503 at once with a body
// that names the flag, counted in twilio_exporter_scrapes_rejected_total and
// logged once, and that a scrape is served again once the held ones end.
func TestMaxRequestsAnswers503OverTheLimit(t *testing.T) {
	o := testOptions()
	o.maxRequests = 2
	var logs testsupport.SyncBuffer
	ex, cleanup := newBenchExporterWith(t, o, log.NewLogfmtLogger(&logs), 1, 3)
	defer cleanup()
	h := ex.srv.Handler()

	release := holdScrapes(h, 2)
	for range 3 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		want := "Too many requests at once: 2 scrapes and landing page requests are being served, the limit set by --web.max-requests. Try again later.\n"
		if rec.Code != http.StatusServiceUnavailable || rec.Body.String() != want {
			t.Errorf("scrape over the limit: %d %q, want 503 %q", rec.Code, rec.Body.String(), want)
		}
	}
	release()

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "\ntwilio_exporter_scrapes_rejected_total 3\n") {
		t.Errorf("scrape after the held ones ended: %d, want 200 with twilio_exporter_scrapes_rejected_total 3:\n%s", rec.Code, head(rec.Body.Bytes()))
	}
	if n := strings.Count(logs.String(), "Rejected scrapes over --web.max-requests"); n != 1 || !strings.Contains(logs.String(), "max_requests=2 rejected_since_last_log=1") {
		t.Errorf("%d log lines about rejected scrapes, want 1 (at most one a minute):\n%s", n, logs.String())
	}
}

// TestMaxRequestsZeroMeansNoLimit holds more scrapes than the default limit
// with --web.max-requests=0 and checks the next one is served.
func TestMaxRequestsZeroMeansNoLimit(t *testing.T) {
	o := testOptions()
	o.maxRequests = 0
	ex, cleanup := newBenchExporterWith(t, o, log.NewNopLogger(), 1, 3)
	defer cleanup()
	h := ex.srv.Handler()
	release := holdScrapes(h, 41)
	defer release()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "\ntwilio_exporter_scrapes_rejected_total 0\n") {
		t.Errorf("scrape with 41 in flight and no limit: %d:\n%s", rec.Code, head(rec.Body.Bytes()))
	}
}

// TestMaxRequestsBoundsTheLandingPage: --web.max-requests counts landing
// page requests with scrapes, one limit for both. With 2 landing page
// requests held mid-response, the next landing page request and the next
// scrape are answered 503 at once and counted; once they end, both are
// served again.
func TestMaxRequestsBoundsTheLandingPage(t *testing.T) {
	o := testOptions()
	o.maxRequests = 2
	ex, cleanup := newBenchExporterWith(t, o, log.NewNopLogger(), 1, 3)
	defer cleanup()
	mux := ex.srv.Handler()

	release := holdRequests(mux, "/", 2)
	want := "Too many requests at once: 2 scrapes and landing page requests are being served, the limit set by --web.max-requests. Try again later.\n"
	for _, path := range []string{"/", "/metrics", "/"} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != http.StatusServiceUnavailable || rec.Body.String() != want {
			t.Errorf("GET %s over the limit: %d %q, want 503 %q", path, rec.Code, rec.Body.String(), want)
		}
	}
	release()

	for _, path := range []string{"/", "/metrics"} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != http.StatusOK {
			t.Errorf("GET %s after the held ones ended: %d", path, rec.Code)
		}
		if path == "/metrics" && !strings.Contains(rec.Body.String(), "\ntwilio_exporter_scrapes_rejected_total 3\n") {
			t.Errorf("after 3 rejections: want twilio_exporter_scrapes_rejected_total 3:\n%s", head(rec.Body.Bytes()))
		}
	}
}

// TestScrapePastItsDeadlineWhileEncodingIs503: a scrape whose deadline has
// passed while the metrics of a new state are still being encoded (here,
// before it arrives: 200 groups x 200 categories take far longer to encode
// than the scrape to look) is answered 503, not with the process-wide
// metrics alone, which would make every billing group series look gone;
// the next scrape is served the encoding that went on.
func TestScrapePastItsDeadlineWhileEncodingIs503(t *testing.T) {
	var logs testsupport.SyncBuffer
	// The first scrape's deadline has passed before it starts; the next one
	// waits as long as the encoding takes (an hour only catches a hang: 40,000
	// series under the race detector on a loaded machine take many seconds).
	o := testOptions()
	o.scrapeTimeout, o.timeoutOffset = time.Hour, 0
	ex, cleanup := newBenchExporterWith(t, o, log.NewLogfmtLogger(&logs), 200, 200)
	defer cleanup()
	h := ex.srv.Handler()

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil).WithContext(ctx))
	if want := "The billing group metrics are still being encoded; the scrape's deadline passed first. Try again.\n"; rec.Code != http.StatusServiceUnavailable || rec.Body.String() != want || rec.Header().Get("Retry-After") != "1" {
		t.Errorf("scrape past its deadline: %d %q, want 503 %q with Retry-After", rec.Code, rec.Body.String(), want)
	}
	if !strings.Contains(logs.String(), "Scrape answered 503: its deadline passed before the metrics of the new state were encoded") {
		t.Errorf("no log line about the 503:\n%s", logs.String())
	}

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if n := strings.Count(rec.Body.String(), "\ntwilio_billing_group_cost{"); rec.Code != http.StatusOK || n != 200*200 {
		t.Errorf("next scrape: %d with %d cost series, want 200 with %d", rec.Code, n, 200*200)
	}
}
