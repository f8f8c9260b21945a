package twilio

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// DefaultTokenURL is Twilio's OAuth 2.0 token endpoint.
const DefaultTokenURL = "https://oauth.twilio.com/v2/token"

// ScopeUsageRead is the OAuth scope Twilio documents for reading billing
// group usage.
const ScopeUsageRead = "twilio/billing-insights/usage/read"

// Endpoint labels passed to a RequestObserver.
const (
	EndpointToken   = "token"   // the OAuth token endpoint
	EndpointRecords = "records" // the Usage API Records endpoint
)

// Defaults applied by New to zero-valued Config fields.
const (
	DefaultMaxPages       = 1000
	DefaultMaxBodyBytes   = 16 << 20
	DefaultMaxAttempts    = 4
	DefaultMinBackoff     = 500 * time.Millisecond
	DefaultMaxBackoff     = 30 * time.Second
	DefaultHTTPTimeout    = 30 * time.Second
	DefaultPageTokenParam = "pageToken"
	DefaultUserAgent      = "twilio_billing_exporter"
)

// maxErrorBodyBytes bounds how much of an error response is read; only a
// snippet of it is kept.
const maxErrorBodyBytes = 64 << 10

// RequestObserver is told about every HTTP attempt the client makes: the
// endpoint label (EndpointToken or EndpointRecords), the HTTP status code, or
// 0 when the attempt failed in transport, and how long it took.
type RequestObserver func(endpoint string, code int, d time.Duration)

// Config configures a Client. Zero-valued fields take the documented
// defaults; see the package documentation for why each setting exists.
type Config struct {
	// APIURL is the base URL of the Usage API, an absolute http(s) URL with
	// an optional path prefix. Required: Twilio's public docs do not name
	// the host.
	APIURL string
	// TokenURL is the OAuth 2.0 token endpoint; default DefaultTokenURL.
	TokenURL string
	// ClientID and ClientSecret are the organization OAuth app's
	// credentials. Both are required.
	ClientID     string
	ClientSecret string
	// SecretSource, if set, returns the client secret before each
	// token request, in place of ClientSecret, so that a secret rotated
	// where it is stored is used without a restart. Its errors must not
	// contain the secret.
	SecretSource func() (string, error)
	// Scopes are requested with the token; none are sent when empty.
	Scopes []string
	// Encoding says where request parameters travel; default EncodingJSON.
	// EncodingAuto learns it from the API once per Client.
	Encoding Encoding
	// PageTokenParam is the request parameter that carries meta.nextToken
	// back; default DefaultPageTokenParam.
	PageTokenParam string
	// PageSize is sent as pageSize when a query sets none; 0 leaves the
	// page size to the API.
	PageSize int
	// MaxPages bounds the pages of one fetch; a fetch needing more fails.
	// Default DefaultMaxPages.
	MaxPages int
	// MaxRecords bounds the records of one fetch, however many pages carry
	// them; a fetch needing more fails. Default DefaultMaxRecords.
	MaxRecords int
	// MaxBodyBytes bounds each response body; a larger body fails the
	// fetch. Default DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// MaxAttempts bounds the attempts per page request, 1 meaning no retry.
	// Default DefaultMaxAttempts.
	MaxAttempts int
	// MinBackoff and MaxBackoff bound the wait between attempts; defaults
	// DefaultMinBackoff and DefaultMaxBackoff.
	MinBackoff, MaxBackoff time.Duration
	// HTTPClient is the base client for token and Records requests (its
	// timeout and transport are used); default one with DefaultHTTPTimeout.
	HTTPClient *http.Client
	// Observer, if set, is called once per HTTP attempt.
	Observer RequestObserver
	// UserAgent is sent with every request; default DefaultUserAgent.
	UserAgent string
	// Learned, if set, is told what the client learnt about the API's
	// transport: each time EncodingAuto has detected, and once for each
	// change in how continuations are sent.
	Learned func(Learned)
	// Waiting, if set, is told of every wait before a retry, before it
	// starts.
	Waiting func(Wait)

	// Sleep waits d or until ctx ends, returning ctx's error in that case.
	// Default a timer; tests replace it to avoid real waits.
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter returns a random duration in [0, n]. Default uniform.
	Jitter func(n time.Duration) time.Duration
	// Now returns the current time, for Retry-After dates and deadline
	// checks. Default time.Now.
	Now func() time.Time
}

