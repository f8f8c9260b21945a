package landing

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/landing/pagetest"
)

// now is the clock of every page here: 12:00 UTC on 11 March, 10.5 days into
// a 31-day month.
var now = time.Date(2025, time.March, 11, 12, 0, 0, 0, time.UTC)

var (
	marchStart = time.Date(2025, time.March, 1, 0, 0, 0, 0, time.UTC)
	aprilStart = time.Date(2025, time.April, 1, 0, 0, 0, 0, time.UTC)
)

func month(costs ...Cost) *Figures {
	return &Figures{Start: marchStart, End: aprilStart, AsOf: now.Add(-2 * time.Hour), Costs: costs}
}

func usd(category string, a float64) Cost { return Cost{category, Money{a, "USD"}} }

func basePage(groups ...Group) Page {
	return Page{
		Now:         now,
		Build:       Build{Version: "1.2.3", Revision: "abc", Branch: "main", BuildDate: "20250301", GoVersion: "go1.26"},
		Reload:      Reload{OK: true, LastSuccess: now.Add(-3 * time.Hour)},
		MetricsPath: "/metrics",
		Groups:      groups,
	}
}

// render renders p and parses the result as a browser would.
func render(t *testing.T, p Page) *html.Node {
	t.Helper()
	var b bytes.Buffer
	if err := Render(&b, p); err != nil {
		t.Fatal(err)
	}
	return pagetest.Parse(t, &b)
}

func TestHealthyGroup(t *testing.T) {
	lastMonth := &Period{Attempted: true, Up: true, LastSuccess: now.Add(-time.Hour),
		Figures: &Figures{Start: marchStart.AddDate(0, -1, 0), End: marchStart, Costs: []Cost{usd("sms", 2900), usd("voice", 100)}}}
	g := Group{
		Name:      "marketing",
		Month:     Period{Attempted: true, Up: true, LastSuccess: now.Add(-5 * time.Minute), Figures: month(usd("sms", 1000.5), usd("voice", 50), usd("mms", 0.125))},
		Yesterday: &Period{Attempted: true, Up: true, LastSuccess: now.Add(-time.Hour), Figures: &Figures{Costs: []Cost{usd("sms", 98.765)}}},
		LastMonth: lastMonth,
		Budget:    &Money{2000, "USD"},
	}
	doc := render(t, basePage(g))
	card := pagetest.Group(t, doc, "marketing")
	if got := pagetest.Status(t, card); got != "up" {
		t.Errorf("status = %q, want up", got)
	}
	if errs := pagetest.FindAll(card, pagetest.WithAttr("data-field", "error")); len(errs) != 0 {
		t.Errorf("a healthy group shows an error: %q", pagetest.Text(errs[0]))
	}
	if got, want := pagetest.Field(t, card, "last-success"), "5 minutes ago, at 11:55 UTC"; got != want {
		t.Errorf("last success = %q, want %q", got, want)
	}
	if got, want := pagetest.Field(t, card, "as-of"), "2 hours ago, at 10:00 UTC"; got != want {
		t.Errorf("as of = %q, want %q", got, want)
	}
	if got, want := pagetest.Lines(t, card, "spent"), []string{"USD 1,050.63"}; !slices.Equal(got, want) {
		t.Errorf("spent = %q, want %q", got, want)
	}
	// 1050.625 in 10.5 days of 31: 1050.625 / 10.5 * 31 = 3101.845...
	if got, want := pagetest.Lines(t, card, "forecast"), []string{"USD 3,101.85"}; !slices.Equal(got, want) {
		t.Errorf("forecast = %q, want %q", got, want)
	}
	if got, want := pagetest.Lines(t, card, "yesterday"), []string{"USD 98.77"}; !slices.Equal(got, want) {
		t.Errorf("yesterday = %q, want %q", got, want)
	}
	if got, want := pagetest.Lines(t, card, "last-month"), []string{"USD 3,000.00"}; !slices.Equal(got, want) {
		t.Errorf("last month = %q, want %q", got, want)
	}
	budgets := pagetest.FindAll(card, pagetest.WithAttr("data-budget", "Monthly budget"))
	if len(budgets) != 1 {
		t.Fatalf("%d monthly budgets, want 1", len(budgets))
	}
	meters := pagetest.FindAll(budgets[0], pagetest.Tag("meter"))
	if len(meters) != 1 {
		t.Fatalf("%d meters, want 1", len(meters))
	}
	if v, _ := pagetest.Attr(meters[0], "value"); v != "52.53125" {
		t.Errorf("meter value = %q, want 52.53125 (percent of the budget used)", v)
	}
	if got, want := pagetest.Text(budgets[0]), "Monthly budget: 53% used 53% USD 1,050.63 of USD 2,000.00; forecast 155% of the budget."; got != want {
		t.Errorf("budget = %q, want %q", got, want)
	}
	if over := pagetest.FindAll(budgets[0], pagetest.WithAttr("class", "over")); len(over) != 1 || pagetest.Text(over[0]) != "forecast 155% of the budget" {
		t.Errorf("a forecast over the budget is not set apart: %v", over)
	}
	if n := pagetest.FindAll(card, pagetest.WithAttr("data-budget", "Annual budget")); len(n) != 0 {
		t.Error("an annual budget is shown though none is set")
	}
	if got := pagetest.Field(t, card, "year"); got != "" {
		t.Errorf("year to date %q shown though the group has none", got)
	}
	if n := pagetest.FindAll(doc, pagetest.WithAttr("id", "demo")); len(n) != 0 {
		t.Error("the demo notice is shown outside the demo")
	}
}

