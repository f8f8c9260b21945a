package collector

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestRequestCountersStartAtZero: every endpoint's usual codes are exposed
// at 0 from the start, so that increase() sees a first 429 as 1, not as the
// birth of a series.
func TestRequestCountersStartAtZero(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := NewRequestMetrics(reg)
	want := `# HELP twilio_exporter_api_requests_total HTTP requests the exporter made to Twilio, by endpoint (token, records) and status code ("error" when no response arrived).
# TYPE twilio_exporter_api_requests_total counter
twilio_exporter_api_requests_total{code="200",endpoint="records"} 0
twilio_exporter_api_requests_total{code="200",endpoint="token"} 0
twilio_exporter_api_requests_total{code="400",endpoint="records"} 0
twilio_exporter_api_requests_total{code="400",endpoint="token"} 0
twilio_exporter_api_requests_total{code="401",endpoint="records"} 0
twilio_exporter_api_requests_total{code="401",endpoint="token"} 0
twilio_exporter_api_requests_total{code="403",endpoint="records"} 0
twilio_exporter_api_requests_total{code="403",endpoint="token"} 0
twilio_exporter_api_requests_total{code="404",endpoint="records"} 0
twilio_exporter_api_requests_total{code="404",endpoint="token"} 0
twilio_exporter_api_requests_total{code="429",endpoint="records"} 1
twilio_exporter_api_requests_total{code="429",endpoint="token"} 0
twilio_exporter_api_requests_total{code="500",endpoint="records"} 0
twilio_exporter_api_requests_total{code="500",endpoint="token"} 0
twilio_exporter_api_requests_total{code="502",endpoint="records"} 0
twilio_exporter_api_requests_total{code="502",endpoint="token"} 0
twilio_exporter_api_requests_total{code="503",endpoint="records"} 0
twilio_exporter_api_requests_total{code="503",endpoint="token"} 0
twilio_exporter_api_requests_total{code="504",endpoint="records"} 0
twilio_exporter_api_requests_total{code="504",endpoint="token"} 0
twilio_exporter_api_requests_total{code="error",endpoint="records"} 0
twilio_exporter_api_requests_total{code="error",endpoint="token"} 0
`
	m.Observe("records", 429, 10*time.Millisecond)
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "twilio_exporter_api_requests_total"); err != nil {
		t.Error(err)
	}
	// The histogram of each endpoint exists too, empty until a request.
	if n := testutil.CollectAndCount(m.duration); n != 2 {
		t.Errorf("duration histograms = %d, want one per endpoint", n)
	}
}
