// Package config loads, validates and holds the exporter's YAML configuration:
// how to reach Twilio's Usage API and which billing groups to watch.
//
// Loading is strict: unknown keys, wrong types, several YAML documents and
// values that would only fail later (a malformed billing group ID, a regex that
// does not compile, two groups sharing a label) are errors that name the key.
// The client secret is held as a Secret, which never prints its value.
package config

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/twilio"
)

// Defaults applied to keys the file leaves out. The token endpoint, the page
// token parameter and the page and record bounds are the twilio package's
// (twilio.DefaultTokenURL, ...): a rule of the Usage API has one home.
const (
	// DefaultRequestEncoding is where request parameters travel by default:
	// learnt from the API.
	DefaultRequestEncoding = twilio.EncodingAuto
	// DefaultPageSize is the number of usage records asked for per page.
	DefaultPageSize = 100
	// MaxPageSize is the largest page_size accepted.
	MaxPageSize = 1000
	// DefaultMaxSeries bounds the cost, usage and product series one billing
	// group and period may produce (see collector/series_cap.go).
	DefaultMaxSeries = 10_000
)

// Environment variables consulted when the file leaves the credentials out.
const (
	// EnvClientID fills twilio.client_id when the file leaves it empty.
	EnvClientID = "TWILIO_CLIENT_ID"
	// EnvClientSecret fills the client secret when the file sets neither
	// client_secret nor client_secret_file.
	EnvClientSecret = "TWILIO_CLIENT_SECRET"
)

// currencyCode is the shape of an ISO 4217 currency code.
var currencyCode = regexp.MustCompile(`^[A-Z]{3}$`)

// Config is the whole configuration file.
type Config struct {
	// Twilio says how to reach and authenticate to the Usage API.
	Twilio Twilio `yaml:"twilio"`
	// Periods sets the optional periods (yesterday, last month) for every
	// group; see PeriodTTLs.
	Periods *Periods `yaml:"periods,omitempty"`
	// BillingGroups are the billing groups to export; at least one.
	BillingGroups []BillingGroup `yaml:"billing_groups"`
	// ReportingCurrency, if set, converts every group's cost into one
	// currency for an organization-wide total.
	ReportingCurrency *ReportingCurrency `yaml:"reporting_currency,omitempty"`
	// FiscalYearStart, if set, makes the year period a fiscal year (see
	// YearStart); the calendar year without it.
	FiscalYearStart *FiscalYearStart `yaml:"fiscal_year_start,omitempty"`
}

// Twilio says how to reach and authenticate to Twilio's Usage API.
type Twilio struct {
	// APIURL is the base URL of the Usage API. Required: Twilio's public docs
	// do not name the host.
	APIURL string `yaml:"api_url"`
	// TokenURL is the OAuth 2.0 token endpoint; twilio.DefaultTokenURL if
	// unset.
	TokenURL string `yaml:"token_url"`
	// ClientID is the OAuth client ID of an organization-level app; from
	// EnvClientID if the file leaves it empty.
	ClientID string `yaml:"client_id"`
	// ClientSecret is the OAuth client secret. After loading it holds the
	// secret from whichever source supplied it: the file, ClientSecretFile or
	// EnvClientSecret.
	ClientSecret Secret `yaml:"client_secret,omitempty"`
	// ClientSecretFile is a file holding the client secret, read at every
	// load. A relative path given to Load is resolved against the config
	// file's directory, and after loading the field holds the path read.
	ClientSecretFile string `yaml:"client_secret_file,omitempty"`
	// Scopes are OAuth scopes to request; none if empty.
	Scopes []string `yaml:"scopes,omitempty"`
	// RequestEncoding is where the Usage API request parameters travel,
	// one of the twilio.Encoding* values: Twilio's public docs do not say.
	// auto learns it from the API's answers, once per client (at start and
	// when the twilio section changes).
	RequestEncoding twilio.Encoding `yaml:"request_encoding"`
	// PageTokenParam is the request parameter that sends meta.nextToken
	// back; twilio.DefaultPageTokenParam if unset.
	PageTokenParam string `yaml:"page_token_param"`
	// PageSize is the number of records asked for per page, 1..MaxPageSize.
	PageSize int `yaml:"page_size"`
	// MaxPages bounds how many pages one refresh follows, so that a token
	// that never ends cannot loop forever.
	MaxPages int `yaml:"max_pages"`
	// MaxRecords bounds the records one refresh of one billing group and
	// period may return, however the API pages them.
	MaxRecords int `yaml:"max_records"`
	// MaxSeries bounds the distinct cost, usage and product series one
	// billing group and period may produce.
	MaxSeries int `yaml:"max_series"`
}