func TestFailingGroup(t *testing.T) {
	const apiErr = "twilio: billing group commerce_billingprofile_x: the Usage API answered 401 Unauthorized: check client_id and client_secret"
	withData := Group{Name: "support", Budget: &Money{100, "EUR"},
		Month: Period{Attempted: true, Up: false, LastSuccess: now.Add(-26 * time.Hour), Error: apiErr,
			Figures: &Figures{Start: marchStart, End: aprilStart, AsOf: marchStart.AddDate(0, 0, 9), Costs: []Cost{{"sms", Money{10, "EUR"}}}}}}
	noData := Group{Name: "platform",
		Month:     Period{Attempted: true, Up: false, Error: apiErr},
		Yesterday: &Period{Attempted: true, Up: false, Error: apiErr}}
	doc := render(t, basePage(withData, noData))

	for name, fields := range map[string]map[string]string{
		"support": {
			"error":        "Latest refresh failed: " + apiErr,
			"last-success": "26 hours ago, at 2025-03-10 10:00 UTC",
			"spent":        "EUR 10.00",  // the last good figures
			"as-of":        "2025-03-10", // the Usage API gives a date
			"yesterday":    "",
		},
		"platform": {
			"error":        "Latest refresh failed: " + apiErr,
			"last-success": "never",
			"spent":        "no figures yet",
			"as-of":        "",
			"yesterday":    "refresh failing: " + apiErr,
		},
	} {
		card := pagetest.Group(t, doc, name)
		if got := pagetest.Status(t, card); got != "failing" {
			t.Errorf("%s: status = %q, want failing", name, got)
		}
		for f, want := range fields {
			if got := pagetest.Field(t, card, f); got != want {
				t.Errorf("%s: %s = %q, want %q", name, f, got, want)
			}
		}
	}
}

func TestNeverRefreshedGroup(t *testing.T) {
	g := Group{Name: "new", Budget: &Money{500, "USD"}, LastMonth: &Period{}}
	doc := render(t, basePage(g))
	card := pagetest.Group(t, doc, "new")
	if got := pagetest.Status(t, card); got != "pending" {
		t.Errorf("status = %q, want pending", got)
	}
	for f, want := range map[string]string{
		"last-success": "never",
		"spent":        "no figures yet",
		"last-month":   "not fetched yet",
		"error":        "",
		"as-of":        "",
		"forecast":     "",
	} {
		if got := pagetest.Field(t, card, f); got != want {
			t.Errorf("%s = %q, want %q", f, got, want)
		}
	}
	if n := pagetest.FindAll(card, pagetest.Tag("meter")); len(n) != 0 {
		t.Error("a budget bar is drawn without figures")
	}
	if got, want := pagetest.Text(pagetest.FindAll(card, pagetest.WithAttr("data-budget", "Monthly budget"))[0]), "Monthly budget: USD 500.00; no figures yet"; got != want {
		t.Errorf("budget = %q, want %q", got, want)
	}
	if got, want := pagetest.Text(pagetest.FindAll(doc, pagetest.WithAttr("aria-labelledby", "categories-h"))[0]), "Top product categories this month No costs this month yet."; got != want {
		t.Errorf("categories = %q, want %q", got, want)
	}
}

