package config

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/twilio"
)

// Secrets planted in testdata and in the test environment. None may ever
// appear in an error or a dump.
const (
	inlineSecret = "s3cr3t-must-not-leak"
	fileSecret   = "s3cr3t-from-file-must-not-leak"
	envSecret    = "s3cr3t-from-env-must-not-leak"
	urlPassword  = "hunter2"
)

var plantedSecrets = []string{inlineSecret, fileSecret, envSecret, urlPassword}

// env returns a lookupEnv over m, leaving the real environment alone.
func env(m map[string]string) func(string) (string, bool) {
	return func(key string) (string, bool) {
		v, ok := m[key]
		return v, ok
	}
}

// assertNoSecret fails if text contains any planted secret.
func assertNoSecret(t *testing.T, what, text string) {
	t.Helper()
	for _, s := range plantedSecrets {
		if strings.Contains(text, s) {
			t.Errorf("%s contains the secret %q:\n%s", what, s, text)
		}
	}
}

func TestLoadBadFiles(t *testing.T) {
	tests := map[string]string{
		"empty.yml":                      `config: the file is empty (want twilio and billing_groups)`,
		"comments-only.yml":              `config: the file is empty (want twilio and billing_groups)`,
		"two-documents.yml":              `config: line 7: a second YAML document (want exactly one)`,
		"not-a-mapping.yml":              `config: line 1: want a mapping at the top level, got a list`,
		"invalid-yaml.yml":               `config: invalid YAML: line 5: did not find expected ',' or ']'`,
		"unknown-key.yml":                `config: line 4: unknown key "clinet_id" in twilio`,
		"unknown-key-top-level.yml":      `config: line 7: unknown key "twillio" at the top level`,
		"unknown-key-billing-group.yml":  `config: line 8: unknown key "lables" in billing_groups[1]`,
		"unknown-key-budget.yml":         `config: line 8: unknown key "period" in billing_groups[1].budget`,
		"duplicate-key.yml":              `config: line 5: duplicate key "client_id" in twilio (first set at line 3)`,
		"wrong-type-page-size.yml":       `config: line 5: twilio.page_size: want an integer, got "abc"`,
		"wrong-type-max-pages-float.yml": `config: line 5: twilio.max_pages: want an integer, got "1.5"`,
		"wrong-type-scopes.yml":          `config: line 5: twilio.scopes: want a list, got "twilio/billing-insights/usage/read"`,
		"wrong-type-billing-groups.yml":  `config: line 5: billing_groups: want a list, got "commerce_billingprofile_ABC123"`,
		"wrong-type-budget-amount.yml":   `config: line 7: billing_groups[0].budget.amount: want a number, got "lots"`,
		"wrong-type-regex.yml":           `config: line 7: billing_groups[0].product_categories.include: want a string (a regular expression), got a list`,
		"wrong-type-client-secret.yml":   `config: line 4: twilio.client_secret: want a string, got a list`,
		"wrong-tag-client-secret.yml":    `config: line 4: twilio.client_secret: cannot decode a value as !!int`,
		"bad-regex-include.yml":          "config: line 7: billing_groups[0].product_categories.include: invalid regex \"([\": error parsing regexp: missing closing ]: `[`",
		"bad-regex-exclude.yml":          "config: line 8: billing_groups[0].product_categories.exclude: invalid regex \"a**\": error parsing regexp: invalid nested repetition operator: `**`",
		"period-ttl-negative.yml":        `config: periods.yesterday.cache_ttl: must be greater than 0, got -5m0s`,
		"period-ttl-zero-in-group.yml":   `config: billing_groups[0].periods.last_month.cache_ttl: must be greater than 0, got 0s`,
		"period-ttl-not-a-duration.yml":  `config: line 6: periods.last_month.cache_ttl: want a duration such as 1h or 30m, got "soon"`,
		"period-unknown.yml":             `config: line 6: unknown key "last_week" in periods`,
		"missing-api-url.yml":            `config: twilio.api_url: required (the base URL of the Usage API)`,
		"api-url-with-query.yml":         `config: twilio.api_url: "https://usage.example.com/?region=us1" must not have a query or fragment (give the base URL only)`,
		"bad-api-url.yml":                `config: twilio.api_url: "foo" is not an absolute http(s) URL`,
		"api-url-with-password.yml":      `config: twilio.api_url: must not contain a user name or password (set client_id and client_secret instead)`,
		"bad-token-url.yml":              `config: twilio.token_url: "oauth.twilio.com/v2/token" is not an absolute http(s) URL`,
		"missing-client-id.yml":          `config: twilio.client_id: required (set it in the file or in TWILIO_CLIENT_ID)`,
		"missing-client-secret.yml":      `config: twilio.client_secret: required (set client_secret, client_secret_file or TWILIO_CLIENT_SECRET)`,
		"client-secret-and-file.yml":     `config: twilio.client_secret_file: cannot be used together with client_secret (set only one)`,
		"client-secret-file-missing.yml": `config: twilio.client_secret_file: cannot read the file: no such file or directory (the value must be the path of a file holding the client secret)`,
		"client-secret-file-empty.yml":   `config: twilio.client_secret_file: the file is empty (want the client secret)`,
		"scope-with-space.yml":           `config: twilio.scopes[0]: "a b" must not contain spaces (list each scope separately)`,
		"bad-request-encoding.yml":       `config: twilio.request_encoding: "xml" is not one of auto, json, query, form`,
		"bad-page-token-param.yml":       `config: twilio.page_token_param: "page token" is not a parameter name (want up to 64 letters, digits, _ - or ., starting with a letter)`,
		"page-token-param-taken.yml":     `config: twilio.page_token_param: "timePeriod" is a query parameter already`,
		"page-size-zero.yml":             `config: twilio.page_size: must be between 1 and 1000, got 0`,
		"page-size-too-big.yml":          `config: twilio.page_size: must be between 1 and 1000, got 1001`,
		"max-pages-zero.yml":             `config: twilio.max_pages: must be at least 1, got 0`,
		"max-records-zero.yml":           `config: twilio.max_records: must be at least 1, got 0`,
		"max-series-negative.yml":        `config: twilio.max_series: must be at least 1, got -1`,
		"token-url-plain-http.yml":       `config: twilio.token_url: "http://oauth.example.net/v2/token" uses plain http, which would send the client secret in clear: use https (plain http is accepted only for loopback addresses such as 127.0.0.1)`,
		"api-url-plain-http.yml":         `config: twilio.api_url: "http://usage.example.com" uses plain http, which would send the bearer token in clear: use https (plain http is accepted only for loopback addresses such as 127.0.0.1)`,
		// An operator who pastes the secret where its path belongs never
		// sees it echoed (assertNoSecret below checks every message).
		"client-secret-file-holds-secret.yml": `config: twilio.client_secret_file: cannot read the file: no such file or directory (the value must be the path of a file holding the client secret)`,
		"wrong-tag-client-secret-file.yml":    `config: line 4: twilio.client_secret_file: cannot decode a value as !!int`,
		"missing-billing-groups.yml":          `config: billing_groups: at least one billing group is required`,
		"empty-billing-groups.yml":            `config: billing_groups: at least one billing group is required`,
		"missing-id.yml":                      `config: billing_groups[0].id: required (want commerce_billingprofile_ followed by letters and digits)`,
		"bad-id.yml":                          `config: billing_groups[1].id: commerce_billingprofile_… is not a billing group ID: '-' at byte 25 is not a letter or digit (want commerce_billingprofile_ followed by letters and digits)`,
		"name-unsafe-characters.yml": `config: billing_groups[0].name: "market\u202eing" holds U+202E at byte 6, a control or bidirectional formatting character that would reach the billing_group label, logs and the landing page; remove it
config: billing_groups[1].name: "red\x1b[31m" holds U+001B at byte 3, a control or bidirectional formatting character that would reach the billing_group label, logs and the landing page; remove it
config: billing_groups[2].name: "two\u2028lines" holds U+2028 at byte 3, a control or bidirectional formatting character that would reach the billing_group label, logs and the landing page; remove it
config: billing_groups[3].name: "raw\u202ename" holds U+202E at byte 3, a control or bidirectional formatting character that would reach the billing_group label, logs and the landing page; remove it`,
		"duplicate-id.yml":                      `config: billing_groups[1].id: commerce_billingprofile_…C123 is already used by billing_groups[0]`,
		"duplicate-name.yml":                    `config: billing_groups[2].name: "marketing" is already used by billing_groups[0]`,
		"name-is-another-id.yml":                `config: billing_groups[1].name: commerce_billingprofile_… is already used by billing_groups[0]`,
		"id-is-another-name.yml":                `config: billing_groups[1].id: commerce_billingprofile_… is already the name of billing_groups[0] (both would get the same billing_group label; give one of them a different name)`,
		"budget-amount-negative.yml":            `config: billing_groups[0].budget.amount: must be a number greater than 0, got -5`,
		"budget-amount-missing.yml":             `config: billing_groups[0].budget.amount: must be a number greater than 0, got 0`,
		"budget-currency-lower-case.yml":        `config: billing_groups[0].budget.currency: "usd" is not a currency code (want 3 upper-case letters, e.g. USD)`,
		"budget-currency-missing.yml":           `config: billing_groups[0].budget.currency: required (3 upper-case letters, e.g. USD)`,
		"annual-budget-amount-zero.yml":         `config: billing_groups[1].annual_budget.amount: must be a number greater than 0, got 0`,
		"annual-budget-currency-missing.yml":    `config: billing_groups[1].annual_budget.currency: required (3 upper-case letters, e.g. USD)`,
		"annual-budget-currency-lower-case.yml": `config: billing_groups[1].annual_budget.currency: "usd" is not a currency code (want 3 upper-case letters, e.g. USD)`,
		"unknown-key-annual-budget.yml":         `config: line 8: unknown key "period" in billing_groups[1].annual_budget`,
		"period-ttl-negative-this-year.yml":     `config: billing_groups[1].periods.this_year.cache_ttl: must be greater than 0, got -1h0m0s`,
		// Found by walking the document, so a new wording of yaml.v3's
		// own messages changes none of these.
		"wrong-type-period-enabled.yml":     `config: line 6: periods.yesterday.enabled: want true or false, got "maybe"`,
		"duplicate-key-billing-group.yml":   `config: line 8: duplicate key "name" in billing_groups[0] (first set at line 7)`,
		"unknown-key-merged.yml":            `config: line 6: unknown key "budgett" in billing_groups[0]`,
		"merge-not-a-mapping.yml":           `config: line 6: a merge key (<<) in billing_groups[0] takes a mapping or a list of mappings, got "commerce_billingprofile_ABC123"`,
		"wrong-type-page-size-overflow.yml": `config: line 5: twilio.page_size: want an integer, got "99999999999999999999999"`,
		// Every problem is reported, one per line: all decoding problems in
		// line order, or, if decoding succeeded, all validation problems
		// in key order.
		"several-decoding-mistakes.yml": `config: line 4: unknown key "clinet_id" in twilio
config: line 5: twilio.page_size: want an integer, got "abc"
config: line 8: unknown key "period" in billing_groups[0].budget`,
		"reporting-rate-missing.yml": "config: billing_groups[1].annual_budget.currency: GBP has no rate in reporting_currency.rates (add GBP: what one GBP is worth in USD)",
		"reporting-bad-rates.yml": `config: reporting_currency.currency: "usd" is not a currency code (want 3 upper-case letters, e.g. USD)
config: reporting_currency.rates_as_of: "2026-13-01" is not a YYYY-MM-DD date
config: reporting_currency.rates.EUR: must be a number greater than 0 (what one EUR is worth in usd), got 0
config: reporting_currency.rates.GBP: must be a number greater than 0 (what one GBP is worth in usd), got -1
config: reporting_currency.rates.gbp: "gbp" is not a currency code (want 3 upper-case letters, e.g. EUR)`,
		"reporting-unknown-key.yml":  `config: line 13: unknown key "rate" in reporting_currency`,
		"reporting-own-rate.yml":     "config: reporting_currency.rates.USD: is the reporting currency itself, worth 1; leave it out",
		"fiscal-year-month-13.yml":   "config: fiscal_year_start.month: must be the number of the month the fiscal year starts in, 1 for January to 12 for December, got 13",
		"fiscal-year-empty.yml":      "config: fiscal_year_start.month: required (the number of the month the fiscal year starts in, 1 for January to 12 for December)",
		"fiscal-year-day.yml":        `config: line 9: unknown key "day" in fiscal_year_start`,
		"fiscal-year-month-name.yml": `config: line 7: fiscal_year_start.month: want an integer, got "April"`,
		"several-mistakes.yml": `config: twilio.api_url: required (the base URL of the Usage API)
config: twilio.client_id: required (set it in the file or in TWILIO_CLIENT_ID)
config: twilio.request_encoding: "xml" is not one of auto, json, query, form
config: twilio.page_size: must be between 1 and 1000, got 0
config: billing_groups[1].id: commerce_billingprofile_…C123 is already used by billing_groups[0]`,
	}

	files, err := filepath.Glob(filepath.Join("testdata", "bad", "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if _, ok := tests[filepath.Base(f)]; !ok {
			t.Errorf("%s has no expected error in this table", f)
		}
	}

	for name, want := range tests {
		t.Run(name, func(t *testing.T) {
			cfg, err := Load(filepath.Join("testdata", "bad", name), nil)
			if err == nil {
				t.Fatalf("Load succeeded, want error %q; config:\n%s", want, cfg)
			}
			if cfg != nil {
				t.Errorf("Load returned a config with its error")
			}
			if got := err.Error(); got != want {
				t.Errorf("error:\n got %s\nwant %s", got, want)
			}
			assertNoSecret(t, "error", err.Error())
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join("testdata", "no-such-file.yml"), nil)
	want := "config: cannot read file: open " + filepath.Join("testdata", "no-such-file.yml") + ": no such file or directory"
	if err == nil || err.Error() != want {
		t.Fatalf("error:\n got %v\nwant %s", err, want)
	}
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error does not wrap os.ErrNotExist")
	}
}

func TestLoadMinimalAppliesDefaults(t *testing.T) {
	cfg, err := Load(filepath.Join("testdata", "good", "minimal.yml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	tw := cfg.Twilio
	for _, c := range []struct {
		key       string
		got, want any
	}{
		{"api_url", tw.APIURL, "https://usage.example.com"},
		{"token_url", tw.TokenURL, twilio.DefaultTokenURL},
		{"token_url", tw.TokenURL, "https://oauth.twilio.com/v2/token"},
		{"client_id", tw.ClientID, "OQ00000000000000000000000000000000"},
		{"client_secret", tw.ClientSecret.Reveal(), inlineSecret},
		{"client_secret_file", tw.ClientSecretFile, ""},
		{"scopes", len(tw.Scopes), 0},
		{"request_encoding", tw.RequestEncoding, twilio.EncodingAuto},
		{"page_token_param", tw.PageTokenParam, "pageToken"},
		{"page_size", tw.PageSize, 100},
		{"max_pages", tw.MaxPages, 1000},
		{"max_records", tw.MaxRecords, 100000},
		{"max_series", tw.MaxSeries, 10000},
		{"billing_groups", len(cfg.BillingGroups), 1},
		{"billing_groups[0].id", cfg.BillingGroups[0].ID, "commerce_billingprofile_ABC123"},
		{"billing_groups[0] label", cfg.BillingGroups[0].Label(), "commerce_billingprofile_ABC123"},
		{"billing_groups[0].budget", cfg.BillingGroups[0].Budget == nil, true},
		{"billing_groups[0].product_categories", cfg.BillingGroups[0].ProductCategories == nil, true},
		{"fiscal_year_start: the calendar year", cfg.YearStart(), time.January},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.key, c.got, c.want)
		}
	}
}

func TestLoadFull(t *testing.T) {
	cfg, err := Load(filepath.Join("testdata", "good", "full.yml"), env(map[string]string{
		EnvClientID: "OQ-from-env", EnvClientSecret: envSecret,
	}))
	if err != nil {
		t.Fatal(err)
	}
	// The dump shows every value as loaded: no defaults, the client ID from
	// the file rather than the environment, the secret file's path resolved
	// against the config file's directory, the secret redacted.
	want := `twilio:
  api_url: https://usage.example.com/base
  token_url: https://auth.example.com/v2/token
  client_id: OQ11111111111111111111111111111111
  client_secret: <secret>
  client_secret_file: ` + filepath.Join("testdata", "good", "client-secret.txt") + `
  scopes:
    - twilio/billing-insights/usage/read
  request_encoding: form
  page_token_param: nextPageToken
  page_size: 250
  max_pages: 50
  max_records: 20000
  max_series: 500
billing_groups:
  - id: commerce_billingprofile_ABC123
    name: marketing
    budget:
      amount: 5000
      currency: USD
    product_categories:
      include: ^sms-
      exclude: -inbound$
  - id: commerce_billingprofile_DEF456
    budget:
      amount: 1234.5
      currency: EUR
    product_categories:
      exclude: ^voice
reporting_currency:
  currency: USD
  rates_as_of: "2026-01-01"
  rates:
    EUR: 1.08
    GBP: 1.27
fiscal_year_start:
  month: 4
`
	if got := cfg.String(); got != want {
		t.Errorf("String():\n%s\nwant:\n%s", got, want)
	}
	if r := cfg.ReportingCurrency; !maps.Equal(r.AllRates(), map[string]float64{"EUR": 1.08, "GBP": 1.27, "USD": 1}) || !r.AsOf().Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("reporting currency %+v: rates %v, as of %v", r, r.AllRates(), r.AsOf())
	}
	if got := cfg.YearStart(); got != time.April {
		t.Errorf("fiscal_year_start: the year starts in %s, want April", got)
	}
	if rate, ok := cfg.ReportingCurrency.Rate("USD"); !ok || rate != 1 {
		t.Errorf("the reporting currency's own rate: %v %v, want 1", rate, ok)
	}
	if _, ok := cfg.ReportingCurrency.Rate("JPY"); ok {
		t.Error("JPY has a rate though none is configured")
	}
	// The file's content, trimmed, not the environment's secret.
	if got := cfg.Twilio.ClientSecret.Reveal(); got != fileSecret {
		t.Errorf("client secret = %q, want %q", got, fileSecret)
	}
	if got := cfg.BillingGroups[0].Label(); got != "marketing" {
		t.Errorf("billing_groups[0] label = %q, want marketing", got)
	}
	if got := cfg.BillingGroups[1].Label(); got != "commerce_billingprofile_DEF456" {
		t.Errorf("billing_groups[1] label = %q, want its id", got)
	}
	// The patterns compile as written: ^ and $ anchor where written and
	// nowhere else. (Include, then exclude, is applied by collector.Group.)
	f0, f1 := cfg.BillingGroups[0].ProductCategories, cfg.BillingGroups[1].ProductCategories
	if f1.Include != nil {
		t.Errorf("billing_groups[1] include = %v, want none", f1.Include)
	}
	for _, c := range []struct {
		key      string
		re       *Regexp
		category string
		want     bool
	}{
		{"billing_groups[0] include", f0.Include, "sms-outbound", true},
		{"billing_groups[0] include", f0.Include, "mms-outbound", false},
		{"billing_groups[0] include", f0.Include, "premium-sms-outbound", false}, // ^ anchors as written
		{"billing_groups[0] exclude", f0.Exclude, "sms-inbound", true},
		{"billing_groups[0] exclude", f0.Exclude, "sms-inbound-x", false},
		{"billing_groups[1] exclude", f1.Exclude, "voice-outbound", true},
		{"billing_groups[1] exclude", f1.Exclude, "sms-voice", false},
	} {
		if got := c.re.MatchString(c.category); got != c.want {
			t.Errorf("%s matches %q = %v, want %v", c.key, c.category, got, c.want)
		}
	}
}

