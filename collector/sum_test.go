package collector

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/twilio"
)

// at places a record in an answer and dates it.
func at(r twilio.Record, page, index int, from, to string) twilio.Record {
	r.Page, r.Index = page, index
	if from != "" {
		r.StartDate = date(from)
	}
	if to != "" {
		r.EndDate = date(to)
	}
	return r
}

func TestSumRefusesWhatWouldBeCountedTwiceOrIsOutOfPeriod(t *testing.T) {
	start, end := ThisMonth.Bounds(time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC), time.January)
	sms := rec("United States-Outbound-SMS", "sms-outbound", "segments", 100, 0.79, "USD")
	ca := rec("Canada-Outbound-SMS", "sms-outbound", "segments", 10, 0.08, "USD")
	for _, tc := range []struct {
		name    string
		records []twilio.Record
		want    string
	}{
		{"inside", []twilio.Record{at(sms, 1, 0, "2026-11-01", "2026-11-26"), at(sms, 1, 1, "2026-11-27", "2026-11-30")}, ""},
		{"no dates: the whole period", []twilio.Record{sms, ca}, ""},
		{"ends before the period", []twilio.Record{at(sms, 1, 0, "", "2026-10-31")},
			`page 1 record 0 ("sms-outbound" "United States-Outbound-SMS", segments USD, ? to 2026-10-31) lies outside the period (2026-11-01 to 2026-11-30): the API answered for another period`},
		{"ends after the period", []twilio.Record{at(ca, 1, 0, "2026-11-01", "2026-11-30"), at(sms, 2, 3, "2026-11-01", "2026-12-01")},
			`page 2 record 3 ("sms-outbound" "United States-Outbound-SMS", segments USD, 2026-11-01 to 2026-12-01) lies outside the period (2026-11-01 to 2026-11-30): the API answered for another period`},
		{"starts before the period", []twilio.Record{at(sms, 1, 0, "2026-10-31", "2026-11-05")},
			`page 1 record 0 ("sms-outbound" "United States-Outbound-SMS", segments USD, 2026-10-31 to 2026-11-05) lies outside the period (2026-11-01 to 2026-11-30): the API answered for another period`},
		{"ends before it starts", []twilio.Record{at(sms, 1, 0, "2026-11-05", "2026-11-04")},
			`page 1 record 0 ("sms-outbound" "United States-Outbound-SMS", segments USD, 2026-11-05 to 2026-11-04) ends before it starts`},
		{"a roll-up beside its days", []twilio.Record{
			at(sms, 1, 0, "2026-11-01", "2026-11-01"), at(sms, 1, 1, "2026-11-02", "2026-11-02"), at(ca, 1, 2, "2026-11-01", "2026-11-30"),
			at(sms, 1, 3, "2026-11-03", "2026-11-03"), at(sms, 2, 0, "2026-11-01", "2026-11-03")},
			`page 1 record 0 ("sms-outbound" "United States-Outbound-SMS", segments USD, 2026-11-01 to 2026-11-01) overlaps page 2 record 0 ("sms-outbound" "United States-Outbound-SMS", segments USD, 2026-11-01 to 2026-11-03) (and 2 more overlapping records): the same usage would be counted twice`},
		{"a row repeated across pages", []twilio.Record{at(ca, 1, 0, "2026-11-01", "2026-11-01"), at(ca, 1, 1, "2026-11-02", "2026-11-02"), at(ca, 2, 0, "2026-11-02", "2026-11-02")},
			`page 1 record 1 ("sms-outbound" "Canada-Outbound-SMS", segments USD, 2026-11-02 to 2026-11-02) overlaps page 2 record 0 ("sms-outbound" "Canada-Outbound-SMS", segments USD, 2026-11-02 to 2026-11-02): the same usage would be counted twice`},
		{"a dated row beside an undated one", []twilio.Record{at(ca, 1, 0, "", ""), at(ca, 1, 1, "2026-11-30", "2026-11-30")},
			`page 1 record 0 ("sms-outbound" "Canada-Outbound-SMS", segments USD) overlaps page 1 record 1 ("sms-outbound" "Canada-Outbound-SMS", segments USD, 2026-11-30 to 2026-11-30): the same usage would be counted twice`},
		{"same days, other currency, unit or product: not an overlap", []twilio.Record{
			at(ca, 1, 0, "2026-11-01", "2026-11-30"),
			at(rec("Canada-Outbound-SMS", "sms-outbound", "segments", 1, 1, "CAD"), 1, 1, "2026-11-01", "2026-11-30"),
			at(rec("Canada-Outbound-SMS", "sms-outbound", "messages", 1, 1, "USD"), 1, 2, "2026-11-01", "2026-11-30"),
			at(sms, 1, 3, "2026-11-01", "2026-11-30")}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			totals, err := Sum(tc.records, start, end)
			if got := errText(err); got != tc.want {
				t.Errorf("error:\n got: %s\nwant: %s", got, tc.want)
			}
			if (err == nil) == (totals == nil) {
				t.Errorf("totals %v with error %v", totals, err)
			}
		})
	}
}

// TestSumDailyRowsEqualTheMonthlyRow: DAILY rows add up to exactly the
// MONTHLY figures, without float64's binary rounding.
func TestSumDailyRowsEqualTheMonthlyRow(t *testing.T) {
	start, end := LastMonth.Bounds(time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC), time.January)
	var daily []twilio.Record
	var floatSum float64
	for d := range 30 {
		// 0.01 + 0.02 + ... + 0.30 = 4.65; a float64 sum misses it.
		price := float64(d+1) / 100
		floatSum += price
		day := start.AddDate(0, 0, d).Format(twilio.DateLayout)
		daily = append(daily, at(rec("United States-Outbound-SMS", "sms-outbound", "segments", 0.1, price, "USD"), 1+d/10, d%10, day, day))
	}
	if floatSum == 4.65 {
		t.Fatal("the float64 sum is exact: the test shows nothing")
	}
	monthly := []twilio.Record{at(rec("United States-Outbound-SMS", "sms-outbound", "segments", 3, 4.65, "USD"), 1, 0, "2026-11-01", "2026-11-30")}
	byDay, err := Sum(daily, start, end)
	if err != nil {
		t.Fatal(err)
	}
	byMonth, err := Sum(monthly, start, end)
	if err != nil {
		t.Fatal(err)
	}
	for _, totals := range []*Totals{byDay, byMonth} {
		got := fmt.Sprintf("%s %s", totals.Costs[0].Amount.String(), totals.Usages[0].Amount.String())
		if f := totals.Costs[0].Amount.Float64(); f != 4.65 || (got != "4.65 3.0" && got != "4.65 3") {
			t.Errorf("totals %s (cost as float64 %v), want 4.65 and 3", got, f)
		}
	}
	want := []Product{{Category: "sms-outbound", Name: "United States-Outbound-SMS"}}
	if !reflect.DeepEqual(byDay.Products, want) || !reflect.DeepEqual(byMonth.Products, want) {
		t.Errorf("products %v and %v, want %v", byDay.Products, byMonth.Products, want)
	}
}
