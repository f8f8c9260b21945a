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
	s := newSnapshot(g, &twilio.Usage{Records: records}, t, start, end, time.Time{})
	if err := checkSeries(g, s); err != nil {
		return Figures{}, err
	}
	return Figures{Costs: s.Costs, Usages: s.Usages, Products: s.Products}, nil
}
