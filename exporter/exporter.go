// Package exporter ties the configuration to the Usage API client and the
// cache it refreshes, and owns reloads: what main starts, the server serves
// and the probe and the backfill build their clients with.
package exporter

import (
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/collector"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/config"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/twilio"
)

// Options are the command line's settings the exporter runs with.
type Options struct {
	// TwilioTimeout is --twilio.timeout: the bound of one refresh of one
	// group and period, and of how long readiness waits for the first.
	TwilioTimeout time.Duration
	// CacheTTL is --cache.ttl, month to date's lifetime.
	CacheTTL time.Duration
	// Concurrency is --twilio.concurrency.
	Concurrency int
	// Now is the cache's clock; nil means time.Now. Tests set it to drive
	// cache lifetimes by count instead of by waiting.
	Now func() time.Time
}

// Exporter ties the configuration, the Twilio client and the cache
// together, and owns reloads.
type Exporter struct {
	load     func() (*config.Config, error)
	logger   log.Logger
	requests *collector.RequestMetrics
	timeout  time.Duration // --twilio.timeout
	monthTTL time.Duration // --cache.ttl
	cache    *collector.Cache
	encInfo  *encodingInfo // the current client's request encoding
	rates    *reportingRates
	// yearStart is the month the year period starts in, exported for the
	// rules and dashboards: 1 for the calendar year.
	yearStart prometheus.Gauge

	reloadOK   prometheus.Gauge
	reloadTime prometheus.Gauge
	loadsMu    sync.Mutex
	loads      LoadStatus // the same outcomes, for the landing page

	mu  sync.Mutex // serialises reloads
	cfg *config.Config

	now     func() time.Time // the cache's clock
	started time.Time        // when the exporter was built, by now
	ready   atomic.Bool      // readiness latched: it never goes back
}

// LoadStatus is the outcome of the configuration's loads: whether the latest
// succeeded, and when the latest success and failure were.
type LoadStatus struct {
	OK                       bool
	LastSuccess, LastFailure time.Time
}

// New loads the configuration once and builds the client and the cache from
// it; its metrics (reloads, requests, the request encoding) go to reg.
func New(o Options, load func() (*config.Config, error), reg prometheus.Registerer, logger log.Logger) (*Exporter, error) {
	cfg, err := load()
	if err != nil {
		return nil, err
	}
	e := &Exporter{
		load:     load,
		logger:   logger,
		requests: collector.NewRequestMetrics(reg),
		timeout:  o.TwilioTimeout,
		monthTTL: o.CacheTTL,
		reloadOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "twilio_exporter_config_last_reload_successful",
			Help: "1 if the latest configuration reload succeeded, else 0.",
		}),
		reloadTime: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "twilio_exporter_config_last_reload_success_timestamp_seconds",
			Help: "When the configuration was last loaded successfully, as a Unix timestamp.",
		}),
		yearStart: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "twilio_billing_fiscal_year_start_month",
			Help: "The month the year period (twilio_billing_group_this_year_*) and the annual budgets start in, on its 1st at 00:00 UTC: 1 for the calendar year, else fiscal_year_start.month.",
		}),
		cfg: cfg,
		now: o.Now,
	}
	if e.now == nil {
		e.now = time.Now
	}
	e.started = e.now()
	e.encInfo = newEncodingInfo()
	e.rates = newReportingRates()
	e.exportConfig(cfg)
	reg.MustRegister(e.reloadOK, e.reloadTime, e.encInfo, e.rates, e.yearStart)
	logWarnings(logger, cfg)
	client, err := e.newClient(cfg)
	if err != nil {
		return nil, err
	}
	e.encInfo.client.Store(client)
	e.cache = collector.NewCache(client, Groups(cfg, o.CacheTTL), collector.CacheOptions{
		// A failing group is retried after a minute, or sooner with a
		// shorter --cache.ttl.
		RetryInterval:  min(o.CacheTTL, collector.DefaultRetryInterval),
		RefreshTimeout: o.TwilioTimeout,
		Concurrency:    o.Concurrency,
		Now:            o.Now,
		Logger:         logger,
	})
	e.loaded(true)
	level.Info(logger).Log("msg", "Loaded configuration", "billing_groups", len(cfg.BillingGroups))
	return e, nil
}

