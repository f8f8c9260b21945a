package twilio

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestRedirectsAreNotFollowed: a token endpoint (or Usage API) answering
// 307 to another address must not receive the client secret or the bearer
// token there: the body of a 307 or 308 would be sent again.
func TestRedirectsAreNotFollowed(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		elsewhere.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"stolen","token_type":"Bearer","expires_in":3600}`))
	}))
	defer other.Close()
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer redirect.Close()

	for _, tc := range []struct{ name, apiURL, tokenURL string }{
		{"token endpoint", other.URL, redirect.URL + "/v2/token"},
		{"usage API", redirect.URL, other.URL + "/v2/token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			elsewhere.Store(0)
			c, err := New(Config{APIURL: tc.apiURL, TokenURL: tc.tokenURL, ClientID: "id", ClientSecret: "TOPSECRET", MaxAttempts: 1})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.FetchRecords(context.Background(), testID, Query{TimePeriod: ThisMonth})
			if err == nil {
				t.Fatal("a redirect was followed to a successful answer")
			}
			if strings.Contains(err.Error(), "TOPSECRET") {
				t.Fatalf("error shows the secret: %v", err)
			}
			if n := elsewhere.Load(); tc.name == "token endpoint" && n != 0 {
				t.Fatalf("the redirect target got %d requests, want 0", n)
			}
			if n := elsewhere.Load(); tc.name == "usage API" && n != 1 {
				t.Fatalf("the token endpoint got %d requests, want 1 and no Records request elsewhere", n)
			}
		})
	}
}