// BillingGroup is one Twilio billing group to export.
type BillingGroup struct {
	// ID is the billing group ID, commerce_billingprofile_ followed by
	// letters and digits.
	ID string `yaml:"id"`
	// Name is the billing_group label value; the ID if empty.
	Name string `yaml:"name,omitempty"`
	// Budget is the group's monthly budget, if any.
	Budget *Budget `yaml:"budget,omitempty"`
	// AnnualBudget is the group's budget for the year period (the calendar
	// year, or the fiscal year of fiscal_year_start), if any; with or
	// without a monthly one.
	AnnualBudget *Budget `yaml:"annual_budget,omitempty"`
	// ProductCategories selects which product categories to export; all of
	// them if nil.
	ProductCategories *CategoryFilter `yaml:"product_categories,omitempty"`
	// Periods overrides the top-level periods section for this group.
	Periods *Periods `yaml:"periods,omitempty"`
	// PlannedCategories names product categories the group starts to use on
	// purpose (a launch): TwilioBillingNewCategorySpend stays quiet for
	// them, and TwilioBillingCategorySpendAnomaly judges them against their
	// own days instead.
	PlannedCategories []string `yaml:"planned_categories,omitempty"`
	// BudgetAlertThresholds are the shares of Budget at which the budget
	// alerts fire for this group; DefaultBudgetAlertThresholds where unset.
	// Only with a Budget.
	BudgetAlertThresholds *BudgetAlertThresholds `yaml:"budget_alert_thresholds,omitempty"`
	// Labels are the group's owner labels (team, owner, cost_center, ...),
	// exported once on twilio_billing_group_info and copied from there into
	// the alerts (see RoutedLabelNames) and dashboards.
	Labels map[string]string `yaml:"labels,omitempty"`
}

// RoutedLabelNames are the owner label names the shipped alert rules copy
// from twilio_billing_group_info into every alert, for Alertmanager to route
// by. PromQL copies only labels it names (group_left(...)), so the rules
// name these; another name is exported and shown by the dashboards, and is
// routed once it is added to the rules' joins (see Warnings).
var RoutedLabelNames = []string{"team", "owner", "cost_center"}

// reservedLabelNames are the labels the exporter's series, Prometheus's
// target labels and the shipped rules' alerts already carry: an owner label
// of the same name would be renamed (exported_job) or overwrite them.
var reservedLabelNames = map[string]bool{
	"billing_group": true, "product_category": true, "currency": true, "unit": true, "product": true,
	"job": true, "instance": true, "pod": true, "namespace": true,
	"alertname": true, "severity": true, "period": true, "budget": true, "baseline": true,
}

// labelName is the shape of a Prometheus label name the exporter accepts
// (the classic character set: every tool and query language takes it).
var labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// maxLabelValue bounds an owner label value, in bytes.
const maxLabelValue = 128

// checkLabels validates a group's owner labels found at path, appending one
// error per problem to errs, in name order.
func checkLabels(labels map[string]string, path string, errs []error) []error {
	names := make([]string, 0, len(labels))
	for n := range labels {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		v := labels[n]
		key := path + "." + n
		switch {
		case !labelName.MatchString(n):
			errs = append(errs, keyError(key, "%q is not a label name (want letters, digits and _, not starting with a digit, e.g. cost_center)", n))
			continue
		case strings.HasPrefix(n, "__"):
			errs = append(errs, keyError(key, "label names starting with __ are reserved for Prometheus"))
			continue
		case reservedLabelNames[n]:
			errs = append(errs, keyError(key, "%q is a label the exporter, Prometheus or the alerts already set (choose another name, e.g. team or owner)", n))
			continue
		}
		switch {
		case strings.TrimSpace(v) == "":
			errs = append(errs, keyError(key, "must not be empty (leave the label out instead)"))
		case !utf8.ValidString(v) || strings.ContainsFunc(v, unicode.IsControl):
			errs = append(errs, keyError(key, "%q must be printable text (no control characters or line breaks)", v))
		case strings.TrimSpace(v) != v:
			errs = append(errs, keyError(key, "%q must not start or end with spaces", v))
		case len(v) > maxLabelValue:
			errs = append(errs, keyError(key, "is %d bytes long, at most %d allowed", len(v), maxLabelValue))
		}
	}
	return errs
}

