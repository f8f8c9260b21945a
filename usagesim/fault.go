package usagesim

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"time"
)

// FaultKind names a way the simulated API misbehaves.
type FaultKind int

// Fault kinds. Unless noted they apply to the records endpoint; TokenReject,
// TokenDown, TokenRateLimit and TokenScopeRefused apply to the token
// endpoint.
const (
	// RateLimit answers 429 with Twilio error 20429 and, if set, Retry-After.
	RateLimit FaultKind = iota + 1
	// ServerError answers Fault.Status (default 503) with a Twilio error body.
	ServerError
	// Slow waits Fault.Delay before answering, or until the request is
	// cancelled; the answer is then whatever it would have been.
	Slow
	// MalformedJSON answers 200 with a body that is not JSON.
	MalformedJSON
	// TruncatedJSON answers 200 with the first half of the real body.
	TruncatedJSON
	// RepeatingToken answers the real page with a nextToken that points at
	// the same page again: the token just received, or on page 1 a token for
	// page 1.
	RepeatingToken
	// EndlessToken answers the real page (empty past the end) with a fresh
	// nextToken for the following page, even on the last page.
	EndlessToken
	// ExpiredToken answers 401 with error 20003 as if the bearer token expired.
	ExpiredToken
	// Oversized answers 200 with a valid-looking JSON body of Fault.Size bytes
	// (default 8 MiB).
	Oversized
	// NotEligible answers Fault.Status (default 403) with error 71001, "Usage
	// API version not eligible".
	NotEligible
	// TokenReject makes the token endpoint answer 401 invalid_client.
	TokenReject
	// TokenDown makes the token endpoint answer 503.
	TokenDown
	// BadRecord answers the real page with the first record's usage.amount
	// set to "abc" (a record is added to an empty page).
	BadRecord
	// ExportNotFound answers Fault.Status (default 404) with error 71003,
	// "Usage export not found": the export of the period asked for is not
	// generated yet.
	ExportNotFound
	// StaleData answers with the data as it stood one day earlier: the
	// usage up to then and an asOf one day before. Scoped to page 1, it is
	// a data update landing while a client pages: the first page old, the
	// later ones new.
	StaleData
	// SubjectNotEligible answers 403 with error 71002, "Subject not
	// eligible for the usage export functionality".
	SubjectNotEligible
	// ScopeMissing answers 403 with error 70051: the OAuth app lacks the
	// scope the request needs.
	ScopeMissing
	// TokenRateLimit makes the token endpoint answer 429 with Twilio error
	// 20429 and, if set, Retry-After.
	TokenRateLimit
	// TokenScopeRefused makes the token endpoint answer 400 invalid_scope.
	TokenScopeRefused
)

// faultKindNames are the names String returns, indexed by FaultKind.
var faultKindNames = [...]string{
	RateLimit: "RateLimit", ServerError: "ServerError", Slow: "Slow",
	MalformedJSON: "MalformedJSON", TruncatedJSON: "TruncatedJSON",
	RepeatingToken: "RepeatingToken", EndlessToken: "EndlessToken",
	ExpiredToken: "ExpiredToken", Oversized: "Oversized", NotEligible: "NotEligible",
	TokenReject: "TokenReject", TokenDown: "TokenDown", BadRecord: "BadRecord",
	ExportNotFound: "ExportNotFound", StaleData: "StaleData", SubjectNotEligible: "SubjectNotEligible",
	ScopeMissing: "ScopeMissing", TokenRateLimit: "TokenRateLimit", TokenScopeRefused: "TokenScopeRefused",
}

// String returns the Go name of the kind.
func (k FaultKind) String() string {
	if k > 0 && int(k) < len(faultKindNames) {
		return faultKindNames[k]
	}
	return "FaultKind(" + strconv.Itoa(int(k)) + ")"
}

// forTokenEndpoint reports whether the kind applies to the token endpoint
// rather than the records endpoint.
func (k FaultKind) forTokenEndpoint() bool {
	return k == TokenReject || k == TokenDown || k == TokenRateLimit || k == TokenScopeRefused
}

// Fault is one injected misbehaviour and the requests it applies to.
type Fault struct {
	// Kind is what goes wrong.
	Kind FaultKind
	// BillingGroup limits the fault to one billing group ID; "" means any.
	// Ignored by token endpoint faults.
	BillingGroup string
	// Page limits the fault to one 1-based page; 0 means any. Ignored by
	// token endpoint faults.
	Page int
	// TimePeriod limits the fault to requests that send this timePeriod
	// (THIS_MONTH, LAST_MONTH, ...); "" means any. Ignored by token
	// endpoint faults.
	TimePeriod string
	// Times is how many matching requests the fault affects; 0 means every
	// one until ClearFaults.
	Times int
	// RetryAfter is the Retry-After header of a RateLimit or TokenRateLimit
	// answer; "" sends none.
	RetryAfter string
	// Status is the HTTP status of ServerError (default 503) and NotEligible
	// (default 403).
	Status int
	// Delay is how long Slow waits.
	Delay time.Duration
	// Size is the body size of Oversized in bytes.
	Size int
}

// defaultOversize is the body size of Oversized when Fault.Size is 0.
const defaultOversize = 8 << 20

// activeFault is an injected fault and how many uses it has left.
type activeFault struct {
	Fault
	left int // uses left; ignored when Times is 0
}

// matches reports whether the fault applies to a request.
func (f *activeFault) matches(token bool, group string, page int, period string) bool {
	if f.Kind.forTokenEndpoint() != token {
		return false
	}
	if token {
		return true
	}
	return (f.BillingGroup == "" || f.BillingGroup == group) && (f.Page == 0 || f.Page == page) &&
		(f.TimePeriod == "" || f.TimePeriod == period)
}

