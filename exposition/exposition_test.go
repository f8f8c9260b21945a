package exposition

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/collector"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/internal/testsupport"
)

// exposedBody is what Write serves for exp and live in format, decompressed;
// a gzip body must be exactly one member.
func exposedBody(t *testing.T, x *Exposer, live prometheus.Gatherer, format expfmt.Format, gz bool) []byte {
	t.Helper()
	var mfs []*dto.MetricFamily
	if live != nil {
		var err error
		if mfs, err = live.Gather(); err != nil {
			t.Fatal(err)
		}
	}
	enc, err := x.Get(context.Background(), format, gz)
	if err != nil || enc.Err != nil {
		t.Fatal(err, enc.Err)
	}
	var b bytes.Buffer
	if err := Write(&b, enc, mfs, nil); err != nil {
		t.Fatal(err)
	}
	if !gz {
		return b.Bytes()
	}
	return testsupport.Gunzip(t, b.Bytes())
}

// TestExpositionEqualsRegistryPerFormat serves one state in every format
// client_golang encodes (text, OpenMetrics, delimited and text protobuf),
// with and without gzip, gathered whole and a group at a time, merged with process-wide families that sort before,
// between and after the billing group ones, and compares with the registry.
func TestExpositionEqualsRegistryPerFormat(t *testing.T) {
	h := newHarness(t, []collector.Group{groupA, groupB})
	h.fake.set(idA, usageA("2026-11-26"), nil)
	h.fake.set(idB, usageB("2026-11-26", "1.5"), nil)
	live := prometheus.NewRegistry()
	for _, name := range []string{"go_goroutines_fixed", "twilio_billing_group_zz", "twilio_exporter_build_info", "twilio_exporter_requests"} {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: "Fixed."})
		g.Set(3)
		live.MustRegister(g)
	}
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "twilio_exporter_scrapes_total", Help: "A counter."})
	c.Add(2)
	live.MustRegister(c)
	// Gathered whole, and a group at a time (chunks joined).
	whole, chunked := NewExposer(h.cache), NewExposer(h.cache)
	chunked.chunk = 1
	for _, format := range []expfmt.Format{
		expfmt.NewFormat(expfmt.TypeTextPlain),
		expfmt.NewFormat(expfmt.TypeOpenMetrics),
		expfmt.NewFormat(expfmt.TypeProtoDelim),
		expfmt.NewFormat(expfmt.TypeProtoText),
		expfmt.NewFormat(expfmt.TypeProtoCompact),
	} {
		want := testsupport.Exposition(t, format, live, registryFor(collector.New(h.cache.Get(context.Background()))))
		for _, x := range []*Exposer{whole, chunked} {
			for _, gz := range []bool{false, true} {
				got := exposedBody(t, x, live, format, gz)
				if !bytes.Equal(got, want) {
					t.Errorf("%s, chunks of %d series, gzip %v: %d bytes, registry %d:\n%s\nwant:\n%s", format, x.chunk, gz, len(got), len(want), got, want)
				}
			}
		}
		if format.FormatType() == expfmt.TypeOpenMetrics {
			if n := bytes.Count(want, []byte("# EOF\n")); n != 1 || !bytes.HasSuffix(want, []byte("# EOF\n")) {
				t.Errorf("OpenMetrics: %d # EOF lines, want 1 at the end:\n%s", n, want)
			}
		}
	}
}

