// Package landing renders the exporter's landing page: whether each billing
// group's refreshes work, and what the group is spending, from the state the
// metrics are served from. Page is a view model of plain types, filled by the
// exporter; this package computes totals, forecasts and budget shares from it
// and renders them with html/template, without scripts or external resources.
package landing

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Page is what the landing page shows.
type Page struct {
	// Now is the clock that ages and forecasts are computed against.
	Now time.Time
	// Demo says the figures come from the built-in simulator.
	Demo        bool
	Build       Build
	Reload      Reload
	MetricsPath string // --web.telemetry-path
	Groups      []Group
	// Reporting, if set, converts every group's cost into one currency for
	// the organization's total.
	Reporting *Reporting
	// YearStart is the month the year (YearToDate, the annual budgets)
	// starts in: January, or 0, for the calendar year; another month for a
	// fiscal year.
	YearStart time.Month
}

// Reporting is the configuration's reporting currency: its code, the date
// its rates were set, and what one unit of each currency is worth in it
// (its own at 1).
type Reporting struct {
	Currency string
	AsOf     time.Time
	Rates    map[string]float64
}

// convert sums costs in the reporting currency, and lists the currencies
// without a rate, whose costs it leaves out; never an amount added as if it
// were in another currency.
func (r *Reporting) convert(costs []Cost) (total Money, missing []string) {
	total.Currency = r.Currency
	var sum exactSum
	for _, c := range costs {
		cur := strings.ToUpper(c.Currency)
		rate, ok := r.Rates[cur]
		if !ok {
			if !slices.Contains(missing, cur) {
				missing = append(missing, cur)
			}
			continue
		}
		sum.add(c.Amount, rate)
	}
	total.Amount = sum.float64()
	slices.Sort(missing)
	return total, missing
}

// Build names the running binary.
type Build struct {
	Version, Revision, Branch, BuildDate, GoVersion string
}

// Reload is the outcome of the configuration's loads.
type Reload struct {
	OK          bool      // the latest load or reload succeeded
	LastSuccess time.Time // when the running configuration was loaded
	LastFailure time.Time // when a reload last failed; zero if none has
}

// Group is one configured billing group.
type Group struct {
	Name  string // the billing_group label
	Month Period // month to date
	// Yesterday and LastMonth are nil when the group does not fetch them.
	Yesterday, LastMonth *Period
	// YearToDate is nil when the group does not fetch the current year.
	YearToDate *Period
	// Budget and AnnualBudget are nil when not configured.
	Budget, AnnualBudget *Money
	// Labels are the group's owner labels (billing_groups[].labels).
	Labels map[string]string
}

// Period is the cache's state of one group and period.
type Period struct {
	// Attempted says a refresh has finished; Up whether the latest did.
	Attempted, Up bool
	LastSuccess   time.Time // when the latest successful refresh finished
	Error         string    // the latest refresh's failure, as logged; "" when up
	// Figures is nil until a refresh of the current period has succeeded.
	Figures *Figures
}

// Figures are one period's costs as the API reported them.
type Figures struct {
	Start, End time.Time // the period's bounds (UTC, end exclusive)
	AsOf       time.Time // the API's as-of time; zero if it gave none
	Costs      []Cost
}

// Cost is the cost of one product category in one currency.
type Cost struct {
	Category string
	Money
}

// topCategories is how many product categories the page lists per currency.
const topCategories = 5

// forecastMinElapsed is the least time since the period's start a forecast
// divides by, as in the alert rules and dashboards: a few minutes of spend
// on the 1st do not extrapolate to an absurd month.
const forecastMinElapsed = time.Hour

