package main

import (
	"bytes"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim"
)

// TestFaultBadConfig: each mistake a person makes in the config file gives one
// error naming the key; at start the process refuses to start (exit 1,
// before calling Twilio), and on reload the running config stays.
func TestFaultBadConfig(t *testing.T) {
	checkLeaks(t)
	sim, inst := simulator(t)
	dir := t.TempDir()
	ids := usagesim.DemoGroups()
	good := configText(inst, groupsAB)
	for _, tc := range []struct {
		name, config, want string
	}{
		{
			name:   "typo'd key",
			config: strings.Replace(good, "  client_id:", "  clinet_id:", 1),
			want:   `config: line 4: unknown key "clinet_id" in twilio`,
		},
		{
			name:   "bad billing group ID",
			config: strings.Replace(good, ids[1].ID, "commerce_billingprofile_DEMO-02", 1),
			want:   `config: billing_groups[1].id: commerce_billingprofile_… is not a billing group ID: '-' at byte 28 is not a letter or digit (want commerce_billingprofile_ followed by letters and digits)`,
		},
		{
			name:   "duplicate name",
			config: strings.Replace(good, "name: support", "name: marketing", 1),
			want:   `config: billing_groups[1].name: "marketing" is already used by billing_groups[0]`,
		},
		{
			name:   "duplicate ID",
			config: strings.Replace(good, ids[1].ID, ids[0].ID, 1),
			want:   `config: billing_groups[1].id: commerce_billingprofile_…TING is already used by billing_groups[0]`,
		},
		{
			name:   "missing credentials",
			config: strings.Replace(good, "  client_secret: "+testSecret+"\n", "", 1),
			want:   "config: twilio.client_secret: required (set client_secret, client_secret_file or TWILIO_CLIENT_SECRET)",
		},
		{
			name:   "unreadable secret file",
			config: strings.Replace(good, "client_secret: "+testSecret, "client_secret_file: "+dir, 1),
			want:   "config: twilio.client_secret_file: cannot read the file: is a directory (the value must be the path of a file holding the client secret)",
		},
		{
			name:   "missing secret file",
			config: strings.Replace(good, "client_secret: "+testSecret, "client_secret_file: no-such-secret", 1),
			want:   "config: twilio.client_secret_file: cannot read the file: no such file or directory (the value must be the path of a file holding the client secret)",
		},
		{
			name:   "bad regex",
			config: good + "    product_categories: {include: \"sms-(\"}\n",
			want:   "config: line 11: billing_groups[1].product_categories.include: invalid regex \"sms-(\": error parsing regexp: missing closing ): `sms-(`",
		},
		{
			name:   "negative budget",
			config: good + "    budget: {amount: -5, currency: EUR}\n",
			want:   "config: billing_groups[1].budget.amount: must be a number greater than 0, got -5",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, "config.yml")
			writeAtomically(t, path, tc.config)
			sim.ResetStats()

			// At start: exit 1, one error line naming the key, no Twilio call.
			var stdout, stderr bytes.Buffer
			code := run([]string{"--config.file=" + path, "--web.listen-address=127.0.0.1:0"}, &stdout, &stderr)
			logs := stderr.String()
			if code != 1 {
				t.Fatalf("exit %d, want 1; output:\n%s", code, logs)
			}
			if n := strings.Count(logs, "level=error"); n != 1 || !strings.Contains(logs, `msg="Cannot load the configuration; fix it and start again"`) {
				t.Errorf("want exactly one error line saying the process cannot start, got %d:\n%s", n, logs)
			}
			if !strings.Contains(logs, logfmtQuoted(tc.want)) {
				t.Errorf("start-up error does not say %s:\n%s", tc.want, logs)
			}
			if st := sim.Stats(); st.TokenRequests+st.RecordsRequests != 0 {
				t.Errorf("a process that refuses to start called Twilio: %+v", st)
			}
			if strings.Contains(logs, testSecret) {
				t.Errorf("the start-up error shows the client secret:\n%s", logs)
			}

			// On reload: HTTP 500 with the same error, the old config stays.
			writeAtomically(t, path, good)
			ex := newTestExporter(t, path)
			before := scrapeGroups(t, ex.server.URL)
			writeAtomically(t, path, tc.config)
			code, body, _ := request(t, http.MethodPost, ex.server.URL+"/-/reload")
			if want := "Failed to reload config: " + tc.want + "\n"; code != http.StatusInternalServerError || body != want {
				t.Errorf("POST /-/reload = %d %q, want 500 %q", code, body, want)
			}
			if after := scrapeGroups(t, ex.server.URL); after != before || after != "marketing=1 support=1" {
				t.Errorf("after a bad reload the groups are %q, want the old %q", after, before)
			}
			if got := ex.logs.String(); strings.Count(got, "Configuration reload failed") != 1 || strings.Contains(got, testSecret) {
				t.Errorf("want one reload failure line and no secret in the logs:\n%s", got)
			}
		})
	}
}

// logfmtQuoted is s as go-kit's logfmt writes it inside a quoted value.
func logfmtQuoted(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
}

// scrapeGroups scrapes url and returns the billing groups' up values, sorted:
// "marketing=1 support=0".
func scrapeGroups(t *testing.T, base string) string {
	t.Helper()
	code, body, _ := request(t, http.MethodGet, base+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics = %d:\n%s", code, body)
	}
	return upValues(body)
}
