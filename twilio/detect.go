package twilio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// Twilio's public docs say neither where the Records parameters travel nor
// whether a continuation may repeat them beside the page token. This file
// holds what the client learns about both from the API itself.

// pageRequest is one Records request: the query, where its parameters
// travel, and the page token with the parameter that carries it.
type pageRequest struct {
	id         string // the billing group, for Config.Waiting
	q          Query
	enc        Encoding
	tokenParam string
	token      string // "" for a first page
	cont       Continuation
}

// Continuation is how a continuation (a request with a page token) is sent.
// The zero value is the default: the query's parameters repeated where the
// encoding puts them, and the token there and in the query string too, where
// Twilio's SDKs send it (an API may read its filters from a JSON body and the
// token from the query string alone).
type Continuation struct {
	// TokenAlone sends the token without the query's parameters.
	TokenAlone bool
	// TokenNotInQuery leaves the token's copy out of the query string, for
	// an API that refuses a query string beside a body. It changes nothing
	// when the encoding is EncodingQuery.
	TokenNotInQuery bool
}

// String describes c for logs and the probe.
func (c Continuation) String() string {
	s := "the query's parameters repeated"
	if c.TokenAlone {
		s = "the page token alone"
	}
	if c.TokenNotInQuery {
		return s + ", the token only where the encoding puts parameters"
	}
	return s + ", the token also in the query string"
}

// continuations are the ways a continuation is sent, in the order tried:
// each only after the API refused (HTTP 400) the ones before it.
var continuations = [...]Continuation{
	{},
	{TokenNotInQuery: true},
	{TokenAlone: true},
	{TokenAlone: true, TokenNotInQuery: true},
}

// Continuations returns the ways a continuation is sent, in the order the
// client tries them.
func Continuations() []Continuation { return append([]Continuation(nil), continuations[:]...) }

// shapeState is what a Client has learnt about how the API wants its
// Records requests shaped.
type shapeState struct {
	detecting chan struct{}             // a mutex held while detecting, abandoned when ctx ends
	detected  atomic.Pointer[Detection] // nil until EncodingAuto has learnt
	// fallback is the latest detection that found no encoding honoured,
	// kept only to send its fallback until another detection runs; see
	// requestEncoding.
	fallback atomic.Pointer[fallback]
	cont     atomic.Int32 // index in continuations of the way continuations are sent
}

// Learned is what the client tells Config.Learned about how the API wants
// its requests shaped.
// Exactly one of Detection and Continuation is set.
type Learned struct {
	// BillingGroup is the group whose request taught it.
	BillingGroup string
	// Detection is the outcome of request encoding detection.
	Detection *Detection
	// Continuation is how continuations are sent from now on, after the
	// API refused the ways tried before; Refusal is its answer to them.
	Continuation *Continuation
	Refusal      string
}

// EncodingTrial is the API's answer to the detection request sent in one
// encoding.
type EncodingTrial struct {
	Encoding Encoding
	// Period is the timePeriod of the answer the verdict comes from.
	Period TimePeriod
	// Status is the HTTP status of the answer.
	Status int
	// Honoured says the answer shows the API read the parameters.
	Honoured bool
	// Detail is what the answer showed, e.g. "meta.pageSize 1", or the
	// API's error.
	Detail string
}

// Detection is what request encoding detection found.
type Detection struct {
	// Encoding is the encoding to use: the first one honoured, or
	// EncodingJSON when none was.
	Encoding Encoding
	// Honoured is false when no encoding was honoured.
	Honoured bool
	// Trials are the answers, in the order sent.
	Trials []EncodingTrial
}

// Answers describes the trials on one line: each encoding's answer.
func (d *Detection) Answers() string {
	parts := make([]string, 0, len(d.Trials))
	for _, t := range d.Trials {
		parts = append(parts, fmt.Sprintf("%s: %s", t.Encoding, t.Detail))
	}
	return strings.Join(parts, "; ")
}

// detectPeriods are what detection asks for, in turn, in each encoding,
// with a page size of 1, which an API that reads the parameters honours and
// one that does not cannot: this month first, which every group in use
// answers, then last month, complete and so with more than one record even
// on the 1st. The second is asked only when the first cannot tell (too few
// records) or is refused as a period (see periodRefused).
var detectPeriods = [...]TimePeriod{ThisMonth, LastMonth}

// redetectAfter is how long a group whose detection found no encoding
// honoured keeps the JSON fallback before it detects again: its records
// may have been too few to tell, and grow.
const redetectAfter = 15 * time.Minute

// fallback is the latest detection that found no encoding honoured, and
// when each group had it.
type fallback struct {
	d     *Detection
	tried map[string]time.Time // billing group ID -> when it detected
}

