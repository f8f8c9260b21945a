package usagesim

import (
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/internal/testsupport"
)

// productKey identifies the product of a record.
type productKey struct{ name, category, unit string }

func keyOf(r WireRecord) productKey {
	return productKey{r.ProductName, r.ProductCategory, r.Usage.Unit}
}

// productSum is a product's usage in thousandths and cost in cents.
type productSum struct{ milli, cents int64 }

// productSums adds records up per product, exactly.
func productSums(t *testing.T, recs []WireRecord) map[productKey]productSum {
	t.Helper()
	sums := map[productKey]productSum{}
	for _, r := range recs {
		s := sums[keyOf(r)]
		s.milli += milli(t, r.Usage.Amount)
		s.cents += cents(t, r.Price.Amount)
		sums[keyOf(r)] = s
	}
	return sums
}

// TestDailySumsEqualMonthly: MONTHLY rows, one per product and calendar
// month (or, with RangeRollups, one per product for the whole range), add up
// to exactly the product's DAILY rows.
func TestDailySumsEqualMonthly(t *testing.T) {
	tests := []struct {
		name         string
		params       map[string]any
		first, last  string
		wantDays     int
		wantMonths   int
		wantProducts int
	}{
		{"THIS_MONTH", map[string]any{"timePeriod": "THIS_MONTH"}, "2026-03-01", "2026-03-15", 15, 1, 8},
		{"LAST_MONTH", map[string]any{"timePeriod": "LAST_MONTH"}, "2026-02-01", "2026-02-28", 28, 1, 8},
		{"YESTERDAY", map[string]any{"timePeriod": "YESTERDAY"}, "2026-03-14", "2026-03-14", 1, 1, 8},
		{"THIS_YEAR", map[string]any{"timePeriod": "THIS_YEAR"}, "2026-01-01", "2026-03-15", 74, 3, 8},
		{"range across a month", map[string]any{"startDate": "2026-01-25", "endDate": "2026-02-03"}, "2026-01-25", "2026-02-03", 10, 2, 8},
		{"range into the future", map[string]any{"startDate": "2026-03-10", "endDate": "2026-04-20"}, "2026-03-10", "2026-03-15", 6, 1, 8},
		{"one category", map[string]any{"timePeriod": "THIS_MONTH", "productCategory": "sms-outbound"}, "2026-03-01", "2026-03-15", 15, 1, 2},
	}
	for _, rollups := range []bool{false, true} {
		h := newHarness(t, Options{Shapes: Shapes{RangeRollups: rollups}})
		tok := h.token()
		for _, tc := range tests {
			t.Run(fmt.Sprintf("%s/RangeRollups=%v", tc.name, rollups), func(t *testing.T) {
				monthly, _ := h.walk(groupA, tok, merge(tc.params, map[string]any{"aggregationPeriod": "MONTHLY", "pageSize": 1000}))
				daily, _ := h.walk(groupA, tok, merge(tc.params, map[string]any{"aggregationPeriod": "DAILY", "pageSize": 1000}))
				wantMonths := tc.wantMonths
				if rollups {
					wantMonths = 1
				}
				if len(monthly) != wantMonths*tc.wantProducts {
					t.Fatalf("%d MONTHLY records, want %d months x %d products", len(monthly), wantMonths, tc.wantProducts)
				}
				if len(daily) != tc.wantDays*tc.wantProducts {
					t.Fatalf("%d DAILY records, want %d days x %d products", len(daily), tc.wantDays, tc.wantProducts)
				}
				prev := ""
				for _, r := range daily {
					if r.StartDate != r.EndDate || r.StartDate < tc.first || r.StartDate > tc.last || r.StartDate < prev {
						t.Fatalf("DAILY record dated %s..%s, want one day in %s..%s in order", r.StartDate, r.EndDate, tc.first, tc.last)
					}
					prev = r.StartDate
				}
				sums, monthSums := productSums(t, daily), productSums(t, monthly)
				for _, r := range monthly {
					// A row covers the range (RangeRollups) or the part of one
					// calendar month inside it.
					start, end := tc.first, tc.last
					if !rollups {
						m, _ := time.Parse(dateLayout, r.StartDate)
						m = time.Date(m.Year(), m.Month(), 1, 0, 0, 0, 0, time.UTC)
						start, end = max(tc.first, m.Format(dateLayout)), min(tc.last, m.AddDate(0, 1, -1).Format(dateLayout))
					}
					if r.StartDate != start || r.EndDate != end {
						t.Errorf("MONTHLY record dated %s..%s, want %s..%s", r.StartDate, r.EndDate, start, end)
					}
				}
				nonZero := 0
				for k, want := range monthSums {
					if got := sums[k]; got != want {
						t.Errorf("%s: DAILY sums %+v, MONTHLY %+v, want equal", k.name, got, want)
					}
					if want.milli == 0 && want.cents != 0 {
						t.Errorf("%s: no usage costs %d cents", k.name, want.cents)
					}
					if want.cents > 0 {
						nonZero++
					}
				}
				// Small products (a few phone numbers) may round to nothing in a day.
				if nonZero < len(monthSums)/2 {
					t.Errorf("only %d of %d products cost anything", nonZero, len(monthSums))
				}
			})
		}
	}
}

