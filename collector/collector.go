// Package collector exposes Twilio billing group usage as Prometheus metrics,
// served from a cache of per-group snapshots (see Cache).
package collector

import (
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// periodDescs are the descriptors every period has, each in its own metric
// families so that sum() across a family stays meaningful.
type periodDescs struct {
	cost, usage, start, end, up, asOf *prometheus.Desc
}

// labelGroup is the label every per-group family has.
var labelGroup = []string{"billing_group"}

// periods are the descriptors of each period, by Period. HELP names the
// setting behind each cache lifetime, not its value: the descriptors are the
// same whatever the flags and config say.
var periods = [NumPeriods]periodDescs{
	ThisMonth: {
		cost: prometheus.NewDesc("twilio_billing_group_cost",
			"Estimated cost of the billing group's usage this month (UTC) to date, from Twilio's Usage API; an estimate, the invoice is authoritative. "+
				"Served from a cache refreshed every --cache.ttl, so it may be that old plus the API's own delay (see as_of).",
			[]string{"billing_group", "product_category", "currency"}, nil),
		usage: prometheus.NewDesc("twilio_billing_group_usage",
			"Usage amount of the billing group this month (UTC) to date, in the unit label's unit; an estimate. "+
				"Served from a cache refreshed every --cache.ttl, so it may be that old plus the API's own delay (see as_of).",
			[]string{"billing_group", "product_category", "unit"}, nil),
		start: prometheus.NewDesc("twilio_billing_group_period_start_timestamp_seconds",
			"Start of the billing month the cost covers (00:00 UTC on the 1st), as a Unix timestamp.",
			labelGroup, nil),
		end: prometheus.NewDesc("twilio_billing_group_period_end_timestamp_seconds",
			"End of the billing month the cost covers (00:00 UTC on the 1st of the next month), as a Unix timestamp.",
			labelGroup, nil),
		up: prometheus.NewDesc("twilio_billing_group_up",
			"1 if the latest refresh of the billing group from the Usage API succeeded, else 0.",
			labelGroup, nil),
		asOf: prometheus.NewDesc("twilio_billing_group_as_of_timestamp_seconds",
			"The Usage API's asOf date for the served data (00:00 UTC of that day), as a Unix timestamp.",
			labelGroup, nil),
	},
	Yesterday: newPeriodDescs(Yesterday, "yesterday (UTC)", "00:00 UTC yesterday", "00:00 UTC today"),
	LastMonth: newPeriodDescs(LastMonth, "last month (UTC); it keeps changing for days after the 1st as late usage arrives",
		"00:00 UTC on the 1st of last month", "00:00 UTC on the 1st of this month"),
	ThisYear: newPeriodDescs(ThisYear, "this year to date: the calendar year (UTC), or the fiscal year where fiscal_year_start sets one (twilio_billing_fiscal_year_start_month)",
		"00:00 UTC on the 1st of the year's first month: 1 January, or fiscal_year_start", "a year later"),
}

// The descriptors of the group-wide families.
var (
	descProductInfo = prometheus.NewDesc("twilio_billing_group_product_info",
		"Human-readable name of a product seen in a product category; always 1.",
		[]string{"product_category", "product"}, nil)
	descBudget = prometheus.NewDesc("twilio_billing_group_budget",
		"Monthly budget configured for the billing group.",
		[]string{"billing_group", "currency"}, nil)
	descThreshold = prometheus.NewDesc("twilio_billing_group_budget_alert_threshold_ratio",
		"Share of the monthly budget at which a budget alert fires for the billing group (billing_groups[].budget_alert_thresholds, or the defaults), by level: nearly (TwilioBillingBudgetNearlyExhausted), warning and critical (TwilioBillingBudgetExceeded).",
		[]string{"billing_group", "level"}, nil)
	descAnnualBudget = prometheus.NewDesc("twilio_billing_group_annual_budget",
		"Annual budget configured for the billing group, for the year of the this_year cost: the calendar year (UTC), or the fiscal year where fiscal_year_start sets one.",
		[]string{"billing_group", "currency"}, nil)
	descPlannedCategory = prometheus.NewDesc("twilio_billing_group_planned_category_info",
		"A product category the billing group starts to use on purpose (billing_groups[].planned_categories); always 1.",
		[]string{"billing_group", "product_category"}, nil)
	// descGroupInfo stands for the twilio_billing_group_info family in
	// Describe and in collect's family filter; the metrics themselves carry
	// groupInfoDesc's labels, which follow the configuration.
	descGroupInfo   = groupInfoDesc(nil)
	descLastSuccess = prometheus.NewDesc("twilio_billing_group_last_success_timestamp_seconds",
		"When the latest successful refresh of the billing group finished, as a Unix timestamp.",
		labelGroup, nil)
	descRecords = prometheus.NewDesc("twilio_billing_group_records",
		"Usage records the API returned in the served snapshot, before category filtering.",
		labelGroup, nil)
	descRefreshDuration = prometheus.NewDesc("twilio_exporter_refresh_duration_seconds",
		"Wall time of the latest finished refresh of the billing group, all pages and retries.",
		labelGroup, nil)
)

// groupInfoDesc is the descriptor of twilio_billing_group_info with the owner
// label names given (sorted, none of the exporter's own): every group's
// series has them all, empty (absent to Prometheus) where the group does not
// set one, so that a family has one label set.
func groupInfoDesc(names []string) *prometheus.Desc {
	return prometheus.NewDesc("twilio_billing_group_info",
		"Owner labels of the billing group (billing_groups[].labels), for joins in alerts and dashboards; always 1, one series per configured group.",
		append([]string{"billing_group"}, names...), nil)
}

// ownerLabelNames are the owner label names any of groups sets, sorted.
func ownerLabelNames(groups []GroupState) []string {
	var names []string
	for i := range groups {
		for n := range groups[i].Group.Labels {
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	slices.Sort(names)
	return names
}

// newPeriodDescs builds the descriptors of an optional period p, whose metric
// names start with twilio_billing_group_<p>_; what, start and end describe
// the period in HELP.
func newPeriodDescs(p Period, what, start, end string) periodDescs {
	name := p.String()
	prefix := "twilio_billing_group_" + name + "_"
	stale := "Served from a cache refreshed every periods." + name + ".cache_ttl."
	return periodDescs{
		cost: prometheus.NewDesc(prefix+"cost",
			"Estimated cost of the billing group's usage "+what+", from Twilio's Usage API; an estimate, the invoice is authoritative. "+stale,
			[]string{"billing_group", "product_category", "currency"}, nil),
		usage: prometheus.NewDesc(prefix+"usage",
			"Usage amount of the billing group "+what+", in the unit label's unit; an estimate. "+stale,
			[]string{"billing_group", "product_category", "unit"}, nil),
		start: prometheus.NewDesc(prefix+"period_start_timestamp_seconds",
			"Start of the period the "+name+" cost covers ("+start+"), as a Unix timestamp.", labelGroup, nil),
		end: prometheus.NewDesc(prefix+"period_end_timestamp_seconds",
			"End of the period the "+name+" cost covers ("+end+"), as a Unix timestamp.", labelGroup, nil),
		up: prometheus.NewDesc(prefix+"up",
			"1 if the latest refresh of the billing group's "+name+" usage succeeded, else 0.", labelGroup, nil),
		asOf: prometheus.NewDesc(prefix+"as_of_timestamp_seconds",
			"The Usage API's asOf date for the served "+name+" data (00:00 UTC of that day), as a Unix timestamp; "+
				"until it passes the period's end, the figure is still growing.", labelGroup, nil),
	}
}

// describeAll sends every descriptor the collector may use.
func describeAll(ch chan<- *prometheus.Desc) {
	for _, pd := range periods {
		for _, desc := range []*prometheus.Desc{pd.cost, pd.usage, pd.start, pd.end, pd.up, pd.asOf} {
			ch <- desc
		}
	}
	for _, desc := range []*prometheus.Desc{descProductInfo, descBudget, descThreshold, descAnnualBudget, descPlannedCategory, descGroupInfo, descLastSuccess, descRecords, descRefreshDuration} {
		ch <- desc
	}
}

// Collector is the prometheus.Collector of one cache state: every billing
// group family, or one of them (Family). The exposition gathers each state
// through it, a family and a chunk of groups at a time.
type Collector struct {
	state State
	only  *prometheus.Desc // nil: every family
}

// PerGroup reports whether desc's series are per billing group: every family
// but twilio_billing_group_product_info, whose series are per product.
func PerGroup(desc *prometheus.Desc) bool { return desc != descProductInfo }

// New returns the collector of state st, as Cache.Get or Cache.State gave it.
func New(st State) *Collector { return &Collector{state: st} }

// Family returns the collector of c's family desc only.
func (c *Collector) Family(desc *prometheus.Desc) *Collector {
	return &Collector{state: c.state, only: desc}
}

// Describe sends every descriptor the collector may use. The owner labels of
// twilio_billing_group_info follow the configuration, so with owner labels
// set that family's metrics carry another descriptor than the one described:
// register the Collector with a registry that is not pedantic.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	if c.only != nil {
		ch <- c.only
		return
	}
	describeAll(ch)
}

// Collect sends the metrics of every configured billing group, or of the
// one family.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	collect(c.state, c.only, ch)
}