func TestNamesFromConfigAndAPIAreText(t *testing.T) {
	const name = `<script>alert("group")</script><img src=x onerror=alert(1)>`
	const category = `</td><script>alert("category")</script>`
	const apiErr = `<b>bad</b> & "quoted"`
	g := Group{Name: name, Month: Period{Attempted: true, Error: apiErr, Figures: month(usd(category, 1))}}
	doc := render(t, basePage(g))
	if n := pagetest.FindAll(doc, pagetest.Tag("script")); len(n) != 0 {
		t.Fatalf("the page has %d script elements", len(n))
	}
	if n := pagetest.FindAll(doc, pagetest.Tag("img")); len(n) != 0 {
		t.Fatalf("the page has %d img elements", len(n))
	}
	card := pagetest.Group(t, doc, name)
	if got := pagetest.Text(pagetest.FindAll(card, pagetest.Tag("h3"))[0]); got != name {
		t.Errorf("heading = %q, want the name as text %q", got, name)
	}
	if got, want := pagetest.Field(t, card, "error"), "Latest refresh failed: "+apiErr; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
	cells := pagetest.FindAll(pagetest.FindAll(doc, pagetest.WithAttr("data-currency", "USD"))[0], pagetest.Tag("td"))
	if len(cells) == 0 || pagetest.Text(cells[0]) != category {
		t.Errorf("first category cell = %v, want %q", cells, category)
	}
}

func TestCurrenciesNeverAdded(t *testing.T) {
	a := Group{Name: "a", Budget: &Money{100, "EUR"}, Month: Period{Attempted: true, Up: true,
		Figures: month(usd("sms", 10), Cost{"sms", Money{5, "EUR"}}, Cost{"voice", Money{1000, "JPY"}})}}
	b := Group{Name: "b", Month: Period{Attempted: true, Up: true, Figures: month(usd("sms", 30), usd("voice", 2))}}
	doc := render(t, basePage(a, b))
	card := pagetest.Group(t, doc, "a")
	if got, want := pagetest.Lines(t, card, "spent"), []string{"EUR 5.00", "JPY 1,000", "USD 10.00"}; !slices.Equal(got, want) {
		t.Errorf("spent = %q, want one line per currency %q", got, want)
	}
	if got, want := pagetest.Text(pagetest.FindAll(card, pagetest.WithAttr("data-budget", "Monthly budget"))[0]), "Monthly budget: 5.0% used 5.0% EUR 5.00 of EUR 100.00; forecast 15% of the budget."; got != want {
		t.Errorf("budget = %q, want %q (EUR only)", got, want)
	}
	if over := pagetest.FindAll(card, pagetest.WithAttr("class", "over")); len(over) != 0 {
		t.Errorf("a forecast under the budget is set apart as over it: %q", pagetest.Text(over[0]))
	}
	tables := pagetest.FindAll(doc, pagetest.HasAttr("data-currency"))
	var got []string
	for _, tb := range tables {
		got = append(got, pagetest.Text(tb))
	}
	want := []string{
		"In EUR: EUR 5.00 over all groups Category Spent Share sms EUR 5.00 100%",
		"In JPY: JPY 1,000 over all groups Category Spent Share voice JPY 1,000 100%",
		"In USD: USD 42.00 over all groups Category Spent Share sms USD 40.00 95% voice USD 2.00 4.8%",
	}
	if !slices.Equal(got, want) {
		t.Errorf("category tables:\n%q\nwant\n%q", got, want)
	}
}

