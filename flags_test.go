package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim"
)

func TestConfigCheck(t *testing.T) {
	_, inst := simulator(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yml")
	writeConfig(t, good, inst, groupsAB)
	var stdout, stderr bytes.Buffer
	if code := run([]string{"--config.check", "--config.file", good}, &stdout, &stderr); code != 0 {
		t.Fatalf("--config.check on a good file: exit %d\n%s", code, stderr.String())
	}
	if out := stdout.String(); !strings.Contains(out, usagesim.DemoGroups()[1].ID) || !strings.Contains(out, "<secret>") || strings.Contains(out+stderr.String(), testSecret) {
		t.Fatalf("--config.check output should show the config with the secret masked:\n%s", out)
	}

	bad := filepath.Join(dir, "bad.yml")
	if err := os.WriteFile(bad, []byte("twilio:\n  api_url: foo\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	stderr.Reset()
	if code := run([]string{"--config.check", "--config.file", bad}, &stdout, &stderr); code != 1 {
		t.Fatalf("--config.check on a bad file: exit %d, want 1", code)
	}
	if !strings.Contains(stderr.String(), `config: twilio.api_url: "foo" is not an absolute http(s) URL`) {
		t.Fatalf("--config.check on a bad file printed:\n%s", stderr.String())
	}
}

func TestBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--cache.ttl=soon"}, `twilio_billing_exporter: error: time: invalid duration "soon", try --help`},
		{[]string{"--log.level=loud"}, `twilio_billing_exporter: error: enum value must be one of debug,info,warn,error, got 'loud'`},
		{[]string{"--no-such-flag"}, `twilio_billing_exporter: error: unknown long flag '--no-such-flag'`},
		{[]string{"--cache.ttl=-1m"}, "twilio_billing_exporter: error: --cache.ttl=-1m0s must be positive, try --help"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(tc.args, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", tc.args, code, stderr.String(), tc.want)
		}
	}
}

func TestMetricsURL(t *testing.T) {
	for addr, want := range map[string]string{
		":10117":          "http://localhost:10117/metrics",
		"127.0.0.1:10117": "http://127.0.0.1:10117/metrics",
		"[::]:10117":      "http://localhost:10117/metrics",
	} {
		if got := metricsURL(addr, "/metrics"); got != want {
			t.Errorf("metricsURL(%q) = %q, want %q", addr, got, want)
		}
	}
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
