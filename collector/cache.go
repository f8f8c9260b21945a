package collector

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"golang.org/x/sync/singleflight"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/twilio"
)

// Fetcher fetches every usage record of one billing group for one query.
// *twilio.Client implements it.
type Fetcher interface {
	FetchRecords(ctx context.Context, billingGroupID string, q twilio.Query) (*twilio.Usage, error)
}

// Budget is a spending budget configured for a billing group.
type Budget struct {
	Amount   float64
	Currency string
}

// Thresholds are the shares of a monthly budget (1 is the whole budget) at
// which the budget alerts fire, by alert level.
type Thresholds struct {
	Nearly, Warning, Critical float64
}

// Group is one configured billing group as the cache and collector see it.
type Group struct {
	ID           string         // Twilio billing group ID (commerce_billingprofile_...)
	Label        string         // value of the billing_group label
	Budget       *Budget        // monthly; nil when none is configured
	AnnualBudget *Budget        // for the year period (YearStart); nil when none is configured
	Include      *regexp.Regexp // only categories matching it are exported; nil = all
	Exclude      *regexp.Regexp // categories matching it are dropped; nil = none
	// TTL is the cache lifetime of each period's snapshot, by Period; 0
	// means the period is not fetched for this group. ThisMonth's is
	// --cache.ttl, the others' periods.<period>.cache_ttl.
	TTL [NumPeriods]time.Duration
	// MaxSeries bounds the series of one snapshot (see checkSeries); 0 means
	// no bound.
	MaxSeries int
	// PlannedCategories are product categories the group starts to use on
	// purpose, exported for the new-category alerts to leave alone.
	PlannedCategories []string
	// Thresholds are the shares of Budget at which the budget alerts fire,
	// exported beside it; nil without a Budget.
	Thresholds *Thresholds
	// Labels are the group's owner labels (team, owner, ...), exported on
	// twilio_billing_group_info; none of the exporter's own label names.
	Labels map[string]string
	// YearStart is the month the year period (ThisYear) starts in:
	// January, or 0, for the calendar year; another month for a fiscal
	// year (fiscal_year_start). See Period.Bounds.
	YearStart time.Month
}

// budgets names, by Period, the budget that the period's cost is compared
// with, for the log line about a currency none of its costs have.
var budgets = [NumPeriods]struct {
	name, span string
	of         func(Group) *Budget
}{
	ThisMonth: {"budget", "this month", func(g Group) *Budget { return g.Budget }},
	ThisYear:  {"annual budget", "this year", func(g Group) *Budget { return g.AnnualBudget }},
}

// budget is the budget that period p's cost is compared with; nil for a
// period with none.
func (g Group) budget(p Period) *Budget {
	if of := budgets[p].of; of != nil {
		return of(g)
	}
	return nil
}

// fetchKey identifies what a group's snapshot depends on: a group whose key is
// unchanged across a reload keeps its cached snapshot.
func (g Group) fetchKey() string {
	var inc, exc string
	if g.Include != nil {
		inc = g.Include.String()
	}
	if g.Exclude != nil {
		exc = g.Exclude.String()
	}
	return fmt.Sprintf("%s\x00%s\x00%s", g.ID, inc, exc)
}

// entryKey names the snapshot of one group for one period.
type entryKey struct {
	id     string
	period Period
}

// flight is the singleflight key of the refresh of k.
func (k entryKey) flight() string { return k.id + "\x00" + k.period.String() }

// entry is the cache's state for one billing group and period.
type entry struct {
	group       Group
	period      Period
	snap        *Snapshot // last good snapshot, possibly of an earlier period
	attempted   bool      // a refresh has finished, successfully or not
	up          bool      // the latest finished refresh succeeded
	lastAttempt time.Time // when the latest finished refresh started
	lastSuccess time.Time // when the latest successful refresh finished
	duration    time.Duration
	lastErr     string // text of the latest failure, to log each new failure once
	// budgetMismatch is what was last logged about a budget whose currency
	// matches none of the period's cost series, to log each mismatch once.
	budgetMismatch string
}

// DefaultRetryInterval is how long after a failed refresh the next one may
// start when CacheOptions leaves it unset.
const DefaultRetryInterval = time.Minute

