// Package exposition serves a cache state as Prometheus exposition bytes:
// encoded once per state, format and compression, a family and a chunk of
// groups at a time, each family a segment of its own (a raw DEFLATE stream
// for gzip) that every scrape of that state shares, joined with the
// process-wide families gathered per scrape into one body and one gzip
// member (CRC-32 combined). It also negotiates the format and compression a
// request asks for, as promhttp does.
package exposition

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/collector"
)

// Exposer serves the billing group metrics of a collector.Cache encoded once per state:
// the data changes only when a refresh lands, a reload applies or a period
// rolls over, while Prometheus scrapes every 15-60 s. Concurrent scrapes of
// one state share the same encoded bytes. An encoding is made in the
// background, one at a time per format and compression, and scrapes wait for
// it each until its own deadline: a scrape never waits past its deadline,
// nor behind an encoding in another format, and an encoding its scrape gave
// up on still finishes for the next scrape. A state replaced before its
// encoding started is not encoded: its scrapes serve the latest state, so a
// storm while refreshes land costs one encoding at a time per format.
type Exposer struct {
	cache *collector.Cache
	cur   atomic.Pointer[exposition]
	chunk int // series gathered at once, see chunkSeries
	// encode is encode; tests hold an encoding in progress with it.
	encode func(st collector.State, format expfmt.Format, gzip bool, chunk int) *Encoded

	mu    sync.Mutex
	slots map[encodingKey]chan struct{} // one encoding at a time per key
}

// NewExposer returns an Exposer of the cache's metrics.
func NewExposer(cache *collector.Cache) *Exposer {
	return &Exposer{cache: cache, chunk: chunkSeries, encode: encode, slots: map[encodingKey]chan struct{}{}}
}

// Get answers a scrape as collector.Cache.Get does (stale snapshots are refreshed and
// waited for until ctx is done) and returns the billing group families in
// format, gzip-compressed or not, of the state found or of a later one
// another scrape has already seen, encoding them if no scrape has yet. If
// ctx ends before the encoding is made, Get returns ctx's error, wrapped.
func (x *Exposer) Get(ctx context.Context, format expfmt.Format, gzip bool) (*Encoded, error) {
	st := x.cache.Get(ctx)
	for {
		cur := x.cur.Load()
		if cur != nil && !st.Version.Newer(cur.version) {
			break
		}
		if x.cur.CompareAndSwap(cur, &exposition{version: st.Version, state: st}) {
			break
		}
	}
	k := encodingKey{format, gzip}
	for {
		cur := x.cur.Load()
		job := cur.job(k, func(j *encodeJob) { go x.run(cur, k, j) })
		select {
		case <-job.done:
			if job.enc != nil {
				return job.enc, nil
			}
			// A newer state replaced cur before its encoding started:
			// serve that one.
		case <-ctx.Done():
			return nil, fmt.Errorf("exposition: the scrape's deadline passed while the metrics of a new state were being encoded (the encoding goes on for the next scrape): %w", ctx.Err())
		}
	}
}

// run makes job, the encoding k of e, once no other encoding k runs,
// unless e is no longer the current state by then.
func (x *Exposer) run(e *exposition, k encodingKey, job *encodeJob) {
	x.mu.Lock()
	slot := x.slots[k]
	if slot == nil {
		slot = make(chan struct{}, 1)
		x.slots[k] = slot
	}
	x.mu.Unlock()
	slot <- struct{}{}
	defer func() { <-slot }()
	if x.cur.Load() == e {
		job.enc = x.encode(e.state, k.format, k.gzip, x.chunk)
	}
	close(job.done)
}

// exposition is one cache state and its encodings, made as scrapes ask for
// them.
type exposition struct {
	version collector.Version
	state   collector.State

	mu   sync.Mutex
	jobs map[encodingKey]*encodeJob
}

type encodingKey struct {
	format expfmt.Format
	gzip   bool
}

// encodeJob is one encoding of one state: enc is set, or left nil if the
// state was replaced before it started, when done closes.
type encodeJob struct {
	done chan struct{}
	enc  *Encoded
}

// job returns the encoding k of e, calling start with it if it is new.
func (e *exposition) job(k encodingKey, start func(*encodeJob)) *encodeJob {
	e.mu.Lock()
	defer e.mu.Unlock()
	if j := e.jobs[k]; j != nil {
		return j
	}
	if e.jobs == nil {
		e.jobs = map[encodingKey]*encodeJob{}
	}
	j := &encodeJob{done: make(chan struct{})}
	e.jobs[k] = j
	start(j)
	return j
}

// Encoded is the billing group metric families of one state in one format,
// one segment per family, in name order.
type Encoded struct {
	Format   expfmt.Format
	Gzip     bool // segments are raw DEFLATE, see Segment
	Families []Segment
	// Err is what gathering or encoding the families reported, if anything;
	// the families that could be encoded are there.
	Err error
}

