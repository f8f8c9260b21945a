package collector

import "github.com/twilio-billing-exporter/twilio_billing_exporter/twilio"

// Query is the Usage API request for period p: what a refresh sends, and
// what a first-contact probe tries.
func (p Period) Query() twilio.Query {
	return twilio.Query{TimePeriod: p.timePeriod()}
}
