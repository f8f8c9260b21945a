package backfill

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/collector"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/twilio"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim/simtest"
)

var testNow = time.Date(2026, 5, 20, 9, 30, 0, 0, time.UTC)

func testGroups() ([]usagesim.Group, []collector.Group) {
	sg := []usagesim.Group{
		{ID: "commerce_billingprofile_TA", Currency: "USD", Categories: 4, Seed: 1},
		{ID: "commerce_billingprofile_TB", Currency: "EUR", Categories: 3, Seed: 2},
	}
	cg := []collector.Group{
		{ID: sg[0].ID, Label: "a", TTL: [collector.NumPeriods]time.Duration{collector.ThisMonth: time.Hour, collector.Yesterday: time.Hour, collector.LastMonth: time.Hour}},
		{ID: sg[1].ID, Label: "b"},
	}
	return sg, cg
}

func testOptions(t *testing.T, f collector.Fetcher, groups []collector.Group, dir string) Options {
	t.Helper()
	return Options{
		Fetcher: f, Groups: groups, OutputDir: dir, Concurrency: 4,
		From: time.Date(2026, 2, 10, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 5, 3, 0, 0, 0, 0, time.UTC),
		Labels: map[string]string{"job": "twilio_billing", "instance": "exporter:10117"},
		Now:    func() time.Time { return testNow },
	}
}

// entries lists dir, or reports that it does not exist.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return []string{"(does not exist)"}
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

