package dashboards

import (
	"fmt"
	"strings"
)

// Label matchers shared by the panels. Every multi-value variable is used with
// =~, which is how Grafana expands a multi-value selection for Prometheus.
const (
	groupMatch    = `job=~"$job", billing_group=~"$billing_group"`
	costSelector  = `twilio_billing_group_cost{job=~"$job", billing_group=~"$billing_group", currency=~"$currency", product_category=~"$product_category"}`
	usageSelector = `twilio_billing_group_usage{job=~"$job", billing_group=~"$billing_group", product_category=~"$product_category"}`
	infoSelector  = `twilio_billing_group_product_info{job=~"$job", product_category=~"$product_category"}`
	// budgetCostSelector ignores $product_category: a budget covers the whole group.
	budgetCostSelector = `twilio_billing_group_cost{job=~"$job", billing_group=~"$billing_group", currency=~"$currency"}`
	budgetSelector     = `twilio_billing_group_budget{job=~"$job", billing_group=~"$billing_group", currency=~"$currency"}`
	// yesterdaySelector and lastMonthSelector are the cost of yesterday and
	// of last month (UTC), filtered like costSelector.
	yesterdaySelector = `twilio_billing_group_yesterday_cost{job=~"$job", billing_group=~"$billing_group", currency=~"$currency", product_category=~"$product_category"}`
	lastMonthSelector = `twilio_billing_group_last_month_cost{job=~"$job", billing_group=~"$billing_group", currency=~"$currency", product_category=~"$product_category"}`
	// thisYearSelector is the cost of this year to date (the calendar year,
	// or the exporter's fiscal year; UTC), filtered like
	// costSelector; annualBudgetCostSelector ignores $product_category, as
	// budgetCostSelector does.
	thisYearSelector         = `twilio_billing_group_this_year_cost{job=~"$job", billing_group=~"$billing_group", currency=~"$currency", product_category=~"$product_category"}`
	annualBudgetCostSelector = `twilio_billing_group_this_year_cost{job=~"$job", billing_group=~"$billing_group", currency=~"$currency"}`
	annualBudgetSelector     = `twilio_billing_group_annual_budget{job=~"$job", billing_group=~"$billing_group", currency=~"$currency"}`
)

// dedup is selector at an offset, one series per exporter series whichever
// exporter serves it: two replicas behind one job, or the old and the new
// pod of a rollout, report the same figures, and a sum over them would count
// them twice. The alert rules aggregate the same way.
func dedup(selector, at string) string {
	return fmt.Sprintf("max without (instance, pod) (%s%s)", selector, offset(at))
}

// spendByTeam is month-to-date cost by owner team and currency: each
// group's cost joined with the team of its twilio_billing_group_info (one of
// a rollout's two pods: topk, never a many-to-many match), groups without a
// team under "(no team)".
func spendByTeam() string {
	return fmt.Sprintf(`label_replace(
  sum by (team, currency) (
    sum by (billing_group, currency) (%s)
      * on (billing_group) group_left (team)
    topk by (billing_group) (1, twilio_billing_group_info{%s})
  ),
  "team", "(no team)", "team", ""
)`, dedup(costSelector, ""), groupMatch)
}

// offset renders a PromQL offset modifier, or nothing for "now".
func offset(d string) string {
	if d == "" {
		return ""
	}
	return " offset " + d
}

// periodStart is the start of the month each selected group serves, at an offset.
func periodStart(at string) string {
	return fmt.Sprintf("max by (billing_group) (twilio_billing_group_period_start_timestamp_seconds{%s}%s)", groupMatch, offset(at))
}

// periodEnd is the end of the month each selected group serves.
func periodEnd() string {
	return fmt.Sprintf("max by (billing_group) (twilio_billing_group_period_end_timestamp_seconds{%s})", groupMatch)
}

// costBy is month-to-date cost summed by the given labels, at an offset.
func costBy(by, at string) string {
	return fmt.Sprintf("sum by (%s) (%s)", by, dedup(costSelector, at))
}

// lastMonthStart is the start of the last month each selected group
// serves, at an offset.
func lastMonthStart(at string) string {
	return fmt.Sprintf("max by (billing_group) (twilio_billing_group_last_month_period_start_timestamp_seconds{%s}%s)", groupMatch, offset(at))
}

// lastMonthCostBy is last month's cost summed by the given labels, at an offset.
func lastMonthCostBy(by, at string) string {
	return fmt.Sprintf("sum by (%s) (%s)", by, dedup(lastMonthSelector, at))
}

