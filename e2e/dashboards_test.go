package e2e

//lint:file-ignore SA1019 the bundled dashboards use Grafana's classic JSON model, which file provisioning and the chart's sidecar load; dashboardv2 is a different schema.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
)

// dashboardFiles are the agreed file names and their stable UIDs; the compose
// stack, the Helm chart and the alerts' dashboard_url refer to them.
var dashboardFiles = map[string]string{
	"twilio-spend-overview.json":  "twilio-spend-overview",
	"twilio-exporter-health.json": "twilio-exporter-health",
}

// dashboardVariables are the template variables each dashboard must have.
var dashboardVariables = map[string][]string{
	"twilio-spend-overview":  {"datasource", "job", "billing_group", "currency", "product_category"},
	"twilio-exporter-health": {"datasource", "job", "billing_group"},
}

// loadedDashboard is a dashboard file decoded with Grafana's own types, and raw.
type loadedDashboard struct {
	file string
	raw  map[string]any
	d    dashboard.Dashboard
}

func loadDashboards(t *testing.T) []loadedDashboard {
	t.Helper()
	plugins.RegisterDefaultPlugins()
	paths, err := filepath.Glob(filepath.Join("..", "dashboards", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var out []loadedDashboard
	for _, p := range paths {
		body, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		l := loadedDashboard{file: filepath.Base(p)}
		if err := json.Unmarshal(body, &l.d); err != nil {
			t.Fatalf("%s: does not decode as a Grafana dashboard: %v", l.file, err)
		}
		if err := json.Unmarshal(body, &l.raw); err != nil {
			t.Fatal(err)
		}
		out = append(out, l)
	}
	if len(out) != len(dashboardFiles) {
		t.Fatalf("found %d dashboards in dashboards/, want %d", len(out), len(dashboardFiles))
	}
	return out
}

// panelQuery is one Prometheus query of one panel.
type panelQuery struct {
	dashboard, panel, ref, expr string
	instant                     bool
}

func (q panelQuery) String() string {
	return fmt.Sprintf("%s / %q / %s", q.dashboard, q.panel, q.ref)
}

// panels returns every panel, including those inside collapsed rows.
func panels(d dashboard.Dashboard) []dashboard.Panel {
	var out []dashboard.Panel
	for _, p := range d.Panels {
		if p.Panel != nil {
			out = append(out, *p.Panel)
		}
		if p.RowPanel != nil {
			out = append(out, p.RowPanel.Panels...)
		}
	}
	return out
}

func panelQueries(t *testing.T, l loadedDashboard) []panelQuery {
	t.Helper()
	var out []panelQuery
	for _, p := range panels(l.d) {
		for _, target := range p.Targets {
			q, ok := target.(*prometheus.Dataquery)
			if !ok {
				t.Errorf("%s / %q: target %T is not a Prometheus query", l.file, deref(p.Title), target)
				continue
			}
			ref := ""
			if q.RefId != nil {
				ref = *q.RefId
			}
			out = append(out, panelQuery{dashboard: *l.d.Uid, panel: deref(p.Title), ref: ref, expr: q.Expr,
				instant: q.Instant != nil && *q.Instant})
		}
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// templateVar matches Grafana variable references: $name, ${name},
// ${name:format}. A name does not begin with a digit: $1 is a regular
// expression group in label_replace's replacement, which Grafana leaves alone.
var templateVar = regexp.MustCompile(`\$\{([A-Za-z_]\w*)(?::\w+)?\}|\$([A-Za-z_]\w*)`)

// substitute replaces Grafana variables with values Prometheus accepts; vars
// maps a variable to its value, and every variable used must be in it.
func substitute(expr string, vars map[string]string) (string, error) {
	var missing []string
	out := templateVar.ReplaceAllStringFunc(expr, func(m string) string {
		sub := templateVar.FindStringSubmatch(m)
		name := sub[1] + sub[2]
		v, ok := vars[name]
		if !ok {
			missing = append(missing, name)
			return m
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("unknown template variables %v", missing)
	}
	return out, nil
}

// matchAll substitutes every variable with what Grafana sends for "All" (and
// plausible built-in intervals): enough for parsing and name checks.
var matchAll = map[string]string{
	"job": ".*", "team": ".*", "billing_group": ".*", "currency": ".*", "product_category": ".*",
	"__rate_interval": "1m", "__interval": "15s", "__range": "1h",
}

// exposedMetrics reads the metric names the exporter promises from README
// "Metrics", plus Prometheus' own up; histograms bring their series suffixes.
func exposedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	row := regexp.MustCompile("^\\| `([a-z_]+)`( \\((counter|histogram)\\))? \\|")
	names := map[string]bool{"up": true}
	inMetrics := false
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := s.Text()
		if strings.HasPrefix(line, "## ") {
			inMetrics = line == "## Metrics"
			continue
		}
		m := row.FindStringSubmatch(line)
		if !inMetrics || m == nil {
			continue
		}
		names[m[1]] = true
		if m[3] == "histogram" {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				names[m[1]+suffix] = true
			}
		}
	}
	if !names["twilio_billing_group_cost"] || !names["twilio_exporter_api_request_duration_seconds_bucket"] {
		t.Fatalf("README \"Metrics\" table not understood: got %v", names)
	}
	return names
}

// metricNames returns every metric name a PromQL expression selects.
func metricNames(expr parser.Expr) []string {
	var names []string
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		if vs, ok := node.(*parser.VectorSelector); ok {
			names = append(names, vs.Name)
		}
		return nil
	})
	return names
}

// labelValuesQuery splits a Grafana label_values(selector, label) variable query.
var labelValuesQuery = regexp.MustCompile(`^label_values\((.+),\s*(\w+)\)$`)

func TestDashboardsFollowConventions(t *testing.T) {
	metrics := exposedMetrics(t)
	p := parser.NewParser(parser.Options{})
	for _, l := range loadDashboards(t) {
		t.Run(l.file, func(t *testing.T) {
			uid, ok := dashboardFiles[l.file]
			if !ok {
				t.Fatalf("unexpected dashboard file %s", l.file)
			}
			if deref(l.d.Uid) != uid {
				t.Errorf("uid = %q, want %q", deref(l.d.Uid), uid)
			}
			if deref(l.d.Title) == "" || deref(l.d.Description) == "" {
				t.Errorf("dashboard needs a title and a description")
			}
			if _, ok := l.raw["__inputs"]; ok {
				t.Errorf("dashboard relies on __inputs; use the datasource variable")
			}
			checkDatasourceRefs(t, l.raw, "")

			vars := map[string]dashboard.VariableModel{}
			for _, v := range l.d.Templating.List {
				vars[v.Name] = v
			}
			for _, name := range dashboardVariables[uid] {
				v, ok := vars[name]
				switch {
				case !ok:
					t.Errorf("variable %s missing", name)
				case name == "datasource":
					if v.Type != dashboard.VariableTypeDatasource || v.Query == nil || deref(v.Query.String) != "prometheus" {
						t.Errorf("variable datasource must be a Prometheus datasource variable, got type %s", v.Type)
					}
				default:
					if v.Type != dashboard.VariableTypeQuery {
						t.Errorf("variable %s: type %s, want query", name, v.Type)
					}
					if name != "job" && (v.Multi == nil || !*v.Multi || v.IncludeAll == nil || !*v.IncludeAll) {
						t.Errorf("variable %s must be multi-select with All", name)
					}
					if v.Datasource == nil || deref(v.Datasource.Uid) != "${datasource}" {
						t.Errorf("variable %s must use ${datasource}", name)
					}
					m := labelValuesQuery.FindStringSubmatch(deref(v.Query.String))
					if m == nil || m[2] != name {
						t.Errorf("variable %s: query %q is not label_values(<selector>, %s)", name, deref(v.Query.String), name)
						continue
					}
					checkExpr(t, p, metrics, "variable "+name, m[1])
				}
			}

			queries := 0
			for _, panel := range panels(l.d) {
				title := deref(panel.Title)
				if title == "" || deref(panel.Description) == "" {
					t.Errorf("panel %d (%s) needs a title and a description", deref32(panel.Id), panel.Type)
				}
				if panel.Datasource == nil || deref(panel.Datasource.Uid) != "${datasource}" {
					t.Errorf("panel %q must use the ${datasource} variable", title)
				}
				if len(panel.Targets) == 0 {
					t.Errorf("panel %q has no queries", title)
				}
				checkUnits(t, panel)
				checkLatestOnly(t, panel)
				checkCurrencyMatchers(t, panel)
			}
			checkPanelIDs(t, l.d)
			if l.d.SchemaVersion != grafanaSchemaVersion {
				t.Errorf("schemaVersion %d, want %d: docs/dashboards-and-alerts.md names the oldest Grafana that reads it", l.d.SchemaVersion, grafanaSchemaVersion)
			}
			for _, q := range panelQueries(t, l) {
				queries++
				checkExpr(t, p, metrics, q.String(), q.expr)
			}
			if queries == 0 {
				t.Errorf("no queries found")
			}
		})
	}
}

// grafanaSchemaVersion is the dashboard schema the generator writes, which
// Grafana 12 reads; docs/dashboards-and-alerts.md states that minimum.
const grafanaSchemaVersion = 42

// checkPanelIDs requires every panel, rows and the panels inside collapsed
// rows included, to have its own id: Grafana addresses panels by id
// (viewPanel links, panel JSON), and rows sharing id 0 clash.
func checkPanelIDs(t *testing.T, d dashboard.Dashboard) {
	t.Helper()
	seen := map[uint32]string{}
	check := func(id *uint32, title string) {
		switch prev, dup := seen[deref32(id)]; {
		case id == nil || *id == 0:
			t.Errorf("panel %q has no id", title)
		case dup:
			t.Errorf("panels %q and %q share id %d", prev, title, *id)
		default:
			seen[*id] = title
		}
	}
	for _, p := range d.Panels {
		if p.Panel != nil {
			check(p.Panel.Id, deref(p.Panel.Title))
		}
		if r := p.RowPanel; r != nil {
			check(&r.Id, "row "+deref(r.Title))
			for _, inner := range r.Panels {
				check(inner.Id, deref(inner.Title))
			}
		}
	}
}

// checkCurrencyMatchers requires the currency unit overrides of a panel to
// give each of its series the unit of its own currency label, whatever the
// other labels in its display name: Grafana matches overrides on display
// names, and a billing group named "EUR ops" billed in USD must be shown in
// dollars.
func checkCurrencyMatchers(t *testing.T, panel dashboard.Panel) {
	t.Helper()
	if panel.FieldConfig == nil {
		return
	}
	units := map[*regexp.Regexp]string{}
	for _, o := range panel.FieldConfig.Overrides {
		for _, prop := range o.Properties {
			unit, _ := prop.Value.(string)
			if prop.Id != "unit" || !(strings.HasPrefix(unit, "currency") || strings.HasPrefix(unit, "prefix:")) {
				continue
			}
			pattern, _ := o.Matcher.Options.(string)
			if o.Matcher.Id != "byRegexp" || !strings.HasPrefix(pattern, "/") || !strings.HasSuffix(pattern, "/") {
				t.Errorf("panel %q: currency override %s %v is not a /regexp/", deref(panel.Title), o.Matcher.Id, o.Matcher.Options)
				continue
			}
			units[regexp.MustCompile(pattern[1:len(pattern)-1])] = unit
		}
	}
	if len(units) == 0 {
		return
	}
	legend := strings.NewReplacer("{{billing_group}}", "EUR ops", "{{currency}}", "USD", "{{basis}}", "(GBP)", "{{product_category}}", "GBP-calls")
	for _, target := range panel.Targets {
		q, ok := target.(*prometheus.Dataquery)
		if !ok || q.LegendFormat == nil || !strings.Contains(*q.LegendFormat, "{{currency}}") {
			continue
		}
		name := legend.Replace(*q.LegendFormat)
		var got []string
		for re, unit := range units {
			if re.MatchString(name) {
				got = append(got, unit)
			}
		}
		if !slices.Equal(got, []string{"currencyUSD"}) {
			t.Errorf("panel %q: series %q (currency USD) gets the units %v, want [currencyUSD]", deref(panel.Title), name, got)
		}
	}
}

// checkLatestOnly requires the panels that show one figure per series (stat,
// gauge, bar gauge, table) to ask for it with an instant query. A range
// query reduced to its last non-null value shows a series that ended inside
// the time range: on the 1st, before this month's first scrape, the
// month-to-date stat would show last month's total.
func checkLatestOnly(t *testing.T, panel dashboard.Panel) {
	t.Helper()
	switch panel.Type {
	case "stat", "gauge", "bargauge", "table":
	default:
		return
	}
	for _, target := range panel.Targets {
		if q, ok := target.(*prometheus.Dataquery); ok && (q.Instant == nil || !*q.Instant) {
			t.Errorf("%s panel %q: query %s is a range query; it must be instant, so that a series that ended is not shown as current", panel.Type, deref(panel.Title), deref(q.RefId))
		}
	}
}

func deref32(p *uint32) uint32 {
	if p == nil {
		return 0
	}
	return *p
}

// checkExpr parses expr with Prometheus' own parser after substituting the
// template variables, and checks every metric it selects is exposed.
func checkExpr(t *testing.T, p parser.Parser, metrics map[string]bool, where, expr string) {
	t.Helper()
	sub, err := substitute(expr, matchAll)
	if err != nil {
		t.Errorf("%s: %v", where, err)
		return
	}
	parsed, err := p.ParseExpr(sub)
	if err != nil {
		t.Errorf("%s: PromQL does not parse: %v\n%s", where, err, sub)
		return
	}
	names := metricNames(parsed)
	if len(names) == 0 {
		t.Errorf("%s: selects no metric", where)
	}
	for _, n := range names {
		if !metrics[n] {
			t.Errorf("%s: queries %q, which the exporter does not expose (README \"Metrics\")", where, n)
		}
	}
}

// checkDatasourceRefs fails on any datasource reference that is not the
// datasource variable: no hard-coded UIDs anywhere in the JSON.
func checkDatasourceRefs(t *testing.T, v any, path string) {
	t.Helper()
	switch x := v.(type) {
	case map[string]any:
		for k, child := range x {
			if k == "datasource" {
				if ref, ok := child.(map[string]any); ok && ref["uid"] != nil && ref["uid"] != "${datasource}" {
					t.Errorf("%s.datasource uses uid %v, want ${datasource}", path, ref["uid"])
				}
				if s, ok := child.(string); ok {
					t.Errorf("%s.datasource is the string %q, want {type: prometheus, uid: ${datasource}}", path, s)
				}
			}
			checkDatasourceRefs(t, child, path+"."+k)
		}
	case []any:
		for i, child := range x {
			checkDatasourceRefs(t, child, fmt.Sprintf("%s[%d]", path, i))
		}
	}
}

// costMetric matches the cost families: this month's, yesterday's, last
// month's and this year's.
var costMetric = regexp.MustCompile(`\btwilio_billing_group_(yesterday_|last_month_|this_year_)?cost\b`)

// checkUnits requires a unit on every chart, and currency units chosen per
// currency by overrides where a chart shows money, never a fixed currency.
func checkUnits(t *testing.T, panel dashboard.Panel) {
	t.Helper()
	title := deref(panel.Title)
	if panel.Type == "table" {
		return // columns carry their own unit overrides; the currency is a column
	}
	unit := ""
	if panel.FieldConfig != nil && panel.FieldConfig.Defaults.Unit != nil {
		unit = *panel.FieldConfig.Defaults.Unit
	}
	if unit == "" {
		if panel.FieldConfig == nil || len(panel.FieldConfig.Defaults.Mappings) == 0 {
			t.Errorf("panel %q sets no unit", title)
		}
		return
	}
	if strings.HasPrefix(unit, "currency") {
		t.Errorf("panel %q hard-codes the unit %s; choose currency units per currency with overrides", title, unit)
	}
	money := false
	for _, target := range panel.Targets {
		// A percentage of cost, or a count of series, is no amount.
		if q, ok := target.(*prometheus.Dataquery); ok && costMetric.MatchString(q.Expr) && unit != "percent" &&
			!strings.HasPrefix(strings.TrimSpace(q.Expr), "count(") {
			money = true
		}
	}
	if !money {
		return
	}
	overridden := map[string]bool{}
	for _, o := range panel.FieldConfig.Overrides {
		for _, prop := range o.Properties {
			if prop.Id == "unit" {
				if s, ok := prop.Value.(string); ok {
					overridden[s] = true
				}
			}
		}
	}
	for _, want := range []string{"currencyUSD", "currencyEUR", "currencyGBP"} {
		if !overridden[want] {
			t.Errorf("panel %q shows money but has no override with unit %s", title, want)
		}
	}
}

// promQueryRange runs a range query through Prometheus' HTTP API.
func promQueryRange(t *testing.T, base, query string, start, end time.Time, step time.Duration) model.Matrix {
	t.Helper()
	u := fmt.Sprintf("%s/api/v1/query_range?query=%s&start=%d&end=%d&step=%g", base, url.QueryEscape(query),
		start.Unix(), end.Unix(), step.Seconds())
	var resp struct {
		Status string `json:"status"`
		Data   struct {
			Result model.Matrix `json:"result"`
		} `json:"data"`
		Error string `json:"error"`
	}
	body := get(t, u)
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatalf("query_range %q: %v\n%s", query, err, body)
	}
	if resp.Status != "success" {
		t.Fatalf("query_range %q: %s", query, resp.Error)
	}
	return resp.Data.Result
}