// Client fetches usage records from the Twilio Billing Usage API. It is safe
// for concurrent use and shares one cached OAuth token across calls.
type Client struct {
	apiURL      *url.URL
	http        *http.Client
	tokens      *tokenCache
	encoding    Encoding
	tokenParam  string
	pageSize    int
	maxPages    int
	maxRecords  int
	maxBody     int64
	maxAttempts int
	minBackoff  time.Duration
	maxBackoff  time.Duration
	observe     RequestObserver
	userAgent   string
	learned     func(Learned)
	waiting     func(Wait)
	shape       shapeState
	sleep       func(ctx context.Context, d time.Duration) error
	jitter      func(n time.Duration) time.Duration
	now         func() time.Time
}

// New validates cfg, applies defaults and returns a Client. Error messages
// name the offending field and never contain the client secret.
func New(cfg Config) (*Client, error) {
	apiURL, err := parseBaseURL("APIURL", cfg.APIURL, "the bearer token")
	if err != nil {
		return nil, err
	}
	if cfg.TokenURL == "" {
		cfg.TokenURL = DefaultTokenURL
	}
	tokenURL, err := parseBaseURL("TokenURL", cfg.TokenURL, "the client secret")
	if err != nil {
		return nil, err
	}
	switch {
	case cfg.ClientID == "":
		return nil, errors.New("twilio: config: ClientID is required")
	case cfg.ClientSecret == "":
		return nil, errors.New("twilio: config: ClientSecret is required")
	case cfg.PageSize < 0:
		return nil, fmt.Errorf("twilio: config: PageSize %d is negative", cfg.PageSize)
	case cfg.MaxPages < 0:
		return nil, fmt.Errorf("twilio: config: MaxPages %d is negative", cfg.MaxPages)
	case cfg.MaxRecords < 0:
		return nil, fmt.Errorf("twilio: config: MaxRecords %d is negative", cfg.MaxRecords)
	case cfg.MaxBodyBytes < 0:
		return nil, fmt.Errorf("twilio: config: MaxBodyBytes %d is negative", cfg.MaxBodyBytes)
	case cfg.MaxAttempts < 0:
		return nil, fmt.Errorf("twilio: config: MaxAttempts %d is negative", cfg.MaxAttempts)
	case cfg.MinBackoff < 0:
		return nil, fmt.Errorf("twilio: config: MinBackoff %s is negative", cfg.MinBackoff)
	case cfg.MaxBackoff < 0:
		return nil, fmt.Errorf("twilio: config: MaxBackoff %s is negative", cfg.MaxBackoff)
	}
	setDefault(&cfg.Encoding, EncodingJSON)
	if err := CheckEncoding(cfg.Encoding); err != nil {
		return nil, fmt.Errorf("twilio: config: Encoding: %w", err)
	}
	setDefault(&cfg.PageTokenParam, DefaultPageTokenParam)
	if err := ValidatePageTokenParam(cfg.PageTokenParam); err != nil {
		return nil, fmt.Errorf("twilio: config: PageTokenParam: %w", err)
	}
	setDefault(&cfg.MaxPages, DefaultMaxPages)
	setDefault(&cfg.MaxRecords, DefaultMaxRecords)
	setDefault(&cfg.MaxBodyBytes, DefaultMaxBodyBytes)
	setDefault(&cfg.MaxAttempts, DefaultMaxAttempts)
	setDefault(&cfg.MinBackoff, DefaultMinBackoff)
	setDefault(&cfg.MaxBackoff, DefaultMaxBackoff)
	setDefault(&cfg.UserAgent, DefaultUserAgent)
	if cfg.MinBackoff > cfg.MaxBackoff {
		return nil, fmt.Errorf("twilio: config: MinBackoff %s is greater than MaxBackoff %s", cfg.MinBackoff, cfg.MaxBackoff)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: DefaultHTTPTimeout}
	}
	if cfg.Observer == nil {
		cfg.Observer = func(string, int, time.Duration) {}
	}
	if cfg.Learned == nil {
		cfg.Learned = func(Learned) {}
	}
	if cfg.Waiting == nil {
		cfg.Waiting = func(Wait) {}
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleepContext
	}
	if cfg.Jitter == nil {
		cfg.Jitter = uniformJitter
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}

	base := cfg.HTTPClient.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	// Redirects are never followed: a 307 or 308 would send the body again,
	// and the token request's body holds the client secret.
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	apiHTTP := *cfg.HTTPClient
	apiHTTP.CheckRedirect = noRedirect
	tokenHTTP := apiHTTP
	tokenHTTP.Transport = &observingTransport{
		base: base, endpoint: EndpointToken, observe: cfg.Observer, userAgent: cfg.UserAgent,
	}
	cc := &clientcredentials.Config{
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		TokenURL:     tokenURL.String(),
		Scopes:       append([]string(nil), cfg.Scopes...),
		// Twilio documents the credentials as form parameters; fixing the
		// style avoids the library's probe, which doubles failed requests.
		AuthStyle: oauth2.AuthStyleInParams,
	}
	return &Client{
		apiURL:      apiURL,
		http:        &apiHTTP,
		tokens:      newTokenCache(cc, cfg.SecretSource, &tokenHTTP, cfg.Now),
		encoding:    cfg.Encoding,
		tokenParam:  cfg.PageTokenParam,
		pageSize:    cfg.PageSize,
		maxPages:    cfg.MaxPages,
		maxRecords:  cfg.MaxRecords,
		maxBody:     cfg.MaxBodyBytes,
		maxAttempts: cfg.MaxAttempts,
		minBackoff:  cfg.MinBackoff,
		maxBackoff:  cfg.MaxBackoff,
		observe:     cfg.Observer,
		userAgent:   cfg.UserAgent,
		learned:     cfg.Learned,
		waiting:     cfg.Waiting,
		shape:       shapeState{detecting: make(chan struct{}, 1)},
		sleep:       cfg.Sleep,
		jitter:      cfg.Jitter,
		now:         cfg.Now,
	}, nil
}

