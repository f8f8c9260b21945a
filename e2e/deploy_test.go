package e2e

// Tests of what deploys the exporter: the Dockerfile (BuildKit's checks), the
// demo stack (compose.yaml and everything it mounts, checked with promtool,
// amtool and strict decoding), the Helm chart (helm lint, helm template and
// the rendered manifests), and the claim that an HA pair of Prometheus
// servers scraping one exporter does not double the calls to Twilio.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/internal/testsupport"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim"
)

// repoRoot is the repository root, relative to this package's directory.
const repoRoot = ".."

// chartDir is the Helm chart, relative to the repository root.
const chartDir = "deploy/helm/twilio-billing-exporter"

// chartRules is the Helm chart's copy of alerts/twilio_billing_exporter.rules.yml,
// which `make generate` writes. (The chart's copies of the dashboards, which
// `make dashboards` writes, are checked by the dashboards package's tests.)
const chartRules = "files/alerts/twilio_billing_exporter.rules.yml"

// strictYAML decodes data into v, refusing unknown fields.
func strictYAML(t *testing.T, name string, data []byte, v any) {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func readRepoFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, path))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// runTool runs a program and returns its combined output and exit code.
func runTool(t *testing.T, dir, path string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(path, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &exit):
		return string(out), exit.ExitCode()
	default:
		t.Fatalf("%s: %v", filepath.Base(path), err)
		return "", -1
	}
}

// --- Dockerfile ---

func TestDockerfilePassesBuildKitChecks(t *testing.T) {
	lint := tool(t, "DOCKERFILE_LINT", "dockerfile-lint")
	orig := string(readRepoFile(t, "Dockerfile"))
	for _, tc := range []struct {
		name     string
		old, new string // a change to the Dockerfile; none for the file as committed
		wantExit int
		wantRule string
	}{
		{name: "as committed"},
		{name: "lowercase as", old: " AS build", new: " as build", wantExit: 1, wantRule: "FromAsCasing"},
		{name: "shell-form entrypoint", old: `ENTRYPOINT ["/bin/twilio_billing_exporter"]`, new: `ENTRYPOINT /bin/twilio_billing_exporter`, wantExit: 1, wantRule: "JSONArgsRecommended"},
		{name: "secret in ENV", old: "USER 65532:65532", new: "ENV TWILIO_CLIENT_SECRET=x\nUSER 65532:65532", wantExit: 1, wantRule: "SecretsUsedInArgOrEnv"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := orig
			if tc.old != "" {
				if !strings.Contains(text, tc.old) {
					t.Fatalf("Dockerfile lacks %q", tc.old)
				}
				text = strings.Replace(text, tc.old, tc.new, 1)
			}
			path := filepath.Join(t.TempDir(), "Dockerfile")
			if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
			out, code := runTool(t, "", lint, path)
			if code != tc.wantExit {
				t.Fatalf("dockerfile-lint exit %d, want %d; output:\n%s", code, tc.wantExit, out)
			}
			if tc.wantRule == "" && strings.TrimSpace(out) != "" {
				t.Errorf("findings on the committed Dockerfile:\n%s", out)
			}
			if tc.wantRule != "" && !strings.Contains(out, "WARNING: "+tc.wantRule) {
				t.Errorf("want a %s finding, got:\n%s", tc.wantRule, out)
			}
		})
	}
}

// dockerfileStages splits a Dockerfile into stages of instructions, with line
// continuations joined and comments dropped.
func dockerfileStages(text string) [][]string {
	var stages [][]string
	var cur strings.Builder
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		cur.WriteString(trimmed)
		instr := cur.String()
		cur.Reset()
		if strings.HasPrefix(instr, "FROM ") {
			stages = append(stages, nil)
		}
		stages[len(stages)-1] = append(stages[len(stages)-1], instr)
	}
	return stages
}

func TestDockerfileBuildsStaticNonRootLabelledImage(t *testing.T) {
	stages := dockerfileStages(string(readRepoFile(t, "Dockerfile")))
	if len(stages) != 2 {
		t.Fatalf("want a build stage and a runtime stage, got %d stages", len(stages))
	}
	build, final := strings.Join(stages[0], "\n"), strings.Join(stages[1], "\n")
	for _, want := range []string{
		"CGO_ENABLED=0", "-trimpath", "-s -w",
		"github.com/prometheus/common/version.Version=${VERSION}",
		"github.com/prometheus/common/version.Revision=${REVISION}",
	} {
		if !strings.Contains(build, want) {
			t.Errorf("build stage lacks %q", want)
		}
	}
	// Both bases are pinned by digest: a rebuild gets the same toolchain
	// and base until a pin is changed on purpose. The build stage's Go is
	// the one go.mod names: the official image sets GOTOOLCHAIN=local.
	if want := regexp.MustCompile(`^FROM gcr\.io/distroless/static-debian12:nonroot@sha256:[0-9a-f]{64}$`); !want.MatchString(stages[1][0]) {
		t.Errorf("runtime stage starts %q, want %s", stages[1][0], want)
	}
	buildFrom := regexp.MustCompile(`^FROM --platform=\$BUILDPLATFORM golang:([0-9.]+)@sha256:[0-9a-f]{64} AS build$`)
	m := buildFrom.FindStringSubmatch(stages[0][0])
	if m == nil {
		t.Fatalf("build stage starts %q, want %s", stages[0][0], buildFrom)
	}
	goVersion := regexp.MustCompile(`(?m)^go ([0-9.]+)$`).FindSubmatch(readRepoFile(t, "go.mod"))
	if goVersion == nil || m[1] != string(goVersion[1]) {
		t.Errorf("build stage uses Go %s, go.mod says %s", m[1], goVersion)
	}
	for _, want := range []string{
		`org.opencontainers.image.title="twilio_billing_exporter"`,
		`org.opencontainers.image.version="${VERSION}"`,
		`org.opencontainers.image.revision="${REVISION}"`,
		`org.opencontainers.image.licenses="Apache-2.0"`,
		`org.opencontainers.image.description=`,
		"USER 65532:65532",
		"EXPOSE 10117",
		`ENTRYPOINT ["/bin/twilio_billing_exporter"]`,
	} {
		if !strings.Contains(final, want) {
			t.Errorf("runtime stage lacks %q", want)
		}
	}
	for _, instr := range stages[1] {
		if strings.HasPrefix(instr, "RUN ") {
			t.Errorf("runtime stage runs %q: the distroless base has no shell", instr)
		}
	}
}

// --- demo stack (compose.yaml) ---