// demoValues are the variable values of the demo, as Grafana sends a
// multi-value selection to Prometheus.
var demoValues = map[string]string{
	"job": "twilio_billing", "team": ".*", "billing_group": "marketing|support|platform", "currency": "USD|EUR|GBP",
	"product_category": ".*", "__rate_interval": "1m", "__interval": "5s", "__range": "1h",
}

// startPrometheusWithRules runs Prometheus scraping the exporter every second
// with the bundled rules loaded, evaluated every second.
func startPrometheusWithRules(t *testing.T, exporter string) string {
	t.Helper()
	prometheus := tool(t, "PROMETHEUS", "prometheus")
	rules, err := filepath.Abs(filepath.Join("..", "alerts", rulesFile))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
  - job_name: twilio_billing
    static_configs:
      - targets: [%q]
`, rules, strings.TrimPrefix(exporter, "http://"))
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	start(t, prometheus, "--config.file="+cfgPath, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr)
	base := "http://" + addr
	waitHTTP(t, base+"/-/ready", 60*time.Second)
	return base
}

// ruleStates returns every rule's name, health and last evaluation.
func ruleStates(t *testing.T, prom string) []ruleState {
	t.Helper()
	var resp struct {
		Status string `json:"status"`
		Data   struct {
			Groups []struct {
				Rules []ruleState `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	body := get(t, prom+"/api/v1/rules")
	if err := json.Unmarshal(body, &resp); err != nil || resp.Status != "success" {
		t.Fatalf("GET /api/v1/rules: %v\n%s", err, body)
	}
	var out []ruleState
	for _, g := range resp.Data.Groups {
		out = append(out, g.Rules...)
	}
	return out
}