// setDefault replaces a zero *v with def.
func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// parseBaseURL checks raw as CheckBaseURL does; name is the Config field,
// for the error.
func parseBaseURL(name, raw, sent string) (*url.URL, error) {
	if raw == "" {
		return nil, fmt.Errorf("twilio: config: %s is required", name)
	}
	u, err := CheckBaseURL(raw, sent)
	if err != nil {
		return nil, fmt.Errorf("twilio: config: %s %w", name, err)
	}
	return u, nil
}

// CheckBaseURL parses raw as the base URL of an endpoint that is sent the
// credential sent names ("the client secret", "the bearer token"): an
// absolute http(s) URL with a host, no user name or password, query or
// fragment, and https unless the host is a loopback address. The error says
// what is wrong; it quotes raw only once raw cannot hold a password.
func CheckBaseURL(raw, sent string) (*url.URL, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return nil, errors.New("is not a valid URL")
	case u.User != nil:
		return nil, errors.New("must not contain a user name or password (set client_id and client_secret instead)")
	case (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "":
		return nil, fmt.Errorf("%q is not an absolute http(s) URL", raw)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return nil, fmt.Errorf("%q must not have a query or fragment (give the base URL only)", raw)
	case u.Scheme == "http" && !IsLoopbackHost(u.Hostname()):
		return nil, fmt.Errorf("%q uses plain http, which would send %s in clear: use https (plain http is accepted only for loopback addresses such as 127.0.0.1)", raw, sent)
	}
	return u, nil
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

// billingGroupIDPrefix starts every billing group ID.
const billingGroupIDPrefix = "commerce_billingprofile_"

// BillingGroupIDFormat describes a billing group ID, for errors.
const BillingGroupIDFormat = billingGroupIDPrefix + " followed by letters and digits"

// ValidBillingGroupID reports whether id has the billing group ID format:
// "commerce_billingprofile_" followed by one or more ASCII letters or digits.
func ValidBillingGroupID(id string) bool {
	rest, ok := strings.CutPrefix(id, billingGroupIDPrefix)
	valid := ok && rest != ""
	for i := 0; valid && i < len(rest); i++ {
		c := rest[i]
		valid = ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
	}
	return valid
}

// ValidateBillingGroupID returns CheckBillingGroupID's error, in the
// package's words.
func ValidateBillingGroupID(id string) error {
	if err := CheckBillingGroupID(id); err != nil {
		return fmt.Errorf("twilio: %w", err)
	}
	return nil
}

// recordsURL returns the Records endpoint of billing group id under base,
// joining paths with exactly one slash and path-escaping id.
func recordsURL(base *url.URL, id string) *url.URL {
	u := *base
	u.Path = strings.TrimSuffix(base.Path, "/") + "/v2/Usage/BillingGroups/" + id + "/Records"
	u.RawPath = strings.TrimSuffix(base.EscapedPath(), "/") + "/v2/Usage/BillingGroups/" + url.PathEscape(id) + "/Records"
	return &u
}

// prepare validates a Records request for billing group id and completes q
// as every request sends it: the client's page size and the aggregation
// period the query's time period calls for.
func (c *Client) prepare(id string, q Query) (Query, error) {
	if err := ValidateBillingGroupID(id); err != nil {
		return q, err
	}
	if err := q.validate(); err != nil {
		return q, fmt.Errorf("twilio: records for %s: %w", id, err)
	}
	if q.PageSize == 0 {
		q.PageSize = c.pageSize
	}
	if q.AggregationPeriod == "" {
		q.AggregationPeriod = q.defaultAggregation()
	}
	return q, nil
}

// FetchRecords returns every usage record of billing group id matching q,
// following pagination to the end. It returns either the complete result or
// an error, never a partial result.
// Errors show id masked (MaskBillingGroupID).
//
// A startDate..endDate range longer than the 365 days the API accepts (a
// leap year's 1 January to 31 December is 366) is fetched in consecutive
// parts of at most 365 days, split at the end of a month, and returned as
// one only if every part carries the same asOf: never sent whole to fail.
func (c *Client) FetchRecords(ctx context.Context, id string, q Query) (*Usage, error) {
	parts := q.Parts()
	if len(parts) == 1 {
		u, err := c.fetchRecords(ctx, id, q)
		return u, maskID(err, id)
	}
	u, err := c.fetchParts(ctx, id, q, parts)
	return u, maskID(err, id)
}

// fetchParts fetches the parts of a long range and joins them: records in
// order, pages numbered on from part to part, one asOf.
func (c *Client) fetchParts(ctx context.Context, id string, q Query, parts []Query) (*Usage, error) {
	var all *Usage
	for i, part := range parts {
		u, err := c.fetchRecords(ctx, id, part)
		if err != nil {
			return nil, fmt.Errorf("%w (in part %d of %d, %s to %s, of %s to %s)",
				err, i+1, len(parts), part.StartDate, part.EndDate, q.StartDate, q.EndDate)
		}
		if all == nil {
			all = u
			continue
		}
		if !u.AsOf.Equal(all.AsOf) {
			return nil, fmt.Errorf("twilio: records for %s: %s to %s is fetched in %d parts of at most %d days, and the data changed between them: asOf %s, then %s in part %d (%s to %s)",
				id, q.StartDate, q.EndDate, len(parts), maxRangeDays, describeAsOf(all.AsOf), describeAsOf(u.AsOf), i+1, part.StartDate, part.EndDate)
		}
		for j := range u.Records {
			u.Records[j].Page += all.Pages
		}
		all.Records = append(all.Records, u.Records...)
		all.Pages += u.Pages
		all.Restarted = all.Restarted || u.Restarted
	}
	return all, nil
}

func (c *Client) fetchRecords(ctx context.Context, id string, q Query) (*Usage, error) {
	q, err := c.prepare(id, q)
	if err != nil {
		return nil, err
	}
	enc, err := c.requestEncoding(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("twilio: records for %s: %w", id, err)
	}
	target := recordsURL(c.apiURL, id)
	usage, err := c.paginate(ctx, id, target, q, enc)
	var moved *asOfMovedError
	if !errors.As(err, &moved) {
		return usage, err
	}
	// The data was updated while the pages were read: page tokens are
	// offsets, so the pages read so far may skip or repeat rows of the new
	// data. Read it again from the first page, once.
	usage, err = c.paginate(ctx, id, target, q, enc)
	var again *asOfMovedError
	if errors.As(err, &again) {
		return nil, fmt.Errorf("twilio: records for %s: the data changed while it was paged, twice: asOf went from %s to %s, and after starting again from the first page from %s to %s; this period is refused until the data stays the same over one pagination",
			id, moved.first, moved.page, again.first, again.page)
	}
	if err != nil {
		return nil, err
	}
	usage.Restarted = true
	return usage, nil
}

// asOfMovedError says a page of a pagination carried another asOf than its
// first page.
type asOfMovedError struct {
	first, page string // the asOf values as the pages sent them
	n           int    // the page that differed
}

func (e *asOfMovedError) Error() string {
	return fmt.Sprintf("page %d has asOf %s, page 1 had %s", e.n, e.page, e.first)
}

// describeAsOf names an asOf for messages.
func describeAsOf(t time.Time) string {
	switch {
	case t.IsZero():
		return "(none)"
	case t.Equal(t.Truncate(24 * time.Hour)):
		return t.Format(DateLayout)
	default:
		return t.Format(time.RFC3339)
	}
}

// paginate reads every page of q, from the first, and returns them as one
// Usage only if every page carried the asOf of the first: the records of one
// state of the data. A page with another asOf ends it with an
// *asOfMovedError.
func (c *Client) paginate(ctx context.Context, id string, target *url.URL, q Query, enc Encoding) (*Usage, error) {
	usage := &Usage{Records: []Record{}}
	seen := map[tokenKey]int{} // hash of nextToken -> page that returned it
	pageToken := ""
	for n := 1; ; n++ {
		body, err := c.continuePage(ctx, id, target, pageRequest{
			id: id, q: q, enc: enc, tokenParam: c.tokenParam, token: pageToken,
		})
		if err != nil {
			return nil, fmt.Errorf("twilio: records for %s: page %d: %w", id, n, err)
		}
		p, err := decodePage(body)
		if err != nil {
			return nil, fmt.Errorf("twilio: records for %s: page %d: %w", id, n, err)
		}
		if n == 1 {
			usage.AsOf = p.asOf
		} else if !p.asOf.Equal(usage.AsOf) {
			return nil, &asOfMovedError{first: describeAsOf(usage.AsOf), page: describeAsOf(p.asOf), n: n}
		}
		if err := checkRecordBudget(len(usage.Records), len(p.records), q.PageSize, c.maxRecords, n); err != nil {
			return nil, fmt.Errorf("twilio: records for %s: %w", id, err)
		}
		cleanRecords(p.records)
		for i := range p.records {
			p.records[i].Page = n
		}
		usage.Records = append(usage.Records, p.records...)
		usage.Pages = n
		if p.nextToken == "" {
			return usage, nil
		}
		key := keyOf(p.nextToken)
		if prev, ok := seen[key]; ok {
			return nil, fmt.Errorf("twilio: records for %s: page %d: meta.nextToken repeats the one page %d returned; stopping to avoid an endless loop", id, n, prev)
		}
		if n >= c.maxPages {
			return nil, fmt.Errorf("twilio: records for %s: more than %d pages (MaxPages)", id, c.maxPages)
		}
		seen[key] = n
		pageToken = p.nextToken
	}
}

// Wait is one wait before a retry, as Config.Waiting is told of it.
type Wait struct {
	// Endpoint is EndpointToken or EndpointRecords: the one that failed.
	Endpoint string
	// BillingGroup is the ID of the group whose request is retried,
	// masked (MaskBillingGroupID).
	BillingGroup string
	// Attempt is the attempt that failed, from 1.
	Attempt int
	// Delay is how long the client waits.
	Delay time.Duration
	// RetryAfter is what the API's Retry-After asked for; zero when it
	// asked for nothing.
	RetryAfter time.Duration
	// Err is the failure, in words.
	Err string
}

// fetchPage returns the body of one successful Records response, retrying
// throttling, server and transport errors with backoff and refreshing the
// token once on 401. A Retry-After the API sends is waited out in full,
// however long, as long as the context's deadline leaves room for it.
func (c *Client) fetchPage(ctx context.Context, target *url.URL, pr pageRequest) ([]byte, error) {
	refreshed := false
	for attempt := 1; ; {
		body, tok, err := c.attempt(ctx, target, pr)
		if err == nil {
			return body, nil
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			if errors.Is(err, ctxErr) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: %w", ctxErr, err)
		}
		if e := apiError(err); e != nil && e.StatusCode == http.StatusUnauthorized && tok != nil && !refreshed {
			// The token may have been revoked or rotated early: retry once
			// with a fresh one, outside the attempt budget.
			refreshed = true
			if ierr := c.tokens.invalidate(ctx, tok); ierr != nil {
				return nil, fmt.Errorf("%w: %w", ierr, err)
			}
			continue
		}
		if !retryable(err) {
			return nil, err
		}
		if attempt >= c.maxAttempts {
			return nil, fmt.Errorf("giving up after %s: %w", attempts(attempt), err)
		}
		endpoint, retryAfter := EndpointRecords, time.Duration(0)
		var the *tokenHTTPError
		if e := apiError(err); e != nil {
			retryAfter = e.RetryAfter
		} else if errors.As(err, &the) {
			endpoint, retryAfter = EndpointToken, the.retryAfter
		}
		deadline, bounded := ctx.Deadline()
		wait := c.backoff(attempt, retryAfter, bounded)
		if bounded && c.now().Add(wait).After(deadline) {
			// The wait is jittered, so it stays out of the text unless
			// the API asked for it: the same failure must read the same
			// each time it is logged.
			if wait == retryAfter {
				return nil, fmt.Errorf("giving up after %s: the API asked to wait %s (Retry-After), which would pass the context deadline (%w): %w",
					attempts(attempt), retryAfter, context.DeadlineExceeded, err)
			}
			return nil, fmt.Errorf("giving up after %s: the next retry would pass the context deadline (%w): %w",
				attempts(attempt), context.DeadlineExceeded, err)
		}
		c.waiting(Wait{Endpoint: endpoint, BillingGroup: MaskBillingGroupID(pr.id), Attempt: attempt,
			Delay: wait, RetryAfter: retryAfter, Err: strings.ReplaceAll(err.Error(), pr.id, MaskBillingGroupID(pr.id))})
		if serr := c.sleep(ctx, wait); serr != nil {
			return nil, fmt.Errorf("giving up after %s: %w while waiting to retry: %w", attempts(attempt), serr, err)
		}
		attempt++
	}
}

// attempts formats an attempt count.
func attempts(n int) string {
	if n == 1 {
		return "1 attempt"
	}
	return fmt.Sprintf("%d attempts", n)
}

// transportError marks a failure to send a request or read its response,
// which is worth retrying.
type transportError struct{ err error }

func (e *transportError) Error() string { return e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

// retryable reports whether err may go away on its own: throttling, server
// errors and transport errors, from either endpoint.
func retryable(err error) bool {
	var te *transportError
	if errors.As(err, &te) {
		return true
	}
	if e := apiError(err); e != nil {
		return IsRateLimited(err) || e.StatusCode >= 500
	}
	var the *tokenHTTPError
	if errors.As(err, &the) {
		return the.statusCode == http.StatusTooManyRequests || the.statusCode >= 500
	}
	var ue *url.Error // the token endpoint could not be reached
	return errors.As(err, &ue)
}

// backoff returns the wait before attempt+1: equal jitter over an
// exponentially growing ceiling (MinBackoff * 2^(attempt-1), capped at
// MaxBackoff), at least MinBackoff. The server's Retry-After wins when it
// asks for longer: in full when the context has a deadline (bounded), which
// then decides whether the wait is made, and up to MaxBackoff when not.
func (c *Client) backoff(attempt int, retryAfter time.Duration, bounded bool) time.Duration {
	ceiling := c.minBackoff
	for i := 1; i < attempt && ceiling < c.maxBackoff; i++ {
		ceiling *= 2
	}
	ceiling = min(ceiling, c.maxBackoff)
	half := ceiling / 2
	spread := ceiling - half
	j := min(max(c.jitter(spread), 0), spread)
	d := max(half+j, c.minBackoff)
	if !bounded {
		retryAfter = min(retryAfter, c.maxBackoff)
	}
	return max(min(d, c.maxBackoff), retryAfter)
}

// attempt makes one Records request with the current token. It returns the
// token used, so that a 401 can discard exactly that token.
func (c *Client) attempt(ctx context.Context, target *url.URL, pr pageRequest) ([]byte, *oauth2.Token, error) {
	tok, err := c.tokens.token(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("get OAuth token: %w", err)
	}
	req, err := c.newRequest(ctx, target, pr)
	if err != nil {
		return nil, tok, err
	}
	tok.SetAuthHeader(req)

	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		c.observe(EndpointRecords, 0, time.Since(start))
		return nil, tok, &transportError{withoutQuery(err)}
	}
	defer func() { _ = resp.Body.Close() }() // what was read is all the client uses
	success := resp.StatusCode >= 200 && resp.StatusCode <= 299
	limit := c.maxBody
	if !success {
		limit = min(limit, maxErrorBodyBytes)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		c.observe(EndpointRecords, 0, time.Since(start))
		return nil, tok, &transportError{fmt.Errorf("read response: %w", err)}
	}
	c.observe(EndpointRecords, resp.StatusCode, time.Since(start))
	// An API that echoes the bearer token must not put it in an error or a
	// log line: nothing derived from the body holds it after redactBytes,
	// which comes before any cut.
	// A body read only up to the limit may end inside the token, which
	// redactBytes then redacts as far as it goes.
	if !success {
		body = redactBytes(body, tok.AccessToken, int64(len(body)) > limit)
		if int64(len(body)) > limit {
			body = body[:limit]
		}
		return nil, tok, newAPIError(resp.StatusCode, resp.Header, body, c.now())
	}
	if int64(len(body)) > limit {
		return nil, tok, fmt.Errorf("response body exceeds %d bytes (MaxBodyBytes)", limit)
	}
	return redactBytes(body, tok.AccessToken, false), tok, nil
}

// newRequest builds the Records POST, placing the parameters as pr's
// encoding says, and a continuation's page token as pr.cont says.
func (c *Client) newRequest(ctx context.Context, target *url.URL, pr pageRequest) (*http.Request, error) {
	u := *target
	var body []byte
	contentType := ""
	q := pr.q
	if pr.cont.TokenAlone && pr.token != "" {
		q = Query{}
	}
	switch pr.enc {
	case EncodingQuery:
		u.RawQuery = q.values(pr.tokenParam, pr.token).Encode()
	case EncodingForm:
		body = []byte(q.values(pr.tokenParam, pr.token).Encode())
		contentType = "application/x-www-form-urlencoded"
	default:
		b, err := q.jsonBody(pr.tokenParam, pr.token)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		body = b
		contentType = "application/json"
	}
	if pr.token != "" && pr.enc != EncodingQuery && !pr.cont.TokenNotInQuery {
		// Where Twilio's SDKs send it: an API may read the token from
		// the query string only, whatever carries the other parameters.
		u.RawQuery = url.Values{pr.tokenParam: {pr.token}}.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	return req, nil
}

// sleepContext waits d or until ctx ends.
func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// uniformJitter returns a uniformly random duration in [0, n].
func uniformJitter(n time.Duration) time.Duration {
	if n <= 0 {
		return 0
	}
	return rand.N(n + 1)
}

// withoutQuery drops the query string from the URL a transport error names:
// with request_encoding query it holds the parameters and the page token,
// which an error (and so a log line) has no need to carry. The path still
// names the billing group.
func withoutQuery(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	if u, perr := url.Parse(ue.URL); perr == nil && (u.RawQuery != "" || u.ForceQuery) {
		u.RawQuery, u.ForceQuery = "", false
		ue.URL = u.String()
	}
	return err
}