// composeFile is the part of the Compose specification that compose.yaml
// uses; decoding is strict, so a misspelt key fails the test.
type composeFile struct {
	Name     string                    `yaml:"name"`
	Services map[string]composeService `yaml:"services"`
}

type composeService struct {
	Build *struct {
		Context string            `yaml:"context"`
		Args    map[string]string `yaml:"args"`
	} `yaml:"build"`
	Image       string            `yaml:"image"`
	Command     []string          `yaml:"command"`
	ReadOnly    bool              `yaml:"read_only"`
	Environment map[string]string `yaml:"environment"`
	Volumes     []string          `yaml:"volumes"`
	Ports       []string          `yaml:"ports"`
	DependsOn   []string          `yaml:"depends_on"`
	Restart     string            `yaml:"restart"`
}

// mount is one bind mount of a compose service.
type mount struct{ source, target string }

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	var c composeFile
	strictYAML(t, "compose.yaml", readRepoFile(t, "compose.yaml"), &c)
	return c
}

func (s composeService) mounts(t *testing.T) []mount {
	t.Helper()
	var ms []mount
	for _, v := range s.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) != 3 || parts[2] != "ro" {
			t.Fatalf("volume %q: want ./source:/target:ro", v)
		}
		if !strings.HasPrefix(parts[0], "./") || !strings.HasPrefix(parts[1], "/") {
			t.Fatalf("volume %q: want a ./relative source and an absolute target", v)
		}
		ms = append(ms, mount{source: parts[0], target: parts[1]})
	}
	return ms
}

