package digest

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding"
	"github.com/parquet-go/parquet-go/encoding/bytestreamsplit"
	"github.com/parquet-go/parquet-go/encoding/delta"
	"github.com/parquet-go/parquet-go/encoding/plain"
	"github.com/parquet-go/parquet-go/encoding/rle"
	"github.com/parquet-go/parquet-go/format"

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
)

// The encodings a page's levels and values are decoded with: parquet-go's
// own, each given only data whose counts have been checked first (a
// run-length or DELTA encoding states its own counts, and parquet-go
// sizes its output by them).
var (
	plainEncoding      plain.Encoding
	levelEncoding      = rle.Encoding{BitWidth: 1}
	indexEncoding      rle.DictionaryEncoding
	deltaInts          delta.BinaryPackedEncoding
	deltaLengthStrings delta.LengthByteArrayEncoding
	deltaStrings       delta.ByteArrayEncoding
	splitInts          bytestreamsplit.Encoding
)

// plainDictionary is PLAIN_DICTIONARY (format.PlainDictionary, which
// the format deprecates): version 1 writers still mark dictionary pages
// and RLE-encoded indexes with it.
const plainDictionary = format.Encoding(2)

// parquetColumn reads one column's pages, one at a time, into col: the
// page's definition levels say which rows are null, and its values
// (dense: one per row that is not) are decoded into buffers the column
// keeps from page to page, through its chunk's dictionary when the page
// has one.
type parquetColumn struct {
	field  flowrecord.Field
	name   string       // the column's, in the object's schema
	maxDef byte         // 1 for an optional column, 0 for a required one
	kind   parquet.Kind // the column's physical type
	pr     *pageReader
	col    *flowrecord.Column // the page's values, as flowrecord reads them

	// The page's decoded levels, indexes and values.
	levels []byte
	index  []int32
	vals   pageVals

	// The chunk's dictionary, if it has one: its values, and those
	// values read once (nil: read per row); the decoder's dictionaries
	// read once, of which this column's is at budgetAt.
	hasDict  bool
	dictLen  int
	dict     pageVals
	pre      *flowrecord.Dict
	budget   *preparsed
	budgetAt int

	// The values of the chunk's pages not dictionary-encoded, read once
	// each (interner).
	in interner
}

// pageVals holds a page's (or a dictionary's) values of one kind.
type pageVals struct {
	kind  flowrecord.ColumnKind
	int32 []int32
	int64 []int64
	data  []byte
	offs  []uint32
}

// kept is what the column's buffers hold.
func (c *parquetColumn) kept() int64 {
	return int64(cap(c.levels)+4*cap(c.index)) + c.vals.kept() + c.dict.kept() + c.in.held()
}

func (v *pageVals) kept() int64 {
	return int64(4*cap(v.int32) + 8*cap(v.int64) + cap(v.data) + 4*cap(v.offs))
}

// set points col's value buffers at v's.
func (v *pageVals) set(col *flowrecord.Column) {
	col.Kind, col.Int32, col.Int64, col.Data, col.Offs = v.kind, v.int32, v.int64, v.data, v.offs
}

// startChunk readies the column for its chunk in the next row group.
func (c *parquetColumn) startChunk() {
	c.hasDict, c.dictLen, c.pre = false, 0, nil
	c.in.reset(c.field)
	*c.col = flowrecord.Column{}
}

// nextPage reads the chunk's next data page into col, and its dictionary
// page on the way; flowrecord checks that the buffers hold as many values
// as the levels say.
func (c *parquetColumn) nextPage() error {
	*c.col = flowrecord.Column{}
	pr := c.pr
	for {
		err := pr.readPage()
		switch {
		case errors.Is(err, errChunkEnd):
			return errors.New("fewer values than the row group's rows")
		case err != nil:
			return err
		}
		switch format.PageType(pr.h.Type) {
		case format.DictionaryPage:
			if err := c.readDictionary(); err != nil {
				return fmt.Errorf("page %d, the dictionary: %w", pr.pages-1, err)
			}
		default: // a data page: readHead refuses any other type
			if err := c.readData(); err != nil {
				return fmt.Errorf("page %d: %w", pr.pages-1, err)
			}
			return nil
		}
	}
}

// readDictionary decodes a dictionary page: PLAIN values of the column's
// type, and reads a string dictionary's values once when it fits the
// decoder's budget.
func (c *parquetColumn) readDictionary() error {
	h := &c.pr.h
	switch enc := format.Encoding(h.DictionaryPageHeader.V.Encoding); enc {
	case format.Plain, plainDictionary:
	default:
		return fmt.Errorf("values encoded as %s, not PLAIN", enc)
	}
	n := int(h.DictionaryPageHeader.V.NumValues)
	if err := c.pr.holdDict(8*int64(n) + int64(len(c.pr.values))); err != nil {
		return err
	}
	if !c.typed() {
		c.dict.kind = flowrecord.ColumnUntyped
	} else if err := c.decodeValues(&c.dict, format.Plain, c.pr.values, n); err != nil {
		return err
	}
	c.hasDict, c.dictLen = true, n
	c.preparse()
	return nil
}