// Totals are the exact sums of the decimals the exporter serves, whatever
// the order of their terms, and round as those decimals do: 29.476 + 33.126
// + 17.233 is 79.835, which shows as 79.84 though its float64 sum is a
// little less, and EUR 1.15 at 1.1 is exactly USD 1.265, so USD 1.27.
func TestTotalsAreExactDecimals(t *testing.T) {
	costs := []Cost{usd("sms", 29.476), usd("voice", 33.126), usd("mms", 17.233)}
	for _, order := range [][]int{{0, 1, 2}, {2, 1, 0}, {1, 2, 0}} {
		var month3 []Cost
		for _, i := range order {
			month3 = append(month3, costs[i])
		}
		p := basePage(Group{Name: "a", Month: Period{Attempted: true, Up: true, Figures: month(month3...)}})
		p.Reporting = &Reporting{Currency: "USD", AsOf: marchStart, Rates: map[string]float64{"USD": 1}}
		doc := render(t, p)
		if got, want := pagetest.Lines(t, pagetest.Group(t, doc, "a"), "spent"), []string{"USD 79.84"}; !slices.Equal(got, want) {
			t.Errorf("%v: spent = %q, want %q", order, got, want)
		}
		if got, want := pagetest.Text(pagetest.FindAll(doc, pagetest.HasAttr("data-currency"))[0]), "In USD: USD 79.84 over all groups"; !strings.HasPrefix(got, want) {
			t.Errorf("%v: category table %q, want it to begin %q", order, got, want)
		}
		if got, want := pagetest.Field(t, doc, "organization-month"), "USD 79.84"; got != want {
			t.Errorf("%v: organization this month %q, want %q", order, got, want)
		}
	}
	p := basePage(Group{Name: "b", Month: Period{Attempted: true, Up: true, Figures: month(Cost{"sms", Money{1.15, "EUR"}})}})
	p.Reporting = &Reporting{Currency: "USD", AsOf: marchStart, Rates: map[string]float64{"USD": 1, "EUR": 1.1}}
	if got, want := pagetest.Field(t, render(t, p), "organization-month"), "USD 1.27"; got != want {
		t.Errorf("EUR 1.15 at 1.1: organization this month %q, want %q", got, want)
	}
}

func TestBudgetInAnotherCurrency(t *testing.T) {
	g := Group{Name: "a", Budget: &Money{100, "eur"}, Month: Period{Attempted: true, Up: true, Figures: month(usd("sms", 10), Cost{"sms", Money{1, "GBP"}})}}
	card := pagetest.Group(t, render(t, basePage(g)), "a")
	if n := pagetest.FindAll(card, pagetest.Tag("meter")); len(n) != 0 {
		t.Error("a budget bar compares amounts in different currencies")
	}
	if got, want := pagetest.Text(pagetest.FindAll(card, pagetest.WithAttr("data-budget", "Monthly budget"))[0]), "Monthly budget: EUR 100.00; the budget is in EUR but the costs are in GBP, USD: they cannot be compared"; got != want {
		t.Errorf("budget = %q, want %q", got, want)
	}
}

func TestTopCategoriesAreCut(t *testing.T) {
	var costs []Cost
	for i, c := range []string{"a", "b", "c", "d", "e", "f", "g"} {
		costs = append(costs, usd(c, float64(10-i)))
	}
	doc := render(t, basePage(Group{Name: "x", Month: Period{Attempted: true, Up: true, Figures: month(costs...)}}))
	rows := pagetest.FindAll(pagetest.FindAll(doc, pagetest.WithAttr("data-currency", "USD"))[0], pagetest.Tag("tr"))
	var got []string
	for _, r := range rows[1:] {
		got = append(got, pagetest.Text(r))
	}
	// Shares are of all 49.00 spent, the categories not listed included.
	want := []string{"a USD 10.00 20%", "b USD 9.00 18%", "c USD 8.00 16%", "d USD 7.00 14%", "e USD 6.00 12%", "and 2 more"}
	if !slices.Equal(got, want) {
		t.Errorf("rows = %q, want %q", got, want)
	}
}