// TestExpositionFollowsTheCache walks a cache through every change of what a
// scrape reports (first refresh, new data, a failure, a period rolling over,
// a reload renaming a group and changing its budget, a group removed) and
// checks at each step that the exposition served equals the registry's.
func TestExpositionFollowsTheCache(t *testing.T) {
	h := newHarness(t, []collector.Group{groupA, groupB})
	x := NewExposer(h.cache)
	text := expfmt.NewFormat(expfmt.TypeTextPlain)
	check := func(step string, wantIn string) {
		t.Helper()
		got := exposedBody(t, x, nil, text, true)
		want := testsupport.Exposition(t, text, registryFor(collector.New(h.cache.Get(context.Background()))))
		if !bytes.Equal(got, want) {
			t.Fatalf("%s: exposition\n%s\nregistry:\n%s", step, got, want)
		}
		if !strings.Contains(string(got), wantIn) {
			t.Fatalf("%s: exposition lacks %q:\n%s", step, wantIn, got)
		}
	}
	h.fake.set(idA, usageA("2026-11-26"), nil)
	h.fake.set(idB, usageB("2026-11-26", "1.5"), nil)
	check("first refresh", `twilio_billing_group_cost{billing_group="commerce_billingprofile_BBB222",currency="EUR",product_category="verify"} 1.5`)

	h.clock.Add(16 * time.Minute)
	h.fake.set(idB, usageB("2026-11-26", "2.5"), nil)
	check("refresh after the TTL", `product_category="verify"} 2.5`)

	h.clock.Set(time.Date(2026, 11, 30, 23, 59, 40, 0, time.UTC))
	h.fake.set(idA, nil, errors.New("twilio: records: HTTP 500"))
	h.fake.set(idB, nil, errors.New("twilio: records: HTTP 500"))
	check("failed refresh", `twilio_billing_group_up{billing_group="commerce_billingprofile_BBB222"} 0`)

	// 40 s later, within the retry interval: no refresh, nothing recorded,
	// but it is December and November's snapshots must no longer be served.
	h.clock.Set(time.Date(2026, 12, 1, 0, 0, 20, 0, time.UTC))
	check("month rolled over, no refresh", `twilio_billing_group_up{billing_group="marketing"} 0`)
	if got := exposedBody(t, x, nil, text, false); bytes.Contains(got, []byte("twilio_billing_group_cost{")) {
		t.Fatalf("November's cost served in December:\n%s", got)
	}

	h.clock.Add(2 * time.Minute)
	h.fake.set(idA, usageA("2026-12-01"), nil)
	renamed := groupA
	renamed.Label, renamed.Budget = "growth", &collector.Budget{Amount: 100, Currency: "USD"}
	h.cache.SetGroups([]collector.Group{renamed})
	check("reload renaming a group and removing another", `twilio_billing_group_budget{billing_group="growth",currency="USD"} 100`)
	if got := exposedBody(t, x, nil, text, false); bytes.Contains(got, []byte("BBB222")) || bytes.Contains(got, []byte("marketing")) {
		t.Fatalf("removed or renamed group still served:\n%s", got)
	}
}

// TestExposerSharesOneEncoding checks that scrapes of one state share the
// encoded bytes rather than each encoding its own copy.
func TestExposerSharesOneEncoding(t *testing.T) {
	h := newHarness(t, []collector.Group{groupA})
	h.fake.set(idA, usageA("2026-11-26"), nil)
	x := NewExposer(h.cache)
	text := expfmt.NewFormat(expfmt.TypeTextPlain)
	a, _ := x.Get(context.Background(), text, true)
	b, _ := x.Get(context.Background(), text, true)
	if a != b || &a.Families[0].Data[0] != &b.Families[0].Data[0] {
		t.Error("two scrapes of one state encoded the exposition twice")
	}
	h.clock.Add(16 * time.Minute)
	if c, _ := x.Get(context.Background(), text, true); c == a {
		t.Error("a refresh that landed did not replace the encoded exposition")
	}
}

func TestCRC32Combine(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range [][2]int{{0, 0}, {0, 5}, {5, 0}, {1, 1}, {100, 3}, {3, 70000}, {65536, 65535}, {1 << 20, 12345}} {
		a, b := make([]byte, n[0]), make([]byte, n[1])
		for i := range a {
			a[i] = byte(rng.Uint32())
		}
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		want := crc32.ChecksumIEEE(append(append([]byte(nil), a...), b...))
		if got := crc32Combine(crc32.ChecksumIEEE(a), crc32.ChecksumIEEE(b), len(b)); got != want {
			t.Errorf("len %d + %d: %08x, want %08x", len(a), len(b), got, want)
		}
	}
}

// TestConcurrentScrapesServeOneEncoding runs scrapes of one state at once
// (under -race in make test): each body is whole and they all share one
// encoding.
func TestConcurrentScrapesServeOneEncoding(t *testing.T) {
	h := newHarness(t, []collector.Group{groupA, groupB})
	h.fake.set(idA, usageA("2026-11-26"), nil)
	h.fake.set(idB, usageB("2026-11-26", "1.5"), nil)
	x := NewExposer(h.cache)
	text := expfmt.NewFormat(expfmt.TypeTextPlain)
	const n = 8
	bodies := make([][]byte, n)
	encs := make([]*Encoded, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			var err error
			if encs[i], err = x.Get(context.Background(), text, i%2 == 0); err != nil {
				t.Error(err)
				return
			}
			var b bytes.Buffer
			if err := Write(&b, encs[i], nil, nil); err != nil {
				t.Error(err)
			}
			bodies[i] = b.Bytes()
		})
	}
	wg.Wait()
	want := testsupport.Exposition(t, text, registryFor(collector.New(h.cache.Get(context.Background()))))
	for i := range n {
		got := bodies[i]
		if i%2 == 0 {
			zr, err := gzip.NewReader(bytes.NewReader(got))
			if err != nil {
				t.Fatal(err)
			}
			if got, err = io.ReadAll(zr); err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(got, want) {
			t.Errorf("scrape %d: %d bytes, registry %d", i, len(got), len(want))
		}
		if encs[i] != encs[i%2] {
			t.Errorf("scrape %d encoded the exposition again", i)
		}
	}
}

