package exporter

import (
	"bytes"
	"testing"

	"github.com/go-kit/log"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/twilio"
)

// TestLogNoneHonoured: when no encoding is honoured, the log says so at
// warn level with each answer, and names what to do.
func TestLogNoneHonoured(t *testing.T) {
	var buf bytes.Buffer
	logLearned(log.NewLogfmtLogger(&buf))(twilio.Learned{BillingGroup: "commerce_billingprofile_ABCDEF123", Detection: &twilio.Detection{
		Encoding: twilio.EncodingJSON,
		Trials: []twilio.EncodingTrial{
			{Encoding: twilio.EncodingJSON, Status: 200, Detail: "meta.pageSize 50"},
			{Encoding: twilio.EncodingQuery, Status: 200, Detail: "meta.pageSize 50"},
			{Encoding: twilio.EncodingForm, Status: 415, Detail: "HTTP 415"},
		},
	}})
	want := `level=warn billing_group_id=commerce_billingprofile_…F123 msg="The Usage API honoured the request parameters in no encoding; this group sends them as JSON and detects again later. Run --twilio.probe and set twilio.request_encoding" answers="json: meta.pageSize 50; query: meta.pageSize 50; form: HTTP 415"` + "\n"
	if buf.String() != want {
		t.Errorf("logged\n%s\nwant\n%s", buf.String(), want)
	}
}