func TestLoadEnvCredentials(t *testing.T) {
	path := filepath.Join("testdata", "good", "env-credentials.yml")
	cfg, err := Load(path, env(map[string]string{EnvClientID: "OQ-from-env", EnvClientSecret: envSecret}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Twilio.ClientID != "OQ-from-env" {
		t.Errorf("client_id = %q, want the environment's", cfg.Twilio.ClientID)
	}
	if cfg.Twilio.ClientSecret.Reveal() != envSecret {
		t.Errorf("client secret is not the environment's")
	}
	assertNoSecret(t, "String()", cfg.String())

	// Without the environment the same file is incomplete.
	_, err = Load(path, nil)
	want := `config: twilio.client_id: required (set it in the file or in TWILIO_CLIENT_ID)
config: twilio.client_secret: required (set client_secret, client_secret_file or TWILIO_CLIENT_SECRET)`
	if err == nil || err.Error() != want {
		t.Errorf("error without environment:\n got %v\nwant %s", err, want)
	}
}

func TestEnvPrecedence(t *testing.T) {
	secretPath := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretPath, []byte(fileSecret), 0o600); err != nil {
		t.Fatal(err)
	}
	const base = "twilio:\n  api_url: https://usage.example.com\n"
	const groups = "billing_groups:\n  - id: commerce_billingprofile_A1\n"
	tests := []struct {
		name       string
		yaml       string
		env        map[string]string
		wantID     string
		wantSecret string
		wantErr    string
	}{{
		name:       "file wins over environment",
		yaml:       base + "  client_id: OQ-file\n  client_secret: " + inlineSecret + "\n" + groups,
		env:        map[string]string{EnvClientID: "OQ-env", EnvClientSecret: envSecret},
		wantID:     "OQ-file",
		wantSecret: inlineSecret,
	}, {
		name:       "secret file wins over environment",
		yaml:       base + "  client_id: OQ-file\n  client_secret_file: " + secretPath + "\n" + groups,
		env:        map[string]string{EnvClientSecret: envSecret},
		wantID:     "OQ-file",
		wantSecret: fileSecret,
	}, {
		name:       "environment fills what the file leaves empty",
		yaml:       base + "  client_id: \"\"\n" + groups,
		env:        map[string]string{EnvClientID: "OQ-env", EnvClientSecret: envSecret},
		wantID:     "OQ-env",
		wantSecret: envSecret,
	}, {
		name:    "empty environment values count as unset",
		yaml:    base + groups,
		env:     map[string]string{EnvClientID: "", EnvClientSecret: ""},
		wantErr: "config: twilio.client_id: required (set it in the file or in TWILIO_CLIENT_ID)\nconfig: twilio.client_secret: required (set client_secret, client_secret_file or TWILIO_CLIENT_SECRET)",
	}, {
		name:    "other variables are not consulted",
		yaml:    base + "  client_id: OQ-file\n" + groups,
		env:     map[string]string{"TWILIO_AUTH_TOKEN": envSecret},
		wantErr: "config: twilio.client_secret: required (set client_secret, client_secret_file or TWILIO_CLIENT_SECRET)",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte(tt.yaml), env(tt.env))
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error:\n got %v\nwant %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Twilio.ClientID != tt.wantID {
				t.Errorf("client_id = %q, want %q", cfg.Twilio.ClientID, tt.wantID)
			}
			if cfg.Twilio.ClientSecret.Reveal() != tt.wantSecret {
				t.Errorf("client secret comes from the wrong source")
			}
		})
	}
}

func TestSecretFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	config := func(secretFile string) []byte {
		return []byte("twilio:\n  api_url: https://usage.example.com\n  client_id: OQ1\n  client_secret_file: " +
			secretFile + "\nbilling_groups:\n  - id: commerce_billingprofile_A1\n")
	}
	tests := []struct {
		name, path, want, wantErr string
	}{
		{name: "trimmed", path: write("padded", "\n\t "+fileSecret+" \r\n"), want: fileSecret},
		{name: "no newline", path: write("bare", fileSecret), want: fileSecret},
		{name: "empty", path: write("empty", ""), wantErr: `config: twilio.client_secret_file: the file is empty (want the client secret)`},
		{name: "blank", path: write("blank", " \n\n"), wantErr: `config: twilio.client_secret_file: the file is empty (want the client secret)`},
		{name: "missing", path: filepath.Join(dir, "missing"), wantErr: "config: twilio.client_secret_file: cannot read the file: no such file or directory (the value must be the path of a file holding the client secret)"},
		{name: "directory", path: dir, wantErr: "config: twilio.client_secret_file: cannot read the file: is a directory (the value must be the path of a file holding the client secret)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse(config(tt.path), env(map[string]string{EnvClientSecret: envSecret}))
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error:\n got %v\nwant %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Twilio.ClientSecret.Reveal() != tt.want {
				t.Errorf("secret = %q, want %q", cfg.Twilio.ClientSecret.Reveal(), tt.want)
			}
			if cfg.Twilio.ClientSecretFile != tt.path {
				t.Errorf("client_secret_file = %q, want %q", cfg.Twilio.ClientSecretFile, tt.path)
			}
		})
	}

	// A relative path is relative to the config file for Load, and to the
	// working directory for Parse.
	cfgPath := filepath.Join(dir, "exporter.yml")
	write("relative-secret", fileSecret+"\n")
	if err := os.WriteFile(cfgPath, config("relative-secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(cfgPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Twilio.ClientSecret.Reveal() != fileSecret || cfg.Twilio.ClientSecretFile != filepath.Join(dir, "relative-secret") {
		t.Errorf("Load did not read the secret file beside the config file (read %q)", cfg.Twilio.ClientSecretFile)
	}
	_, err = Parse(config("relative-secret"), nil)
	if want := "config: twilio.client_secret_file: cannot read the file: no such file or directory (the value must be the path of a file holding the client secret)"; err == nil || err.Error() != want {
		t.Errorf("Parse error:\n got %v\nwant %s", err, want)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	if cfg, err := Parse(config("relative-secret"), nil); err != nil || cfg.Twilio.ClientSecret.Reveal() != fileSecret {
		t.Errorf("Parse in the secret file's directory (from %s): err %v, want the secret read relative to the working directory", wd, err)
	}
}

func TestParseDecoding(t *testing.T) {
	const valid = "twilio:\n  api_url: https://usage.example.com\n  client_id: OQ1\n  client_secret: " + inlineSecret + "\n" +
		"billing_groups:\n  - id: commerce_billingprofile_A1\n"
	tests := []struct {
		name, yaml, wantErr string
	}{
		{"valid", valid, ""},
		{"explicit document markers", "---\n" + valid + "...\n", ""},
		{"null document", "~\n", "config: the file is empty (want twilio and billing_groups)"},
		{"empty second document", valid + "---\n", "config: line 7: a second YAML document (want exactly one)"},
		{"scalar document", "twilio\n", `config: line 1: want a mapping at the top level, got "twilio"`},
		{"null values keep defaults", strings.Replace(valid, "  client_id", "  page_size:\n  max_pages: ~\n  client_id", 1), ""},
		{"twilio is not a mapping", "twilio: 5\n", `config: line 1: twilio: want a mapping, got "5"`},
		{"group is not a mapping", valid + "  - commerce_billingprofile_B2\n", `config: line 7: billing_groups[1]: want a mapping, got "commerce_billingprofile_B2"`},
		{"scope is not a string", strings.Replace(valid, "  client_id", "  scopes: [a, [b]]\n  client_id", 1), "config: line 3: twilio.scopes[1]: want a string, got a list"},
		{"unknown key in a flow mapping", valid + "    product_categories: {include: a, exclude: b, other: c}\n", `config: line 7: unknown key "other" in billing_groups[0].product_categories`},
		{"same-line regexes", valid + "    product_categories: {include: a, exclude: \"(\"}\n", "config: line 7: billing_groups[0].product_categories.exclude: invalid regex \"(\": error parsing regexp: missing closing ): `(`"},
		{"unknown key reached by alias", "defaults: &d {page_size: 5, colour: red}\n", `config: line 1: unknown key "defaults" at the top level`},
		{"unknown key in a merged mapping", "twilio:\n  <<: {page_size: 5, colour: red}\n", `config: line 2: unknown key "colour" in twilio`},
		{"unknown key after the groups", valid + "    budget: {amount: 1, currency: USD}\ntwilio2: 1\n", `config: line 8: unknown key "twilio2" at the top level`},
		{"max_pages overflow", strings.Replace(valid, "  client_id", "  max_pages: 99999999999999999999999\n  client_id", 1), `config: line 3: twilio.max_pages: want an integer, got "99999999999999999999999"`},
		{"infinite budget", valid + "    budget: {amount: .inf, currency: USD}\n", "config: billing_groups[0].budget.amount: must be a number greater than 0, got +Inf"},
		{"NaN budget", valid + "    budget: {amount: .nan, currency: USD}\n", "config: billing_groups[0].budget.amount: must be a number greater than 0, got NaN"},
		{"planned categories", valid + "    planned_categories: [whatsapp-outbound, lookups]\n", ""},
		{"owner labels", valid + "    labels: {team: payments, owner: Alice Ng, cost_center: \"4711\"}\n", ""},
		{"bad owner labels", valid + "    labels: {1team: a, __x: b, job: c, team: \"\", owner: \" alice\", cost_center: \"a\\nb\", squad: " + strings.Repeat("x", 129) + "}\n",
			"config: billing_groups[0].labels.1team: \"1team\" is not a label name (want letters, digits and _, not starting with a digit, e.g. cost_center)\n" +
				"config: billing_groups[0].labels.__x: label names starting with __ are reserved for Prometheus\n" +
				"config: billing_groups[0].labels.cost_center: \"a\\nb\" must be printable text (no control characters or line breaks)\n" +
				"config: billing_groups[0].labels.job: \"job\" is a label the exporter, Prometheus or the alerts already set (choose another name, e.g. team or owner)\n" +
				"config: billing_groups[0].labels.owner: \" alice\" must not start or end with spaces\n" +
				"config: billing_groups[0].labels.squad: is 129 bytes long, at most 128 allowed\n" +
				"config: billing_groups[0].labels.team: must not be empty (leave the label out instead)"},
		{"owner label clashes with the exporter's", valid + "    labels: {billing_group: x}\n",
			"config: billing_groups[0].labels.billing_group: \"billing_group\" is a label the exporter, Prometheus or the alerts already set (choose another name, e.g. team or owner)"},
		{"owner labels not a mapping", valid + "    labels: [team]\n", "config: line 7: billing_groups[0].labels: want a mapping, got a list"},
		{"budget alert thresholds", valid + "    budget: {amount: 1, currency: USD}\n    budget_alert_thresholds: {nearly: 0.7, warning: 0.9, critical: 1.2}\n", ""},
		{"budget alert thresholds without a budget", valid + "    budget_alert_thresholds: {nearly: 0.7, warning: 0.9, critical: 1.2}\n",
			"config: billing_groups[0].budget_alert_thresholds: needs a monthly budget (set budget in the same group, or remove this key)"},
		{"budget alert thresholds out of order", valid + "    budget: {amount: 1, currency: USD}\n    budget_alert_thresholds: {nearly: 1.1, warning: 1, critical: 1.5}\n",
			"config: billing_groups[0].budget_alert_thresholds: want nearly < warning < critical, got 1.1, 1, 1.5"},
		{"bad budget alert thresholds", valid + "    budget: {amount: 1, currency: USD}\n    budget_alert_thresholds: {nearly: -1, critical: .inf}\n",
			"config: billing_groups[0].budget_alert_thresholds.nearly: must be a share of the budget greater than 0 and at most 100 (1 is the whole budget), got -1\n" +
				"config: billing_groups[0].budget_alert_thresholds.warning: required (a share of the budget, 1 is the whole budget; default 1)\n" +
				"config: billing_groups[0].budget_alert_thresholds.critical: must be a share of the budget greater than 0 and at most 100 (1 is the whole budget), got +Inf"},
		{"unknown budget alert threshold", valid + "    budget: {amount: 1, currency: USD}\n    budget_alert_thresholds: {nearly: 0.8, warning: 1, critical: 1.5, page: 2}\n",
			`config: line 8: unknown key "page" in billing_groups[0].budget_alert_thresholds`},
		{"bad planned categories", valid + "    planned_categories: [whatsapp-outbound, \"\", \"sms outbound\", whatsapp-outbound]\n",
			"config: billing_groups[0].planned_categories[1]: must name a product category as the product_category label shows it, e.g. sms-outbound\n" +
				"config: billing_groups[0].planned_categories[2]: \"sms outbound\" is not a product category (no spaces: as the product_category label shows it, e.g. sms-outbound)\n" +
				"config: billing_groups[0].planned_categories[3]: \"whatsapp-outbound\" is already listed at billing_groups[0].planned_categories[0]"},
		{"empty scope", strings.Replace(valid, "  client_id", "  scopes: [\"\"]\n  client_id", 1), "config: twilio.scopes[0]: must not be empty"},
		{"URL without host", strings.Replace(valid, "https://usage.example.com", "https:///v2", 1), `config: twilio.api_url: "https:///v2" is not an absolute http(s) URL`},
		{"URL of another scheme", strings.Replace(valid, "https://usage.example.com", "ftp://usage.example.com", 1), `config: twilio.api_url: "ftp://usage.example.com" is not an absolute http(s) URL`},
		// Not quoted: what does not parse may still hold a password.
		{"unparseable URL with a password", strings.Replace(valid, "https://usage.example.com", "https://u:"+urlPassword+"%zz@usage.example.com", 1), `config: twilio.api_url: is not a valid URL`},
		{"secret misused as a key", "twilio:\n  client_secret: " + inlineSecret + "\n  " + inlineSecret + ": 1\n", `config: line 3: unknown key "<secret>" in twilio`},
		{"short secret garbles nothing", "twilio:\n  client_secret: c\n  clinet_id: 1\n", `config: line 3: unknown key "<secret>linet_id" in twilio`},
		{"secret with a wrong tag", "twilio:\n  client_secret: !!float " + inlineSecret + "\n", `config: line 2: twilio.client_secret: cannot decode a value as !!float`},
		{"same invalid id twice", strings.Replace(valid, "  - id: commerce_billingprofile_A1\n", "  - id: x\n  - id: x\n", 1),
			"config: billing_groups[0].id: … is not a billing group ID: does not start with commerce_billingprofile_ (want commerce_billingprofile_ followed by letters and digits)\n" +
				"config: billing_groups[1].id: … is not a billing group ID: does not start with commerce_billingprofile_ (want commerce_billingprofile_ followed by letters and digits)"},
		{"plain http", strings.Replace(valid, "https://usage.example.com", "http://127.0.0.1:8080/", 1), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte(tt.yaml), nil)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if cfg.Twilio.PageSize != DefaultPageSize || cfg.Twilio.MaxPages != twilio.DefaultMaxPages {
					t.Errorf("page_size, max_pages = %d, %d, want the defaults", cfg.Twilio.PageSize, cfg.Twilio.MaxPages)
				}
				return
			}
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("error:\n got %v\nwant %s", err, tt.wantErr)
			}
			assertNoSecret(t, "error", err.Error())
		})
	}
}