// CacheOptions configures a Cache. The lifetimes of snapshots are set per
// Group (Group.TTL).
type CacheOptions struct {
	// RetryInterval is how long after a failed refresh the next one may
	// start, so a failing group does not call the API on every scrape.
	// Default DefaultRetryInterval.
	RetryInterval time.Duration
	// RefreshTimeout bounds one refresh of one group, all pages and retries;
	// 0 means no bound but Close.
	RefreshTimeout time.Duration
	// Concurrency bounds the refreshes running at once across groups; at
	// least 1.
	Concurrency int
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger receives one line per refresh outcome change; default no-op.
	Logger log.Logger
}

// Cache holds one snapshot per billing group and period and refreshes it from
// a Fetcher: at most one refresh per group and period at a time however many
// scrapes ask, at most Concurrency refreshes at once, and a failed refresh
// keeps the last good snapshot.
type Cache struct {
	opts    CacheOptions
	sem     chan struct{}
	flights singleflight.Group
	base    context.Context
	stop    context.CancelFunc
	closed  sync.Once

	mu       sync.RWMutex
	fetcher  Fetcher
	fetchGen uint64              // counts fetcher changes: a refresh through an old one is dropped
	groups   []Group             // configured order
	entries  map[entryKey]*entry // by group ID and period
	products map[Product]int     // product -> number of snapshots that name it
	gen      uint64              // counts changes of what a scrape reports, see Version
}

// NewCache returns a cache for groups, fetching through f. It panics when
// opts.Concurrency is less than 1: the caller checks its flags first.
func NewCache(f Fetcher, groups []Group, opts CacheOptions) *Cache {
	if opts.Concurrency < 1 {
		panic(fmt.Sprintf("collector: CacheOptions.Concurrency is %d, want at least 1", opts.Concurrency))
	}
	if opts.RetryInterval <= 0 {
		opts.RetryInterval = DefaultRetryInterval
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = log.NewNopLogger()
	}
	base, stop := context.WithCancel(context.Background())
	c := &Cache{
		opts:     opts,
		sem:      make(chan struct{}, opts.Concurrency),
		base:     base,
		stop:     stop,
		fetcher:  f,
		entries:  map[entryKey]*entry{},
		products: map[Product]int{},
	}
	c.setGroups(groups, false)
	return c
}

// SetGroups replaces the set of groups, as after a config reload, and keeps
// the fetcher. A group whose ID and category filters are unchanged keeps its
// snapshots of the periods it still fetches (a new label, budget or lifetime
// applies at once); any other group starts empty. A refresh still running
// for a replaced entry is dropped when it ends, and a new one may start at
// once: Refresh after SetGroups does not join it.
func (c *Cache) SetGroups(groups []Group) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.setGroups(groups, false)
}

// SetFetcherAndGroups replaces the fetcher and the set of groups at once, as
// after a reload that changed the API settings; groups are kept as by
// SetGroups. A refresh through the replaced fetcher is dropped when it ends,
// and every kept group may be refreshed at once through f: one that just
// failed (credentials fixed, say) does not wait for RetryInterval.
func (c *Cache) SetFetcherAndGroups(f Fetcher, groups []Group) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fetcher = f
	c.fetchGen++
	c.setGroups(groups, true)
}

// setGroups is SetGroups; newFetcher says the fetcher was just replaced.
// Callers hold c.mu.
func (c *Cache) setGroups(groups []Group, newFetcher bool) {
	c.gen++
	old := c.entries
	c.entries = make(map[entryKey]*entry, len(groups))
	c.groups = append([]Group(nil), groups...)
	for _, g := range groups {
		for p, ttl := range g.TTL {
			if ttl <= 0 {
				continue
			}
			k := entryKey{g.ID, Period(p)}
			if e, ok := old[k]; ok && e.group.fetchKey() == g.fetchKey() {
				e.group = g
				if newFetcher {
					e.lastAttempt = time.Time{}
					c.flights.Forget(k.flight())
				}
				c.entries[k] = e
				delete(old, k)
				continue
			}
			c.flights.Forget(k.flight())
			c.entries[k] = &entry{group: g, period: Period(p)}
		}
	}
	for _, e := range old {
		c.setSnapshot(e, nil)
	}
}

