package twilio

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// tokenEarlyExpiry is how long before its expiry a cached token is replaced,
// so that a token never expires in flight.
const tokenEarlyExpiry = time.Minute

// tokenCache hands out the cached OAuth token, fetching a new one through
// the client-credentials flow when there is none or it is about to expire.
// It is safe for concurrent use; at most one token request runs at a time.
type tokenCache struct {
	conf   *clientcredentials.Config
	secret func() (string, error) // the current client secret; nil: conf's
	client *http.Client           // the observed token HTTP client
	lock   chan struct{}          // a mutex that can be abandoned when ctx ends
	tok    *oauth2.Token          // guarded by lock
	sent   string                 // the secret of the latest token request, guarded by lock
	now    func() time.Time       // for Retry-After dates
}

func newTokenCache(conf *clientcredentials.Config, secret func() (string, error), client *http.Client, now func() time.Time) *tokenCache {
	return &tokenCache{conf: conf, secret: secret, client: client, lock: make(chan struct{}, 1), sent: conf.ClientSecret, now: now}
}

// secretTokenSource requests a token with the client secret as it is now,
// so that a secret rotated in place (a Kubernetes Secret volume, say) is
// used from the next token request on, without a restart. Callers hold
// tc.lock.
type secretTokenSource struct {
	tc  *tokenCache
	ctx context.Context
}

// Token implements oauth2.TokenSource.
func (s secretTokenSource) Token() (*oauth2.Token, error) {
	conf := *s.tc.conf
	if s.tc.secret != nil {
		secret, err := s.tc.secret()
		if err != nil {
			return nil, fmt.Errorf("read the client secret: %w", err)
		}
		conf.ClientSecret = secret
	}
	s.tc.sent = conf.ClientSecret
	return conf.TokenSource(s.ctx).Token()
}

// token returns a valid token, reusing the cached one until tokenEarlyExpiry
// before it expires. The token request, if any, runs under ctx.
func (tc *tokenCache) token(ctx context.Context) (*oauth2.Token, error) {
	select {
	case tc.lock <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-tc.lock }()
	// The source is rebuilt on each call so that the request uses this
	// call's ctx; the cached token carries the reuse across calls.
	src := secretTokenSource{tc, context.WithValue(ctx, oauth2.HTTPClient, tc.client)}
	tok, err := oauth2.ReuseTokenSourceWithExpiry(tc.tok, src, tokenEarlyExpiry).Token()
	if err != nil {
		return nil, tc.classify(err)
	}
	tc.tok = tok
	return tok, nil
}

// invalidate discards tok if it is still the cached token, so the next call
// to token fetches a fresh one. A token cached since by another caller is
// kept.
func (tc *tokenCache) invalidate(ctx context.Context, tok *oauth2.Token) error {
	select {
	case tc.lock <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	if tc.tok == tok {
		tc.tok = nil
	}
	<-tc.lock
	return nil
}

// maxTokenErrorBody is how much of a token endpoint answer the oauth2
// package reads: a body of that length may have been cut inside an echoed
// secret.
const maxTokenErrorBody = 1 << 20

// classify turns a token endpoint rejection of the credentials or of the
// scope into an *AuthError and any other HTTP failure into a
// *tokenHTTPError; transport errors pass through unchanged. Both the OAuth
// error body ({error, error_description}) and Twilio's own shapes ({code,
// message, ...}) are read.
func (tc *tokenCache) classify(err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return err
	}
	status := 0
	var header http.Header
	if re.Response != nil {
		status, header = re.Response.StatusCode, re.Response.Header
	}
	cut := len(re.Body) >= maxTokenErrorBody
	// The secret is redacted from the whole text before it is cut to a
	// snippet: cut first, a secret echoed across the cut would keep its
	// first characters.
	clean := func(b []byte, cut bool) string { return snippet(redactBytes(b, tc.sent, cut)) }
	code := clean([]byte(re.ErrorCode), false)
	reason := code
	if re.ErrorDescription != "" {
		reason = strings.TrimSpace(reason + " " + clean([]byte(re.ErrorDescription), false))
	}
	twilioCode := 0
	if w, ok := decodeWireError(re.Body); ok && re.ErrorCode == "" {
		// Twilio's own shape: its code and message are the reason.
		twilioCode = w.Code
		reason = clean([]byte(w.Message), false)
		if w.Code != 0 {
			reason = strings.TrimSpace(fmt.Sprintf("code %d: %s", w.Code, reason))
		}
		code = reason
	}
	scope := re.ErrorCode == "invalid_scope" || twilioCode == CodeScopeMissing ||
		(status == http.StatusBadRequest && strings.Contains(strings.ToLower(reason+" "+clean(re.Body, cut)), "scope"))
	rejected := status == http.StatusBadRequest || status == http.StatusUnauthorized ||
		re.ErrorCode == "invalid_client" || re.ErrorCode == "unauthorized_client" || twilioCode == CodeAuthentication
	if !rejected && !scope {
		msg := code
		if msg == "" {
			msg = clean(re.Body, cut)
		}
		if msg == "" {
			msg = http.StatusText(status)
		}
		return &tokenHTTPError{statusCode: status, code: twilioCode, message: msg, err: err,
			retryAfter: parseRetryAfter(header.Get("Retry-After"), tc.now())}
	}
	return &AuthError{ClientID: tc.conf.ClientID, StatusCode: status, Reason: reason, Scope: scope, Err: err}
}

// observingTransport reports each round trip to the observer under a fixed
// endpoint label and sets the User-Agent when the request has none.
type observingTransport struct {
	base      http.RoundTripper
	endpoint  string
	observe   RequestObserver
	userAgent string
}

// RoundTrip implements http.RoundTripper.
func (t *observingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("User-Agent") == "" && t.userAgent != "" {
		req = req.Clone(req.Context())
		req.Header.Set("User-Agent", t.userAgent)
	}
	start := time.Now()
	resp, err := t.base.RoundTrip(req)
	code := 0
	if err == nil {
		code = resp.StatusCode
	}
	t.observe(t.endpoint, code, time.Since(start))
	return resp, err
}
