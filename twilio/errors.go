package twilio

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// Twilio error codes the client and its callers tell apart.
const (
	// CodeAuthentication is Twilio's "authenticate" error: the credentials
	// or token were not accepted.
	CodeAuthentication = 20003
	// CodeNotFound means the requested resource does not exist.
	CodeNotFound = 20404
	// CodeTooManyRequests means too many concurrent requests; the request
	// was not processed and is safe to retry.
	CodeTooManyRequests = 20429
	// CodeScopeMissing means the OAuth app lacks a scope the request needs.
	CodeScopeMissing = 70051
	// CodeNotEligible means the billing group cannot use this Usage API
	// version.
	CodeNotEligible = 71001
	// CodeSubjectNotEligible means the account or organization is not
	// eligible for the usage export functionality.
	CodeSubjectNotEligible = 71002
	// CodeExportNotFound means no usage export exists yet for the period:
	// it is not generated yet, or the period is not complete.
	CodeExportNotFound = 71003
)

// codeHints says, for the Twilio error codes a user of this client meets,
// what to do about them, in one sentence each.
var codeHints = map[int]string{
	CodeAuthentication:     "Twilio did not accept the credentials: check client_id and client_secret, and that they belong to an organization-level OAuth app",
	CodeTooManyRequests:    "too many requests at once: the request was not processed and is retried after a backoff; if it persists, lower --twilio.concurrency",
	CodeScopeMissing:       "the OAuth app lacks a scope: grant it " + ScopeUsageRead + " in the Twilio Console (and list it in twilio.scopes if you set them)",
	CodeNotEligible:        "this billing group cannot use version 2 of the Usage API: ask Twilio support to enable it, or remove the group from billing_groups",
	CodeSubjectNotEligible: "the account or organization is not eligible for usage exports: ask Twilio support to enable them",
	CodeExportNotFound:     "Twilio has not generated the usage export of this period yet: it is retried on the retry interval; data for a period can lag, and a period must be complete in UTC",
}

// maxSnippet bounds how much of an unparseable error body ends up in an
// APIError message.
const maxSnippet = 256

// APIError is a non-2xx answer from the Records endpoint, decoded from any
// of Twilio's error body shapes.
type APIError struct {
	// StatusCode is the HTTP status of the response.
	StatusCode int
	// Code is Twilio's error code, 0 when the body carried none.
	Code int
	// Message is Twilio's message, or a bounded snippet of a body that was
	// not a Twilio error, or the HTTP status text of an empty body.
	Message string
	// MoreInfo is the documentation link the body gave (more_info,
	// moreInfo or infoUrl).
	MoreInfo string
	// UserError is set by the newer error shape when the caller is at fault.
	UserError bool
	// Params holds the newer shape's error parameters, nil when absent.
	Params map[string]any
	// RetryAfter is the wait the server asked for in Retry-After, zero when
	// it asked for none.
	RetryAfter time.Duration
}

// Hint says what to do about the error's Twilio code, "" for a code
// without one.
func (e *APIError) Hint() string { return codeHints[e.Code] }

// Error returns the status, the Twilio code and message and what to do, e.g.
// "HTTP 404: code 20404: The requested resource was not found".
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP %d", e.StatusCode)
	if e.Code != 0 {
		fmt.Fprintf(&b, ": code %d", e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.MoreInfo != "" {
		fmt.Fprintf(&b, " (more info: %s)", e.MoreInfo)
	}
	if h := e.Hint(); h != "" {
		b.WriteString("; ")
		b.WriteString(h)
	}
	return b.String()
}

// wireError covers Twilio's three error shapes: {code, message, more_info,
// status}; the newer {code, message, moreInfo, httpStatusCode, params,
// userError}; and {"errors": [{code, message, infoUrl, context}]}.
type wireError struct {
	Code         int            `json:"code"`
	Message      string         `json:"message"`
	MoreInfo     string         `json:"more_info"`
	MoreInfoNew  string         `json:"moreInfo"`
	Params       map[string]any `json:"params"`
	UserError    bool           `json:"userError"`
	Errors       []wireListItem `json:"errors"`
	OAuthError   string         `json:"error"`
	OAuthMessage string         `json:"error_description"`
}

// wireListItem is one error of the {"errors": [...]} shape.
type wireListItem struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	InfoURL string `json:"infoUrl"`
}

// decodeWireError reads an error body in any of Twilio's shapes: its code,
// message and documentation link, and ok false when it is none of them.
func decodeWireError(body []byte) (w wireError, ok bool) {
	if err := json.Unmarshal(body, &w); err != nil {
		return wireError{}, false
	}
	if len(w.Errors) > 0 {
		first := w.Errors[0]
		w.Code, w.Message, w.MoreInfo = first.Code, first.Message, first.InfoURL
		if n := len(w.Errors) - 1; n > 0 {
			w.Message += fmt.Sprintf(" (and %d more %s)", n, map[bool]string{true: "error", false: "errors"}[n == 1])
		}
	}
	if w.MoreInfo == "" {
		w.MoreInfo = w.MoreInfoNew
	}
	return w, w.Code != 0 || w.Message != ""
}