// The annual budget and the year to date are rendered when the exporter
// sets them.
func TestAnnualBudget(t *testing.T) {
	yearStart := time.Date(2025, time.January, 1, 0, 0, 0, 0, time.UTC)
	g := Group{Name: "a", Month: Period{Attempted: true, Up: true, Figures: month(usd("sms", 10))},
		YearToDate:   &Period{Attempted: true, Up: true, Figures: &Figures{Start: yearStart, End: yearStart.AddDate(1, 0, 0), Costs: []Cost{usd("sms", 3500)}}},
		AnnualBudget: &Money{10000, "USD"}}
	card := pagetest.Group(t, render(t, basePage(g)), "a")
	if got, want := pagetest.Lines(t, card, "year"), []string{"USD 3,500.00"}; !slices.Equal(got, want) {
		t.Errorf("year = %q, want %q", got, want)
	}
	b := pagetest.FindAll(card, pagetest.WithAttr("data-budget", "Annual budget"))
	if len(b) != 1 {
		t.Fatalf("%d annual budgets, want 1", len(b))
	}
	// 3500 in 69.5 of 365 days: forecast 18381.29, 184% of 10000.
	if got, want := pagetest.Text(b[0]), "Annual budget: 35% used 35% USD 3,500.00 of USD 10,000.00; forecast 184% of the budget."; got != want {
		t.Errorf("annual budget = %q, want %q", got, want)
	}
	if n := pagetest.FindAll(card, pagetest.WithAttr("data-budget", "Monthly budget")); len(n) != 0 {
		t.Error("a monthly budget is shown though none is set")
	}
	// An annual budget without the year's figures says so.
	g.YearToDate = nil
	card = pagetest.Group(t, render(t, basePage(g)), "a")
	if got := pagetest.Field(t, card, "year"); got != "" {
		t.Errorf("year to date %q shown though the group has none", got)
	}
	if b := pagetest.FindAll(card, pagetest.WithAttr("data-budget", "Annual budget")); len(b) != 1 || pagetest.Text(b[0]) != "Annual budget: USD 10,000.00; no figures yet" {
		t.Errorf("annual budget without the year's figures = %v, want it said", b)
	}
}

func TestDemoAndExporterSections(t *testing.T) {
	p := basePage()
	p.Demo = true
	p.MetricsPath = "/custom"
	p.Reload = Reload{OK: false, LastSuccess: now.Add(-50 * time.Hour), LastFailure: now.Add(-90 * time.Second)}
	doc := render(t, p)
	demo := pagetest.FindAll(doc, pagetest.WithAttr("id", "demo"))
	if len(demo) != 1 || !strings.Contains(pagetest.Text(demo[0]), "made-up figures from the built-in simulator") {
		t.Fatalf("demo notice = %v, want one saying the figures are made up", demo)
	}
	if got, want := pagetest.Field(t, doc, "reload"), "latest reload failed 1 minute ago, at 11:58 UTC; running the configuration loaded 2 days ago, at 2025-03-09 10:00 UTC"; got != want {
		t.Errorf("reload = %q, want %q", got, want)
	}
	if got, want := pagetest.Field(t, doc, "version"), "1.2.3 (revision abc, branch main, built 20250301, go1.26)"; got != want {
		t.Errorf("version = %q, want %q", got, want)
	}
	var hrefs []string
	for _, a := range pagetest.FindAll(doc, pagetest.Tag("a")) {
		h, _ := pagetest.Attr(a, "href")
		hrefs = append(hrefs, h)
	}
	for _, want := range []string{"/custom", "/-/healthy", "/-/ready",
		RepoURL + "/blob/main/dashboards/twilio-spend-overview.json",
		RepoURL + "/blob/main/dashboards/twilio-exporter-health.json",
		RepoURL + "/blob/main/alerts/twilio_billing_exporter.rules.yml"} {
		if !slices.Contains(hrefs, want) {
			t.Errorf("no link to %s among %q", want, hrefs)
		}
	}
	// Nothing is loaded from anywhere: no scripts, images, fonts or
	// stylesheets, only links to follow.
	for _, n := range pagetest.FindAll(doc, pagetest.HasAttr("src")) {
		t.Errorf("<%s> loads %v", n.Data, n.Attr)
	}
	for _, l := range pagetest.FindAll(doc, pagetest.Tag("link")) {
		if h, _ := pagetest.Attr(l, "href"); h != "data:," {
			t.Errorf("<link> loads %q", h)
		}
	}

	p.Demo = false
	p.Reload = Reload{OK: true, LastSuccess: now.Add(-time.Minute)}
	doc = render(t, p)
	if got, want := pagetest.Field(t, doc, "reload"), "loaded 1 minute ago, at 11:59 UTC"; got != want {
		t.Errorf("reload = %q, want %q", got, want)
	}
	if n := pagetest.FindAll(doc, pagetest.WithAttr("id", "demo")); len(n) != 0 {
		t.Error("the demo notice is shown outside the demo")
	}
}

