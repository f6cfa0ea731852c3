package digest

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"github.com/klauspost/compress/gzip"
	"github.com/parquet-go/parquet-go/encoding/delta"
	"github.com/parquet-go/parquet-go/format"
)

// A DELTA encoding (DELTA_BINARY_PACKED for integers,
// DELTA_LENGTH_BYTE_ARRAY and DELTA_BYTE_ARRAY for strings, each led by
// one or two DELTA_BINARY_PACKED sequences of lengths) states its own
// count of values in its first bytes, and parquet-go sizes the decoded
// values by that count before reading them: a 10-byte sequence claiming
// 2^31 - 1 values allocates 8 GiB, whatever the page header says. Such a
// page is checked before parquet-go reads it: each sequence's count must
// not exceed the values its page header declares (at most maxPageValues),
// and a DELTA_BYTE_ARRAY page's prefix and suffix lengths, which size the
// decoded strings' buffer, must add up to at most maxColumnChunkBytes.

// deltaHeaderBytes bounds a DELTA_BINARY_PACKED header: four varints.
const deltaHeaderBytes = 4 * binary.MaxVarintLen64

func isDelta(enc int32) bool {
	switch format.Encoding(enc) {
	case format.DeltaBinaryPacked, format.DeltaLengthByteArray, format.DeltaByteArray:
		return true
	}
	return false
}

// checkValues reads the page whose header h the checker has just read, up
// to its end. A version 2 page's levels must lie inside it; a gzip page's
// data must start with a gzip header and inflate to no more than the
// uncompressed size its header declares (endGzip). A page whose values
// are DELTA-encoded has the start of its values read (inflated when the
// column is gzip) and checked by checkDelta. Values that parquet-go will
// fail to inflate or decode anyway are not refused here.
func (pc *pageChecker) checkValues(h *pageHead, codec format.CompressionCodec, maxDef byte) error {
	cr := &pc.cr
	end := cr.n + int64(h.CompressedPageSize)
	compressed := codec != format.Uncompressed
	var levels int64
	if v := &h.DataPageHeaderV2; format.PageType(h.Type) == format.DataPageV2 {
		rep, def := v.V.RepLevelsLen, v.V.DefLevelsLen
		if rep < 0 || def < 0 || int64(rep)+int64(def) > int64(h.CompressedPageSize) {
			return fmt.Errorf("levels of %d and %d bytes in a page of %d", rep, def, h.CompressedPageSize)
		}
		levels = int64(rep) + int64(def)
		compressed = compressed && (!v.V.IsCompressed.Valid || v.V.IsCompressed.V)
	}
	enc := pageEncoding(h)
	gz := compressed && codec == format.Gzip
	if !compressed && !isDelta(enc) {
		return pc.skipTo(end)
	}
	if _, err := cr.Discard(levels); err != nil {
		return err
	}
	pc.page = io.LimitedReader{R: cr, N: end - cr.n}
	var src io.Reader = &pc.page
	if gz {
		// parquet-go panics on gzip data whose header it cannot read
		// (its compress.Decompressor): the header of each gzip page is
		// read here first, by the same package.
		if err := pc.resetGzip(); err != nil {
			return fmt.Errorf("its gzip data: %w", err)
		}
		// The uncompressed size counts a version 2 page's levels, which
		// are never compressed.
		pc.declared = max(int64(h.UncompressedPageSize)-levels, 0)
		pc.inflated = io.LimitedReader{R: pc.zr, N: pc.declared + 1}
		src = &pc.inflated
		if !isDelta(enc) {
			return pc.endGzip(end)
		}
	}
	if format.PageType(h.Type) == format.DataPage && maxDef > 0 && !skipLevelsV1(src) {
		return pc.end(gz, end) // parquet-go fails to read its levels
	}
	limit := int64(deltaHeaderBytes)
	if format.Encoding(enc) == format.DeltaByteArray {
		limit = int64(h.UncompressedPageSize)
	}
	pc.values = io.LimitedReader{R: src, N: limit}
	vals := bytes.NewBuffer(pc.vals[:0])
	_, _ = vals.ReadFrom(&pc.values) // a short read is checked as it is
	pc.vals = vals.Bytes()[:0]
	if err := checkDelta(enc, vals.Bytes(), pageValues(h)); err != nil {
		return err
	}
	return pc.end(gz, end)
}

// end reads past the page, to end, its gzip data inflated to the end
// first when gz (endGzip).
func (pc *pageChecker) end(gz bool, end int64) error {
	if gz {
		return pc.endGzip(end)
	}
	return pc.skipTo(end)
}

