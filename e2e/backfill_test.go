package e2e

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/internal/testsupport"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim"
)

// backfillGroups are the simulated groups the backfill test writes: two
// currencies, a category with two products and one with two units.
var backfillGroups = []usagesim.Group{
	{ID: "commerce_billingprofile_BFONE", Name: "alpha", Currency: "USD", Categories: 6, Scale: 3, Seed: 11},
	{ID: "commerce_billingprofile_BFTWO", Name: "beta", Currency: "EUR", Categories: 3, Scale: 1, Seed: 12},
}

// TestBackfillIntoPrometheus backfills about three weeks across a month end
// from the simulated API with the real binary, serves the blocks from a real
// Prometheus and checks past instants (mid-month, the last hour of a month,
// the first hour of the next) against the simulator's own daily records,
// exactly (this_year, on by default, a fiscal year from the 1st of last
// month, so that the range crosses the fiscal new year); then every
// spend-overview panel query that does not depend on the exporter's health at
// an instant inside the range.
func TestBackfillIntoPrometheus(t *testing.T) {
	prometheus := tool(t, "PROMETHEUS", "prometheus")
	sim := usagesim.New(usagesim.Options{ClientID: "bf-client", ClientSecret: "bf-secret", Groups: backfillGroups})
	inst, err := usagesim.Start(sim, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inst.Close() })

	// From the 15th of the month before last to the 5th of last month:
	// always in the past, and it starts mid-month.
	now := time.Now().UTC()
	thisMonth := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	lastMonth := thisMonth.AddDate(0, -1, 0)
	from, to := lastMonth.AddDate(0, -1, 14), lastMonth.AddDate(0, 0, 4)

	dir := t.TempDir()
	cfg := filepath.Join(dir, "exporter.yml")
	body := fmt.Sprintf(`twilio:
  api_url: %s
  token_url: %s
  client_id: bf-client
  client_secret: bf-secret
  page_size: 20
billing_groups:
  - id: %s
    name: alpha
    budget: {amount: 2500, currency: USD}
    labels: {team: payments}
  - id: %s
    name: beta
    annual_budget: {amount: 40000, currency: EUR}
reporting_currency:
  currency: USD
  rates_as_of: 2026-01-01
  rates: {EUR: 1.25}
fiscal_year_start: {month: %d}
`, inst.URL, inst.TokenURL, backfillGroups[0].ID, backfillGroups[1].ID, lastMonth.Month())
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "blocks")
	cmd := exec.Command(exporterBinary(t), "backfill", "--config.file="+cfg,
		"--from="+from.Format("2006-01-02"), "--to="+to.Format("2006-01-02"), "--output.dir="+out,
		"--label=job=twilio_billing", "--label=instance=exporter:10117")
	stderr, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("backfill: %v\n%s", err, stderr)
	}
	for _, want := range []string{"msg=Fetched", `msg="Wrote blocks"`, "pages=", "samples=", "elapsed=", `msg="Backfill done"`} {
		if !strings.Contains(string(stderr), want) {
			t.Errorf("backfill progress on stderr lacks %s:\n%s", want, stderr)
		}
	}
	if strings.Contains(string(stderr), "bf-secret") {
		t.Errorf("backfill printed the client secret:\n%s", stderr)
	}

	// promtool reads every block without error.
	promtool := tool(t, "PROMTOOL", "promtool")
	blocks, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) < 3 {
		t.Fatalf("backfill wrote %d blocks, want one per 8 days", len(blocks))
	}
	for _, b := range blocks {
		res, err := exec.Command(promtool, "tsdb", "analyze", out, b.Name()).CombinedOutput()
		if err != nil || !strings.Contains(string(res), "Block ID: "+b.Name()) || !strings.Contains(string(res), "twilio_billing_group_cost") {
			t.Errorf("promtool tsdb analyze %s: %v\n%s", b.Name(), err, res)
		}
	}

	// Import: the blocks go into an empty data directory as they are.
	data := filepath.Join(dir, "data")
	if err := os.Rename(out, data); err != nil {
		t.Fatal(err)
	}
	promCfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(promCfg, []byte("global:\n  scrape_interval: 1m\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	promAddr := freeAddr(t)
	start(t, prometheus, "--config.file="+promCfg, "--storage.tsdb.path="+data,
		"--storage.tsdb.retention.time=10y", "--web.listen-address="+promAddr)
	prom := "http://" + promAddr
	waitHTTP(t, prom+"/-/ready", 60*time.Second)

	mid := lastMonth.AddDate(0, -1, 19).Add(12*time.Hour + 7*time.Minute + 13*time.Second)
	for _, at := range []time.Time{
		mid,                                // mid-month
		lastMonth.Add(-25 * time.Minute),   // the last hour of a month
		lastMonth.Add(42 * time.Minute),    // the first hour of the next
		to.Add(24*time.Hour - time.Second), // the range's last second
	} {
		checkBackfilledInstant(t, prom, sim, lastMonth.Month(), at)
	}

	// Every spend-overview panel that does not show the exporter's own
	// health has data inside the range: 8 days after the start, so that the
	// week-on-week column has both weeks.
	at := from.AddDate(0, 0, 9).Add(13 * time.Hour)
	health := []string{"_up", "last_success", "as_of", "_records", "refresh_duration", "twilio_exporter_", "up{"}
	checked := 0
	for _, l := range loadDashboards(t) {
		if *l.d.Uid != "twilio-spend-overview" {
			continue
		}
		for _, q := range panelQueries(t, l) {
			if containsAny(q.expr, health) {
				continue
			}
			vars := map[string]string{"job": "twilio_billing", "billing_group": "alpha|beta", "currency": "USD|EUR",
				"product_category": ".*", "__rate_interval": "4m", "__interval": "1h", "__range": "1d"}
			expr, err := substitute(q.expr, vars)
			if err != nil {
				t.Errorf("%s: %v", q, err)
				continue
			}
			checked++
			if q.instant {
				if got := promQueryAt(t, prom, expr, at); len(got) == 0 {
					t.Errorf("%s: instant query at %s returned nothing:\n%s", q, at, expr)
				}
				continue
			}
			if got := promQueryRange(t, prom, expr, at.Add(-24*time.Hour), at, time.Hour); len(got) == 0 {
				t.Errorf("%s: range query over the day before %s returned nothing:\n%s", q, at, expr)
			}
		}
	}
	if checked < 10 {
		t.Errorf("checked %d spend-overview queries, want at least 10", checked)
	}
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// checkBackfilledInstant compares what Prometheus answers at `at` with what
// the live exporter would have served then, from the simulator's daily
// records added up exactly, as the exporter adds them: month to date through that day,
// yesterday, last month, this year to that day, the period bounds, the
// budgets, the alert thresholds and the owner labels.
func checkBackfilledInstant(t *testing.T, prom string, sim *usagesim.Server, yearStart time.Month, at time.Time) {
	t.Helper()
	d := time.Date(at.Year(), at.Month(), at.Day(), 0, 0, 0, 0, time.UTC)
	month := time.Date(at.Year(), at.Month(), 1, 0, 0, 0, 0, time.UTC)
	prevMonth := month.AddDate(0, -1, 0)
	year := time.Date(at.Year(), yearStart, 1, 0, 0, 0, 0, time.UTC)
	if at.Month() < yearStart {
		year = year.AddDate(-1, 0, 0) // a fiscal year that began last calendar year
	}
	want := map[string]float64{}
	sums := testsupport.ExactSums{}
	add := func(prefix, group string, records []usagesim.WireRecord) {
		for _, r := range records {
			sums.Add(t, fmt.Sprintf(`%scost{billing_group="%s", currency="%s", instance="exporter:10117", job="twilio_billing", product_category="%s"}`,
				prefix, group, r.Price.Currency, r.ProductCategory), strconv.FormatFloat(r.Price.Amount, 'f', -1, 64))
			sums.Add(t, fmt.Sprintf(`%susage{billing_group="%s", instance="exporter:10117", job="twilio_billing", product_category="%s", unit="%s"}`,
				prefix, group, r.ProductCategory, r.Usage.Unit), r.Usage.Amount)
		}
	}
	bounds := func(prefix, group string, start, end time.Time) {
		want[fmt.Sprintf(`%speriod_start_timestamp_seconds{billing_group="%s", instance="exporter:10117", job="twilio_billing"}`, prefix, group)] = float64(start.Unix())
		want[fmt.Sprintf(`%speriod_end_timestamp_seconds{billing_group="%s", instance="exporter:10117", job="twilio_billing"}`, prefix, group)] = float64(end.Unix())
	}
	day := func(t time.Time) string { return t.Format("2006-01-02") }
	for _, g := range backfillGroups {
		const p = "twilio_billing_group_"
		add(p, g.Name, sim.DailyRecords(g.ID, day(month), day(d)))
		bounds(p, g.Name, month, month.AddDate(0, 1, 0))
		add(p+"yesterday_", g.Name, sim.DailyRecords(g.ID, day(d.AddDate(0, 0, -1)), day(d.AddDate(0, 0, -1))))
		bounds(p+"yesterday_", g.Name, d.AddDate(0, 0, -1), d)
		add(p+"last_month_", g.Name, sim.DailyRecords(g.ID, day(prevMonth), day(month.AddDate(0, 0, -1))))
		bounds(p+"last_month_", g.Name, prevMonth, month)
		add(p+"this_year_", g.Name, sim.DailyRecords(g.ID, day(year), day(d)))
		bounds(p+"this_year_", g.Name, year, year.AddDate(1, 0, 0))
	}
	maps.Copy(want, sums.Floats())
	want[`twilio_billing_group_budget{billing_group="alpha", currency="USD", instance="exporter:10117", job="twilio_billing"}`] = 2500
	want[`twilio_billing_group_annual_budget{billing_group="beta", currency="EUR", instance="exporter:10117", job="twilio_billing"}`] = 40000
	for level, v := range map[string]float64{"nearly": 0.9, "warning": 1, "critical": 1.5} { // the defaults
		want[`twilio_billing_group_budget_alert_threshold_ratio{billing_group="alpha", instance="exporter:10117", job="twilio_billing", level="`+level+`"}`] = v
	}
	want[`twilio_billing_group_info{billing_group="alpha", instance="exporter:10117", job="twilio_billing", team="payments"}`] = 1
	want[`twilio_billing_group_info{billing_group="beta", instance="exporter:10117", job="twilio_billing"}`] = 1
	// The reporting currency's rates, as the exporter exports them.
	want[`twilio_billing_reporting_rate{currency="EUR", instance="exporter:10117", job="twilio_billing", reporting_currency="USD"}`] = 1.25
	want[`twilio_billing_reporting_rate{currency="USD", instance="exporter:10117", job="twilio_billing", reporting_currency="USD"}`] = 1
	want[`twilio_billing_reporting_rates_as_of_timestamp_seconds{instance="exporter:10117", job="twilio_billing", reporting_currency="USD"}`] = 1767225600
	want[`twilio_billing_fiscal_year_start_month{instance="exporter:10117", job="twilio_billing"}`] = float64(yearStart)

	got := map[string]float64{}
	for _, s := range promQueryAt(t, prom, `{__name__=~"twilio_billing_(group|reporting|fiscal)_.*", __name__!="twilio_billing_group_product_info"}`, at) {
		name := string(s.Metric[model.MetricNameLabel])
		delete(s.Metric, model.MetricNameLabel)
		got[name+s.Metric.String()] = float64(s.Value)
	}
	for k, w := range want {
		g, ok := got[k]
		switch {
		case !ok:
			t.Errorf("at %s: Prometheus has no %s", at, k)
		case g != w:
			t.Errorf("at %s: %s = %v, the simulator's daily records add up to %v", at, k, g, w)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("at %s: Prometheus has %s, which the exporter would not have served", at, k)
		}
	}
	if len(want) < 80 {
		t.Errorf("at %s: only %d series compared", at, len(want))
	}
	if info := promQueryAt(t, prom, `twilio_billing_group_product_info`, at); len(info) < 9 {
		t.Errorf("at %s: %d product_info series, want one per product of both groups (at least 9)", at, len(info))
	}
}
