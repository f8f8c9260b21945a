package usagesim

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Options configure a simulated API. The zero value serves DemoGroups with the
// demo credentials.
type Options struct {
	// ClientID and ClientSecret are the accepted OAuth client credentials;
	// defaults "demo-client-id" and "demo-client-secret".
	ClientID, ClientSecret string
	// TokenTTL is the lifetime of issued bearer tokens; default 1h.
	TokenTTL time.Duration
	// DefaultPageSize is the page size of requests that send none; default 50,
	// at most 1000. Requests may ask for up to 1000.
	DefaultPageSize int
	// Groups are the billing groups served; default DemoGroups().
	Groups []Group
	// Now is the clock that dates all data and token expiry; default time.Now.
	// Dates are UTC.
	Now func() time.Time
	// After is how a Slow fault waits its Delay: the channel receives once
	// the delay has passed; default time.After. Tests pass one they fire
	// by hand.
	After func(d time.Duration) <-chan time.Time
	// Shapes are the ways answers differ from the docs' example.
	Shapes Shapes
	// Params says where the records endpoint reads its parameters from;
	// default ParamsAnywhere.
	Params ParamSource
	// PageTokenParam is the name of the page token parameter; default
	// "pageToken".
	PageTokenParam string
	// TokenAlone refuses (400) a continuation that sends any parameter
	// beside its page token, and continues the token's query when it comes
	// alone.
	TokenAlone bool
	// DefaultTimePeriod, if set, answers a request that names no period
	// (no timePeriod, startDate or endDate) for this timePeriod instead of
	// refusing it (400). With ParamsQueryOnly, a client sending a JSON body
	// then gets this period's first page whatever it asks for, page token
	// included.
	DefaultTimePeriod string
	// TokenInQuery reads the page token from the query string only, where
	// Twilio's SDKs send it, while the other parameters travel as Params
	// says: a token sent only in a body is ignored, so that continuation
	// gets the first page again.
	TokenInQuery bool
	// RefuseQueryWithBody refuses (400) a records request that has a body
	// and a query string at once.
	RefuseQueryWithBody bool
	// ErrorShape is the body shape of the Twilio errors the records
	// endpoint answers, and of the token endpoint's TokenRateLimit; the
	// token endpoint's OAuth errors keep the OAuth shape.
	ErrorShape ErrorShape
}

// Default option values.
const (
	// DefaultClientID is the accepted client_id when Options.ClientID is "".
	DefaultClientID = "demo-client-id"
	// DefaultClientSecret is the accepted client_secret when
	// Options.ClientSecret is "".
	DefaultClientSecret = "demo-client-secret"
	// DefaultTokenTTL is the bearer token lifetime when Options.TokenTTL is 0.
	DefaultTokenTTL = time.Hour
	// DefaultPageSize is the page size when Options.DefaultPageSize is 0.
	DefaultPageSize = 50
)

// Fixed paths, limits and messages of the simulated API.
const (
	maxRequestBody         = 1 << 20
	tokenPath              = "/v2/token"
	recordsPathPrefix      = "/v2/Usage/BillingGroups/"
	recordsPathSuffix      = "/Records"
	msgAuthenticate        = "Authenticate"
	msgTokenExpired        = "Authenticate: access token expired"
	clientCredentialsGrant = "client_credentials"
)

// Stats counts the requests a Server has answered, faulted ones included.
type Stats struct {
	// TokenRequests counts requests to the token endpoint.
	TokenRequests int
	// RecordsRequests counts requests to the records endpoint.
	RecordsRequests int
	// ByGroup counts records requests by the billing group ID in the path.
	ByGroup map[string]int
	// Faults counts requests that at least one injected fault applied to.
	Faults int
}

// Server is a simulated Twilio Billing Usage API and OAuth token endpoint.
// It is safe for concurrent use.
type Server struct {
	opts   Options
	groups map[string]*groupData
	order  []Group

	mu     sync.Mutex
	shapes Shapes
	tokens map[string]issuedToken
	issued map[string]map[string]string // query hash -> its parameters, for TokenAlone
	faults []*activeFault
	stats  Stats
}

