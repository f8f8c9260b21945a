package collector

import (
	"bytes"
	"compress/flate"
	"context"
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
)

// Exposer serves the billing group metrics of a Cache encoded once per state:
// the data changes only when a refresh lands, a reload applies or a period
// rolls over, while Prometheus scrapes every 15-60 s. Concurrent scrapes of
// one state share the same encoded bytes, and encodings are made one at a
// time: scrapes that find the state changed while another encoding runs wait
// for it and then serve the latest state, so a storm while refreshes land
// costs one encoding at a time, not one per scrape.
type Exposer struct {
	cache    *Cache
	cur      atomic.Pointer[exposition]
	encoding sync.Mutex
}

// NewExposer returns an Exposer of the cache's metrics.
func NewExposer(cache *Cache) *Exposer {
	return &Exposer{cache: cache}
}

// Get answers a scrape as Cache.Get does (stale snapshots are refreshed and
// waited for until ctx is done) and returns the billing group families in
// format, gzip-compressed or not, of the state found or of a later one
// another scrape has already seen, encoding them if no scrape has yet.
func (x *Exposer) Get(ctx context.Context, format expfmt.Format, gzip bool) *Encoded {
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
	if enc := x.cur.Load().lookup(k); enc != nil {
		return enc
	}
	x.encoding.Lock()
	defer x.encoding.Unlock()
	cur := x.cur.Load()
	if enc := cur.lookup(k); enc != nil {
		return enc
	}
	enc := encode(cur.state, format, gzip)
	cur.store(k, enc)
	return enc
}

// exposition is one cache state and its encodings, kept as scrapes ask for
// them.
type exposition struct {
	version Version
	state   State

	mu      sync.Mutex
	encoded map[encodingKey]*Encoded
}

type encodingKey struct {
	format expfmt.Format
	gzip   bool
}

func (e *exposition) lookup(k encodingKey) *Encoded {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.encoded[k]
}

func (e *exposition) store(k encodingKey, enc *Encoded) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.encoded == nil {
		e.encoded = map[encodingKey]*Encoded{}
	}
	e.encoded[k] = enc
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

// familyCollector sends the metrics of one family of one state.
type familyCollector struct {
	state State
	desc  *prometheus.Desc
}

func (c familyCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }
func (c familyCollector) Collect(ch chan<- prometheus.Metric) { collect(c.state, c.desc, ch) }

// encode gathers st's metrics through a registry, as client_golang would serve
// them, and encodes each family. Families are gathered one at a time, so that
// the memory it takes while encoding is that of the largest family, not of
// all of them.
func encode(st State, format expfmt.Format, gzip bool) *Encoded {
	descs := make(chan *prometheus.Desc, 64) // room for every descriptor
	describeAll(descs)
	close(descs)
	var errs []error
	enc := &Encoded{Format: format, Gzip: gzip}
	var buf, zbuf bytes.Buffer
	var zw *flate.Writer
	for desc := range descs {
		reg := prometheus.NewRegistry()
		reg.MustRegister(familyCollector{st, desc})
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
			seg := Segment{Name: mf.GetName(), Size: buf.Len(), CRC: crc32.ChecksumIEEE(buf.Bytes())}
			if gzip {
				zbuf.Reset()
				if zw == nil {
					zw, _ = flate.NewWriter(&zbuf, flate.DefaultCompression) // the level is valid
				} else {
					zw.Reset(&zbuf)
				}
				_, _ = zw.Write(buf.Bytes()) // a bytes.Buffer does not fail
				_ = zw.Flush()
				seg.Data = bytes.Clone(zbuf.Bytes())
			} else {
				seg.Data = bytes.Clone(buf.Bytes())
			}
			enc.Families = append(enc.Families, seg)
		}
	}
	slices.SortFunc(enc.Families, func(a, b Segment) int { return strings.Compare(a.Name, b.Name) })
	enc.Err = errors.Join(errs...)
	return enc
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