// spend24hExact is the spend in the 24 hours before `at` (at "" is now,
// prev is at+1d), summed by labels that include billing_group. Cost is a
// month-to-date gauge that resets on the 1st, so:
//   - same month at both ends (the period starts agree): the difference,
//     clamped at 0 so a downward revision of the estimate is not a refund;
//   - a new month began in between, and the group fetches last month (its
//     last month is the month of a day earlier): the cost so far this month
//     plus what last month's final figure adds to the cost a day earlier.
//
// With no sample a day earlier neither branch has data.
func spend24hExact(by, at, prev string) string {
	return fmt.Sprintf(`(
  clamp_min(%s - %s, 0)
    and on (billing_group) (%s == %s)
)
or
(
  (%s + clamp_min(%s - %s, 0))
    and on (billing_group) (%s == %s)
)`, costBy(by, at), costBy(by, prev), periodStart(at), periodStart(prev),
		costBy(by, at), lastMonthCostBy(by, at), costBy(by, prev), lastMonthStart(at), periodStart(prev))
}

// spend24hSinceFirst is the fallback across the 1st where last month's
// figures are missing: the cost so far this month, i.e. the spend since
// 00:00 UTC on the 1st, less than 24 hours' worth but never a negative jump.
func spend24hSinceFirst(by, at, prev string) string {
	return fmt.Sprintf("%s\n  and on (billing_group) (%s > %s)", costBy(by, at), periodStart(at), periodStart(prev))
}

// spend24h is spend24hExact, or where it has no data spend24hSinceFirst.
func spend24h(by, at, prev string) string {
	return fmt.Sprintf("%s\nor\n(\n  %s\n)", spend24hExact(by, at, prev), indent(spend24hSinceFirst(by, at, prev), 2))
}

// monthAverageDay is the month's average daily spend so far (the spend since
// the 1st when less than a day of the month has passed).
func monthAverageDay(by string) string {
	return fmt.Sprintf(`%s
  / on (billing_group) group_left ()
clamp_min(time() - %s, 86400) * 86400`, costBy(by, ""), periodStart(""))
}

// dailySpend is spend24h now, falling back, where Prometheus holds no sample
// from a day ago yet, to the month's average daily spend so far.
func dailySpend(by string) string {
	return fmt.Sprintf("%s\nor\n(\n  %s\n)", spend24h(by, "", "1d"), indent(monthAverageDay(by), 2))
}

// dailySpendLabelled is dailySpend with each fallback marked by a "basis"
// label, so that a panel's legend says when the figure is not a true 24
// hours: across the 1st without last month's figures, and where Prometheus
// holds no sample from a day ago (after a gap, or in its first day).
func dailySpendLabelled(by string) string {
	exact := spend24hExact(by, "", "1d")
	return fmt.Sprintf(`%s
or
(
  label_replace(
    %s,
    "basis", %q, "", ""
  )
    unless on (%s)
  (
    %s
  )
)
or
(
  label_replace(
    %s,
    "basis", %q, "", ""
  )
    unless on (%s)
  (
    %s
  )
)`, exact,
		indent(spend24hSinceFirst(by, "", "1d"), 4), basisSinceFirst, by, indent(exact, 4),
		indent(monthAverageDay(by), 4), basisMonthAverage, by, indent(spend24h(by, "", "1d"), 4))
}

// The basis label values of dailySpendLabelled's fallbacks.
const (
	basisSinceFirst   = "(since 00:00 on the 1st: no last month figures)"
	basisMonthAverage = "(month's average day: no sample a day ago)"
)

// linearForecast is the linear forecast of a period's spend to its end: the
// cost so far (summed by labels that include billing_group) divided by the
// time elapsed since the period's start, times the period's length. start
// and end are the exporter's bounds of the period per billing group, so
// month and year lengths (February, leap years) and the 1st need no calendar
// arithmetic; the elapsed time is at least an hour so that 00:05 on the 1st
// does not multiply five minutes of spend by 8928.
func linearForecast(cost, start, end string) string {
	return fmt.Sprintf(`%s
  / on (billing_group) group_left ()
clamp_min(time() - %s, 3600)
  * on (billing_group) group_left ()
(%s - %s)`, cost, start, end, start)
}

