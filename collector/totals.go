package collector

import (
	"fmt"
	"time"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/twilio"
)

// Totals is what the records of one billing group and one period add up to,
// as the exporter serves them: cost and usage per label set, and the
// products named.
type Totals struct {
	Costs, Usages []Sample
	Products      []Product
}

// BackfillTotals adds up records of group g for the period [start, end)
// (UTC midnights) with the same rules as a live refresh: the group's
// category filters, and the same summing, so that history written by the
// backfill command equals what the exporter would have served. A record
// ending outside the period is an error.
func BackfillTotals(g Group, records []twilio.Record, start, end time.Time) (Totals, error) {
	for i, r := range records {
		if !r.EndDate.IsZero() && (r.EndDate.Before(start) || !r.EndDate.Before(end)) {
			return Totals{}, fmt.Errorf("collector: record %d ends on %s, outside %s to %s",
				i, r.EndDate.Format(twilio.DateLayout), start.Format(twilio.DateLayout), end.AddDate(0, 0, -1).Format(twilio.DateLayout))
		}
	}
	s := newSnapshot(g, &twilio.Usage{Records: records}, start, end, time.Time{})
	return Totals{Costs: s.Costs, Usages: s.Usages, Products: s.Products}, nil
}