// issuedToken is the state of one bearer token.
type issuedToken struct {
	expires time.Time
	revoked bool // expired early by ExpireTokens
}

// New returns a simulated API serving opts. It panics if a group has an
// invalid ID or currency or two groups share an ID, as those are programming
// errors.
func New(opts Options) *Server {
	if opts.ClientID == "" {
		opts.ClientID = DefaultClientID
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = DefaultClientSecret
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = DefaultTokenTTL
	}
	if opts.DefaultPageSize <= 0 {
		opts.DefaultPageSize = DefaultPageSize
	}
	if opts.DefaultPageSize > maxPageSize {
		opts.DefaultPageSize = maxPageSize
	}
	if opts.Groups == nil {
		opts.Groups = DemoGroups()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.After == nil {
		opts.After = time.After
	}
	if err := opts.Shapes.validate(); err != nil {
		panic("usagesim: " + err.Error())
	}
	s := &Server{
		opts:   opts,
		shapes: opts.Shapes,
		groups: map[string]*groupData{},
		tokens: map[string]issuedToken{},
		issued: map[string]map[string]string{},
		stats:  Stats{ByGroup: map[string]int{}},
	}
	for _, g := range opts.Groups {
		if err := validateGroup(g); err != nil {
			panic("usagesim: invalid group: " + err.Error())
		}
		if _, dup := s.groups[g.ID]; dup {
			panic("usagesim: invalid group: ID " + g.ID + " appears twice")
		}
		gd := buildGroup(g)
		s.groups[g.ID] = &gd
		s.order = append(s.order, g)
	}
	return s
}

// Groups returns the billing groups the server serves, in option order.
func (s *Server) Groups() []Group {
	return append([]Group(nil), s.order...)
}

// Stats returns the request counts since New or the last ResetStats.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.ByGroup = maps.Clone(s.stats.ByGroup)
	return st
}

// ResetStats sets every request count to zero.
func (s *Server) ResetStats() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats = Stats{ByGroup: map[string]int{}}
}

// ExpireTokens makes every token issued so far expired: its next use gets 401.
// Tokens issued later are unaffected.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, t := range s.tokens {
		t.revoked = true
		s.tokens[k] = t
	}
}

// Records returns every record the API serves now for a group and a
// timePeriod (YESTERDAY, THIS_MONTH, LAST_MONTH or THIS_YEAR) with MONTHLY
// aggregation (one row per product and calendar month) and no filter, in
// served order, and the asOf date: the usage
// as it is, whatever Shapes alter in answers. It returns
// nil records for an unknown group or period.
func (s *Server) Records(groupID, period string) ([]WireRecord, string) {
	now := s.opts.Now().UTC()
	asOf := now.Format(dateLayout)
	gd, ok := s.groups[groupID]
	if !ok {
		return nil, asOf
	}
	switch period {
	case periodYesterday, periodThisMonth, periodLastMonth, periodThisYear:
	default:
		return nil, asOf
	}
	q := query{timePeriod: period, aggregation: aggMonthly}
	return gd.records(q.resolve(now), "", byMonth), asOf
}

// ServeHTTP answers the token endpoint (POST /v2/token) and the records
// endpoint (POST /v2/Usage/BillingGroups/{billingGroupId}/Records); any other
// path gets a Twilio 404. A records request is checked in this order: method
// (405), injected faults, bearer token (401), billing group (404), parameters
// (400).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == tokenPath {
		s.serveToken(w, r)
		return
	}
	if rest, ok := strings.CutPrefix(r.URL.Path, recordsPathPrefix); ok {
		if id, ok := strings.CutSuffix(rest, recordsPathSuffix); ok && id != "" && !strings.Contains(id, "/") {
			s.serveRecords(w, r, id)
			return
		}
	}
	reshape(notFound(r.URL.Path), s.opts.ErrorShape).write(w)
}

// notFound is Twilio's legacy 404 for a path.
func notFound(path string) reply {
	return legacyReply(http.StatusNotFound, codeNotFound, "The requested resource "+path+" was not found")
}

