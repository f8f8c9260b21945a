package config

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/twilio"
)

// FuzzParse feeds arbitrary documents to the loader. It must never panic,
// never leak the secret held in the environment or the secret file, and
// never accept a config that breaks the guarantees validation gives.
func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"testdata/good/*.yml", "testdata/bad/*.yml"} {
		files, err := filepath.Glob(filepath.FromSlash(pattern))
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Add([]byte("twilio: &a {page_size: 5}\nbilling_groups: [{id: commerce_billingprofile_A1, budget: *a}]\n"))
	f.Add([]byte("twilio:\n  <<: [{api_url: 'http://x'}, {client_id: y}]\n"))

	lookupEnv := env(map[string]string{EnvClientID: "OQ-env", EnvClientSecret: envSecret})
	// The secret file is faked: the fuzzer must not read, or block on,
	// whatever path it invents.
	readFile := func(path string) ([]byte, error) {
		if strings.Contains(path, "missing") {
			return nil, os.ErrNotExist
		}
		return []byte(" " + fileSecret + "\n"), nil
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := parse(data, "testdata", lookupEnv, readFile)
		planted := !bytes.Contains(data, []byte(envSecret)) && !bytes.Contains(data, []byte(fileSecret))
		if err != nil {
			if cfg != nil {
				t.Fatal("config returned with an error")
			}
			if planted && (strings.Contains(err.Error(), envSecret) || strings.Contains(err.Error(), fileSecret)) {
				t.Fatalf("error leaks a secret: %v", err)
			}
			if strings.Contains(err.Error(), "please report this as a bug") {
				t.Fatalf("yaml.v3 refused a document the walk passed: %v\n%s", err, data)
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "config: ") {
					t.Fatalf("error line without the config: prefix: %q", line)
				}
			}
			return
		}
		dump := cfg.String()
		if planted && (strings.Contains(dump, envSecret) || strings.Contains(dump, fileSecret)) {
			t.Fatalf("dump leaks a secret:\n%s", dump)
		}
		tw := cfg.Twilio
		if tw.APIURL == "" || tw.ClientID == "" || tw.ClientSecret == "" ||
			tw.PageSize < 1 || tw.PageSize > MaxPageSize || tw.MaxPages < 1 || len(cfg.BillingGroups) == 0 {
			t.Fatalf("invalid config accepted:\n%s", dump)
		}
		labels := map[string]bool{}
		for _, g := range cfg.BillingGroups {
			if !twilio.ValidBillingGroupID(g.ID) || labels[g.Label()] {
				t.Fatalf("bad or duplicate billing group accepted:\n%s", dump)
			}
			labels[g.Label()] = true
			if f := g.ProductCategories; f != nil {
				for _, re := range []*Regexp{f.Include, f.Exclude} {
					if re != nil && re.Regexp == nil {
						t.Fatalf("category filter without a compiled pattern accepted:\n%s", dump)
					}
				}
			}
		}
	})
}