// forecast is the linear forecast of this month's spend to its end, by the
// given labels (which include billing_group).
func forecast(by string) string {
	return linearForecast(costBy(by, ""), periodStart(""), periodEnd())
}

// yearBound is the start or end ("start", "end") of the year each selected
// group serves.
func yearBound(edge string) string {
	return fmt.Sprintf("max by (billing_group) (twilio_billing_group_this_year_period_%s_timestamp_seconds{%s})", edge, groupMatch)
}

// yearForecast is the linear forecast of this year's spend to its end, by
// the given labels (which include billing_group), from the year-to-date
// cost that selector selects.
func yearForecast(by, selector string) string {
	return linearForecast(fmt.Sprintf("sum by (%s) (%s)", by, dedup(selector, "")), yearBound("start"), yearBound("end"))
}

// yearForecastVsBudgetPercent is this year's forecast as a percentage of the
// annual budget, for groups that have one. Like budgetUsedPercent it ignores
// $product_category: a budget covers the whole group.
func yearForecastVsBudgetPercent() string {
	const by = "billing_group, currency"
	return fmt.Sprintf(`100 * (
  %s
)
  / on (billing_group, currency)
max by (billing_group, currency) (%s)`, indent(yearForecast(by, annualBudgetCostSelector), 2), annualBudgetSelector)
}

// monthLabelled gives a period's cost, summed by billing group and currency,
// the label month="YYYYMM" where month is that number per billing group
// (count_values turns it into the label).
func monthLabelled(selector, month string) string {
	return fmt.Sprintf(`sum by (billing_group, currency) (%s)
  * on (billing_group) group_left (month)
count_values by (billing_group) (
  "month",
  %s
)`, dedup(selector, ""), indent(month, 2))
}

// yearMonth is the number YYYYMM of a timestamp per billing group.
func yearMonth(ts string) string {
	return fmt.Sprintf("year(%s) * 100 + month(%s)", ts, ts)
}

// monthlySpend is each month's spend of this year per billing group and
// currency, labelled month="YYYY-MM" and series="<group> <currency>", as of
// the end of the query's range, which is the year so far:
//   - the current month: its month-to-date cost now;
//   - a past month: last_month_cost as last seen in the following month (the
//     exporter's figure for the whole month, late usage included), else the
//     month-to-date cost as last seen in the month itself.
//
// The past months come from Prometheus' history (scraped or backfilled),
// sampled once a day at 00:00 UTC: the sample at 00:00 on the 1st is the
// month just ended as last scraped, and the month of a figure is the start
// of the period the exporter served it for, never the sample's time. A month
// without such history has no value, not zero.
func monthlySpend() string {
	thisMonth := monthLabelled(costSelector, yearMonth(periodStart("")))
	// In the year's first month (January, or the fiscal year's first: the
	// exporter's twilio_billing_fiscal_year_start_month, January where it
	// exports none), last month is the previous year's: not this year's.
	lastMonth := monthLabelled(lastMonthSelector, fmt.Sprintf("(%s)\n  and on (billing_group)\n(month(%s) != scalar(max(twilio_billing_fiscal_year_start_month{job=~\"$job\"}) or vector(1)))",
		yearMonth(lastMonthStart("")), periodStart("")))
	return fmt.Sprintf(`label_replace(
  label_join(
    (
      %s
    )
    or
    last_over_time(
      (
        %s
      )[$__range:1d]
    )
    or
    last_over_time(
      (
        %s
      )[$__range:1d]
    ),
    "series", " ", "billing_group", "currency"
  ),
  "month", "$1-$2", "month", "(....)(..)"
)`, indent(thisMonth, 6), indent(lastMonth, 8), indent(thisMonth, 8))
}

// anomalyBy are the rows of the anomalies table: each category of each
// billing group, per currency.
const anomalyBy = "billing_group, product_category, currency"

// yesterdayOfEveryCategory is yesterday's cost per anomalyBy row, 0 for a
// category that spent last month and not yesterday (in a group that fetches
// yesterday).
func yesterdayOfEveryCategory() string {
	return fmt.Sprintf(`%s
or
(
  %s
) * 0
  and on (billing_group)
max by (billing_group) (twilio_billing_group_yesterday_period_start_timestamp_seconds{%s})`,
		yesterdayBy(anomalyBy), indent(lastMonthAverageDay(anomalyBy), 2), groupMatch)
}