// newAPIError decodes an error response body. A body in neither Twilio shape
// still yields an APIError carrying the status and a snippet of the body.
func newAPIError(status int, header http.Header, body []byte, now time.Time) *APIError {
	e := &APIError{StatusCode: status, RetryAfter: parseRetryAfter(header.Get("Retry-After"), now)}
	if w, ok := decodeWireError(body); ok {
		e.Code = w.Code
		e.Message = snippet([]byte(w.Message))
		e.MoreInfo = snippet([]byte(w.MoreInfo))
		e.Params = w.Params
		e.UserError = w.UserError
		return e
	}
	e.Message = snippet(body)
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	return e
}

// snippet returns body as one trimmed, valid UTF-8 line of at most maxSnippet
// bytes without control characters, for error messages and logs. Callers
// redact credentials first: a cut through a credential would keep its start.
func snippet(body []byte) string {
	s := strings.ToValidUTF8(string(body), "\uFFFD")
	s = cleanText(strings.Join(strings.Fields(s), " "))
	if len(s) <= maxSnippet {
		return s
	}
	cut := maxSnippet
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// parseRetryAfter reads a Retry-After header given as delay seconds or as an
// HTTP date; anything else, and dates in the past, yield zero.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, ok := parseDelaySeconds(v); ok {
		return secs
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// parseDelaySeconds parses Retry-After's delay-seconds form (1*DIGIT),
// saturating instead of overflowing.
func parseDelaySeconds(v string) (time.Duration, bool) {
	const limit = int64(365 * 24 * 60 * 60) // far beyond any backoff cap
	var n int64
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if n < limit {
			n = n*10 + int64(c-'0')
		}
	}
	return time.Duration(min(n, limit)) * time.Second, true
}

// AuthError means the token endpoint rejected the configured client
// credentials, or the scope they asked for; retrying will not help until
// they are fixed.
type AuthError struct {
	// ClientID is the OAuth client ID that was rejected.
	ClientID string
	// StatusCode is the token endpoint's HTTP status.
	StatusCode int
	// Reason is the OAuth error code and description, or Twilio's code and
	// message, if the endpoint sent them.
	Reason string
	// Scope says the endpoint refused the scope, not the credentials.
	Scope bool
	// Err is the underlying error from the OAuth library.
	Err error
}

// Error names the client ID and says what to check; it never contains the
// client secret.
func (e *AuthError) Error() string {
	var b strings.Builder
	if e.Scope {
		fmt.Fprintf(&b, "token endpoint refused the scope asked for by client ID %q", e.ClientID)
	} else {
		fmt.Fprintf(&b, "token endpoint rejected the credentials of client ID %q", e.ClientID)
	}
	switch {
	case e.StatusCode != 0 && e.Reason != "":
		fmt.Fprintf(&b, " (HTTP %d: %s)", e.StatusCode, e.Reason)
	case e.StatusCode != 0:
		fmt.Fprintf(&b, " (HTTP %d)", e.StatusCode)
	case e.Reason != "":
		fmt.Fprintf(&b, " (%s)", e.Reason)
	}
	if e.Scope {
		b.WriteString(": " + codeHints[CodeScopeMissing])
	} else {
		b.WriteString(": check client_id and client_secret")
	}
	return b.String()
}

// Unwrap returns the underlying OAuth error.
func (e *AuthError) Unwrap() error { return e.Err }

// tokenHTTPError is a token endpoint failure that is not a rejection of the
// credentials or scope, e.g. the endpoint being down or throttling.
type tokenHTTPError struct {
	statusCode int
	code       int // Twilio's error code, if the body had one
	message    string
	retryAfter time.Duration // what Retry-After asked for
	err        error
}

func (e *tokenHTTPError) Error() string {
	s := fmt.Sprintf("token endpoint answered HTTP %d: %s", e.statusCode, e.message)
	if h := codeHints[e.code]; h != "" {
		s += "; " + h
	}
	return s
}

func (e *tokenHTTPError) Unwrap() error { return e.err }

// apiError returns the *APIError in err's chain, or nil.
func apiError(err error) *APIError {
	var e *APIError
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// IsRateLimited reports whether err is an APIError with HTTP 429 or code
// 20429.
func IsRateLimited(err error) bool {
	e := apiError(err)
	return e != nil && (e.StatusCode == http.StatusTooManyRequests || e.Code == CodeTooManyRequests)
}

// IsNotFound reports whether err is an APIError with HTTP 404 or code 20404.
func IsNotFound(err error) bool {
	e := apiError(err)
	return e != nil && (e.StatusCode == http.StatusNotFound || e.Code == CodeNotFound)
}

// IsExportNotFound reports whether err is an APIError with code 71003: no
// export exists yet for a period that is not complete.
func IsExportNotFound(err error) bool {
	e := apiError(err)
	return e != nil && e.Code == CodeExportNotFound
}