// exportConfig makes the metrics that export settings of cfg (the reporting
// currency, the year's first month) say cfg's.
func (e *Exporter) exportConfig(cfg *config.Config) {
	e.rates.set(cfg)
	e.yearStart.Set(float64(cfg.YearStart()))
}

// Cache is the cache the exporter refreshes: what scrapes and the landing
// page read.
func (e *Exporter) Cache() *collector.Cache { return e.cache }

// ReportingCurrency is the running configuration's reporting currency; nil
// without one.
func (e *Exporter) ReportingCurrency() *config.ReportingCurrency { return e.rates.cur.Load() }

// Loads is the outcome of the configuration's loads so far.
func (e *Exporter) Loads() LoadStatus {
	e.loadsMu.Lock()
	defer e.loadsMu.Unlock()
	return e.loads
}

// Start warms the cache, so that the first scrape finds data, and returns
// at once.
func (e *Exporter) Start() { e.cache.Refresh() }

// Close stops the refreshes still running and waits for them.
func (e *Exporter) Close() { e.cache.Close() }

// newClient builds a Usage API client from cfg as the exporter runs it.
func (e *Exporter) newClient(cfg *config.Config) (*twilio.Client, error) {
	return NewClient(cfg, e.timeout, e.requests.Observe, e.logger)
}

// Reload loads the configuration again. A bad one is logged and rejected and
// the running one stays; a good one replaces it, and groups whose ID and
// category filters are unchanged keep their cached usage.
func (e *Exporter) Reload() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	err := e.apply()
	if err != nil {
		e.loaded(false)
		level.Error(e.logger).Log("msg", "Configuration reload failed; keeping the running configuration", "err", err)
		return err
	}
	e.loaded(true)
	level.Info(e.logger).Log("msg", "Reloaded configuration", "billing_groups", len(e.cfg.BillingGroups))
	return nil
}

// loaded records the outcome of a load or reload, now.
func (e *Exporter) loaded(ok bool) {
	now := time.Now()
	e.loadsMu.Lock()
	defer e.loadsMu.Unlock()
	e.loads.OK = ok
	if ok {
		e.loads.LastSuccess = now
		e.reloadOK.Set(1)
		e.reloadTime.Set(float64(now.UnixNano()) / 1e9)
	} else {
		e.loads.LastFailure = now
		e.reloadOK.Set(0)
	}
}

func (e *Exporter) apply() error {
	cfg, err := e.load()
	if err != nil {
		return err
	}
	groups := Groups(cfg, e.monthTTL)
	if reflect.DeepEqual(cfg.Twilio, e.cfg.Twilio) {
		e.cache.SetGroups(groups) // the client keeps its token and what it learnt
	} else {
		client, err := e.newClient(cfg)
		if err != nil {
			return err
		}
		e.cache.SetFetcherAndGroups(client, groups)
		e.encInfo.client.Store(client) // it learns the request shape afresh
	}
	e.cfg = cfg
	e.exportConfig(cfg)
	logWarnings(e.logger, cfg)
	e.cache.Refresh()
	return nil
}

// Readiness says how many fetched periods of the configured groups have not
// finished their first refresh, and for how much longer readiness waits for
// them. The exporter is ready once every one has finished, successfully or
// not, or --twilio.timeout (the bound of one refresh) after it started,
// whichever comes first; then it stays ready, reloads included. A rollout
// thus replaces a pod only once the new one has data to serve, and a
// failing Twilio delays it by one refresh timeout at most.
func (e *Exporter) Readiness() (waiting int, left time.Duration) {
	if e.ready.Load() {
		return 0, 0
	}
	left = e.timeout - e.now().Sub(e.started)
	if left > 0 {
		for _, g := range e.cache.State().Groups {
			for _, p := range g.Periods {
				if p.Fetched && !p.Attempted {
					waiting++
				}
			}
		}
	}
	if waiting == 0 {
		e.ready.Store(true)
	}
	return waiting, left
}
