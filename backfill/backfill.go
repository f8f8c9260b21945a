// Package backfill writes a billing group's history from the Usage API as
// Prometheus TSDB blocks, with the metric names and labels the live exporter
// serves, so that a Prometheus server that imports them sees one continuous
// series across the backfilled range and the scraped one.
//
// Usage is fetched one calendar month at a time with aggregationPeriod=DAILY,
// starting at the 1st of the month before the range (last month's total and
// yesterday on the 1st need it), and, for groups with this_year on, at
// the start of the year the range starts in (1 January, or the 1st of the
// fiscal year's first month: Group.YearStart), which the year to date needs. Each
// month's day totals are added up with the collector's rules
// (collector.BackfillTotals) and written as blocks of at most 8 days while
// the next month is fetched; the year to date is the exact running totals of
// the year's months before plus the month to date. Blocks are written in the
// TSDB block format with Prometheus' index and chunk writers, a series at a
// time, as its compactor does, without a TSDB head (whose package would pull
// Prometheus' server dependencies, cloud SDKs among them, into the
// exporter). So memory is bounded by one month's series and their day
// values, whatever the length of the range.
// Blocks are written into a staging directory inside the output directory and
// moved into place only when every month has been fetched and written: an
// error or an interrupt leaves the output directory as it was.
package backfill

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"golang.org/x/sync/errgroup"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/collector"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/twilio"
)

// DefaultInterval is the default spacing of the samples written.
const DefaultInterval = 5 * time.Minute

// MaxInterval is the largest spacing allowed: Prometheus' default lookback
// (--query.lookback-delta=5m), so that an instant query at any time inside
// the range finds a sample.
const MaxInterval = 5 * time.Minute

const day = 24 * time.Hour

// Options configure a backfill.
type Options struct {
	// Fetcher fetches the records; *twilio.Client implements it.
	Fetcher collector.Fetcher
	// Groups are the billing groups, as the exporter sees them: label,
	// budget, category filters and which optional periods are on.
	Groups []collector.Group
	// From and To are the first and last UTC day written, inclusive.
	From, To time.Time
	// OutputDir receives the blocks. It must be empty or not exist.
	OutputDir string
	// Labels are added to every series: the job and instance labels
	// Prometheus gives the exporter's scrape, so that backfilled and scraped
	// series are the same series.
	Labels map[string]string
	// Interval is the spacing of the samples; it must divide a day and be
	// at most MaxInterval. Default DefaultInterval.
	Interval time.Duration
	// Concurrency bounds the groups fetched at once (--twilio.concurrency);
	// at least 1.
	Concurrency int
	// FetchTimeout bounds one fetch (one group, one month, every page and
	// retry; --twilio.timeout); 0 means no bound.
	FetchTimeout time.Duration
	// Reporting, if set, is the reporting currency's rates, written as the
	// exporter exports them: twilio_billing_reporting_rate per currency
	// (the reporting currency's own at 1) and the rates' date.
	Reporting *Reporting
	// Logger receives progress; default none.
	Logger log.Logger
	// Now is the clock that decides what is in the future; default time.Now.
	Now func() time.Time
}

// Reporting is a reporting currency and its rates.
type Reporting struct {
	Currency string
	AsOf     time.Time
	// Rates are what one unit of each currency is worth in Currency,
	// Currency itself included (at 1).
	Rates map[string]float64
}

// Result counts what a backfill did.
type Result struct {
	Groups, Days    int
	Pages, Records  int   // pages fetched and records they held, every group and month
	Series, Samples int   // distinct series and samples written
	Blocks          int   // blocks written
	Bytes           int64 // size of the blocks on disk
	Dirs            []string
}

// ParseDate parses a YYYY-MM-DD flag value as UTC midnight; name is the flag.
func ParseDate(name, s string) (time.Time, error) {
	t, err := time.Parse(twilio.DateLayout, s)
	if err != nil || len(s) != len(twilio.DateLayout) {
		return time.Time{}, fmt.Errorf("%s=%q is not a YYYY-MM-DD date", name, s)
	}
	return t, nil
}

// Yesterday is the UTC day before now, the default last day of a backfill:
// today is still being scraped by the running exporter.
func Yesterday(now time.Time) time.Time {
	now = now.UTC()
	return time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, -1)
}

// reservedLabels are set by the backfill itself.
var reservedLabels = []string{model.MetricNameLabel, "billing_group", "product_category", "currency", "unit", "product", "reporting_currency"}