// heldEncodes makes x's encodings in format wait, each, until release is
// closed, after sending on started; other formats are encoded at once. It
// counts every encoding made.
func heldEncodes(x *Exposer, format expfmt.Format) (started <-chan struct{}, release chan struct{}, made *atomic.Int64) {
	s, r := make(chan struct{}, 8), make(chan struct{})
	made = new(atomic.Int64)
	x.encode = func(st collector.State, f expfmt.Format, gz bool, chunk int) *Encoded {
		made.Add(1)
		if f == format {
			s <- struct{}{}
			<-r
		}
		return encode(st, f, gz, chunk)
	}
	return s, r, made
}

// TestTextScrapeNotBehindProtobufEncode: while the protobuf encoding of a
// new state is in progress, a text scrape of that state is served, without
// waiting for it; then the protobuf scrape gets its own.
func TestTextScrapeNotBehindProtobufEncode(t *testing.T) {
	h := newHarness(t, []collector.Group{groupA, groupB})
	h.fake.set(idA, usageA("2026-11-26"), nil)
	h.fake.set(idB, usageB("2026-11-26", "1.5"), nil)
	x := NewExposer(h.cache)
	proto, text := expfmt.NewFormat(expfmt.TypeProtoDelim), expfmt.NewFormat(expfmt.TypeTextPlain)
	started, release, _ := heldEncodes(x, proto)
	protoDone := make(chan error, 1)
	go func() {
		_, err := x.Get(context.Background(), proto, false)
		protoDone <- err
	}()
	<-started

	// The bound only catches a hang: the text scrape must not need the
	// protobuf encoding to finish, which waits for release below.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	enc, err := x.Get(ctx, text, false)
	if err != nil {
		t.Fatalf("text scrape while a protobuf encoding runs: %v", err)
	}
	var b bytes.Buffer
	if err := Write(&b, enc, nil, nil); err != nil {
		t.Fatal(err)
	}
	if want := testsupport.Exposition(t, text, registryFor(collector.New(h.cache.Get(context.Background())))); !bytes.Equal(b.Bytes(), want) {
		t.Errorf("text scrape: %d bytes, registry %d", b.Len(), len(want))
	}
	close(release)
	if err := <-protoDone; err != nil {
		t.Errorf("protobuf scrape: %v", err)
	}
}

// TestScrapeDeadlineWhileEncoding: a scrape whose deadline passes while the
// encoding it needs is in progress returns at once with its context's error;
// the encoding goes on, and the next scrape is served with it, not a new one.
func TestScrapeDeadlineWhileEncoding(t *testing.T) {
	h := newHarness(t, []collector.Group{groupA})
	h.fake.set(idA, usageA("2026-11-26"), nil)
	x := NewExposer(h.cache)
	proto := expfmt.NewFormat(expfmt.TypeProtoDelim)
	h.cache.Get(context.Background()) // the refresh, before any deadline
	started, release, made := heldEncodes(x, proto)

	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := x.Get(ctx, proto, false)
		errc <- err
	}()
	<-started
	cancel() // the scrape's deadline passes
	err := <-errc
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "the scrape's deadline passed while the metrics of a new state were being encoded") {
		t.Fatalf("scrape whose deadline passed mid-encoding: %v", err)
	}
	close(release)
	enc, err := x.Get(context.Background(), proto, false)
	if err != nil || enc == nil || len(enc.Families) == 0 {
		t.Fatalf("next scrape: %v", err)
	}
	if n := made.Load(); n != 1 {
		t.Errorf("%d encodings, want 1: the one the first scrape gave up on serves the next", n)
	}
}

// TestChunksBoundWhatIsGathered: a state of 1,000 groups is gathered in
// chunks of about the chunk size, in label order, each group once.
func TestChunksBoundWhatIsGathered(t *testing.T) {
	var st collector.State
	for i := range 1000 {
		s := &collector.Snapshot{}
		for j := range 20 {
			s.Costs = append(s.Costs, collector.Sample{Category: fmt.Sprint(j), Unit: "USD"})
		}
		g := collector.GroupState{Group: collector.Group{Label: fmt.Sprintf("g%04d", 999-i)}}
		g.Periods[collector.ThisMonth] = collector.PeriodState{Fetched: true, Snapshot: s}
		st.Groups = append(st.Groups, g)
	}
	chunks := chunkGroups(st, expfmt.NewFormat(expfmt.TypeTextPlain), 500)
	var labels []string
	for _, c := range chunks {
		n := 0
		for i := range c.Groups {
			n += groupSeries(&c.Groups[i])
			labels = append(labels, c.Groups[i].Group.Label)
		}
		if n > 500+groupSeries(&c.Groups[0]) {
			t.Errorf("a chunk of %d series, want at most about 500", n)
		}
	}
	if len(chunks) < 1000*33/(500+33) || len(labels) != 1000 || !slices.IsSorted(labels) {
		t.Errorf("%d chunks of %d groups, sorted %v", len(chunks), len(labels), slices.IsSorted(labels))
	}
}
