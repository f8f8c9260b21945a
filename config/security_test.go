package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPlainHTTPOnlyToLoopback: token_url and api_url may use plain http only
// towards a loopback address; any other host is refused with an error naming
// the key, and https is accepted everywhere.
func TestPlainHTTPOnlyToLoopback(t *testing.T) {
	parse := func(apiURL, tokenURL string) error {
		_, err := Parse([]byte("twilio:\n  api_url: "+apiURL+"\n  token_url: "+tokenURL+
			"\n  client_id: OQ1\n  client_secret: "+inlineSecret+"\nbilling_groups:\n  - id: commerce_billingprofile_A1\n    name: a\n"), nil)
		return err
	}
	for _, u := range []string{
		"http://127.0.0.1:8080", "http://127.1.2.3", "http://[::1]:9000/base", "http://localhost:1234",
		"http://LOCALHOST", "https://usage.example.com", "https://10.0.0.1:8443",
	} {
		if err := parse(u, u+"/v2/token"); err != nil {
			t.Errorf("%s: %v, want accepted", u, err)
		}
	}
	for _, u := range []string{
		"http://usage.example.com", "http://10.0.0.1", "http://[::ffff:10.0.0.1]", "http://0.0.0.0:80",
		"http://localhost.example.com", "http://127.0.0.1.nip.io", "HTTP://usage.example.com",
	} {
		err := parse(u, u+"/v2/token")
		if err == nil {
			t.Errorf("%s: accepted, want refused", u)
			continue
		}
		lines := strings.Split(err.Error(), "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[0], "config: twilio.api_url: ") || !strings.HasPrefix(lines[1], "config: twilio.token_url: ") ||
			!strings.Contains(lines[0], "bearer token in clear") || !strings.Contains(lines[1], "client secret in clear") {
			t.Errorf("%s: error\n%v\nwant one line each for api_url and token_url", u, err)
		}
	}
}

// TestWarningsSecretFileReadableByOthers: a client_secret_file every user may
// read gives one warning naming the key and the mode; 0600 and 0640 give none.
func TestWarningsSecretFileReadableByOthers(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "secret")
	if err := os.WriteFile(path, []byte(fileSecret), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		mode os.FileMode
		want string
	}{
		{0o600, ""},
		{0o640, ""},
		{0o644, "twilio.client_secret_file is readable by every user of this machine (mode 0644): restrict it, e.g. chmod 600 or 640"},
		{0o604, "twilio.client_secret_file is readable by every user of this machine (mode 0604): restrict it, e.g. chmod 600 or 640"},
	} {
		if err := os.Chmod(path, tc.mode); err != nil {
			t.Fatal(err)
		}
		cfg, err := Parse([]byte("twilio:\n  api_url: https://usage.example.com\n  client_id: OQ1\n  client_secret_file: "+path+
			"\nbilling_groups:\n  - id: commerce_billingprofile_A1\n    name: a\n"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(cfg.Warnings(), "\n"); got != tc.want {
			t.Errorf("mode %04o: warnings %q, want %q", tc.mode, got, tc.want)
		}
		assertNoSecret(t, "warnings", strings.Join(cfg.Warnings(), "\n"))
	}
}

// TestWarningsBudgetBesideCategoryFilter: a budget of a group whose
// product_categories filter drops categories is compared with the kept
// categories' spend only; each such budget gets one warning naming its key.
// A group without a filter, or with an empty one, gets none.
func TestWarningsBudgetBesideCategoryFilter(t *testing.T) {
	cfg, err := Parse([]byte(`twilio:
  api_url: https://usage.example.com
  client_id: OQ1
  client_secret: not-shown
billing_groups:
  - id: commerce_billingprofile_A1
    name: g1
    budget: {amount: 100, currency: USD}
  - id: commerce_billingprofile_A2
    name: g2
    budget: {amount: 100, currency: USD}
    product_categories: {}
  - id: commerce_billingprofile_A3
    name: g3
    budget: {amount: 100, currency: USD}
    annual_budget: {amount: 1000, currency: USD}
    product_categories: {include: "^sms-"}
  - id: commerce_billingprofile_A4
    name: g4
    product_categories: {exclude: "-inbound$"}
  - id: commerce_billingprofile_A5
    name: g5
    annual_budget: {amount: 1000, currency: USD}
    product_categories: {exclude: "-inbound$"}
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := `billing_groups[2].budget is compared with the spend of the categories billing_groups[2].product_categories keeps, not the group's whole spend: set it for those categories, or drop the filter to budget the whole group
billing_groups[2].annual_budget is compared with the spend of the categories billing_groups[2].product_categories keeps, not the group's whole spend: set it for those categories, or drop the filter to budget the whole group
billing_groups[4].annual_budget is compared with the spend of the categories billing_groups[4].product_categories keeps, not the group's whole spend: set it for those categories, or drop the filter to budget the whole group`
	if got := strings.Join(cfg.Warnings(), "\n"); got != want {
		t.Errorf("warnings:\n%s\nwant:\n%s", got, want)
	}
}

// TestWarningsGroupWithoutName: a group without a name exports its ID, a
// credential, as its label; --config.check, the start and each reload say
// so, showing the ID masked. A group with a name gets no warning.
func TestWarningsGroupWithoutName(t *testing.T) {
	cfg, err := Parse([]byte(`twilio:
  api_url: https://usage.example.com
  client_id: OQ1
  client_secret: s3cr3t-must-not-leak
billing_groups:
  - id: commerce_billingprofile_SECRETPART1234
    name: marketing
  - id: commerce_billingprofile_SECRETPART5678
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(cfg.Warnings(), "\n")
	want := "billing_groups[1] has no name: its ID (commerce_billingprofile_…5678) will be exported in full as the billing_group label, and shown in logs and on the landing page; Twilio calls the ID a secure credential, so set name to export a name instead"
	if got != want {
		t.Errorf("warnings:\n got %s\nwant %s", got, want)
	}
}

// TestWarningsUnroutedOwnerLabel: an owner label the shipped alert rules do
// not copy into alerts gets one warning, however many groups set it; the
// routed ones (team, owner, cost_center) get none.
func TestWarningsUnroutedOwnerLabel(t *testing.T) {
	cfg, err := Parse([]byte(`twilio:
  api_url: https://usage.example.com
  client_id: OQ1
  client_secret: not-shown
billing_groups:
  - id: commerce_billingprofile_A1
    name: a1
    labels: {team: payments, owner: alice, cost_center: "4711", squad: blue}
  - id: commerce_billingprofile_A2
    name: a2
    labels: {squad: red, tribe: core}
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := `billing group label "squad" is exported on twilio_billing_group_info, but the shipped alert rules copy only team, owner, cost_center into alerts: add it to their group_left (...) lists to route alerts by it
billing group label "tribe" is exported on twilio_billing_group_info, but the shipped alert rules copy only team, owner, cost_center into alerts: add it to their group_left (...) lists to route alerts by it`
	if got := strings.Join(cfg.Warnings(), "\n"); got != want {
		t.Errorf("warnings:\n%s\nwant:\n%s", got, want)
	}
}