// ruleState is one rule as GET /api/v1/rules reports it.
type ruleState struct {
	Name           string    `json:"name"`
	Health         string    `json:"health"`
	LastError      string    `json:"lastError"`
	LastEvaluation time.Time `json:"lastEvaluation"`
}

// TestDashboardQueriesAndRulesAgainstPrometheus runs every panel query and
// every variable query of both dashboards through a real Prometheus that
// scrapes the demo exporter, checks every bundled rule evaluates cleanly, and
// runs every PromQL example of the documentation (promqlDocs).
func TestDashboardQueriesAndRulesAgainstPrometheus(t *testing.T) {
	exporter := startDemo(t)
	prom := startPrometheusWithRules(t, exporter)

	deadline := time.Now().Add(30 * time.Second)
	for len(promQuery(t, prom, `count by (billing_group) (twilio_billing_group_cost{job="twilio_billing"})`)) < 3 {
		if time.Now().After(deadline) {
			t.Fatal("Prometheus has not scraped all 3 demo groups within 30s")
		}
		time.Sleep(250 * time.Millisecond)
	}
	dataSince := time.Now()
	// Every rule evaluated on scraped data, twice, and rate() windows hold
	// at least two samples.
	deadline = time.Now().Add(30 * time.Second)
	for {
		states := ruleStates(t, prom)
		ready := len(states) == 27
		for _, r := range states {
			ready = ready && r.LastEvaluation.After(dataSince.Add(time.Second))
		}
		if ready {
			for _, r := range states {
				if r.Health != "ok" || r.LastError != "" {
					t.Errorf("rule %s: health %q, error %q", r.Name, r.Health, r.LastError)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rules not all evaluated within 30s: %+v", states)
		}
		time.Sleep(250 * time.Millisecond)
	}

	// rate() needs two samples in its window: on a loaded machine scrapes can
	// lag the rule evaluations, so wait for them explicitly.
	deadline = time.Now().Add(30 * time.Second)
	for {
		v := promQuery(t, prom, `count_over_time(up{job="twilio_billing"}[1m])`)
		if len(v) == 1 && v[0].Value >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus has not scraped the exporter 3 times within 30s: %v", v)
		}
		time.Sleep(250 * time.Millisecond)
	}

	for _, l := range loadDashboards(t) {
		byPanel := map[string][]model.Vector{}
		for _, q := range panelQueries(t, l) {
			expr, err := substitute(q.expr, demoValues)
			if err != nil {
				t.Errorf("%s: %v", q, err)
				continue
			}
			if q.instant {
				got := promQuery(t, prom, expr)
				if len(got) == 0 {
					t.Errorf("%s: instant query returned no series:\n%s", q, expr)
				}
				byPanel[q.panel] = append(byPanel[q.panel], got)
				continue
			}
			got := promQueryRange(t, prom, expr, dataSince, time.Now(), time.Second)
			if len(got) == 0 {
				t.Errorf("%s: range query returned no series:\n%s", q, expr)
			}
		}
		// The table merges its queries row by row: they must return the same rows.
		if cols := byPanel["Spend by billing group and category"]; len(cols) > 0 {
			rows := func(v model.Vector) []string {
				var out []string
				for _, s := range v {
					out = append(out, s.Metric.String())
				}
				sort.Strings(out)
				return out
			}
			want := rows(cols[0])
			if len(want) < 40 {
				t.Errorf("category table has %d rows, want one per demo group, category and unit (at least 40)", len(want))
			}
			for i, c := range cols[1:] {
				if got := rows(c); strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Errorf("category table: query %d returns rows %v, query A %v", i+2, got, want)
				}
			}
		}
		for _, v := range l.d.Templating.List {
			m := labelValuesQuery.FindStringSubmatch(deref(v.Query.String))
			if v.Type != dashboard.VariableTypeQuery || m == nil {
				continue
			}
			sel, err := substitute(m[1], demoValues)
			if err != nil {
				t.Errorf("variable %s: %v", v.Name, err)
				continue
			}
			var resp struct {
				Data []string `json:"data"`
			}
			body := get(t, prom+"/api/v1/label/"+m[2]+"/values?match[]="+url.QueryEscape(sel))
			if err := json.Unmarshal(body, &resp); err != nil || len(resp.Data) == 0 {
				t.Errorf("%s variable %s: no values for %s (%v)", *l.d.Uid, v.Name, sel, err)
			}
		}
	}
	checkDocQueries(t, prom)
}

