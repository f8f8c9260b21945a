package main

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/config"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim"
)

// The demo's support group starts spending on a category it never used
// before on the 1st of the month the demo starts in (Verify SMS, the usual
// target of SMS pumping), steadily, at demoLaunchDaily EUR a day: well above
// the new-category alert's floor, yet a fifth of the group's day, which
// group-level spike alerts do not notice.
const (
	demoLaunchGroup    = "support"
	demoLaunchCategory = "verify-sms"
	demoLaunchDaily    = 150.0
)

// demoAnnualBudgetGroup is the demo group given an annual budget of
// demoAnnualBudgetFactor times its forecast for the year, so that the
// annual forecast alert has something to show.
const (
	demoAnnualBudgetGroup  = "platform"
	demoAnnualBudgetFactor = 0.8
)

// demoRates are the demo's budget rates into USD, one per other currency the
// demo groups are billed in.
const demoRates = "EUR: 1.08, GBP: 1.27"

// demoFiscalYearStart is the month the demo's year starts in: a fiscal year
// from 1 April, as many organizations keep, so that the year's figures,
// bounds, budget and alerts show a fiscal year.
const demoFiscalYearStart = time.April

// demoLabels are the demo groups' owner labels (billing_groups[].labels),
// by group name: two teams, one group with none, as a real organization
// rolls them out.
var demoLabels = map[string]string{
	"marketing": "{team: growth, owner: ana}",
	"support":   "{team: customer-care, cost_center: \"4711\"}",
}

// demoThresholdsGroup warns earlier than the default budget alert
// thresholds say, with demoThresholds, as a group on a tight budget would.
const (
	demoThresholdsGroup = "support"
	demoThresholds      = "{nearly: 0.6, warning: 0.8, critical: 1.2}"
)

// demo is the simulated Usage API that --demo runs on loopback, and the
// configuration that points the exporter at it.
type demo struct {
	sim  *usagesim.Server
	inst *usagesim.Instance
	yaml []byte
}

// startDemo starts the simulator on clock now and writes a configuration for
// its groups. Monthly budgets are set from each group's simulated last month
// so that the demo shows one group forecast over budget and one comfortably
// under it; the annual budget from the year to date (see
// demoAnnualBudgetGroup).
func startDemo(now func() time.Time) (*demo, error) {
	t := now().UTC()
	groups := usagesim.DemoGroups()
	for i, g := range groups {
		if g.Name == demoLaunchGroup {
			groups[i].Launches = []usagesim.Launch{{Category: demoLaunchCategory, Daily: demoLaunchDaily,
				From: time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)}}
		}
	}
	opts := usagesim.Options{ClientID: "demo-client-id", ClientSecret: "demo-client-secret", Groups: groups, Now: now}
	sim := usagesim.New(opts)
	inst, err := usagesim.Start(sim, "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "twilio:\n  api_url: %q\n  token_url: %q\n  client_id: %q\n  client_secret: %q\n  page_size: 25\nbilling_groups:\n",
		inst.URL, inst.TokenURL, opts.ClientID, opts.ClientSecret)
	for i, g := range groups {
		fmt.Fprintf(&b, "  - id: %s\n    name: %s\n", g.ID, g.Name)
		if l, ok := demoLabels[g.Name]; ok {
			fmt.Fprintf(&b, "    labels: %s\n", l)
		}
		lastMonth := total(sim, g.ID, "LAST_MONTH")
		factor := []float64{0.8, 1.5}
		if i < len(factor) && lastMonth > 0 {
			fmt.Fprintf(&b, "    budget: {amount: %g, currency: %s}\n", math.Round(lastMonth*factor[i]), g.Currency)
			if g.Name == demoThresholdsGroup {
				fmt.Fprintf(&b, "    budget_alert_thresholds: %s\n", demoThresholds)
			}
		}
		if g.Name == demoAnnualBudgetGroup {
			fmt.Fprintf(&b, "    annual_budget: {amount: %g, currency: %s}\n", math.Round(yearForecast(sim, g.ID, t)*demoAnnualBudgetFactor), g.Currency)
		}
	}
	// One currency for the organization's total, at this year's budget
	// rates, with a rate for every currency the demo groups are billed in.
	fmt.Fprintf(&b, "reporting_currency:\n  currency: USD\n  rates_as_of: %d-01-01\n  rates: {%s}\n", t.Year(), demoRates)
	fmt.Fprintf(&b, "fiscal_year_start: {month: %d}\n", demoFiscalYearStart)
	return &demo{sim: sim, inst: inst, yaml: []byte(b.String())}, nil
}

// total is the cost of a simulated group over a period.
func total(sim *usagesim.Server, id, period string) float64 {
	records, _ := sim.Records(id, period)
	var sum float64
	for _, r := range records {
		sum += r.Price.Amount
	}
	return sum
}

// yearForecast extrapolates a simulated group's fiscal year to date at t
// linearly over the fiscal year, as the annual forecast alert does; in the
// year's first day, too short to extrapolate from, last month's spend times
// twelve.
func yearForecast(sim *usagesim.Server, id string, t time.Time) float64 {
	start := time.Date(t.Year(), demoFiscalYearStart, 1, 0, 0, 0, 0, time.UTC)
	if t.Before(start) {
		start = start.AddDate(-1, 0, 0) // the fiscal year began last calendar year
	}
	elapsed, year := t.Sub(start), start.AddDate(1, 0, 0).Sub(start)
	var ytd float64
	for _, r := range sim.DailyRecords(id, start.Format(time.DateOnly), t.UTC().Format(time.DateOnly)) {
		ytd += r.Price.Amount
	}
	if ytd > 0 && elapsed >= 24*time.Hour {
		return ytd * float64(year) / float64(elapsed)
	}
	return 12 * total(sim, id, "LAST_MONTH")
}

// load parses the demo configuration, through the same validation as a file.
func (d *demo) load() (*config.Config, error) {
	return config.Parse(d.yaml, func(string) (string, bool) { return "", false })
}

func (d *demo) close() { _ = d.inst.Close() }