// TestBadInputWritesNothing checks that each bad input is refused with an
// error naming it, before any request, and leaves the output as it was.
func TestBadInputWritesNothing(t *testing.T) {
	sg, cg := testGroups()
	sim := usagesim.New(usagesim.Options{Groups: sg, Now: func() time.Time { return testNow }})
	client := simtest.Client(t, simtest.Start(t, sim), 100, retries)
	day := func(s string) time.Time { d, _ := time.Parse("2006-01-02", s); return d }
	for _, tc := range []struct {
		name    string
		edit    func(o *Options)
		want    string
		present []string // what the output directory holds before and after
	}{
		{"from after to", func(o *Options) { o.From, o.To = day("2026-04-02"), day("2026-04-01") },
			"--from=2026-04-02 is after --to=2026-04-01", []string{"(does not exist)"}},
		{"to is today", func(o *Options) { o.To = day("2026-05-20") },
			"--to=2026-05-20 is not in the past: the last day a backfill can write is yesterday (UTC), 2026-05-19", []string{"(does not exist)"}},
		{"future dates", func(o *Options) { o.From, o.To = day("2027-01-01"), day("2027-01-02") },
			"--to=2027-01-02 is not in the past", []string{"(does not exist)"}},
		{"non-empty output", func(o *Options) {
			if err := os.MkdirAll(o.OutputDir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(o.OutputDir, "wal"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}, "is not empty", []string{"wal"}},
		{"output is not a readable directory", func(o *Options) {
			o.OutputDir = filepath.Join(o.OutputDir, "file")
			if err := os.MkdirAll(filepath.Dir(o.OutputDir), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(o.OutputDir, []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "not a directory", nil},
		{"no job label", func(o *Options) { delete(o.Labels, "job") }, "--label=job=... is required", []string{"(does not exist)"}},
		{"reserved label", func(o *Options) { o.Labels["currency"] = "USD" }, "currency is set by the exporter's own metrics", []string{"(does not exist)"}},
		{"interval over the lookback", func(o *Options) { o.Interval = 10 * time.Minute }, "--sample.interval=10m0s must be from 1s to 5m0s", []string{"(does not exist)"}},
		{"interval not dividing a day", func(o *Options) { o.Interval = 7 * time.Minute }, "divide a day evenly", []string{"(does not exist)"}},
		{"no concurrency", func(o *Options) { o.Concurrency = 0 }, "--twilio.concurrency=0 must be at least 1", []string{"(does not exist)"}},
		{"years starting in different months", func(o *Options) {
			o.Groups = slices.Clone(o.Groups)
			o.Groups[1].YearStart = time.April
		}, "the billing groups' years start in different months", []string{"(does not exist)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := testOptions(t, client, cg, filepath.Join(t.TempDir(), "out"))
			tc.edit(&o)
			sim.ResetStats()
			_, err := Run(context.Background(), o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
			if n := sim.Stats().RecordsRequests; n != 0 {
				t.Errorf("%d records requests before refusing, want 0", n)
			}
			if tc.present != nil {
				if got := entries(t, o.OutputDir); strings.Join(got, ",") != strings.Join(tc.present, ",") {
					t.Errorf("output directory holds %v afterwards, want %v", got, tc.present)
				}
			} else if b, err := os.ReadFile(o.OutputDir); err != nil || string(b) != "x" {
				t.Errorf("the file given as output changed: %q, %v", b, err)
			}
		})
	}
}

// failingFetcher fails every fetch after the first `after`, like an API that
// starts refusing part-way through a long range.
type failingFetcher struct {
	f     collector.Fetcher
	after int32
	calls atomic.Int32
	sim   *usagesim.Server
}

func (f *failingFetcher) FetchRecords(ctx context.Context, id string, q twilio.Query) (*twilio.Usage, error) {
	if f.calls.Add(1) == f.after+1 {
		f.sim.InjectFault(usagesim.Fault{Kind: usagesim.NotEligible})
	}
	return f.f.FetchRecords(ctx, id, q)
}

// TestAPIErrorMidRangeLeavesNoBlocks fails the API after some months have
// been written (blocks of the first months are staged by then) and checks
// that the error names the group and the range, and nothing is left: not
// the staged blocks, not the directory it created.
func TestAPIErrorMidRangeLeavesNoBlocks(t *testing.T) {
	sg, cg := testGroups()
	sim := usagesim.New(usagesim.Options{Groups: sg, Now: func() time.Time { return testNow }})
	// Months fetched: January (for February's last month), February to May,
	// two groups each: the 9th fetch is May's first.
	f := &failingFetcher{f: simtest.Client(t, simtest.Start(t, sim), 100, retries), after: 8, sim: sim}
	var progress strings.Builder
	o := testOptions(t, f, cg, filepath.Join(t.TempDir(), "out"))
	o.Logger = logfmt(&progress)
	o.Concurrency = 1
	_, err := Run(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), "2026-05-01 to 2026-05-03") || !strings.Contains(err.Error(), "71001") {
		t.Fatalf("err = %v, want the failing range and Twilio error 71001", err)
	}
	if !strings.Contains(progress.String(), `msg="Wrote blocks" from=2026-03-01`) {
		t.Fatalf("the failure came before March's block was staged; progress:\n%s", progress.String())
	}
	if got := entries(t, o.OutputDir); len(got) != 1 || got[0] != "(does not exist)" {
		t.Errorf("output directory after the failure: %v, want it gone as it did not exist before", got)
	}

	// An existing empty directory stays, empty.
	sim.ClearFaults()
	f = &failingFetcher{f: simtest.Client(t, simtest.Start(t, sim), 100, retries), after: 8, sim: sim}
	o = testOptions(t, f, cg, t.TempDir())
	o.Concurrency = 1
	if _, err := Run(context.Background(), o); err == nil {
		t.Fatal("no error")
	}
	if got := entries(t, o.OutputDir); len(got) != 0 {
		t.Errorf("output directory after the failure holds %v, want nothing", got)
	}
}

// TestWritesBlocksOfAtMost8Days checks the layout a user moves into
// Prometheus: blocks of at most 8 days that never straddle a month, covering
// the range without gaps or overlaps, and nothing else.
func TestWritesBlocksOfAtMost8Days(t *testing.T) {
	sg, cg := testGroups()
	sim := usagesim.New(usagesim.Options{Groups: sg, Now: func() time.Time { return testNow }})
	o := testOptions(t, simtest.Client(t, simtest.Start(t, sim), 100, retries), cg, t.TempDir())
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	got := entries(t, o.OutputDir)
	// 10-28 February: 8+8+3 days; March: 8+8+8+7; April: 8+8+8+6; 1-3 May.
	if len(got) != 12 || res.Blocks != 12 {
		t.Fatalf("output holds %v (%d blocks reported), want 12", got, res.Blocks)
	}
	next := o.From.UnixMilli()
	var metas []struct{ MinTime, MaxTime int64 }
	for _, b := range got {
		body, err := os.ReadFile(filepath.Join(o.OutputDir, b, "meta.json"))
		if err != nil {
			t.Fatalf("%s is not a block: %v", b, err)
		}
		var m struct{ MinTime, MaxTime int64 }
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatal(err)
		}
		metas = append(metas, m)
	}
	sort.Slice(metas, func(i, j int) bool { return metas[i].MinTime < metas[j].MinTime })
	for _, m := range metas {
		start, end := time.UnixMilli(m.MinTime).UTC(), time.UnixMilli(m.MaxTime).UTC()
		if m.MinTime != next || end.Sub(start) > 8*24*time.Hour || end.Add(-time.Millisecond).Month() != start.Month() {
			t.Errorf("block %s to %s: want it to start at %s, cover at most 8 days and one month", start, end, time.UnixMilli(next).UTC())
		}
		// A block ends just after its last sample; the next one starts
		// one interval later.
		next = m.MaxTime - 1 + (5 * time.Minute).Milliseconds()
	}
	if last := time.UnixMilli(next).UTC(); !last.Equal(o.To.Add(24 * time.Hour)) {
		t.Errorf("blocks end at %s, want the end of %s", last, o.To)
	}
	// 10 February to 3 May: 83 days of 288 samples for every series that
	// exists on that day.
	if res.Days != 83 || res.Samples%288 != 0 || res.Samples == 0 {
		t.Errorf("days = %d, samples = %d; want 83 days and whole days of 5-minute samples", res.Days, res.Samples)
	}
}

// logfmt is a go-kit logger writing to w.
func logfmt(w io.Writer) log.Logger { return log.NewLogfmtLogger(log.NewSyncWriter(w)) }
