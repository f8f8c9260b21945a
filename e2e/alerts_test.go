package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"
)

const (
	rulesFile     = "twilio_billing_exporter.rules.yml"
	rulesTestFile = "twilio_billing_exporter.rules.test.yml"
	runbookPrefix = "https://github.com/twilio-billing-exporter/twilio_billing_exporter/blob/main/alerts/RUNBOOK.md#"
)

// wantAlerts is every alert the rules must define, the README lists and the
// unit tests cover.
var wantAlerts = []string{
	"TwilioBillingBudgetExceeded", "TwilioBillingBudgetNearlyExhausted", "TwilioBillingForecastOverBudget",
	"TwilioBillingAnnualForecastOverBudget", "TwilioBillingAnnualBudgetExceeded", "TwilioBillingDailySpendSpike", "TwilioBillingYesterdaySpendSpike",
	"TwilioBillingCategorySpendAnomaly", "TwilioBillingNewCategorySpend", "TwilioBillingBudgetCurrencyMismatch", "TwilioBillingReportingRateMissing", "TwilioBillingGroupRefreshFailing", "TwilioBillingDataStale",
	"TwilioBillingGroupAbsent", "TwilioBillingExporterDown", "TwilioBillingExporterAbsent",
}

// ruleFile is the part of a Prometheus rules file the conventions concern.
type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Record      string            `yaml:"record"`
			Expr        string            `yaml:"expr"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// ruleTestFile is the part of a promtool unit test file the coverage check reads.
type ruleTestFile struct {
	Tests []struct {
		Name  string `yaml:"name"`
		Cases []struct {
			Alertname string `yaml:"alertname"`
			ExpAlerts []any  `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
	} `yaml:"tests"`
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	body, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(body, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func TestAlertRulesPassPromtoolCheckAndUnitTests(t *testing.T) {
	t.Parallel() // promtool test rules takes about 20s of its own CPU
	promtool := tool(t, "PROMTOOL", "promtool")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"check", "rules", rulesFile}, "SUCCESS: 27 rules found"},
		{[]string{"test", "rules", rulesTestFile}, "SUCCESS"},
	} {
		t.Run(strings.Join(tc.args[:2], " "), func(t *testing.T) {
			cmd := exec.Command(promtool, tc.args...)
			cmd.Dir = filepath.Join("..", "alerts")
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(out), tc.want) || strings.Contains(string(out), "level=WARN") {
				t.Fatalf("promtool %s: err=%v, want %q and no warnings:\n%s", strings.Join(tc.args, " "), err, tc.want, out)
			}
		})
	}
}

