package main

import (
	"runtime"
	"time"

	"github.com/prometheus/common/version"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/collector"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/landing"
)

// landingPage is the landing page's view of the exporter now: the cache's
// current state (Cache.State: it neither starts nor waits for a refresh, so
// the page never calls the API) and the configuration's load status.
func (e *exporter) landingPage(o options) landing.Page {
	now := time.Now
	if o.now != nil {
		now = o.now
	}
	st := e.cache.State()
	e.loads.mu.Lock()
	reload := landing.Reload{OK: e.loads.ok, LastSuccess: e.loads.lastSuccess, LastFailure: e.loads.lastFailure}
	e.loads.mu.Unlock()
	p := landing.Page{
		Now:         now(),
		Demo:        o.demo,
		Reload:      reload,
		MetricsPath: o.telemetryPath,
		Build: landing.Build{
			Version: version.Version, Revision: version.Revision, Branch: version.Branch,
			BuildDate: version.BuildDate, GoVersion: runtime.Version(),
		},
		Groups: make([]landing.Group, 0, len(st.Groups)),
	}
	for _, gs := range st.Groups {
		g := landing.Group{
			Name:       gs.Group.Label,
			Month:      landingPeriod(gs.Periods[collector.ThisMonth]),
			Yesterday:  landingOptionalPeriod(gs.Periods[collector.Yesterday]),
			LastMonth:  landingOptionalPeriod(gs.Periods[collector.LastMonth]),
			YearToDate: landingOptionalPeriod(gs.Periods[collector.ThisYear]),
			Labels:     gs.Group.Labels,
		}
		if b := gs.Group.Budget; b != nil {
			g.Budget = &landing.Money{Amount: b.Amount, Currency: b.Currency}
		}
		if b := gs.Group.AnnualBudget; b != nil {
			g.AnnualBudget = &landing.Money{Amount: b.Amount, Currency: b.Currency}
		}
		p.Groups = append(p.Groups, g)
	}
	return p
}

// landingOptionalPeriod is nil for a period the group does not fetch.
func landingOptionalPeriod(ps collector.PeriodState) *landing.Period {
	if !ps.Fetched {
		return nil
	}
	p := landingPeriod(ps)
	return &p
}

func landingPeriod(ps collector.PeriodState) landing.Period {
	p := landing.Period{Attempted: ps.Attempted, Up: ps.Up, LastSuccess: ps.LastSuccess, Error: ps.LastError}
	if s := ps.Snapshot; s != nil {
		f := &landing.Figures{Start: s.PeriodStart, End: s.PeriodEnd, AsOf: s.AsOf, Costs: make([]landing.Cost, 0, len(s.Costs))}
		for _, c := range s.Costs {
			f.Costs = append(f.Costs, landing.Cost{Category: c.Category, Money: landing.Money{Amount: c.Value, Currency: c.Unit}})
		}
		p.Figures = f
	}
	return p
}
