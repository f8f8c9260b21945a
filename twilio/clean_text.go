package twilio

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Text from the API becomes label values and log lines: characters that
// could forge a line or reorder what a dashboard shows are replaced.

// replacement stands for each character cleanText removes.
const replacement = '\uFFFD'

// UnsafeRune reports whether r has no business in a label value or a log
// line: a C0 or C1 control (NUL, BEL, ESC, CR, LF, DEL...), a bidirectional
// control (U+202E RIGHT-TO-LEFT OVERRIDE and its kin, which reorder what a
// dashboard or notification shows), or a line or paragraph separator.
func UnsafeRune(r rune) bool {
	return unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Bidi_Control, r) ||
		unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r)
}

// cleanText replaces each UnsafeRune character of s, and each invalid UTF-8
// byte, with U+FFFD. The same input always gives the same output, so records
// that differ only in such characters end up in the same series.
func cleanText(s string) string {
	if printableASCII(s) || (strings.IndexFunc(s, UnsafeRune) < 0 && utf8.ValidString(s)) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range strings.ToValidUTF8(s, string(replacement)) {
		if UnsafeRune(r) {
			r = replacement
		}
		b.WriteRune(r)
	}
	return b.String()
}

// printableASCII reports whether s is all printable ASCII, as nearly every
// value from the API is: the fast path of cleanText.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// cleanRecords cleans every text field of records that becomes a label value.
func cleanRecords(records []Record) {
	for i := range records {
		r := &records[i]
		r.ProductName = cleanText(r.ProductName)
		r.ProductCategory = cleanText(r.ProductCategory)
		r.UsageUnit = cleanText(r.UsageUnit)
		r.Currency = cleanText(r.Currency)
	}
}