// InjectFault adds a fault. Faults apply in the order they were injected: all
// matching Slow faults delay a request, then the earliest other matching fault
// shapes its answer. Only applied faults use up their Times.
func (s *Server) InjectFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &activeFault{Fault: f, left: f.Times})
}

// ClearFaults removes every injected fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// takeFaults picks the faults that apply to one request, uses them up and
// counts the request as faulted if any applies. It returns the total delay of
// matching Slow faults and the answering fault, if any.
func (s *Server) takeFaults(token bool, group string, page int, period string) (time.Duration, *Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var delay time.Duration
	var answer *Fault
	applied := false
	use := func(f *activeFault) {
		applied = true
		if f.Times > 0 {
			f.left--
		}
	}
	for _, f := range s.faults {
		if !f.matches(token, group, page, period) {
			continue
		}
		switch {
		case f.Kind == Slow:
			delay += f.Delay
			use(f)
		case answer == nil:
			fc := f.Fault
			answer = &fc
			use(f)
		}
	}
	kept := s.faults[:0]
	for _, f := range s.faults {
		if f.Times == 0 || f.left > 0 {
			kept = append(kept, f)
		}
	}
	clear(s.faults[len(kept):])
	s.faults = kept
	if applied {
		s.stats.Faults++
	}
	return delay, answer
}

// sleep waits d (Options.After) or until ctx is done; it reports whether d
// passed.
func (s *Server) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	select {
	case <-s.opts.After(d):
		return true
	case <-ctx.Done():
		return false
	}
}

// faultReply is the answer of a fault that replaces the whole answer, or nil
// for faults that alter the real answer.
func faultReply(f *Fault, asOf string) *reply {
	var rp reply
	switch f.Kind {
	case RateLimit, TokenRateLimit:
		rp = legacyReply(http.StatusTooManyRequests, codeTooManyRequests, "Too Many Requests")
		if f.RetryAfter != "" {
			rp.header.Set("Retry-After", f.RetryAfter)
		}
	case SubjectNotEligible:
		rp = legacyReply(http.StatusForbidden, codeSubjectNotElig, "Subject not eligible for the usage export functionality")
	case ScopeMissing:
		rp = legacyReply(http.StatusForbidden, codeScopeMissing, "Authorization error: the OAuth app is missing a required scope")
	case TokenScopeRefused:
		rp = oauthReply(http.StatusBadRequest, "invalid_scope", "The requested scope is invalid, unknown, or not granted to this client")
	case ServerError:
		status := f.Status
		if status == 0 {
			status = http.StatusServiceUnavailable
		}
		code, msg := codeInternalError, "Internal Server Error"
		if status == http.StatusServiceUnavailable {
			code, msg = codeUnavailable, "Service Unavailable"
		}
		rp = legacyReply(status, code, msg)
	case ExpiredToken:
		rp = authReply(msgTokenExpired)
	case NotEligible:
		status := f.Status
		if status == 0 {
			status = http.StatusForbidden
		}
		rp = legacyReply(status, codeNotEligible, "Usage API version not eligible")
	case ExportNotFound:
		status := f.Status
		if status == 0 {
			status = http.StatusNotFound
		}
		rp = legacyReply(status, codeExportNotFound, "Usage export not found")
	case MalformedJSON:
		rp = reply{status: http.StatusOK, header: http.Header{}, body: []byte(`{"asOf": ` + asOf + `, records: [<html>oops</html>]`)}
		rp.header.Set("Content-Type", "application/json")
	case TokenReject:
		rp = oauthReply(http.StatusUnauthorized, "invalid_client", "Client authentication failed")
	case TokenDown:
		rp = oauthReply(http.StatusServiceUnavailable, "temporarily_unavailable", "The authorization server is temporarily unavailable")
	default:
		return nil
	}
	return &rp
}

// writeOversized streams a valid-looking records answer of exactly size bytes
// (or the smallest such answer, if size is smaller): many copies of one
// record, padded with spaces.
func writeOversized(w http.ResponseWriter, size int, asOf, currency string) {
	if size <= 0 {
		size = defaultOversize
	}
	head := []byte(`{"asOf":"` + asOf + `","records":[`)
	rec := mustJSON(WireRecord{
		ProductName: "United States-Outbound-SMS", ProductCategory: "sms-outbound",
		StartDate: asOf, EndDate: asOf,
		Usage: WireUsage{Amount: "1", Unit: "segments"},
		Price: WirePrice{Amount: 0.01, Currency: currency},
	})
	tail := []byte(`],"meta":{"key":"items","pageSize":1000,"previousToken":null,"nextToken":null}}`)
	n := 0
	if room := size - len(head) - len(tail); room >= len(rec) {
		n = (room + 1) / (len(rec) + 1)
	}
	pad := size - len(head) - len(tail) - n*len(rec) - max(n-1, 0)
	pad = max(pad, 0)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(head)+len(tail)+n*len(rec)+max(n-1, 0)+pad))
	w.WriteHeader(http.StatusOK)
	bw := &bytes.Buffer{}
	flush := func(force bool) bool {
		if bw.Len() >= 64<<10 || force {
			_, err := w.Write(bw.Bytes())
			bw.Reset()
			return err == nil
		}
		return true
	}
	bw.Write(head)
	for i := 0; i < n; i++ {
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.Write(rec)
		if !flush(false) {
			return
		}
	}
	bw.Write(tail[:len(tail)-1])
	for i := 0; i < pad; i++ {
		bw.WriteByte(' ')
		if !flush(false) {
			return
		}
	}
	bw.WriteByte('}')
	flush(true)
}