// docQuery is one PromQL example from the documentation.
type docQuery struct {
	file, comment, expr string
}

// promqlDocs are the files whose PromQL examples must run against --demo, and
// how many examples each must hold at least (the README the basics, the
// dashboards doc the recipes beyond them).
var promqlDocs = []struct {
	file string
	min  int
}{
	{"README.md", 4},
	{filepath.Join("docs", "dashboards-and-alerts.md"), 2},
}

// docQueries reads the ```promql blocks of promqlDocs: each example is its
// comment lines followed by its expression, up to a blank line.
func docQueries(t *testing.T) []docQuery {
	t.Helper()
	var out []docQuery
	for _, d := range promqlDocs {
		body, err := os.ReadFile(filepath.Join("..", d.file))
		if err != nil {
			t.Fatal(err)
		}
		n := len(out)
		cur := docQuery{file: d.file}
		in := false
		flush := func() {
			if strings.TrimSpace(cur.expr) != "" {
				out = append(out, cur)
			}
			cur = docQuery{file: d.file}
		}
		for _, line := range strings.Split(string(body), "\n") {
			switch {
			case line == "```promql":
				in = true
			case in && line == "```":
				flush()
				in = false
			case !in:
			case strings.TrimSpace(line) == "":
				flush()
			case strings.HasPrefix(line, "#"):
				cur.comment += line + "\n"
			default:
				cur.expr += line + "\n"
			}
		}
		if len(out)-n < d.min {
			t.Fatalf("%s has %d PromQL examples, want at least %d", d.file, len(out)-n, d.min)
		}
	}
	return out
}