func TestManyErrorsAreCapped(t *testing.T) {
	var b strings.Builder
	b.WriteString("twilio:\n")
	for i := range 25 {
		fmt.Fprintf(&b, "  unknown%d: 1\n", i)
	}
	_, err := Parse([]byte(b.String()), nil)
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 21 || lines[0] != `config: line 2: unknown key "unknown0" in twilio` ||
		lines[19] != `config: line 21: unknown key "unknown19" in twilio` || lines[20] != "config: and 5 more problems" {
		t.Errorf("error:\n%s", err)
	}

	b.Reset()
	b.WriteString("twilio: {api_url: 'https://usage.example.com', client_id: OQ1, client_secret: x}\nbilling_groups:\n")
	for i := range 22 {
		fmt.Fprintf(&b, "  - id: bad%d\n", i)
	}
	_, err = Parse([]byte(b.String()), nil)
	if err == nil {
		t.Fatal("no error")
	}
	lines = strings.Split(err.Error(), "\n")
	if len(lines) != 21 || lines[20] != "config: and 2 more problems" {
		t.Errorf("error:\n%s", err)
	}
}

func TestLabel(t *testing.T) {
	if got := (BillingGroup{ID: "commerce_billingprofile_A1"}).Label(); got != "commerce_billingprofile_A1" {
		t.Errorf("Label without a name = %q", got)
	}
	if got := (BillingGroup{ID: "commerce_billingprofile_A1", Name: "ops"}).Label(); got != "ops" {
		t.Errorf("Label with a name = %q", got)
	}
}