// unroutedLabelWarnings names each owner label name that the shipped alert
// rules do not copy into alerts (RoutedLabelNames), once.
func (c *Config) unroutedLabelWarnings() []string {
	seen := map[string]bool{}
	for _, n := range RoutedLabelNames {
		seen[n] = true
	}
	var names []string
	for _, g := range c.BillingGroups {
		for n := range g.Labels {
			if !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	sort.Strings(names)
	var ws []string
	for _, n := range names {
		ws = append(ws, fmt.Sprintf("billing group label %q is exported on twilio_billing_group_info, but the shipped alert rules copy only %s into alerts: add it to their group_left (...) lists to route alerts by it", n, strings.Join(RoutedLabelNames, ", ")))
	}
	return ws
}

// filteredBudgetWarnings names each budget of a group whose
// product_categories filter drops categories: the budget alerts compare it
// with the cost the exporter exports, the kept categories' spend, not the
// group's whole spend, and fire late or never if it was meant for the whole
// group.
func (c *Config) filteredBudgetWarnings() []string {
	var ws []string
	for i, g := range c.BillingGroups {
		if g.ProductCategories == nil || (g.ProductCategories.Include == nil && g.ProductCategories.Exclude == nil) {
			continue
		}
		for _, b := range []struct {
			key string
			set bool
		}{{"budget", g.Budget != nil}, {"annual_budget", g.AnnualBudget != nil}} {
			if b.set {
				ws = append(ws, fmt.Sprintf("billing_groups[%d].%s is compared with the spend of the categories billing_groups[%[1]d].product_categories keeps, not the group's whole spend: set it for those categories, or drop the filter to budget the whole group", i, b.key))
			}
		}
	}
	return ws
}

// BudgetAlertThresholds are the shares of a monthly budget (1 is the whole
// budget) at which the budget alerts fire, exported as
// twilio_billing_group_budget_alert_threshold_ratio for the rules to read.
type BudgetAlertThresholds struct {
	// Nearly is where TwilioBillingBudgetNearlyExhausted may fire (when
	// ahead of the calendar), below Warning.
	Nearly float64 `yaml:"nearly"`
	// Warning is where TwilioBillingBudgetExceeded fires as a warning.
	Warning float64 `yaml:"warning"`
	// Critical is where it fires as critical (pages), above Warning.
	Critical float64 `yaml:"critical"`
}

// DefaultBudgetAlertThresholds are the thresholds of a group that sets none;
// a group that sets them sets all three.
var DefaultBudgetAlertThresholds = BudgetAlertThresholds{Nearly: 0.9, Warning: 1, Critical: 1.5}

// AlertThresholds returns the group's budget alert thresholds: its own,
// defaults where it sets none.
func (g BillingGroup) AlertThresholds() BudgetAlertThresholds {
	if g.BudgetAlertThresholds == nil {
		return DefaultBudgetAlertThresholds
	}
	return *g.BudgetAlertThresholds
}

// check validates t found at path, if set, appending one error per problem
// to errs; budget says whether the group has a monthly budget.
func (t *BudgetAlertThresholds) check(path string, budget bool, errs []error) []error {
	if t == nil {
		return errs
	}
	if !budget {
		return append(errs, keyError(path, "needs a monthly budget (set budget in the same group, or remove this key)"))
	}
	ok := true
	for _, v := range []struct {
		key string
		val float64
	}{{"nearly", t.Nearly}, {"warning", t.Warning}, {"critical", t.Critical}} {
		if v.val == 0 {
			errs = append(errs, keyError(path+"."+v.key, "required (a share of the budget, 1 is the whole budget; default %v)", map[string]float64{
				"nearly": DefaultBudgetAlertThresholds.Nearly, "warning": DefaultBudgetAlertThresholds.Warning, "critical": DefaultBudgetAlertThresholds.Critical}[v.key]))
			ok = false
		} else if !(v.val > 0) || math.IsInf(v.val, 0) || v.val > 100 {
			errs = append(errs, keyError(path+"."+v.key, "must be a share of the budget greater than 0 and at most 100 (1 is the whole budget), got %v", v.val))
			ok = false
		}
	}
	if ok && !(t.Nearly < t.Warning && t.Warning < t.Critical) {
		errs = append(errs, keyError(path, "want nearly < warning < critical, got %v, %v, %v", t.Nearly, t.Warning, t.Critical))
	}
	return errs
}

// Label returns the billing_group label value: Name, or ID if Name is empty.
func (g BillingGroup) Label() string {
	if g.Name != "" {
		return g.Name
	}
	return g.ID
}

// Budget is a spending budget, monthly or annual.
type Budget struct {
	// Amount is greater than zero.
	Amount float64 `yaml:"amount"`
	// Currency is a three-letter upper-case currency code, e.g. USD.
	Currency string `yaml:"currency"`
}

// Load reads the config file at path and returns the validated config. See
// Parse for what happens after reading. lookupEnv is usually os.LookupEnv; nil
// means no environment.
func Load(path string, lookupEnv func(string) (string, bool)) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: cannot read file: %w", err)
	}
	return parse(data, filepath.Dir(path), lookupEnv, os.ReadFile)
}

