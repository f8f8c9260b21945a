package usagesim_test

import (
	"fmt"
	"time"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim"
)

// The demo groups' data is a pure function of the clock.
func ExampleServer_Records() {
	now := time.Date(2026, time.March, 15, 12, 0, 0, 0, time.UTC)
	s := usagesim.New(usagesim.Options{Now: func() time.Time { return now }})
	records, asOf := s.Records("commerce_billingprofile_DEMO02SUPPORT", "THIS_MONTH")
	fmt.Println("asOf", asOf)
	for _, r := range records[len(records)-3:] {
		fmt.Printf("%s %s..%s %s %s = %v %s\n", r.ProductCategory, r.StartDate, r.EndDate,
			r.Usage.Amount, r.Usage.Unit, r.Price.Amount, r.Price.Currency)
	}
	// Output:
	// asOf 2026-03-15
	// voice-intelligence 2026-03-01..2026-03-15 4109.844 minutes = 142.74 EUR
	// whatsapp-outbound 2026-03-01..2026-03-15 13048 conversations = 194.08 EUR
	// whatsapp-outbound 2026-03-01..2026-03-15 75441 messages = 407.25 EUR
}

// Start serves a simulated API on a free loopback port, as demo mode does.
func ExampleStart() {
	in, err := usagesim.Start(usagesim.New(usagesim.Options{}), "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer in.Close()
	fmt.Println(in.TokenURL == in.URL+"/v2/token")
	// Output: true
}
