package usagesim

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Request parameter names of the records endpoint.
const (
	paramTimePeriod        = "timePeriod"
	paramStartDate         = "startDate"
	paramEndDate           = "endDate"
	paramProductCategory   = "productCategory"
	paramAggregationPeriod = "aggregationPeriod"
	paramPageSize          = "pageSize"
	paramPageToken         = "pageToken"
)

// knownParams lists every parameter the records endpoint reads; others are
// ignored.
var knownParams = [...]string{
	paramTimePeriod, paramStartDate, paramEndDate, paramProductCategory,
	paramAggregationPeriod, paramPageSize, paramPageToken,
}

// Values of timePeriod and aggregationPeriod.
const (
	periodYesterday = "YESTERDAY"
	periodThisMonth = "THIS_MONTH"
	periodLastMonth = "LAST_MONTH"
	periodThisYear  = "THIS_YEAR"
	aggDaily        = "DAILY"
	aggMonthly      = "MONTHLY"
)

// Limits of the records endpoint.
const (
	maxPageSize  = 1000
	maxRangeDays = 365
	dateLayout   = "2006-01-02"
)

// Validation messages, as users see them in the "message" field.
const (
	msgBadJSON        = "Invalid request body: must be a JSON object"
	msgBadContentType = "Unsupported Content-Type: send application/json or application/x-www-form-urlencoded"
	msgBadTimePeriod  = "Invalid timePeriod: must be one of YESTERDAY, THIS_MONTH, LAST_MONTH, THIS_YEAR"
	msgBadAggregation = "Invalid aggregationPeriod: must be one of DAILY, MONTHLY"
	msgPeriodAndDates = "timePeriod cannot be combined with startDate or endDate"
	msgNoPeriod       = "Either timePeriod or both startDate and endDate are required"
	msgOneDate        = "startDate and endDate must be given together"
	msgBadDateSuffix  = ": must be a date formatted YYYY-MM-DD"
	msgEndBeforeStart = "endDate must not be before startDate"
	msgRangeTooLong   = "Date range must not exceed 365 days"
	msgBadPageSize    = "Invalid pageSize: must be an integer from 1 to 1000"
	msgBadPageToken   = "Invalid pageToken: must be a token returned for the same query"
	msgNotString      = ": must be a string"
)

// query is a validated records request.
type query struct {
	timePeriod      string
	startDate       string
	endDate         string
	productCategory string
	aggregation     string
	pageSize        int
	page            int // 1-based
}

// readParams collects the request parameters from the query string and from
// a JSON or form body; body values win over query string values. Empty and
// null values count as absent. Parameter k travels under the name wire(k).
func readParams(r *http.Request, body []byte, wire func(k string) string) (map[string]string, *reply) {
	out := map[string]string{}
	q := r.URL.Query()
	for _, k := range knownParams {
		if v := q.Get(wire(k)); v != "" {
			out[k] = v
		}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return out, nil
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		var m map[string]any
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil || m == nil || dec.More() {
			rp := paramReply(msgBadJSON, nil)
			return nil, &rp
		}
		for _, k := range knownParams {
			switch v := m[wire(k)].(type) {
			case nil:
			case string:
				if v != "" {
					out[k] = v
				}
			case json.Number:
				out[k] = v.String()
			default:
				msg := "Invalid " + k + msgNotString
				if k == paramPageSize {
					msg = msgBadPageSize
				}
				rp := paramReply(msg, map[string]string{k: string(mustJSON(v))})
				return nil, &rp
			}
		}
	case "application/x-www-form-urlencoded":
		f, err := url.ParseQuery(string(body))
		if err != nil {
			rp := paramReply("Invalid request body: malformed form encoding", nil)
			return nil, &rp
		}
		for _, k := range knownParams {
			if v := f.Get(wire(k)); v != "" {
				out[k] = v
			}
		}
	default:
		rp := paramReply(msgBadContentType, map[string]string{"Content-Type": r.Header.Get("Content-Type")})
		return nil, &rp
	}
	return out, nil
}

// mustJSON re-encodes a decoded JSON value for an error message.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return []byte("?")
	}
	return b
}

// parseQuery validates the parameters of a records request for groupID.
func parseQuery(groupID string, p map[string]string, defaultPageSize int) (query, *reply) {
	bad := func(msg string, keys ...string) (query, *reply) {
		params := map[string]string{}
		for _, k := range keys {
			if v, ok := p[k]; ok {
				params[k] = v
			}
		}
		rp := paramReply(msg, params)
		return query{}, &rp
	}
	q := query{
		timePeriod:      p[paramTimePeriod],
		startDate:       p[paramStartDate],
		endDate:         p[paramEndDate],
		productCategory: p[paramProductCategory],
		aggregation:     p[paramAggregationPeriod],
		pageSize:        defaultPageSize,
		page:            1,
	}
	switch q.timePeriod {
	case "", periodYesterday, periodThisMonth, periodLastMonth, periodThisYear:
	default:
		return bad(msgBadTimePeriod, paramTimePeriod)
	}
	switch {
	case q.timePeriod != "" && (q.startDate != "" || q.endDate != ""):
		return bad(msgPeriodAndDates, paramTimePeriod, paramStartDate, paramEndDate)
	case q.timePeriod == "" && q.startDate == "" && q.endDate == "":
		return bad(msgNoPeriod)
	case q.timePeriod == "" && (q.startDate == "" || q.endDate == ""):
		return bad(msgOneDate, paramStartDate, paramEndDate)
	}
	if q.timePeriod == "" {
		start, err := time.Parse(dateLayout, q.startDate)
		if err != nil {
			return bad("Invalid startDate"+msgBadDateSuffix, paramStartDate)
		}
		end, err := time.Parse(dateLayout, q.endDate)
		if err != nil {
			return bad("Invalid endDate"+msgBadDateSuffix, paramEndDate)
		}
		if end.Before(start) {
			return bad(msgEndBeforeStart, paramStartDate, paramEndDate)
		}
		if days := int(end.Sub(start)/(24*time.Hour)) + 1; days > maxRangeDays {
			return bad(msgRangeTooLong, paramStartDate, paramEndDate)
		}
	}
	switch q.aggregation {
	case "":
		q.aggregation = aggMonthly
	case aggDaily, aggMonthly:
	default:
		return bad(msgBadAggregation, paramAggregationPeriod)
	}
	if v, ok := p[paramPageSize]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageSize {
			return bad(msgBadPageSize, paramPageSize)
		}
		q.pageSize = n
	}
	if tok, ok := p[paramPageToken]; ok {
		page, hash, ok := decodePageToken(tok)
		if !ok || hash != q.hash(groupID) {
			return bad(msgBadPageToken, paramPageToken)
		}
		q.page = page
	}
	return q, nil
}

