package twilio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync/atomic"
)

// Twilio's public docs say neither where the Records parameters travel nor
// whether a continuation may repeat them beside the page token. This file
// holds what the client learns about both from the API itself.

// pageRequest is one Records request: the query, where its parameters
// travel, and the page token with the parameter that carries it.
type pageRequest struct {
	q          Query
	enc        Encoding
	tokenParam string
	token      string // "" for a first page
	alone      bool   // send the token without the query's parameters
}

// transportState is what a Client has learnt about the API's transport.
type transportState struct {
	detecting  chan struct{}             // a mutex held while detecting, abandoned when ctx ends
	detected   atomic.Pointer[Detection] // nil until EncodingAuto has learnt
	tokenAlone atomic.Bool               // continuations send the page token alone
}

// Learned is what the client tells Config.Learned about the API's transport.
// Exactly one of Detection and TokenAlone is set.
type Learned struct {
	// BillingGroup is the group whose request taught it.
	BillingGroup string
	// Detection is the outcome of request encoding detection.
	Detection *Detection
	// TokenAlone says the API refused a continuation that repeated the
	// query's parameters and accepted the page token alone; Refusal is the
	// API's answer to the former.
	TokenAlone bool
	Refusal    string
}

// EncodingTrial is the API's answer to the detection request sent in one
// encoding.
type EncodingTrial struct {
	Encoding Encoding
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

// detectQuery is what detection asks for in each encoding: a complete month,
// so that a group in use has more than one record, and a page size of 1,
// which an API that reads the parameters honours and one that does not
// cannot.
var detectQuery = Query{TimePeriod: LastMonth, PageSize: 1}

// Detect learns where the API reads the Records parameters from, asking for
// billing group id's last month with a page size of 1 in a JSON body, then
// the query string, then a form body, and stopping at the first encoding the
// API honours: it echoes meta.pageSize 1, or, without meta.pageSize, answers
// one record and a next page. A 400, 415 or 422 answer means the encoding was
// not honoured; any other failure (credentials, an unknown group, the API
// down after retries) ends detection with an error, as it says nothing about
// encodings. It sends at most three requests (and their retries).
// Errors show id masked (MaskBillingGroupID).
func (c *Client) Detect(ctx context.Context, id string) (*Detection, error) {
	d, err := c.detect(ctx, id)
	return d, maskID(err, id)
}

func (c *Client) detect(ctx context.Context, id string) (*Detection, error) {
	if err := ValidateBillingGroupID(id); err != nil {
		return nil, err
	}
	target := recordsURL(c.apiURL, id)
	d := &Detection{Encoding: EncodingJSON}
	for _, enc := range []Encoding{EncodingJSON, EncodingQuery, EncodingForm} {
		body, err := c.fetchPage(ctx, target, pageRequest{q: detectQuery, enc: enc, tokenParam: c.tokenParam})
		t := EncodingTrial{Encoding: enc}
		switch e := apiError(err); {
		case err == nil:
			t.Status = http.StatusOK
			t.Honoured, t.Detail = judgePageSize(body)
		case e != nil && paramsRefused(e.StatusCode):
			t.Status, t.Detail = e.StatusCode, e.Error()
		default:
			return nil, fmt.Errorf("detect request encoding: %s: %w", enc, err)
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

// judgePageSize reports whether a Records answer to a request for a page
// size of 1 honoured it, and what showed it.
func judgePageSize(body []byte) (bool, string) {
	var w struct {
		Meta struct {
			PageSize  *json.Number `json:"pageSize"`
			NextToken string       `json:"nextToken"`
			Key       string       `json:"key"`
		} `json:"meta"`
	}
	if err := json.Unmarshal(body, &w); err != nil {
		return false, "the answer is not a Records page: " + typeError(err).Error()
	}
	if w.Meta.PageSize != nil {
		return w.Meta.PageSize.String() == "1", "meta.pageSize " + bounded(w.Meta.PageSize.String())
	}
	var fields map[string]json.RawMessage
	_ = json.Unmarshal(body, &fields) // valid: decoded above
	raw, ok := fields["records"]
	if !ok && w.Meta.Key != "" {
		raw = fields[w.Meta.Key]
	}
	var records []json.RawMessage
	if err := json.Unmarshal(raw, &records); err != nil || records == nil {
		return false, "the answer has neither meta.pageSize nor a records array"
	}
	switch n := len(records); {
	case n > 1:
		return false, fmt.Sprintf("%d records on a page of 1", n)
	case w.Meta.NextToken != "":
		return true, fmt.Sprintf("%d record and a next page", n)
	default:
		return false, fmt.Sprintf("%d records, no next page and no meta.pageSize: the page size cannot be seen", n)
	}
}

// requestEncoding returns the encoding to send Records requests in, learning
// it first when the setting is EncodingAuto and nothing is learnt yet. One
// detection runs at a time; callers arriving meanwhile wait for its outcome
// (or their ctx). A detection that fails is not remembered, so the next
// fetch tries again.
func (c *Client) requestEncoding(ctx context.Context, id string) (Encoding, error) {
	if c.encoding != EncodingAuto {
		return c.encoding, nil
	}
	if d := c.transport.detected.Load(); d != nil {
		return d.Encoding, nil
	}
	select {
	case c.transport.detecting <- struct{}{}:
	case <-ctx.Done():
		return "", fmt.Errorf("detect request encoding: %w", ctx.Err())
	}
	defer func() { <-c.transport.detecting }()
	if d := c.transport.detected.Load(); d != nil {
		return d.Encoding, nil
	}
	d, err := c.Detect(ctx, id)
	if err != nil {
		return "", err
	}
	c.transport.detected.Store(d)
	c.learned(Learned{BillingGroup: id, Detection: d})
	return d.Encoding, nil
}

// continuePage fetches one page. A continuation that the API refuses (HTTP
// 400) while it repeats the query's parameters is sent again with the page
// token alone; when that works, every later continuation sends the token
// alone.
func (c *Client) continuePage(ctx context.Context, id string, target *url.URL, pr pageRequest) ([]byte, error) {
	pr.alone = c.transport.tokenAlone.Load()
	body, err := c.fetchPage(ctx, target, pr)
	if err == nil || pr.token == "" || pr.alone {
		return body, err
	}
	if e := apiError(err); e == nil || e.StatusCode != http.StatusBadRequest {
		return nil, err
	}
	pr.alone = true
	body, aloneErr := c.fetchPage(ctx, target, pr)
	if aloneErr != nil {
		return nil, fmt.Errorf("%w; sent again with the page token alone: %w", err, aloneErr)
	}
	if c.transport.tokenAlone.CompareAndSwap(false, true) {
		c.learned(Learned{BillingGroup: id, TokenAlone: true, Refusal: err.Error()})
	}
	return body, nil
}

// Transport is what the client sends Records requests with.
type Transport struct {
	// Setting is the configured encoding, EncodingAuto included.
	Setting Encoding
	// Encoding is the encoding in use: Setting, or what EncodingAuto
	// learnt, or "" while it has not learnt yet.
	Encoding Encoding
	// Detection is EncodingAuto's finding, nil otherwise or until then.
	Detection *Detection
	// TokenParam is the parameter carrying the page token.
	TokenParam string
	// TokenAlone says continuations send the page token alone.
	TokenAlone bool
}

// Transport returns how the client sends Records requests now.
func (c *Client) Transport() Transport {
	t := Transport{Setting: c.encoding, Encoding: c.encoding, TokenParam: c.tokenParam,
		TokenAlone: c.transport.tokenAlone.Load()}
	if c.encoding == EncodingAuto {
		t.Encoding = ""
		if d := c.transport.detected.Load(); d != nil {
			t.Encoding, t.Detection = d.Encoding, d
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
