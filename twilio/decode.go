package twilio

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// maxQuoted bounds how much of a bad value is quoted in an error message.
const maxQuoted = 64

// page is one decoded Records response.
type page struct {
	asOf      time.Time // zero when the page has no asOf
	records   []Record
	nextToken string
}

// wirePage is a Records response as sent. Records stay raw so that each can be
// decoded on its own and an error can name its index.
type wirePage struct {
	AsOf    string            `json:"asOf"`
	Records []json.RawMessage `json:"records"`
	Meta    struct {
		NextToken string `json:"nextToken"`
	} `json:"meta"`
}

// wireRecord is one usage record as sent. The amounts stay raw because each
// is documented with one JSON type and accepted in both.
type wireRecord struct {
	ProductName     string `json:"productName"`
	ProductCategory string `json:"productCategory"`
	StartDate       string `json:"startDate"`
	EndDate         string `json:"endDate"`
	Usage           struct {
		Amount json.RawMessage `json:"amount"`
		Unit   string          `json:"unit"`
	} `json:"usage"`
	Price struct {
		Amount   json.RawMessage `json:"amount"`
		Currency string          `json:"currency"`
	} `json:"price"`
}

// decodePage decodes one Records response body. Errors name the record (its
// 0-based index in the page's records array) and the field; the caller adds
// the page number.
func decodePage(body []byte) (*page, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, errors.New("response body is empty")
	}
	if !json.Valid(body) {
		return nil, syntaxError(body)
	}
	var w wirePage
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, fmt.Errorf("response: %w", typeError(err))
	}
	if w.Records == nil {
		return nil, errors.New("response has no records array")
	}
	p := &page{nextToken: w.Meta.NextToken, records: make([]Record, 0, len(w.Records))}
	if w.AsOf != "" {
		t, err := parseAsOf(w.AsOf)
		if err != nil {
			return nil, fmt.Errorf("asOf: %w", err)
		}
		p.asOf = t
	}
	for i, raw := range w.Records {
		r, err := decodeRecord(raw)
		if err != nil {
			return nil, fmt.Errorf("record %d: %w", i, err)
		}
		p.records = append(p.records, r)
	}
	return p, nil
}

// syntaxError explains why body is not JSON, telling a truncated body apart
// from one that is not JSON at all.
func syntaxError(body []byte) error {
	var v json.RawMessage
	err := json.NewDecoder(bytes.NewReader(body)).Decode(&v)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("response is truncated JSON (ends after %d bytes)", len(body))
	}
	err = json.Unmarshal(body, &v)
	if err == nil { // cannot happen: body failed json.Valid
		err = errors.New("invalid JSON")
	}
	return fmt.Errorf("response is not valid JSON: %w", err)
}

// typeError rewords a JSON type mismatch so it names the field by its JSON
// path; other errors pass through.
func typeError(err error) error {
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) {
		return err
	}
	want := "a " + te.Type.Kind().String()
	switch te.Type.Kind().String() {
	case "slice":
		want = "an array"
	case "struct":
		want = "an object"
	}
	if te.Field == "" {
		return fmt.Errorf("is a JSON %s, want %s", te.Value, want)
	}
	return fmt.Errorf("%s: is a JSON %s, want %s", te.Field, te.Value, want)
}

// decodeRecord decodes one record. Both amounts are required; the dates are
// optional but must be valid when present.
func decodeRecord(raw json.RawMessage) (Record, error) {
	var w wireRecord
	if err := json.Unmarshal(raw, &w); err != nil {
		return Record{}, typeError(err)
	}
	r := Record{
		ProductName:     w.ProductName,
		ProductCategory: w.ProductCategory,
		UsageUnit:       w.Usage.Unit,
		Currency:        w.Price.Currency,
	}
	var err error
	if r.StartDate, err = parseRecordDate(w.StartDate); err != nil {
		return Record{}, fmt.Errorf("startDate: %w", err)
	}
	if r.EndDate, err = parseRecordDate(w.EndDate); err != nil {
		return Record{}, fmt.Errorf("endDate: %w", err)
	}
	if r.UsageAmount, err = parseAmount(w.Usage.Amount); err != nil {
		return Record{}, fmt.Errorf("usage.amount: %w", err)
	}
	if r.PriceAmount, err = parseAmount(w.Price.Amount); err != nil {
		return Record{}, fmt.Errorf("price.amount: %w", err)
	}
	return r, nil
}

// parseRecordDate parses a record's YYYY-MM-DD date; empty means unknown.
func parseRecordDate(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := parseDate(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s is not a YYYY-MM-DD date", quote(s))
	}
	return t, nil
}

// parseAsOf parses asOf, documented as a YYYY-MM-DD date but also described as
// a date/time, so an RFC 3339 timestamp is accepted too (converted to UTC).
func parseAsOf(s string) (time.Time, error) {
	if t, err := parseDate(s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%s is not a YYYY-MM-DD date or RFC 3339 timestamp", quote(s))
}

// parseAmount parses an amount sent as a JSON number or as a string holding
// one. Missing, null, non-numeric and non-finite values are errors.
func parseAmount(raw json.RawMessage) (float64, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, errors.New("missing")
	}
	var s string
	switch c := raw[0]; {
	case c == '"':
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, fmt.Errorf("%s is not a number", bounded(string(raw)))
		}
	case c == '-' || (c >= '0' && c <= '9'):
		s = string(raw)
	default:
		return 0, fmt.Errorf("%s is not a number", bounded(string(raw)))
	}
	if !isNumberLiteral(s) {
		return 0, fmt.Errorf("%s is not a number", quote(s))
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, fmt.Errorf("%s is out of range", quote(s))
	}
	return f, nil
}

// isNumberLiteral reports whether s is exactly one JSON number literal, which
// rules out the NaN, Inf, hex and underscore forms strconv would accept.
func isNumberLiteral(s string) bool {
	if s == "" {
		return false
	}
	first, last := s[0], s[len(s)-1]
	if first != '-' && (first < '0' || first > '9') {
		return false
	}
	if last < '0' || last > '9' {
		return false
	}
	return json.Valid([]byte(s))
}

// quote returns s quoted for an error message, shortened when long.
func quote(s string) string {
	if len(s) > maxQuoted {
		return strconv.Quote(s[:maxQuoted]) + "…"
	}
	return strconv.Quote(s)
}

// bounded returns raw JSON for an error message, shortened when long.
func bounded(s string) string {
	if len(s) > maxQuoted {
		return strings.ToValidUTF8(s[:maxQuoted], "") + "…"
	}
	return s
}
