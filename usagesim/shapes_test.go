package usagesim

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

func TestShapeDailyByDefault(t *testing.T) {
	h := newHarness(t, Options{Shapes: Shapes{DefaultAggregation: "DAILY"}})
	tok := h.token()
	unsent, _ := h.walk(groupB, tok, map[string]any{"timePeriod": "THIS_MONTH", "pageSize": 1000})
	monthly, _ := h.walk(groupB, tok, map[string]any{"timePeriod": "THIS_MONTH", "aggregationPeriod": "MONTHLY", "pageSize": 1000})
	if len(unsent) != 15*len(monthly) || unsent[0].StartDate != "2026-03-01" || unsent[0].EndDate != "2026-03-01" {
		t.Errorf("no aggregationPeriod: %d records from %s..%s, want %d DAILY rows", len(unsent), unsent[0].StartDate, unsent[0].EndDate, 15*len(monthly))
	}
	if monthly[0].StartDate != "2026-03-01" || monthly[0].EndDate != "2026-03-15" {
		t.Errorf("MONTHLY asked: first record %s..%s, want the month's roll-up", monthly[0].StartDate, monthly[0].EndDate)
	}

	h.s.SetShapes(Shapes{DefaultAggregation: "DAILY", IgnoreAggregation: true})
	ignored, _ := h.walk(groupB, tok, map[string]any{"timePeriod": "THIS_MONTH", "aggregationPeriod": "MONTHLY", "pageSize": 1000})
	if !reflect.DeepEqual(ignored, unsent) {
		t.Errorf("IgnoreAggregation: MONTHLY asked, got %d records, want the %d DAILY rows", len(ignored), len(unsent))
	}
}

func TestShapeOverlappingRollups(t *testing.T) {
	h := newHarness(t, Options{Shapes: Shapes{OverlappingRollups: true}})
	tok := h.token()
	q := map[string]any{"timePeriod": "THIS_MONTH", "pageSize": 1000}
	daily, _ := h.walk(groupB, tok, merge(q, map[string]any{"aggregationPeriod": "DAILY"}))
	monthly, _ := h.walk(groupB, tok, merge(q, map[string]any{"aggregationPeriod": "MONTHLY"}))
	h.s.SetShapes(Shapes{})
	plainDaily, _ := h.walk(groupB, tok, merge(q, map[string]any{"aggregationPeriod": "DAILY"}))
	plainMonthly, _ := h.walk(groupB, tok, merge(q, map[string]any{"aggregationPeriod": "MONTHLY"}))
	if want := append(append([]WireRecord{}, plainMonthly...), plainDaily...); !reflect.DeepEqual(daily, want) {
		t.Errorf("DAILY answer: %d records, want the %d roll-ups then the %d days", len(daily), len(plainMonthly), len(plainDaily))
	}
	if want := append(append([]WireRecord{}, plainMonthly...), plainDaily...); !reflect.DeepEqual(monthly, want) {
		t.Errorf("MONTHLY answer: %d records, want the %d roll-ups then the %d days", len(monthly), len(plainMonthly), len(plainDaily))
	}
}

func TestShapeRepeatAcrossPages(t *testing.T) {
	h := newHarness(t, Options{Shapes: Shapes{RepeatAcrossPages: true}})
	tok := h.token()
	q := map[string]any{"timePeriod": "THIS_MONTH", "aggregationPeriod": "DAILY", "pageSize": 7}
	_, pages := h.walk(groupB, tok, q)
	h.s.SetShapes(Shapes{})
	want, _ := h.walk(groupB, tok, q)
	var got []WireRecord
	for i, p := range pages {
		if i > 0 {
			prev := pages[i-1].Records
			if !reflect.DeepEqual(p.Records[0], prev[len(prev)-1]) {
				t.Fatalf("page %d does not start with the last record of page %d", i+1, i)
			}
			p.Records = p.Records[1:]
		}
		got = append(got, p.Records...)
	}
	if len(pages) < 3 || !reflect.DeepEqual(got, want) {
		t.Errorf("%d pages; without the repeats %d records, want the %d of plain paging in order", len(pages), len(got), len(want))
	}
}