// stage copies a service's bind mounts into dir as the container sees them,
// so that tools resolve relative paths (rule_files) the way the container does.
func (s composeService) stage(t *testing.T, dir string) {
	t.Helper()
	for _, m := range s.mounts(t) {
		data := readRepoFile(t, m.source)
		dst := filepath.Join(dir, filepath.FromSlash(m.target))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func TestComposeMountsExistAndServicesFit(t *testing.T) {
	c := loadCompose(t)
	var names []string
	for name := range c.Services {
		names = append(names, name)
	}
	sort.Strings(names)
	if want := []string{"alertmanager", "exporter", "grafana", "prometheus"}; !slices.Equal(names, want) {
		t.Fatalf("services %v, want %v", names, want)
	}
	for _, name := range names {
		for _, m := range c.Services[name].mounts(t) {
			if fi, err := os.Stat(filepath.Join(repoRoot, m.source)); err != nil || !fi.Mode().IsRegular() {
				t.Errorf("%s mounts %s, which is not a file in the repository (%v)", name, m.source, err)
			}
		}
	}
	exp := c.Services["exporter"]
	if exp.Build == nil || exp.Build.Context != "." {
		t.Fatalf("exporter: want build.context \".\" (the Dockerfile), got %+v", exp.Build)
	}
	if _, err := os.Stat(filepath.Join(repoRoot, exp.Build.Context, "Dockerfile")); err != nil {
		t.Errorf("exporter build context has no Dockerfile: %v", err)
	}
	if !slices.Equal(exp.Command, []string{"--demo"}) {
		t.Errorf("exporter command %v, want [--demo] (listening on :10117)", exp.Command)
	}
	if !exp.ReadOnly {
		t.Errorf("exporter: want read_only: true (the image needs no writable filesystem)")
	}
	// Every bundled dashboard is mounted where the Grafana provider looks.
	var provider struct {
		APIVersion int `yaml:"apiVersion"`
		Providers  []struct {
			Name                  string `yaml:"name"`
			Folder                string `yaml:"folder"`
			Type                  string `yaml:"type"`
			DisableDeletion       bool   `yaml:"disableDeletion"`
			AllowUIUpdates        bool   `yaml:"allowUiUpdates"`
			UpdateIntervalSeconds int    `yaml:"updateIntervalSeconds"`
			Options               struct {
				Path                      string `yaml:"path"`
				FoldersFromFilesStructure bool   `yaml:"foldersFromFilesStructure"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	var datasources struct {
		APIVersion  int `yaml:"apiVersion"`
		Datasources []struct {
			Name      string         `yaml:"name"`
			UID       string         `yaml:"uid"`
			Type      string         `yaml:"type"`
			Access    string         `yaml:"access"`
			URL       string         `yaml:"url"`
			IsDefault bool           `yaml:"isDefault"`
			Editable  bool           `yaml:"editable"`
			JSONData  map[string]any `yaml:"jsonData"`
		} `yaml:"datasources"`
	}
	graf := c.Services["grafana"]
	dir := t.TempDir()
	graf.stage(t, dir)
	read := func(p string) []byte {
		data, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil {
			t.Fatalf("grafana: %v (not mounted where Grafana reads provisioning)", err)
		}
		return data
	}
	strictYAML(t, "grafana dashboards provider", read("etc/grafana/provisioning/dashboards/twilio.yml"), &provider)
	strictYAML(t, "grafana datasource", read("etc/grafana/provisioning/datasources/prometheus.yml"), &datasources)
	if provider.APIVersion != 1 || len(provider.Providers) != 1 || provider.Providers[0].Type != "file" {
		t.Fatalf("dashboard provider: want apiVersion 1 and one file provider, got %+v", provider)
	}
	for file := range dashboardFiles {
		data := read(filepath.Join(provider.Providers[0].Options.Path, file))
		var dash struct{ UID, Title string }
		if err := json.Unmarshal(data, &dash); err != nil || dash.UID == "" || dash.Title == "" {
			t.Errorf("dashboards/%s: not a dashboard with a uid and a title (%v)", file, err)
		}
	}
	if home := graf.Environment["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]; home != "" {
		read(home)
	}
	if d := datasources.Datasources; datasources.APIVersion != 1 || len(d) != 1 || d[0].Type != "prometheus" ||
		d[0].URL != "http://prometheus:9090" || !d[0].IsDefault {
		t.Errorf("datasource: want one default prometheus datasource at http://prometheus:9090, got %+v", datasources)
	}
}

// promConfig is the part of a Prometheus configuration the tests look into.
type promConfig struct {
	RuleFiles []string `yaml:"rule_files"`
	Alerting  struct {
		Alertmanagers []struct {
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"alertmanagers"`
	} `yaml:"alerting"`
	ScrapeConfigs []struct {
		JobName       string `yaml:"job_name"`
		StaticConfigs []struct {
			Targets []string `yaml:"targets"`
		} `yaml:"static_configs"`
	} `yaml:"scrape_configs"`
}

func TestComposePrometheusConfigPassesPromtool(t *testing.T) {
	promtool := tool(t, "PROMTOOL", "promtool")
	c := loadCompose(t)
	dir := t.TempDir()
	c.Services["prometheus"].stage(t, dir)
	cfg := filepath.Join(dir, "etc/prometheus/prometheus.yml")
	out, code := runTool(t, dir, promtool, "check", "config", cfg)
	if code != 0 {
		t.Fatalf("promtool check config: exit %d\n%s", code, out)
	}
	// The rules file is found through the config, as in the container, and checked.
	if !strings.Contains(out, "SUCCESS: 1 rule files found") || !strings.Contains(out, "twilio_billing_exporter.rules.yml") {
		t.Errorf("promtool did not check the bundled rules through the config:\n%s", out)
	}

	var pc promConfig
	if err := yaml.Unmarshal(readRepoFile(t, "deploy/compose/prometheus.yml"), &pc); err != nil {
		t.Fatal(err)
	}
	targets := map[string][]string{}
	for _, sc := range pc.ScrapeConfigs {
		for _, s := range sc.StaticConfigs {
			targets[sc.JobName] = append(targets[sc.JobName], s.Targets...)
		}
	}
	if got := targets["twilio_billing"]; !slices.Equal(got, []string{"exporter:10117"}) {
		t.Errorf("twilio_billing targets %v, want [exporter:10117] (the compose service, --demo's port)", got)
	}
	if am := pc.Alerting.Alertmanagers; len(am) != 1 || len(am[0].StaticConfigs) != 1 ||
		!slices.Equal(am[0].StaticConfigs[0].Targets, []string{"alertmanager:9093"}) {
		t.Errorf("alerting: want alertmanager:9093, got %+v", pc.Alerting)
	}
}

func TestComposeAlertmanagerConfigPassesAmtool(t *testing.T) {
	amtool := tool(t, "AMTOOL", "amtool")
	c := loadCompose(t)
	dir := t.TempDir()
	c.Services["alertmanager"].stage(t, dir)
	out, code := runTool(t, dir, amtool, "check-config", filepath.Join(dir, "etc/alertmanager/alertmanager.yml"))
	if code != 0 || !strings.Contains(out, "SUCCESS") {
		t.Fatalf("amtool check-config: exit %d\n%s", code, out)
	}
}

// TestComposePrometheusScrapesDemoAndEvaluatesRules runs the demo stack's
// Prometheus configuration, as mounted, against the demo exporter: the only
// changes are the targets (loopback addresses instead of compose service
// names) and a 1s evaluation interval.
func TestComposePrometheusScrapesDemoAndEvaluatesRules(t *testing.T) {
	prometheus := tool(t, "PROMETHEUS", "prometheus")
	exporter := startDemo(t)
	c := loadCompose(t)
	dir := t.TempDir()
	c.Services["prometheus"].stage(t, dir)
	cfgPath := filepath.Join(dir, "etc/prometheus/prometheus.yml")
	cfg, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	promAddr := freeAddr(t)
	text := string(cfg)
	for old, new := range map[string]string{
		"exporter:10117":           strings.TrimPrefix(exporter, "http://"),
		"alertmanager:9093":        freeAddr(t), // nothing listens: delivery fails, evaluation does not
		"localhost:9090":           promAddr,
		"scrape_interval: 15s":     "scrape_interval: 1s",
		"scrape_timeout: 10s":      "scrape_timeout: 1s",
		"evaluation_interval: 15s": "evaluation_interval: 1s",
	} {
		if !strings.Contains(text, old) {
			t.Fatalf("compose prometheus.yml lacks %q", old)
		}
		text = strings.ReplaceAll(text, old, new)
	}
	if err := os.WriteFile(cfgPath, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	start(t, prometheus, "--config.file="+cfgPath, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+promAddr)
	prom := "http://" + promAddr
	waitHTTP(t, prom+"/-/ready", 60*time.Second)

	type rule struct {
		Name, Health, LastError, Type string
	}
	deadline := time.Now().Add(45 * time.Second)
	for {
		var resp struct {
			Data struct {
				Groups []struct {
					Name  string `json:"name"`
					Rules []rule `json:"rules"`
				} `json:"groups"`
			} `json:"data"`
		}
		if err := json.Unmarshal(get(t, prom+"/api/v1/rules"), &resp); err != nil {
			t.Fatal(err)
		}
		var rules []rule
		for _, g := range resp.Data.Groups {
			rules = append(rules, g.Rules...)
		}
		healthy := len(rules) > 0
		for _, r := range rules {
			healthy = healthy && r.Health == "ok"
		}
		spend := promQuery(t, prom, `sum by (billing_group) (twilio_billing_group_cost{job="twilio_billing"})`)
		if healthy && len(spend) == 3 {
			t.Logf("%d rules healthy; ALERTS now: %v", len(rules), promQuery(t, prom, `ALERTS`))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("within 45s: want every bundled rule evaluated with health ok and spend for 3 groups; rules %+v, spend %v", rules, spend)
		}
		time.Sleep(500 * time.Millisecond)
	}
	checkDemoIssue13Alerts(t, prom, time.Now().UTC())
}

// The demo's issue 13 story, as the contract of the bundled alerts states
// it: platform's year to date extrapolated over the year exceeds its annual
// budget, and support spends yesterday, above the floor, on a category it
// had no cost in last month. The conditions are evaluated as PromQL on what
// Prometheus scraped, so the demo data is checked whatever the rules say;
// then the alerts must be pending or firing for exactly those.
const (
	// demoAnnualForecastOver is the contract's annual forecast condition,
	// after demoMinYearElapsed of the year.
	demoAnnualForecastOver = `
  (
    sum by (billing_group, currency) (twilio_billing_group_this_year_cost{job="twilio_billing"})
    * on (billing_group) group_left ()
    (
      max by (billing_group) (twilio_billing_group_this_year_period_end_timestamp_seconds{job="twilio_billing"}
        - twilio_billing_group_this_year_period_start_timestamp_seconds{job="twilio_billing"})
      / max by (billing_group) (time() - twilio_billing_group_this_year_period_start_timestamp_seconds{job="twilio_billing"})
    )
  )
  > on (billing_group, currency) sum by (billing_group, currency) (twilio_billing_group_annual_budget{job="twilio_billing"})`
	// demoMinYearElapsed is the bundled rule's quiet period at the start of
	// the year (alerts/RUNBOOK.md, "Tuning").
	demoMinYearElapsed = 31 * 24 * time.Hour
	// demoFiscalYearStart is the month the demo's fiscal year starts in
	// (demo.go).
	demoFiscalYearStart = time.April
	// demoNewCategorySpend is the contract's new-category condition with a
	// floor of 100 a day, the bundled spike alerts' floor.
	demoNewCategorySpend = `
  (
    sum by (billing_group, product_category, currency) (twilio_billing_group_yesterday_cost{job="twilio_billing"}) > 100
    unless on (billing_group, product_category, currency)
      (sum by (billing_group, product_category, currency) (twilio_billing_group_last_month_cost{job="twilio_billing"}) > 0)
  )
  and on (billing_group) (max by (billing_group) (twilio_billing_group_last_month_up{job="twilio_billing"}) == 1)
  and on (billing_group, currency) (sum by (billing_group, currency) (twilio_billing_group_last_month_cost{job="twilio_billing"}) > 0)`
)

func checkDemoIssue13Alerts(t *testing.T, prom string, now time.Time) {
	t.Helper()
	yearStart := time.Date(now.Year(), demoFiscalYearStart, 1, 0, 0, 0, 0, time.UTC)
	if now.Before(yearStart) {
		yearStart = yearStart.AddDate(-1, 0, 0)
	}
	wantForecast, wantNew := []string{`{billing_group="platform", currency="GBP"}`}, []string{`{billing_group="support", currency="EUR", product_category="verify-sms"}`}
	whyForecast, whyNew := "platform's annual budget is 0.8 times its forecast for the year", "support spends 150 EUR a day on verify-sms since the 1st"
	if now.Sub(yearStart) < demoMinYearElapsed {
		wantForecast, whyForecast = nil, fmt.Sprintf("it is %s: less than %s of the fiscal year has elapsed, too little to extrapolate", now.Format(time.DateOnly), demoMinYearElapsed)
	}
	if now.Day() == 1 {
		wantNew, whyNew = nil, fmt.Sprintf("it is %s, the 1st: yesterday is last month, when support had no verify-sms spend", now.Format(time.DateOnly))
	}
	series := func(v model.Vector, keep ...model.LabelName) []string {
		out := []string{}
		for _, s := range v {
			m := model.Metric{}
			for _, k := range keep {
				if val, ok := s.Metric[k]; ok {
					m[k] = val
				}
			}
			out = append(out, m.String())
		}
		sort.Strings(out)
		return out
	}
	// The year's first refresh lands within seconds of the month's; wait for
	// it on every group before judging.
	deadline := time.Now().Add(30 * time.Second)
	for len(promQuery(t, prom, `twilio_billing_group_this_year_up{job="twilio_billing"} == 1`)) < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("within 30s: this_year up for %v, want all 3 demo groups", promQuery(t, prom, `twilio_billing_group_this_year_up`))
		}
		time.Sleep(500 * time.Millisecond)
	}
	for _, c := range []struct {
		name, expr string
		want       []string
		why        string
		labels     []model.LabelName
	}{
		{"annual forecast over budget", demoAnnualForecastOver, wantForecast, whyForecast, []model.LabelName{"billing_group", "currency"}},
		{"new category spend", demoNewCategorySpend, wantNew, whyNew, []model.LabelName{"billing_group", "currency", "product_category"}},
	} {
		if got := series(promQuery(t, prom, c.expr), c.labels...); strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("%s condition holds for %v, want %v (%s):%s", c.name, got, c.want, c.why, c.expr)
		}
	}
	// The bundled rules: the alerts pending or firing for the same groups.
	alerts := []struct {
		name   string
		want   []string
		why    string
		labels []model.LabelName
	}{
		{"TwilioBillingAnnualForecastOverBudget", wantForecast, whyForecast, []model.LabelName{"billing_group", "currency"}},
		{"TwilioBillingNewCategorySpend", wantNew, whyNew, []model.LabelName{"billing_group", "currency", "product_category"}},
	}
	deadline = time.Now().Add(20 * time.Second)
	for {
		var wrong []string
		for _, a := range alerts {
			got := series(promQuery(t, prom, `ALERTS{alertname="`+a.name+`"}`), a.labels...)
			if strings.Join(got, " ") != strings.Join(a.want, " ") {
				wrong = append(wrong, fmt.Sprintf("%s pending or firing for %v, want %v (%s)", a.name, got, a.want, a.why))
			}
		}
		if len(wrong) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("within 20s of every group's year being scraped:\n%s", strings.Join(wrong, "\n"))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// --- Helm chart ---

// helmTemplate renders the chart with the given values files (relative to the
// chart) and returns the manifests by "Kind/name".
func helmTemplate(t *testing.T, helm string, valuesFiles ...string) (map[string]map[string]any, string, int) {
	t.Helper()
	var args []string
	for _, v := range valuesFiles {
		args = append(args, "-f", filepath.Join(chartDir, v))
	}
	return helmTemplateArgs(t, helm, args...)
}

// helmTemplateArgs renders the chart with the given helm template arguments
// (values files, --set) and returns the manifests by "Kind/name".
func helmTemplateArgs(t *testing.T, helm string, extra ...string) (map[string]map[string]any, string, int) {
	t.Helper()
	args := append([]string{"template", "rel", chartDir, "--namespace", "monitoring"}, extra...)
	out, code := runTool(t, repoRoot, helm, args...)
	if code != 0 {
		return nil, out, code
	}
	docs := map[string]map[string]any{}
	dec := yaml.NewDecoder(strings.NewReader(out))
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("helm template output does not decode: %v\n%s", err, out)
		}
		if doc == nil {
			continue
		}
		meta, _ := doc["metadata"].(map[string]any)
		key := fmt.Sprintf("%v/%v", doc["kind"], meta["name"])
		if _, dup := docs[key]; dup {
			t.Fatalf("helm template renders %s twice", key)
		}
		docs[key] = doc
	}
	return docs, out, 0
}

// dig walks a decoded manifest along keys (map keys, or list indexes as int).
func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func TestHelmChartLints(t *testing.T) {
	helm := tool(t, "HELM", "helm")
	for _, values := range []string{"ci/default-values.yaml", "ci/existing-secret-values.yaml", "ci/monitoring-values.yaml", "ci/demo-values.yaml", "ci/hardened-values.yaml"} {
		t.Run(values, func(t *testing.T) {
			out, code := runTool(t, repoRoot, helm, "lint", "--strict", chartDir, "-f", filepath.Join(chartDir, values))
			if code != 0 || !strings.Contains(out, "0 chart(s) failed") {
				t.Errorf("helm lint --strict: exit %d\n%s", code, out)
			}
		})
	}
}

func TestHelmChartWithoutConfigFailsWithMessage(t *testing.T) {
	helm := tool(t, "HELM", "helm")
	for _, tc := range []struct {
		name string
		set  []string
		want string
	}{
		{"no values", nil, "twilio.clientSecret is required when twilio.existingSecret is empty (or set demo: true)"},
		{"no api_url", []string{"twilio.clientSecret=s"}, "config.twilio.api_url is required (or set demo: true)"},
		{"secret in config", []string{"twilio.clientSecret=s", "config.twilio.api_url=https://api.example.com", "config.twilio.client_secret=x"},
			"config.twilio.client_secret and client_secret_file are set by the chart"},
		{"no client id", []string{"twilio.clientSecret=s", "config.twilio.api_url=https://api.example.com", "config.billing_groups[0].id=commerce_billingprofile_A1"},
			"set config.twilio.client_id, twilio.clientId, or twilio.clientIdKey"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"template", "rel", chartDir}
			for _, s := range tc.set {
				args = append(args, "--set", s)
			}
			out, code := runTool(t, repoRoot, helm, args...)
			if code == 0 || !strings.Contains(out, tc.want) {
				t.Errorf("helm template: exit %d, want an error saying %q; got:\n%s", code, tc.want, out)
			}
		})
	}
}

