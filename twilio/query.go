package twilio

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// maxRangeDays is the longest startDate..endDate range the Usage API accepts,
// counted inclusively.
const maxRangeDays = 365

// Validate reports whether q is a request the Usage API can answer, so that a
// bad query fails before any request is sent. The error text names the
// offending parameter by its API name.
func (q Query) Validate() error {
	if err := q.validate(); err != nil {
		return fmt.Errorf("twilio: %w", err)
	}
	return nil
}

// validate is Validate without the package prefix, for callers that add their
// own context.
func (q Query) validate() error {
	hasRange := q.StartDate != "" || q.EndDate != ""
	switch {
	case q.TimePeriod == "" && !hasRange:
		return fmt.Errorf("query: set timePeriod, or startDate and endDate")
	case q.TimePeriod != "" && hasRange:
		return fmt.Errorf("query: timePeriod cannot be combined with startDate/endDate")
	}
	if q.TimePeriod != "" {
		switch q.TimePeriod {
		case Yesterday, ThisMonth, LastMonth, ThisYear:
		default:
			return fmt.Errorf("query: unknown timePeriod %q (want %s, %s, %s or %s)",
				q.TimePeriod, Yesterday, ThisMonth, LastMonth, ThisYear)
		}
	}
	if hasRange {
		if q.StartDate == "" || q.EndDate == "" {
			return fmt.Errorf("query: startDate and endDate must be set together")
		}
		start, err := parseQueryDate("startDate", q.StartDate)
		if err != nil {
			return err
		}
		end, err := parseQueryDate("endDate", q.EndDate)
		if err != nil {
			return err
		}
		if end.Before(start) {
			return fmt.Errorf("query: endDate %s is before startDate %s", q.EndDate, q.StartDate)
		}
		if days := rangeDays(start, end); days > maxRangeDays {
			return fmt.Errorf("query: startDate %s to endDate %s spans %d days, more than the %d the API allows in one request (FetchRecords fetches such a range in parts)",
				q.StartDate, q.EndDate, days, maxRangeDays)
		}
	}
	switch q.AggregationPeriod {
	case "", Daily, Monthly:
	default:
		return fmt.Errorf("query: unknown aggregationPeriod %q (want %s or %s)", q.AggregationPeriod, Daily, Monthly)
	}
	if q.PageSize < 0 {
		return fmt.Errorf("query: pageSize %d is negative", q.PageSize)
	}
	return nil
}

// Parts returns the parts FetchRecords fetches q in: q itself, or, for a valid
// startDate..endDate range longer than maxRangeDays, consecutive ranges of
// at most maxRangeDays that cover it. Every part but the last ends on the
// last day of a month, so that a MONTHLY answer is exact however the API
// rolls a month up: a part never ends inside a month the next part goes
// on with. A query that is not such a range is its own only part, and is
// validated when it is fetched.
func (q Query) Parts() []Query {
	if q.TimePeriod != "" || q.StartDate == "" || q.EndDate == "" {
		return []Query{q}
	}
	start, err1 := parseDate(q.StartDate)
	end, err2 := parseDate(q.EndDate)
	if err1 != nil || err2 != nil || end.Before(start) || rangeDays(start, end) <= maxRangeDays {
		return []Query{q}
	}
	var parts []Query
	for from := start; !from.After(end); {
		to := from.AddDate(0, 0, maxRangeDays-1)
		if to.Before(end) {
			// Back to the last day of the month before the one to is in,
			// unless to is such a day: any 365 days hold a month's end.
			if next := to.AddDate(0, 0, 1); next.Day() != 1 {
				to = time.Date(to.Year(), to.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, -1)
			}
		} else {
			to = end
		}
		p := q
		p.StartDate, p.EndDate = from.Format(DateLayout), to.Format(DateLayout)
		parts = append(parts, p)
		from = to.AddDate(0, 0, 1)
	}
	return parts
}

// rangeDays counts the days from start to end, both included.
func rangeDays(start, end time.Time) int {
	return int(end.Sub(start)/(24*time.Hour)) + 1
}

// defaultAggregation is the aggregationPeriod sent for a query that sets
// none. Twilio's docs do not say what the API assumes, so the client always
// asks: DAILY for one day (YESTERDAY, or a range of one day), since a day is
// that period's unit and a MONTHLY answer could be a roll-up of the whole
// month that the day belongs to; MONTHLY otherwise, one row per product and
// month instead of one per product and day (THIS_MONTH on the 31st is 31
// times fewer rows). The caller sums whatever granularity comes back.
func (q Query) defaultAggregation() AggregationPeriod {
	if q.TimePeriod == Yesterday || (q.TimePeriod == "" && q.StartDate != "" && q.StartDate == q.EndDate) {
		return Daily
	}
	return Monthly
}

// parseQueryDate parses a YYYY-MM-DD request date; name is the API parameter.
func parseQueryDate(name, s string) (time.Time, error) {
	t, err := parseDate(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("query: %s: %q is not a YYYY-MM-DD date", name, s)
	}
	return t, nil
}

// parseDate parses a strict YYYY-MM-DD calendar date as UTC midnight.
func parseDate(s string) (time.Time, error) {
	if len(s) != len(DateLayout) {
		return time.Time{}, fmt.Errorf("%q is not a YYYY-MM-DD date", s)
	}
	return time.Parse(DateLayout, s)
}

// wireQuery is the JSON body of a Records request. Field order is the order
// the parameters are documented in; empty fields are not sent.
type wireQuery struct {
	TimePeriod        TimePeriod        `json:"timePeriod,omitempty"`
	StartDate         string            `json:"startDate,omitempty"`
	EndDate           string            `json:"endDate,omitempty"`
	ProductCategory   string            `json:"productCategory,omitempty"`
	AggregationPeriod AggregationPeriod `json:"aggregationPeriod,omitempty"`
	PageSize          int               `json:"pageSize,omitempty"`
}

// jsonBody returns the JSON object carrying q and, when not empty, the page
// token under the parameter name tokenParam.
func (q Query) jsonBody(tokenParam, pageToken string) ([]byte, error) {
	base, err := json.Marshal(wireQuery(q))
	if err != nil || pageToken == "" {
		return base, err
	}
	// Append the token as the last member; its name is configurable, so it
	// cannot be a struct tag.
	name, err := json.Marshal(tokenParam)
	if err != nil {
		return nil, err
	}
	value, err := json.Marshal(pageToken)
	if err != nil {
		return nil, err
	}
	out := base[:len(base)-1] // drop the closing brace
	if len(out) > 1 {
		out = append(out, ',')
	}
	out = append(out, name...)
	out = append(out, ':')
	out = append(out, value...)
	return append(out, '}'), nil
}

// values returns q and the page token as URL-encoded parameters, for the
// query-string and form encodings.
func (q Query) values(tokenParam, pageToken string) url.Values {
	v := url.Values{}
	set := func(k, val string) {
		if val != "" {
			v.Set(k, val)
		}
	}
	set("timePeriod", string(q.TimePeriod))
	set("startDate", q.StartDate)
	set("endDate", q.EndDate)
	set("productCategory", q.ProductCategory)
	set("aggregationPeriod", string(q.AggregationPeriod))
	if q.PageSize > 0 {
		v.Set("pageSize", strconv.Itoa(q.PageSize))
	}
	set(tokenParam, pageToken)
	return v
}