func TestShapeLowerCaseCurrencyAndItemsKey(t *testing.T) {
	h := newHarness(t, Options{Shapes: Shapes{LowerCaseCurrency: true, RecordsKey: "items"}})
	a := h.post(groupB, h.token(), map[string]any{"timePeriod": "THIS_MONTH"})
	var body map[string]json.RawMessage
	if err := json.Unmarshal([]byte(a.body), &body); err != nil {
		t.Fatal(err)
	}
	var items []WireRecord
	var meta WireMeta
	if err := json.Unmarshal(body["items"], &items); err != nil || len(items) == 0 {
		t.Fatalf("items %s: %v", body["items"], err)
	}
	if err := json.Unmarshal(body["meta"], &meta); err != nil || meta.Key != "items" {
		t.Errorf("meta %s (%v), want key items", body["meta"], err)
	}
	if _, ok := body["records"]; ok {
		t.Error("the answer also has a records array")
	}
	for _, r := range items {
		if r.Price.Currency != "eur" {
			t.Fatalf("currency %q, want eur", r.Price.Currency)
		}
	}
}

func TestShapesRefused(t *testing.T) {
	defer func() {
		if r := recover(); r != `usagesim: Shapes.DefaultAggregation "WEEKLY" is not DAILY or MONTHLY` {
			t.Errorf("panic %v", r)
		}
	}()
	New(Options{Shapes: Shapes{DefaultAggregation: "WEEKLY"}})
}

// TestMonthlyEqualsDailyForAnyRange: for random ranges, every product's
// MONTHLY figures are exactly the sum of its DAILY rows.
func TestMonthlyEqualsDailyForAnyRange(t *testing.T) {
	h := newHarness(t, Options{})
	tok := h.token()
	rng := rand.New(rand.NewPCG(11, 12))
	first := time.Date(2025, 3, 16, 0, 0, 0, 0, time.UTC)
	for range 25 {
		start := first.AddDate(0, 0, rng.IntN(365))
		end := start.AddDate(0, 0, rng.IntN(70))
		q := map[string]any{"startDate": start.Format(dateLayout), "endDate": end.Format(dateLayout), "pageSize": 1000}
		monthly, _ := h.walk(groupA, tok, merge(q, map[string]any{"aggregationPeriod": "MONTHLY"}))
		daily, _ := h.walk(groupA, tok, merge(q, map[string]any{"aggregationPeriod": "DAILY"}))
		sums, monthSums := productSums(t, daily), productSums(t, monthly)
		if len(monthly) == 0 || len(sums) != len(monthSums) {
			t.Fatalf("%v: MONTHLY rows of %d products, DAILY rows of %d", q, len(monthSums), len(sums))
		}
		for k, want := range monthSums {
			if sums[k] != want {
				t.Errorf("%s..%s %s: DAILY sums %+v, MONTHLY %+v", q["startDate"], q["endDate"], k.name, sums[k], want)
			}
		}
	}
}

// TestShapeOverlappingRollupsOverAYear: a MONTHLY answer of several months
// holds the months, then the days, then the roll-up of the whole range.
func TestShapeOverlappingRollupsOverAYear(t *testing.T) {
	h := newHarness(t, Options{Shapes: Shapes{OverlappingRollups: true}})
	tok := h.token()
	q := map[string]any{"timePeriod": "THIS_YEAR", "pageSize": 1000}
	monthly, _ := h.walk(groupB, tok, merge(q, map[string]any{"aggregationPeriod": "MONTHLY"}))
	h.s.SetShapes(Shapes{})
	plainMonthly, _ := h.walk(groupB, tok, merge(q, map[string]any{"aggregationPeriod": "MONTHLY"}))
	plainDaily, _ := h.walk(groupB, tok, merge(q, map[string]any{"aggregationPeriod": "DAILY"}))
	h.s.SetShapes(Shapes{RangeRollups: true})
	rollups, _ := h.walk(groupB, tok, merge(q, map[string]any{"aggregationPeriod": "MONTHLY"}))
	if len(rollups) >= len(plainMonthly) {
		t.Fatalf("%d roll-ups of the year, %d monthly rows: the range spans one month, the test shows nothing", len(rollups), len(plainMonthly))
	}
	if want := append(append(append([]WireRecord{}, plainMonthly...), plainDaily...), rollups...); !reflect.DeepEqual(monthly, want) {
		t.Errorf("MONTHLY answer: %d records, want the %d months, the %d days, then the %d roll-ups", len(monthly), len(plainMonthly), len(plainDaily), len(rollups))
	}
}