// Parse decodes data strictly (one YAML document, no unknown keys), fills
// credentials the file leaves out from lookupEnv, applies defaults, reads the
// client secret file and validates the result. A relative client_secret_file
// is taken relative to the working directory. lookupEnv nil means no
// environment.
//
// Decoding errors are all reported (up to 20), joined with errors.Join, one
// per line, each naming a line of the file; if decoding succeeds, validation
// errors are reported likewise, each naming a key. No error ever contains the
// client secret.
func Parse(data []byte, lookupEnv func(string) (string, bool)) (*Config, error) {
	return parse(data, "", lookupEnv, os.ReadFile)
}

// parse is Parse with the secret file's base directory and reader injected.
func parse(data []byte, dir string, lookupEnv func(string) (string, bool), readFile func(string) ([]byte, error)) (*Config, error) {
	if lookupEnv == nil {
		lookupEnv = func(string) (string, bool) { return "", false }
	}
	cfg := &Config{Twilio: Twilio{
		TokenURL:        twilio.DefaultTokenURL,
		RequestEncoding: DefaultRequestEncoding,
		PageTokenParam:  twilio.DefaultPageTokenParam,
		PageSize:        DefaultPageSize,
		MaxPages:        twilio.DefaultMaxPages,
		MaxRecords:      twilio.DefaultMaxRecords,
		MaxSeries:       DefaultMaxSeries,
	}}
	// Defaults are set before decoding so that a key present with a bad
	// value (page_size: 0) is an error rather than silently defaulted.
	if err := decodeStrict(data, cfg); err != nil {
		return nil, err
	}
	var errs []error
	errs = cfg.Twilio.check(dir, lookupEnv, readFile, errs)
	errs = cfg.Periods.check("periods", errs)
	errs = checkBillingGroups(cfg.BillingGroups, errs)
	errs = cfg.ReportingCurrency.check(cfg.BillingGroups, errs)
	errs = cfg.FiscalYearStart.check(errs)
	if len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	return cfg, nil
}

// maxErrors bounds how many problems one error reports.
const maxErrors = 20

// joinErrors joins errs with errors.Join, one per line, reporting at most
// maxErrors of them.
func joinErrors(errs []error) error {
	if len(errs) > maxErrors {
		more := fmt.Errorf("config: and %d more problems", len(errs)-maxErrors)
		errs = append(errs[:maxErrors:maxErrors], more)
	}
	return errors.Join(errs...)
}

// String returns the config as YAML, safe to log: the client secret shows as
// <secret>.
func (c *Config) String() string {
	if c == nil {
		return "<nil>"
	}
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return fmt.Sprintf("<config: cannot marshal: %v>", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Sprintf("<config: cannot marshal: %v>", err)
	}
	return b.String()
}

// keyError is a validation error naming the key by its path.
func keyError(path, format string, args ...any) error {
	return fmt.Errorf("config: %s: %s", path, fmt.Sprintf(format, args...))
}