// monthTotals returns the THIS_MONTH price in cents and usage in thousandths
// summed over a group's records.
func monthTotals(t *testing.T, s *Server, group, period string) (int64, int64) {
	t.Helper()
	recs, _ := s.Records(group, period)
	var c, m int64
	for _, r := range recs {
		c += cents(t, r.Price.Amount)
		m += milli(t, r.Usage.Amount)
	}
	return c, m
}

func TestDataGrowsThroughTheMonthAndResets(t *testing.T) {
	clock := testsupport.NewClock(time.Time{})
	s := New(Options{Groups: testGroups(), Now: clock.Now})
	var lastCents, lastMilli int64
	for at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC); at.Month() == time.March; at = at.Add(5 * time.Hour) {
		clock.Set(at)
		recs, asOf := s.Records(groupA, "THIS_MONTH")
		if want := at.Format("2006-01-02"); asOf != want || recs[0].StartDate != "2026-03-01" || recs[0].EndDate != want {
			t.Fatalf("at %v: asOf %s, dates %s..%s; want %s and 2026-03-01..%s", at, asOf, recs[0].StartDate, recs[0].EndDate, want, want)
		}
		c, m := monthTotals(t, s, groupA, "THIS_MONTH")
		if c <= lastCents && at.Day() > 1 || m <= lastMilli && at.Hour() > 0 {
			t.Fatalf("at %v: THIS_MONTH %d cents %d milli did not grow from %d, %d", at, c, m, lastCents, lastMilli)
		}
		lastCents, lastMilli = c, m
	}
	// Scale 2 is about 2000 a month, so the first 31 days cost about that.
	if lastCents < 150000 || lastCents > 260000 {
		t.Errorf("March spend of a Scale 2 group = %d cents, want about 200000", lastCents)
	}

	clock.Set(time.Date(2026, 3, 31, 23, 0, 0, 0, time.UTC))
	endOfMarch, _ := monthTotals(t, s, groupA, "THIS_MONTH")

	clock.Set(time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC))
	if c, m := monthTotals(t, s, groupA, "THIS_MONTH"); c != 0 || m != 0 {
		t.Errorf("at 00:00 on the 1st, THIS_MONTH = %d cents %d milli, want 0", c, m)
	}
	lastMonth, _ := monthTotals(t, s, groupA, "LAST_MONTH")
	recs, _ := s.Records(groupA, "LAST_MONTH")
	if recs[0].StartDate != "2026-03-01" || recs[0].EndDate != "2026-03-31" {
		t.Errorf("LAST_MONTH dated %s..%s, want 2026-03-01..2026-03-31", recs[0].StartDate, recs[0].EndDate)
	}
	if lastMonth < endOfMarch || lastMonth > endOfMarch*105/100 {
		t.Errorf("LAST_MONTH on April 1 = %d cents, want slightly above THIS_MONTH at 23:00 on March 31 (%d)", lastMonth, endOfMarch)
	}

	clock.Set(time.Date(2026, 4, 1, 6, 0, 0, 0, time.UTC))
	if c, _ := monthTotals(t, s, groupA, "THIS_MONTH"); c <= 0 || c > lastMonth/20 {
		t.Errorf("at 06:00 on the 1st, THIS_MONTH = %d cents, want tiny but positive (March: %d)", c, lastMonth)
	}
}

