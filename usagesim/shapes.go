package usagesim

import (
	"fmt"
	"net/http"
	"strings"
)

// Shapes make the simulated API answer in ways Twilio's docs allow but
// their example does not show, so that the exporter is tested against more
// than one reading of the docs. The zero value answers like the example.
type Shapes struct {
	// DefaultAggregation is the aggregationPeriod of a request that sends
	// none: "MONTHLY" (when empty) or "DAILY"; the docs do not say.
	DefaultAggregation string
	// IgnoreAggregation answers with DefaultAggregation's rows whatever
	// aggregationPeriod a request sends, like an API that does not honour
	// the parameter.
	IgnoreAggregation bool
	// RangeRollups answers MONTHLY with one row per product for the whole
	// range, however many calendar months it spans (THIS_YEAR, a long
	// startDate..endDate), instead of one per product and calendar month:
	// the docs do not say which.
	RangeRollups bool
	// OverlappingRollups adds, for each product, the roll-up of the whole
	// range before its rows in a DAILY answer, and the DAILY rows after the
	// MONTHLY ones in a MONTHLY answer, then the roll-up of the whole range
	// if the answer has a row per calendar month of several: the same usage
	// twice.
	OverlappingRollups bool
	// RepeatAcrossPages pages by offset with an overlap: each page after the
	// first starts with the last record of the page before (unless pages
	// hold one record).
	RepeatAcrossPages bool
	// LowerCaseCurrency sends currency codes in lower case ("usd").
	LowerCaseCurrency bool
	// RecordsKey is the key of the records array; "" means "records".
	// meta.key says "items" either way, as in the docs' example.
	RecordsKey string
}

// granularity is the rows of an answer, given the aggregationPeriod the
// request sent ("" when none).
func (sh Shapes) granularity(sent string) granularity {
	agg := sent
	if sent == "" || sh.IgnoreAggregation {
		agg = sh.DefaultAggregation
	}
	switch {
	case agg == aggDaily:
		return byDay
	case sh.RangeRollups:
		return byRange
	}
	return byMonth
}

// shape alters the records of an answer as the shapes say: rows is what
// the API holds for the query at the answer's granularity g, at(x) the same
// usage at granularity x.
func (sh Shapes) shape(rows []WireRecord, at func(granularity) []WireRecord, g granularity) []WireRecord {
	if sh.OverlappingRollups {
		if g == byDay {
			rows = append(at(byRange), rows...)
		} else {
			more := at(byDay)
			if all := at(byRange); g == byMonth && len(all) < len(rows) {
				more = append(more, all...)
			}
			rows = append(rows, more...)
		}
	}
	if sh.LowerCaseCurrency {
		for i := range rows {
			rows[i].Price.Currency = strings.ToLower(rows[i].Price.Currency)
		}
	}
	return rows
}

// window returns the records [lo, hi) of a 1-based page of n records.
func (sh Shapes) window(page, pageSize, n int) (lo, hi int) {
	step := pageSize
	if sh.RepeatAcrossPages && pageSize > 1 {
		step = pageSize - 1
	}
	lo = min((page-1)*step, n)
	return lo, min(lo+pageSize, n)
}

// reply encodes a records page, with the array under RecordsKey.
func (sh Shapes) reply(page WirePage) reply {
	if sh.RecordsKey == "" || sh.RecordsKey == "records" {
		return jsonReply(http.StatusOK, page)
	}
	return jsonReply(http.StatusOK, map[string]any{"asOf": page.AsOf, sh.RecordsKey: page.Records, "meta": page.Meta})
}

// validate reports a shape the simulator cannot serve.
func (sh Shapes) validate() error {
	switch sh.DefaultAggregation {
	case "", aggDaily, aggMonthly:
	default:
		return fmt.Errorf("Shapes.DefaultAggregation %q is not DAILY or MONTHLY", sh.DefaultAggregation)
	}
	return nil
}

// SetShapes changes how the following answers are shaped, as if the API
// changed its behaviour. It panics on shapes New would refuse.
func (s *Server) SetShapes(sh Shapes) {
	if err := sh.validate(); err != nil {
		panic("usagesim: " + err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.shapes = sh
}