// methodNotAllowed is the answer to anything but POST.
func methodNotAllowed(token bool) reply {
	var rp reply
	if token {
		rp = oauthReply(http.StatusMethodNotAllowed, "invalid_request", "The token endpoint only accepts POST")
	} else {
		rp = legacyReply(http.StatusMethodNotAllowed, codeMethodNotAllowed, "Method not allowed")
	}
	rp.header.Set("Allow", http.MethodPost)
	return rp
}

// authReply is the 401 of the records endpoint.
func authReply(msg string) reply {
	rp := legacyReply(http.StatusUnauthorized, codeAuthenticate, msg)
	rp.header.Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	return rp
}

// serveToken issues bearer tokens for the OAuth 2.0 client credentials grant.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.stats.TokenRequests++
	s.mu.Unlock()
	if r.Method != http.MethodPost {
		methodNotAllowed(true).write(w)
		return
	}
	if _, f := s.takeFaults(true, "", 0, ""); f != nil {
		reshape(*faultReply(f, ""), s.opts.ErrorShape).write(w)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxRequestBody)
	if err := r.ParseForm(); err != nil {
		oauthReply(http.StatusBadRequest, "invalid_request", "The request body is not a valid form").write(w)
		return
	}
	id, secret, basic := r.BasicAuth()
	if basic {
		// RFC 6749 2.3.1 form-encodes the credentials before Basic encoding.
		id, secret = formUnescape(id), formUnescape(secret)
	} else {
		id, secret = r.Form.Get("client_id"), r.Form.Get("client_secret")
	}
	if !s.validClient(id, secret) {
		oauthReply(http.StatusUnauthorized, "invalid_client", "Client authentication failed: unknown client_id or wrong client_secret").write(w)
		return
	}
	switch gt := r.Form.Get("grant_type"); gt {
	case clientCredentialsGrant:
	case "":
		oauthReply(http.StatusBadRequest, "invalid_request", "grant_type is required").write(w)
		return
	default:
		oauthReply(http.StatusBadRequest, "unsupported_grant_type", "Only grant_type=client_credentials is supported").write(w)
		return
	}
	tok, err := newAccessToken()
	if err != nil {
		oauthReply(http.StatusInternalServerError, "server_error", fmt.Sprintf("usagesim: issue token: %v", err)).write(w)
		return
	}
	now := s.opts.Now()
	s.mu.Lock()
	for k, t := range s.tokens {
		// Forget tokens long expired so the map does not grow forever.
		if now.Sub(t.expires) > 24*time.Hour {
			delete(s.tokens, k)
		}
	}
	s.tokens[tok] = issuedToken{expires: now.Add(s.opts.TokenTTL)}
	s.mu.Unlock()
	rp := jsonReply(http.StatusOK, tokenAnswer{
		AccessToken: tok,
		TokenType:   "Bearer",
		ExpiresIn:   int64(s.opts.TokenTTL / time.Second),
	})
	rp.header.Set("Cache-Control", "no-store")
	rp.write(w)
}

// formUnescape undoes form encoding, keeping s as it is if it is not encoded.
func formUnescape(s string) string {
	u, err := url.QueryUnescape(s)
	if err != nil {
		return s
	}
	return u
}

// validClient reports whether the client credentials are the accepted ones.
func (s *Server) validClient(id, secret string) bool {
	okID := subtle.ConstantTimeCompare([]byte(id), []byte(s.opts.ClientID))
	okSecret := subtle.ConstantTimeCompare([]byte(secret), []byte(s.opts.ClientSecret))
	return okID&okSecret == 1
}

// newAccessToken returns a random opaque token.
func newAccessToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// checkBearer returns the 401 answer for a request without a valid bearer
// token, or nil.
func (s *Server) checkBearer(r *http.Request) *reply {
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || tok == "" {
		rp := authReply(msgAuthenticate)
		return &rp
	}
	now := s.opts.Now()
	s.mu.Lock()
	t, ok := s.tokens[tok]
	s.mu.Unlock()
	switch {
	case !ok:
		rp := authReply(msgAuthenticate)
		return &rp
	case t.revoked || !now.Before(t.expires):
		rp := authReply(msgTokenExpired)
		return &rp
	}
	return nil
}

