package exposition

import (
	"net/http"
	"strings"

	"github.com/prometheus/common/expfmt"
)

// Negotiate is the format and compression promhttp would answer a request
// with these headers in: the format from Accept, among those client_golang
// encodes, and gzip from Accept-Encoding.
func Negotiate(h http.Header) (format expfmt.Format, gzip bool) {
	return expfmt.NegotiateAccept(h, expfmt.DefaultAcceptedFormats()...), acceptsGzip(h)
}

// acceptsGzip reports whether promhttp would answer a request with these
// headers gzip-compressed: of the offers identity and gzip, in that order, the
// first with the highest strictly positive quality in Accept-Encoding ("*"
// matches both) wins.
func acceptsGzip(h http.Header) bool {
	best, bestQ := "identity", -1.0
	specs := parseAcceptEncoding(h)
	for _, offer := range []string{"identity", "gzip"} {
		for _, s := range specs {
			if s.q > bestQ && (s.value == "*" || s.value == offer) {
				best, bestQ = offer, s.q
			}
		}
	}
	return best == "gzip" && bestQ != 0
}

type acceptSpec struct {
	value string
	q     float64
}

// parseAcceptEncoding parses Accept-Encoding as promhttp does (the parser of
// golang/gddo's httputil/header): a value that is malformed, or whose
// parameter is not q=, ends the parsing of its header line.
func parseAcceptEncoding(h http.Header) []acceptSpec {
	var specs []acceptSpec
line:
	for _, s := range h["Accept-Encoding"] {
		for {
			var spec acceptSpec
			spec.value, s = cutToken(s)
			if spec.value == "" {
				continue line
			}
			spec.q = 1
			s = skipSpace(s)
			if len(s) > 0 && s[0] == ';' {
				s = skipSpace(s[1:])
				if len(s) < 2 || s[:2] != "q=" {
					continue line
				}
				spec.q, s = cutQuality(s[2:])
				if spec.q < 0 {
					continue line
				}
			}
			specs = append(specs, spec)
			s = skipSpace(s)
			if len(s) == 0 || s[0] != ',' {
				continue line
			}
			s = skipSpace(s[1:])
		}
	}
	return specs
}

func skipSpace(s string) string {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n') {
		i++
	}
	return s[i:]
}

// cutToken cuts an RFC 7230 token, or a media range with '/'.
func cutToken(s string) (token, rest string) {
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if c == '/' {
			continue
		}
		if c <= 31 || c >= 127 || c == ' ' || c == '\t' || strings.IndexByte("\"(),/:;<=>?@[]\\{}", c) >= 0 {
			break
		}
	}
	return s[:i], s[i:]
}

// cutQuality parses a quality value: 0 or 1, then optionally '.' and digits;
// -1 when it is neither.
func cutQuality(s string) (q float64, rest string) {
	switch {
	case len(s) == 0:
		return -1, ""
	case s[0] == '0':
		q = 0
	case s[0] == '1':
		q = 1
	default:
		return -1, ""
	}
	s = s[1:]
	if len(s) == 0 || s[0] != '.' {
		return q, s
	}
	s = s[1:]
	n, d, i := 0, 1, 0
	for ; i < len(s) && '0' <= s[i] && s[i] <= '9'; i++ {
		n = n*10 + int(s[i]-'0')
		d *= 10
	}
	return q + float64(n)/float64(d), s[i:]
}
