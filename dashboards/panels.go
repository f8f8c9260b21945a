package dashboards

//lint:file-ignore SA1019 the bundled dashboards use Grafana's classic JSON model, which file provisioning and the chart's sidecar load; dashboardv2 is a different schema.

import (
	"fmt"
	"slices"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// datasource is the reference every panel and variable uses: the dashboard's
// own datasource variable, never a hard-coded UID.
func datasource() common.DataSourceRef {
	return common.DataSourceRef{Type: cog.ToPtr("prometheus"), Uid: cog.ToPtr("${datasource}")}
}

// panels are the panels of a row, in order.
type panels = []cog.Builder[dashboard.Panel]

// row is one row of a dashboard: its title and its panels.
type row struct {
	title  string
	panels panels
}

// assemble adds the rows to b and builds the dashboard. It numbers the
// panels in order, so that the JSON is stable and panel links work.
func assemble(b *dashboard.DashboardBuilder, rows ...row) (dashboard.Dashboard, error) {
	var id uint32
	for _, r := range rows {
		// Rows are panels too: each needs its own id, or Grafana's links
		// to a panel (viewPanel, library panels) mix them up.
		id++
		b = b.WithRow(dashboard.NewRowBuilder(r.title).Id(id))
		for _, p := range r.panels {
			id++
			b = b.WithPanel(numbered{p, id})
		}
	}
	return b.Build()
}

// numbered builds a panel with the given id.
type numbered struct {
	panel cog.Builder[dashboard.Panel]
	id    uint32
}

func (n numbered) Build() (dashboard.Panel, error) {
	p, err := n.panel.Build()
	p.Id = cog.ToPtr(n.id)
	return p, err
}

// placeable is what every panel builder has: a title, a description, a
// datasource and a size.
type placeable[B any] interface {
	Title(string) B
	Description(string) B
	Datasource(common.DataSourceRef) B
	Height(uint32) B
	Span(uint32) B
}

// place titles, describes and sizes a panel, and points it at the
// dashboard's datasource variable.
func place[B placeable[B]](b B, title, description string, height, width uint32) B {
	return b.Title(title).Description(description).Datasource(datasource()).Height(height).Span(width)
}

// newStat is a stat panel, 5 high, showing the latest value of each series
// of its query beside the series' name, uncoloured and without a sparkline
// unless the caller says otherwise.
func newStat(title, description string, width uint32, target *prometheus.DataqueryBuilder) *stat.PanelBuilder {
	return place(stat.NewPanelBuilder(), title, description, 5, width).
		ColorMode(common.BigValueColorModeNone).
		GraphMode(common.BigValueGraphModeNone).
		TextMode(common.BigValueTextModeValueAndName).
		ReduceOptions(lastValue()).
		WithTarget(target)
}

// healthStat is a 6 wide stat panel of a 0/1 health gauge: 1 reads ok on
// green, 0 reads bad on red.
func healthStat(title, description, ok, bad string, target *prometheus.DataqueryBuilder) *stat.PanelBuilder {
	return newStat(title, description, 6, target).
		Mappings(valueText("1", ok, "green", "0", bad, "red")).
		Thresholds(thresholds("red", 1.0, "green")).
		ColorMode(common.BigValueColorModeBackground)
}

// budgetStat is a stat panel of spend as a percentage of a budget: amber
// from 80%, red from 100%, on the background.
func budgetStat(title, description string, width uint32, target *prometheus.DataqueryBuilder) *stat.PanelBuilder {
	return newStat(title, description, width, target).
		Unit("percent").Decimals(0).
		Thresholds(thresholds("green", 80.0, "orange", 100.0, "red")).
		ColorMode(common.BigValueColorModeBackground)
}

// spendStat is a stat panel of amounts of money: two decimals, in the unit
// of the currency its series' names carry.
func spendStat(title, description string, width uint32, target *prometheus.DataqueryBuilder) *stat.PanelBuilder {
	return withCurrencyUnits(newStat(title, description, width, target).Unit("none").Decimals(2))
}

// newTimeseries is a time series panel from zero up, with the table legend
// on the right.
func newTimeseries(title, description string, height, width uint32) *timeseries.PanelBuilder {
	return place(timeseries.NewPanelBuilder(), title, description, height, width).
		Min(0).
		Legend(legendRight())
}

// spendTimeseries is a 9 by 12 time series panel of amounts of money: two
// decimals, in the unit of the currency its series' names carry, and the
// series whose names match the regular expression dashed (references such as
// budgets and averages) drawn as dashed lines.
func spendTimeseries(title, description, dashed string) *timeseries.PanelBuilder {
	return withCurrencyUnits(newTimeseries(title, description, 9, 12).
		Unit("none").Decimals(2).
		OverrideByRegexp(dashed, dashedLine()))
}

// currencyUnits maps ISO 4217 codes to Grafana units. Codes Grafana has a
// unit for use it; a few common others get a prefix unit. Any other
// currency is shown as a plain number, with its code in the series name.
func currencyUnits() []struct{ code, unit string } {
	return []struct{ code, unit string }{
		{"USD", "currencyUSD"}, {"EUR", "currencyEUR"}, {"GBP", "currencyGBP"},
		{"JPY", "currencyJPY"}, {"BRL", "currencyBRL"}, {"CHF", "currencyCHF"},
		{"DKK", "currencyDKK"}, {"NOK", "currencyNOK"}, {"SEK", "currencySEK"},
		{"CZK", "currencyCZK"}, {"PLN", "currencyPLN"}, {"INR", "currencyINR"},
		{"KRW", "currencyKRW"}, {"ZAR", "currencyZAR"}, {"TRY", "currencyTRY"},
		{"CAD", "prefix:CA$"}, {"AUD", "prefix:A$"}, {"NZD", "prefix:NZ$"},
		{"SGD", "prefix:S$"}, {"HKD", "prefix:HK$"}, {"MXN", "prefix:MX$"},
	}
}

// overrider is the part of every panel builder that adds field overrides.
type overrider[B any] interface {
	OverrideByRegexp(regexp string, properties []dashboard.DynamicConfigValue) B
}

// withCurrencyUnits gives every series its currency's unit. Grafana matches
// overrides on display names only, so every legend that carries a currency
// is the code alone or ends with it in parentheses ("marketing (USD)"), and
// the match is anchored there: a billing group named "EUR ops" billed in USD
// is shown in dollars, not euros.
func withCurrencyUnits[B overrider[B]](b B) B {
	for _, c := range currencyUnits() {
		b = b.OverrideByRegexp(currencyMatcher(c.code), []dashboard.DynamicConfigValue{{Id: "unit", Value: c.unit}})
	}
	return b
}

// currencyMatcher is the display-name regular expression of the series in
// currency code: the code alone, or at the end in parentheses.
func currencyMatcher(code string) string {
	return fmt.Sprintf(`/^%[1]s$|\(%[1]s\)$/`, code)
}

// query is a Prometheus query of a panel.
func query(ref, expr, legend string) *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().RefId(ref).Expr(expr).LegendFormat(legend).Datasource(datasource())
}

