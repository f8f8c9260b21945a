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
	ThisYear                 // 00:00 UTC on the 1st of the year's first month until now
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
// fetch made at now covers. The year (ThisYear) starts at 00:00 UTC on the
// 1st of yearStart: January (or 0) for the calendar year, another month for
// a fiscal year (fiscal_year_start); the other periods ignore it. A snapshot
// is served only while its start is still the period's start: yesterday's
// snapshot is never served as the next yesterday, nor last month's as this
// month's, nor last year's as this year's.
func (p Period) Bounds(now time.Time, yearStart time.Month) (start, end time.Time) {
	now = now.UTC()
	switch p {
	case Yesterday:
		today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
		return today.AddDate(0, 0, -1), today
	case LastMonth:
		month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
		return month.AddDate(0, -1, 0), month
	case ThisYear:
		yearStart = max(yearStart, time.January)
		year := now.Year()
		if now.Month() < yearStart {
			year-- // a fiscal year that began last calendar year
		}
		start := time.Date(year, yearStart, 1, 0, 0, 0, 0, time.UTC)
		return start, start.AddDate(1, 0, 0)
	default:
		month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
		return month, month.AddDate(0, 1, 0)
	}
}

// Query is the Usage API request for period p made at now: what a refresh
// sends, and what a first-contact probe tries. Each period is the API's own
// timePeriod, but a fiscal year (yearStart after January), which the API has
// no name for: that is the range from its 1st day to today (UTC), which
// FetchRecords splits where it is longer than the API accepts (a fiscal
// year to date holding 29 February can be 366 days).
func (p Period) Query(now time.Time, yearStart time.Month) twilio.Query {
	if p != ThisYear || yearStart <= time.January {
		return twilio.Query{TimePeriod: p.timePeriod()}
	}
	start, _ := p.Bounds(now, yearStart)
	now = now.UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	return twilio.Query{StartDate: start.Format(twilio.DateLayout), EndDate: today.Format(twilio.DateLayout)}
}
