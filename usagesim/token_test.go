package usagesim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"
)

func TestTokenEndpoint(t *testing.T) {
	const (
		id     = "org client/1"
		secret = "s&cr=t:+%"
	)
	good := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}
	with := func(k, v string) url.Values {
		f := url.Values{}
		for kk, vv := range good {
			f[kk] = vv
		}
		if v == "" {
			f.Del(k)
		} else {
			f.Set(k, v)
		}
		return f
	}
	tests := []struct {
		name       string
		method     string
		form       url.Values
		basic      bool // send the credentials by HTTP Basic, form-encoded first
		rawBasic   bool // send them by HTTP Basic without form encoding
		wantStatus int
		wantBody   string // exact body; "" = a token answer
	}{
		{name: "form credentials", method: http.MethodPost, form: good, wantStatus: 200},
		{name: "basic auth, form encoded", method: http.MethodPost, form: with("client_id", ""), basic: true, wantStatus: 200},
		{name: "basic auth, raw", method: http.MethodPost, form: url.Values{"grant_type": {"client_credentials"}}, rawBasic: true, wantStatus: 200},
		{name: "wrong secret", method: http.MethodPost, form: with("client_secret", "nope"), wantStatus: 401,
			wantBody: `{"error":"invalid_client","error_description":"Client authentication failed: unknown client_id or wrong client_secret"}`},
		{name: "unknown client", method: http.MethodPost, form: with("client_id", "other"), wantStatus: 401,
			wantBody: `{"error":"invalid_client","error_description":"Client authentication failed: unknown client_id or wrong client_secret"}`},
		{name: "no credentials", method: http.MethodPost, form: url.Values{"grant_type": {"client_credentials"}}, wantStatus: 401,
			wantBody: `{"error":"invalid_client","error_description":"Client authentication failed: unknown client_id or wrong client_secret"}`},
		{name: "wrong grant type", method: http.MethodPost, form: with("grant_type", "password"), wantStatus: 400,
			wantBody: `{"error":"unsupported_grant_type","error_description":"Only grant_type=client_credentials is supported"}`},
		{name: "missing grant type", method: http.MethodPost, form: with("grant_type", ""), wantStatus: 400,
			wantBody: `{"error":"invalid_request","error_description":"grant_type is required"}`},
		{name: "GET", method: http.MethodGet, form: good, wantStatus: 405,
			wantBody: `{"error":"invalid_request","error_description":"The token endpoint only accepts POST"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Options{ClientID: id, ClientSecret: secret, TokenTTL: 90 * time.Minute})
			req := h.request(tc.method, "/v2/token", "application/x-www-form-urlencoded", tc.form.Encode())
			if tc.basic {
				req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
			}
			if tc.rawBasic {
				req.SetBasicAuth(id, secret)
			}
			a := h.do(req)
			if a.status != tc.wantStatus {
				t.Fatalf("status = %d, want %d (body %s)", a.status, tc.wantStatus, a.body)
			}
			if got := a.header.Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", got)
			}
			if tc.wantBody != "" {
				if a.body != tc.wantBody {
					t.Errorf("body = %s\nwant   %s", a.body, tc.wantBody)
				}
				return
			}
			var tok map[string]any
			if err := json.Unmarshal([]byte(a.body), &tok); err != nil {
				t.Fatal(err)
			}
			if len(tok) != 3 || tok["token_type"] != "Bearer" || tok["expires_in"] != float64(5400) {
				t.Errorf("token answer = %s, want token_type Bearer and expires_in 5400", a.body)
			}
			if s, _ := tok["access_token"].(string); len(s) < 32 {
				t.Errorf("access_token = %q, want a long opaque string", s)
			}
			if got := a.header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", got)
			}
		})
	}
}

func TestTokensAreUnique(t *testing.T) {
	h := newHarness(t, Options{})
	if a, b := h.token(), h.token(); a == b {
		t.Errorf("two token requests returned the same token %q", a)
	}
}

func TestBearerTokenChecks(t *testing.T) {
	const (
		authenticate = `{"code":20003,"message":"Authenticate","more_info":"https://www.twilio.com/docs/errors/20003","status":401}`
		expired      = `{"code":20003,"message":"Authenticate: access token expired","more_info":"https://www.twilio.com/docs/errors/20003","status":401}`
	)
	params := map[string]any{"timePeriod": "THIS_MONTH"}
	tests := []struct {
		name   string
		auth   func(h *harness) string // Authorization header value
		before func(h *harness)        // runs after the token is issued
		want   string                  // exact 401 body; "" = 200
	}{
		{name: "valid", auth: func(h *harness) string { return "Bearer " + h.token() }},
		{name: "lower-case scheme", auth: func(h *harness) string { return "bearer " + h.token() }},
		{name: "missing", auth: func(*harness) string { return "" }, want: authenticate},
		{name: "unknown token", auth: func(*harness) string { return "Bearer not-a-token" }, want: authenticate},
		{name: "basic scheme", auth: func(h *harness) string { return "Basic " + h.token() }, want: authenticate},
		{name: "just before expiry", auth: func(h *harness) string { return "Bearer " + h.token() },
			before: func(h *harness) { h.clock.Set(midMarch.Add(time.Hour - time.Nanosecond)) }},
		{name: "at expiry", auth: func(h *harness) string { return "Bearer " + h.token() },
			before: func(h *harness) { h.clock.Set(midMarch.Add(time.Hour)) }, want: expired},
		{name: "ExpireTokens", auth: func(h *harness) string { return "Bearer " + h.token() },
			before: func(h *harness) { h.s.ExpireTokens() }, want: expired},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			auth := tc.auth(h)
			if tc.before != nil {
				tc.before(h)
			}
			req := h.request(http.MethodPost, recordsPath(groupA), "application/json", `{"timePeriod":"THIS_MONTH"}`)
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			a := h.do(req)
			if tc.want == "" {
				h.page(a)
				return
			}
			if a.status != http.StatusUnauthorized || a.body != tc.want {
				t.Errorf("got %d %s\nwant 401 %s", a.status, a.body, tc.want)
			}
			if got := a.header.Get("WWW-Authenticate"); got != `Bearer error="invalid_token"` {
				t.Errorf("WWW-Authenticate = %q", got)
			}
		})
	}
	t.Run("token issued after ExpireTokens works", func(t *testing.T) {
		h := newHarness(t, Options{})
		old := h.token()
		h.s.ExpireTokens()
		h.page(h.post(groupA, h.token(), params))
		if a := h.post(groupA, old, params); a.status != http.StatusUnauthorized {
			t.Errorf("old token: status %d, want 401", a.status)
		}
	})
}