// lastMonthDayOfEveryCategory is last month's average day per anomalyBy row,
// 0 for a category that spent yesterday and not last month (in a group that
// fetches last month).
func lastMonthDayOfEveryCategory() string {
	return fmt.Sprintf(`(
  %s
)
or
%s * 0
  and on (billing_group)
%s`, indent(lastMonthAverageDay(anomalyBy), 2), yesterdayBy(anomalyBy), lastMonthStart(""))
}

// anomalyColumn is value on the rows of the anomalies table: the categories
// that spent yesterday or last month, in groups that fetch both periods.
func anomalyColumn(value string) string {
	return fmt.Sprintf(`(
  %s
)
  and
(
  (
    %s
  )
  +
  (
    %s
  )
) > 0`, indent(value, 2), indent(yesterdayOfEveryCategory(), 4), indent(lastMonthDayOfEveryCategory(), 4))
}

// anomalyPercent is yesterday's cost of each category as a percentage of its
// last month's average day: 0 for a category that stopped, +Inf for one new
// since last month.
func anomalyPercent() string {
	return anomalyColumn(fmt.Sprintf(`100 * (
  %s
)
  /
(
  %s
)`, indent(yesterdayOfEveryCategory(), 2), indent(lastMonthDayOfEveryCategory(), 2)))
}

// yesterdayBy is yesterday's cost summed by the given labels.
func yesterdayBy(by string) string {
	return fmt.Sprintf("sum by (%s) (%s)", by, dedup(yesterdaySelector, ""))
}

// lastMonthBy is last month's cost summed by the given labels.
func lastMonthBy(by string) string {
	return fmt.Sprintf("sum by (%s) (%s)", by, dedup(lastMonthSelector, ""))
}

// lastMonthAverageDay is last month's cost divided by its number of days, by
// the given labels (which include billing_group). The day count comes from
// the exporter's bounds of last month, so February has 28 or 29 days; the
// Usage API's figures, not Prometheus' history, so it has data from the
// exporter's first scrape.
func lastMonthAverageDay(by string) string {
	return fmt.Sprintf(`%s
  / on (billing_group) group_left ()
(
  (
    max by (billing_group) (twilio_billing_group_last_month_period_end_timestamp_seconds{%s})
    -
    max by (billing_group) (twilio_billing_group_last_month_period_start_timestamp_seconds{%s})
  ) / 86400
)`, lastMonthBy(by), groupMatch, groupMatch)
}

// thisMonthAverageDay is the month-to-date cost divided by the days elapsed
// since the month began (at least one, so on the 1st it is the spend since
// 00:00 UTC), by the given labels (which include billing_group).
func thisMonthAverageDay(by string) string {
	return fmt.Sprintf(`%s
  / on (billing_group) group_left ()
(clamp_min(time() - %s, 86400) / 86400)`, costBy(by, ""), periodStart(""))
}

// yesterdayVsLastMonthPercent is yesterday's cost as a percentage of last
// month's average day, per billing group and currency; nothing where last
// month had no spend.
func yesterdayVsLastMonthPercent() string {
	const by = "billing_group, currency"
	return fmt.Sprintf(`100 * %s
  /
(
  (
    %s
  ) > 0
)`, yesterdayBy(by), indent(lastMonthAverageDay(by), 4))
}

// forecastVsLastMonthPercent is the change, in percent, of this month's
// forecast against last month's total, per billing group and currency;
// nothing where last month had no spend.
func forecastVsLastMonthPercent() string {
	const by = "billing_group, currency"
	return fmt.Sprintf(`100 * (
  (
    %s
  )
  - %s
)
  /
(%s > 0)`, indent(forecast(by), 4), lastMonthBy(by), lastMonthBy(by))
}

// budgetUsedPercent is month-to-date cost as a percentage of the budget, for
// groups that have one. It ignores $product_category: a budget covers the
// whole group.
func budgetUsedPercent() string {
	return fmt.Sprintf(`100 * sum by (billing_group, currency) (%s)
  / on (billing_group, currency)
max by (billing_group, currency) (%s)`, dedup(budgetCostSelector, ""), budgetSelector)
}