// checkDocQueries runs every documented PromQL example against prom: each must
// evaluate, and return data unless its comment says it is empty while healthy.
func checkDocQueries(t *testing.T, prom string) {
	for _, q := range docQueries(t) {
		got := promQuery(t, prom, q.expr)
		if len(got) == 0 && !strings.Contains(q.comment, "empty while healthy") {
			t.Errorf("%s example returned no series:\n%s%s", q.file, q.comment, q.expr)
		}
	}
}

// docSection returns the words of the section of a Markdown file that starts
// at heading (a "## " line) and ends at the next "## " heading, joined by
// single spaces so that titles may wrap.
func docSection(t *testing.T, file, heading string) string {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("..", file))
	if err != nil {
		t.Fatal(err)
	}
	text := "\n" + string(body)
	_, section, ok := strings.Cut(text, "\n"+heading+"\n")
	if !ok {
		t.Fatalf("%s has no %q section", file, heading)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	return strings.Join(strings.Fields(section), " ")
}

// TestReadmeListsEveryDashboardAndAlert keeps README "Dashboards and alerts"
// an exact list: every dashboard by title and file, every alert by name under
// the severity its rule gives it ("- warning: ...", "- critical: ...").
func TestReadmeListsEveryDashboardAndAlert(t *testing.T) {
	section := docSection(t, "README.md", "## Dashboards and alerts")
	for _, l := range loadDashboards(t) {
		if !strings.Contains(section, deref(l.d.Title)) || !strings.Contains(section, l.file) {
			t.Errorf("README does not name dashboard %q (%s)", deref(l.d.Title), l.file)
		}
	}
	listed := map[string]map[string]bool{} // alert -> severities the README gives it
	items := regexp.MustCompile(`(?:^| )- (warning|critical): `).FindAllStringSubmatchIndex(section, -1)
	for i, m := range items {
		end := len(section)
		if i+1 < len(items) {
			end = items[i+1][0]
		}
		for _, a := range wantAlerts {
			if strings.Contains(section[m[1]:end], "`"+a+"`") {
				if listed[a] == nil {
					listed[a] = map[string]bool{}
				}
				listed[a][section[m[2]:m[3]]] = true
			}
		}
	}
	var rules ruleFile
	readYAML(t, filepath.Join("..", "alerts", rulesFile), &rules)
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			switch got, ok := listed[r.Alert]; {
			case !ok:
				t.Errorf("README does not list alert %s under its severity", r.Alert)
			case !got[r.Labels["severity"]]:
				t.Errorf("README does not list alert %s as %s, as a rule of it says", r.Alert, r.Labels["severity"])
			}
		}
	}
	for _, a := range wantAlerts {
		if _, ok := listed[a]; !ok {
			t.Errorf("README does not list alert %s", a)
		}
	}
}

