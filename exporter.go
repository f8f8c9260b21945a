package main

import (
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/version"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/collector"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/config"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/landing"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/twilio"
)

// exporter ties the configuration, the Twilio client and the cache together,
// and owns reloads.
type exporter struct {
	load     func() (*config.Config, error)
	logger   log.Logger
	gatherer prometheus.Gatherer // process-wide metrics, gathered on every scrape
	requests *collector.RequestMetrics
	timeout  time.Duration // --twilio.timeout
	monthTTL time.Duration // --cache.ttl
	limit    *scrapeLimit
	cache    *collector.Cache
	encInfo  *transportInfo // the current client's request encoding

	reloadOK   prometheus.Gauge
	reloadTime prometheus.Gauge
	loads      loadStatus // the same outcomes, for the landing page
	// landingRenders counts the landing page's renders, for the tests
	// that check it is rendered once per state, not per request.
	landingRenders atomic.Int64

	mu  sync.Mutex // serialises reloads
	cfg *config.Config

	now     func() time.Time // the cache's clock
	started time.Time        // when the exporter was built, by now
	ready   atomic.Bool      // readiness latched: it never goes back
}

// newExporter loads the configuration once and builds the cache from it.
func newExporter(o options, load func() (*config.Config, error), reg *prometheus.Registry, logger log.Logger) (*exporter, error) {
	cfg, err := load()
	if err != nil {
		return nil, err
	}
	e := &exporter{
		load:     load,
		logger:   logger,
		gatherer: reg,
		requests: collector.NewRequestMetrics(reg),
		timeout:  o.twilioTimeout,
		monthTTL: o.cacheTTL,
		limit:    newScrapeLimit(o.maxRequests, reg, logger),
		reloadOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "twilio_exporter_config_last_reload_successful",
			Help: "1 if the latest configuration reload succeeded, else 0.",
		}),
		reloadTime: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "twilio_exporter_config_last_reload_success_timestamp_seconds",
			Help: "When the configuration was last loaded successfully, as a Unix timestamp.",
		}),
		cfg: cfg,
		now: o.now,
	}
	if e.now == nil {
		e.now = time.Now
	}
	e.started = e.now()
	e.encInfo = newTransportInfo()
	reg.MustRegister(e.reloadOK, e.reloadTime, e.encInfo)
	logWarnings(logger, cfg)
	client, err := e.newClient(cfg)
	if err != nil {
		return nil, err
	}
	e.encInfo.client.Store(client)
	e.cache = collector.NewCache(client, collectorGroups(cfg, o.cacheTTL), collector.CacheOptions{
		// A failing group is retried after a minute, or sooner with a
		// shorter --cache.ttl.
		RetryInterval:  min(o.cacheTTL, collector.DefaultRetryInterval),
		RefreshTimeout: o.twilioTimeout,
		Concurrency:    o.concurrency,
		Now:            o.now,
		Logger:         logger,
	})
	e.loaded(true)
	level.Info(logger).Log("msg", "Loaded configuration", "billing_groups", len(cfg.BillingGroups))
	return e, nil
}

// Start warms the cache, so that the first scrape finds data, and returns
// at once.
func (e *exporter) Start() { e.cache.Refresh() }

// Close stops the refreshes still running and waits for them.
func (e *exporter) Close() { e.cache.Close() }

// newClient builds a Usage API client from cfg as the exporter runs it.
func (e *exporter) newClient(cfg *config.Config) (*twilio.Client, error) {
	return newClient(cfg, e.timeout, e.requests.Observe, e.logger)
}

// newClient builds a Usage API client from the twilio section of cfg, for
// the exporter, the probe and backfill alike: timeout is --twilio.timeout;
// observe (may be nil) is told of every request; logger hears what the
// client learns about the API.
func newClient(cfg *config.Config, timeout time.Duration, observe twilio.RequestObserver, logger log.Logger) (*twilio.Client, error) {
	t := cfg.Twilio
	return twilio.New(twilio.Config{
		SecretSource: secretSource(t.ClientSecretFile),
		APIURL:       t.APIURL,
		TokenURL:     t.TokenURL,
		ClientID:     t.ClientID,
		ClientSecret: t.ClientSecret.Reveal(),
		Scopes:       t.Scopes,
		Encoding:     t.RequestEncoding,
		PageSize:     t.PageSize,
		MaxPages:     t.MaxPages,
		MaxRecords:   t.MaxRecords,
		HTTPClient:   &http.Client{Timeout: min(timeout, 60*time.Second)},
		Observer:     observe,
		UserAgent:    exporterName + "/" + version.Version,

		// What Twilio's docs leave open: named by the config, or learnt.
		PageTokenParam: t.PageTokenParam,
		Learned:        logLearned(logger),
		Waiting:        logWaiting(logger),
	})
}

// collectorBudget is b as the collector sees it; nil when b is.
func collectorBudget(b *config.Budget) *collector.Budget {
	if b == nil {
		return nil
	}
	return &collector.Budget{Amount: b.Amount, Currency: b.Currency}
}