func TestAlertRulesFollowConventions(t *testing.T) {
	var rules ruleFile
	readYAML(t, filepath.Join("..", "alerts", rulesFile), &rules)
	runbookAnchors := anchors(t, filepath.Join("..", "alerts", "RUNBOOK.md"))
	metrics := exposedMetrics(t)
	p := parser.NewParser(parser.Options{})
	camel := regexp.MustCompile(`^TwilioBilling([A-Z][a-z0-9]+)+$`)
	dashboardURL := regexp.MustCompile(`^/d/(twilio-spend-overview|twilio-exporter-health)/`)
	recorded := map[string]bool{}
	seen := map[string]bool{}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				recorded[r.Record] = true
				continue
			}
			seen[r.Alert] = true
			where := "alert " + r.Alert
			if !camel.MatchString(r.Alert) {
				t.Errorf("%s: name must be CamelCase starting with TwilioBilling", where)
			}
			if s := r.Labels["severity"]; s != "critical" && s != "warning" {
				t.Errorf("%s: severity %q, want critical or warning", where, s)
			}
			if s := r.Annotations["summary"]; s == "" || strings.Contains(s, "{{") {
				t.Errorf("%s: summary must be static text, got %q", where, s)
			}
			if d := r.Annotations["description"]; !strings.Contains(d, "{{") {
				t.Errorf("%s: description must be templated, got %q", where, d)
			}
			anchor, ok := strings.CutPrefix(r.Annotations["runbook_url"], runbookPrefix)
			if !ok || anchor != strings.ToLower(r.Alert) || !runbookAnchors[anchor] {
				t.Errorf("%s: runbook_url %q must be %s%s, a heading of alerts/RUNBOOK.md", where, r.Annotations["runbook_url"], runbookPrefix, strings.ToLower(r.Alert))
			}
			if !dashboardURL.MatchString(r.Annotations["dashboard_url"]) {
				t.Errorf("%s: dashboard_url %q must open a bundled dashboard by its uid", where, r.Annotations["dashboard_url"])
			}
			checkDashboardURL(t, where, r.Annotations["dashboard_url"])
			expr, err := p.ParseExpr(r.Expr)
			if err != nil {
				t.Errorf("%s: %v", where, err)
				continue
			}
			for _, n := range metricNames(expr) {
				if !metrics[n] && !recorded[n] {
					t.Errorf("%s: uses %q, neither exposed by the exporter nor recorded above it", where, n)
				}
			}
		}
	}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			// The owners rule is the one side of the alerts' join on
			// billing_group: it must hold one series per group whatever
			// else its series carry, and the alerts copy only the owner
			// labels from it, so its by (billing_group) drops nothing an
			// alert keeps.
			if r.Record == ownersRule {
				continue
			}
			// Every alert about a billing group routes by its owner (not
			// those about the exporter, or about a currency).
			if r.Alert != "" && r.Alert != "TwilioBillingExporterDown" && r.Alert != "TwilioBillingExporterAbsent" && r.Alert != "TwilioBillingReportingRateMissing" &&
				!strings.HasSuffix(strings.TrimSpace(r.Expr), ")\n* on (billing_group) group_left (team, owner, cost_center)\n"+ownersRule) {
				t.Errorf("alert %s: want its whole expression joined with %s: (...) * on (billing_group) group_left (team, owner, cost_center) %[2]s", r.Alert, ownersRule)
			}
			if expr, err := p.ParseExpr(r.Expr); err == nil {
				checkAggregations(t, "rule "+r.Alert+r.Record, expr)
			}
		}
	}
	for _, a := range wantAlerts {
		if !seen[a] {
			t.Errorf("alert %s missing", a)
		}
		delete(seen, a)
	}
	for a := range seen {
		t.Errorf("alert %s is not in the agreed list (update wantAlerts, README and RUNBOOK)", a)
	}
	if !runbookAnchors["tuning"] {
		t.Errorf("RUNBOOK.md lacks the Tuning section that documents the thresholds")
	}
}

// TestAlertUnitTestsCoverEveryAlert requires, for every alert, a promtool
// case where it fires and one where it stays silent.
func TestAlertUnitTestsCoverEveryAlert(t *testing.T) {
	var tests ruleTestFile
	readYAML(t, filepath.Join("..", "alerts", rulesTestFile), &tests)
	firing, silent := map[string]int{}, map[string]int{}
	for _, g := range tests.Tests {
		for _, c := range g.Cases {
			if len(c.ExpAlerts) > 0 {
				firing[c.Alertname]++
			} else {
				silent[c.Alertname]++
			}
		}
	}
	for _, a := range wantAlerts {
		if firing[a] == 0 || silent[a] == 0 {
			t.Errorf("%s: %d firing and %d silent cases in %s, want at least one of each", a, firing[a], silent[a], rulesTestFile)
		}
	}
}

// labelRef matches a label reference in an annotation template.
var labelRef = regexp.MustCompile(`\{\{ *\$labels\.(\w+)( *\| *(\w+))? *\}\}`)

// checkDashboardURL requires dashboard_url to pass the alert's job, and every
// label it carries to be URL-encoded (a group named "EMEA sales" must not
// break the link).
func checkDashboardURL(t *testing.T, where, u string) {
	t.Helper()
	if !strings.Contains(u, "var-job={{ $labels.job | urlquery }}") {
		t.Errorf("%s: dashboard_url %q must pass the job: var-job={{ $labels.job | urlquery }}", where, u)
	}
	for _, m := range labelRef.FindAllStringSubmatch(u, -1) {
		if m[3] != "urlquery" {
			t.Errorf("%s: dashboard_url inserts $labels.%s without urlquery", where, m[1])
		}
	}
}

// ownersRule records each billing group's owner labels for the alerts to join.
const ownersRule = "billing_group:twilio_billing_group_info:owners"

// checkAggregations requires every aggregation in a rule to name the labels
// it drops (without), never the ones it keeps (by): a fixed by drops labels
// such as namespace and cluster that a multi-cluster Prometheus adds and
// routes on.
func checkAggregations(t *testing.T, where string, expr parser.Expr) {
	t.Helper()
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		if a, ok := node.(*parser.AggregateExpr); ok && !a.Without && len(a.Grouping) > 0 {
			t.Errorf("%s: aggregates by (%s); aggregate without the labels to drop, so the others survive", where, strings.Join(a.Grouping, ", "))
		}
		return nil
	})
}