// Forecast is the linear forecast of a period's spend at its end: spend so
// far divided by the time elapsed since its start (at least an hour), times
// the period's length; the rules' and dashboards' formula, so that the page
// and the alerts agree on the figure (the alerts also keep quiet early in a
// period, see alerts/RUNBOOK.md, "Tuning"). Past the period's end it is the
// spend itself.
func Forecast(spent float64, start, end, now time.Time) float64 {
	length := end.Sub(start)
	elapsed := max(now.Sub(start), forecastMinElapsed)
	if length <= 0 || elapsed >= length {
		return spent
	}
	return spent / elapsed.Seconds() * length.Seconds()
}

// totals sums costs per currency, ordered by currency code; it never adds
// amounts of different currencies.
func totals(costs []Cost) []Money {
	sums := map[string]*exactSum{}
	for _, c := range costs {
		cur := strings.ToUpper(c.Currency)
		if sums[cur] == nil {
			sums[cur] = new(exactSum)
		}
		sums[cur].add(c.Amount, 1)
	}
	out := make([]Money, 0, len(sums))
	for cur, s := range sums {
		out = append(out, Money{Amount: s.float64(), Currency: cur})
	}
	slices.SortFunc(out, func(a, b Money) int { return strings.Compare(a.Currency, b.Currency) })
	return out
}

// view is what the template renders: Page with everything computed.
type view struct {
	Page
	Groups     []groupView
	Categories []currencyCategories
	Reload     reloadView
	// Organization is the month's and year's spend of every group in the
	// reporting currency; nil without one.
	Organization *organizationView
	// YearLabel names the year to date: "Spent this year", or "Fiscal year
	// to date" with YearFrom, its first day ("from 1 April"), beside the
	// figures.
	YearLabel, YearFrom string
}

// organizationView is the organization's spend in the reporting currency.
type organizationView struct {
	Month, Year Money
	HasYear     bool   // some group fetches the year
	AsOf        string // the rates' date
	// Missing are the currencies without a rate, whose cost is left out.
	Missing []string
}

type reloadView struct {
	OK                       bool
	LastSuccess, LastFailure stamp
}

// stamp is a moment and how long ago it was.
type stamp struct {
	Time time.Time
	Ago  string
	// Today says the moment is on the page's UTC day: its date goes unsaid.
	Today bool
}

func (s stamp) IsZero() bool { return s.Time.IsZero() }

// RFC3339 is the machine-readable form for <time datetime>.
func (s stamp) RFC3339() string { return s.Time.UTC().Format(time.RFC3339) }

// String is the moment in UTC, to the minute, without the date when it is
// today.
func (s stamp) String() string {
	if s.Today {
		return s.Time.UTC().Format("15:04 UTC")
	}
	return s.Time.UTC().Format("2006-01-02 15:04 UTC")
}

// DateOnly says the moment is a UTC midnight: a day, as the Usage API gives
// its as-of date, rather than a time of day.
func (s stamp) DateOnly() bool {
	t := s.Time.UTC()
	return t.Equal(t.Truncate(24 * time.Hour))
}

// Date is the moment's UTC date.
func (s stamp) Date() string { return s.Time.UTC().Format(time.DateOnly) }

type groupView struct {
	Name string
	// Owners are the owner labels, "name: value", by name.
	Owners string
	// Status is "up", "failing" or "pending": the month's refresh.
	Status      string
	Error       string
	LastSuccess stamp
	AsOf        stamp
	HasFigures  bool
	Spent       []Money
	Forecast    []Money
	Budget      *budgetView
	Year        *periodView
	Annual      *budgetView
	Yesterday   *periodView
	LastMonth   *periodView
}

// periodView is an optional period's totals, or why there are none.
type periodView struct {
	Totals []Money
	Note   string // shown instead of, or besides, the totals
}

type budgetView struct {
	Label   string // "Monthly budget", "Annual budget"
	Budget  Money
	Spent   Money
	Percent float64 // of the budget spent; meaningful when Comparable
	// ForecastPercent is the forecast's share of the budget.
	ForecastPercent float64
	// Comparable is false when the costs are in other currencies than the
	// budget (it cannot be compared with them) or the budget is not positive.
	Comparable bool
	Mismatch   string // why not comparable
}

