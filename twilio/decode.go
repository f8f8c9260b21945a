package twilio

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// maxQuoted bounds how much of a bad value is quoted in an error message.
const maxQuoted = 64

// page is one decoded Records response.
type page struct {
	asOf      time.Time // zero when the page has no asOf
	records   []Record
	nextToken string
}

// defaultRecordsKey is where the records array is unless meta.key names
// another key.
const defaultRecordsKey = "records"

// wireMeta is the pagination block of a Records response.
type wireMeta struct {
	Key       string `json:"key"`
	NextToken string `json:"nextToken"`
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

// candidate is one top-level member that may hold the records: every array
// is decoded as records, since meta.key, which names the right one, may come
// after it.
type candidate struct {
	records []Record
	err     error // why the member is not a good records array
	null    bool  // the member is null: as if absent
}

// decodePage decodes one Records response body in one pass. The records are
// the array under "records", or under the key meta.key names (the docs'
// example says "key": "items"). Errors name the record (its 0-based index in
// the page's records array) and the field; the caller adds the page number.
func decodePage(body []byte) (*page, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, errors.New("response body is empty")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil {
		return nil, syntaxError(body)
	}
	if tok != json.Delim('{') {
		return nil, fmt.Errorf("response: is a JSON %s, want an object", jsonKind(tok))
	}
	var (
		asOf    string
		meta    wireMeta
		cands   = map[string]*candidate{}
		typeErr error // the first member of the wrong type
	)
	// A type error is kept until the end of the body is reached: a
	// syntax error further on is what went wrong.
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, syntaxError(body)
		}
		key, _ := tok.(string)
		switch key {
		case "asOf":
			asOf = ""
			if err := dec.Decode(&asOf); err != nil {
				if typeErr, err = memberError(typeErr, "asOf", err); err != nil {
					return nil, syntaxError(body)
				}
			}
		case "meta":
			meta = wireMeta{}
			if err := dec.Decode(&meta); err != nil {
				if typeErr, err = memberError(typeErr, "meta", err); err != nil {
					return nil, syntaxError(body)
				}
			}
		default:
			c, err := decodeCandidate(dec, body, key)
			if err != nil {
				return nil, err
			}
			cands[key] = c
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, syntaxError(body)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, syntaxError(body)
	}
	if typeErr != nil {
		return nil, typeErr
	}
	key, err := recordsKey(meta.Key, cands)
	if err != nil {
		return nil, err
	}
	c := cands[key]
	if c.err != nil {
		return nil, c.err
	}
	p := &page{nextToken: meta.NextToken, records: c.records}
	if asOf != "" {
		t, err := parseAsOf(asOf)
		if err != nil {
			return nil, fmt.Errorf("asOf: %w", err)
		}
		p.asOf = t
	}
	return p, nil
}

// recordsKey picks the member holding the records: the one meta.key names
// if the page has it, else "records". Both present is ambiguous: summing the
// wrong one would serve wrong figures, so it is refused.
func recordsKey(metaKey string, cands map[string]*candidate) (string, error) {
	present := func(k string) bool { c, ok := cands[k]; return ok && !c.null }
	switch {
	case metaKey != "" && metaKey != defaultRecordsKey && present(metaKey):
		if present(defaultRecordsKey) {
			return "", fmt.Errorf("response has two records arrays, %q and %s (named by meta.key)", defaultRecordsKey, quote(metaKey))
		}
		return metaKey, nil
	case present(defaultRecordsKey):
		return defaultRecordsKey, nil
	case metaKey != "" && metaKey != defaultRecordsKey:
		return "", fmt.Errorf("response has no records array (neither %q nor %s, named by meta.key)", defaultRecordsKey, quote(metaKey))
	}
	return "", errors.New("response has no records array")
}