func TestMoney(t *testing.T) {
	for _, tc := range []struct {
		m    Money
		want string
	}{
		{Money{1234.5, "USD"}, "USD 1,234.50"},
		{Money{1234.5, "JPY"}, "JPY 1,235"}, // no minor unit
		{Money{1234567.8916, "KWD"}, "KWD 1,234,567.892"},
		{Money{1050.625, "USD"}, "USD 1,050.63"}, // an exact half rounds up
		{Money{0.005, "EUR"}, "EUR 0.01"},
		{Money{1.005, "USD"}, "USD 1.01"},        // the decimal's half, though its float64 is below it
		{Money{-2.675, "USD"}, "USD -2.68"},      // away from zero
		{Money{-1234.5, "GBP"}, "GBP -1,234.50"}, // a credit
		{Money{-0.001, "USD"}, "USD 0.00"},       // no minus on a zero
		{Money{999999.999, "usd"}, "USD 1,000,000.00"},
		{Money{12, "XYZ"}, "XYZ 12.00"}, // unknown: two decimals
		{Money{100, "CHF"}, "CHF 100.00"},
		{Money{123, "KRW"}, "KRW 123"},
	} {
		if got := tc.m.String(); got != tc.want {
			t.Errorf("%v = %q, want %q", tc.m, got, tc.want)
		}
	}
}

