package digest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// maxPageValues bounds the values one page may declare: a run-length
// encoding can claim millions of values in a few bytes. AWS's writer and
// every common one cut pages far below this.
const maxPageValues = 1 << 20

// maxPageHeaderBytes bounds one page header. A header is a few dozen
// bytes and its statistics two values of the column (a flow log field's
// value is under 100 bytes, but for tags); the checker skips them
// unread.
const maxPageHeaderBytes = 64 << 10

// maxHeldPageBytes bounds what one row group's pages need at once,
// uncompressed: the decoder holds the current page of every column, and
// its dictionary. Each column chunk is bounded (maxColumnChunkBytes), but
// a file of many columns whose chunks are one page each would need them
// all at once. AWS-sized pages (about 1 MB) of every flow log field come
// to a small part of it. A variable so that tests can make it bind.
var maxHeldPageBytes int64 = 64 << 20

// pageReader reads one column's chunks, a page at a time: each page's
// header checked (what it declares must lie within its chunk and the
// bounds above), its bytes read and their checksum checked, a gzip page
// inflated once into a buffer of the size its header declares and
// refused if it inflates past it. The buffers are kept from page to page
// and object to object; the values are decoded from them by the column
// (parquetvalues.go). Not safe for concurrent use.
//
// Nothing a page declares is allocated before it is checked against what
// its chunk holds: an object is anyone's to write, and a small object
// claiming gigabytes would otherwise exhaust the function's memory on
// every run. The thrift decoder reads into pageHead only the fields the
// reader uses and skips the rest, the statistics' byte strings among
// them, without allocating their declared lengths.
type pageReader struct {
	cr  countingReader
	dec *thrift.Decoder
	h   pageHead

	md           format.ColumnMetaData // the chunk being read
	pages        int                   // pages read of it
	uncompressed int64                 // what its pages so far declare, uncompressed
	rowsLeft     int64                 // what the object's pages may still declare (maxObjectRows)

	// The page read: as stored (raw), its values inflated (values: in
	// inflated, or in raw for a page not compressed), and a version 2
	// page's definition levels (in raw).
	raw, inflated  []byte
	values, levels []byte
	zsrc           bytes.Reader
	zr             *gzip.Reader

	// What the page and the chunk's dictionary page declare
	// uncompressed, counted in held, the row group's columns' together.
	pageHeld, dictHeld int64
	held               *int64
}

// pageHead is the part of a Parquet page header (format.PageHeader) the
// reader uses, by the same field ids. Decoding into it skips every other
// field by reading past its bytes: a length past the column chunk's end
// fails the header (end of the chunk).
type pageHead struct {
	Type                 int32                   `thrift:"1,required"`
	UncompressedPageSize int32                   `thrift:"2,required"`
	CompressedPageSize   int32                   `thrift:"3,required"`
	CRC                  int32                   `thrift:"4,optional"`
	DataPageHeader       thrift.Null[pageV1Head] `thrift:"5,optional"`
	DictionaryPageHeader thrift.Null[pageCount]  `thrift:"7,optional"`
	DataPageHeaderV2     thrift.Null[pageV2Head] `thrift:"8,optional"`
}

// pageCount is the values a dictionary page header declares and their
// encoding.
type pageCount struct {
	NumValues int32 `thrift:"1,required"`
	Encoding  int32 `thrift:"2,required"`
}

// pageV1Head is the part of a version 1 data page header the reader
// uses: its values (rows, nulls included), their encoding, and the
// definition levels' encoding.
type pageV1Head struct {
	NumValues   int32 `thrift:"1,required"`
	Encoding    int32 `thrift:"2,required"`
	DefEncoding int32 `thrift:"3,required"`
}

// pageV2Head is the part of a version 2 data page header the reader
// uses: its values, their encoding, and the lengths of the levels that
// precede its values, never compressed.
type pageV2Head struct {
	NumValues    int32             `thrift:"1,required"`
	Encoding     int32             `thrift:"4,required"`
	DefLevelsLen int32             `thrift:"5,required"`
	RepLevelsLen int32             `thrift:"6,required"`
	IsCompressed thrift.Null[bool] `thrift:"7,optional"`
}

// startChunk readies the reader for column chunk md of an object of size
// bytes read through r.
func (pr *pageReader) startChunk(r io.ReaderAt, size int64, md format.ColumnMetaData) error {
	start, err := chunkStart(md, size)
	if err != nil {
		return err
	}
	cr := &pr.cr
	if cr.r == nil {
		cr.r = bufio.NewReader(nil)
		pr.dec = thrift.NewDecoder(new(thrift.CompactProtocol).NewReader(cr))
	}
	cr.r.Reset(io.NewSectionReader(r, start, md.TotalCompressedSize))
	cr.n = 0
	pr.md, pr.pages, pr.uncompressed = md, 0, 0
	pr.pageHeld, pr.dictHeld = 0, 0
	return nil
}

