package backfill

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"

	"github.com/oklog/ulid/v2"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/tsdb/index"
	"github.com/prometheus/prometheus/tsdb/tombstones"
)

// samplesPerChunk is the number of samples Prometheus' head puts in a chunk
// before it cuts the next one (tsdb.DefaultSamplesPerChunk).
const samplesPerChunk = 120

// blockSeries is one series of a block and the samples it has there: a run
// of equal-valued samples per day, step apart from the day's start.
type blockSeries struct {
	lbls labels.Labels
	days []blockDay
}

// blockDay is one day's run of samples of a series.
type blockDay struct {
	t0 int64 // first timestamp, ms
	v  float64
}

// blockMeta is the meta.json of a block (Prometheus' tsdb.BlockMeta,
// version 1), written here so the exporter does not import the tsdb package.
type blockMeta struct {
	ULID       ulid.ULID `json:"ulid"`
	MinTime    int64     `json:"minTime"`
	MaxTime    int64     `json:"maxTime"`
	Stats      blockStat `json:"stats"`
	Compaction struct {
		Level   int         `json:"level"`
		Sources []ulid.ULID `json:"sources"`
	} `json:"compaction"`
	Version int `json:"version"`
}

// blockStat is the stats object of meta.json.
type blockStat struct {
	NumSamples      uint64 `json:"numSamples,omitempty"`
	NumFloatSamples uint64 `json:"numFloatSamples,omitempty"`
	NumSeries       uint64 `json:"numSeries,omitempty"`
	NumChunks       uint64 `json:"numChunks,omitempty"`
}

// writeTSDBBlock writes series as one TSDB block into dir, the way
// Prometheus' compactor writes a level-1 block: chunks of samplesPerChunk
// samples into chunks/, the index with series sorted by labels, an empty
// tombstones file and meta.json, in a temporary directory renamed into place
// when complete. Each day of a series is perDay samples step ms apart. It
// holds one chunk at a time besides the series' labels, and returns the
// block's directory and the samples written.
func writeTSDBBlock(dir string, series []blockSeries, perDay int, step int64) (string, uint64, error) {
	slices.SortFunc(series, func(a, b blockSeries) int { return labels.Compare(a.lbls, b.lbls) })
	id := ulid.Make()
	final := filepath.Join(dir, id.String())
	tmp := final + ".tmp-for-creation"
	if err := os.MkdirAll(tmp, 0o777); err != nil {
		return "", 0, fmt.Errorf("block directory: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			_ = os.RemoveAll(tmp)
		}
	}()
	meta := blockMeta{ULID: id, Version: 1}
	meta.Compaction.Level = 1
	meta.Compaction.Sources = []ulid.ULID{id}
	if err := writeBlockData(tmp, series, perDay, step, &meta); err != nil {
		return "", 0, err
	}
	if _, err := tombstones.WriteFile(slog.New(slog.DiscardHandler), tmp, tombstones.NewMemTombstones()); err != nil {
		return "", 0, fmt.Errorf("tombstones: %w", err)
	}
	b, err := json.MarshalIndent(meta, "", "\t")
	if err != nil {
		return "", 0, fmt.Errorf("meta.json: %w", err)
	}
	if err := writeSynced(filepath.Join(tmp, "meta.json"), b); err != nil {
		return "", 0, err
	}
	if meta.Stats.NumSamples == 0 {
		return "", 0, fmt.Errorf("block from %d has no samples", meta.MinTime)
	}
	if err := syncDir(tmp); err != nil {
		return "", 0, err
	}
	if err := os.Rename(tmp, final); err != nil {
		return "", 0, fmt.Errorf("block directory: %w", err)
	}
	ok = true
	return final, meta.Stats.NumSamples, nil
}

// writeBlockData writes the chunks and the index of series into the block
// directory tmp and fills in meta's time range and stats.
func writeBlockData(tmp string, series []blockSeries, perDay int, step int64, meta *blockMeta) (err error) {
	cw, err := chunks.NewWriter(filepath.Join(tmp, "chunks"))
	if err != nil {
		return fmt.Errorf("chunk writer: %w", err)
	}
	defer func() {
		if cerr := cw.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("chunk writer: %w", cerr)
		}
	}()
	iw, err := index.NewWriter(context.Background(), filepath.Join(tmp, "index"))
	if err != nil {
		return fmt.Errorf("index writer: %w", err)
	}
	defer func() {
		if cerr := iw.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("index writer: %w", cerr)
		}
	}()
	symbols := map[string]struct{}{}
	for _, s := range series {
		s.lbls.Range(func(l labels.Label) {
			symbols[l.Name] = struct{}{}
			symbols[l.Value] = struct{}{}
		})
	}
	sorted := make([]string, 0, len(symbols))
	for s := range symbols {
		sorted = append(sorted, s)
	}
	slices.Sort(sorted)
	for _, s := range sorted {
		if err := iw.AddSymbol(s); err != nil {
			return fmt.Errorf("index symbol: %w", err)
		}
	}
	meta.MinTime, meta.MaxTime = int64(^uint64(0)>>1), -int64(^uint64(0)>>1)-1
	var metas []chunks.Meta
	for ref, s := range series {
		metas = metas[:0]
		var c *chunkenc.XORChunk
		var app chunkenc.Appender
		var cmeta chunks.Meta
		flush := func() error {
			if c == nil {
				return nil
			}
			cmeta.Chunk = c
			one := []chunks.Meta{cmeta}
			if err := cw.WriteChunks(one...); err != nil {
				return fmt.Errorf("write chunk: %w", err)
			}
			one[0].Chunk = nil
			metas = append(metas, one[0])
			c = nil
			return nil
		}
		for _, d := range s.days {
			for k := range perDay {
				t := d.t0 + int64(k)*step
				if c != nil && c.NumSamples() >= samplesPerChunk {
					if err := flush(); err != nil {
						return err
					}
				}
				if c == nil {
					c = chunkenc.NewXORChunk()
					if app, err = c.Appender(); err != nil {
						return fmt.Errorf("chunk appender: %w", err)
					}
					cmeta = chunks.Meta{MinTime: t}
				}
				app.Append(0, t, d.v)
				cmeta.MaxTime = t
				meta.MinTime = min(meta.MinTime, t)
				meta.MaxTime = max(meta.MaxTime, t+1)
			}
			meta.Stats.NumSamples += uint64(perDay)
		}
		if err := flush(); err != nil {
			return err
		}
		if len(metas) == 0 {
			continue
		}
		if err := iw.AddSeries(storage.SeriesRef(ref), s.lbls, metas...); err != nil {
			return fmt.Errorf("index series %s: %w", s.lbls, err)
		}
		meta.Stats.NumSeries++
		meta.Stats.NumChunks += uint64(len(metas))
	}
	meta.Stats.NumFloatSamples = meta.Stats.NumSamples
	return nil
}

// writeSynced writes b to path and syncs it to disk.
func writeSynced(path string, b []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if _, err := f.Write(b); err != nil {
		_ = f.Close()
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return f.Close()
}

// syncDir syncs the directory dir, so that the files created in it survive
// a crash once it is renamed into place.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync block directory: %w", err)
	}
	if err := d.Sync(); err != nil {
		_ = d.Close()
		return fmt.Errorf("sync block directory: %w", err)
	}
	return d.Close()
}
