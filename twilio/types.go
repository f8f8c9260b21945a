package twilio

import (
	"fmt"
	"time"
)

// TimePeriod is a predefined reporting window of the Usage API, the
// alternative to an explicit StartDate/EndDate range.
type TimePeriod string

// The time periods the Usage API accepts.
const (
	Yesterday TimePeriod = "YESTERDAY"
	ThisMonth TimePeriod = "THIS_MONTH"
	LastMonth TimePeriod = "LAST_MONTH"
	ThisYear  TimePeriod = "THIS_YEAR"
)

// AggregationPeriod says how the API groups records within the requested range.
type AggregationPeriod string

// The aggregation periods the Usage API accepts.
const (
	Daily   AggregationPeriod = "DAILY"
	Monthly AggregationPeriod = "MONTHLY"
)

// Encoding says where the request parameters travel in the POST. Twilio's public
// documentation does not say, so it is a setting.
type Encoding string

// The supported parameter encodings.
const (
	EncodingJSON  Encoding = "json"  // JSON object in the request body (default)
	EncodingQuery Encoding = "query" // URL query string, empty body
	EncodingForm  Encoding = "form"  // application/x-www-form-urlencoded body
	// EncodingAuto learns the encoding from the API's answers the first
	// time the client fetches records; see Client.Detect.
	EncodingAuto Encoding = "auto"
)

// CheckEncoding returns an error unless e is one of the supported encodings.
func CheckEncoding(e Encoding) error {
	switch e {
	case EncodingAuto, EncodingJSON, EncodingQuery, EncodingForm:
		return nil
	}
	return fmt.Errorf("%q is not one of %s, %s, %s, %s", e, EncodingAuto, EncodingJSON, EncodingQuery, EncodingForm)
}

// DateLayout is the layout of every date the Usage API sends or accepts (UTC).
const DateLayout = "2006-01-02"

// Query holds the parameters of one Records request. The zero value of a field
// means "not sent". PageToken is managed by the client while paginating.
type Query struct {
	TimePeriod      TimePeriod
	StartDate       string // YYYY-MM-DD, inclusive
	EndDate         string // YYYY-MM-DD, inclusive
	ProductCategory string
	// AggregationPeriod is always sent: when empty, the client sends DAILY
	// for one day (YESTERDAY or a one-day range) and MONTHLY otherwise.
	AggregationPeriod AggregationPeriod
	PageSize          int
}

// Record is one decoded usage record.
type Record struct {
	ProductName     string
	ProductCategory string
	StartDate       time.Time // UTC midnight; zero when the API sent none
	EndDate         time.Time // UTC midnight, inclusive; zero when the API sent none
	UsageAmount     Decimal   // exactly as sent
	UsageUnit       string
	PriceAmount     Decimal // exactly as sent
	Currency        string  // ISO 4217, upper case
	// Page (from 1) and Index (from 0, within the page's array) say where
	// the record was in the answer, so that errors can name it.
	Page, Index int
}

// Usage is the complete result of a Records fetch: every record of every page.
type Usage struct {
	AsOf    time.Time // UTC midnight of the API's asOf date (the UTC instant if it sent a timestamp), the same on every page; zero if the pages had none
	Records []Record
	Pages   int // pages fetched, in the pagination returned
	// Restarted says the data changed while it was paged (a page's asOf
	// differed from the first page's), so the pagination was read again
	// from the first page; the records are those of that second reading.
	Restarted bool
}