// typed reports whether the column's values are of a type a flow log
// field has: integers or strings.
func (c *parquetColumn) typed() bool {
	return c.kind == parquet.Int32 || c.kind == parquet.Int64 || c.kind == parquet.ByteArray
}

// readData decodes a data page into col: its levels, then its values.
func (c *parquetColumn) readData() error {
	pr, col := c.pr, c.col
	h := &pr.h
	part := pagePart(h)
	rows := int(part.NumValues)
	src := pr.values
	// What the page decodes to, beyond the page: a level a row, at most 8
	// bytes a value (an index, an integer, a string's offset), and a copy
	// of its strings.
	if err := pr.holdMore(int64(rows) + 8*int64(rows) + int64(len(src))); err != nil {
		return err
	}
	defs, err := c.readLevels(&src, rows)
	if err != nil {
		return err
	}
	values := rows
	for _, d := range defs {
		if d != c.maxDef {
			values--
		}
	}
	col.Rows, col.Defs, col.MaxDef, col.Values = rows, defs, c.maxDef, values
	enc := format.Encoding(part.Encoding)
	switch {
	case !c.typed():
		// No flow log field has this type: each value is malformed,
		// and none need be decoded.
		col.Kind = flowrecord.ColumnUntyped
	case enc == format.RLEDictionary || enc == plainDictionary:
		if !c.hasDict {
			return errors.New("dictionary indexes without a dictionary page")
		}
		if err := c.readIndexes(src, values); err != nil {
			return err
		}
		col.Indexed, col.Index, col.DictLen, col.Dict = true, c.index, c.dictLen, c.pre
		c.dict.set(col)
	default:
		if err := c.decodeValues(&c.vals, enc, src, values); err != nil {
			return err
		}
		c.vals.set(col)
		if c.vals.kind != flowrecord.ColumnBytes {
			break
		}
		var ok bool
		if c.index, ok = c.in.intern(&c.vals, values, c.index); ok {
			col.Indexed, col.Index, col.DictLen, col.Dict = true, c.index, c.in.dict.Len(), &c.in.dict
		}
	}
	return col.Start()
}

// readLevels decodes the definition levels of a data page of rows rows,
// an optional column's: a version 2 page's from pr.levels, a version 1
// page's from the start of *src, which is left at the values. A required
// column's are nil.
func (c *parquetColumn) readLevels(src *[]byte, rows int) ([]byte, error) {
	pr := c.pr
	if c.maxDef == 0 {
		return nil, nil // a version 2 page's, if any, are skipped
	}
	lv := pr.levels
	if format.PageType(pr.h.Type) == format.DataPage {
		if enc := format.Encoding(pr.h.DataPageHeader.V.DefEncoding); enc != format.RLE {
			return nil, fmt.Errorf("definition levels encoded as %s: only RLE is read", enc)
		}
		b := *src
		if len(b) < 4 || int64(binary.LittleEndian.Uint32(b)) > int64(len(b)-4) {
			return nil, fmt.Errorf("definition levels longer than the page's %d bytes", len(b))
		}
		n := 4 + int(binary.LittleEndian.Uint32(b))
		lv, *src = b[4:n], b[n:]
	}
	if got, ok := rleLen(lv, 1, rows); !ok || got < rows {
		return nil, fmt.Errorf("definition levels for %d values where the page has %d rows", got, rows)
	}
	var err error
	if c.levels, err = levelEncoding.DecodeLevels(c.levels[:0], lv); err != nil {
		return nil, err
	}
	return c.levels[:rows], nil
}

// readIndexes decodes a data page's n dictionary indexes: their bit
// width in a byte, then their runs.
func (c *parquetColumn) readIndexes(src []byte, n int) error {
	if len(src) == 0 {
		if n > 0 {
			return fmt.Errorf("no dictionary indexes for %d values", n)
		}
		c.index = c.index[:0]
		return nil
	}
	if got, ok := rleLen(src[1:], uint(src[0]), n); !ok || got < n {
		return fmt.Errorf("dictionary indexes for %d values where the page has %d", got, n)
	}
	var err error
	c.index, err = indexEncoding.DecodeInt32(c.index[:0], src)
	return err
}