// Detect learns where the API reads the Records parameters from, asking for
// billing group id's usage with a page size of 1 in a JSON body, then the
// query string, then a form body, and stopping at the first encoding the
// API honours: it echoes meta.pageSize 1, or, without meta.pageSize, answers
// one record and a next page. Each encoding is asked for this month and,
// when that cannot tell or is refused as a period (HTTP 404, Twilio error
// 71003), for last month. A 400, 415 or 422 answer means the encoding was
// not honoured; any other failure (credentials, the API down after retries)
// ends detection with an error, as it says nothing about encodings. It
// sends at most six requests (and their retries).
// Errors show id masked (MaskBillingGroupID).
func (c *Client) Detect(ctx context.Context, id string) (*Detection, error) {
	d, err := c.detect(ctx, id)
	if d != nil {
		for i := range d.Trials {
			d.Trials[i].Detail = strings.ReplaceAll(d.Trials[i].Detail, id, MaskBillingGroupID(id))
		}
	}
	return d, maskID(err, id)
}

func (c *Client) detect(ctx context.Context, id string) (*Detection, error) {
	if err := ValidateBillingGroupID(id); err != nil {
		return nil, err
	}
	target := recordsURL(c.apiURL, id)
	d := &Detection{Encoding: EncodingJSON}
	for _, enc := range []Encoding{EncodingJSON, EncodingQuery, EncodingForm} {
		var t EncodingTrial
		for _, period := range detectPeriods {
			q := Query{TimePeriod: period, PageSize: 1}
			body, err := c.fetchPage(ctx, target, pageRequest{id: id, q: q, enc: enc, tokenParam: c.tokenParam})
			t = EncodingTrial{Encoding: enc, Period: period}
			seen := true
			switch e := apiError(err); {
			case err == nil:
				t.Status = http.StatusOK
				t.Honoured, seen, t.Detail = judgePageSize(body)
			case e != nil && paramsRefused(e.StatusCode):
				t.Status, t.Detail = e.StatusCode, e.Error()
			case periodRefused(err):
				t.Status, t.Detail, seen = e.StatusCode, e.Error(), false
			default:
				return nil, fmt.Errorf("detect request encoding: %s: %w", enc, err)
			}
			if seen {
				break
			}
		}
		d.Trials = append(d.Trials, t)
		if t.Honoured {
			d.Encoding, d.Honoured = enc, true
			break
		}
	}
	return d, nil
}

// paramsRefused reports whether an HTTP status says the API could not use
// the request's parameters.
func paramsRefused(status int) bool {
	return status == http.StatusBadRequest || status == http.StatusUnsupportedMediaType ||
		status == http.StatusUnprocessableEntity
}

// periodRefused reports whether an answer refuses the period asked for, not
// the request: an export not generated yet (71003), or a 404, which an API
// may answer for a period with no data.
func periodRefused(err error) bool {
	return IsNotFound(err) || IsExportNotFound(err)
}

// judgePageSize reports whether a Records answer to a request for a page
// size of 1 honoured it, whether the answer could tell at all, and what
// showed it.
func judgePageSize(body []byte) (honoured, seen bool, detail string) {
	var w struct {
		Meta struct {
			PageSize  *json.Number `json:"pageSize"`
			NextToken string       `json:"nextToken"`
			Key       string       `json:"key"`
		} `json:"meta"`
	}
	if err := json.Unmarshal(body, &w); err != nil {
		return false, false, "the answer is not a Records page: " + typeError(err).Error()
	}
	if w.Meta.PageSize != nil {
		return w.Meta.PageSize.String() == "1", true, "meta.pageSize " + bounded(w.Meta.PageSize.String())
	}
	var fields map[string]json.RawMessage
	_ = json.Unmarshal(body, &fields) // valid: decoded above
	raw, ok := fields["records"]
	if !ok && w.Meta.Key != "" {
		raw = fields[w.Meta.Key]
	}
	var records []json.RawMessage
	if err := json.Unmarshal(raw, &records); err != nil || records == nil {
		return false, false, "the answer has neither meta.pageSize nor a records array"
	}
	switch n := len(records); {
	case n > 1:
		return false, true, fmt.Sprintf("%d records on a page of 1", n)
	case w.Meta.NextToken != "":
		return true, true, fmt.Sprintf("%d record and a next page", n)
	default:
		return false, false, fmt.Sprintf("%d records, no next page and no meta.pageSize: the page size cannot be seen", n)
	}
}

// requestEncoding returns the encoding to send billing group id's Records
// requests in, learning it first when the setting is EncodingAuto and
// nothing is learnt yet. One detection runs at a time; callers arriving
// meanwhile wait for its outcome (or their ctx). Only an encoding found
// honoured is kept for the client's lifetime. A detection that found none
// is not: its group sends JSON, the fallback, for redetectAfter and then
// detects again, and any other group detects for itself, so that one group
// with too few records (or a period not ready) does not decide for all. A
// detection that fails is not remembered, so the next fetch tries again.
func (c *Client) requestEncoding(ctx context.Context, id string) (Encoding, error) {
	if c.encoding != EncodingAuto {
		return c.encoding, nil
	}
	if enc, ok := c.knownEncoding(id); ok {
		return enc, nil
	}
	select {
	case c.shape.detecting <- struct{}{}:
	case <-ctx.Done():
		return "", fmt.Errorf("detect request encoding: %w", ctx.Err())
	}
	defer func() { <-c.shape.detecting }()
	if enc, ok := c.knownEncoding(id); ok {
		return enc, nil
	}
	d, err := c.Detect(ctx, id)
	if err != nil {
		return "", err
	}
	if d.Honoured {
		c.shape.detected.Store(d)
	} else {
		f := &fallback{d: d, tried: map[string]time.Time{id: c.now()}}
		if old := c.shape.fallback.Load(); old != nil {
			for k, v := range old.tried {
				if _, ok := f.tried[k]; !ok {
					f.tried[k] = v
				}
			}
		}
		c.shape.fallback.Store(f)
	}
	c.learned(Learned{BillingGroup: id, Detection: d})
	return d.Encoding, nil
}

