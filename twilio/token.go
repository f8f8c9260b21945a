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
}

func newTokenCache(conf *clientcredentials.Config, secret func() (string, error), client *http.Client) *tokenCache {
	return &tokenCache{conf: conf, secret: secret, client: client, lock: make(chan struct{}, 1), sent: conf.ClientSecret}
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

// classify turns a token endpoint rejection of the credentials into an
// *AuthError and any other HTTP failure into a *tokenHTTPError; transport
// errors pass through unchanged.
func (tc *tokenCache) classify(err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return err
	}
	status := 0
	if re.Response != nil {
		status = re.Response.StatusCode
	}
	rejected := status == http.StatusBadRequest || status == http.StatusUnauthorized ||
		re.ErrorCode == "invalid_client" || re.ErrorCode == "unauthorized_client"
	// The secret is redacted from the whole text before it is cut to a
	// snippet: cut first, a secret echoed across the cut would keep its
	// first characters.
	code := snippet(redactBytes([]byte(re.ErrorCode), tc.sent, false))
	if !rejected {
		msg := code
		if msg == "" {
			msg = snippet(redactBytes(re.Body, tc.sent, len(re.Body) >= maxTokenErrorBody))
		}
		if msg == "" {
			msg = http.StatusText(status)
		}
		return &tokenHTTPError{statusCode: status, message: msg, err: err}
	}
	reason := code
	if re.ErrorDescription != "" {
		reason = strings.TrimSpace(reason + " " + snippet(redactBytes([]byte(re.ErrorDescription), tc.sent, false)))
	}
	return &AuthError{ClientID: tc.conf.ClientID, StatusCode: status, Reason: reason, Err: err}
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
