package e2e

// Tests of what the rules and dashboards meet in production rather than in
// the demo: the scrape job the Helm chart gives the exporter's targets, and
// billing data the demo does not produce (a category billed in two
// currencies).

import (
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"
)

// operatorJob is the job label prometheus-operator gives the targets of a
// ServiceMonitor endpoint: the Service's name, or the value of the Service
// label named by spec.jobLabel, then the endpoint's relabelings in order.
// Only the relabelings that can set job without source labels are modelled;
// any other that targets job fails the test.
func operatorJob(t *testing.T, sm, svc map[string]any) string {
	t.Helper()
	job, _ := dig(svc, "metadata", "name").(string)
	if key, _ := dig(sm, "spec", "jobLabel").(string); key != "" {
		if v, ok := dig(svc, "metadata", "labels", key).(string); ok {
			job = v
		}
	}
	rels, _ := dig(sm, "spec", "endpoints", 0, "relabelings").([]any)
	for _, r := range rels {
		if dig(r, "targetLabel") != "job" {
			continue
		}
		action, _ := dig(r, "action").(string)
		if (action != "" && action != "replace") || dig(r, "sourceLabels") != nil {
			t.Fatalf("relabeling %v sets job in a way this test does not model", r)
		}
		job, _ = dig(r, "replacement").(string)
	}
	return job
}

// ruleJobSelectors returns the job matchers of every up selector in the
// rendered PrometheusRule.
func ruleJobSelectors(t *testing.T, pr map[string]any) []*labels.Matcher {
	t.Helper()
	body, err := yaml.Marshal(dig(pr, "spec"))
	if err != nil {
		t.Fatal(err)
	}
	var rules ruleFile
	if err := yaml.Unmarshal(body, &rules); err != nil {
		t.Fatal(err)
	}
	p := parser.NewParser(parser.Options{})
	var out []*labels.Matcher
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			expr, err := p.ParseExpr(r.Expr)
			if err != nil {
				t.Fatalf("rule %s%s: %v", r.Alert, r.Record, err)
			}
			parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
				vs, ok := node.(*parser.VectorSelector)
				if !ok || vs.Name != "up" {
					return nil
				}
				var job *labels.Matcher
				for _, m := range vs.LabelMatchers {
					if m.Name == "job" {
						job = m
					}
				}
				if job == nil {
					t.Errorf("rule %s: %s selects no job", r.Alert, vs)
				} else {
					out = append(out, job)
				}
				return nil
			})
		}
	}
	return out
}

// TestHelmChartScrapeJobMatchesRules renders the chart with monitoring
// enabled and checks that the job label Prometheus will give the exporter's
// targets is the one the rendered PrometheusRule selects: by default, and
// with the job name changed.
func TestHelmChartScrapeJobMatchesRules(t *testing.T) {
	helm := tool(t, "HELM", "helm")
	const fullname = "rel-twilio-billing-exporter"
	for _, tc := range []struct {
		name, want string
		args       []string
	}{
		{"default", "twilio_billing", nil},
		{"scrapeJobName set", "twilio-billing-prod", []string{"--set", "scrapeJobName=twilio-billing-prod"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-f", chartDir + "/ci/monitoring-values.yaml"}, tc.args...)
			docs, out, code := helmTemplateArgs(t, helm, args...)
			if code != 0 {
				t.Fatalf("helm template: exit %d\n%s", code, out)
			}
			sm, svc, pr := docs["ServiceMonitor/"+fullname], docs["Service/"+fullname], docs["PrometheusRule/"+fullname]
			if sm == nil || svc == nil || pr == nil {
				t.Fatalf("want a ServiceMonitor, a Service and a PrometheusRule named %s, got %v", fullname, keys(docs))
			}
			job := operatorJob(t, sm, svc)
			if job != tc.want {
				t.Errorf("Prometheus will give the targets job %q, want %q", job, tc.want)
			}
			sel := ruleJobSelectors(t, pr)
			if len(sel) < 2 {
				t.Fatalf("PrometheusRule has %d up selectors, want those of TwilioBillingExporterDown and TwilioBillingExporterAbsent", len(sel))
			}
			for _, m := range sel {
				if !m.Matches(job) {
					t.Errorf("PrometheusRule selects up{%s}, which does not match the scraped job %q", m, job)
				}
			}
		})
	}
	// An empty job name would render rules that select nothing.
	_, out, code := helmTemplateArgs(t, helm, "-f", chartDir+"/ci/monitoring-values.yaml", "--set", "scrapeJobName=")
	if code == 0 || !strings.Contains(out, "scrapeJobName is required") {
		t.Errorf("helm template with an empty scrapeJobName: exit %d, want a failure naming scrapeJobName:\n%s", code, out)
	}
}

