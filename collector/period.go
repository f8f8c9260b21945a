package collector

import (
	"time"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/twilio"
)

// Period is a reporting window the cache keeps a snapshot of for each group.
type Period int

// The periods, in the order they are reported. Each group fetches those it
// gives a lifetime (Group.TTL): month to date always, the others if
// configured.
const (
	ThisMonth  Period = iota // 00:00 UTC on the 1st until now
	Yesterday                // the previous UTC day
	LastMonth                // the previous UTC month
	ThisYear                 // 00:00 UTC on 1 January until now
	NumPeriods               // how many periods there are
)

// String is the period's name as in config and logs.
func (p Period) String() string {
	return [...]string{"this_month", "yesterday", "last_month", "this_year"}[p]
}

// timePeriod is the Usage API's name of the period.
func (p Period) timePeriod() twilio.TimePeriod {
	return [...]twilio.TimePeriod{twilio.ThisMonth, twilio.Yesterday, twilio.LastMonth, twilio.ThisYear}[p]
}

// Bounds returns the start and end (UTC, end exclusive) of the period a
// fetch made at now covers. A snapshot is served only while its start is
// still the period's start: yesterday's snapshot is never served as the next
// yesterday, nor last month's as this month's, nor last year's as this
// year's.
func (p Period) Bounds(now time.Time) (start, end time.Time) {
	now = now.UTC()
	switch p {
	case Yesterday:
		today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
		return today.AddDate(0, 0, -1), today
	case LastMonth:
		month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
		return month.AddDate(0, -1, 0), month
	case ThisYear:
		year := time.Date(now.Year(), time.January, 1, 0, 0, 0, 0, time.UTC)
		return year, year.AddDate(1, 0, 0)
	default:
		month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
		return month, month.AddDate(0, 1, 0)
	}
}
