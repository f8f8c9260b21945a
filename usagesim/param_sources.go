package usagesim

import (
	"bytes"
	"maps"
	"mime"
	"net/http"
)

// Twilio's public docs do not say where the records parameters travel, what
// the page token parameter is called, nor whether a continuation may repeat
// the query beside the token. The simulator answers like any of the APIs the
// docs allow, one Option each, so that the client's guesses are tested
// against something other than themselves.

// ParamSource says where the records endpoint reads its parameters from.
type ParamSource int

// The parameter sources.
const (
	// ParamsAnywhere reads the query string and a JSON or form body; body
	// values win.
	ParamsAnywhere ParamSource = iota
	// ParamsQueryOnly reads the query string only; any body is ignored.
	ParamsQueryOnly
	// ParamsJSONOnly reads a JSON body only; the query string is ignored
	// and a form body is refused (400).
	ParamsJSONOnly
	// ParamsFormOnly reads a form body only; the query string is ignored
	// and a JSON body is refused (400).
	ParamsFormOnly
)

// String names the source as in test names.
func (p ParamSource) String() string {
	return [...]string{"anywhere", "query-only", "json-only", "form-only"}[p]
}

// Messages of the refusals of where parameters travel.
const (
	// msgTokenAlone refuses a continuation that repeats the query.
	msgTokenAlone = "Invalid request: a page token must be sent alone, it carries the query's parameters"
	// msgQueryWithBody refuses a query string beside a body.
	msgQueryWithBody = "Invalid request: parameters must be sent either in the query string or in the body, not both"
)

// tokenParam is the wire name of the page token parameter.
func (s *Server) tokenParam() string {
	if s.opts.PageTokenParam != "" {
		return s.opts.PageTokenParam
	}
	return paramPageToken
}

// wireName is the name parameter k travels under.
func (s *Server) wireName(k string) string {
	if k == paramPageToken {
		return s.tokenParam()
	}
	return k
}

// readTransport reads the request parameters from where Options.Params says,
// under the names Options.PageTokenParam says.
func (s *Server) readTransport(r *http.Request, body []byte) (map[string]string, *reply) {
	if s.opts.RefuseQueryWithBody && r.URL.RawQuery != "" && len(bytes.TrimSpace(body)) > 0 {
		rp := paramReply(msgQueryWithBody, map[string]string{"query": r.URL.RawQuery})
		return nil, &rp
	}
	params, rp := s.readParamsFrom(r, body)
	if rp != nil || !s.opts.TokenInQuery {
		return params, rp
	}
	delete(params, paramPageToken)
	if tok := r.URL.Query().Get(s.tokenParam()); tok != "" {
		params[paramPageToken] = tok
	}
	return params, nil
}

// readParamsFrom reads the parameters from where Options.Params says.
func (s *Server) readParamsFrom(r *http.Request, body []byte) (map[string]string, *reply) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	from := s.opts.Params
	if from == ParamsQueryOnly {
		body = nil
	}
	if (from == ParamsJSONOnly && ct == "application/x-www-form-urlencoded") ||
		(from == ParamsFormOnly && ct == "application/json") {
		rp := paramReply(msgBadContentType, map[string]string{"Content-Type": r.Header.Get("Content-Type")})
		return nil, &rp
	}
	if from == ParamsJSONOnly || from == ParamsFormOnly {
		r = r.Clone(r.Context())
		r.URL.RawQuery = ""
	}
	params, rp := readParams(r, body, s.wireName)
	if rp == nil && s.opts.DefaultTimePeriod != "" && params[paramTimePeriod] == "" &&
		params[paramStartDate] == "" && params[paramEndDate] == "" && (!s.opts.TokenAlone || params[paramPageToken] == "") {
		params[paramTimePeriod] = s.opts.DefaultTimePeriod
	}
	return params, rp
}

// tokenAlone applies Options.TokenAlone to the parameters of a request for
// groupID: a continuation must carry its page token alone, and the query is
// the one that token was issued for.
func (s *Server) tokenAlone(params map[string]string) (map[string]string, *reply) {
	tok, ok := params[paramPageToken]
	if !s.opts.TokenAlone || !ok {
		return params, nil
	}
	if len(params) > 1 {
		repeated := map[string]string{}
		for k, v := range params {
			if k != paramPageToken {
				repeated[k] = v
			}
		}
		rp := paramReply(msgTokenAlone, repeated)
		return nil, &rp
	}
	_, hash, ok := decodePageToken(tok)
	if !ok {
		return params, nil // refused by parseQuery
	}
	s.mu.Lock()
	q, ok := s.issued[hash]
	s.mu.Unlock()
	if !ok {
		return params, nil // refused by parseQuery
	}
	out := maps.Clone(q)
	out[paramPageToken] = tok
	return out, nil
}

// issue remembers the parameters of a query whose next page token was
// served, so that the token alone can continue it.
func (s *Server) issue(hash string, params map[string]string) {
	if !s.opts.TokenAlone {
		return
	}
	q := maps.Clone(params)
	delete(q, paramPageToken)
	s.mu.Lock()
	s.issued[hash] = q
	s.mu.Unlock()
}
