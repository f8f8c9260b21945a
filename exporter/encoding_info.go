package exporter

import (
	"sync/atomic"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/twilio"
)

// Values of the detection label of twilio_exporter_request_encoding_info.
const (
	detectionConfigured   = "configured"    // an explicit encoding, no detection
	detectionPending      = "pending"       // auto, nothing learnt yet
	detectionFound        = "found"         // auto learnt an encoding the API honours
	detectionNoneHonoured = "none_honoured" // auto found none; JSON is sent
)

// encodingInfo exports where the current client sends its request
// parameters, as twilio_exporter_request_encoding_info. A reload that
// changes the twilio section swaps the client, and the new one learns again.
type encodingInfo struct {
	desc   *prometheus.Desc
	client atomic.Pointer[twilio.Client]
}

func newEncodingInfo() *encodingInfo {
	return &encodingInfo{desc: prometheus.NewDesc(
		"twilio_exporter_request_encoding_info",
		"Where the Usage API request parameters travel: setting is twilio.request_encoding; encoding is the one in use (unknown until auto has learnt it); detection is configured, pending, found or none_honoured (no encoding was honoured and JSON is sent).",
		[]string{"setting", "encoding", "detection"}, nil,
	)}
}

// Describe implements prometheus.Collector.
func (t *encodingInfo) Describe(ch chan<- *prometheus.Desc) { ch <- t.desc }

// Collect implements prometheus.Collector.
func (t *encodingInfo) Collect(ch chan<- prometheus.Metric) {
	c := t.client.Load()
	if c == nil {
		return
	}
	tr := c.RequestShape()
	encoding, detection := string(tr.Encoding), detectionConfigured
	if tr.Setting == twilio.EncodingAuto {
		switch d := tr.Detection; {
		case d == nil:
			encoding, detection = "unknown", detectionPending
		case d.Honoured:
			detection = detectionFound
		default:
			detection = detectionNoneHonoured
		}
	}
	ch <- prometheus.MustNewConstMetric(t.desc, prometheus.GaugeValue, 1, string(tr.Setting), encoding, detection)
}

// logLearned logs what a client learnt about the API's transport: once per
// client for the encoding found (each time none is found), once for each
// change in how continuations are sent.
func logLearned(logger log.Logger) func(twilio.Learned) {
	return func(l twilio.Learned) {
		logger := log.With(logger, "billing_group_id", twilio.MaskBillingGroupID(l.BillingGroup))
		switch d := l.Detection; {
		case d != nil && d.Honoured:
			level.Info(logger).Log("msg", "Learnt where the Usage API reads request parameters",
				"request_encoding", d.Encoding, "answers", d.Answers())
		case d != nil:
			level.Warn(logger).Log("msg", "The Usage API honoured the request parameters in no encoding; this group sends them as JSON and detects again later. Run --twilio.probe and set twilio.request_encoding",
				"answers", d.Answers())
		case l.Continuation != nil:
			level.Info(logger).Log("msg", "The Usage API refused how continuations were sent; they are sent with "+l.Continuation.String()+" from now on",
				"refusal", l.Refusal)
		}
	}
}

// logWaiting logs each wait before a retry, with what the API asked for:
// a refresh that takes long because the API throttles says so.
func logWaiting(logger log.Logger) func(twilio.Wait) {
	return func(w twilio.Wait) {
		kv := []any{"msg", "Waiting to retry the Usage API", "endpoint", w.Endpoint, "billing_group_id", w.BillingGroup,
			"attempt", w.Attempt, "wait", w.Delay}
		if w.RetryAfter > 0 {
			kv = append(kv, "retry_after", w.RetryAfter)
		}
		level.Warn(logger).Log(append(kv, "err", w.Err)...)
	}
}