// instant is an instant query: stats, bar gauges and tables show the latest value.
func instant(ref, expr, legend string) *prometheus.DataqueryBuilder {
	return query(ref, expr, legend).Instant()
}

// tableQuery is an instant query returning a table.
func tableQuery(ref, expr string) *prometheus.DataqueryBuilder {
	return instant(ref, expr, "__auto").Format(prometheus.PromQueryFormatTable)
}

// thresholds builds absolute thresholds: base colour, then value/colour pairs.
func thresholds(base string, steps ...any) *dashboard.ThresholdsConfigBuilder {
	out := []dashboard.Threshold{{Color: base}}
	for i := 0; i+1 < len(steps); i += 2 {
		out = append(out, dashboard.Threshold{Value: cog.ToPtr(steps[i].(float64)), Color: steps[i+1].(string)})
	}
	return dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).Steps(out)
}

// valueText maps exact values to display text and colour.
func valueText(pairs ...string) []dashboard.ValueMapping {
	opts := map[string]dashboard.ValueMappingResult{}
	for i := 0; i+2 < len(pairs); i += 3 {
		opts[pairs[i]] = dashboard.ValueMappingResult{Text: cog.ToPtr(pairs[i+1]), Color: cog.ToPtr(pairs[i+2]), Index: cog.ToPtr(int32(i / 3))}
	}
	return []dashboard.ValueMapping{{ValueMap: &dashboard.ValueMap{Type: dashboard.MappingTypeValueToText, Options: opts}}}
}

// nanText maps NaN to display text.
func nanText(text string) dashboard.ValueMapping {
	return dashboard.ValueMapping{SpecialValueMap: &dashboard.SpecialValueMap{
		Type: dashboard.MappingTypeSpecialValue,
		Options: dashboard.DashboardSpecialValueMapOptions{
			Match:  dashboard.SpecialValueMatchNaN,
			Result: dashboard.ValueMappingResult{Text: cog.ToPtr(text), Index: cog.ToPtr(int32(0))},
		},
	}}
}