func TestPeriodsDates(t *testing.T) {
	tests := []struct {
		now                      time.Time
		period, start, end, asOf string
	}{
		{time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC), "YESTERDAY", "2026-02-28", "2026-02-28", "2026-03-01"},
		{time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC), "LAST_MONTH", "2025-12-01", "2025-12-31", "2026-01-01"},
		{time.Date(2028, 3, 10, 8, 0, 0, 0, time.UTC), "LAST_MONTH", "2028-02-01", "2028-02-29", "2028-03-10"},
		{time.Date(2026, 7, 4, 8, 0, 0, 0, time.UTC), "THIS_YEAR", "2026-01-01", "2026-01-31", "2026-07-04"}, // January's row
		// A clock in another zone still dates by UTC.
		{time.Date(2026, 3, 31, 22, 0, 0, 0, time.FixedZone("UTC-5", -5*3600)), "THIS_MONTH", "2026-04-01", "2026-04-01", "2026-04-01"},
	}
	for _, tc := range tests {
		s := New(Options{Groups: testGroups(), Now: func() time.Time { return tc.now }})
		recs, asOf := s.Records(groupB, tc.period)
		if len(recs) == 0 || recs[0].StartDate != tc.start || recs[0].EndDate != tc.end || asOf != tc.asOf {
			t.Errorf("%s at %v: got %d records, first %+v, asOf %s; want %s..%s asOf %s", tc.period, tc.now, len(recs), recs, asOf, tc.start, tc.end, tc.asOf)
		}
	}
}

func TestSharedCategories(t *testing.T) {
	groups := append(DemoGroups(), Group{ID: "commerce_billingprofile_ONE", Currency: "USD", Categories: 1, Seed: 9})
	s := New(Options{Groups: groups, Now: func() time.Time { return midMarch }})
	for _, g := range groups {
		recs, _ := s.Records(g.ID, "THIS_MONTH")
		units := map[string][]string{}
		for _, r := range recs {
			units[r.ProductCategory] = append(units[r.ProductCategory], r.Usage.Unit)
		}
		if got := units["sms-outbound"]; !reflect.DeepEqual(got, []string{"segments", "segments"}) {
			t.Errorf("%s: sms-outbound units %v, want two records in segments", g.ID, got)
		}
		if g.Categories == 1 {
			if len(units) != 1 {
				t.Errorf("%s: %d categories, want 1", g.ID, len(units))
			}
			continue
		}
		if got := units["whatsapp-outbound"]; !reflect.DeepEqual(got, []string{"conversations", "messages"}) {
			t.Errorf("%s: whatsapp-outbound units %v, want conversations and messages", g.ID, got)
		}
		if len(units) != g.Categories || len(recs) <= g.Categories {
			t.Errorf("%s: %d records in %d categories, want more records than the %d categories", g.ID, len(recs), len(units), g.Categories)
		}
	}
}

func TestDemoGroups(t *testing.T) {
	groups := DemoGroups()
	if len(groups) < 3 {
		t.Fatalf("%d demo groups, want at least 3", len(groups))
	}
	want := map[string]string{"marketing": "USD", "support": "EUR", "platform": "GBP"}
	id := regexp.MustCompile(`^commerce_billingprofile_[A-Za-z0-9]+$`)
	for _, g := range groups {
		if !id.MatchString(g.ID) || want[g.Name] != g.Currency {
			t.Errorf("demo group %+v: want a valid ID and %s", g, want[g.Name])
		}
	}
	if groups[0].Name != "marketing" || groups[0].Categories < 40 {
		t.Errorf("first demo group %+v, want marketing with about 40 categories", groups[0])
	}
	if got := New(Options{}).Groups(); !reflect.DeepEqual(got, groups) {
		t.Errorf("default groups %v, want DemoGroups", got)
	}
}