// tableKey has one series per table row: billing group, category, currency
// and usage unit, with the product name where the category has exactly one
// product. PromQL cannot join two one-to-many relations, so categories with
// several products carry a marker instead of a name; the "Products by
// category" table lists them.
func tableKey() string {
	base := tableRows()
	products := fmt.Sprintf("group by (product_category, product) (%s)", infoSelector)
	single := fmt.Sprintf("%s\n  and on (product_category)\n(count by (product_category) (%s) == 1)", products, products)
	return fmt.Sprintf(`(
  (
    %s
  )
    * on (product_category) group_left (product)
  (
    %s
  )
)
or on (billing_group, product_category, unit, currency)
label_replace(
  %s,
  "product", %q, "", ""
)`, indent(base, 4), indent(single, 4), indent(base, 2), severalProducts)
}

// tableRows has one series per billing group, category, currency and unit.
// A category is usually billed in one currency and reported in one unit, but
// either can be two (a category billed in USD and EUR, say), and a join must
// be one-to-many: each category's units take its currency where it has one,
// else each of its currencies takes its unit where it has one. A category
// with several of both gets one row per currency, with the unit marked.
func tableRows() string {
	units := fmt.Sprintf("group by (billing_group, product_category, unit) (%s)", usageSelector)
	currencies := fmt.Sprintf("group by (billing_group, product_category, currency) (%s)", costSelector)
	count := func(v, cmp string) string {
		return fmt.Sprintf("(count by (billing_group, product_category) (%s) %s)", v, cmp)
	}
	only := func(v string) string {
		return fmt.Sprintf("%s\n  and on (billing_group, product_category)\n%s", v, count(v, "== 1"))
	}
	return fmt.Sprintf(`%s
  * on (billing_group, product_category) group_left (currency)
(
  %s
)
or
%s
  * on (billing_group, product_category) group_left (unit)
(
  %s
)
or
label_replace(
  %s
    and on (billing_group, product_category)
  %s
    and on (billing_group, product_category)
  %s,
  "unit", %q, "", ""
)`, units, indent(only(currencies), 2), currencies, indent(only(units), 2),
		currencies, count(currencies, "> 1"), count(units, "> 1"), severalUnits)
}

// severalUnits is the unit cell of a category with several units and several
// currencies; its Usage cell stays empty.
const severalUnits = "(several)"

// severalProducts is the product cell of a category with more than one product.
const severalProducts = "(several: see Products by category)"

// tableColumn puts value, matched on the given labels, onto the table's rows.
func tableColumn(on, value string) string {
	return fmt.Sprintf("(\n  %s\n)\n  * on (%s) group_left ()\n(\n  %s\n)", indent(tableKey(), 2), on, indent(value, 2))
}

// changeVsWeekAgo is the percentage change of a category's spend in the last
// 24 hours against the same 24 hours 7 days earlier; NaN (shown as "no
// history yet") until Prometheus holds 8 days of samples, and where the
// earlier day had no spend.
func changeVsWeekAgo() string {
	const by = "billing_group, product_category, currency"
	change := fmt.Sprintf("100 * (\n  (\n    %s\n  )\n  -\n  (\n    %s\n  )\n)\n  /\n(\n  (\n    %s\n  ) > 0\n)",
		indent(spend24h(by, "", "1d"), 4), indent(spend24h(by, "7d", "8d"), 4), indent(spend24h(by, "7d", "8d"), 4))
	return fmt.Sprintf("%s\nor\n(\n  %s\n) * NaN", tableColumn("billing_group, product_category, currency", change), indent(tableKey(), 2))
}

// indent indents every line of s but the first by n spaces.
func indent(s string, n int) string {
	return strings.ReplaceAll(s, "\n", "\n"+strings.Repeat(" ", n))
}

// converted is the cost series of selector, deduplicated, each multiplied by
// its currency's rate into the reporting currency
// (twilio_billing_reporting_rate): a series in a currency without a rate
// has no result.
func converted(selector string) string {
	return fmt.Sprintf(`%s
  * on (currency) group_left (reporting_currency)
max by (currency, reporting_currency) (twilio_billing_reporting_rate{job=~"$job"})`, dedup(selector, ""))
}

// missingRates counts the currencies the selected groups have cost in,
// this month or this year, without a rate into the reporting currency:
// 0 when every one has a rate, or no reporting currency is configured.
func missingRates() string {
	return fmt.Sprintf(`count(
  (
    count by (currency) (%s)
      or
    count by (currency) (%s)
  )
    unless on (currency)
  max by (currency) (twilio_billing_reporting_rate{job=~"$job"})
    and on ()
  count(twilio_billing_reporting_rate{job=~"$job"}) > 0
) or vector(0)`, budgetCostSelector, annualBudgetCostSelector)
}