// TestDashboardsDocListsEveryPanel keeps docs/dashboards-and-alerts.md "The
// dashboards" an exact list: every dashboard and every panel title.
func TestDashboardsDocListsEveryPanel(t *testing.T) {
	file := filepath.Join("docs", "dashboards-and-alerts.md")
	section := docSection(t, file, "## The dashboards")
	for _, l := range loadDashboards(t) {
		if !strings.Contains(section, deref(l.d.Title)) {
			t.Errorf("%s does not name dashboard %q (%s)", file, deref(l.d.Title), l.file)
		}
		for _, p := range panels(l.d) {
			if !strings.Contains(section, deref(p.Title)) {
				t.Errorf("%s does not list panel %q of %s", file, deref(p.Title), l.file)
			}
		}
	}
}

// TestDashboardsCountAnExporterPairOnce scrapes one demo exporter as two
// targets of the job "pair" (two replicas serving the same figures, or the
// old and the new pod of a rollout) and as the only target of the job
// "single", and requires every query of the spend overview to answer the
// same for either job at the same instant: the panels take one of the
// replicas' equal figures, as the rules do, and never add them up (3,241
// shown for 1,622 spent).
func TestDashboardsCountAnExporterPairOnce(t *testing.T) {
	exporter := strings.TrimPrefix(startDemo(t), "http://")
	_, port, err := net.SplitHostPort(exporter)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: pair
    static_configs:
      - targets: [%q, %q]
  - job_name: single
    static_configs:
      - targets: [%q]
`, exporter, "localhost:"+port, exporter)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	start(t, tool(t, "PROMETHEUS", "prometheus"), "--config.file="+cfgPath, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr)
	prom := "http://" + addr
	waitHTTP(t, prom+"/-/ready", 60*time.Second)
	deadline := time.Now().Add(30 * time.Second)
	for {
		v := promQuery(t, prom, `count by (job) (count_over_time(twilio_billing_group_up[1m]) >= 3)`)
		counts := map[string]float64{}
		for _, s := range v {
			counts[string(s.Metric["job"])] = float64(s.Value)
		}
		// Three demo groups, scraped at least 3 times by each target.
		if counts["pair"] == 6 && counts["single"] == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus has not scraped both jobs 3 times within 30s: %v", v)
		}
		time.Sleep(250 * time.Millisecond)
	}
	at := time.Now().Add(-time.Second)
	for _, l := range loadDashboards(t) {
		if deref(l.d.Uid) != "twilio-spend-overview" {
			continue
		}
		for _, q := range panelQueries(t, l) {
			answers := map[string]map[string]float64{}
			for _, job := range []string{"pair", "single"} {
				values := maps.Clone(demoValues)
				values["job"] = job
				expr, err := substitute(q.expr, values)
				if err != nil {
					t.Fatalf("%s: %v", q, err)
				}
				answers[job] = map[string]float64{}
				for _, s := range promQueryAt(t, prom, expr, at) {
					m := s.Metric.Clone()
					delete(m, "job")
					answers[job][m.String()] = float64(s.Value)
				}
			}
			if len(answers["single"]) == 0 {
				t.Errorf("%s: no series for the single exporter", q)
			}
			for k, want := range answers["single"] {
				got, ok := answers["pair"][k]
				if !ok || !(got == want || math.IsNaN(got) && math.IsNaN(want) || math.Abs(got-want) <= 1e-9*math.Abs(want)) {
					t.Errorf("%s: %s is %v with two replicas, %v with one", q, k, got, want)
				}
			}
			for k := range answers["pair"] {
				if _, ok := answers["single"][k]; !ok {
					t.Errorf("%s: two replicas add the series %s", q, k)
				}
			}
		}
	}
}
