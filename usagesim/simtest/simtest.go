// Package simtest serves the simulated Usage API to tests, as httptest
// serves handlers: Start runs a simulator on loopback until the test ends,
// and Client builds the Usage API client of one. Only tests import it.
package simtest

import (
	"testing"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/twilio"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim"
)

// Start serves sim on a loopback port until tb ends. A failure to start
// fails tb; one to close (a request still in flight past the shutdown
// bound) is logged, as it is not what any test checks.
func Start(tb testing.TB, sim *usagesim.Server) *usagesim.Instance {
	tb.Helper()
	in, err := usagesim.Start(sim, "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("start simulator: %v", err)
	}
	tb.Cleanup(func() {
		if err := in.Close(); err != nil {
			tb.Logf("close simulator: %v", err)
		}
	})
	return in
}

// Client returns a Usage API client of in with the simulator's default
// credentials, asking for pageSize records a page and making one attempt
// per page; edit, if set, changes the config before the client is built.
func Client(tb testing.TB, in *usagesim.Instance, pageSize int, edit func(*twilio.Config)) *twilio.Client {
	tb.Helper()
	cfg := twilio.Config{
		APIURL: in.URL, TokenURL: in.TokenURL,
		ClientID: usagesim.DefaultClientID, ClientSecret: usagesim.DefaultClientSecret,
		MaxAttempts: 1, PageSize: pageSize,
	}
	if edit != nil {
		edit(&cfg)
	}
	c, err := twilio.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}
