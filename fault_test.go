package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim"
)

// checkLeaks fails t if goroutines started during the test outlive it. Call
// it first, so that its cleanup runs after every other one.
func checkLeaks(t *testing.T) {
	t.Helper()
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		http.DefaultClient.CloseIdleConnections()
		goleak.VerifyNone(t, opt)
	})
}

// writeAtomically replaces path with body, so that a concurrent reload reads
// either the old or the new file, never half of one.
func writeAtomically(t *testing.T, path, body string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// configText is a valid config for inst with the given groups section.
func configText(inst *usagesim.Instance, groups string) string {
	return fmt.Sprintf("twilio:\n  api_url: %s\n  token_url: %s\n  client_id: test-client\n  client_secret: %s\nbilling_groups:\n%s",
		inst.URL, inst.TokenURL, testSecret, groups)
}

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
			want:   `config: billing_groups[1].id: "commerce_billingprofile_DEMO-02" is not a billing group ID (want commerce_billingprofile_ followed by letters and digits)`,
		},
		{
			name:   "duplicate name",
			config: strings.Replace(good, "name: support", "name: marketing", 1),
			want:   `config: billing_groups[1].name: "marketing" is already used by billing_groups[0]`,
		},
		{
			name:   "duplicate ID",
			config: strings.Replace(good, ids[1].ID, ids[0].ID, 1),
			want:   `config: billing_groups[1].id: "` + ids[0].ID + `" is already used by billing_groups[0]`,
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

func upValues(body string) string {
	var ups []string
	for _, l := range strings.Split(body, "\n") {
		if rest, ok := strings.CutPrefix(l, `twilio_billing_group_up{billing_group="`); ok {
			label, value, _ := strings.Cut(rest, `"} `)
			ups = append(ups, label+"="+value)
		}
	}
	sort.Strings(ups)
	return strings.Join(ups, " ")
}

// TestFaultBadFlags: each flag value that cannot work stops the process at
// once (exit 2) with one line naming the flag, before any call to Twilio.
// Flags kingpin itself rejects are in TestBadFlags.
func TestFaultBadFlags(t *testing.T) {
	sim, inst := simulator(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yml")
	writeConfig(t, cfg, inst, groupsAB)
	typo := filepath.Join(dir, "web-typo.yml")
	if err := os.WriteFile(typo, []byte("tls_config:\n  cert_file: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "no-such-web.yml")
	for _, tc := range []struct {
		flag, want string
	}{
		{"--cache.ttl=-5m", "--cache.ttl=-5m0s must be positive"},
		{"--cache.ttl=0s", "--cache.ttl=0s must be positive"},
		{"--twilio.timeout=0s", "--twilio.timeout=0s must be positive"},
		{"--web.scrape-timeout=-1s", "--web.scrape-timeout=-1s must be positive"},
		{"--web.scrape-timeout-offset=-1s", "--web.scrape-timeout-offset=-1s must not be negative"},
		{"--twilio.concurrency=0", "--twilio.concurrency=0 must be at least 1"},
		{"--web.max-requests=-1", "--web.max-requests=-1 must not be negative (0 means no limit)"},
		{"--web.telemetry-path=metrics", `--web.telemetry-path="metrics" must be a path starting with / made of letters, digits and / - . _ ~`},
		{"--web.telemetry-path=", `--web.telemetry-path="" must be a path starting with / made of letters, digits and / - . _ ~`},
		{"--web.telemetry-path=/{x", `--web.telemetry-path="/{x" must be a path starting with / made of letters, digits and / - . _ ~`},
		{"--web.telemetry-path=/-/reload", `--web.telemetry-path="/-/reload" is one of the exporter's own endpoints`},
		{"--web.config.file=" + missing, "--web.config.file=" + missing + ": open " + missing + ": no such file or directory"},
		{"--web.config.file=" + typo, "--web.config.file=" + typo + ": yaml: unmarshal errors:\n  line 1: field tls_config not found in type web.Config"},
	} {
		t.Run(tc.flag, func(t *testing.T) {
			sim.ResetStats()
			var stdout, stderr bytes.Buffer
			code := run([]string{"--config.file=" + cfg, "--web.listen-address=127.0.0.1:0", tc.flag}, &stdout, &stderr)
			want := "twilio_billing_exporter: error: " + tc.want + ", try --help\n"
			if code != 2 || stderr.String() != want || stdout.Len() != 0 {
				t.Errorf("exit %d, stderr:\n%s\nwant exit 2 and:\n%s", code, stderr.String(), want)
			}
			if st := sim.Stats(); st.TokenRequests+st.RecordsRequests != 0 {
				t.Errorf("a process with a bad flag called Twilio: %+v", st)
			}
		})
	}
}

// TestFaultReloadDuringConcurrentScrapes reloads good and bad configs while
// scrapers scrape: every scrape answers 200 with exactly the groups of one
// good config, a bad config never takes effect, and nothing races (-race).
func TestFaultReloadDuringConcurrentScrapes(t *testing.T) {
	checkLeaks(t)
	_, inst := simulator(t)
	path := filepath.Join(t.TempDir(), "config.yml")
	g := usagesim.DemoGroups()
	configs := []string{
		configText(inst, groupsAB),
		configText(inst, fmt.Sprintf("  - id: %s\n    name: marketing\n  - id: %s\n    name: platform\n", g[0].ID, g[2].ID)),
		configText(inst, "  - id: commerce_billingprofile_bad-id\n"),
		configText(inst, fmt.Sprintf("  - id: %s\n    name: marketing\n    product_categories: {include: \"^sms-\"}\n  - id: %s\n    name: support\n", g[0].ID, g[1].ID)),
	}
	valid := map[string]bool{"marketing=1 support=1": true, "marketing=1 platform=1": true}
	writeAtomically(t, path, configs[0])
	ex := newTestExporter(t, path)

	const scrapers, scrapes, reloads = 4, 30, 40
	var wg sync.WaitGroup
	errs := make(chan string, scrapers*scrapes)
	for range scrapers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range scrapes {
				resp, err := http.Get(ex.server.URL + "/metrics")
				if err != nil {
					errs <- err.Error()
					return
				}
				var b bytes.Buffer
				_, _ = b.ReadFrom(resp.Body)
				resp.Body.Close()
				// A group that was just added may still be fetching: its
				// up is 0 until the first refresh, so accept 0 too.
				got := strings.ReplaceAll(upValues(b.String()), "=0", "=1")
				if resp.StatusCode != http.StatusOK || !valid[got] {
					errs <- fmt.Sprintf("scrape %d with groups %q", resp.StatusCode, upValues(b.String()))
				}
			}
		}()
	}
	failed := 0
	for i := range reloads {
		c := configs[i%len(configs)]
		writeAtomically(t, path, c)
		code, body, _ := request(t, http.MethodPost, ex.server.URL+"/-/reload")
		bad := strings.Contains(c, "bad-id")
		if bad {
			failed++
		}
		if (code == http.StatusOK) == bad {
			t.Errorf("reload %d = %d %q", i, code, body)
		}
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if n := strings.Count(ex.logs.String(), "Configuration reload failed"); n != failed {
		t.Errorf("%d reload failure lines, want %d (one per failed reload)", n, failed)
	}
}