// knownEncoding returns the encoding learnt, or the fallback while billing
// group id's own detection that found none is recent.
func (c *Client) knownEncoding(id string) (Encoding, bool) {
	if d := c.shape.detected.Load(); d != nil {
		return d.Encoding, true
	}
	if f := c.shape.fallback.Load(); f != nil {
		if at, ok := f.tried[id]; ok && c.now().Sub(at) < redetectAfter {
			return f.d.Encoding, true
		}
	}
	return "", false
}

// continuePage fetches one page. A continuation is sent the way the client
// has learnt (see continuations); one the API refuses with HTTP 400 is sent
// again the next ways in turn, and the first that works is how every later
// continuation is sent.
func (c *Client) continuePage(ctx context.Context, id string, target *url.URL, pr pageRequest) ([]byte, error) {
	if pr.token == "" {
		return c.fetchPage(ctx, target, pr)
	}
	from := int(c.shape.cont.Load())
	var refused error
	for i := from; i < len(continuations); i++ {
		pr.cont = continuations[i]
		if i > from && pr.enc == EncodingQuery && pr.cont.TokenNotInQuery {
			continue // the same request as the one before
		}
		body, err := c.fetchPage(ctx, target, pr)
		if err == nil {
			if i > from && c.shape.cont.CompareAndSwap(int32(from), int32(i)) {
				cont := pr.cont
				c.learned(Learned{BillingGroup: id, Continuation: &cont, Refusal: refused.Error()})
			}
			return body, nil
		}
		if refused != nil {
			refused = fmt.Errorf("%w; sent again with %s: %w", refused, pr.cont, err)
		} else {
			refused = err
		}
		if e := apiError(err); e == nil || e.StatusCode != http.StatusBadRequest {
			return nil, refused
		}
	}
	return nil, refused
}

// RequestShape is how the client shapes its Records requests: where the
// parameters travel and how a continuation carries the page token.
type RequestShape struct {
	// Setting is the configured encoding, EncodingAuto included.
	Setting Encoding
	// Encoding is the encoding in use: Setting, or what EncodingAuto
	// learnt, or "" while it has not learnt yet.
	Encoding Encoding
	// Detection is EncodingAuto's finding, nil otherwise or until then.
	Detection *Detection
	// TokenParam is the parameter carrying the page token.
	TokenParam string
	// Continuation is how continuations are sent now.
	Continuation Continuation
}

// RequestShape returns how the client sends Records requests now.
func (c *Client) RequestShape() RequestShape {
	t := RequestShape{Setting: c.encoding, Encoding: c.encoding, TokenParam: c.tokenParam,
		Continuation: continuations[c.shape.cont.Load()]}
	if c.encoding == EncodingAuto {
		t.Encoding = ""
		if d := c.shape.detected.Load(); d != nil {
			t.Encoding, t.Detection = d.Encoding, d
		} else if f := c.shape.fallback.Load(); f != nil {
			t.Encoding, t.Detection = f.d.Encoding, f.d
		}
	}
	return t
}

// maxTokenParamLen bounds the page token parameter's name.
const maxTokenParamLen = 64

// ValidatePageTokenParam reports whether name can be the page token
// parameter: 1 to 64 ASCII letters, digits, '_', '-' or '.', starting with a
// letter, and not a parameter the query already uses.
func ValidatePageTokenParam(name string) error {
	if name == "" {
		return errors.New("must not be empty")
	}
	valid := len(name) <= maxTokenParamLen && isLetter(name[0])
	for i := 1; valid && i < len(name); i++ {
		c := name[i]
		valid = isLetter(c) || ('0' <= c && c <= '9') || c == '_' || c == '-' || c == '.'
	}
	if !valid {
		return fmt.Errorf("%s is not a parameter name (want up to %d letters, digits, _ - or ., starting with a letter)", quote(name), maxTokenParamLen)
	}
	if isQueryParam(name) {
		return fmt.Errorf("%q is a query parameter already", name)
	}
	return nil
}

// isQueryParam reports whether name is a parameter a Query sends.
func isQueryParam(name string) bool {
	full := Query{TimePeriod: ThisMonth, StartDate: "x", EndDate: "x", ProductCategory: "x",
		AggregationPeriod: Monthly, PageSize: 1}
	_, ok := full.values("", "")[name]
	return ok
}

func isLetter(c byte) bool { return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') }