// serveRecords answers the records endpoint for one billing group ID.
func (s *Server) serveRecords(w http.ResponseWriter, r *http.Request, groupID string) {
	s.mu.Lock()
	s.stats.RecordsRequests++
	s.stats.ByGroup[groupID]++
	s.mu.Unlock()
	if r.Method != http.MethodPost {
		reshape(methodNotAllowed(false), s.opts.ErrorShape).write(w)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			reshape(paramReply("Invalid request body: larger than 1 MiB", nil), s.opts.ErrorShape).write(w)
		}
		return
	}
	params, perr := s.readTransport(r, body)
	page := 0
	if perr == nil {
		page = pageHint(params)
	}
	delay, f := s.takeFaults(false, groupID, page, params[paramTimePeriod])
	if !s.sleep(r.Context(), delay) {
		// The client left or the server is closing: drop the connection
		// rather than send an empty success.
		panic(http.ErrAbortHandler)
	}
	asOf := s.opts.Now().UTC().Format(dateLayout)
	if f != nil {
		if f.Kind == Oversized {
			cur := "USD"
			if gd, ok := s.groups[groupID]; ok {
				cur = gd.group.Currency
			}
			writeOversized(w, f.Size, asOf, cur)
			return
		}
		if rp := faultReply(f, asOf); rp != nil {
			reshape(*rp, s.opts.ErrorShape).write(w)
			return
		}
	}
	rp := s.recordsAnswer(r, groupID, params, perr, f)
	if f != nil && f.Kind == TruncatedJSON {
		rp.body = rp.body[:len(rp.body)/2]
	}
	reshape(rp, s.opts.ErrorShape).write(w)
}

// recordsAnswer is the real answer to a records request, altered by a
// RepeatingToken, EndlessToken, BadRecord or StaleData fault if f is one.
func (s *Server) recordsAnswer(r *http.Request, groupID string, params map[string]string, perr *reply, f *Fault) reply {
	if rp := s.checkBearer(r); rp != nil {
		return *rp
	}
	gd, ok := s.groups[groupID]
	if !ok {
		return notFound(r.URL.Path)
	}
	if perr != nil {
		return *perr
	}
	params, perr = s.tokenAlone(params)
	if perr != nil {
		return *perr
	}
	q, rp := parseQuery(groupID, params, s.opts.DefaultPageSize)
	if rp != nil {
		return *rp
	}
	now := s.opts.Now().UTC()
	if f != nil && f.Kind == StaleData {
		now = now.AddDate(0, 0, -1)
	}
	s.mu.Lock()
	sh := s.shapes
	s.mu.Unlock()
	sp := q.resolve(now)
	g := sh.granularity(params[paramAggregationPeriod])
	all := sh.shape(gd.records(sp, q.productCategory, g),
		func(g granularity) []WireRecord { return gd.records(sp, q.productCategory, g) }, g)
	lo, hi := sh.window(q.page, q.pageSize, len(all))
	page := WirePage{
		AsOf:    now.Format(dateLayout),
		Records: all[lo:hi],
		Meta:    WireMeta{Key: "items", PageSize: q.pageSize},
	}
	hash := q.hash(groupID)
	if q.page > 1 {
		prev := encodePageToken(q.page-1, hash)
		page.Meta.PreviousToken = &prev
	}
	if hi < len(all) {
		next := encodePageToken(q.page+1, hash)
		page.Meta.NextToken = &next
		s.issue(hash, params)
	}
	if f != nil {
		switch f.Kind {
		case RepeatingToken:
			same := encodePageToken(q.page, hash)
			page.Meta.NextToken = &same
		case EndlessToken:
			next := encodePageToken(q.page+1, hash)
			page.Meta.NextToken = &next
		case BadRecord:
			recs := append([]WireRecord(nil), page.Records...)
			if len(recs) == 0 {
				recs = append(recs, WireRecord{
					ProductName: "United States-Outbound-SMS", ProductCategory: "sms-outbound",
					StartDate: page.AsOf, EndDate: page.AsOf,
					Usage: WireUsage{Unit: "segments"},
					Price: WirePrice{Currency: gd.group.Currency},
				})
			}
			recs[0].Usage.Amount = "abc"
			page.Records = recs
		}
	}
	return sh.reply(page)
}
