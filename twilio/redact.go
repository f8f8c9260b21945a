package twilio

import (
	"bytes"
	"fmt"
)

// A credential the API echoes (the bearer token, the client secret) never
// reaches an error, a log line or the landing page.

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