// setSnapshot swaps e's snapshot, keeping the product reference counts right.
// Callers hold c.mu.
func (c *Cache) setSnapshot(e *entry, s *Snapshot) {
	if e.snap != nil {
		for _, p := range e.snap.Products {
			if c.products[p]--; c.products[p] <= 0 {
				delete(c.products, p)
			}
		}
	}
	e.snap = s
	if s != nil {
		for _, p := range s.Products {
			c.products[p]++
		}
	}
}

// Close cancels refreshes still running in the background and waits for them:
// a refresh holds a concurrency slot until it has recorded its outcome. A
// second Close returns at once.
func (c *Cache) Close() {
	c.closed.Do(func() {
		c.stop()
		for range cap(c.sem) {
			c.sem <- struct{}{}
		}
	})
}

// GroupState is what a scrape reports for one billing group.
type GroupState struct {
	Group Group
	// Periods holds the state of each period, by Period; see
	// PeriodState.Fetched.
	Periods [NumPeriods]PeriodState
}

// PeriodState is what a scrape reports for one group and period.
type PeriodState struct {
	// Fetched says the group fetches this period (Group.TTL); when false,
	// the rest is zero.
	Fetched bool
	// Snapshot is the newest good snapshot of the current period, or nil.
	Snapshot *Snapshot
	// Attempted says a refresh has finished; Up whether the latest succeeded.
	Attempted, Up bool
	LastSuccess   time.Time
	Duration      time.Duration
	// LastError is the text of the latest refresh's failure, as logged
	// (never a secret: the client redacts what it reports); "" when up.
	LastError string
}

// State is the cache's answer to one scrape.
type State struct {
	Groups []GroupState
	// Products are the products named by the snapshots served, unordered.
	Products []Product
	// Version tells states apart: two states with the same Version report
	// the same metrics.
	Version Version
}

// Version identifies what a State reports: the cache's count of changes
// (refreshes recorded, reloads) and how many snapshots held were withheld as
// of an earlier period. Between two changes a snapshot can only go from
// served to withheld as time passes, so the pair names the state.
type Version struct {
	gen      uint64
	withheld int
}

// Newer reports whether v names a later state of the same cache than w.
func (v Version) Newer(w Version) bool {
	return v.gen > w.gen || (v.gen == w.gen && v.withheld > w.withheld)
}

// Refresh starts a refresh of every group and period that needs one and does
// not wait for it.
func (c *Cache) Refresh() {
	for _, k := range c.stale() {
		c.start(k)
	}
}