func keys(m map[string]map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// twoCurrencyExposition is an exporter's answer for two groups where intl
// bills sms-outbound in USD and EUR, reports voice in two units, and mms in
// two currencies and two units; marketing is ordinary.
const twoCurrencyExposition = `# TYPE twilio_billing_group_cost gauge
twilio_billing_group_cost{billing_group="intl",product_category="sms-outbound",currency="USD"} 120
twilio_billing_group_cost{billing_group="intl",product_category="sms-outbound",currency="EUR"} 80
twilio_billing_group_cost{billing_group="intl",product_category="voice-outbound-local",currency="USD"} 50
twilio_billing_group_cost{billing_group="intl",product_category="mms-outbound",currency="USD"} 10
twilio_billing_group_cost{billing_group="intl",product_category="mms-outbound",currency="EUR"} 5
twilio_billing_group_cost{billing_group="marketing",product_category="sms-outbound",currency="USD"} 300
# TYPE twilio_billing_group_usage gauge
twilio_billing_group_usage{billing_group="intl",product_category="sms-outbound",unit="messages"} 1000
twilio_billing_group_usage{billing_group="intl",product_category="voice-outbound-local",unit="minutes"} 300
twilio_billing_group_usage{billing_group="intl",product_category="voice-outbound-local",unit="calls"} 40
twilio_billing_group_usage{billing_group="intl",product_category="mms-outbound",unit="messages"} 20
twilio_billing_group_usage{billing_group="intl",product_category="mms-outbound",unit="segments"} 30
twilio_billing_group_usage{billing_group="marketing",product_category="sms-outbound",unit="messages"} 2500
# TYPE twilio_billing_group_product_info gauge
twilio_billing_group_product_info{product_category="sms-outbound",product="United States-Outbound-SMS"} 1
twilio_billing_group_product_info{product_category="voice-outbound-local",product="Voice-Outbound-Local"} 1
twilio_billing_group_product_info{product_category="voice-outbound-local",product="Voice-Outbound-Local-SIP"} 1
twilio_billing_group_product_info{product_category="mms-outbound",product="United States-Outbound-MMS"} 1
# TYPE twilio_billing_group_period_start_timestamp_seconds gauge
twilio_billing_group_period_start_timestamp_seconds{billing_group="intl"} %[1]d
twilio_billing_group_period_start_timestamp_seconds{billing_group="marketing"} %[1]d
`

// TestCategoryTableWithTwoCurrencies runs the "Spend by billing group and
// category" table's queries through a real Prometheus scraping a category
// billed in two currencies: every group keeps its rows, one per currency and
// unit, and the table's queries agree on them.
func TestCategoryTableWithTwoCurrencies(t *testing.T) {
	monthStart := time.Date(time.Now().UTC().Year(), time.Now().UTC().Month(), 1, 0, 0, 0, 0, time.UTC).Unix()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintf(w, twoCurrencyExposition, monthStart)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	prom := startPrometheusWithRules(t, "http://"+ln.Addr().String())

	deadline := time.Now().Add(30 * time.Second)
	for len(promQuery(t, prom, `twilio_billing_group_usage{job="twilio_billing"}`)) < 6 {
		if time.Now().After(deadline) {
			t.Fatal("Prometheus has not scraped the test target within 30s")
		}
		time.Sleep(250 * time.Millisecond)
	}

	var table []panelQuery
	for _, l := range loadDashboards(t) {
		for _, q := range panelQueries(t, l) {
			if q.panel == "Spend by billing group and category" {
				table = append(table, q)
			}
		}
	}
	if len(table) != 3 {
		t.Fatalf("found %d queries of the category table, want 3", len(table))
	}
	vars := map[string]string{"job": "twilio_billing", "billing_group": ".*", "currency": ".*", "product_category": ".*"}
	row := func(s *model.Sample) string {
		m := s.Metric
		return fmt.Sprintf("%s/%s/%s/%s/%s", m["billing_group"], m["product_category"], m["currency"], m["unit"], m["product"])
	}
	results := map[string]map[string]float64{}
	for _, q := range table {
		expr, err := substitute(q.expr, vars)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]float64{}
		for _, s := range promQuery(t, prom, expr) {
			got[row(s)] = float64(s.Value)
		}
		results[q.ref] = got
	}
	const several = "(several: see Products by category)"
	wantCost := map[string]float64{
		"intl/sms-outbound/USD/messages/United States-Outbound-SMS":      120,
		"intl/sms-outbound/EUR/messages/United States-Outbound-SMS":      80,
		"intl/voice-outbound-local/USD/minutes/" + several:               50,
		"intl/voice-outbound-local/USD/calls/" + several:                 50,
		"intl/mms-outbound/USD/(several)/United States-Outbound-MMS":     10,
		"intl/mms-outbound/EUR/(several)/United States-Outbound-MMS":     5,
		"marketing/sms-outbound/USD/messages/United States-Outbound-SMS": 300,
	}
	wantUsage := map[string]float64{
		"intl/sms-outbound/USD/messages/United States-Outbound-SMS":      1000,
		"intl/sms-outbound/EUR/messages/United States-Outbound-SMS":      1000,
		"intl/voice-outbound-local/USD/minutes/" + several:               300,
		"intl/voice-outbound-local/USD/calls/" + several:                 40,
		"marketing/sms-outbound/USD/messages/United States-Outbound-SMS": 2500,
	}
	for ref, want := range map[string]map[string]float64{"A": wantCost, "B": wantUsage} {
		if got := results[ref]; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("category table query %s:\n got %v\nwant %v", ref, got, want)
		}
	}
	// The change column has every row (no history yet: NaN).
	var gotRows, wantRows []string
	for r := range results["C"] {
		gotRows = append(gotRows, r)
	}
	for r := range wantCost {
		wantRows = append(wantRows, r)
	}
	sort.Strings(gotRows)
	sort.Strings(wantRows)
	if strings.Join(gotRows, "\n") != strings.Join(wantRows, "\n") {
		t.Errorf("category table query C rows:\n%s\nwant\n%s", strings.Join(gotRows, "\n"), strings.Join(wantRows, "\n"))
	}
}