func TestHelmChartRendersSecureDeployment(t *testing.T) {
	helm := tool(t, "HELM", "helm")
	exporterBin := exporterBinary(t)
	const fullname = "rel-twilio-billing-exporter"
	for _, tc := range []struct {
		values      string
		wantKinds   []string
		secretName  string // the Secret the pod reads; "" in demo mode
		clientIDKey string // the Secret key of TWILIO_CLIENT_ID; "" when the config has client_id
		demo        bool
	}{
		{values: "ci/default-values.yaml", secretName: fullname,
			wantKinds: []string{"ConfigMap/" + fullname, "Deployment/" + fullname, "Secret/" + fullname, "Service/" + fullname, "ServiceAccount/" + fullname}},
		{values: "ci/existing-secret-values.yaml", secretName: "twilio-oauth", clientIDKey: "client-id",
			wantKinds: []string{"ConfigMap/" + fullname, "Deployment/" + fullname, "Service/" + fullname, "ServiceAccount/" + fullname}},
		{values: "ci/monitoring-values.yaml", secretName: fullname,
			wantKinds: []string{"ConfigMap/" + fullname, "ConfigMap/" + fullname + "-dashboards", "Deployment/" + fullname, "PrometheusRule/" + fullname,
				"Secret/" + fullname, "Service/" + fullname, "ServiceAccount/" + fullname, "ServiceMonitor/" + fullname}},
		{values: "ci/demo-values.yaml", demo: true,
			wantKinds: []string{"ConfigMap/" + fullname + "-dashboards", "Deployment/" + fullname, "PrometheusRule/" + fullname,
				"Service/" + fullname, "ServiceAccount/" + fullname, "ServiceMonitor/" + fullname}},
	} {
		t.Run(tc.values, func(t *testing.T) {
			docs, out, code := helmTemplate(t, helm, tc.values)
			if code != 0 {
				t.Fatalf("helm template: exit %d\n%s", code, out)
			}
			var kinds []string
			for k := range docs {
				kinds = append(kinds, k)
			}
			sort.Strings(kinds)
			if !slices.Equal(kinds, tc.wantKinds) {
				t.Errorf("rendered %v, want %v", kinds, tc.wantKinds)
			}
			dep := docs["Deployment/"+fullname]
			if got := dig(dep, "spec", "replicas"); got != 1 {
				t.Errorf("replicas = %v, want 1 (replicas would each call Twilio)", got)
			}
			pod := dig(dep, "spec", "template", "spec")
			ctr := dig(pod, "containers", 0)
			for _, c := range []struct {
				in   any
				path []any
				want any
			}{
				{pod, []any{"securityContext", "runAsNonRoot"}, true},
				{pod, []any{"securityContext", "runAsUser"}, 65532},
				{pod, []any{"automountServiceAccountToken"}, false},
				{ctr, []any{"securityContext", "runAsNonRoot"}, true},
				{ctr, []any{"securityContext", "readOnlyRootFilesystem"}, true},
				{ctr, []any{"securityContext", "allowPrivilegeEscalation"}, false},
				{ctr, []any{"securityContext", "capabilities", "drop", 0}, "ALL"},
				{ctr, []any{"livenessProbe", "httpGet", "path"}, "/-/healthy"},
				{ctr, []any{"livenessProbe", "httpGet", "port"}, "http"},
				{ctr, []any{"readinessProbe", "httpGet", "path"}, "/-/ready"},
				{ctr, []any{"readinessProbe", "httpGet", "port"}, "http"},
				{ctr, []any{"ports", 0, "name"}, "http"},
				{ctr, []any{"ports", 0, "containerPort"}, 10117},
			} {
				if got := dig(c.in, c.path...); got != c.want {
					t.Errorf("%v = %v, want %v", c.path, got, c.want)
				}
			}
			args := fmt.Sprint(dig(pod, "containers", 0, "args"))
			env, _ := dig(pod, "containers", 0, "env").([]any)
			// The Go runtime is told 85% of the container's memory limit
			// (TestHelmChartGoMemLimit covers the arithmetic).
			if dig(env, 0, "name") != "GOMEMLIMIT" || dig(env, 0, "value") == nil {
				t.Errorf("env %v, want GOMEMLIMIT first", env)
			}
			if tc.demo {
				if args != "[--demo --web.listen-address=:10117]" || len(env) != 1 || dig(pod, "volumes") != nil {
					t.Errorf("demo pod: args %s, env %v, volumes %v; want --demo, GOMEMLIMIT alone and nothing mounted", args, env, dig(pod, "volumes"))
				}
				return
			}
			if args != "[--config.file=/etc/twilio_billing_exporter/config.yml --web.listen-address=:10117]" {
				t.Errorf("args %s", args)
			}
			if got := dig(pod, "volumes", 1, "secret", "secretName"); got != tc.secretName {
				t.Errorf("client secret volume reads Secret %v, want %s", got, tc.secretName)
			}
			if tc.clientIDKey == "" && len(env) != 1 {
				t.Errorf("env %v, want GOMEMLIMIT alone (client_id is in the config)", env)
			}
			if tc.clientIDKey != "" {
				ref := dig(env, 1, "valueFrom", "secretKeyRef")
				if dig(env, 1, "name") != "TWILIO_CLIENT_ID" || dig(ref, "name") != tc.secretName || dig(ref, "key") != tc.clientIDKey {
					t.Errorf("env %v, want TWILIO_CLIENT_ID from %s/%s", env, tc.secretName, tc.clientIDKey)
				}
			}
			if sec, ok := docs["Secret/"+fullname]; ok {
				got, _ := base64.StdEncoding.DecodeString(fmt.Sprint(dig(sec, "data", "client-secret")))
				if string(got) != "not-a-real-secret" {
					t.Errorf("Secret client-secret = %q, want the value from twilio.clientSecret", got)
				}
			}

			// The rendered config is one the exporter accepts, with the
			// client secret read from the mounted Secret, never inlined.
			cfg := fmt.Sprint(dig(docs["ConfigMap/"+fullname], "data", "config.yml"))
			if strings.Contains(cfg, "not-a-real-secret") {
				t.Fatalf("the ConfigMap holds the client secret:\n%s", cfg)
			}
			const secretPath = "/etc/twilio_billing_exporter/secret/client-secret"
			if !strings.Contains(cfg, "client_secret_file: "+secretPath) {
				t.Fatalf("config does not read the mounted secret:\n%s", cfg)
			}
			dir := t.TempDir()
			secretFile := filepath.Join(dir, "client-secret")
			if err := os.WriteFile(secretFile, []byte("s3cret\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			cfgFile := filepath.Join(dir, "config.yml")
			if err := os.WriteFile(cfgFile, []byte(strings.Replace(cfg, secretPath, secretFile, 1)), 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(exporterBin, "--config.check", "--config.file="+cfgFile)
			if tc.clientIDKey != "" {
				cmd.Env = append(os.Environ(), "TWILIO_CLIENT_ID=OQfromsecret")
			}
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("the exporter rejects the rendered config: %v\n%s\nconfig:\n%s", err, out, cfg)
			}
		})
	}
}

// TestHelmChartGoMemLimit: GOMEMLIMIT is goMemLimitPercent (85 by default)
// of the container's memory limit, in bytes, whatever unit the limit is
// written in; without a limit it is not set; a limit or a percentage the
// chart cannot use fails the render with a message naming the value.
func TestHelmChartGoMemLimit(t *testing.T) {
	helm := tool(t, "HELM", "helm")
	for _, tc := range []struct {
		name string
		set  []string
		want string // GOMEMLIMIT's value; "" none
		fail string
	}{
		{"default 128Mi", nil, "114085068", ""}, // 134217728 x 0.85
		{"1152Mi", []string{"resources.limits.memory=1152Mi"}, "1026765619", ""},
		{"1Gi", []string{"resources.limits.memory=1Gi"}, "912680550", ""},
		{"decimal 1000M", []string{"resources.limits.memory=1000M"}, "850000000", ""},
		{"plain bytes", []string{"resources.limits.memory=134217728"}, "114085068", ""},
		{"90 percent", []string{"goMemLimitPercent=90"}, "120795955", ""},
		{"no limit", []string{"resources.limits.memory=null"}, "", ""},
		{"fractional limit", []string{"resources.limits.memory=1.5Gi"}, "", `resources.limits.memory "1.5Gi": want a whole number of bytes`},
		{"percent over 100", []string{"goMemLimitPercent=120"}, "", "goMemLimitPercent 120: want a whole percentage of resources.limits.memory from 50 to 100"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"--set", "demo=true"}
			for _, s := range tc.set {
				args = append(args, "--set", s)
			}
			docs, out, code := helmTemplateArgs(t, helm, args...)
			if tc.fail != "" {
				if code == 0 || !strings.Contains(out, tc.fail) {
					t.Errorf("helm template: exit %d, want an error saying %q; got:\n%s", code, tc.fail, out)
				}
				return
			}
			if code != 0 {
				t.Fatalf("helm template: exit %d\n%s", code, out)
			}
			env, _ := dig(docs["Deployment/rel-twilio-billing-exporter"], "spec", "template", "spec", "containers", 0, "env").([]any)
			got := ""
			for _, e := range env {
				if dig(e, "name") == "GOMEMLIMIT" {
					got = fmt.Sprint(dig(e, "value"))
				}
			}
			if got != tc.want {
				t.Errorf("GOMEMLIMIT %q, want %q (env %v)", got, tc.want, env)
			}
		})
	}
}