func TestAmountFormatsAndDeterminism(t *testing.T) {
	now := func() time.Time { return midMarch }
	a := New(Options{Now: now})
	b := New(Options{Now: now})
	integer := regexp.MustCompile(`^(0|[1-9][0-9]*)$`)
	decimal := regexp.MustCompile(`^(0|[1-9][0-9]*)(\.[0-9]{1,3})?$`)
	fractional := map[string]bool{"minutes": true, "GB": true, "hours": true}
	sawFraction := false
	for _, g := range DemoGroups() {
		ra, _ := a.Records(g.ID, "THIS_MONTH")
		rb, _ := b.Records(g.ID, "THIS_MONTH")
		if !reflect.DeepEqual(ra, rb) {
			t.Errorf("%s: two servers disagree", g.Name)
		}
		for i, r := range ra {
			if i > 0 && (ra[i-1].ProductCategory > r.ProductCategory || ra[i-1].ProductCategory == r.ProductCategory && ra[i-1].ProductName >= r.ProductName) {
				t.Errorf("%s: records not sorted at %s", g.Name, r.ProductName)
			}
			re := integer
			if fractional[r.Usage.Unit] {
				re = decimal
				sawFraction = sawFraction || strings.Contains(r.Usage.Amount, ".")
			}
			if !re.MatchString(r.Usage.Amount) {
				t.Errorf("%s %s: amount %q in %s", g.Name, r.ProductName, r.Usage.Amount, r.Usage.Unit)
			}
			if r.Price.Currency != g.Currency || r.Price.Amount <= 0 || math.Round(r.Price.Amount*100)/100 != r.Price.Amount {
				t.Errorf("%s %s: price %+v, want positive cents in %s", g.Name, r.ProductName, r.Price, g.Currency)
			}
		}
	}
	if !sawFraction {
		t.Error("no fractional usage amount among the demo groups")
	}
	g := testGroups()[:1]
	other := append([]Group(nil), g...)
	other[0].Seed++
	ra, _ := New(Options{Groups: g, Now: now}).Records(groupA, "THIS_MONTH")
	rb, _ := New(Options{Groups: other, Now: now}).Records(groupA, "THIS_MONTH")
	if reflect.DeepEqual(ra, rb) {
		t.Error("a different seed gives the same data")
	}
}

func TestNewRejectsBadGroups(t *testing.T) {
	tests := []struct {
		name   string
		groups []Group
		want   string
	}{
		{"bad prefix", []Group{{ID: "billing_1", Currency: "USD"}},
			`usagesim: invalid group: ID "billing_1" must be "commerce_billingprofile_" followed by letters and digits`},
		{"bad character", []Group{{ID: "commerce_billingprofile_a-b", Currency: "USD"}},
			`usagesim: invalid group: ID "commerce_billingprofile_a-b" must be "commerce_billingprofile_" followed by letters and digits`},
		{"bad currency", []Group{{ID: "commerce_billingprofile_A", Currency: "usd"}},
			`usagesim: invalid group: group commerce_billingprofile_A: currency "usd" is not an ISO 4217 code`},
		{"negative scale", []Group{{ID: "commerce_billingprofile_A", Currency: "USD", Scale: -1}},
			`usagesim: invalid group: group commerce_billingprofile_A: Categories and Scale must not be negative`},
		{"duplicate", []Group{{ID: "commerce_billingprofile_A", Currency: "USD"}, {ID: "commerce_billingprofile_A", Currency: "EUR"}},
			`usagesim: invalid group: ID commerce_billingprofile_A appears twice`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if got := recover(); got != tc.want {
					t.Errorf("panic %v\nwant  %s", got, tc.want)
				}
			}()
			New(Options{Groups: tc.groups})
		})
	}
}

func TestSyntheticCategoriesBeyondTheCatalog(t *testing.T) {
	g := Group{ID: "commerce_billingprofile_BIG", Currency: "USD", Categories: 200, Seed: 7}
	s := New(Options{Groups: []Group{g}, Now: func() time.Time { return time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC) }})
	recs, _ := s.Records(g.ID, "THIS_MONTH")
	cats := map[string]bool{}
	synthetic := 0
	for _, r := range recs {
		if !cats[r.ProductCategory] && strings.HasPrefix(r.ProductCategory, "synthetic-") {
			synthetic++
		}
		cats[r.ProductCategory] = true
	}
	if len(cats) != 200 || synthetic != 200-len(catalogCategories()) {
		t.Errorf("%d categories, %d synthetic; want 200, %d synthetic", len(cats), synthetic, 200-len(catalogCategories()))
	}
}
