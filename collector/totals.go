package collector

import (
	"time"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/twilio"
)

// Figures is what the records of one billing group and one period come to,
// as the exporter serves them: cost and usage per label set, and the
// products named, after the group's category filters.
type Figures struct {
	Costs, Usages []Sample
	Products      []Product
}

// BackfillTotals adds up records of group g for the period [start, end)
// (UTC midnights) with the same rules as a live refresh: Sum's money and
// overlap rules, then the group's category filters and series limit, so that
// history written by the backfill command equals what the exporter would have
// served. Records outside the period, that would count usage twice, or that
// make more series than the group allows are an error.
func BackfillTotals(g Group, records []twilio.Record, start, end time.Time) (Figures, error) {
	t, err := Sum(records, start, end)
	if err != nil {
		return Figures{}, err
	}
	return BackfillFigures(g, t)
}

// BackfillFigures is what the exact totals t of group g come to as a live
// refresh serves them: the group's category filters, each sum converted to
// float64 once, and the series limit, which is an error.
func BackfillFigures(g Group, t *Totals) (Figures, error) {
	s := newSnapshot(g, &twilio.Usage{}, t, time.Time{}, time.Time{}, time.Time{})
	if err := checkSeries(g, s); err != nil {
		return Figures{}, err
	}
	return Figures{Costs: s.Costs, Usages: s.Usages, Products: s.Products}, nil
}

// Add returns t + u, exactly: the totals of two disjoint spans of days,
// equal to what Sum returns for their records together (the amounts of a
// label set added as decimals, the products named by either). A nil Totals
// is empty. It lets the backfill keep the year to date as running totals
// of the months before, rather than a year of records.
func (t *Totals) Add(u *Totals) *Totals {
	if t == nil {
		t = &Totals{}
	}
	if u == nil {
		u = &Totals{}
	}
	addAmounts := func(x, y Total) Total { x.Amount = x.Amount.Add(y.Amount); return x }
	return &Totals{
		Costs:    merge(t.Costs, u.Costs, byLabels, addAmounts),
		Usages:   merge(t.Usages, u.Usages, byLabels, addAmounts),
		Products: merge(t.Products, u.Products, byProduct, func(p, _ Product) Product { return p }),
	}
}

// merge merges a and b, both sorted by compare into a new slice sorted
// the same way, combining an element of a with the equal one of b.
func merge[T any](a, b []T, compare func(x, y T) int, combine func(x, y T) T) []T {
	out := make([]T, 0, max(len(a), len(b)))
	for len(a) > 0 && len(b) > 0 {
		switch c := compare(a[0], b[0]); {
		case c < 0:
			out, a = append(out, a[0]), a[1:]
		case c > 0:
			out, b = append(out, b[0]), b[1:]
		default:
			out, a, b = append(out, combine(a[0], b[0])), a[1:], b[1:]
		}
	}
	return append(append(out, a...), b...)
}