// TestHelmChartServiceMonitorFollowsTelemetryPath: the ServiceMonitor
// scrapes the path the exporter serves metrics on, telemetryPath, which the
// chart passes as --web.telemetry-path; setting the flag in extraArgs
// instead, where the ServiceMonitor would not follow it, fails the render.
func TestHelmChartServiceMonitorFollowsTelemetryPath(t *testing.T) {
	helm := tool(t, "HELM", "helm")
	const fullname = "rel-twilio-billing-exporter"
	for _, tc := range []struct {
		name, set, wantPath, wantArg, fail string
	}{
		{"default", "", "/metrics", "", ""},
		{"another path", "telemetryPath=/exporter/metrics", "/exporter/metrics", "--web.telemetry-path=/exporter/metrics", ""},
		{"the root", "telemetryPath=/", "/", "--web.telemetry-path=/", ""},
		{"flag in extraArgs", "extraArgs[0]=--web.telemetry-path=/x", "", "", "extraArgs sets --web.telemetry-path: set telemetryPath instead"},
		{"not a path", "telemetryPath=metrics", "", "", `telemetryPath "metrics": want a path starting with /`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"--set", "demo=true", "--set", "serviceMonitor.enabled=true"}
			if tc.set != "" {
				args = append(args, "--set", tc.set)
			}
			docs, out, code := helmTemplateArgs(t, helm, args...)
			if tc.fail != "" {
				if code == 0 || !strings.Contains(out, tc.fail) {
					t.Errorf("helm template: exit %d, want an error saying %q; got:\n%s", code, tc.fail, out)
				}
				return
			}
			if code != 0 {
				t.Fatalf("helm template: exit %d\n%s", code, out)
			}
			if got := dig(docs["ServiceMonitor/"+fullname], "spec", "endpoints", 0, "path"); got != tc.wantPath {
				t.Errorf("ServiceMonitor path %v, want %s", got, tc.wantPath)
			}
			args2, _ := dig(docs["Deployment/"+fullname], "spec", "template", "spec", "containers", 0, "args").([]any)
			var flags []string
			for _, a := range args2 {
				if s := fmt.Sprint(a); strings.HasPrefix(s, "--web.telemetry-path") {
					flags = append(flags, s)
				}
			}
			if want := []string{tc.wantArg}; (tc.wantArg == "" && len(flags) != 0) || (tc.wantArg != "" && !slices.Equal(flags, want)) {
				t.Errorf("exporter flags %v, want %q", flags, tc.wantArg)
			}
		})
	}
}

