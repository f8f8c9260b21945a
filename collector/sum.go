package collector

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/twilio"
)

// Total is one exact sum and the two labels it is summed under: product
// category, and the unit of the amount.
type Total struct {
	Category string
	// Unit is the currency of a cost (Totals.Costs), the usage unit of a
	// usage (Totals.Usages).
	Unit   string
	Amount twilio.Decimal
}

// Totals are the exact sums of one billing group's records over one period.
type Totals struct {
	Costs    []Total   // by category and currency, sorted
	Usages   []Total   // by category and unit, sorted
	Products []Product // the products named, sorted
}

// Sum checks that records can be added up without counting any usage twice
// or counting usage of another period, and adds them up exactly. It is the
// money rule of the exporter, for the live cache and for anything else that
// turns records into figures:
//
//   - every record's start and end dates lie within [start, end) (end
//     exclusive, as Period.Bounds returns), the start not after the end; a
//     date the API left out is taken to be the period's, so a record without
//     dates covers the whole period;
//   - records of the same product, category, unit and currency cover
//     disjoint date ranges: a MONTHLY roll-up beside its DAILY rows, or a row
//     an offset-paged API repeats across a page boundary, would otherwise be
//     counted twice;
//   - amounts are summed as decimals (twilio.Decimal), whatever granularity
//     (DAILY or MONTHLY rows) the API answered with.
//
// Otherwise it returns an error naming the offending records by page and
// index and no totals: a figure is either exact or not served.
func Sum(records []twilio.Record, start, end time.Time) (*Totals, error) {
	last := end.AddDate(0, 0, -1) // the period's last day
	period := fmt.Sprintf("%s to %s", start.Format(twilio.DateLayout), last.Format(twilio.DateLayout))
	spans := make([]span, len(records))
	for i := range records {
		r := &records[i]
		sp := span{r.StartDate, r.EndDate}
		if sp.first.IsZero() {
			sp.first = start
		}
		if sp.last.IsZero() {
			sp.last = last
		}
		within := func(d time.Time) bool { return d.IsZero() || (!d.Before(start) && !d.After(last)) }
		switch {
		case !within(r.StartDate) || !within(r.EndDate):
			return nil, fmt.Errorf("%s lies outside the period (%s): the API answered for another period", describe(r), period)
		case sp.last.Before(sp.first):
			return nil, fmt.Errorf("%s ends before it starts", describe(r))
		}
		spans[i] = sp
	}
	if err := checkOverlaps(records, spans); err != nil {
		return nil, err
	}

	type labels struct{ category, unit string }
	costAt := make(map[labels]int, len(records))
	usageAt := make(map[labels]int, len(records))
	products := make(map[Product]struct{}, len(records))
	t := &Totals{}
	add := func(s *[]Total, at map[labels]int, k labels, v twilio.Decimal) {
		i, ok := at[k]
		if !ok {
			i = len(*s)
			at[k] = i
			*s = append(*s, Total{Category: k.category, Unit: k.unit})
		}
		(*s)[i].Amount = (*s)[i].Amount.Add(v)
	}
	for i := range records {
		r := &records[i]
		add(&t.Costs, costAt, labels{r.ProductCategory, r.Currency}, r.PriceAmount)
		add(&t.Usages, usageAt, labels{r.ProductCategory, r.UsageUnit}, r.UsageAmount)
		if p := (Product{r.ProductCategory, r.ProductName}); p.Name != "" {
			if _, ok := products[p]; !ok {
				products[p] = struct{}{}
				t.Products = append(t.Products, p)
			}
		}
	}
	slices.SortFunc(t.Costs, byLabels)
	slices.SortFunc(t.Usages, byLabels)
	slices.SortFunc(t.Products, byProduct)
	return t, nil
}

// byLabels orders totals by category, then unit: the order of Totals.Costs
// and Totals.Usages.
func byLabels(x, y Total) int {
	return cmp.Or(strings.Compare(x.Category, y.Category), strings.Compare(x.Unit, y.Unit))
}

// byProduct orders products by category, then name: the order of
// Totals.Products.
func byProduct(x, y Product) int {
	return cmp.Or(strings.Compare(x.Category, y.Category), strings.Compare(x.Name, y.Name))
}

// span is the days a record covers, first and last inclusive.
type span struct{ first, last time.Time }

// checkOverlaps reports records of the same product, category, unit and
// currency whose spans overlap, naming a pair (of the first product in the
// answer that has one) and how many more there are.
func checkOverlaps(records []twilio.Record, spans []span) error {
	// Number the keys, then sort by key number and first day: integer
	// comparisons, not four string comparisons per step.
	type key struct{ product, category, unit, currency string }
	ids := make(map[key]int, 64)
	type item struct {
		id    int
		first int64
		i     int
	}
	order := make([]item, len(records))
	for i := range records {
		r := &records[i]
		k := key{r.ProductName, r.ProductCategory, r.UsageUnit, r.Currency}
		id, ok := ids[k]
		if !ok {
			id = len(ids)
			ids[k] = id
		}
		order[i] = item{id, spans[i].first.Unix(), i}
	}
	slices.SortFunc(order, func(a, b item) int {
		return cmp.Or(cmp.Compare(a.id, b.id), cmp.Compare(a.first, b.first), cmp.Compare(a.i, b.i))
	})
	var first [2]int
	n := 0
	// Within one key, sorted by start: a record overlaps an earlier one iff
	// it starts on or before the latest end seen so far.
	latest := -1 // index of the record with the latest end in the current key
	for k, it := range order {
		i := it.i
		if k == 0 || order[k-1].id != it.id {
			latest = i
			continue
		}
		if !spans[i].first.After(spans[latest].last) {
			if n == 0 {
				first = [2]int{latest, i}
			}
			n++
		}
		if spans[i].last.After(spans[latest].last) {
			latest = i
		}
	}
	if n == 0 {
		return nil
	}
	a, b := &records[first[0]], &records[first[1]]
	if a.Page > b.Page || (a.Page == b.Page && a.Index > b.Index) {
		a, b = b, a
	}
	more := ""
	if n > 1 {
		more = fmt.Sprintf(" (and %d more overlapping records)", n-1)
	}
	return fmt.Errorf("%s overlaps %s%s: the same usage would be counted twice", describe(a), describe(b), more)
}

// describe names a record for an error: where it was in the answer and what
// it is.
func describe(r *twilio.Record) string {
	var b strings.Builder
	if r.Page > 0 {
		fmt.Fprintf(&b, "page %d ", r.Page)
	}
	fmt.Fprintf(&b, "record %d (%q %q, %s %s", r.Index, r.ProductCategory, r.ProductName, r.UsageUnit, r.Currency)
	if !r.StartDate.IsZero() || !r.EndDate.IsZero() {
		fmt.Fprintf(&b, ", %s to %s", formatDate(r.StartDate), formatDate(r.EndDate))
	}
	b.WriteByte(')')
	return b.String()
}

// formatDate is a record date as the API sends it, or "?" when it sent none.
func formatDate(t time.Time) string {
	if t.IsZero() {
		return "?"
	}
	return t.Format(twilio.DateLayout)
}
