package twilio

import (
	"errors"
	"fmt"
	"strings"
)

// maskTail is how many trailing characters of a billing group ID its masked
// form keeps, and maskMinHidden how many must stay hidden for any to show.
const (
	maskTail      = 4
	maskMinHidden = 2
)

// MaskBillingGroupID returns id as logs, the landing page and the probe show
// it: Twilio calls a billing group ID "a secure credential that acts as a
// username", so only its fixed prefix and its last four characters remain
// (commerce_billingprofile_…C123), enough to tell groups apart. A short ID
// keeps no tail, and a tail that is not letters and digits is not shown.
func MaskBillingGroupID(id string) string {
	prefix, rest := billingGroupIDPrefix, id
	if r, ok := strings.CutPrefix(id, billingGroupIDPrefix); ok {
		rest = r
	} else {
		prefix = ""
	}
	if len(rest) < maskTail+maskMinHidden {
		return prefix + "…"
	}
	tail := rest[len(rest)-maskTail:]
	for i := 0; i < len(tail); i++ {
		if c := tail[i]; !('a' <= c && c <= 'z') && !('A' <= c && c <= 'Z') && !('0' <= c && c <= '9') {
			return prefix + "…"
		}
	}
	return prefix + "…" + tail
}

// CheckBillingGroupID returns an error saying what is wrong with id unless
// it has the billing group ID format (ValidBillingGroupID). The error shows
// id only masked.
func CheckBillingGroupID(id string) error {
	if ValidBillingGroupID(id) {
		return nil
	}
	var why string
	rest, ok := strings.CutPrefix(id, billingGroupIDPrefix)
	switch {
	case id == "":
		return fmt.Errorf("the billing group ID is empty (want %s)", BillingGroupIDFormat)
	case !ok:
		why = "does not start with " + billingGroupIDPrefix
	case rest == "":
		why = "has nothing after " + billingGroupIDPrefix
	default:
		i := strings.IndexFunc(rest, func(r rune) bool {
			return !('a' <= r && r <= 'z') && !('A' <= r && r <= 'Z') && !('0' <= r && r <= '9')
		})
		r := []rune(rest[i:])[0]
		why = fmt.Sprintf("%+q at byte %d is not a letter or digit", r, len(billingGroupIDPrefix)+i)
	}
	return fmt.Errorf("%s is not a billing group ID: %s (want %s)", MaskBillingGroupID(id), why, BillingGroupIDFormat)
}

// maskedIDError is an error from a call about billing group id, with id
// masked wherever its text holds it: in a URL, in the client's own words or
// echoed by the API.
type maskedIDError struct {
	err error
	id  string
}

func (e *maskedIDError) Error() string {
	return strings.ReplaceAll(e.err.Error(), e.id, MaskBillingGroupID(e.id))
}

func (e *maskedIDError) Unwrap() error { return e.err }

// maskID returns err with billing group id masked in its text, and in the
// message of the *APIError it wraps, if any (made by this call, so it is
// the call's to edit), for callers that print that message alone.
func maskID(err error, id string) error {
	if err == nil || id == "" {
		return err
	}
	var ae *APIError
	if errors.As(err, &ae) {
		ae.Message = strings.ReplaceAll(ae.Message, id, MaskBillingGroupID(id))
	}
	return &maskedIDError{err: err, id: id}
}