// Segment is one metric family, encoded.
type Segment struct {
	Name string
	// Data is the family in the Encoded's format; with Gzip, compressed as a
	// DEFLATE stream of its own that ends on a sync flush (byte-aligned, not
	// final), so that segments and stored blocks can follow it in one stream.
	Data []byte
	Size int    // bytes before compression
	CRC  uint32 // CRC-32 (IEEE) of those bytes
}

// chunkSeries bounds the series of one family gathered into client_golang's
// data model at once: gathering a family of a thousand groups whole would
// hold about 1 KiB per series (hundreds of MB) at the same time.
const chunkSeries = 8192

// encode gathers st's metrics through a registry, as client_golang would serve
// them, and encodes each family. A family is gathered a chunk of groups at a
// time, of about chunk series (see chunkSeries), and the chunks' encodings joined
// into the family's, so that the memory an encoding takes is that of a chunk
// and the family's encoded bytes, not of the family's data model.
func encode(st collector.State, format expfmt.Format, gzip bool, chunk int) *Encoded {
	descs := make(chan *prometheus.Desc, 64) // room for every descriptor
	collector.New(st).Describe(descs)
	close(descs)
	chunks := chunkGroups(st, format, chunk)
	var errs []error
	enc := &Encoded{Format: format, Gzip: gzip}
	var buf, zbuf bytes.Buffer
	var zw *flate.Writer
	for desc := range descs {
		parts := chunks
		if !collector.PerGroup(desc) {
			// Not per group: its labels sort by product first, so it is
			// gathered whole (one series per product name).
			parts = []collector.State{{Products: st.Products}}
		}
		fam := familyJoiner{format: format}
		var seg Segment
		compress := func(p []byte) {
			seg.Size += len(p)
			seg.CRC = crc32.Update(seg.CRC, crc32.IEEETable, p)
			_, _ = zw.Write(p) // a bytes.Buffer does not fail
		}
		if gzip {
			zbuf.Reset()
			if zw == nil {
				zw, _ = flate.NewWriter(&zbuf, flate.DefaultCompression) // the level is valid
			} else {
				zw.Reset(&zbuf)
			}
			if format.FormatType() != expfmt.TypeProtoDelim {
				// Text is compressed chunk by chunk, never kept whole.
				fam.stream = compress
			}
		}
		for _, part := range parts {
			reg := prometheus.NewRegistry()
			reg.MustRegister(collector.New(part).Family(desc))
			mfs, err := reg.Gather()
			if err != nil {
				errs = append(errs, err)
			}
			for _, mf := range mfs {
				buf.Reset()
				if err := expfmt.NewEncoder(&buf, format).Encode(mf); err != nil {
					errs = append(errs, fmt.Errorf("encoding %s: %w", mf.GetName(), err))
					continue
				}
				if err := fam.add(mf.GetName(), buf.Bytes()); err != nil {
					errs = append(errs, fmt.Errorf("encoding %s: %w", mf.GetName(), err))
				}
			}
		}
		if fam.name == "" {
			continue
		}
		seg.Name = fam.name
		if gzip {
			fam.each(compress) // what was not streamed
			_ = zw.Flush()
			seg.Data = bytes.Clone(zbuf.Bytes())
		} else {
			seg.Data = fam.bytes()
			seg.Size, seg.CRC = len(seg.Data), crc32.ChecksumIEEE(seg.Data)
		}
		enc.Families = append(enc.Families, seg)
	}
	slices.SortFunc(enc.Families, func(a, b Segment) int { return strings.Compare(a.Name, b.Name) })
	enc.Err = errors.Join(errs...)
	return enc
}

// chunkGroups splits st's groups into states of about size series each, in
// the order of their billing_group label, which every per-group family sorts
// by first: the chunks' series, concatenated, are in the order
// one registry gathering them all would give. Formats the joiner does not
// know are gathered whole.
func chunkGroups(st collector.State, format expfmt.Format, size int) []collector.State {
	switch format.FormatType() {
	case expfmt.TypeTextPlain, expfmt.TypeOpenMetrics, expfmt.TypeProtoDelim:
	default:
		return []collector.State{{Groups: st.Groups}}
	}
	groups := slices.Clone(st.Groups)
	slices.SortFunc(groups, func(a, b collector.GroupState) int { return strings.Compare(a.Group.Label, b.Group.Label) })
	var chunks []collector.State
	start, n := 0, 0
	for i := range groups {
		n += groupSeries(&groups[i])
		if n >= size || i == len(groups)-1 {
			chunks = append(chunks, collector.State{Groups: groups[start : i+1]})
			start, n = i+1, 0
		}
	}
	return chunks
}