// check fills t from the environment and the secret file, then validates it,
// appending one error per problem to errs in key order.
func (t *Twilio) check(dir string, lookupEnv func(string) (string, bool), readFile func(string) ([]byte, error), errs []error) []error {
	if t.APIURL == "" {
		errs = append(errs, keyError("twilio.api_url", "required (the base URL of the Usage API)"))
	} else if _, err := twilio.CheckBaseURL(t.APIURL, "the bearer token"); err != nil {
		errs = append(errs, keyError("twilio.api_url", "%v", err))
	}
	if _, err := twilio.CheckBaseURL(t.TokenURL, "the client secret"); err != nil {
		errs = append(errs, keyError("twilio.token_url", "%v", err))
	}

	if t.ClientID == "" {
		if v, ok := lookupEnv(EnvClientID); ok {
			t.ClientID = v
		}
	}
	if t.ClientID == "" {
		errs = append(errs, keyError("twilio.client_id", "required (set it in the file or in %s)", EnvClientID))
	}

	switch {
	case t.ClientSecret != "" && t.ClientSecretFile != "":
		errs = append(errs, keyError("twilio.client_secret_file", "cannot be used together with client_secret (set only one)"))
	case t.ClientSecretFile != "":
		if dir != "" && !filepath.IsAbs(t.ClientSecretFile) {
			t.ClientSecretFile = filepath.Join(dir, t.ClientSecretFile)
		}
		// Neither the path nor the content is ever quoted: an operator who
		// pastes the secret itself here must not see it echoed by
		// --config.check, a log line or POST /-/reload.
		secret, err := readSecret(readFile, t.ClientSecretFile)
		if err != nil {
			errs = append(errs, keyError("twilio.client_secret_file", "%v", err))
		} else {
			t.ClientSecret = secret
		}
	case t.ClientSecret == "":
		if v, ok := lookupEnv(EnvClientSecret); ok {
			t.ClientSecret = Secret(v)
		}
		if t.ClientSecret == "" {
			errs = append(errs, keyError("twilio.client_secret", "required (set client_secret, client_secret_file or %s)", EnvClientSecret))
		}
	}

	for i, s := range t.Scopes {
		path := fmt.Sprintf("twilio.scopes[%d]", i)
		switch {
		case s == "":
			errs = append(errs, keyError(path, "must not be empty"))
		case strings.ContainsAny(s, " \t\r\n"):
			errs = append(errs, keyError(path, "%q must not contain spaces (list each scope separately)", s))
		}
	}

	if err := twilio.CheckEncoding(t.RequestEncoding); err != nil {
		errs = append(errs, keyError("twilio.request_encoding", "%v", err))
	}
	if err := twilio.ValidatePageTokenParam(t.PageTokenParam); err != nil {
		errs = append(errs, keyError("twilio.page_token_param", "%v", err))
	}
	if t.PageSize < 1 || t.PageSize > MaxPageSize {
		errs = append(errs, keyError("twilio.page_size", "must be between 1 and %d, got %d", MaxPageSize, t.PageSize))
	}
	if t.MaxPages < 1 {
		errs = append(errs, keyError("twilio.max_pages", "must be at least 1, got %d", t.MaxPages))
	}
	if t.MaxRecords < 1 {
		errs = append(errs, keyError("twilio.max_records", "must be at least 1, got %d", t.MaxRecords))
	}
	if t.MaxSeries < 1 {
		errs = append(errs, keyError("twilio.max_series", "must be at least 1, got %d", t.MaxSeries))
	}
	return errs
}

