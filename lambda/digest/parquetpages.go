package digest

import (
	"bufio"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// maxPageValues bounds the values one page may declare. parquet-go sizes
// a page's buffers by its header's num_values, and a run-length encoding
// can claim millions of values in a few bytes; AWS's writer and every
// common one cut pages far below this.
const maxPageValues = 1 << 20

// maxPageHeaderBytes bounds one page header. A header is a few dozen
// bytes and its statistics two values of the column (a flow log field's
// value is under 100 bytes, but for tags); parquet-go allocates each of
// its byte strings at the length declared, before reading it.
const maxPageHeaderBytes = 64 << 10

// maxHeldPageBytes bounds what one row group's pages may need at once,
// uncompressed: parquet-go holds the current page of every column, and
// its dictionary. Each column chunk is bounded (maxColumnChunkBytes), but
// a file of many columns whose chunks are one page each would need them
// all at once. AWS-sized pages (about 1 MB) of every flow log field come
// to a small part of it. A variable so that tests can make it bind.
var maxHeldPageBytes int64 = 64 << 20

// pageChecker walks the page headers of column chunks before parquet-go
// reads any page. parquet-go trusts each header: it allocates the
// compressed and uncompressed sizes and the values a header declares, and
// reading a header it allocates each byte string (the page's statistics)
// at the length the header declares before reading it. A small object
// whose header claims 2 GiB would so exhaust the function's memory on
// every run. A decoder keeps one pageChecker, its reader and header
// reused from chunk to chunk; not safe for concurrent use.
type pageChecker struct {
	cr  countingReader
	dec *thrift.Decoder
	h   pageHead

	// Reading a page's data (checkValues): page limits the reads to the
	// page, values the start of DELTA-encoded values read into vals;
	// gzip pages are inflated through zbuf and zr, inflated counting what
	// they inflate to.
	page, values, inflated io.LimitedReader
	zbuf                   *bufio.Reader
	zr                     *gzip.Reader
	declared               int64 // what the gzip page being read inflates to

	// held is what the chunk checked last needs at once, uncompressed:
	// its dictionary page and its largest data page.
	held int64
	vals []byte
}

// pageHead is the part of a Parquet page header (format.PageHeader) the
// checks read, by the same field ids. Decoding into it skips every other
// field, the statistics' byte strings among them, by reading past its
// bytes without allocating its declared length: a length past the column
// chunk's end fails the header (end of the chunk), so parquet-go, which
// does allocate it, only ever reads headers whose byte strings lie inside
// the chunk.
type pageHead struct {
	Type                 int32                   `thrift:"1,required"`
	UncompressedPageSize int32                   `thrift:"2,required"`
	CompressedPageSize   int32                   `thrift:"3,required"`
	DataPageHeader       thrift.Null[pageCount]  `thrift:"5,optional"`
	DictionaryPageHeader thrift.Null[pageCount]  `thrift:"7,optional"`
	DataPageHeaderV2     thrift.Null[pageV2Head] `thrift:"8,optional"`
}

// pageCount is the values a data (version 1) or dictionary page header
// declares and their encoding: fields 1 and 2 of each.
type pageCount struct {
	NumValues int32 `thrift:"1,required"`
	Encoding  int32 `thrift:"2,required"`
}

// pageV2Head is the part of a version 2 data page header the checks read:
// its values, their encoding, and the lengths of the levels that precede
// its values, never compressed.
type pageV2Head struct {
	NumValues    int32             `thrift:"1,required"`
	Encoding     int32             `thrift:"4,required"`
	DefLevelsLen int32             `thrift:"5,required"`
	RepLevelsLen int32             `thrift:"6,required"`
	IsCompressed thrift.Null[bool] `thrift:"7,optional"`
}

// check walks the page headers of column chunk c of an object of size
// bytes: each page must lie inside the chunk, declare at most
// maxColumnChunkBytes in all uncompressed and no more than the chunk's
// TotalUncompressedSize, and at most maxPageValues and the chunk's values;
// its levels must lie inside it, and a DELTA encoding's own counts must
// not exceed the page's (checkValues). maxDef is the column's maximum
// definition level: 1 for an optional column, 0 for a required one.
func (pc *pageChecker) check(r io.ReaderAt, size int64, c format.ColumnChunk, maxDef byte) error {
	md := c.MetaData
	start, err := chunkStart(md, size)
	if err != nil {
		return err
	}
	cr := &pc.cr
	if cr.r == nil {
		cr.r = bufio.NewReader(nil)
		pc.dec = thrift.NewDecoder(new(thrift.CompactProtocol).NewReader(cr))
	}
	cr.r.Reset(io.NewSectionReader(r, start, md.TotalCompressedSize))
	cr.n = 0
	defer cr.r.Reset(nil) // the object is not held past the check
	var uncompressed, dict, largest int64
	defer func() { pc.held = dict + largest }()
	for page := 0; cr.n < md.TotalCompressedSize; page++ {
		h := &pc.h
		*h = pageHead{}
		at := cr.n
		if err := pc.dec.Decode(h); err != nil {
			return fmt.Errorf("page %d header: %w", page, err)
		}
		if n := cr.n - at; n > maxPageHeaderBytes {
			return fmt.Errorf("page %d header of %d bytes, more than the %d allowed", page, n, maxPageHeaderBytes)
		}
		uncompressed += int64(max(h.UncompressedPageSize, 0))
		if format.PageType(h.Type) == format.DictionaryPage {
			dict += int64(max(h.UncompressedPageSize, 0))
		} else {
			largest = max(largest, int64(h.UncompressedPageSize))
		}
		values := pageValues(h)
		switch {
		case !solePart(h):
			// parquet-go reads the part its type names, and reads a
			// chunk's first page's dictionary part when a data page
			// needs a dictionary it has not read: every part checked
			// must be the only one.
			return fmt.Errorf("page %d header of type %d with parts for other page types", page, h.Type)
		case h.UncompressedPageSize < 0 || uncompressed > maxColumnChunkBytes || uncompressed > md.TotalUncompressedSize:
			return fmt.Errorf("page %d declares %d uncompressed bytes, more than its column chunk's %d (at most %d)",
				page, h.UncompressedPageSize, md.TotalUncompressedSize, maxColumnChunkBytes)
		case values < 0 || values > maxPageValues || int64(values) > md.NumValues:
			return fmt.Errorf("page %d declares %d values, more than its column chunk's %d (at most %d a page)", page, values, md.NumValues, maxPageValues)
		case h.CompressedPageSize < 0 || int64(h.CompressedPageSize) > md.TotalCompressedSize-cr.n:
			return fmt.Errorf("page %d declares %d compressed bytes, more than its column chunk holds", page, h.CompressedPageSize)
		}
		if err := pc.checkValues(h, md.Codec, maxDef); err != nil {
			return fmt.Errorf("page %d: %w", page, err)
		}
	}
	return nil
}

// chunkStart returns where column chunk md of an object of size bytes
// starts, as parquet-go starts reading it: at its dictionary page's
// offset whenever that is set, else at its first data page; a
// dictionary page after the data pages would have parquet-go read pages
// the walk did not. The chunk must lie inside the object, its pages GZIP
// or uncompressed.
func chunkStart(md format.ColumnMetaData, size int64) (int64, error) {
	start := md.DataPageOffset
	if o := md.DictionaryPageOffset; o != 0 {
		if o < 0 || o > md.DataPageOffset {
			return 0, fmt.Errorf("a dictionary page at %d, not before the data pages at %d", o, md.DataPageOffset)
		}
		start = o
	}
	if start < 0 || md.TotalCompressedSize < 0 || md.TotalCompressedSize > size-start {
		return 0, fmt.Errorf("column chunk of %d bytes at %d lies outside the %d-byte object", md.TotalCompressedSize, start, size)
	}
	switch md.Codec {
	case format.Gzip, format.Uncompressed:
	default:
		// AWS writes GZIP pages. Each other codec's decoder grows its
		// output as far as the data or its own header says, so a page
		// of another codec would need a bound of its own.
		return 0, fmt.Errorf("pages compressed with %s: only GZIP and uncompressed pages are read", md.Codec)
	}
	return start, nil
}

// pageValues is the number of values a page header declares: in the
// part of the header its type names, the part parquet-go reads, whatever
// other parts the header holds.
func pageValues(h *pageHead) int32 {
	switch format.PageType(h.Type) {
	case format.DataPage:
		return h.DataPageHeader.V.NumValues
	case format.DataPageV2:
		return h.DataPageHeaderV2.V.NumValues
	case format.DictionaryPage:
		return h.DictionaryPageHeader.V.NumValues
	}
	return 0
}

// solePart reports whether the header holds the part its type names and
// no part of another page type, as every writer writes it.
func solePart(h *pageHead) bool {
	d, v2, dict := h.DataPageHeader.Valid, h.DataPageHeaderV2.Valid, h.DictionaryPageHeader.Valid
	switch format.PageType(h.Type) {
	case format.DataPage:
		return d && !v2 && !dict
	case format.DataPageV2:
		return v2 && !d && !dict
	case format.DictionaryPage:
		return dict && !d && !v2
	}
	return !d && !v2 && !dict
}

// pageEncoding is the encoding of a page's values, read as pageValues
// reads their number; -1 for a page of another type.
func pageEncoding(h *pageHead) int32 {
	switch format.PageType(h.Type) {
	case format.DataPage:
		return h.DataPageHeader.V.Encoding
	case format.DataPageV2:
		return h.DataPageHeaderV2.V.Encoding
	case format.DictionaryPage:
		return h.DictionaryPageHeader.V.Encoding
	}
	return -1
}

// countingReader counts the bytes read through it, so that a pageChecker
// knows where each header ends.
type countingReader struct {
	r *bufio.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *countingReader) ReadByte() (byte, error) {
	b, err := c.r.ReadByte()
	if err == nil {
		c.n++
	}
	return b, err
}

// Discard skips n bytes.
func (c *countingReader) Discard(n int64) (int, error) {
	d, err := c.r.Discard(int(n))
	c.n += int64(d)
	return d, err
}
