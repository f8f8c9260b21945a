package usagesim

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// WirePage is the JSON body of a successful records answer.
type WirePage struct {
	AsOf    string       `json:"asOf"`
	Records []WireRecord `json:"records"`
	Meta    WireMeta     `json:"meta"`
}

// WireRecord is one usage record as the API serializes it.
type WireRecord struct {
	ProductName     string    `json:"productName"`
	ProductCategory string    `json:"productCategory"`
	StartDate       string    `json:"startDate"`
	EndDate         string    `json:"endDate"`
	Usage           WireUsage `json:"usage"`
	Price           WirePrice `json:"price"`
}

// WireUsage is a record's volume: a decimal string amount and its unit.
type WireUsage struct {
	Amount string `json:"amount"`
	Unit   string `json:"unit"`
}

// WirePrice is a record's estimated cost: a number with cents precision and
// its ISO 4217 currency code.
type WirePrice struct {
	Amount   float64 `json:"amount"`
	Currency string  `json:"currency"`
}

// WireMeta is the pagination block of a records answer. PreviousToken is null
// on the first page and NextToken is null on the last.
type WireMeta struct {
	Key           string  `json:"key"`
	PageSize      int     `json:"pageSize"`
	PreviousToken *string `json:"previousToken"`
	NextToken     *string `json:"nextToken"`
}

// legacyError is Twilio's older error body.
type legacyError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

// userError is Twilio's newer error body.
type userError struct {
	Code           int               `json:"code"`
	Message        string            `json:"message"`
	HTTPStatusCode int               `json:"httpStatusCode"`
	Params         map[string]string `json:"params"`
	UserError      bool              `json:"userError"`
}

// oauthError is the OAuth 2.0 token endpoint error body (RFC 6749 5.2).
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// tokenAnswer is the OAuth 2.0 token endpoint success body.
type tokenAnswer struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
}

// Twilio error codes the simulator answers with.
const (
	codeInvalidParameter = 20001
	codeAuthenticate     = 20003
	codeMethodNotAllowed = 20004
	codeNotFound         = 20404
	codeTooManyRequests  = 20429
	codeInternalError    = 20500
	codeUnavailable      = 20503
	codeScopeMissing     = 70051
	codeNotEligible      = 71001
	codeSubjectNotElig   = 71002
	codeExportNotFound   = 71003
)

// reply is a complete HTTP answer, built before it is written so faults can
// alter or cut it.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// jsonReply encodes v as the body of a reply with the given status.
func jsonReply(status int, v any) reply {
	body, err := json.Marshal(v)
	if err != nil {
		// Every value passed here is a plain struct of strings and numbers.
		panic("usagesim: encode answer: " + err.Error())
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	return reply{status: status, header: h, body: body}
}

// legacyReply is a reply with Twilio's older error body.
func legacyReply(status, code int, message string) reply {
	return jsonReply(status, legacyError{
		Code:     code,
		Message:  message,
		MoreInfo: "https://www.twilio.com/docs/errors/" + strconv.Itoa(code),
		Status:   status,
	})
}

// paramReply is a 400 reply with Twilio's newer error body for a bad request
// parameter.
func paramReply(message string, params map[string]string) reply {
	if params == nil {
		params = map[string]string{}
	}
	return jsonReply(http.StatusBadRequest, userError{
		Code:           codeInvalidParameter,
		Message:        message,
		HTTPStatusCode: http.StatusBadRequest,
		Params:         params,
		UserError:      true,
	})
}

// ErrorShape is the body shape of the simulator's Twilio errors.
type ErrorShape int

// The error shapes Twilio's APIs answer with.
const (
	// ErrorsAsSent keeps each error in the shape the simulator writes it:
	// {code, message, more_info, status}, and the newer shape for a bad
	// parameter.
	ErrorsAsSent ErrorShape = iota
	// ErrorsNewer answers {code, message, moreInfo, httpStatusCode,
	// userError}, as Twilio's newer APIs do.
	ErrorsNewer
	// ErrorsList answers {"errors": [{code, message, infoUrl, context}]},
	// as some of Twilio's bulk APIs do.
	ErrorsList
)

// String names the shape as in test names.
func (e ErrorShape) String() string {
	return [...]string{"as-sent", "newer", "errors-list"}[e]
}

// newerError is the {code, message, moreInfo, httpStatusCode, userError}
// shape.
type newerError struct {
	Code           int    `json:"code"`
	Message        string `json:"message"`
	MoreInfo       string `json:"moreInfo"`
	HTTPStatusCode int    `json:"httpStatusCode"`
	UserError      bool   `json:"userError"`
}

// listedError is one error of the {"errors": [...]} shape.
type listedError struct {
	Code    int               `json:"code"`
	Message string            `json:"message"`
	InfoURL string            `json:"infoUrl"`
	Context map[string]string `json:"context"`
}

// reshape returns rp with its Twilio error body in shape, keeping its status
// and headers; a success, or a body without a Twilio code (the OAuth
// errors), is returned as it is.
func reshape(rp reply, shape ErrorShape) reply {
	if shape == ErrorsAsSent || rp.status < 400 {
		return rp
	}
	var e struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(rp.body, &e) != nil || e.Code == 0 {
		return rp
	}
	info := "https://www.twilio.com/docs/errors/" + strconv.Itoa(e.Code)
	var out reply
	if shape == ErrorsNewer {
		out = jsonReply(rp.status, newerError{Code: e.Code, Message: e.Message, MoreInfo: info, HTTPStatusCode: rp.status, UserError: rp.status < 500})
	} else {
		out = jsonReply(rp.status, map[string][]listedError{"errors": {{Code: e.Code, Message: e.Message, InfoURL: info, Context: map[string]string{}}}})
	}
	for k, v := range rp.header {
		if k != "Content-Type" {
			out.header[k] = v
		}
	}
	return out
}

// oauthReply is a token endpoint error reply.
func oauthReply(status int, code, description string) reply {
	r := jsonReply(status, oauthError{Error: code, Description: description})
	r.header.Set("Cache-Control", "no-store")
	return r
}

// write sends the reply.
func (rp reply) write(w http.ResponseWriter) {
	for k, v := range rp.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(rp.body)))
	w.WriteHeader(rp.status)
	_, _ = w.Write(rp.body)
}