// groupSeries is about how many series g makes in all its families.
func groupSeries(g *collector.GroupState) int {
	n := 8 // the per-group gauges
	for p := range g.Periods {
		if s := g.Periods[p].Snapshot; s != nil {
			n += len(s.Costs) + len(s.Usages) + 5
		}
	}
	return n
}

// familyJoiner joins the encodings of chunks of one family into the
// encoding of the whole family, as if it had been encoded at once: the text
// formats' HELP, TYPE and UNIT lines once, before the first chunk's samples;
// in the length-delimited protobuf format one MetricFamily message whose
// metric field holds every chunk's metrics, its other fields the first
// chunk's. It keeps a copy of each chunk's bytes and joins them once, so
// that the family is not copied again each time it grows.
type familyJoiner struct {
	format expfmt.Format
	// stream, if set, takes a text format's bytes as they come instead of
	// the parts.
	stream  func([]byte)
	name    string
	parts   [][]byte // text: the family's lines; protobuf: its metric fields
	head    []byte   // protobuf: the fields before the metrics
	trailer []byte   // protobuf: the fields after them
}

// metricField is the field number of MetricFamily.metric.
const metricField = 4

func (f *familyJoiner) add(name string, chunk []byte) error {
	first := f.name == ""
	f.name = name
	if f.format.FormatType() != expfmt.TypeProtoDelim {
		if !first {
			for bytes.HasPrefix(chunk, []byte("# ")) {
				_, chunk, _ = bytes.Cut(chunk, []byte("\n"))
			}
		}
		if f.stream != nil {
			f.stream(chunk)
		} else {
			f.parts = append(f.parts, bytes.Clone(chunk))
		}
		return nil
	}
	n, l := protowire.ConsumeVarint(chunk)
	if l < 0 || uint64(len(chunk)-l) != n {
		return errors.New("not one length-delimited message")
	}
	msg := chunk[l:]
	// The metric fields are one run (a message is written in field order):
	// it is copied once.
	var metrics []byte
	run := -1
	for off := 0; len(msg) > 0; {
		num, typ, tl := protowire.ConsumeTag(msg)
		if tl < 0 {
			return protowire.ParseError(tl)
		}
		vl := protowire.ConsumeFieldValue(num, typ, msg[tl:])
		if vl < 0 {
			return protowire.ParseError(vl)
		}
		field := msg[:tl+vl]
		msg = msg[tl+vl:]
		off += tl + vl
		if num == metricField && run < 0 {
			run = off - tl - vl
		}
		if num != metricField && run >= 0 {
			metrics = append(metrics, chunk[l+run:l+off-tl-vl]...)
			run = -1
		}
		switch {
		case num == metricField:
		case !first:
		case num < metricField:
			f.head = append(f.head, field...)
		default:
			f.trailer = append(f.trailer, field...)
		}
	}
	if run >= 0 {
		metrics = append(metrics, chunk[l+run:]...)
	}
	f.parts = append(f.parts, metrics)
	return nil
}

// each calls write with the family's encoding, piece by piece.
func (f *familyJoiner) each(write func([]byte)) {
	if f.format.FormatType() == expfmt.TypeProtoDelim {
		m := len(f.head) + len(f.trailer)
		for _, p := range f.parts {
			m += len(p)
		}
		write(protowire.AppendVarint(nil, uint64(m)))
		write(f.head)
	}
	for _, p := range f.parts {
		write(p)
	}
	write(f.trailer)
}

// bytes returns the family's encoding in one slice.
func (f *familyJoiner) bytes() []byte {
	n := len(f.head) + len(f.trailer) + binary.MaxVarintLen64
	for _, p := range f.parts {
		n += len(p)
	}
	out := make([]byte, 0, n)
	f.each(func(p []byte) { out = append(out, p...) })
	return out
}