// release lets go of the object read, keeping the buffers.
func (pr *pageReader) release() {
	if pr.cr.r != nil {
		pr.cr.r.Reset(nil)
	}
	pr.zsrc.Reset(nil)
}

// errChunkEnd is readPage's error past a chunk's last page.
var errChunkEnd = errors.New("the column chunk ends")

// readPage reads the chunk's next page: its header into pr.h, its
// values, inflated, into pr.values, a version 2 page's definition levels
// into pr.levels. Past the chunk's last page it returns errChunkEnd.
func (pr *pageReader) readPage() error {
	cr, md := &pr.cr, &pr.md
	if cr.n >= md.TotalCompressedSize {
		return errChunkEnd
	}
	page := pr.pages
	pr.pages++
	if err := pr.readHead(page); err != nil {
		return err
	}
	if err := pr.hold(page); err != nil {
		return err
	}
	h := &pr.h
	n := int(h.CompressedPageSize)
	if cap(pr.raw) < n {
		pr.raw = make([]byte, n)
	}
	pr.raw = pr.raw[:n]
	if _, err := io.ReadFull(cr, pr.raw); err != nil {
		return fmt.Errorf("page %d: %w", page, err)
	}
	if h.CRC != 0 && uint32(h.CRC) != crc32.ChecksumIEEE(pr.raw) {
		return fmt.Errorf("page %d: its checksum does not match its bytes", page)
	}
	compressed := md.Codec == format.Gzip
	levels := 0
	pr.levels = nil
	if v := &h.DataPageHeaderV2; format.PageType(h.Type) == format.DataPageV2 {
		rep, def := v.V.RepLevelsLen, v.V.DefLevelsLen
		if rep < 0 || def < 0 || int64(rep)+int64(def) > int64(n) {
			return fmt.Errorf("page %d: levels of %d and %d bytes in a page of %d", page, rep, def, n)
		}
		levels = int(rep) + int(def)
		pr.levels = pr.raw[rep:levels] // repetition levels skipped: no column is repeated
		compressed = compressed && (!v.V.IsCompressed.Valid || v.V.IsCompressed.V)
	}
	if !compressed {
		pr.values = pr.raw[levels:]
		return nil
	}
	// The uncompressed size counts a version 2 page's levels, which are
	// not compressed.
	if err := pr.inflate(pr.raw[levels:], max(int(h.UncompressedPageSize)-levels, 0)); err != nil {
		return fmt.Errorf("page %d: %w", page, err)
	}
	return nil
}

// hold counts the page whose header was just read in what the row
// group's columns hold at once: a dictionary page until the chunk's end,
// a data page until the next. It refuses the page if they would come to
// more than maxHeldPageBytes; a dictionary page must be the chunk's
// first.
func (pr *pageReader) hold(page int) error {
	size := int64(pr.h.UncompressedPageSize)
	switch format.PageType(pr.h.Type) {
	case format.DictionaryPage:
		if page != 0 {
			return fmt.Errorf("page %d: a dictionary page after the chunk's first page", page)
		}
		*pr.held += size - pr.dictHeld
		pr.dictHeld = size
	default:
		*pr.held += size - pr.pageHeld
		pr.pageHeld = size
	}
	return pr.checkHeld()
}

// holdMore counts n more bytes the current data page's values need once
// decoded, beyond the page itself.
func (pr *pageReader) holdMore(n int64) error {
	*pr.held += n
	pr.pageHeld += n
	return pr.checkHeld()
}

// holdDict counts n more bytes the chunk's dictionary needs once
// decoded, until the chunk's end.
func (pr *pageReader) holdDict(n int64) error {
	*pr.held += n
	pr.dictHeld += n
	return pr.checkHeld()
}

func (pr *pageReader) checkHeld() error {
	if *pr.held > maxHeldPageBytes {
		return fmt.Errorf("its row group's columns' dictionaries and pages come to %d bytes uncompressed, more than the %d one page of each column may hold at once",
			*pr.held, maxHeldPageBytes)
	}
	return nil
}