// checkBillingGroups validates the groups, appending one error per problem to
// errs. Two groups must never share an ID or a billing_group label.
func checkBillingGroups(groups []BillingGroup, errs []error) []error {
	if len(groups) == 0 {
		return append(errs, errors.New("config: billing_groups: at least one billing group is required"))
	}
	firstID := map[string]int{}
	firstLabel := map[string]int{}
	for i, g := range groups {
		path := fmt.Sprintf("billing_groups[%d]", i)
		j, dupID := firstID[g.ID]
		if g.ID != "" && !dupID {
			firstID[g.ID] = i
		}
		// The ID is a credential: errors show it masked only.
		masked := twilio.MaskBillingGroupID(g.ID)
		switch {
		case g.ID == "":
			errs = append(errs, keyError(path+".id", "required (want %s)", twilio.BillingGroupIDFormat))
		case !twilio.ValidBillingGroupID(g.ID):
			errs = append(errs, keyError(path+".id", "%v", twilio.CheckBillingGroupID(g.ID)))
		case dupID:
			errs = append(errs, keyError(path+".id", "%s is already used by billing_groups[%d]", masked, j))
		}
		if err := checkName(g.Name); err != nil {
			errs = append(errs, keyError(path+".name", "%v", err))
		}
		// A duplicate ID is reported once, not again as a duplicate label.
		if label := g.Label(); label != "" && !dupID {
			switch j, dup := firstLabel[label]; {
			case !dup:
				firstLabel[label] = i
			case g.Name != "" && twilio.ValidBillingGroupID(g.Name):
				// A name that is another group's ID is that ID.
				errs = append(errs, keyError(path+".name", "%s is already used by billing_groups[%d]", twilio.MaskBillingGroupID(g.Name), j))
			case g.Name != "":
				errs = append(errs, keyError(path+".name", "%q is already used by billing_groups[%d]", g.Name, j))
			default:
				errs = append(errs, keyError(path+".id", "%s is already the name of billing_groups[%d] (both would get the same billing_group label; give one of them a different name)", masked, j))
			}
		}
		errs = g.Periods.check(path+".periods", errs)
		errs = g.Budget.check(path+".budget", errs)
		errs = g.AnnualBudget.check(path+".annual_budget", errs)
		errs = g.BudgetAlertThresholds.check(path+".budget_alert_thresholds", g.Budget != nil, errs)
		errs = checkPlannedCategories(g.PlannedCategories, path+".planned_categories", errs)
		errs = checkLabels(g.Labels, path+".labels", errs)
	}
	return errs
}

// checkPlannedCategories validates the planned categories found at path,
// appending one error per problem to errs: each names one category, as the
// product_category label shows it, once.
func checkPlannedCategories(categories []string, path string, errs []error) []error {
	first := map[string]int{}
	for i, c := range categories {
		key := fmt.Sprintf("%s[%d]", path, i)
		j, dup := first[c]
		switch {
		case strings.TrimSpace(c) == "":
			errs = append(errs, keyError(key, "must name a product category as the product_category label shows it, e.g. sms-outbound"))
		case strings.ContainsFunc(c, unicode.IsSpace):
			errs = append(errs, keyError(key, "%q is not a product category (no spaces: as the product_category label shows it, e.g. sms-outbound)", c))
		case dup:
			errs = append(errs, keyError(key, "%q is already listed at %s[%d]", c, path, j))
		default:
			first[c] = i
		}
	}
	return errs
}

// checkName refuses a name holding a character twilio.UnsafeRune names (a
// control such as ESC, a bidi control such as U+202E, a line separator). The
// name becomes the billing_group label, and with it log lines, alert
// notifications and the landing page; text from the API is cleaned, but a
// name is the operator's own: changing it silently would export a label
// that matches neither the file nor the alert routes written for it.
func checkName(name string) error {
	i := strings.IndexFunc(name, twilio.UnsafeRune)
	if i < 0 {
		return nil
	}
	r, _ := utf8.DecodeRuneInString(name[i:])
	return fmt.Errorf("%+q holds %U at byte %d, a control or bidirectional formatting character that would reach the billing_group label, logs and the landing page; remove it", name, r, i)
}

// check validates b found at path, if set, appending one error per problem
// to errs.
func (b *Budget) check(path string, errs []error) []error {
	if b == nil {
		return errs
	}
	if !(b.Amount > 0) || math.IsInf(b.Amount, 0) {
		errs = append(errs, keyError(path+".amount", "must be a number greater than 0, got %v", b.Amount))
	}
	switch {
	case b.Currency == "":
		errs = append(errs, keyError(path+".currency", "required (3 upper-case letters, e.g. USD)"))
	case !currencyCode.MatchString(b.Currency):
		errs = append(errs, keyError(path+".currency", "%q is not a currency code (want 3 upper-case letters, e.g. USD)", b.Currency))
	}
	return errs
}
