package collector

import (
	"slices"
	"strings"
	"time"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/twilio"
)

// This file turns a fetch into what a scrape serves; cache.go decides when
// to fetch.

// keep reports whether g exports category: it matches Include, if set, and
// not Exclude.
func (g Group) keep(category string) bool {
	if g.Include != nil && !g.Include.MatchString(category) {
		return false
	}
	return g.Exclude == nil || !g.Exclude.MatchString(category)
}

// Sample is one aggregated value and the two label values that tell it apart
// within a billing group: product category, and the unit the value is in.
type Sample struct {
	Category string
	// Unit is the currency of a cost (Snapshot.Costs), the usage unit of a
	// usage (Snapshot.Usages).
	Unit  string
	Value float64
}

// Product names the human-readable product behind a product category.
type Product struct {
	Category string
	Name     string
}

// Snapshot is one billing group's usage for one period, aggregated at
// refresh time so that serving it costs no more than copying it out.
type Snapshot struct {
	PeriodStart time.Time // start of the period as of when the fetch started (Period.Bounds)
	PeriodEnd   time.Time // its end (exclusive)
	AsOf        time.Time
	FetchedAt   time.Time
	Records     int // records the API returned, before category filtering
	Costs       []Sample
	Usages      []Sample
	Products    []Product
}

// newSnapshot keeps the totals of the categories g exports, converting each
// exact sum to float64 once.
func newSnapshot(g Group, u *twilio.Usage, t *Totals, start, end, fetchedAt time.Time) *Snapshot {
	samples := func(ts []Total) []Sample {
		var out []Sample
		for _, x := range ts {
			if g.keep(x.Category) {
				out = append(out, Sample{Category: x.Category, Unit: x.Unit, Value: x.Amount.Float64()})
			}
		}
		return out
	}
	var ps []Product
	for _, p := range t.Products {
		if g.keep(p.Category) {
			ps = append(ps, p)
		}
	}
	return &Snapshot{
		PeriodStart: start,
		PeriodEnd:   end,
		AsOf:        u.AsOf,
		FetchedAt:   fetchedAt,
		Records:     len(u.Records),
		Costs:       samples(t.Costs),
		Usages:      samples(t.Usages),
		Products:    ps,
	}
}

// budgetMismatch returns the currencies of s's cost series, comma-separated,
// when b is set and its currency is none of them; else "". A month with no
// cost yet is no mismatch.
func budgetMismatch(b *Budget, s *Snapshot) string {
	if b == nil || s == nil || len(s.Costs) == 0 {
		return ""
	}
	var seen []string
	for _, x := range s.Costs {
		if x.Unit == b.Currency {
			return ""
		}
		if !slices.Contains(seen, x.Unit) {
			seen = append(seen, x.Unit)
		}
	}
	slices.Sort(seen)
	return strings.Join(seen, ",")
}