func TestHelmChartBundlesRulesAndDashboards(t *testing.T) {
	helm := tool(t, "HELM", "helm")
	const fullname = "rel-twilio-billing-exporter"
	docs, out, code := helmTemplate(t, helm, "ci/monitoring-values.yaml")
	if code != 0 {
		t.Fatalf("helm template: exit %d\n%s", code, out)
	}

	var rules map[string]any
	if err := yaml.Unmarshal(readRepoFile(t, "alerts/twilio_billing_exporter.rules.yml"), &rules); err != nil {
		t.Fatal(err)
	}
	pr := docs["PrometheusRule/"+fullname]
	if got := dig(pr, "spec"); !reflect.DeepEqual(got, rules) || len(rules) == 0 {
		t.Errorf("PrometheusRule spec differs from alerts/twilio_billing_exporter.rules.yml")
	}
	if got := dig(pr, "metadata", "labels", "release"); got != "kube-prometheus-stack" {
		t.Errorf("PrometheusRule release label %v, want the one from values", got)
	}

	sm := docs["ServiceMonitor/"+fullname]
	for path, want := range map[string]any{
		"port": "http", "path": "/metrics", "interval": "60s", "scrapeTimeout": "30s",
	} {
		if got := dig(sm, "spec", "endpoints", 0, path); got != want {
			t.Errorf("ServiceMonitor endpoint %s = %v, want %v", path, got, want)
		}
	}
	svcSelector := dig(docs["Service/"+fullname], "spec", "selector")
	if got := dig(sm, "spec", "selector", "matchLabels"); !reflect.DeepEqual(got, svcSelector) {
		t.Errorf("ServiceMonitor selects %v, the Service has %v", got, svcSelector)
	}

	cm := docs["ConfigMap/"+fullname+"-dashboards"]
	if got := dig(cm, "metadata", "labels", "grafana_dashboard"); got != "1" {
		t.Errorf("dashboards ConfigMap label grafana_dashboard = %v, want \"1\"", got)
	}
	data, _ := dig(cm, "data").(map[string]any)
	var keys []string
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if want := []string{"twilio-exporter-health.json", "twilio-spend-overview.json"}; !slices.Equal(keys, want) {
		t.Fatalf("dashboards ConfigMap holds %v, want %v", keys, want)
	}
	for _, k := range keys {
		if got, want := data[k], string(bytes.TrimRight(readRepoFile(t, "dashboards/"+k), "\n")); got != want {
			t.Errorf("dashboards ConfigMap %s differs from dashboards/%s", k, k)
		}
	}

	// With a fiscal year, the dashboards' own fiscal year (Grafana counts
	// months from 0) is the exporter's, and nothing else changes.
	docs, out, code = helmTemplateArgs(t, helm, "-f", filepath.Join(chartDir, "ci/monitoring-values.yaml"), "--set", "config.fiscal_year_start.month=4")
	if code != 0 {
		t.Fatalf("helm template with a fiscal year: exit %d\n%s", code, out)
	}
	fiscal, _ := dig(docs["ConfigMap/"+fullname+"-dashboards"], "data").(map[string]any)
	for _, k := range keys {
		var got, want map[string]any
		if err := json.Unmarshal([]byte(fmt.Sprint(fiscal[k])), &got); err != nil {
			t.Fatalf("dashboards ConfigMap %s with a fiscal year: %v", k, err)
		}
		if err := json.Unmarshal(readRepoFile(t, "dashboards/"+k), &want); err != nil {
			t.Fatal(err)
		}
		if got["fiscalYearStartMonth"] != 3.0 {
			t.Errorf("dashboards ConfigMap %s: fiscalYearStartMonth %v, want 3 (April)", k, got["fiscalYearStartMonth"])
		}
		want["fiscalYearStartMonth"] = 3.0
		if !reflect.DeepEqual(got, want) {
			t.Errorf("dashboards ConfigMap %s with a fiscal year differs from dashboards/%s in more than fiscalYearStartMonth", k, k)
		}
	}
}