// pageHint is the page a request asks for, read without validation so that
// faults scoped to a page apply even to invalid requests: 1 without a token,
// 0 when the token is unreadable.
func pageHint(p map[string]string) int {
	tok, ok := p[paramPageToken]
	if !ok {
		return 1
	}
	page, _, ok := decodePageToken(tok)
	if !ok {
		return 0
	}
	return page
}

// hash identifies everything about a query except its page, so a page token
// only works for the query that produced it.
func (q query) hash(groupID string) string {
	sum := sha256.Sum256([]byte(strings.Join([]string{
		groupID, q.timePeriod, q.startDate, q.endDate, q.productCategory,
		q.aggregation, strconv.Itoa(q.pageSize),
	}, "\x00")))
	return hex.EncodeToString(sum[:8])
}

// pageTokenBody is the content of an opaque page token.
type pageTokenBody struct {
	Page int    `json:"page"`
	Hash string `json:"query"`
}

// encodePageToken returns the opaque token of a page of a query.
func encodePageToken(page int, hash string) string {
	b, _ := json.Marshal(pageTokenBody{Page: page, Hash: hash})
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodePageToken reads a page token; ok is false when it is not one.
func decodePageToken(tok string) (page int, hash string, ok bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, "", false
	}
	var body pageTokenBody
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || body.Page < 1 || body.Hash == "" {
		return 0, "", false
	}
	return body.Page, body.Hash, true
}

// span is the time a query covers: usage over [from, to), reported with the
// dates first..last. It is empty when the range starts after today.
type span struct {
	from, to    time.Time
	first, last time.Time
	empty       bool
}

// resolve turns the query's period into a span as of now (UTC). Dates after
// today are cut to today, and today counts up to now.
func (q query) resolve(now time.Time) span {
	now = now.UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	switch q.timePeriod {
	case periodYesterday:
		y := today.AddDate(0, 0, -1)
		return span{from: y, to: today, first: y, last: y}
	case periodThisMonth:
		return span{from: month, to: now, first: month, last: today}
	case periodLastMonth:
		prev := month.AddDate(0, -1, 0)
		return span{from: prev, to: month, first: prev, last: month.AddDate(0, 0, -1)}
	case periodThisYear:
		year := time.Date(now.Year(), time.January, 1, 0, 0, 0, 0, time.UTC)
		return span{from: year, to: now, first: year, last: today}
	}
	start, _ := time.Parse(dateLayout, q.startDate)
	end, _ := time.Parse(dateLayout, q.endDate)
	if start.After(today) {
		return span{empty: true}
	}
	sp := span{from: start, to: end.AddDate(0, 0, 1), first: start, last: end}
	if sp.last.After(today) {
		sp.last = today
	}
	if sp.to.After(now) {
		sp.to = now
	}
	return sp
}

// granularity is how an answer splits the usage of a span over time.
type granularity int

const (
	byMonth granularity = iota // one row per product and calendar month (MONTHLY)
	byDay                      // one row per product and day (DAILY)
	byRange                    // one row per product for the whole span
)

// records returns the group's records over the span, optionally only one
// category, at granularity g, sorted by start date, category and product
// name. Rows of adjacent parts of the span add up to the row of the whole
// exactly.
func (gd *groupData) records(sp span, category string, g granularity) []WireRecord {
	out := []WireRecord{}
	if sp.empty {
		return out
	}
	// next is the first day after the part of the span that starts on d.
	next := map[granularity]func(d time.Time) time.Time{
		byDay:   func(d time.Time) time.Time { return d.AddDate(0, 0, 1) },
		byMonth: func(d time.Time) time.Time { return time.Date(d.Year(), d.Month()+1, 1, 0, 0, 0, 0, time.UTC) },
		byRange: func(time.Time) time.Time { return sp.last.AddDate(0, 0, 1) },
	}[g]
	cur := gd.group.Currency
	for d := sp.first; !d.After(sp.last); d = next(d) {
		from, to := d, next(d)
		last := to.AddDate(0, 0, -1)
		if d.Equal(sp.first) {
			from = sp.from
		}
		if to.After(sp.to) {
			to = sp.to
		}
		if last.After(sp.last) {
			last = sp.last
		}
		for i := range gd.series {
			c := &gd.series[i]
			if category != "" && c.product.category != category {
				continue
			}
			if !c.launch.IsZero() && !to.After(c.launch) {
				continue // not launched yet: no usage, no record
			}
			out = append(out, c.record(from, to, d.Format(dateLayout), last.Format(dateLayout), cur))
		}
	}
	return out
}
