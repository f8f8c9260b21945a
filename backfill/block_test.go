package backfill

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/tsdb/index"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim/simtest"
)

// headBlockWriter writes a block the way the backfill did before it wrote
// the block format itself: through Prometheus' tsdb.BlockWriter, which
// appends every sample to a TSDB head and compacts it. It is the reference
// the block writer is compared with.
func headBlockWriter(dir string, series []blockSeries, perDay int, step int64) (string, uint64, error) {
	window := int64(blockDays) * day.Milliseconds()
	w, err := tsdb.NewBlockWriter(slog.New(slog.DiscardHandler), dir, 2*window)
	if err != nil {
		return "", 0, err
	}
	defer w.Close()
	ctx := context.Background()
	app := w.Appender(ctx)
	var n uint64
	for _, s := range series {
		var ref storage.SeriesRef
		for _, d := range s.days {
			for k := range perDay {
				if ref, err = app.Append(ref, s.lbls, d.t0+int64(k)*step, d.v); err != nil {
					return "", 0, err
				}
				n++
			}
		}
	}
	if err := app.Commit(); err != nil {
		return "", 0, err
	}
	id, err := w.Flush(ctx)
	if err != nil {
		return "", 0, err
	}
	return filepath.Join(dir, id.String()), n, nil
}

// blockDump is what a block holds: its meta.json's range and stats and
// every sample of every series.
type blockDump struct {
	MinTime, MaxTime                   int64
	NumSeries, NumSamples, NumFloat    uint64
	Level, Version                     int
	Series                             map[string][][2]float64
	samplesPerChunkMax, chunksUnsorted int
}

// readBlocks opens every block in dir with Prometheus' tsdb package and
// returns them by minTime.
func readBlocks(t *testing.T, dir string) map[int64]blockDump {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64]blockDump{}
	for _, e := range es {
		b, err := tsdb.OpenBlock(nil, filepath.Join(dir, e.Name()), nil, nil)
		if err != nil {
			t.Fatalf("open block %s: %v", e.Name(), err)
		}
		m := b.Meta()
		d := blockDump{MinTime: m.MinTime, MaxTime: m.MaxTime, NumSeries: m.Stats.NumSeries, NumSamples: m.Stats.NumSamples,
			NumFloat: m.Stats.NumFloatSamples, Level: m.Compaction.Level, Version: m.Version, Series: map[string][][2]float64{}}
		ir, err := b.Index()
		if err != nil {
			t.Fatal(err)
		}
		cr, err := b.Chunks()
		if err != nil {
			t.Fatal(err)
		}
		k, v := index.AllPostingsKey()
		p, err := ir.Postings(context.Background(), k, v)
		if err != nil {
			t.Fatal(err)
		}
		var builder labels.ScratchBuilder
		var prev labels.Labels
		for p.Next() {
			var chks []chunks.Meta
			if err := ir.Series(p.At(), &builder, &chks); err != nil {
				t.Fatal(err)
			}
			l := builder.Labels()
			if prev.Len() > 0 && labels.Compare(prev, l) >= 0 {
				d.chunksUnsorted++
			}
			prev = l
			var samples [][2]float64
			for _, c := range chks {
				ch, _, err := cr.ChunkOrIterable(c)
				if err != nil {
					t.Fatal(err)
				}
				d.samplesPerChunkMax = max(d.samplesPerChunkMax, ch.NumSamples())
				it := ch.Iterator(nil)
				for it.Next() == chunkenc.ValFloat {
					ts, v := it.At()
					samples = append(samples, [2]float64{float64(ts), v})
				}
			}
			d.Series[l.String()] = samples
		}
		if err := p.Err(); err != nil {
			t.Fatal(err)
		}
		ir.Close()
		cr.Close()
		b.Close()
		out[m.MinTime] = d
	}
	return out
}

// TestBlocksAreTheHeadWritersBlocks runs the same backfill twice, once with
// the block writer and once with Prometheus' head-based tsdb.BlockWriter the
// backfill used before, and checks that both give the same blocks: the same
// time ranges and stats, the same series, every sample the same, series in
// label order and chunks of at most 120 samples.
func TestBlocksAreTheHeadWritersBlocks(t *testing.T) {
	sg, cg := testGroups()
	sim := usagesim.New(usagesim.Options{Groups: sg, Now: func() time.Time { return testNow }})
	lean := testOptions(t, simtest.Client(t, simtest.Start(t, sim), 7, retries), cg, t.TempDir())
	if _, err := Run(context.Background(), lean); err != nil {
		t.Fatal(err)
	}
	blockFileWriter = headBlockWriter
	t.Cleanup(func() { blockFileWriter = writeTSDBBlock })
	head := testOptions(t, simtest.Client(t, simtest.Start(t, sim), 7, retries), cg, t.TempDir())
	if _, err := Run(context.Background(), head); err != nil {
		t.Fatal(err)
	}
	got, want := readBlocks(t, lean.OutputDir), readBlocks(t, head.OutputDir)
	if len(got) != len(want) || len(want) < 10 {
		t.Fatalf("%d blocks, the head writer wrote %d", len(got), len(want))
	}
	mins := make([]int64, 0, len(want))
	for m := range want {
		mins = append(mins, m)
	}
	sort.Slice(mins, func(i, j int) bool { return mins[i] < mins[j] })
	for _, m := range mins {
		g, w := got[m], want[m]
		if g.Series == nil {
			t.Errorf("no block starts at %d", m)
			continue
		}
		if g.MaxTime != w.MaxTime || g.NumSeries != w.NumSeries || g.NumSamples != w.NumSamples || g.NumFloat != w.NumFloat ||
			g.Level != 1 || g.Version != 1 {
			t.Errorf("block at %d: meta %+v, head writer's %+v", m, metaOf(g), metaOf(w))
		}
		if g.chunksUnsorted > 0 {
			t.Errorf("block at %d: %d series out of label order", m, g.chunksUnsorted)
		}
		if g.samplesPerChunkMax > samplesPerChunk {
			t.Errorf("block at %d: a chunk of %d samples", m, g.samplesPerChunkMax)
		}
		if len(g.Series) != len(w.Series) {
			t.Errorf("block at %d: %d series, head writer's %d", m, len(g.Series), len(w.Series))
		}
		for l, ws := range w.Series {
			gs, ok := g.Series[l]
			if !ok {
				t.Errorf("block at %d lacks %s", m, l)
				continue
			}
			if len(gs) != len(ws) {
				t.Errorf("block at %d, %s: %d samples, head writer's %d", m, l, len(gs), len(ws))
				continue
			}
			for i := range ws {
				if gs[i] != ws[i] && !(math.IsNaN(gs[i][1]) && math.IsNaN(ws[i][1])) {
					t.Errorf("block at %d, %s: sample %d is %v, head writer's %v", m, l, i, gs[i], ws[i])
					break
				}
			}
		}
	}
}

// metaOf is a block's meta.json fields, for messages.
func metaOf(d blockDump) string {
	return fmt.Sprintf("maxTime=%d series=%d samples=%d floatSamples=%d level=%d version=%d",
		d.MaxTime, d.NumSeries, d.NumSamples, d.NumFloat, d.Level, d.Version)
}