var livePool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// Write writes one response body: enc's families merged by name with live
// ones (the process-wide metrics of this scrape, sorted by name, encoded now
// in enc's format), keeping only the families keep accepts (nil: all), and
// "# EOF" once at the end in OpenMetrics. With enc.Gzip the body is one gzip
// member: the families' compressed segments as they are, the live families
// in stored (uncompressed) DEFLATE blocks, which costs no compressor state
// per scrape, and a checksum combined from the segments'. A family name in
// both lists is served from enc and reported in the error.
func Write(w io.Writer, enc *Encoded, live []*dto.MetricFamily, keep func(name string) bool) error {
	buf := livePool.Get().(*bytes.Buffer)
	buf.Reset()
	defer livePool.Put(buf)
	var errs []error
	out := &bodyWriter{w: w, gzip: enc.Gzip}
	out.start()
	segs := enc.Families
	for len(segs) > 0 || len(live) > 0 {
		if len(live) > 0 && (len(segs) == 0 || live[0].GetName() <= segs[0].Name) {
			mf := live[0]
			live = live[1:]
			switch {
			case keep != nil && !keep(mf.GetName()):
			case len(segs) > 0 && mf.GetName() == segs[0].Name:
				errs = append(errs, fmt.Errorf("metric family %s is both process-wide and a billing group family; serving the billing group one", mf.GetName()))
			default:
				if err := expfmt.NewEncoder(buf, enc.Format).Encode(mf); err != nil {
					errs = append(errs, fmt.Errorf("encoding %s: %w", mf.GetName(), err))
				}
			}
			continue
		}
		seg := segs[0]
		segs = segs[1:]
		if keep != nil && !keep(seg.Name) {
			continue
		}
		out.plain(buf.Bytes())
		buf.Reset()
		out.segment(seg)
	}
	if enc.Format.FormatType() == expfmt.TypeOpenMetrics {
		_, _ = expfmt.FinalizeOpenMetrics(buf)
	}
	out.plain(buf.Bytes())
	out.end()
	if out.err != nil {
		errs = append(errs, out.err)
	}
	return errors.Join(errs...)
}

// bodyWriter writes a body as it is or as one gzip member (RFC 1952) around
// one DEFLATE stream (RFC 1951).
type bodyWriter struct {
	w    io.Writer
	gzip bool
	crc  uint32
	size uint32 // modulo 2^32, as gzip's ISIZE
	err  error
}

func (b *bodyWriter) write(p []byte) {
	if b.err == nil && len(p) > 0 {
		_, b.err = b.w.Write(p)
	}
}

// start writes the gzip header: no name, no time, unknown OS, as
// compress/gzip writes it.
func (b *bodyWriter) start() {
	if b.gzip {
		b.write([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff})
	}
}

// plain writes p uncompressed, in stored blocks when gzip.
func (b *bodyWriter) plain(p []byte) {
	if !b.gzip {
		b.write(p)
		return
	}
	b.crc = crc32.Update(b.crc, crc32.IEEETable, p)
	b.size += uint32(len(p))
	for len(p) > 0 {
		n := min(len(p), 0xffff)
		// BFINAL=0, BTYPE=00 (stored), padded to the byte; LEN; NLEN.
		b.write([]byte{0, byte(n), byte(n >> 8), ^byte(n), ^byte(n >> 8)})
		b.write(p[:n])
		p = p[n:]
	}
}

// segment writes an encoded family.
func (b *bodyWriter) segment(s Segment) {
	b.write(s.Data)
	if b.gzip {
		b.crc = crc32Combine(b.crc, s.CRC, s.Size)
		b.size += uint32(s.Size)
	}
}

// end writes an empty final stored block and the gzip trailer.
func (b *bodyWriter) end() {
	if !b.gzip {
		return
	}
	b.write([]byte{1, 0, 0, 0xff, 0xff,
		byte(b.crc), byte(b.crc >> 8), byte(b.crc >> 16), byte(b.crc >> 24),
		byte(b.size), byte(b.size >> 8), byte(b.size >> 16), byte(b.size >> 24)})
}

// crc32Combine returns the CRC-32 (IEEE) of A followed by B from the CRC of A,
// the CRC of B and the length of B, as zlib's crc32_combine does: the CRC of
// A is multiplied by x^(8 len2) modulo the polynomial, then added to B's.
func crc32Combine(crc1, crc2 uint32, len2 int) uint32 {
	// x^(2^k) mod P for k = 3 + bit index of len2, x^0 = 1<<31 (reflected).
	p := uint32(1) << 31
	for k, n := 3, uint64(len2); n != 0; k, n = k+1, n>>1 {
		if n&1 != 0 {
			p = multModP(x2nTable[k&31], p)
		}
	}
	return multModP(p, crc1) ^ crc2
}

// x2nTable[k] is x^(2^k) modulo the CRC-32 polynomial, reflected.
var x2nTable = func() (t [32]uint32) {
	p := uint32(1) << 30 // x^1
	t[0] = p
	for k := 1; k < 32; k++ {
		p = multModP(p, p)
		t[k] = p
	}
	return t
}()

// multModP multiplies a and b modulo the CRC-32 polynomial (reflected bit
// order); a must not be 0.
func multModP(a, b uint32) uint32 {
	var p uint32
	for m := uint32(1) << 31; ; m >>= 1 {
		if a&m != 0 {
			p ^= b
			if a&(m-1) == 0 {
				return p
			}
		}
		if b&1 != 0 {
			b = b>>1 ^ crc32.IEEE
		} else {
			b >>= 1
		}
	}
}