// collectorGroups maps the configured billing groups to the collector's
// view; monthTTL is --cache.ttl, month to date's lifetime.
func collectorGroups(cfg *config.Config, monthTTL time.Duration) []collector.Group {
	groups := make([]collector.Group, 0, len(cfg.BillingGroups))
	for _, bg := range cfg.BillingGroups {
		g := collector.Group{ID: bg.ID, Label: bg.Label(), MaxSeries: cfg.Twilio.MaxSeries, PlannedCategories: bg.PlannedCategories, Labels: bg.Labels}
		g.TTL[collector.ThisMonth] = monthTTL
		ttls := cfg.PeriodTTLs(bg)
		for p := collector.ThisMonth + 1; p < collector.NumPeriods; p++ {
			g.TTL[p] = ttls[p.String()]
		}
		g.Budget, g.AnnualBudget = collectorBudget(bg.Budget), collectorBudget(bg.AnnualBudget)
		if bg.Budget != nil {
			th := bg.AlertThresholds()
			g.Thresholds = &collector.Thresholds{Nearly: th.Nearly, Warning: th.Warning, Critical: th.Critical}
		}
		if f := bg.ProductCategories; f != nil {
			if f.Include != nil {
				g.Include = f.Include.Regexp
			}
			if f.Exclude != nil {
				g.Exclude = f.Exclude.Regexp
			}
		}
		groups = append(groups, g)
	}
	return groups
}

// reload loads the configuration again. A bad one is logged and rejected and
// the running one stays; a good one replaces it, and groups whose ID and
// category filters are unchanged keep their cached usage.
func (e *exporter) reload() error {
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
func (e *exporter) loaded(ok bool) {
	now := time.Now()
	e.loads.mu.Lock()
	defer e.loads.mu.Unlock()
	e.loads.ok = ok
	if ok {
		e.loads.lastSuccess = now
		e.reloadOK.Set(1)
		e.reloadTime.Set(float64(now.UnixNano()) / 1e9)
	} else {
		e.loads.lastFailure = now
		e.reloadOK.Set(0)
	}
}

// loadStatus is what the landing page says of the configuration's loads.
type loadStatus struct {
	mu          sync.Mutex
	ok          bool
	lastSuccess time.Time
	lastFailure time.Time
}

func (e *exporter) apply() error {
	cfg, err := e.load()
	if err != nil {
		return err
	}
	groups := collectorGroups(cfg, e.monthTTL)
	if reflect.DeepEqual(cfg.Twilio, e.cfg.Twilio) {
		e.cache.SetGroups(groups) // the client keeps its token and what it learnt
	} else {
		client, err := e.newClient(cfg)
		if err != nil {
			return err
		}
		e.cache.SetFetcherAndGroups(client, groups)
		e.encInfo.client.Store(client) // it learns the transport afresh
	}
	e.cfg = cfg
	logWarnings(e.logger, cfg)
	e.cache.Refresh()
	return nil
}

// routes builds the HTTP handlers: metrics, landing page, health, readiness
// and reload.
func (e *exporter) routes(o options) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle(o.telemetryPath, e.metricsHandler(o.scrapeTimeout, o.timeoutOffset, o.longestScrapeWait()))
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "Healthy")
	})
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, r *http.Request) {
		if waiting, left := e.readiness(); waiting > 0 {
			http.Error(w, fmt.Sprintf("Not ready: waiting for the first refresh from Twilio (%d of the billing groups' periods to go, at most %v more).", waiting, left.Round(time.Second)), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "Ready")
	})
	mux.HandleFunc("/-/reload", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "This endpoint requires a POST request.", http.StatusMethodNotAllowed)
			return
		}
		if !o.lifecycle {
			http.Error(w, "Lifecycle API is not enabled: start with --web.enable-lifecycle, or send SIGHUP.", http.StatusForbidden)
			return
		}
		if err := e.reload(); err != nil {
			http.Error(w, fmt.Sprintf("Failed to reload config: %s", err), http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "Configuration reloaded.")
	})
	if o.telemetryPath != "/" {
		mux.Handle("/", e.limit.wrap(landing.Handler(e.landingBody(o))))
	}
	return mux
}

// readiness says how many fetched periods of the configured groups have not
// finished their first refresh, and for how much longer readiness waits for
// them. The exporter is ready once every one has finished, successfully or
// not, or --twilio.timeout (the bound of one refresh) after it started,
// whichever comes first; then it stays ready, reloads included. A rollout
// thus replaces a pod only once the new one has data to serve, and a
// failing Twilio delays it by one refresh timeout at most.
func (e *exporter) readiness() (waiting int, left time.Duration) {
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

// minScrapeWait keeps a tiny or negative computed timeout from skipping
// every refresh.
const minScrapeWait = 100 * time.Millisecond

// maxScrapeWait caps what the header may ask for: a larger value (or Inf)
// would overflow time.Duration, and Go leaves the result to the platform.
const maxScrapeWait = 24 * time.Hour

// scrapeTimeout is how long this scrape may wait for refreshes.
func scrapeTimeout(r *http.Request, fallback, offset time.Duration) time.Duration {
	d := fallback
	if v := r.Header.Get("X-Prometheus-Scrape-Timeout-Seconds"); v != "" {
		if s, err := strconv.ParseFloat(v, 64); err == nil && s > 0 {
			d = time.Duration(min(s, maxScrapeWait.Seconds())*float64(time.Second)) - offset
		}
	}
	return max(d, minScrapeWait)
}
