package collector

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
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

// Budget is a monthly spending budget configured for a billing group.
type Budget struct {
	Amount   float64
	Currency string
}

// Group is one configured billing group as the cache and collector see it.
type Group struct {
	ID      string         // Twilio billing group ID (commerce_billingprofile_...)
	Label   string         // value of the billing_group label
	Budget  *Budget        // nil when no budget is configured
	Include *regexp.Regexp // only categories matching it are exported; nil = all
	Exclude *regexp.Regexp // categories matching it are dropped; nil = none
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

func (g Group) keep(category string) bool {
	if g.Include != nil && !g.Include.MatchString(category) {
		return false
	}
	return g.Exclude == nil || !g.Exclude.MatchString(category)
}

// Sample is one aggregated value and the two label values that tell it apart
// within a billing group: product category and currency (cost) or unit (usage).
type Sample struct {
	Category string
	Second   string
	Value    float64
}

// Product names the human-readable product behind a product category.
type Product struct {
	Category string
	Name     string
}

// Snapshot is one billing group's month-to-date usage, aggregated at refresh
// time so that serving it costs no more than copying it out.
type Snapshot struct {
	PeriodStart time.Time // 00:00 UTC on the 1st of the month the fetch started in
	PeriodEnd   time.Time // 00:00 UTC on the 1st of the next month
	AsOf        time.Time
	FetchedAt   time.Time
	Records     int // records the API returned, before category filtering
	Costs       []Sample
	Usages      []Sample
	Products    []Product

	built atomic.Pointer[builtSeries] // Costs and Usages as metrics, see series
}

// newSnapshot sums records that map to the same label set: two products can
// share a category, and one category can report two units.
func newSnapshot(g Group, u *twilio.Usage, start, fetchedAt time.Time) *Snapshot {
	// Samples are appended in record order and summed through an index, so
	// that the sort below meets input the API already sorted and each sum
	// adds in record order.
	type key struct{ a, b string }
	var costs, usages []Sample
	costAt := make(map[key]int, len(u.Records))
	usageAt := make(map[key]int, len(u.Records))
	add := func(s *[]Sample, at map[key]int, k key, v float64) {
		i, ok := at[k]
		if !ok {
			i = len(*s)
			at[k] = i
			*s = append(*s, Sample{Category: k.a, Second: k.b})
		}
		(*s)[i].Value += v
	}
	var ps []Product
	products := make(map[key]struct{}, len(u.Records))
	for _, r := range u.Records {
		if !g.keep(r.ProductCategory) {
			continue
		}
		add(&costs, costAt, key{r.ProductCategory, r.Currency}, r.PriceAmount)
		add(&usages, usageAt, key{r.ProductCategory, r.UsageUnit}, r.UsageAmount)
		if k := (key{r.ProductCategory, r.ProductName}); r.ProductName != "" {
			if _, ok := products[k]; !ok {
				products[k] = struct{}{}
				ps = append(ps, Product{Category: k.a, Name: k.b})
			}
		}
	}
	bySeries := func(x, y Sample) int {
		return cmp.Or(strings.Compare(x.Category, y.Category), strings.Compare(x.Second, y.Second))
	}
	slices.SortFunc(costs, bySeries)
	slices.SortFunc(usages, bySeries)
	slices.SortFunc(ps, func(x, y Product) int {
		return cmp.Or(strings.Compare(x.Category, y.Category), strings.Compare(x.Name, y.Name))
	})
	return &Snapshot{
		PeriodStart: start,
		PeriodEnd:   start.AddDate(0, 1, 0),
		AsOf:        u.AsOf,
		FetchedAt:   fetchedAt,
		Records:     len(u.Records),
		Costs:       costs,
		Usages:      usages,
		Products:    ps,
	}
}

// monthStart is 00:00 UTC on the 1st of t's month: THIS_MONTH rolls over then.
func monthStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// entry is the cache's state for one billing group.
type entry struct {
	group       Group
	snap        *Snapshot // last good snapshot, possibly of an earlier month
	attempted   bool      // a refresh has finished, successfully or not
	up          bool      // the latest finished refresh succeeded
	lastAttempt time.Time // when the latest finished refresh started
	lastSuccess time.Time // when the latest successful refresh finished
	duration    time.Duration
	lastErr     string // text of the latest failure, to log each new failure once
}

// CacheOptions configures a Cache.
type CacheOptions struct {
	// TTL is how long a snapshot is served before it is refreshed.
	TTL time.Duration
	// RetryInterval is how long after a failed refresh the next one may start,
	// so a failing group does not call the API on every scrape. Default: the
	// smaller of TTL and one minute.
	RetryInterval time.Duration
	// RefreshTimeout bounds one refresh of one group, all pages and retries.
	RefreshTimeout time.Duration
	// Concurrency bounds the refreshes running at once across groups.
	Concurrency int
	// PageSize is sent as pageSize; 0 leaves it to the API.
	PageSize int
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger receives one line per refresh outcome change; default no-op.
	Logger log.Logger
}

// Cache holds one snapshot per billing group and refreshes it from a Fetcher:
// at most one refresh per group at a time however many scrapes ask, at most
// Concurrency refreshes at once, and a failed refresh keeps the last good
// snapshot.
type Cache struct {
	opts    CacheOptions
	sem     chan struct{}
	flights singleflight.Group
	base    context.Context
	stop    context.CancelFunc

	mu       sync.RWMutex
	fetcher  Fetcher
	groups   []Group           // configured order
	entries  map[string]*entry // by group ID
	products map[Product]int   // product -> number of snapshots that name it
}

// NewCache returns a cache for groups, fetching through f.
func NewCache(f Fetcher, groups []Group, opts CacheOptions) *Cache {
	if opts.TTL <= 0 {
		opts.TTL = 15 * time.Minute
	}
	if opts.RetryInterval <= 0 {
		opts.RetryInterval = min(opts.TTL, time.Minute)
	}
	if opts.RefreshTimeout <= 0 {
		opts.RefreshTimeout = 2 * time.Minute
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 4
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
		entries:  map[string]*entry{},
		products: map[Product]int{},
	}
	c.Update(f, groups)
	return c
}

// TTL is how long a snapshot is served before it is refreshed.
func (c *Cache) TTL() time.Duration { return c.opts.TTL }

// Update replaces the set of groups and, unless f is nil, the fetcher, as
// after a config reload. A group whose ID and category filters are unchanged
// keeps its snapshot (a new label or budget applies at once); any other group
// starts empty.
func (c *Cache) Update(f Fetcher, groups []Group) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f != nil {
		c.fetcher = f
	}
	old := c.entries
	c.entries = make(map[string]*entry, len(groups))
	c.groups = append([]Group(nil), groups...)
	for _, g := range groups {
		if e, ok := old[g.ID]; ok && e.group.fetchKey() == g.fetchKey() {
			e.group = g
			c.entries[g.ID] = e
			delete(old, g.ID)
			continue
		}
		c.entries[g.ID] = &entry{group: g}
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
// a refresh holds a concurrency slot until it has recorded its outcome.
func (c *Cache) Close() {
	c.stop()
	for range cap(c.sem) {
		c.sem <- struct{}{}
	}
}

// GroupState is what a scrape reports for one billing group.
type GroupState struct {
	Group Group
	// Snapshot is the newest good snapshot of the current month, or nil.
	Snapshot *Snapshot
	// Attempted says a refresh has finished; Up whether the latest succeeded.
	Attempted, Up bool
	LastSuccess   time.Time
	Duration      time.Duration
}

// State is the cache's answer to one scrape.
type State struct {
	Groups   []GroupState
	Products []Product // every product named by a cached snapshot, unordered
}

// Refresh starts a refresh of every group that needs one and does not wait for it.
func (c *Cache) Refresh() {
	for _, id := range c.stale() {
		c.start(id)
	}
}

// stale lists the groups that need a refresh now.
func (c *Cache) stale() []string {
	now := c.opts.Now()
	c.mu.RLock()
	defer c.mu.RUnlock()
	var ids []string
	for _, g := range c.groups {
		if c.needsRefresh(c.entries[g.ID], now) {
			ids = append(ids, g.ID)
		}
	}
	return ids
}

// Get answers a scrape. Groups whose snapshot is missing, expired or of an
// earlier month are refreshed (once, however many scrapes ask); Get waits for
// those refreshes until ctx is done, then answers with what it has while the
// refreshes finish in the background.
func (c *Cache) Get(ctx context.Context) State {
	ids := c.stale()
	waits := make([]<-chan singleflight.Result, 0, len(ids))
	for _, id := range ids {
		waits = append(waits, c.start(id))
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

func (c *Cache) fresh(e *entry, now time.Time) bool {
	s := e.snap
	return s != nil && s.PeriodStart.Equal(monthStart(now)) && now.Sub(s.FetchedAt) < c.opts.TTL
}

// start joins or starts the refresh of group id.
func (c *Cache) start(id string) <-chan singleflight.Result {
	return c.flights.DoChan(id, func() (any, error) {
		c.refresh(id)
		return nil, nil
	})
}

// refresh fetches group id and records the outcome.
func (c *Cache) refresh(id string) {
	select {
	case c.sem <- struct{}{}:
		defer func() { <-c.sem }()
	case <-c.base.Done():
		return
	}
	c.mu.RLock()
	e := c.entries[id]
	fetcher := c.fetcher
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
	ctx, cancel := context.WithTimeout(c.base, c.opts.RefreshTimeout)
	defer cancel()
	usage, err := fetcher.FetchRecords(ctx, id, twilio.Query{TimePeriod: twilio.ThisMonth, PageSize: c.opts.PageSize})
	finished := c.opts.Now()
	if errors.Is(err, context.Canceled) && c.base.Err() != nil {
		return // shutting down
	}
	var snap *Snapshot
	if err == nil {
		// Built before taking the lock, so scrapes and other refreshes
		// are not held up by it.
		snap = newSnapshot(group, usage, monthStart(started), finished)
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries[id] != e {
		return // the group was removed or changed by a reload meanwhile
	}
	e.attempted, e.lastAttempt, e.duration = true, started, finished.Sub(started)
	logger := log.With(c.opts.Logger, "billing_group", e.group.Label)
	if err != nil {
		msg := err.Error()
		if e.up || msg != e.lastErr {
			level.Error(logger).Log("msg", "Refresh failed; serving the last good data of this month, if any", "err", msg)
		}
		e.up, e.lastErr = false, msg
		return
	}
	if e.lastErr != "" {
		level.Info(logger).Log("msg", "Refresh succeeded again", "records", len(usage.Records))
	}
	c.setSnapshot(e, snap)
	e.up, e.lastErr, e.lastSuccess = true, "", finished
	level.Debug(logger).Log("msg", "Refreshed", "records", len(usage.Records), "pages", usage.Pages, "duration", e.duration)
}

// state copies out what a scrape reports. A snapshot of an earlier month is
// never served as this month's.
func (c *Cache) state(now time.Time) State {
	month := monthStart(now)
	c.mu.RLock()
	defer c.mu.RUnlock()
	st := State{Groups: make([]GroupState, 0, len(c.groups))}
	for _, g := range c.groups {
		e := c.entries[g.ID]
		gs := GroupState{Group: e.group, Attempted: e.attempted, Up: e.up, LastSuccess: e.lastSuccess, Duration: e.duration}
		if e.snap != nil && e.snap.PeriodStart.Equal(month) {
			gs.Snapshot = e.snap
		}
		st.Groups = append(st.Groups, gs)
	}
	st.Products = make([]Product, 0, len(c.products))
	for p := range c.products {
		st.Products = append(st.Products, p)
	}
	return st
}