// check validates everything that needs no API call and no write.
func (o *Options) check() error {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Interval == 0 {
		o.Interval = DefaultInterval
	}
	if o.Logger == nil {
		o.Logger = log.NewNopLogger()
	}
	last := Yesterday(o.Now())
	switch {
	case o.From.After(o.To):
		return fmt.Errorf("--from=%s is after --to=%s", o.From.Format(twilio.DateLayout), o.To.Format(twilio.DateLayout))
	case o.To.After(last):
		return fmt.Errorf("--to=%s is not in the past: the last day a backfill can write is yesterday (UTC), %s; the running exporter serves today",
			o.To.Format(twilio.DateLayout), last.Format(twilio.DateLayout))
	case o.Interval < time.Second || o.Interval > MaxInterval || day%o.Interval != 0:
		return fmt.Errorf("--sample.interval=%s must be from 1s to %s and divide a day evenly", o.Interval, MaxInterval)
	case len(o.Groups) == 0:
		return errors.New("the configuration has no billing groups")
	case slices.ContainsFunc(o.Groups, func(g collector.Group) bool { return yearStart(g) != yearStart(o.Groups[0]) }):
		return errors.New("the billing groups' years start in different months: the exporter exports one twilio_billing_fiscal_year_start_month")
	case o.Concurrency < 1:
		return fmt.Errorf("--twilio.concurrency=%d must be at least 1", o.Concurrency)
	}
	for _, name := range []string{"job", "instance"} {
		if o.Labels[name] == "" {
			return fmt.Errorf("--label=%s=... is required: give the %s label Prometheus attaches to the exporter's scrape, so that backfilled and scraped series are the same series", name, name)
		}
	}
	for name, value := range o.Labels {
		if !model.LegacyValidation.IsValidLabelName(name) || strings.HasPrefix(name, "__") || value == "" {
			return fmt.Errorf("--label=%s=%s: want NAME=VALUE with a valid label name and a non-empty value", name, value)
		}
		if slices.Contains(reservedLabels, name) {
			return fmt.Errorf("--label=%s=...: %s is set by the exporter's own metrics", name, name)
		}
	}
	return nil
}

// prepareDir checks that dir is an empty, readable directory or does not
// exist, creating it then; created says whether it did.
func prepareDir(dir string) (created bool, err error) {
	if dir == "" {
		return false, errors.New("--output.dir is required")
	}
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return false, fmt.Errorf("--output.dir: %w", err)
		}
		return true, nil
	case err != nil:
		return false, fmt.Errorf("--output.dir: %w", err)
	case len(entries) > 0:
		return false, fmt.Errorf("--output.dir=%s is not empty: give an empty or new directory, then move the blocks into Prometheus' data directory", dir)
	}
	return false, nil
}

// Run fetches the history of every group from From to To and writes it as
// TSDB blocks into OutputDir. On error nothing is left in OutputDir.
func Run(ctx context.Context, o Options) (res Result, err error) {
	if err := o.check(); err != nil {
		return res, err
	}
	created, err := prepareDir(o.OutputDir)
	if err != nil {
		return res, err
	}
	staging, err := os.MkdirTemp(o.OutputDir, ".backfill-")
	if err != nil {
		if created {
			_ = os.Remove(o.OutputDir)
		}
		return res, fmt.Errorf("--output.dir: %w", err)
	}
	defer func() {
		if rerr := os.RemoveAll(staging); rerr != nil && err == nil {
			err = rerr
		}
		if err != nil {
			for _, d := range res.Dirs {
				_ = os.RemoveAll(d)
			}
			res.Dirs = nil
			if created {
				_ = os.Remove(o.OutputDir)
			}
		}
	}()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r := &runner{o: o, started: time.Now(), totalDays: int(o.To.Sub(o.From)/day) + 1}
	res.Groups, res.Days = len(o.Groups), r.totalDays
	level.Info(o.Logger).Log("msg", "Backfilling", "groups", len(o.Groups), "from", o.From.Format(twilio.DateLayout),
		"to", o.To.Format(twilio.DateLayout), "days", r.totalDays, "interval", o.Interval)

	months := make(chan *month, 1) // one month fetched ahead of the one being written
	var fetchErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(months)
		fetchErr = r.fetchAll(ctx, months)
	})
	var writeErr error
	var blocks []string
	for m := range months {
		if writeErr != nil {
			continue // drain so the fetcher ends
		}
		var dirs []string
		dirs, writeErr = r.write(ctx, staging, m)
		if writeErr != nil {
			cancel()
			continue
		}
		blocks = append(blocks, dirs...)
	}
	wg.Wait()
	if err := errors.Join(fetchErr, writeErr); err != nil {
		if errors.Is(err, context.Canceled) && ctx.Err() != nil && writeErr != nil {
			err = writeErr
		}
		return res, err
	}
	for _, b := range blocks {
		dst := filepath.Join(o.OutputDir, filepath.Base(b))
		if err := os.Rename(b, dst); err != nil {
			return res, fmt.Errorf("move block into place: %w", err)
		}
		res.Dirs = append(res.Dirs, dst)
		res.Bytes += dirSize(dst)
	}
	res.Pages, res.Records, res.Series, res.Samples, res.Blocks = r.pages, r.records, len(r.seriesSeen), r.samples, len(blocks)
	level.Info(o.Logger).Log("msg", "Backfill done", "groups", res.Groups, "days", res.Days, "pages", res.Pages,
		"series", res.Series, "samples", res.Samples, "blocks", res.Blocks, "bytes", res.Bytes, "elapsed", r.elapsed())
	return res, nil
}