type currencyCategories struct {
	Currency string
	Total    Money
	Rows     []categoryRow
	More     int // categories not listed
}

type categoryRow struct {
	Category string
	Spent    Money
	Share    float64 // percent of the currency's total
}

func newView(p Page) view {
	v := view{Page: p, YearLabel: "Spent this year"}
	if p.YearStart > time.January {
		v.YearLabel, v.YearFrom = "Fiscal year to date", fmt.Sprintf("from 1 %s", p.YearStart)
	}
	v.Reload = reloadView{OK: p.Reload.OK, LastSuccess: p.stamp(p.Reload.LastSuccess), LastFailure: p.stamp(p.Reload.LastFailure)}
	var month, year []Cost
	hasYear := false
	for _, g := range p.Groups {
		v.Groups = append(v.Groups, p.groupView(g))
		if f := g.Month.Figures; f != nil {
			month = append(month, f.Costs...)
		}
		if g.YearToDate != nil {
			hasYear = true
			if f := g.YearToDate.Figures; f != nil {
				year = append(year, f.Costs...)
			}
		}
	}
	v.Categories = byCurrency(month)
	if r := p.Reporting; r != nil {
		o := &organizationView{HasYear: hasYear, AsOf: r.AsOf.UTC().Format(time.DateOnly)}
		var missMonth, missYear []string
		o.Month, missMonth = r.convert(month)
		o.Year, missYear = r.convert(year)
		for _, c := range append(missMonth, missYear...) {
			if !slices.Contains(o.Missing, c) {
				o.Missing = append(o.Missing, c)
			}
		}
		slices.Sort(o.Missing)
		v.Organization = o
	}
	return v
}

func (p Page) stamp(t time.Time) stamp {
	if t.IsZero() {
		return stamp{}
	}
	ty, tm, td := t.UTC().Date()
	ny, nm, nd := p.Now.UTC().Date()
	return stamp{Time: t, Ago: ago(p.Now.Sub(t)), Today: ty == ny && tm == nm && td == nd}
}

func (p Page) groupView(g Group) groupView {
	gv := groupView{Name: g.Name, LastSuccess: p.stamp(g.Month.LastSuccess), Error: g.Month.Error}
	owners := make([]string, 0, len(g.Labels))
	for n, v := range g.Labels {
		owners = append(owners, n+": "+v)
	}
	slices.Sort(owners)
	gv.Owners = strings.Join(owners, ", ")
	switch {
	case !g.Month.Attempted:
		gv.Status = "pending"
	case g.Month.Up:
		gv.Status = "up"
	default:
		gv.Status = "failing"
	}
	if f := g.Month.Figures; f != nil {
		gv.HasFigures = true
		gv.AsOf = p.stamp(f.AsOf)
		gv.Spent = totals(f.Costs)
		for _, m := range gv.Spent {
			gv.Forecast = append(gv.Forecast, Money{Amount: Forecast(m.Amount, f.Start, f.End, p.Now), Currency: m.Currency})
		}
	}
	gv.Budget = p.budgetView("Monthly budget", g.Budget, g.Month.Figures)
	var year *Figures
	if g.YearToDate != nil {
		gv.Year = p.periodView(*g.YearToDate)
		year = g.YearToDate.Figures
	}
	gv.Annual = p.budgetView("Annual budget", g.AnnualBudget, year)
	if g.Yesterday != nil {
		gv.Yesterday = p.periodView(*g.Yesterday)
	}
	if g.LastMonth != nil {
		gv.LastMonth = p.periodView(*g.LastMonth)
	}
	return gv
}