// decodeValues decodes n values of the column's kind encoded as enc from
// src into v. A DELTA encoding's own counts are checked first
// (checkDelta), and the strings a DELTA_BYTE_ARRAY page decodes to are
// counted as held.
func (c *parquetColumn) decodeValues(v *pageVals, enc format.Encoding, src []byte, n int) error {
	e := valueEncoding(c.kind, enc)
	if e == nil {
		return fmt.Errorf("%s values encoded as %s: not read", c.kind, enc)
	}
	if isDelta(enc) {
		size, err := checkDelta(enc, src, n)
		if err != nil {
			return err
		}
		if err := c.pr.holdMore(int64(size)); err != nil {
			return err
		}
	}
	var err error
	switch c.kind {
	case parquet.Int32:
		v.kind = flowrecord.ColumnInt32
		v.int32, err = e.DecodeInt32(v.int32[:0], src)
	case parquet.Int64:
		v.kind = flowrecord.ColumnInt64
		v.int64, err = e.DecodeInt64(v.int64[:0], src)
	default: // parquet.ByteArray: the only other kind a typed column has
		if enc == format.Plain {
			if err := checkPlainBytes(src); err != nil {
				return err
			}
		}
		v.kind = flowrecord.ColumnBytes
		v.data, v.offs, err = e.DecodeByteArray(v.data[:0], src, v.offs[:0])
	}
	return err
}

// valueEncoding returns the encoding that decodes values of kind encoded
// as enc, nil for one not read: PLAIN, DELTA_BINARY_PACKED or
// BYTE_STREAM_SPLIT integers; PLAIN, DELTA_LENGTH_BYTE_ARRAY or
// DELTA_BYTE_ARRAY strings.
func valueEncoding(kind parquet.Kind, enc format.Encoding) encoding.Encoding {
	ints := kind == parquet.Int32 || kind == parquet.Int64
	switch {
	case enc == format.Plain && (ints || kind == parquet.ByteArray):
		return &plainEncoding
	case enc == format.DeltaBinaryPacked && ints:
		return &deltaInts
	case enc == format.ByteStreamSplit && ints:
		return &splitInts
	case enc == format.DeltaLengthByteArray && kind == parquet.ByteArray:
		return &deltaLengthStrings
	case enc == format.DeltaByteArray && kind == parquet.ByteArray:
		return &deltaStrings
	}
	return nil
}

// rleLen returns how many values the RLE/bit-packed hybrid data src
// holds, each bitWidth bits wide, counting no further than a little past
// want (a bit-packed run is padded to a multiple of 8 values): ok is
// false past it, or when a run leaves src. parquet-go decodes a run of
// whatever length its header states, so a few bytes could otherwise
// claim billions of values.
func rleLen(src []byte, bitWidth uint, want int) (int, bool) {
	if bitWidth > 32 {
		return 0, false
	}
	limit := uint64(want) + 7
	var n uint64
	for i := 0; i < len(src); {
		u, k := binary.Uvarint(src[i:])
		if k <= 0 {
			return int(n), false
		}
		i += k
		count, bytes := u>>1, uint64((bitWidth+7)/8)
		if count == 0 {
			continue // parquet-go reads nothing more of an empty run, not even its value
		}
		if u&1 != 0 {
			if count > limit {
				return int(n), false
			}
			count, bytes = 8*count, count*uint64(bitWidth)
		}
		if n += count; n > limit || bytes > uint64(len(src)-i) {
			return int(n), false
		}
		i += int(bytes)
	}
	return int(n), true
}

// preparse reads the chunk's dictionary values once into c.pre when it
// is a string dictionary that fits the decoder's budget and whose offsets
// are sound; otherwise c.pre is nil and each row reads its value from the
// dictionary's buffers, which refuses bad offsets row by row.
func (c *parquetColumn) preparse() {
	d, n := &c.dict, c.dictLen
	c.pre = nil
	b := c.budget
	own := b.byColumn[c.budgetAt]
	b.held -= own.Held()
	if d.kind != flowrecord.ColumnBytes || !soundOffsets(d.data, d.offs, n) ||
		b.held+own.HeldFor(n, len(d.data)) > maxPreparsedBytes {
		b.byColumn[c.budgetAt] = nil // its memory, if any, returns to the budget
		return
	}
	if own == nil {
		own = new(flowrecord.Dict)
		b.byColumn[c.budgetAt] = own
	}
	own.Reset(c.field)
	own.Grow(n, len(d.data))
	for k := range n {
		own.Add(d.data[d.offs[k]:d.offs[k+1]])
	}
	b.held += own.Held()
	b.dicts++
	c.pre = own
}

// soundOffsets reports whether the first n byte array values' offsets lie
// in order within data.
func soundOffsets(data []byte, offs []uint32, n int) bool {
	if n < 0 || len(offs) < n+1 {
		return false
	}
	for k := range n {
		if offs[k] > offs[k+1] || int(offs[k+1]) > len(data) {
			return false
		}
	}
	return true
}

// checkPlainBytes checks that each PLAIN byte array's length lies within
// what is left of src: parquet-go checks it against all of src, and
// slices past its end.
func checkPlainBytes(src []byte) error {
	for i := 0; i < len(src); {
		if len(src)-i < 4 {
			return fmt.Errorf("a PLAIN byte array length cut short at byte %d of %d", i, len(src))
		}
		n := uint64(binary.LittleEndian.Uint32(src[i:]))
		if i += 4; n > uint64(len(src)-i) {
			return fmt.Errorf("a PLAIN byte array of %d bytes at byte %d of %d", n, i, len(src))
		}
		i += int(n)
	}
	return nil
}