// stale lists the snapshots that need a refresh now.
func (c *Cache) stale() []entryKey {
	now := c.opts.Now()
	c.mu.RLock()
	defer c.mu.RUnlock()
	var keys []entryKey
	for _, g := range c.groups {
		for p := range NumPeriods {
			k := entryKey{g.ID, p}
			if c.needsRefresh(c.entries[k], now) {
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// State is the cache's current state, at once: it neither starts nor waits
// for a refresh.
func (c *Cache) State() State {
	return c.state(c.opts.Now())
}

// Get answers a scrape. Snapshots that are missing, expired or of an earlier
// period are refreshed (once, however many scrapes ask); Get waits for those
// refreshes until ctx is done, then answers with what it has while the
// refreshes finish in the background.
func (c *Cache) Get(ctx context.Context) State {
	keys := c.stale()
	waits := make([]<-chan singleflight.Result, 0, len(keys))
	for _, k := range keys {
		waits = append(waits, c.start(k))
	}
	for _, w := range waits {
		select {
		case <-w:
		case <-ctx.Done():
		}
	}
	return c.state(c.opts.Now())
}

// needsRefresh reports whether e's snapshot cannot be served as it is and no
// recent failure says to wait. Callers hold c.mu.
func (c *Cache) needsRefresh(e *entry, now time.Time) bool {
	if e == nil {
		return false
	}
	if e.attempted && !e.up && now.Sub(e.lastAttempt) < c.opts.RetryInterval {
		return false
	}
	return !c.fresh(e, now)
}

// fresh reports whether e's snapshot covers the current period and is younger
// than its lifetime. Callers hold c.mu.
func (c *Cache) fresh(e *entry, now time.Time) bool {
	s := e.snap
	return s != nil && c.current(e, now) && now.Sub(s.FetchedAt) < e.group.TTL[e.period]
}

// current reports whether e's snapshot covers the period as of now. Callers
// hold c.mu.
func (c *Cache) current(e *entry, now time.Time) bool {
	start, _ := e.period.Bounds(now, e.group.YearStart)
	return e.snap != nil && e.snap.PeriodStart.Equal(start)
}

// start joins or starts the refresh of k.
func (c *Cache) start(k entryKey) <-chan singleflight.Result {
	return c.flights.DoChan(k.flight(), func() (any, error) {
		c.refresh(k)
		return nil, nil
	})
}

// refresh fetches the snapshot k and records the outcome.
func (c *Cache) refresh(k entryKey) {
	select {
	case c.sem <- struct{}{}:
		defer func() { <-c.sem }()
	case <-c.base.Done():
		return
	}
	c.mu.RLock()
	e := c.entries[k]
	fetcher, gen := c.fetcher, c.fetchGen
	// A scrape that saw the group stale just before another refresh of it
	// finished must not fetch it again: upstream calls stay one per TTL.
	needed := c.needsRefresh(e, c.opts.Now())
	var group Group
	if e != nil {
		group = e.group // its ID and filters are fixed for e's lifetime
	}
	c.mu.RUnlock()
	if !needed {
		return // removed by a reload while waiting, or already refreshed
	}
	started := c.opts.Now()
	ctx, cancel := c.base, context.CancelFunc(func() {})
	if c.opts.RefreshTimeout > 0 {
		ctx, cancel = context.WithTimeout(c.base, c.opts.RefreshTimeout)
	}
	defer cancel()
	// Summed before taking the lock, so scrapes and other refreshes are
	// not held up by it.
	snap, usage, err := Fetch(ctx, fetcher, group, k.period, started, c.opts.Now)
	finished := c.opts.Now()
	if snap != nil {
		finished = snap.FetchedAt
	}
	if errors.Is(err, context.Canceled) && c.base.Err() != nil {
		return // shutting down
	}

	c.mu.Lock()
	if c.entries[k] != e || c.fetchGen != gen {
		c.mu.Unlock()
		return // a reload replaced the group or the fetcher meanwhile
	}
	c.gen++
	wasUp, lastErr := e.up, e.lastErr
	// The retry interval runs from the end of a failed refresh, so a
	// refresh that failed slowly is not retried at once.
	e.attempted, e.lastAttempt, e.duration = true, finished, finished.Sub(started)
	if err != nil {
		e.up, e.lastErr = false, err.Error()
	} else {
		c.setSnapshot(e, snap)
		e.up, e.lastErr, e.lastSuccess = true, "", finished
	}
	label := e.group.Label
	var mismatch []any // what to log about the budget's currency, if anything
	if b := e.group.budget(k.period); err == nil && b != nil {
		m := budgetMismatch(b, snap)
		seen := "" // the budget's currency with the costs', so that a new budget is a new mismatch
		if m != "" {
			seen = b.Currency + "|" + m
		}
		if seen != e.budgetMismatch {
			e.budgetMismatch = seen
			if m != "" {
				mismatch = []any{"budget_currency", b.Currency, "cost_currencies", m}
			}
		}
	}
	c.mu.Unlock()

	// Logged outside the lock: a slow log writer must not hold up scrapes.
	logger := log.With(c.opts.Logger, "billing_group", label)
	failed := "Refresh failed; serving the last good data of this month, if any"
	if k.period != ThisMonth {
		logger = log.With(logger, "period", k.period)
		failed = "Refresh failed; serving the last good data of this period, if any"
	}
	switch {
	case err != nil:
		if msg := err.Error(); wasUp || msg != lastErr {
			level.Error(logger).Log("msg", failed, "err", msg)
		}
	case lastErr != "":
		level.Info(logger).Log("msg", "Refresh succeeded again", "records", len(usage.Records))
	default:
		level.Debug(logger).Log("msg", "Refreshed", "records", len(usage.Records), "pages", usage.Pages, "duration", finished.Sub(started))
	}
	if err == nil && usage.Restarted {
		level.Info(logger).Log("msg", "The Usage API's data changed while it was paged (a page's asOf differed from the first page's); it was read again from the first page", "as_of", usage.AsOf.Format(twilio.DateLayout))
	}
	if mismatch != nil {
		b := budgets[k.period]
		msg := fmt.Sprintf("The %[1]s's currency matches none of %[2]s's cost series: the %[1]s alerts and panels cannot compare them; set the %[1]s in the currency Twilio bills the group in", b.name, b.span)
		level.Warn(logger).Log(append([]any{"msg", msg}, mismatch...)...)
	}
}

// Fetch is one refresh of group g's period p, started at started: the
// records fetched through f, summed by the money rule (Sum) and held to the
// series cap (Group.MaxSeries). It returns the snapshot to serve, or the
// error that makes the period up 0, and the fetch's usage whenever the fetch
// itself succeeded. The cache refreshes through it and --twilio.probe
// checks through it, so that what the probe accepts is what the exporter
// serves. now dates the snapshot.
func Fetch(ctx context.Context, f Fetcher, g Group, p Period, started time.Time, now func() time.Time) (*Snapshot, *twilio.Usage, error) {
	usage, err := f.FetchRecords(ctx, g.ID, p.Query(started, g.YearStart))
	if err != nil {
		return nil, nil, err
	}
	// Around 00:00 UTC the API and this exporter's clock can disagree on
	// the day or month, and a refresh can span the boundary: Sum refuses
	// records outside the period the fetch started in, so an earlier
	// period's figures are never served as the current one's, nor a mix of
	// two as one.
	start, end := p.Bounds(started, g.YearStart)
	t, err := Sum(usage.Records, start, end)
	if err != nil {
		return nil, usage, fmt.Errorf("collector: %s: %w", p, err)
	}
	snap := newSnapshot(g, usage, t, start, end, now())
	if err := checkSeries(g, snap); err != nil {
		return nil, usage, err
	}
	return snap, usage, nil
}

// state copies out what a scrape reports. A snapshot of an earlier period is
// never served as the current one's, nor are the products only it names.
func (c *Cache) state(now time.Time) State {
	c.mu.RLock()
	defer c.mu.RUnlock()
	st := State{Groups: make([]GroupState, 0, len(c.groups))}
	withheld := 0 // snapshots held that are of an earlier period
	period := func(e *entry) PeriodState {
		ps := c.periodState(e, now)
		if e.snap != nil && ps.Snapshot == nil {
			withheld++
		}
		return ps
	}
	for _, g := range c.groups {
		gs := GroupState{Group: g}
		for p := range NumPeriods {
			if e := c.entries[entryKey{g.ID, p}]; e != nil {
				gs.Periods[p] = period(e)
			}
		}
		st.Groups = append(st.Groups, gs)
	}
	st.Version = Version{gen: c.gen, withheld: withheld}
	if withheld == 0 {
		// The usual case: every snapshot held is served, so the reference
		// counts are the answer.
		st.Products = make([]Product, 0, len(c.products))
		for p := range c.products {
			st.Products = append(st.Products, p)
		}
		return st
	}
	seen := map[Product]bool{}
	for _, gs := range st.Groups {
		for _, ps := range gs.Periods {
			if ps.Snapshot == nil {
				continue
			}
			for _, p := range ps.Snapshot.Products {
				if !seen[p] {
					seen[p] = true
					st.Products = append(st.Products, p)
				}
			}
		}
	}
	return st
}

// periodState copies out e's state. Callers hold c.mu.
func (c *Cache) periodState(e *entry, now time.Time) PeriodState {
	ps := PeriodState{Fetched: true, Attempted: e.attempted, Up: e.up, LastSuccess: e.lastSuccess, Duration: e.duration, LastError: e.lastErr}
	if c.current(e, now) {
		ps.Snapshot = e.snap
	}
	return ps
}