// endGzip inflates the rest of a gzip page, no further than one byte
// past the uncompressed size its header declares (pc.declared), and
// refuses a page that inflates past it: parquet-go inflates into a buffer of the
// declared size and doubles it for as long as the data inflates, and
// deflate reaches about 1,000 to 1 (a 150 MiB object of zeros would
// inflate to about 150 GiB). The inflated bytes are counted, not kept.
// Only GZIP and uncompressed pages are read (check), so no other codec's
// expansion need be bounded.
func (pc *pageChecker) endGzip(end int64) error {
	_, _ = io.Copy(io.Discard, &pc.inflated) // data that does not inflate: parquet-go refuses it
	if pc.inflated.N == 0 {
		return fmt.Errorf("its gzip data inflates past the %d bytes its header declares", pc.declared)
	}
	return pc.skipTo(end)
}

// skipLevelsV1 reads past a version 1 page's definition levels: their
// length in 4 bytes, then the levels.
func skipLevelsV1(r io.Reader) bool {
	var n [4]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return false
	}
	l := int64(binary.LittleEndian.Uint32(n[:]))
	m, err := io.CopyN(io.Discard, r, l)
	return err == nil && m == l
}

// resetGzip points the checker's gzip reader at the page, through a
// buffered reader so that the inflater need not allocate one a page.
func (pc *pageChecker) resetGzip() error {
	if pc.zbuf == nil {
		pc.zbuf = bufio.NewReader(&pc.page)
	}
	pc.zbuf.Reset(&pc.page)
	r := pc.zbuf
	if pc.zr == nil {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return err
		}
		pc.zr = zr
		return nil
	}
	return pc.zr.Reset(r)
}

// skipTo reads past the page, to end.
func (pc *pageChecker) skipTo(end int64) error {
	if _, err := pc.cr.Discard(end - pc.cr.n); err != nil {
		return err
	}
	return nil
}

// checkDelta checks the DELTA-encoded values b (their start, or all of
// them for DELTA_BYTE_ARRAY) of a page declaring numValues values.
func checkDelta(enc int32, b []byte, numValues int32) error {
	name := format.Encoding(enc).String()
	h, ok := readDeltaHeader(b)
	if !ok {
		return nil // parquet-go refuses the header before allocating
	}
	if h.total > uint64(numValues) {
		return fmt.Errorf("%s values declaring %d values in a page of %d", name, h.total, numValues)
	}
	if format.Encoding(enc) != format.DeltaByteArray {
		return nil
	}
	if s, ok := readDeltaHeader(h.skipBlocks()); ok && s.total > uint64(numValues) {
		return fmt.Errorf("%s suffix lengths declaring %d values in a page of %d", name, s.total, numValues)
	}
	if n := new(delta.ByteArrayEncoding).EstimateDecodeByteArraySize(b); n < 0 || n > maxColumnChunkBytes {
		return fmt.Errorf("%s lengths adding up to %d bytes, more than the %d allowed", name, n, maxColumnChunkBytes)
	}
	return nil
}

// deltaHeader is a DELTA_BINARY_PACKED header as parquet-go reads it
// (encoding/delta's decodeBinaryPackedHeader), and the bytes after it.
type deltaHeader struct {
	blockSize, miniBlocks, total uint64
	rest                         []byte
}

// readDeltaHeader reads a header, ok only if parquet-go accepts it.
func readDeltaHeader(b []byte) (deltaHeader, bool) {
	var h deltaHeader
	for _, v := range []*uint64{&h.blockSize, &h.miniBlocks, &h.total} {
		u, n := binary.Uvarint(b)
		if n <= 0 {
			return h, false
		}
		*v, b = u, b[n:]
	}
	_, n := binary.Varint(b) // the first value
	if n <= 0 {
		return h, false
	}
	h.rest = b[n:]
	const maxBlockSize = 65536 // parquet-go's maxSupportedBlockSize
	ok := h.miniBlocks > 0 && h.blockSize > 0 && h.blockSize%128 == 0 && h.blockSize <= maxBlockSize &&
		(h.blockSize/h.miniBlocks)%32 == 0 && h.total <= math.MaxInt32
	return h, ok
}

// skipBlocks returns the bytes after the header's blocks, read as
// parquet-go reads them (encoding/delta's decodeInt32): each block is a
// varint, a bit width a mini-block, then each mini-block's packed values.
func (h deltaHeader) skipBlocks() []byte {
	src := h.rest
	if h.total == 0 {
		return src
	}
	left := h.total - 1
	per := h.blockSize / h.miniBlocks
	for left > 0 && len(src) > 0 {
		_, n := binary.Varint(src)
		if n <= 0 {
			return nil
		}
		src = src[n:]
		widths := src[:min(uint64(len(src)), h.miniBlocks)]
		src = src[len(widths):]
		for _, w := range widths {
			k := min(per, left)
			if w != 0 {
				src = src[min(per*uint64(w)/8, uint64(len(src))):]
			}
			left -= k
			if left == 0 {
				break
			}
		}
	}
	return src
}