// Forecast is the rules' and dashboards' linear forecast: cost divided by
// the time since the period's start (at least an hour), times its length.
func TestForecast(t *testing.T) {
	feb := time.Date(2025, time.February, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		spent float64
		now   time.Time
		want  float64
	}{
		{"half of March", 100, marchStart.Add(31 * 12 * time.Hour), 200},
		{"February has 28 days", 70, feb.AddDate(0, 0, 7), 280},
		{"the first minutes count as an hour", 1, marchStart.Add(10 * time.Minute), 31 * 24},
		{"the 1st at 00:00", 0, marchStart, 0},
		{"after the end", 50, aprilStart.Add(time.Hour), 50},
	} {
		start, end := marchStart, aprilStart
		if tc.now.Month() == time.February {
			start, end = feb, marchStart
		}
		if got := Forecast(tc.spent, start, end, tc.now); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("%s: Forecast = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestHandler(t *testing.T) {
	rend := NewRenderer()
	srv := httptest.NewServer(Handler(func(r *http.Request) ([]byte, error) {
		return rend.Body(r.Context(), 1, func() Page { return basePage(Group{Name: "a"}) })
	}))
	defer srv.Close()
	for _, tc := range []struct {
		method, path string
		code         int
	}{
		{http.MethodGet, "/", http.StatusOK},
		{http.MethodHead, "/", http.StatusOK},
		{http.MethodGet, "/favicon.ico", http.StatusNotFound},
		{http.MethodGet, "/index.html", http.StatusNotFound},
		{http.MethodPost, "/", http.StatusMethodNotAllowed},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.code {
			t.Errorf("%s %s = %d, want %d", tc.method, tc.path, resp.StatusCode, tc.code)
		}
		if tc.code != http.StatusOK {
			continue
		}
		for k, want := range map[string]string{
			"Content-Type":            "text/html; charset=utf-8",
			"Content-Security-Policy": contentSecurityPolicy,
			"X-Content-Type-Options":  "nosniff",
		} {
			if got := resp.Header.Get(k); got != want {
				t.Errorf("%s %s: %s = %q, want %q", tc.method, tc.path, k, got, want)
			}
		}
	}

	// The policy allows the served style sheet by its hash, and nothing
	// inline besides.
	resp, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	styles := pagetest.FindAll(pagetest.Parse(t, resp.Body), pagetest.Tag("style"))
	if len(styles) != 1 || styles[0].FirstChild == nil {
		t.Fatalf("%d style elements, want 1", len(styles))
	}
	sum := sha256.Sum256([]byte(styles[0].FirstChild.Data))
	csp := resp.Header.Get("Content-Security-Policy")
	if want := "style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "';"; !strings.Contains(csp, want) || strings.Contains(csp, "unsafe") {
		t.Errorf("Content-Security-Policy %q, want %q and nothing unsafe", csp, want)
	}
	if !strings.HasPrefix(csp, "default-src 'none';") {
		t.Errorf("Content-Security-Policy %q does not start by allowing nothing", csp)
	}
}

// TestBudgetMeterRegions: the budget bar's value lies in the <meter> region
// the HTML standard makes a browser draw as the page means it: under 80 %
// the optimum (green), from 80 % to 100 % the middle (amber), past 100 %
// above high, the worst (red). A value pinned at max=100 would stay amber
// however far the budget is overspent.
func TestBudgetMeterRegions(t *testing.T) {
	for _, tc := range []struct {
		spent  float64
		region string
	}{
		{500, "optimum"}, {900, "middle"}, {1000, "middle"}, {1200, "worst"}, {2500, "worst"},
	} {
		g := Group{Name: "a", Month: Period{Attempted: true, Up: true, Figures: month(usd("sms", tc.spent))}, Budget: &Money{1000, "USD"}}
		card := pagetest.Group(t, render(t, basePage(g)), "a")
		meters := pagetest.FindAll(card, pagetest.Tag("meter"))
		if len(meters) != 1 {
			t.Fatalf("spent %v: %d meters, want 1", tc.spent, len(meters))
		}
		attr := map[string]float64{}
		for _, k := range []string{"min", "max", "low", "high", "optimum", "value"} {
			s, _ := pagetest.Attr(meters[0], k)
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatalf("spent %v: meter %s=%q: %v", tc.spent, k, s, err)
			}
			attr[k] = v
		}
		// The standard's regions, for an optimum below low; the value is
		// first clamped to [min, max].
		v := math.Min(math.Max(attr["value"], attr["min"]), attr["max"])
		region := "middle"
		switch {
		case attr["optimum"] >= attr["low"]:
			t.Fatalf("spent %v: optimum %v is not below low %v", tc.spent, attr["optimum"], attr["low"])
		case v < attr["low"]:
			region = "optimum"
		case v > attr["high"]:
			region = "worst"
		}
		if region != tc.region {
			t.Errorf("spent %v of 1000: meter %v draws in the %s region, want %s", tc.spent, attr, region, tc.region)
		}
		if attr["value"] != tc.spent/10 {
			t.Errorf("spent %v of 1000: meter value %v, want %v", tc.spent, attr["value"], tc.spent/10)
		}
	}
}

// TestRenderer: the page is rendered once per key and its bytes shared; a
// new key renders again; a request whose context ends while another renders
// gets its context's error, and the handler answers it 503.
func TestRenderer(t *testing.T) {
	rend := NewRenderer()
	renders := 0
	page := func(name string) func() Page {
		return func() Page { renders++; return basePage(Group{Name: name}) }
	}
	first, err := rend.Body(context.Background(), 1, page("a"))
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if b, err := rend.Body(context.Background(), 1, page("a")); err != nil || !bytes.Equal(b, first) {
			t.Fatalf("same key: %v, or other bytes", err)
		}
	}
	if renders != 1 {
		t.Errorf("11 requests of one key rendered %d times, want 1", renders)
	}
	b, err := rend.Body(context.Background(), 2, page("b"))
	if err != nil || renders != 2 || !bytes.Contains(b, []byte(">b<")) {
		t.Errorf("new key: %v, %d renders, want 2 and the new page", err, renders)
	}

	// A render in progress: the next request waits, and gives up when its
	// context ends.
	rendering, finish := make(chan struct{}), make(chan struct{})
	done := make(chan error)
	go func() {
		_, err := rend.Body(context.Background(), 3, func() Page {
			close(rendering)
			<-finish
			return basePage(Group{Name: "c"})
		})
		done <- err
	}()
	<-rendering
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	h := Handler(func(r *http.Request) ([]byte, error) { return rend.Body(r.Context(), 3, page("c")) })
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "1" {
		t.Errorf("request whose context ended while another renders: %d %q, want 503 with Retry-After", rec.Code, rec.Body.String())
	}
	close(finish)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if renders != 2 {
		t.Errorf("%d renders of the test's own pages, want 2", renders)
	}
}

