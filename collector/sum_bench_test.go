package collector

import (
	"fmt"
	"testing"
	"time"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/internal/testsupport"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/twilio"
)

// BenchmarkSnapshot turns a month of DAILY rows (40 products, 31 days) into a
// snapshot: the checks and exact sums of Sum, then the float64 samples.
func BenchmarkSnapshot(b *testing.B) {
	start, end := ThisMonth.Bounds(time.Date(2026, 12, 31, 12, 0, 0, 0, time.UTC), time.January)
	u := &twilio.Usage{}
	for d := range 31 {
		day := start.AddDate(0, 0, d)
		for p := range 40 {
			u.Records = append(u.Records, twilio.Record{
				ProductName: fmt.Sprintf("Product-%02d", p), ProductCategory: fmt.Sprintf("category-%02d", p/2),
				StartDate: day, EndDate: day, UsageUnit: "units", Currency: "USD",
				UsageAmount: testsupport.Decimal(fmt.Sprintf("%d.%03d", 1000+p, d)),
				PriceAmount: testsupport.Decimal(fmt.Sprintf("%d.%02d", p, d)),
				Page:        1 + len(u.Records)/100, Index: len(u.Records) % 100,
			})
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		t, err := Sum(u.Records, start, end)
		if err != nil {
			b.Fatal(err)
		}
		_ = newSnapshot(Group{}, u, t, start, end, end)
	}
}
