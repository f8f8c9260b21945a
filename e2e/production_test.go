package e2e

// Tests of what the rules and dashboards meet in production rather than in
// the demo: billing data the demo does not produce (a category billed in two
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
)

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