func TestSecretsNeverInOutput(t *testing.T) {
	secretPath := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretPath, []byte(fileSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	head := "twilio:\n  api_url: https://usage.example.com\n  client_id: OQ1\n"
	groups := "billing_groups:\n  - id: commerce_billingprofile_A1\n"
	for name, yaml := range map[string]string{
		"inline": head + "  client_secret: " + inlineSecret + "\n" + groups,
		"file":   head + "  client_secret_file: " + secretPath + "\n" + groups,
		"env":    head + groups,
	} {
		t.Run(name, func(t *testing.T) {
			cfg, err := Parse([]byte(yaml), env(map[string]string{EnvClientSecret: envSecret}))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Twilio.ClientSecret.Reveal() == "" {
				t.Fatal("no secret loaded")
			}
			for verb, text := range map[string]string{
				"String()":      cfg.String(),
				"%v of Config":  fmt.Sprintf("%v", cfg),
				"%+v of Twilio": fmt.Sprintf("%+v", cfg.Twilio),
				"%#v of Twilio": fmt.Sprintf("%#v", cfg.Twilio),
				"%v of Twilio":  fmt.Sprintf("%v", cfg.Twilio),
			} {
				assertNoSecret(t, verb, text)
				if !strings.Contains(text, "<secret>") {
					t.Errorf("%s does not show <secret>:\n%s", verb, text)
				}
			}

			// Break the config in every way validation checks and make
			// sure the secret stays out of the errors too.
			broken := strings.NewReplacer(
				"https://usage.example.com", "usage",
				"commerce_billingprofile_A1", "x",
			).Replace(yaml) + "  - id: x\n"
			_, err = Parse([]byte(broken), env(map[string]string{EnvClientSecret: envSecret}))
			if err == nil {
				t.Fatal("broken config loaded")
			}
			assertNoSecret(t, "error", err.Error())
		})
	}
}