// decodeCandidate decodes the next member value: an array as records, other
// values skipped and remembered as not an array.
func decodeCandidate(dec *json.Decoder, body []byte, key string) (*candidate, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, syntaxError(body)
	}
	switch tok {
	case nil:
		return &candidate{null: true}, nil
	case json.Delim('['):
	case json.Delim('{'):
		if err := skipRest(dec); err != nil {
			return nil, syntaxError(body)
		}
		return &candidate{err: fmt.Errorf("response: %s: is a JSON object, want an array", bounded(key))}, nil
	default:
		return &candidate{err: fmt.Errorf("response: %s: is a JSON %s, want an array", bounded(key), jsonKind(tok))}, nil
	}
	c := &candidate{records: []Record{}}
	for i := 0; dec.More(); i++ {
		var w wireRecord
		if err := dec.Decode(&w); err != nil {
			var te *json.UnmarshalTypeError
			if !errors.As(err, &te) {
				return nil, syntaxError(body)
			}
			// The decoder has consumed the whole record: keep going, so
			// that the error is reported only if this is the records array.
			if c.err == nil {
				c.err = fmt.Errorf("record %d: %w", i, typeError(err))
			}
			continue
		}
		if c.err != nil {
			continue
		}
		r, err := w.record()
		if err != nil {
			c.err = fmt.Errorf("record %d: %w", i, err)
			continue
		}
		r.Index = i
		c.records = append(c.records, r)
	}
	if _, err := dec.Token(); err != nil { // the closing bracket
		return nil, syntaxError(body)
	}
	if c.err != nil {
		c.records = nil
	}
	return c, nil
}

// skipRest consumes the rest of an object or array whose opening delimiter
// was just read.
func skipRest(dec *json.Decoder) error {
	for depth := 1; depth > 0; {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
	return nil
}

// memberError keeps the first type error of a top-level member, naming it;
// any other error is returned as err.
func memberError(first error, name string, err error) (error, error) {
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) {
		return first, err
	}
	if first != nil {
		return first, nil
	}
	if te.Field == "" {
		return fmt.Errorf("response: %s: %w", name, typeError(err)), nil
	}
	return fmt.Errorf("response: %s.%w", name, typeError(err)), nil
}

// jsonKind names the JSON type of a scalar or opening token.
func jsonKind(tok json.Token) string {
	switch tok.(type) {
	case json.Delim:
		if tok == json.Delim('[') {
			return "array"
		}
		return "object"
	case string:
		return "string"
	case float64, json.Number:
		return "number"
	case bool:
		return "bool"
	}
	return "null"
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

// record checks and converts one record. Both amounts and the currency are
// required; the dates are optional but must be valid when present.
func (w *wireRecord) record() (Record, error) {
	r := Record{
		ProductName:     w.ProductName,
		ProductCategory: w.ProductCategory,
		UsageUnit:       w.Usage.Unit,
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
	if r.Currency, err = parseCurrency(w.Price.Currency); err != nil {
		return Record{}, fmt.Errorf("price.currency: %w", err)
	}
	return r, nil
}

// parseCurrency normalises an ISO 4217 code to upper case: an API answering
// "usd" must not make budget and forecast joins on currency="USD" miss.
// Anything but three ASCII letters is refused rather than guessed at.
func parseCurrency(s string) (string, error) {
	if s == "" {
		return "", errors.New("missing")
	}
	if len(s) != 3 {
		return "", fmt.Errorf("%s is not an ISO 4217 currency code (3 letters)", quote(s))
	}
	b := []byte(s)
	for i, c := range b {
		switch {
		case 'A' <= c && c <= 'Z':
		case 'a' <= c && c <= 'z':
			b[i] = c - 'a' + 'A'
		default:
			return "", fmt.Errorf("%s is not an ISO 4217 currency code (3 letters)", quote(s))
		}
	}
	if string(b) == s {
		return s, nil // no allocation for the usual upper-case code
	}
	return string(b), nil
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
// one, exactly. Missing, null, non-numeric and non-finite values are errors.
func parseAmount(raw json.RawMessage) (Decimal, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return Decimal{}, errors.New("missing")
	}
	var s string
	switch c := raw[0]; {
	case c == '"':
		if err := json.Unmarshal(raw, &s); err != nil {
			return Decimal{}, fmt.Errorf("%s is not a number", bounded(string(raw)))
		}
	case c == '-' || (c >= '0' && c <= '9'):
		s = string(raw)
	default:
		return Decimal{}, fmt.Errorf("%s is not a number", bounded(string(raw)))
	}
	return ParseDecimal(s)
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

// bounded returns raw JSON or a member name the API chose for an error
// message: shortened when long, and with each UnsafeRune character and
// invalid byte written as an escape (\u202e, \x1b), so that what the API
// sends cannot reorder or recolour a log line or the landing page.
func bounded(s string) string {
	more := ""
	if len(s) > maxQuoted {
		s, more = strings.ToValidUTF8(s[:maxQuoted], ""), "…"
	}
	if printableASCII(s) {
		return s + more
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], string(utf8.RuneError)):
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case UnsafeRune(r):
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteRune(r)
		}
	}
	return b.String() + more
}