// collect sends the metrics st reports: all of them, or those of desc only.
func collect(st State, only *prometheus.Desc, ch chan<- prometheus.Metric) {
	wanted := func(desc *prometheus.Desc) bool { return only == nil || only == desc }
	gauge := func(desc *prometheus.Desc, v float64, labels ...string) {
		if wanted(desc) {
			ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, labels...)
		}
	}
	// period sends what every period has: up, and the snapshot's bounds,
	// asOf, cost and usage while it covers the current period.
	period := func(pd *periodDescs, ps *PeriodState, label string) *Snapshot {
		gauge(pd.up, boolFloat(ps.Up), label)
		s := ps.Snapshot
		if s == nil {
			return nil
		}
		gauge(pd.start, unixSeconds(s.PeriodStart), label)
		gauge(pd.end, unixSeconds(s.PeriodEnd), label)
		if !s.AsOf.IsZero() {
			gauge(pd.asOf, unixSeconds(s.AsOf), label)
		}
		for _, x := range s.Costs {
			if !wanted(pd.cost) {
				break
			}
			gauge(pd.cost, x.Value, label, x.Category, x.Unit)
		}
		for _, x := range s.Usages {
			if !wanted(pd.usage) {
				break
			}
			gauge(pd.usage, x.Value, label, x.Category, x.Unit)
		}
		return s
	}
	if wanted(descGroupInfo) {
		names := ownerLabelNames(st.Groups)
		desc := groupInfoDesc(names)
		for i := range st.Groups {
			g := &st.Groups[i].Group
			values := []string{g.Label}
			for _, n := range names {
				values = append(values, g.Labels[n])
			}
			ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, 1, values...)
		}
	}
	for i := range st.Groups {
		gs := &st.Groups[i]
		label := gs.Group.Label
		if b := gs.Group.Budget; b != nil {
			gauge(descBudget, b.Amount, label, b.Currency)
		}
		if th := gs.Group.Thresholds; th != nil && gs.Group.Budget != nil {
			gauge(descThreshold, th.Nearly, label, "nearly")
			gauge(descThreshold, th.Warning, label, "warning")
			gauge(descThreshold, th.Critical, label, "critical")
		}
		if b := gs.Group.AnnualBudget; b != nil {
			gauge(descAnnualBudget, b.Amount, label, b.Currency)
		}
		for _, c := range gs.Group.PlannedCategories {
			gauge(descPlannedCategory, 1, label, c)
		}
		// The refresh metrics are month to date's, the period every
		// group fetches.
		if month := &gs.Periods[ThisMonth]; month.Fetched {
			if !month.LastSuccess.IsZero() {
				gauge(descLastSuccess, unixSeconds(month.LastSuccess), label)
			}
			if month.Attempted {
				gauge(descRefreshDuration, month.Duration.Seconds(), label)
			}
		}
		for p := range gs.Periods {
			ps := &gs.Periods[p]
			if !ps.Fetched {
				continue
			}
			if s := period(&periods[p], ps, label); s != nil && Period(p) == ThisMonth {
				gauge(descRecords, float64(s.Records), label)
			}
		}
	}
	for _, p := range st.Products {
		if !wanted(descProductInfo) {
			break
		}
		gauge(descProductInfo, 1, p.Category, p.Name)
	}
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func unixSeconds(t time.Time) float64 {
	return float64(t.UnixNano()) / 1e9
}