// readHead reads and checks the header of page page: it must lie
// inside the chunk and hold the part its type names and no other; its
// pages may declare at most maxColumnChunkBytes in all uncompressed and
// no more than the chunk's TotalUncompressedSize, each at most
// maxPageValues and the chunk's values.
func (pr *pageReader) readHead(page int) error {
	cr, md, h := &pr.cr, &pr.md, &pr.h
	*h = pageHead{}
	at := cr.n
	if err := pr.dec.Decode(h); err != nil {
		return fmt.Errorf("page %d header: %w", page, err)
	}
	if n := cr.n - at; n > maxPageHeaderBytes {
		return fmt.Errorf("page %d header of %d bytes, more than the %d allowed", page, n, maxPageHeaderBytes)
	}
	pr.uncompressed += int64(max(h.UncompressedPageSize, 0))
	values := pagePart(h).NumValues
	defer func() { pr.rowsLeft -= int64(max(values, 0)) }()
	switch t := format.PageType(h.Type); {
	case t != format.DataPage && t != format.DataPageV2 && t != format.DictionaryPage:
		// Index pages are in the format but written by no writer; a
		// page skipped unread would be read again by every row group.
		return fmt.Errorf("page %d of type %d, not a data or dictionary page", page, h.Type)
	case !solePart(h):
		return fmt.Errorf("page %d header of type %d with parts for other page types", page, h.Type)
	case h.UncompressedPageSize < 0 || pr.uncompressed > maxColumnChunkBytes || pr.uncompressed > md.TotalUncompressedSize:
		return fmt.Errorf("page %d declares %d uncompressed bytes, more than its column chunk's %d (at most %d)",
			page, h.UncompressedPageSize, md.TotalUncompressedSize, maxColumnChunkBytes)
	case values < 0 || values > maxPageValues || int64(values) > md.NumValues:
		return fmt.Errorf("page %d declares %d values, more than its column chunk's %d (at most %d a page)", page, values, md.NumValues, maxPageValues)
	case pr.rowsLeft < int64(values):
		return fmt.Errorf("page %d declares %d values, more than the object's pages may still declare (%d)", page, values, pr.rowsLeft)
	case h.CompressedPageSize < 0 || int64(h.CompressedPageSize) > md.TotalCompressedSize-cr.n:
		return fmt.Errorf("page %d declares %d compressed bytes, more than its column chunk holds", page, h.CompressedPageSize)
	case int64(h.CompressedPageSize) > maxStored(int64(h.UncompressedPageSize)):
		// Pages are held as stored too: no more than deflate's overhead
		// over what they hold.
		return fmt.Errorf("page %d declares %d compressed bytes for %d uncompressed", page, h.CompressedPageSize, h.UncompressedPageSize)
	}
	return nil
}

// maxStored is the most bytes a page of n bytes uncompressed may take
// stored: deflate's stored blocks add 5 bytes to each 64 KiB, gzip's
// header and trailer 18 and more, all well under the slack allowed.
func maxStored(n int64) int64 { return n + n/256 + 4<<10 }

// inflate inflates the gzip data src into pr.values, at most declared
// bytes: deflate reaches about 1,000 to 1, so a 150 MiB object of zeros
// would inflate to about 150 GiB, and the data is refused at the first
// byte past what its header declares. Data that inflates to less is
// taken as it is.
func (pr *pageReader) inflate(src []byte, declared int) error {
	pr.zsrc.Reset(src)
	var err error
	if pr.zr == nil {
		pr.zr, err = gzip.NewReader(&pr.zsrc)
	} else {
		err = pr.zr.Reset(&pr.zsrc)
	}
	if err != nil {
		return fmt.Errorf("its gzip data: %w", err)
	}
	if cap(pr.inflated) < declared {
		pr.inflated = make([]byte, declared)
	}
	buf := pr.inflated[:declared]
	for n := 0; n < declared; {
		m, err := pr.zr.Read(buf[n:])
		n += m
		switch {
		case errors.Is(err, io.EOF):
			pr.values = buf[:n]
			return nil
		case err != nil:
			return fmt.Errorf("its gzip data: %w", err)
		}
	}
	pr.values = buf
	var one [1]byte
	for {
		m, err := pr.zr.Read(one[:])
		switch {
		case m > 0:
			return fmt.Errorf("its gzip data inflates past the %d bytes its header declares", declared)
		case errors.Is(err, io.EOF):
			return nil
		case err != nil:
			return fmt.Errorf("its gzip data: %w", err)
		}
	}
}

// chunkStart returns where column chunk md of an object of size bytes
// starts: at its dictionary page's offset whenever that is set, else at
// its first data page; a dictionary page after the data pages is
// refused. The chunk must lie inside the object, its pages GZIP or
// uncompressed.
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

// pagePart returns the values a page header declares and their
// encoding, from the part of the header its type names: the part
// parquet-go reads, whatever other parts the header holds. A page of
// another type declares none.
func pagePart(h *pageHead) pageCount {
	switch format.PageType(h.Type) {
	case format.DataPage:
		return pageCount{h.DataPageHeader.V.NumValues, h.DataPageHeader.V.Encoding}
	case format.DataPageV2:
		return pageCount{h.DataPageHeaderV2.V.NumValues, h.DataPageHeaderV2.V.Encoding}
	case format.DictionaryPage:
		return h.DictionaryPageHeader.V
	}
	return pageCount{Encoding: -1}
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

// countingReader counts the bytes read through it, so that a pageReader
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
