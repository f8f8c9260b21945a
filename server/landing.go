package server

import (
	"net/http"
	"runtime"
	"time"

	"github.com/prometheus/common/version"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/collector"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/landing"
)

// landingKey is what the landing page shows: a cache state, a reload
// status and the minute its ages ("3 minutes ago") are counted in. The page
// is rendered again only when one of them changes.
type landingKey struct {
	version                  collector.Version
	ok                       bool
	lastSuccess, lastFailure int64 // Unix nanoseconds
	minute                   int64 // Unix minutes
}

// landingBody returns the landing page's bytes for a request: rendered once
// per landingKey and shared by every request that finds the key unchanged,
// as the exposition is encoded once per cache state.
func (s *Server) landingBody() func(r *http.Request) ([]byte, error) {
	now := time.Now
	if s.o.Now != nil {
		now = s.o.Now
	}
	rend := landing.NewRenderer()
	return func(r *http.Request) ([]byte, error) {
		t := now()
		st := s.ex.Cache().State()
		loads := s.ex.Loads()
		reload := landing.Reload{OK: loads.OK, LastSuccess: loads.LastSuccess, LastFailure: loads.LastFailure}
		key := landingKey{version: st.Version, ok: reload.OK, lastSuccess: reload.LastSuccess.UnixNano(),
			lastFailure: reload.LastFailure.UnixNano(), minute: t.Unix() / 60}
		return rend.Body(r.Context(), key, func() landing.Page {
			s.landingRenders.Add(1)
			return s.landingPage(t, st, reload)
		})
	}
}

// landingPage is the landing page's view of the exporter at t: the cache's
// state st (from Cache.State: it neither starts nor waits for a refresh, so
// the page never calls the API) and the configuration's load status.
func (s *Server) landingPage(t time.Time, st collector.State, reload landing.Reload) landing.Page {
	p := landing.Page{
		Now:         t,
		Demo:        s.o.Demo,
		Reload:      reload,
		MetricsPath: s.o.TelemetryPath,
		Build: landing.Build{
			Version: version.Version, Revision: version.Revision, Branch: version.Branch,
			BuildDate: version.BuildDate, GoVersion: runtime.Version(),
		},
		Groups: make([]landing.Group, 0, len(st.Groups)),
	}
	if len(st.Groups) > 0 {
		p.YearStart = st.Groups[0].Group.YearStart // every group's year starts alike
	}
	if r := s.ex.ReportingCurrency(); r != nil {
		p.Reporting = &landing.Reporting{Currency: r.Currency, AsOf: r.AsOf(), Rates: r.AllRates()}
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