// TestOwnerLabels: a group's owner labels show under its name, by name, as
// text; a group without them shows no owners line.
func TestOwnerLabels(t *testing.T) {
	owned := Group{Name: "payments", Labels: map[string]string{"team": "payments", "owner": "<b>alice</b>"}, Month: Period{Attempted: true, Up: true, Figures: month(usd("sms", 1))}}
	plain := Group{Name: "plain", Month: Period{Attempted: true, Up: true, Figures: month(usd("sms", 1))}}
	doc := render(t, basePage(owned, plain))
	if got, want := pagetest.Field(t, pagetest.Group(t, doc, "payments"), "owners"), "owner: <b>alice</b>, team: payments"; got != want {
		t.Errorf("owners = %q, want %q", got, want)
	}
	if n := pagetest.FindAll(pagetest.Group(t, doc, "plain"), pagetest.WithAttr("data-field", "owners")); len(n) != 0 {
		t.Errorf("a group without owner labels has an owners line: %v", n)
	}
}

// The year to date says which year it is: this year, or the fiscal year
// and its first day, for each group and for the organization, in a label
// no longer than the card's others (a longer one squeezes the figures).
func TestFiscalYearLabel(t *testing.T) {
	// label is the text of the <dt> just before the field's <dd>.
	label := func(n *html.Node, field string) string {
		t.Helper()
		dd := pagetest.FindAll(n, pagetest.WithAttr("data-field", field))
		if len(dd) != 1 {
			t.Fatalf("%d %s fields, want 1", len(dd), field)
		}
		for dt := dd[0].PrevSibling; dt != nil; dt = dt.PrevSibling {
			if dt.Type == html.ElementNode {
				return pagetest.Text(dt)
			}
		}
		return ""
	}
	start := time.Date(2025, time.April, 1, 0, 0, 0, 0, time.UTC)
	g := Group{Name: "a", Month: Period{Attempted: true, Up: true, Figures: month(usd("sms", 10))},
		YearToDate: &Period{Attempted: true, Up: true, Figures: &Figures{Start: start, End: start.AddDate(1, 0, 0), Costs: []Cost{usd("sms", 3500)}}}}
	for _, tc := range []struct {
		yearStart time.Month
		want      string
		lines     []string // the year's field
	}{
		{0, "Spent this year", []string{"USD 3,500.00"}},
		{time.January, "Spent this year", []string{"USD 3,500.00"}},
		{time.April, "Fiscal year to date", []string{"USD 3,500.00", "from 1 April"}},
		{time.December, "Fiscal year to date", []string{"USD 3,500.00", "from 1 December"}},
	} {
		p := basePage(g)
		p.YearStart = tc.yearStart
		p.Reporting = &Reporting{Currency: "USD", AsOf: start, Rates: map[string]float64{"USD": 1}}
		doc := render(t, p)
		card := pagetest.Group(t, doc, "a")
		if got := label(card, "year"); got != tc.want {
			t.Errorf("year starting in %s: the group's year is labelled %q, want %q", tc.yearStart, got, tc.want)
		}
		if got := pagetest.Lines(t, card, "year"); !slices.Equal(got, tc.lines) {
			t.Errorf("year starting in %s: the group's year says %q, want %q", tc.yearStart, got, tc.lines)
		}
		if got := label(doc, "organization-year"); got != tc.want {
			t.Errorf("year starting in %s: the organization's year is labelled %q, want %q", tc.yearStart, got, tc.want)
		}
		if got := pagetest.Lines(t, doc, "organization-year"); !slices.Equal(got, tc.lines) {
			t.Errorf("year starting in %s: the organization's year says %q, want %q", tc.yearStart, got, tc.lines)
		}
	}
}
