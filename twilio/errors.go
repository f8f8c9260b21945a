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
	// CodeNotEligible means the billing group cannot use this Usage API
	// version.
	CodeNotEligible = 71001
	// CodeExportNotFound means no usage export exists yet for a period that
	// is not complete.
	CodeExportNotFound = 71003
)

// maxSnippet bounds how much of an unparseable error body ends up in an
// APIError message.
const maxSnippet = 256

// APIError is a non-2xx answer from the Records endpoint, decoded from either
// of Twilio's error body shapes.
type APIError struct {
	// StatusCode is the HTTP status of the response.
	StatusCode int
	// Code is Twilio's error code, 0 when the body carried none.
	Code int
	// Message is Twilio's message, or a bounded snippet of a body that was
	// not a Twilio error, or the HTTP status text of an empty body.
	Message string
	// MoreInfo is the documentation link of the legacy error shape.
	MoreInfo string
	// UserError is set by the newer error shape when the caller is at fault.
	UserError bool
	// Params holds the newer shape's error parameters, nil when absent.
	Params map[string]any
	// RetryAfter is the wait the server asked for in Retry-After, zero when
	// it asked for none.
	RetryAfter time.Duration
}

// Error returns the status, the Twilio code and message, e.g.
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
	return b.String()
}

// wireError covers both Twilio error shapes: legacy {code, message, more_info,
// status} and newer {code, message, httpStatusCode, params, userError}.
type wireError struct {
	Code      int            `json:"code"`
	Message   string         `json:"message"`
	MoreInfo  string         `json:"more_info"`
	Params    map[string]any `json:"params"`
	UserError bool           `json:"userError"`
}

// newAPIError decodes an error response body. A body in neither Twilio shape
// still yields an APIError carrying the status and a snippet of the body.
func newAPIError(status int, header http.Header, body []byte, now time.Time) *APIError {
	e := &APIError{StatusCode: status, RetryAfter: parseRetryAfter(header.Get("Retry-After"), now)}
	var w wireError
	if err := json.Unmarshal(body, &w); err == nil && (w.Code != 0 || w.Message != "") {
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
// credentials; retrying will not help until they are fixed.
type AuthError struct {
	// ClientID is the OAuth client ID that was rejected.
	ClientID string
	// StatusCode is the token endpoint's HTTP status.
	StatusCode int
	// Reason is the OAuth error code and description, if the endpoint sent
	// them.
	Reason string
	// Err is the underlying error from the OAuth library.
	Err error
}

// Error names the client ID and says what to check; it never contains the
// client secret.
func (e *AuthError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "token endpoint rejected the credentials of client ID %q", e.ClientID)
	switch {
	case e.StatusCode != 0 && e.Reason != "":
		fmt.Fprintf(&b, " (HTTP %d: %s)", e.StatusCode, e.Reason)
	case e.StatusCode != 0:
		fmt.Fprintf(&b, " (HTTP %d)", e.StatusCode)
	case e.Reason != "":
		fmt.Fprintf(&b, " (%s)", e.Reason)
	}
	b.WriteString(": check client_id and client_secret")
	return b.String()
}

// Unwrap returns the underlying OAuth error.
func (e *AuthError) Unwrap() error { return e.Err }

// tokenHTTPError is a token endpoint failure that is not a credentials
// rejection, e.g. the endpoint being down.
type tokenHTTPError struct {
	statusCode int
	message    string
	err        error
}

func (e *tokenHTTPError) Error() string {
	return fmt.Sprintf("token endpoint answered HTTP %d: %s", e.statusCode, e.message)
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

// IsUnauthorized reports whether err means the credentials or the token were
// rejected: an *AuthError, or an APIError with HTTP 401 or code 20003.
func IsUnauthorized(err error) bool {
	var ae *AuthError
	if errors.As(err, &ae) {
		return true
	}
	e := apiError(err)
	return e != nil && (e.StatusCode == http.StatusUnauthorized || e.Code == CodeAuthentication)
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

// IsNotEligible reports whether err is an APIError with code 71001: the
// billing group cannot use this Usage API version.
func IsNotEligible(err error) bool {
	e := apiError(err)
	return e != nil && e.Code == CodeNotEligible
}

// IsExportNotFound reports whether err is an APIError with code 71003: no
// export exists yet for a period that is not complete.
func IsExportNotFound(err error) bool {
	e := apiError(err)
	return e != nil && e.Code == CodeExportNotFound
}
