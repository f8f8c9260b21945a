package twilio

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"net"
	"strings"
	"unicode"
	"unicode/utf8"
)

// DefaultMaxRecords bounds the records of one fetch when Config.MaxRecords is
// zero: far above any real billing group's month (records are per product,
// or per product and day), far below what would exhaust memory.
const DefaultMaxRecords = 100_000

// tokenKey is what loop detection keeps of a page token: a token may be up to
// MaxBodyBytes long, and a hostile API could send a new one on every page.
type tokenKey [sha256.Size]byte

func keyOf(token string) tokenKey { return sha256.Sum256([]byte(token)) }

// checkRecordBudget fails a fetch whose records would exceed max once page n,
// holding got records where pageSize were asked for, is added to have. The
// API may send more records per page than asked; they are kept, and counted.
func checkRecordBudget(have, got, pageSize, max, n int) error {
	if have+got <= max {
		return nil
	}
	more := ""
	if pageSize > 0 && got > pageSize {
		more = fmt.Sprintf("; the page held %d records where %d were asked for", got, pageSize)
	}
	return fmt.Errorf("page %d: more than %d records (MaxRecords, twilio.max_records)%s", n, max, more)
}

// IsLoopbackHost reports whether host (a URL's Hostname) is localhost or a
// loopback IP address: the only hosts plain http may carry credentials to.
func IsLoopbackHost(host string) bool {
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

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

// redactedText replaces a credential found in upstream text.
const redactedText = "[redacted]"

// redactBytes replaces every occurrence of secret in b with [redacted]: as
// sent, and as JSON may write it, any character of it literal or escaped
// (\u0074, \/, \n), since a decoder turns either back into the secret.
// When cut is true, b ends where a reader stopped, and a start of secret at
// its very end is replaced too: the rest of it lay past the cut. It returns
// b itself when secret is absent.
func redactBytes(b []byte, secret string, cut bool) []byte {
	if secret == "" {
		return b
	}
	want := []rune(secret)
	first := []byte(string(want[0]))
	var out []byte // nil until the first match
	done := 0      // b[:done] is in out already
	for i := 0; i < len(b); {
		if b[i] != first[0] && b[i] != '\\' {
			i++
			continue
		}
		end, whole := matchEscaped(b[i:], want)
		if !whole && !(cut && end == len(b)-i) {
			i++
			continue
		}
		out = append(append(out, b[done:i]...), redactedText...)
		i += end
		done = i
	}
	if out == nil {
		return b
	}
	return append(out, b[done:]...)
}

// matchEscaped reports how many bytes at the start of b spell want, each rune
// literal or JSON-escaped, and whether they spell all of it; a match that runs
// into the end of b, even inside an escape, spans all of b.
func matchEscaped(b []byte, want []rune) (n int, whole bool) {
	for _, r := range want {
		if n == len(b) {
			return n, false
		}
		m := escapedLen(b[n:], r)
		if m == 0 {
			return 0, false
		}
		if m < 0 {
			return len(b), false // the end of b, inside r's escape
		}
		n += m
	}
	return n, true
}

// jsonShortEscapes are JSON's two-character escapes, by the rune they stand for.
var jsonShortEscapes = map[rune]byte{'"': '"', '\\': '\\', '/': '/', '\b': 'b', '\f': 'f', '\n': 'n', '\r': 'r', '\t': 't'}

// escapedLen returns the length of r written literally or as a JSON escape
// at the start of b, 0 if b does not start with r, or -1 if b ends inside a
// form of r.
func escapedLen(b []byte, r rune) int {
	literal := []byte(string(r))
	if bytes.HasPrefix(b, literal) {
		return len(literal)
	}
	if bytes.HasPrefix(literal, b) {
		return -1
	}
	if b[0] != '\\' {
		return 0
	}
	if len(b) == 1 {
		return -1
	}
	if c, ok := jsonShortEscapes[r]; ok && b[1] == c {
		return 2
	}
	if b[1] != 'u' || r > 0xFFFF {
		return 0
	}
	hex := fmt.Sprintf("%04x", r)
	for k := 0; k < 4; k++ {
		if 2+k == len(b) {
			return -1
		}
		if c := b[2+k]; c|0x20 != hex[k] { // hex digits in either case
			return 0
		}
	}
	return 6
}
