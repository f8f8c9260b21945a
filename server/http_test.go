package server

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestServerTimeoutsCoverEveryScrape: the server bounds reading a request
// and idle connections, and its WriteTimeout is longer than the longest wait
// any scrape may be given, whatever its timeout header says.
func TestServerTimeoutsCoverEveryScrape(t *testing.T) {
	for _, o := range []Options{
		{ScrapeTimeout: 10 * time.Second, TimeoutOffset: 500 * time.Millisecond, TwilioTimeout: 2 * time.Minute}, // the defaults
		{ScrapeTimeout: 10 * time.Minute, TwilioTimeout: time.Minute},
		{ScrapeTimeout: time.Second, TwilioTimeout: 30 * time.Minute},
	} {
		srv := HTTPServer(http.NotFoundHandler(), o)
		if srv.ReadHeaderTimeout <= 0 || srv.ReadTimeout <= 0 || srv.IdleTimeout <= 0 {
			t.Errorf("%+v: read header %v, read %v, idle %v; want all set", o, srv.ReadHeaderTimeout, srv.ReadTimeout, srv.IdleTimeout)
		}
		for _, header := range []string{"", "Inf", "86400", "1e10", "60"} {
			r := httptest.NewRequest(http.MethodGet, "/metrics", nil)
			r.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", header)
			wait := min(ScrapeTimeout(r, o.ScrapeTimeout, o.TimeoutOffset), o.LongestScrapeWait())
			if srv.WriteTimeout < wait+writeMargin {
				t.Errorf("%+v, header %q: the scrape may wait %v but WriteTimeout is %v", o, header, wait, srv.WriteTimeout)
			}
		}
	}
}