func (p Page) periodView(pd Period) *periodView {
	pv := &periodView{}
	if pd.Figures != nil {
		pv.Totals = totals(pd.Figures.Costs)
		if len(pv.Totals) == 0 {
			pv.Note = "no cost"
		}
	}
	switch {
	case !pd.Attempted:
		pv.Note = "not fetched yet"
	case !pd.Up && pd.Figures != nil:
		pv.Note = "refresh failing, showing the last good figures"
	case !pd.Up:
		pv.Note = "refresh failing: " + pd.Error
	case pd.Figures == nil:
		pv.Note = "not fetched for this period yet"
	}
	return pv
}

func (p Page) budgetView(label string, b *Money, f *Figures) *budgetView {
	if b == nil {
		return nil
	}
	bv := &budgetView{Label: label, Budget: Money{Amount: b.Amount, Currency: strings.ToUpper(b.Currency)}}
	bv.Spent.Currency = bv.Budget.Currency
	if f == nil {
		bv.Mismatch = "no figures yet"
		return bv
	}
	sums := totals(f.Costs)
	found := len(sums) == 0 // no cost yet: nothing spent in any currency
	var others []string
	for _, m := range sums {
		if m.Currency == bv.Budget.Currency {
			bv.Spent, found = m, true
		} else {
			others = append(others, m.Currency)
		}
	}
	switch {
	case !found:
		bv.Mismatch = fmt.Sprintf("the budget is in %s but the costs are in %s: they cannot be compared", bv.Budget.Currency, strings.Join(others, ", "))
	case b.Amount <= 0:
		bv.Mismatch = "the budget is not a positive amount"
	default:
		bv.Comparable = true
		bv.Percent = 100 * bv.Spent.Amount / b.Amount
		bv.ForecastPercent = 100 * Forecast(bv.Spent.Amount, f.Start, f.End, p.Now) / b.Amount
	}
	return bv
}

// byCurrency lists each currency's top categories by spend, summed over the
// groups, currencies by code.
func byCurrency(costs []Cost) []currencyCategories {
	type key struct{ currency, category string }
	sums := map[key]*exactSum{}
	for _, c := range costs {
		k := key{strings.ToUpper(c.Currency), c.Category}
		if sums[k] == nil {
			sums[k] = new(exactSum)
		}
		sums[k].add(c.Amount, 1)
	}
	per := map[string]*currencyCategories{}
	for _, total := range totals(costs) {
		per[total.Currency] = &currencyCategories{Currency: total.Currency, Total: total}
	}
	for k, s := range sums {
		cc := per[k.currency]
		cc.Rows = append(cc.Rows, categoryRow{Category: k.category, Spent: Money{Amount: s.float64(), Currency: k.currency}})
	}
	out := make([]currencyCategories, 0, len(per))
	for _, cc := range per {
		slices.SortFunc(cc.Rows, func(a, b categoryRow) int {
			if a.Spent.Amount != b.Spent.Amount {
				if a.Spent.Amount > b.Spent.Amount {
					return -1
				}
				return 1
			}
			return strings.Compare(a.Category, b.Category)
		})
		if len(cc.Rows) > topCategories {
			cc.More = len(cc.Rows) - topCategories
			cc.Rows = cc.Rows[:topCategories]
		}
		for i := range cc.Rows {
			if cc.Total.Amount > 0 {
				cc.Rows[i].Share = 100 * cc.Rows[i].Spent.Amount / cc.Total.Amount
			}
		}
		out = append(out, *cc)
	}
	slices.SortFunc(out, func(a, b currencyCategories) int { return strings.Compare(a.Currency, b.Currency) })
	return out
}