// TestHelmChartRulesMatchBundledRules fails when the chart's copy of the
// alert rules drifts from alerts/, and when the chart carries files that are
// neither it nor the generated dashboards.
func TestHelmChartRulesMatchBundledRules(t *testing.T) {
	if got := readRepoFile(t, filepath.Join(chartDir, chartRules)); !bytes.Equal(got, readRepoFile(t, "alerts/twilio_billing_exporter.rules.yml")) {
		t.Errorf("%s/%s differs from alerts/twilio_billing_exporter.rules.yml: run `make generate`", chartDir, chartRules)
	}
	want := []string{chartRules}
	for file := range dashboardFiles {
		want = append(want, "files/dashboards/"+file)
	}
	var got []string
	err := filepath.WalkDir(filepath.Join(repoRoot, chartDir, "files"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(filepath.Join(repoRoot, chartDir), p)
			got = append(got, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("chart files/ holds %v, want exactly %v", got, want)
	}
}

// --- scaling out ---

// TestHAPrometheusPairSharesOneFetch scrapes the exporter binary from two
// concurrent scrapers (an HA Prometheus pair) a fixed number of times within
// one cache lifetime: Twilio must see exactly one fetch of every group and
// period, groups x pages records requests, and one token request, however
// many scrapes there were. The lifetime is an hour, so no refresh falls due
// however slowly the machine scrapes; TestHAPrometheusPairDoesNotMultiplyTwilioCalls
// (package main) drives several lifetimes with a test clock.
func TestHAPrometheusPairSharesOneFetch(t *testing.T) {
	const (
		ttl       = time.Hour
		pageSize  = 10
		scrapers  = 2
		perScrape = 10 // scrapes by each scraper
	)
	sim := usagesim.New(usagesim.Options{ClientID: "ha-client", ClientSecret: "ha-secret"})
	inst, err := usagesim.Start(sim, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close()
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "twilio:\n  api_url: %q\n  token_url: %q\n  client_id: ha-client\n  client_secret: ha-secret\n  page_size: %d\nbilling_groups:\n",
		inst.URL, inst.TokenURL, pageSize)
	groups := usagesim.DemoGroups()
	for _, g := range groups {
		fmt.Fprintf(&cfg, "  - id: %s\n    name: %s\n", g.ID, g.Name)
	}
	cfgFile := filepath.Join(t.TempDir(), "config.yml")
	if err := os.WriteFile(cfgFile, []byte(cfg.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	// A scrape waits for the refresh it finds running (the start-up one), up
	// to the scrape timeout: a minute only bounds a hang.
	start(t, exporterBinary(t), "--config.file="+cfgFile, "--web.listen-address="+addr, "--cache.ttl="+ttl.String(), "--web.scrape-timeout=1m")
	base := "http://" + addr
	waitHTTP(t, base+"/-/ready", time.Minute)

	// Each scraper records every snapshot it sees: group -> last success time.
	var seen testsupport.Tally
	if err := seen.Scrape(base+"/metrics", scrapers, perScrape); err != nil {
		t.Error(err)
	}
	stats := sim.Stats()

	// request_encoding auto (the default) learns where parameters travel
	// with one request (a JSON body is honoured at once), once per process.
	want := 1
	for _, g := range groups {
		n, ok := seen.Records[g.Name]
		if !ok || n == 0 {
			t.Fatalf("no records seen for %s", g.Name)
		}
		if refreshes := len(seen.Snapshots[g.Name]); refreshes != 1 {
			t.Errorf("%s: %d snapshots within one --cache.ttl=%v, want 1: %v", g.Name, refreshes, ttl, seen.Snapshots[g.Name])
		}
		want += int(math.Ceil(n / pageSize))
		// Yesterday, last month and this year are on by default, each
		// fetched once.
		for _, period := range []string{"YESTERDAY", "LAST_MONTH", "THIS_YEAR"} {
			recs, _ := sim.Records(g.ID, period)
			want += max(1, int(math.Ceil(float64(len(recs))/pageSize)))
		}
	}
	t.Logf("%d scrapes from %d scrapers; %d records requests, %d token requests", seen.Scrapes, scrapers, stats.RecordsRequests, stats.TokenRequests)
	if seen.Scrapes != scrapers*perScrape {
		t.Fatalf("%d scrapes answered, want %d", seen.Scrapes, scrapers*perScrape)
	}
	if stats.RecordsRequests != want {
		t.Errorf("Twilio saw %d records requests, want one fetch of each group and period, plus the one that learns the encoding = %d (from %d scrapes)", stats.RecordsRequests, want, seen.Scrapes)
	}
	if stats.TokenRequests != 1 {
		t.Errorf("Twilio saw %d token requests, want 1 (the token is reused)", stats.TokenRequests)
	}
}

// TestHelmDocsExamplesLoadUnderReleaseSelector renders the values files of
// docs/deployment.md as written (my-values.yaml; common.yaml with
// shard-a.yaml and with shard-b.yaml, two releases): every ServiceMonitor
// and PrometheusRule carries the release label kube-prometheus-stack's
// Prometheus selects by default, exactly one of the sharded releases carries
// the rules, and no pod renders `annotations: null`, which strict schema
// validation rejects. The demo values are held to the last too.
func TestHelmDocsExamplesLoadUnderReleaseSelector(t *testing.T) {
	helm := tool(t, "HELM", "helm")
	dir := t.TempDir()
	files := map[string]string{}
	var name string
	var body strings.Builder
	in := false
	for _, line := range strings.Split(string(readRepoFile(t, "docs/deployment.md")), "\n") {
		switch {
		case line == "```yaml":
			in, name = true, ""
			body.Reset()
		case in && line == "```":
			in = false
			if name != "" {
				path := filepath.Join(dir, name)
				if err := os.WriteFile(path, []byte(body.String()), 0o600); err != nil {
					t.Fatal(err)
				}
				files[name] = path
			}
		case in:
			if name == "" && body.Len() == 0 {
				if f, ok := strings.CutPrefix(line, "# "); ok {
					name, _, _ = strings.Cut(f, ":")
				}
			}
			body.WriteString(line + "\n")
		}
	}
	for _, want := range []string{"my-values.yaml", "common.yaml", "shard-a.yaml", "shard-b.yaml"} {
		if files[want] == "" {
			t.Fatalf("docs/deployment.md has no yaml block starting \"# %s\"", want)
		}
	}
	render := func(args ...string) map[string]map[string]any {
		t.Helper()
		docs, out, code := helmTemplateArgs(t, helm, args...)
		if code != 0 {
			t.Fatalf("helm template %v: exit %d\n%s", args, code, out)
		}
		for key, doc := range docs {
			if !strings.HasPrefix(key, "Deployment/") {
				continue
			}
			meta, _ := dig(doc, "spec", "template", "metadata").(map[string]any)
			if a, ok := meta["annotations"]; ok {
				if _, isMap := a.(map[string]any); !isMap {
					t.Errorf("helm template %v: %s pod annotations are %v, want a map or no key", args, key, a)
				}
			}
		}
		return docs
	}
	release := func(docs map[string]map[string]any, kind string) []any {
		var out []any
		for key, doc := range docs {
			if strings.HasPrefix(key, kind+"/") {
				out = append(out, dig(doc, "metadata", "labels", "release"))
			}
		}
		return out
	}
	single := render("-f", files["my-values.yaml"])
	for _, kind := range []string{"ServiceMonitor", "PrometheusRule"} {
		if got := release(single, kind); !slices.Equal(got, []any{"kube-prometheus-stack"}) {
			t.Errorf("my-values.yaml: %s release labels %v, want [kube-prometheus-stack]", kind, got)
		}
	}
	rules := 0
	for _, shard := range []string{"shard-a.yaml", "shard-b.yaml"} {
		docs := render("-f", files["common.yaml"], "-f", files[shard])
		if got := release(docs, "ServiceMonitor"); !slices.Equal(got, []any{"kube-prometheus-stack"}) {
			t.Errorf("%s: ServiceMonitor release labels %v, want [kube-prometheus-stack]", shard, got)
		}
		for _, r := range release(docs, "PrometheusRule") {
			rules++
			if r != "kube-prometheus-stack" {
				t.Errorf("%s: PrometheusRule release label %v, want kube-prometheus-stack", shard, r)
			}
		}
	}
	if rules != 1 {
		t.Errorf("the sharding example renders %d PrometheusRules across its releases, want 1", rules)
	}
	render("-f", filepath.Join(chartDir, "ci", "demo-values.yaml"))
}
