package dashboards

//lint:file-ignore SA1019 the bundled dashboards use Grafana's classic JSON model, which file provisioning and the chart's sidecar load; dashboardv2 is a different schema.

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/barchart"
	"github.com/grafana/grafana-foundation-sdk/go/bargauge"
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/statetimeline"
	"github.com/grafana/grafana-foundation-sdk/go/table"
)

// Stable dashboard UIDs: links from alerts (dashboard_url) and from other
// dashboards depend on them.
const (
	SpendUID  = "twilio-spend-overview"
	HealthUID = "twilio-exporter-health"
)

// Dirs are the directories, relative to the repository root, that hold the
// committed JSON: this one, which Grafana's file provisioning and the compose
// stack read, and the Helm chart's copy (Helm cannot read files outside a
// chart). `make dashboards` writes both.
var Dirs = []string{"dashboards", "deploy/helm/twilio-billing-exporter/files/dashboards"}

// Files returns every dashboard as the JSON committed in each of Dirs, keyed
// by file name.
func Files() (map[string][]byte, error) {
	out := map[string][]byte{}
	for name, build := range map[string]func() (dashboard.Dashboard, error){
		SpendUID + ".json":  Spend,
		HealthUID + ".json": Health,
	} {
		d, err := build()
		if err != nil {
			return nil, fmt.Errorf("dashboards: building %s: %w", name, err)
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(d); err != nil {
			return nil, fmt.Errorf("dashboards: encoding %s: %w", name, err)
		}
		out[name] = buf.Bytes()
	}
	return out, nil
}

// base is what both dashboards share: tags, time, refresh, links to each other.
func base(title, uid, description string) *dashboard.DashboardBuilder {
	return dashboard.NewDashboardBuilder(title).
		Uid(uid).
		Description(description).
		Tags([]string{"twilio", "billing", "twilio_billing_exporter"}).
		Editable().
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Time("now-7d", "now").
		Timezone("utc").
		Refresh("5m").
		Link(dashboard.NewDashboardLinkBuilder("Twilio billing").
			Type(dashboard.DashboardLinkTypeDashboards).
			Tags([]string{"twilio_billing_exporter"}).
			AsDropdown(false).
			IncludeVars(true).
			KeepTime(true))
}

// Spend is the Twilio spend overview, for finance and engineering leads.
func Spend() (dashboard.Dashboard, error) {
	b := base("Twilio spend overview", SpendUID,
		"Month-to-date Twilio spend per billing group from twilio_billing_exporter: budgets, forecast, daily spend, yesterday and last month, the year, and categories. "+
			"Usage API figures are estimates; the invoice after month end is authoritative. Months are UTC.")
	b = variables(b, "team", "billing_group", "currency", "product_category")
	return assemble(b, spendThisMonth(), spendYesterdayAndLastMonth(), spendThisYear(), spendReportingCurrency(), spendTrends(), spendCategories())
}

// spendThisMonth is the month so far at a glance: spend, forecast, budget,
// time left, and how fresh the figures are.
func spendThisMonth() row {
	return row{"This month", panels{
		spendStat("Month-to-date spend",
			"Estimated spend this month (UTC) to date, per currency, over the selected billing groups and product categories. Resets at 00:00 UTC on the 1st.",
			6, instant("A", fmt.Sprintf("sum by (currency) (%s)", dedup(costSelector, "")), "{{currency}}")),
		spendStat("Forecast to month end",
			"Linear forecast of this month's spend per currency: spend so far divided by the time elapsed since the month began, times the month's length (from the exporter's period start and end, so February and the 1st are right). Noisy in the first days of a month.",
			6, instant("A", fmt.Sprintf("sum by (currency) (\n  %s\n)", indent(forecast("billing_group, currency"), 2)), "{{currency}}")),
		budgetStat("Budget used",
			"Month-to-date spend as a percentage of the billing group's configured budget (twilio_billing_group_budget), for groups that have one. Ignores the product category filter: a budget covers the whole group. Amber from 80%, red from 100%.",
			6, instant("A", budgetUsedPercent(), "{{billing_group}} ({{currency}})")),
		newStat("Days left in the month",
			"Days until the end of the billing month (00:00 UTC on the 1st of next month), from the exporter's period end.",
			6, instant("A", fmt.Sprintf("(max(twilio_billing_group_period_end_timestamp_seconds{%s}) - time()) / 86400", groupMatch), "days left")).
			Unit("suffix: days").Decimals(1).
			TextMode(common.BigValueTextModeAuto),
		newStat("Data as of (age)",
			"Time since the Usage API's asOf date for each billing group: how far behind real usage the figures are. Twilio updates usage with a delay; amber after 36 hours, red after 72.",
			12, instant("A", fmt.Sprintf("time() - max by (billing_group) (twilio_billing_group_as_of_timestamp_seconds{%s})", groupMatch), "{{billing_group}}")).
			Unit("s").Decimals(1).
			Thresholds(thresholds("green", 36*3600.0, "orange", 72*3600.0, "red")).
			ColorMode(common.BigValueColorModeValue),
		newStat("Time since last successful refresh",
			"Time since the exporter last fetched each billing group from Twilio successfully. Normally under --cache.ttl plus the scrape interval; amber after 1 hour, red after 6 (the TwilioBillingDataStale alert threshold).",
			12, instant("A", fmt.Sprintf("time() - max by (billing_group) (twilio_billing_group_last_success_timestamp_seconds{%s})", groupMatch), "{{billing_group}}")).
			Unit("s").Decimals(0).
			Thresholds(thresholds("green", 3600.0, "orange", 6*3600.0, "red")).
			ColorMode(common.BigValueColorModeValue),
	}}
}

// spendYesterdayAndLastMonth sets yesterday and this month's forecast
// against last month, all from the Usage API.
func spendYesterdayAndLastMonth() row {
	return row{"Yesterday and last month", panels{
		spendStat("Yesterday's spend",
			"Estimated spend of yesterday (00:00 to 24:00 UTC), per currency, over the selected billing groups and product categories (twilio_billing_group_yesterday_cost, refreshed every periods.yesterday.cache_ttl: Twilio keeps adding late usage for a while).",
			6, instant("A", fmt.Sprintf("sum by (currency) (%s)", dedup(yesterdaySelector, "")), "{{currency}}")),
		newStat("Yesterday against last month's average day",
			"Yesterday's spend per billing group as a percentage of last month's average daily spend (last month's total divided by its number of days, from the exporter's bounds of last month, so February counts 28 or 29). "+
				"Both come from the Usage API, so this works from the exporter's first scrape and on the 1st (yesterday is then the last day of the month just ended). "+
				"Amber from 150%, red from 200%. The TwilioBillingYesterdaySpendSpike alert compares against the group's usual day instead, the largest of this baseline, this month's average day before yesterday and the week before yesterday, "+
				"so it stays silent where a group merely started part-way through last month or grew since. Empty for a group that spent nothing last month.",
			6, instant("A", yesterdayVsLastMonthPercent(), "{{billing_group}} ({{currency}})")).
			Unit("percent").Decimals(0).
			Thresholds(thresholds("green", 150.0, "orange", 200.0, "red")).
			ColorMode(common.BigValueColorModeBackground),
		spendStat("Last month's total",
			"Estimated spend of last month (UTC), per currency, over the selected billing groups and product categories (twilio_billing_group_last_month_cost). It keeps moving for days after the 1st as late usage arrives; the invoice is authoritative.",
			6, instant("A", fmt.Sprintf("sum by (currency) (%s)", dedup(lastMonthSelector, "")), "{{currency}}")),
		newStat("Forecast against last month",
			"Month over month: the change of this month's linear forecast (see Forecast to month end) against last month's total, per billing group, in percent; -10% means this month is heading for 10% less than last month. "+
				"Noisy in the first days of a month. Amber from +20%, red from +50%. Empty for a group that spent nothing last month.",
			6, instant("A", forecastVsLastMonthPercent(), "{{billing_group}} ({{currency}})")).
			Unit("percent").Decimals(1).
			Thresholds(thresholds("green", 20.0, "orange", 50.0, "red")).
			ColorMode(common.BigValueColorModeValue),
		spendTimeseries("Yesterday's spend against the average day",
			"Yesterday's spend per billing group (a step a day: it changes after 00:00 UTC and grows a little while late usage arrives), with two trailing averages as dashed lines: "+
				"last month's average day (last month's total over its number of days, one of the three averages the TwilioBillingYesterdaySpendSpike alert takes the largest of) and this month's average day so far (month-to-date spend over the days elapsed, at least one: on the 1st, the spend since 00:00 UTC). "+
				"All three come from the Usage API, so they need no history in Prometheus.",
			"/average day/").
			Interval("5m").FillOpacity(10).
			WithTarget(query("A", yesterdayBy("billing_group, currency"), "{{billing_group}} yesterday ({{currency}})")).
			WithTarget(query("B", lastMonthAverageDay("billing_group, currency"), "{{billing_group}} last month's average day ({{currency}})")).
			WithTarget(query("C", thisMonthAverageDay("billing_group, currency"), "{{billing_group}} this month's average day ({{currency}})")),
		spendTimeseries("Forecast against last month's total",
			"Month over month per billing group: this month's linear forecast to month end (see Forecast to month end) against last month's total (dashed), which keeps moving for days after the 1st as late usage arrives.",
			"/last month/").
			FillOpacity(0).
			WithTarget(query("A", forecast("billing_group, currency"), "{{billing_group}} forecast ({{currency}})")).
			WithTarget(query("B", lastMonthBy("billing_group, currency"), "{{billing_group}} last month ({{currency}})")),
		place(table.NewPanelBuilder(), "Category spend anomalies",
			"Each product category's spend yesterday against its own last month's average day (its last month's total divided by that month's number of days, from the exporter's bounds of last month), per billing group and currency, "+
				"the categories departing most upwards first: 300% means yesterday cost three times the category's usual day. "+
				"A category with spend yesterday and none last month reads \"new since last month\" and comes first; one with spend last month and none yesterday reads 0%. "+
				"All from the Usage API, so it needs no history in Prometheus; it lists groups that fetch both yesterday and last month. "+
				"Yesterday's figures can grow for a while as late usage arrives. See also the TwilioBillingCategorySpendAnomaly and TwilioBillingNewCategorySpend alerts.",
			10, 24).
			WithTarget(tableQuery("A", anomalyColumn(yesterdayOfEveryCategory()))).
			WithTarget(tableQuery("B", anomalyColumn(lastMonthDayOfEveryCategory()))).
			WithTarget(tableQuery("C", anomalyPercent())).
			WithTransformation(dashboard.DataTransformerConfig{Id: "merge", Options: map[string]any{}}).
			WithTransformation(organize([]string{"Time"},
				map[string]string{
					"billing_group": "Billing group", "product_category": "Category", "currency": "Currency",
					"Value #A": "Yesterday", "Value #B": "Last month's average day", "Value #C": "Yesterday against the average day",
				},
				[]string{"billing_group", "product_category", "Value #C", "Value #A", "Value #B", "currency"})).
			SortBy([]cog.Builder[common.TableSortByFieldState]{common.NewTableSortByFieldStateBuilder().DisplayName("Yesterday against the average day").Desc(true)}).
			OverrideByName("Yesterday", []dashboard.DynamicConfigValue{{Id: "decimals", Value: 2}}).
			OverrideByName("Last month's average day", []dashboard.DynamicConfigValue{{Id: "decimals", Value: 2}}).
			OverrideByName("Yesterday against the average day", []dashboard.DynamicConfigValue{
				{Id: "unit", Value: "percent"}, {Id: "decimals", Value: 0},
				// Grafana looks a value up by its text: +Inf is "Infinity".
				{Id: "mappings", Value: valueText("Infinity", "new since last month", "orange")},
			}),
	}}
}

// spendThisYear is the year so far (the calendar year, or the exporter's
// fiscal year): when it began, spend, the forecast against the annual
// budget, and each month's spend.
func spendThisYear() row {
	return row{"This year (calendar or fiscal)", panels{
		newStat("Year began",
			"The first day of the year this row covers: 1 January, or the first day of the fiscal year the exporter's fiscal_year_start sets (twilio_billing_group_this_year_period_start_timestamp_seconds; twilio_billing_fiscal_year_start_month is its month). "+
				"Monthly spend this year follows the dashboard's own fiscal year setting instead: set its start month to match.",
			6, instant("A", fmt.Sprintf("min(%s) * 1000", dedup(`twilio_billing_group_this_year_period_start_timestamp_seconds{`+groupMatch+`}`, "")), "year to date from")).
			Unit("time:YYYY-MM-DD"),
		spendStat("Year-to-date spend",
			"Estimated spend this year to date (see Year began), per currency, over the selected billing groups and product categories (twilio_billing_group_this_year_cost, refreshed every periods.this_year.cache_ttl). Resets at 00:00 UTC on the year's first day.",
			6, instant("A", fmt.Sprintf("sum by (currency) (%s)", dedup(thisYearSelector, "")), "{{currency}}")),
		spendStat("Forecast to year end",
			"Linear forecast of this year's spend per currency: spend so far divided by the time elapsed since the year's first day, times the year's length (from the exporter's bounds of this year, so 29 February and the year's first day are right). Noisy in the first weeks of a year, and blind to seasonal spend.",
			6, instant("A", fmt.Sprintf("sum by (currency) (\n  %s\n)", indent(yearForecast("billing_group, currency", thisYearSelector), 2)), "{{currency}}")),
		budgetStat("Forecast against annual budget",
			"This year's linear forecast (see Forecast to year end) as a percentage of the billing group's configured annual budget (twilio_billing_group_annual_budget), for groups that have one. Ignores the product category filter: a budget covers the whole group. Amber from 80%, red from 100%. See also the TwilioBillingAnnualForecastOverBudget alert.",
			6, instant("A", yearForecastVsBudgetPercent(), "{{billing_group}} ({{currency}})")),
		spendTimeseries("Forecast to year end against the annual budget",
			"How the linear year-end forecast per billing group has moved (see Forecast to year end), with the group's configured annual budget as a dashed line.",
			"/annual budget/").
			FillOpacity(0).
			WithTarget(query("A", yearForecast("billing_group, currency", thisYearSelector), "{{billing_group}} ({{currency}})")).
			WithTarget(query("B", fmt.Sprintf("max by (billing_group, currency) (%s)", annualBudgetSelector), "{{billing_group}} annual budget ({{currency}})")),
		withCurrencyUnits(place(barchart.NewPanelBuilder(), "Monthly spend this year",
			"Each month's spend this year per billing group and currency, whatever the dashboard's time range: the dashboard's fiscal year (Dashboard settings, Fiscal year start month; January unless set, and set by the Helm chart from config.fiscal_year_start), which should match the exporter's fiscal_year_start. "+
				"A past month is the exporter's figure for the whole month, twilio_billing_group_last_month_cost, as Prometheus last recorded it in the following month (late usage included); "+
				"where Prometheus holds none, the month-to-date cost as last recorded in the month itself. The current month is its month-to-date spend. "+
				"Past months come from Prometheus' history, scraped or written by the backfill command, sampled at 00:00 UTC each day: "+
				"a month with no sample, in it or in the month after, has no bar (no data, not zero), and one whose history ends early is low.",
			9, 12).
			TimeFrom("now/fy").
			Unit("none").Decimals(2).Min(0).
			ShowValue(common.VisibilityModeNever).
			// No calculations: the last value of a series is merely its current month.
			Legend(common.NewVizLegendOptionsBuilder().
				DisplayMode(common.LegendDisplayModeList).
				Placement(common.LegendPlacementBottom).
				ShowLegend(true)).
			WithTarget(tableQuery("A", monthlySpend())).
			// One row per month, one column per group and currency.
			WithTransformation(dashboard.DataTransformerConfig{Id: "sortBy", Options: map[string]any{
				"sort": []map[string]any{{"field": "month", "desc": false}},
			}}).
			WithTransformation(dashboard.DataTransformerConfig{Id: "groupingToMatrix", Options: map[string]any{
				"columnField": "series", "rowField": "month", "valueField": "Value", "emptyValue": "null",
			}})),
	}}
}

// spendReportingCurrency is the organization's spend in one currency, at
// the rates of the exporter's reporting_currency: nothing without it, and
// cost in a currency without a rate left out, and counted.
func spendReportingCurrency() row {
	return row{"In the reporting currency", panels{
		spendStat("Month-to-date spend, converted",
			"This month's spend of the selected billing groups (all categories), every currency converted into the reporting currency at the rates of the exporter's reporting_currency (twilio_billing_reporting_rate, set on rates_as_of). "+
				"Cost in a currency without a rate is left out: see Currencies without a rate. Empty without a reporting_currency.",
			6, instant("A", fmt.Sprintf("sum by (reporting_currency) (\n  %s\n)", indent(converted(budgetCostSelector), 2)), "{{reporting_currency}}")),
		spendStat("Year-to-date spend, converted",
			"This year's spend of the selected billing groups (all categories) in the reporting currency, at the same rates.",
			6, instant("A", fmt.Sprintf("sum by (reporting_currency) (\n  %s\n)", indent(converted(annualBudgetCostSelector), 2)), "{{reporting_currency}}")),
		newStat("Currencies without a rate",
			"Currencies the selected billing groups have cost in (this month or this year) that reporting_currency.rates lists no rate for: their cost is in no converted figure. 0 is complete. See the TwilioBillingReportingRateMissing alert.",
			6, instant("A", missingRates(), "currencies without a rate")).
			Unit("none").Decimals(0).
			Thresholds(thresholds("green", 1.0, "red")).
			ColorMode(common.BigValueColorModeValue),
		newStat("Rates as of",
			"When finance set the reporting currency's rates (reporting_currency.rates_as_of).",
			6, instant("A", `max by (reporting_currency) (twilio_billing_reporting_rates_as_of_timestamp_seconds{job=~"$job"}) * 1000`, "{{reporting_currency}}")).
			Unit("dateTimeAsIsoNoDateIfToday"),
		withCurrencyUnits(moneyBars("Month-to-date spend by billing group, converted",
			"Each selected billing group's spend this month (all categories) in the reporting currency.").
			WithTarget(instant("A", fmt.Sprintf("sum by (billing_group, reporting_currency) (\n  %s\n)", indent(converted(budgetCostSelector), 2)), "{{billing_group}} ({{reporting_currency}})"))),
	}}
}

// spendTrends is spend over the dashboard's time range: month to date, the
// forecast, daily spend, and the costliest categories.
func spendTrends() row {
	return row{"Trends", panels{
		spendTimeseries("Month-to-date spend by billing group",
			"Estimated spend this month to date per billing group, with the group's configured budget as a dashed line. Drops to zero at 00:00 UTC on the 1st, when a new month begins.",
			"/budget/").
			FillOpacity(10).
			WithTarget(query("A", fmt.Sprintf("sum by (billing_group, currency) (%s)", dedup(costSelector, "")), "{{billing_group}} ({{currency}})")).
			WithTarget(query("B", fmt.Sprintf("max by (billing_group, currency) (%s)", budgetSelector), "{{billing_group}} budget ({{currency}})")),
		spendTimeseries("Forecast to month end over time",
			"How the linear month-end forecast per billing group has moved (see Forecast to month end), with the budget as a dashed line. Early-month values swing widely: few days of data.",
			"/budget/").
			FillOpacity(0).
			WithTarget(query("A", forecast("billing_group, currency"), "{{billing_group}} ({{currency}})")).
			WithTarget(query("B", fmt.Sprintf("max by (billing_group, currency) (%s)", budgetSelector), "{{billing_group}} budget ({{currency}})")),
		spendTimeseries("Daily spend",
			"Spend in the 24 hours before each point, per billing group, and its 7-day average (dashed). "+
				"Reset-aware: across 00:00 UTC on the 1st it adds the month-to-date cost to what last month's final figure (twilio_billing_group_last_month_cost) adds to the cost a day earlier, a true 24 hours. "+
				"Where that is not possible the series says so in its name: \"since 00:00 on the 1st\" for a group that does not fetch last month (the spend since the 1st, less than a day's worth), "+
				"\"month's average day\" where Prometheus holds no sample from a day ago (its first day, or after a scrape gap). "+
				"The 7-day average averages whatever history exists (hourly samples), and equals the daily spend until an hour has passed.",
			"/7-day average/").
			Interval("5m").FillOpacity(10).
			WithTarget(query("A", dailySpendLabelled("billing_group, currency"), "{{billing_group}} {{basis}} ({{currency}})")).
			WithTarget(query("B", fmt.Sprintf("avg_over_time(\n  (\n    %s\n  )[7d:1h]\n)\nor\n(\n  %s\n)",
				indent(dailySpend("billing_group, currency"), 4), indent(dailySpend("billing_group, currency"), 2)), "{{billing_group}} 7-day average ({{currency}})")),
		withCurrencyUnits(moneyBars("Top 10 product categories by spend",
			"The ten product categories with the highest month-to-date spend in each currency, over the selected billing groups.").
			WithTarget(instant("A", fmt.Sprintf("topk by (currency) (10, sum by (product_category, currency) (%s))", dedup(costSelector, "")), "{{product_category}} ({{currency}})"))),
		withCurrencyUnits(moneyBars("Month-to-date spend by team",
			"Estimated spend this month to date per owner team (the team label of billing_groups[].labels) and currency, over the selected billing groups and product categories: showback. "+
				"Groups without a team add up under \"(no team)\", so the bars sum to the month-to-date spend.").
			WithTarget(instant("A", spendByTeam(), "{{team}} ({{currency}})"))),
	}}
}

// moneyBars is a half-width panel of horizontal bars, one an amount of
// money, for a breakdown of the month to date.
func moneyBars(title, description string) *bargauge.PanelBuilder {
	return place(bargauge.NewPanelBuilder(), title, description, 9, 12).
		Unit("none").Decimals(2).Min(0).
		DisplayMode(common.BarGaugeDisplayModeGradient).
		Orientation(common.VizOrientationHorizontal).
		ShowUnfilled(true).
		ReduceOptions(lastValue())
}

// spendCategories breaks the month down by billing group, category and
// product.
func spendCategories() row {
	return row{"Categories", panels{
		place(table.NewPanelBuilder(), "Spend by billing group and category",
			"One row per billing group, product category and usage unit: month-to-date cost (in the row's currency), usage in its unit, the product name from twilio_billing_group_product_info "+
				"(categories with several products say so: see Products by category), and the change of the category's last-24-hour spend against the same 24 hours 7 days earlier. "+
				"A category reported in two units has two rows that each show the category's whole cost: do not add up the Cost column. "+
				"The change reads \"no history yet\" until Prometheus holds 8 days of samples, and where the earlier day had no spend.",
			12, 24).
			WithTarget(tableQuery("A", tableColumn("billing_group, product_category, currency", costBy("billing_group, product_category, currency", "")))).
			WithTarget(tableQuery("B", tableColumn("billing_group, product_category, unit", fmt.Sprintf("sum by (billing_group, product_category, unit) (%s)", dedup(usageSelector, ""))))).
			WithTarget(tableQuery("C", changeVsWeekAgo())).
			WithTransformation(dashboard.DataTransformerConfig{Id: "merge", Options: map[string]any{}}).
			WithTransformation(organize([]string{"Time"},
				map[string]string{
					"billing_group": "Billing group", "product_category": "Category", "currency": "Currency",
					"unit": "Unit", "product": "Product", "Value #A": "Cost", "Value #B": "Usage", "Value #C": "Change vs 7 days earlier",
				},
				[]string{"billing_group", "product_category", "product", "Value #A", "currency", "Value #B", "unit", "Value #C"})).
			SortBy([]cog.Builder[common.TableSortByFieldState]{common.NewTableSortByFieldStateBuilder().DisplayName("Cost").Desc(true)}).
			OverrideByName("Cost", []dashboard.DynamicConfigValue{{Id: "decimals", Value: 2}}).
			OverrideByName("Usage", []dashboard.DynamicConfigValue{{Id: "decimals", Value: 3}}).
			OverrideByName("Change vs 7 days earlier", []dashboard.DynamicConfigValue{
				{Id: "unit", Value: "percent"}, {Id: "decimals", Value: 1},
				{Id: "mappings", Value: []dashboard.ValueMapping{nanText("no history yet")}},
			}),
		place(table.NewPanelBuilder(), "Products by category",
			"Every product name Twilio reported in each selected category (twilio_billing_group_product_info), across all billing groups the exporter serves.",
			12, 24).
			WithTarget(tableQuery("A", fmt.Sprintf("group by (product_category, product) (%s)", infoSelector))).
			WithTransformation(organize([]string{"Time", "Value"},
				map[string]string{"product_category": "Category", "product": "Product"},
				[]string{"product_category", "product"})),
	}}
}

// Health is the exporter health dashboard, for whoever runs the exporter.
func Health() (dashboard.Dashboard, error) {
	b := base("Twilio billing exporter health", HealthUID,
		"Is twilio_billing_exporter fetching every billing group from Twilio, how long that takes, how Twilio's API answers, and whether the configuration loaded.")
	b = variables(b, "billing_group")
	return assemble(b, healthRefreshes(), healthTwilioAPI(), healthBuild())
}

// healthRefreshes is whether the exporter is scraped, loads its
// configuration and refreshes every billing group.
func healthRefreshes() row {
	upSel := fmt.Sprintf("twilio_billing_group_up{%s}", groupMatch)
	// periodsUp is every period's refresh health, named in a period label.
	periodsUp := fmt.Sprintf(`label_replace(%s, "period", "this_month", "", "")
or
label_replace(twilio_billing_group_yesterday_up{%s}, "period", "yesterday", "", "")
or
label_replace(twilio_billing_group_last_month_up{%s}, "period", "last_month", "", "")
or
label_replace(twilio_billing_group_this_year_up{%s}, "period", "this_year", "", "")`, upSel, groupMatch, groupMatch, groupMatch)
	return row{"Refreshes", panels{
		healthStat("Exporter scraped",
			"Prometheus' up metric for the exporter's scrape job(s): 1 when the last scrape succeeded.",
			"up", "down", instant("A", `up{job=~"$job"}`, "{{instance}}")),
		newStat("Billing groups failing",
			"How many selected billing groups' latest refresh of some period failed (twilio_billing_group_up, _yesterday_up, _last_month_up or _this_year_up == 0). A failing period keeps serving its last good figures, if any; \"Refresh success per billing group\" shows which period.",
			6, instant("A", fmt.Sprintf("count(count by (billing_group) (\n  (\n    %s\n  ) == 0\n)) or vector(0)", indent(periodsUp, 4)), "failing")).
			Unit("none").Decimals(0).
			Thresholds(thresholds("green", 1.0, "red")).
			ColorMode(common.BigValueColorModeBackground).
			TextMode(common.BigValueTextModeAuto),
		healthStat("Config reload",
			"Whether the exporter's latest configuration (re)load succeeded (twilio_exporter_config_last_reload_successful). After a failed reload the previous configuration keeps running.",
			"OK", "failed", instant("A", `twilio_exporter_config_last_reload_successful{job=~"$job"}`, "{{instance}}")),
		newStat("Since last successful config load",
			"Time since the configuration last loaded successfully (twilio_exporter_config_last_reload_success_timestamp_seconds): the exporter's start or its last good reload.",
			6, instant("A", `time() - twilio_exporter_config_last_reload_success_timestamp_seconds{job=~"$job"}`, "{{instance}}")).
			Unit("s").Decimals(0),
		place(statetimeline.NewPanelBuilder(), "Refresh success per billing group",
			"Each billing group's refresh health per period over time (twilio_billing_group_up for this month, twilio_billing_group_yesterday_up, twilio_billing_group_last_month_up and twilio_billing_group_this_year_up where the group fetches them): green while the latest refresh succeeded, red while it failed. The TwilioBillingGroupRefreshFailing alert fires after 30 minutes of red, naming the period.",
			8, 24).
			Mappings(valueText("1", "OK", "green", "0", "failing", "red")).
			Thresholds(thresholds("red", 1.0, "green")).
			ShowValue(common.VisibilityModeNever).
			WithTarget(query("A", fmt.Sprintf("max by (billing_group, period) (\n  %s\n)", indent(periodsUp, 2)), "{{billing_group}} {{period}}")),
		newTimeseries("Refresh duration",
			"Wall time of each billing group's latest refresh from Twilio, every page and retry included (twilio_exporter_refresh_duration_seconds). Bounded by --twilio.timeout.",
			8, 12).
			Unit("s").
			WithTarget(query("A", fmt.Sprintf("max by (billing_group) (twilio_exporter_refresh_duration_seconds{%s})", groupMatch), "{{billing_group}}")),
		newTimeseries("Time since last successful refresh",
			"Age of each billing group's data: time since its last successful refresh (twilio_billing_group_last_success_timestamp_seconds). A sawtooth up to --cache.ttl is normal; the TwilioBillingDataStale alert fires past 6 hours.",
			8, 12).
			Unit("s").
			WithTarget(query("A", fmt.Sprintf("time() - max by (billing_group) (twilio_billing_group_last_success_timestamp_seconds{%s})", groupMatch), "{{billing_group}}")),
	}}
}

// healthTwilioAPI is how Twilio's API answers the exporter.
func healthTwilioAPI() row {
	return row{"Twilio API", panels{
		newTimeseries("API requests by endpoint and status code",
			"Requests per second the exporter sent to Twilio, by endpoint (token, records) and HTTP status code; code \"error\" means no response arrived. 429 is rate limiting, 401 bad credentials.",
			8, 12).
			Unit("reqps").
			WithTarget(query("A", `sum by (endpoint, code) (rate(twilio_exporter_api_requests_total{job=~"$job"}[$__rate_interval]))`, "{{endpoint}} {{code}}")),
		place(bargauge.NewPanelBuilder(), "API requests in the time range",
			"Requests to Twilio during the dashboard's time range, by endpoint and status code. The exporter calls Twilio once per group and page every --cache.ttl, so counts are small.",
			8, 12).
			Unit("none").Decimals(0).Min(0).
			DisplayMode(common.BarGaugeDisplayModeBasic).
			Orientation(common.VizOrientationHorizontal).
			ReduceOptions(lastValue()).
			WithTarget(instant("A", `sum by (endpoint, code) (increase(twilio_exporter_api_requests_total{job=~"$job"}[$__range]))`, "{{endpoint}} {{code}}")),
		newTimeseries("API request duration (90th percentile)",
			"90th percentile duration of requests to Twilio by endpoint (twilio_exporter_api_request_duration_seconds). Empty gaps mean no requests in the interval.",
			8, 12).
			Unit("s").
			WithTarget(query("A", `histogram_quantile(0.9, sum by (endpoint, le) (rate(twilio_exporter_api_request_duration_seconds_bucket{job=~"$job"}[$__rate_interval])))`, "{{endpoint}}")),
		newTimeseries("Records per billing group",
			"Usage records Twilio returned for each group in its latest refresh, before category filters (twilio_billing_group_records). A sudden drop to 0 may mean a wrong billing group or a filtered API response.",
			8, 12).
			Unit("none").Decimals(0).
			WithTarget(query("A", fmt.Sprintf("max by (billing_group) (twilio_billing_group_records{%s})", groupMatch), "{{billing_group}}")),
	}}
}

// healthBuild is what is running.
func healthBuild() row {
	return row{"Build", panels{
		place(table.NewPanelBuilder(), "Build info",
			"Version, revision, branch and Go version of each running exporter (twilio_exporter_build_info).",
			6, 24).
			WithTarget(tableQuery("A", `twilio_exporter_build_info{job=~"$job"}`)).
			WithTransformation(organize([]string{"Time", "Value", "__name__"},
				map[string]string{"instance": "Instance", "version": "Version", "revision": "Revision", "branch": "Branch", "goversion": "Go version"},
				[]string{"job", "instance", "version", "revision", "branch", "goversion"})),
	}}
}