// dashedLine draws the matching series as a dashed line without fill: budgets
// and averages, which are references rather than measurements.
func dashedLine() []dashboard.DynamicConfigValue {
	return []dashboard.DynamicConfigValue{
		{Id: "custom.lineStyle", Value: map[string]any{"fill": "dash", "dash": []int{10, 10}}},
		{Id: "custom.fillOpacity", Value: 0},
	}
}

// organize renames, orders and hides table columns after a merge.
func organize(exclude []string, rename map[string]string, order []string) dashboard.DataTransformerConfig {
	ex := map[string]bool{}
	for _, e := range exclude {
		ex[e] = true
	}
	idx := map[string]int{}
	for i, o := range order {
		idx[o] = i
	}
	return dashboard.DataTransformerConfig{Id: "organize", Options: map[string]any{
		"excludeByName": ex, "renameByName": rename, "indexByName": idx,
	}}
}

// variables are the template variables: datasource and job, then the
// multi-select filters that each dashboard uses.
func variables(b *dashboard.DashboardBuilder, filters ...string) *dashboard.DashboardBuilder {
	b = b.WithVariable(dashboard.NewDatasourceVariableBuilder("datasource").
		Label("Data source").
		Description("The Prometheus data source that scrapes the exporter.").
		Type("prometheus"))
	b = b.WithVariable(labelValues("job", "Job", "The scrape job(s) of the exporter.",
		`label_values(twilio_exporter_build_info, job)`, true))
	defs := map[string][3]string{
		"team": {"Team", "Owner teams to show (the team label of billing_groups[].labels, from twilio_billing_group_info); All includes groups without one.",
			`label_values(twilio_billing_group_info{job=~"$job"}, team)`},
		"billing_group": {"Billing group", "Billing groups to show (the exporter's configured group names).",
			`label_values(twilio_billing_group_up{job=~"$job"}, billing_group)`},
		"currency": {"Currency", "Currencies to show. Amounts in different currencies are never added together.",
			`label_values(twilio_billing_group_cost{job=~"$job", billing_group=~"$billing_group"}, currency)`},
		"product_category": {"Product category", "Twilio product categories to show.",
			`label_values(twilio_billing_group_cost{job=~"$job", billing_group=~"$billing_group", currency=~"$currency"}, product_category)`},
	}
	team := slices.Contains(filters, "team")
	for _, f := range filters {
		d := defs[f]
		v := labelValues(f, d[0], d[1], d[2], true)
		if f == "billing_group" && team {
			// The groups of the selected teams. All is their list, not
			// ".*" (which would ignore the team), refreshed with the time
			// range.
			q := `label_values(twilio_billing_group_info{job=~"$job", team=~"$team"}, billing_group)`
			v = labelValues(f, d[0], "Billing groups to show (the exporter's configured group names), of the selected teams.", q, true).AllValue("")
		}
		b = b.WithVariable(v)
	}
	return b
}

// labelValues is a multi-select query variable with "All" meaning ".*", so a
// group that appears later is included without editing the dashboard.
func labelValues(name, label, description, q string, multi bool) *dashboard.QueryVariableBuilder {
	return dashboard.NewQueryVariableBuilder(name).
		Label(label).
		Description(description).
		Datasource(datasource()).
		Query(dashboard.StringOrMap{String: cog.ToPtr(q)}).
		Definition(q).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Sort(dashboard.VariableSortAlphabeticalAsc).
		Multi(multi).
		IncludeAll(true).
		AllValue(".*").
		Current(dashboard.VariableOption{
			Selected: cog.ToPtr(true),
			Text:     dashboard.StringOrArrayOfString{ArrayOfString: []string{"All"}},
			Value:    dashboard.StringOrArrayOfString{ArrayOfString: []string{"$__all"}},
		})
}

// legendRight is a table legend on the right with the last value.
func legendRight() *common.VizLegendOptionsBuilder {
	return common.NewVizLegendOptionsBuilder().
		DisplayMode(common.LegendDisplayModeTable).
		Placement(common.LegendPlacementRight).
		ShowLegend(true).
		Calcs([]string{"lastNotNull"})
}

// lastValue reduces each series to its latest value.
func lastValue() *common.ReduceDataOptionsBuilder {
	return common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}).Values(false)
}
