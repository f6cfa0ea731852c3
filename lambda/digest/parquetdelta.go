package digest

import (
	"encoding/binary"
	"fmt"
	"math"

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

func isDelta(enc format.Encoding) bool {
	switch enc {
	case format.DeltaBinaryPacked, format.DeltaLengthByteArray, format.DeltaByteArray:
		return true
	}
	return false
}

// checkDelta checks the DELTA-encoded values b of a page declaring
// numValues values, and returns the bytes a DELTA_BYTE_ARRAY page's
// strings take decoded (0 for the other encodings, whose decoded strings
// lie within b).
func checkDelta(enc format.Encoding, b []byte, numValues int) (int, error) {
	h, ok := readDeltaHeader(b)
	if !ok {
		return 0, nil // parquet-go refuses the header before allocating
	}
	if h.total > uint64(numValues) {
		return 0, fmt.Errorf("%s values declaring %d values in a page of %d", enc, h.total, numValues)
	}
	if enc != format.DeltaByteArray {
		return 0, nil
	}
	if s, ok := readDeltaHeader(h.skipBlocks()); ok && s.total > uint64(numValues) {
		return 0, fmt.Errorf("%s suffix lengths declaring %d values in a page of %d", enc, s.total, numValues)
	}
	// parquet-go's EstimateDecodeByteArraySize sums each sequence in
	// int32: 2^16 lengths of 2^16 wrap to 0. Sum them here in int64.
	var n int64
	for _, seq := range [][]byte{b, h.skipBlocks()} {
		lens, _ := deltaInts.DecodeInt32(nil, seq) // counts checked above
		for _, l := range lens {
			n += int64(max(l, 0))
		}
	}
	if n > maxColumnChunkBytes {
		return 0, fmt.Errorf("%s lengths adding up to %d bytes, more than the %d allowed", enc, n, maxColumnChunkBytes)
	}
	return int(n), nil
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