// runner is the state of one Run.
type runner struct {
	o         Options
	started   time.Time
	totalDays int

	mu         sync.Mutex // guards pages and records, updated by fetches
	pages      int
	records    int
	daysDone   int
	samples    int
	seriesSeen map[string]struct{}
}

func (r *runner) elapsed() time.Duration { return time.Since(r.started).Round(10 * time.Millisecond) }

// month is what one calendar month contributes: for each group, the totals
// of every day written and of the month before.
type month struct {
	first, last time.Time // days written, inclusive
	start       time.Time // 00:00 UTC on the 1st
	groups      []groupMonth
}

// groupMonth is one group's totals for one month.
type groupMonth struct {
	monthToDate []collector.Figures // by day, from month.first
	yesterday   []collector.Figures // by day: the day before
	lastMonth   collector.Figures
	yearToDate  []collector.Figures // by day, for a group with this_year on
}

// yearStart is the month g's year starts in, as
// twilio_billing_fiscal_year_start_month says it: 1 for the calendar year.
func yearStart(g collector.Group) time.Month { return max(g.YearStart, time.January) }

// thisYear says whether g has the this_year period on.
func thisYear(g collector.Group) bool { return g.TTL[collector.ThisYear] > 0 }

// fetchAll fetches month by month, all groups of a month at once (at most
// Concurrency), and sends each month that has days to write. Before the
// range it fetches the month before (every group) and the earlier months of
// the year the range starts in (groups with this_year on only).
func (r *runner) fetchAll(ctx context.Context, out chan<- *month) error {
	o := r.o
	firstMonth := time.Date(o.From.Year(), o.From.Month(), 1, 0, 0, 0, 0, time.UTC)
	monthBefore := firstMonth.AddDate(0, -1, 0)
	fetchFrom := monthBefore
	for _, g := range o.Groups {
		if yearStart, _ := collector.ThisYear.Bounds(o.From, g.YearStart); thisYear(g) && yearStart.Before(fetchFrom) {
			fetchFrom = yearStart
		}
	}
	prev := make([][]twilio.Record, len(o.Groups)) // previous month's records, by group
	// year holds, for each group with this_year on, the exact totals of the
	// year's months before the one being added up (nil: none yet), reset
	// on the 1st of the group's year.
	year := make([]*collector.Totals, len(o.Groups))
	for ms := fetchFrom; !ms.After(o.To); ms = ms.AddDate(0, 1, 0) {
		me := ms.AddDate(0, 1, 0)
		lastFetch := me.Add(-day)
		if o.To.Before(lastFetch) {
			lastFetch = o.To
		}
		cur := make([][]twilio.Record, len(o.Groups))
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(o.Concurrency)
		fetched := 0
		for i, grp := range o.Groups {
			if ms.Before(monthBefore) && !thisYear(grp) {
				continue
			}
			fetched++
			g.Go(func() error {
				recs, err := r.fetch(gctx, grp, ms, lastFetch)
				cur[i] = recs
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return err
		}
		for i, grp := range o.Groups {
			if yearStart, _ := collector.ThisYear.Bounds(ms, grp.YearStart); yearStart.Equal(ms) {
				year[i] = nil
			}
		}
		r.mu.Lock()
		pages, records := r.pages, r.records
		r.mu.Unlock()
		level.Info(o.Logger).Log("msg", "Fetched", "month", ms.Format("2006-01"), "groups", fetched,
			"pages", pages, "records", records, "elapsed", r.elapsed())
		if ms.Before(firstMonth) {
			for i, grp := range o.Groups {
				if !thisYear(grp) {
					continue
				}
				t, err := collector.Sum(cur[i], ms, me)
				if err != nil {
					return fmt.Errorf("billing group %s: %w", grp.Label, err)
				}
				year[i] = year[i].Add(t)
			}
			prev = cur
			continue
		}
		m := &month{first: ms, last: lastFetch, start: ms}
		if o.From.After(ms) {
			m.first = o.From
		}
		for i, grp := range o.Groups {
			gm, monthTotal, err := monthTotals(grp, cur[i], prev[i], year[i], ms, m.first, m.last)
			if err != nil {
				return fmt.Errorf("billing group %s: %w", grp.Label, err)
			}
			m.groups = append(m.groups, gm)
			if thisYear(grp) {
				year[i] = year[i].Add(monthTotal)
			}
		}
		prev = cur
		select {
		case out <- m:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// fetch returns one group's daily records from first to last (inclusive, in
// one month), in served order, each checked to cover exactly one day of it.
func (r *runner) fetch(ctx context.Context, g collector.Group, first, last time.Time) ([]twilio.Record, error) {
	if r.o.FetchTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.o.FetchTimeout)
		defer cancel()
	}
	u, err := r.o.Fetcher.FetchRecords(ctx, g.ID, twilio.Query{
		StartDate:         first.Format(twilio.DateLayout),
		EndDate:           last.Format(twilio.DateLayout),
		AggregationPeriod: twilio.Daily,
	})
	if err != nil {
		return nil, fmt.Errorf("billing group %s, %s to %s: %w", g.Label, first.Format(twilio.DateLayout), last.Format(twilio.DateLayout), err)
	}
	for i, rec := range u.Records {
		if rec.StartDate.IsZero() || !rec.StartDate.Equal(rec.EndDate) || rec.StartDate.Before(first) || rec.StartDate.After(last) {
			return nil, fmt.Errorf("billing group %s, %s to %s: record %d (%s) is dated %s to %s, not one day of the range asked for with aggregationPeriod=DAILY",
				g.Label, first.Format(twilio.DateLayout), last.Format(twilio.DateLayout), i, rec.ProductName,
				rec.StartDate.Format(twilio.DateLayout), rec.EndDate.Format(twilio.DateLayout))
		}
	}
	// Day order, keeping the served order within a day.
	sort.SliceStable(u.Records, func(i, j int) bool { return u.Records[i].StartDate.Before(u.Records[j].StartDate) })
	r.mu.Lock()
	r.pages += u.Pages
	r.records += len(u.Records)
	r.mu.Unlock()
	return u.Records, nil
}

// monthTotals adds up one group's month: for each day D from first to last,
// the month to date through D, the day before D and, if g has this_year on,
// the year to date through D, which is yearBefore (the exact totals of the
// year's months before this one) plus the month to date; and the month
// before. cur holds the month's records and prev the previous month's, in
// day order. It also returns the month's exact totals through last.
func monthTotals(g collector.Group, cur, prev []twilio.Record, yearBefore *collector.Totals, monthStart, first, last time.Time) (groupMonth, *collector.Totals, error) {
	var gm groupMonth
	var err error
	prevStart := monthStart.AddDate(0, -1, 0)
	if gm.lastMonth, err = collector.BackfillTotals(g, prev, prevStart, monthStart); err != nil {
		return gm, nil, err
	}
	// dayEnd(d) is the index in recs just past day d's records.
	dayEnd := func(recs []twilio.Record, d time.Time) int {
		return sort.Search(len(recs), func(i int) bool { return recs[i].StartDate.After(d) })
	}
	dayStart := func(recs []twilio.Record, d time.Time) int {
		return sort.Search(len(recs), func(i int) bool { return !recs[i].StartDate.Before(d) })
	}
	var mtd *collector.Totals
	for d := first; !d.After(last); d = d.Add(day) {
		if mtd, err = collector.Sum(cur[:dayEnd(cur, d)], monthStart, d.Add(day)); err != nil {
			return gm, nil, err
		}
		mf, err := collector.BackfillFigures(g, mtd)
		if err != nil {
			return gm, nil, err
		}
		y := d.Add(-day)
		src := cur
		if y.Before(monthStart) {
			src = prev
		}
		yd, err := collector.BackfillTotals(g, src[dayStart(src, y):dayEnd(src, y)], y, d)
		if err != nil {
			return gm, nil, err
		}
		gm.monthToDate = append(gm.monthToDate, mf)
		gm.yesterday = append(gm.yesterday, yd)
		if thisYear(g) {
			ytd, err := collector.BackfillFigures(g, yearBefore.Add(mtd))
			if err != nil {
				return gm, nil, err
			}
			gm.yearToDate = append(gm.yearToDate, ytd)
		}
	}
	return gm, mtd, nil
}

// series is one series of a block: its labels and its value on each day
// (NaN where it has no sample that day).
type series struct {
	lbls labels.Labels
	vals []float64
}

// seriesSet builds the series of one month, keyed by their labels.
type seriesSet struct {
	days  int
	extra map[string]string
	byKey map[string]*series
	order []*series
}

// set puts value v on day i of the series named by the name/value pairs.
func (s *seriesSet) set(i int, v float64, nameValues ...string) {
	key := strings.Join(nameValues, "\xff")
	ser := s.byKey[key]
	if ser == nil {
		b := labels.NewBuilder(labels.EmptyLabels())
		b.Set(model.MetricNameLabel, nameValues[0])
		for j := 1; j+1 < len(nameValues); j += 2 {
			b.Set(nameValues[j], nameValues[j+1])
		}
		for k, v := range s.extra {
			b.Set(k, v)
		}
		ser = &series{lbls: b.Labels(), vals: make([]float64, s.days)}
		for j := range ser.vals {
			ser.vals[j] = math.NaN()
		}
		s.byKey[key] = ser
		s.order = append(s.order, ser)
	}
	ser.vals[i] = v
}

// periodSeries sets the cost, usage and bounds series of one period.
func (s *seriesSet) periodSeries(i int, prefix, group string, t collector.Figures, start, end time.Time) {
	for _, c := range t.Costs {
		s.set(i, c.Value, prefix+"cost", "billing_group", group, "product_category", c.Category, "currency", c.Unit)
	}
	for _, u := range t.Usages {
		s.set(i, u.Value, prefix+"usage", "billing_group", group, "product_category", u.Category, "unit", u.Unit)
	}
	s.set(i, float64(start.Unix()), prefix+"period_start_timestamp_seconds", "billing_group", group)
	s.set(i, float64(end.Unix()), prefix+"period_end_timestamp_seconds", "billing_group", group)
}

// build lays out the series of month m as the exporter would have served
// them during each of its days.
func (r *runner) build(m *month) *seriesSet {
	days := int(m.last.Sub(m.first)/day) + 1
	s := &seriesSet{days: days, extra: r.o.Labels, byKey: map[string]*series{}}
	const prefix = "twilio_billing_group_"
	monthEnd := m.start.AddDate(0, 1, 0)
	for i := range days {
		d := m.first.Add(time.Duration(i) * day)
		products := map[collector.Product]struct{}{}
		addProducts := func(t collector.Figures) {
			for _, p := range t.Products {
				products[p] = struct{}{}
			}
		}
		for gi, g := range r.o.Groups {
			gm := m.groups[gi]
			s.periodSeries(i, prefix, g.Label, gm.monthToDate[i], m.start, monthEnd)
			addProducts(gm.monthToDate[i])
			if g.TTL[collector.Yesterday] > 0 {
				s.periodSeries(i, prefix+"yesterday_", g.Label, gm.yesterday[i], d.Add(-day), d)
				addProducts(gm.yesterday[i])
			}
			if g.TTL[collector.LastMonth] > 0 {
				s.periodSeries(i, prefix+"last_month_", g.Label, gm.lastMonth, m.start.AddDate(0, -1, 0), m.start)
				addProducts(gm.lastMonth)
			}
			if thisYear(g) {
				start, end := collector.ThisYear.Bounds(d, g.YearStart)
				s.periodSeries(i, prefix+"this_year_", g.Label, gm.yearToDate[i], start, end)
				addProducts(gm.yearToDate[i])
			}
			if b := g.Budget; b != nil {
				s.set(i, b.Amount, prefix+"budget", "billing_group", g.Label, "currency", b.Currency)
			}
			if b := g.AnnualBudget; b != nil {
				s.set(i, b.Amount, prefix+"annual_budget", "billing_group", g.Label, "currency", b.Currency)
			}
			if th := g.Thresholds; th != nil && g.Budget != nil {
				s.set(i, th.Nearly, prefix+"budget_alert_threshold_ratio", "billing_group", g.Label, "level", "nearly")
				s.set(i, th.Warning, prefix+"budget_alert_threshold_ratio", "billing_group", g.Label, "level", "warning")
				s.set(i, th.Critical, prefix+"budget_alert_threshold_ratio", "billing_group", g.Label, "level", "critical")
			}
			for _, c := range g.PlannedCategories {
				s.set(i, 1, prefix+"planned_category_info", "billing_group", g.Label, "product_category", c)
			}
			// The owner labels, as the exporter serves them; a name another
			// group sets and this one does not is absent, as an empty
			// value is in Prometheus.
			info := []string{prefix + "info", "billing_group", g.Label}
			for _, n := range slices.Sorted(maps.Keys(g.Labels)) {
				info = append(info, n, g.Labels[n])
			}
			s.set(i, 1, info...)
		}
		for p := range products {
			s.set(i, 1, prefix+"product_info", "product_category", p.Category, "product", p.Name)
		}
		if rp := r.o.Reporting; rp != nil {
			for _, c := range slices.Sorted(maps.Keys(rp.Rates)) {
				s.set(i, rp.Rates[c], "twilio_billing_reporting_rate", "currency", c, "reporting_currency", rp.Currency)
			}
			s.set(i, float64(rp.AsOf.Unix()), "twilio_billing_reporting_rates_as_of_timestamp_seconds", "reporting_currency", rp.Currency)
		}
		s.set(i, float64(yearStart(r.o.Groups[0])), "twilio_billing_fiscal_year_start_month")
	}
	return s
}

// blockDays is the most days one block covers: blocks as Prometheus' own
// level-1 compactions would lay them out at most, never across a month, and
// the same blocks as the backfill wrote with a TSDB head.
const blockDays = 8

// write writes month m as blocks of at most blockDays days into dir and
// returns their paths.
func (r *runner) write(ctx context.Context, dir string, m *month) ([]string, error) {
	set := r.build(m)
	var dirs []string
	for i0 := 0; i0 < set.days; i0 += blockDays {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		i1 := min(i0+blockDays, set.days)
		d, err := r.writeBlock(dir, set, m.first.Add(time.Duration(i0)*day), i0, i1)
		if err != nil {
			return nil, err
		}
		dirs = append(dirs, d)
	}
	r.daysDone += set.days
	level.Info(r.o.Logger).Log("msg", "Wrote blocks", "from", m.first.Format(twilio.DateLayout), "to", m.last.Format(twilio.DateLayout),
		"blocks", len(dirs), "groups", len(r.o.Groups), "days", fmt.Sprintf("%d/%d", r.daysDone, r.totalDays), "series", len(set.order),
		"samples", r.samples, "elapsed", r.elapsed())
	return dirs, nil
}

// blockFileWriter writes one block's files; a test swaps in Prometheus'
// head-based writer to compare the blocks.
var blockFileWriter = writeTSDBBlock

// writeBlock writes days i0 to i1 (exclusive) of set, the first of which
// starts at first, as one block into dir and returns its path.
func (r *runner) writeBlock(dir string, set *seriesSet, first time.Time, i0, i1 int) (string, error) {
	mint := first.UnixMilli()
	if r.seriesSeen == nil {
		r.seriesSeen = map[string]struct{}{}
	}
	var series []blockSeries
	for _, ser := range set.order {
		var days []blockDay
		for i := i0; i < i1; i++ {
			if v := ser.vals[i]; !math.IsNaN(v) {
				days = append(days, blockDay{t0: mint + int64(i-i0)*day.Milliseconds(), v: v})
			}
		}
		if len(days) > 0 {
			r.seriesSeen[ser.lbls.String()] = struct{}{}
			series = append(series, blockSeries{lbls: ser.lbls, days: days})
		}
	}
	path, samples, err := blockFileWriter(dir, series, int(day/r.o.Interval), r.o.Interval.Milliseconds())
	if err != nil {
		return "", fmt.Errorf("write block: %w", err)
	}
	r.samples += int(samples)
	return path, nil
}

// dirSize is the total size of the files under dir.
func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}