// ago says how long d is, in words, to a useful precision.
func ago(d time.Duration) string {
	switch {
	case d < 0:
		return "in the future (clock skew?)"
	case d < time.Minute:
		return "less than a minute ago"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute") + " ago"
	case d < 48*time.Hour:
		h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
		if m == 0 {
			return plural(h, "hour") + " ago"
		}
		return plural(h, "hour") + " " + plural(m, "minute") + " ago"
	default:
		return plural(int(d/(24*time.Hour)), "day") + " ago"
	}
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// percent formats a share for people: one decimal below 10%, none above.
func percent(p float64) string {
	switch {
	case math.IsNaN(p) || math.IsInf(p, 0):
		return "n/a"
	case p != 0 && math.Abs(p) < 0.1:
		return "<0.1%"
	case math.Abs(p) < 10:
		return fmt.Sprintf("%.1f%%", p)
	}
	return fmt.Sprintf("%.0f%%", p)
}

// RepoURL is where the bundled dashboards, alert rules and docs are
// published.
const RepoURL = "https://github.com/twilio-billing-exporter/twilio_billing_exporter"

//go:embed page.html
var pageHTML string

var tmpl = template.Must(template.New("page").Funcs(template.FuncMap{
	"percent": percent,
	// meter clamps a share to what a <meter> from 0 can show.
	"meter": func(p float64) float64 { return math.Max(0, p) },
	// meterMax is a <meter>'s max for a share: 100, or the share past it, so
	// that an overspent budget lies above high (100), in the region a
	// browser draws red, not pinned at 100, which it draws amber.
	"meterMax": func(p float64) float64 { return math.Max(100, p) },
	"repo":     func(path string) string { return RepoURL + "/blob/main/" + path },
}).Parse(pageHTML))

// Render writes the page for p.
func Render(w io.Writer, p Page) error {
	return tmpl.Execute(w, newView(p))
}

// contentSecurityPolicy lets the page load nothing but itself and its one
// style sheet, named by its hash: no scripts, fonts, images, frames or other
// styles from anywhere. The icon is an empty data: URL, so that browsers do
// not ask for /favicon.ico.
var contentSecurityPolicy = "default-src 'none'; style-src '" + styleHash(pageHTML) +
	"'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// styleHash is the CSP source of the text of the page's <style> element.
func styleHash(page string) string {
	_, rest, ok := strings.Cut(page, "<style>")
	css, _, ok2 := strings.Cut(rest, "</style>")
	if !ok || !ok2 {
		panic("landing: the page has no <style> element")
	}
	sum := sha256.Sum256([]byte(css))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

// Renderer keeps the page rendered for the latest key, so that a page of a
// thousand groups is rendered once per change, not once per request: the
// caller's key says what the page shows (the cache's state, the reload
// status, the minute that ages are counted in). One request renders at a
// time; the others wait for it, each no longer than its context, and share
// its bytes when their key is the one it rendered.
type Renderer struct {
	slot chan struct{} // holds a token while a request renders
	key  any
	body []byte
}

// NewRenderer returns a Renderer holding no page yet.
func NewRenderer() *Renderer {
	return &Renderer{slot: make(chan struct{}, 1)}
}

// Body returns the page for key, rendered from page() unless the page held
// is for an equal key. key must be comparable. It fails with ctx's error if
// ctx ends while another request renders.
func (r *Renderer) Body(ctx context.Context, key any, page func() Page) ([]byte, error) {
	select {
	case r.slot <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-r.slot }()
	if r.body != nil && r.key == key {
		return r.body, nil
	}
	var b bytes.Buffer
	if err := Render(&b, page()); err != nil {
		return nil, err
	}
	r.key, r.body = key, b.Bytes()
	return r.body, nil
}

// Handler serves the page at "/" (and nothing else: another path is 404),
// with the bytes body returns for the request. body must not block on
// refreshes; when it fails with the request's context error, the answer is
// 503, else 500.
func Handler(body func(r *http.Request) ([]byte, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "This page answers GET and HEAD requests only.", http.StatusMethodNotAllowed)
			return
		}
		b, err := body(r)
		switch {
		case err != nil && r.Context().Err() != nil:
			w.Header().Set("Retry-After", "1")
			http.Error(w, "The landing page is being rendered for another request; try again.", http.StatusServiceUnavailable)
			return
		case err != nil:
			http.Error(w, "The landing page cannot be rendered: "+err.Error(), http.StatusInternalServerError)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		_, _ = w.Write(b)
	})
}
