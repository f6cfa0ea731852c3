package digest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strings"
	"unsafe"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding"

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
)

// Bounds on what an object may ask of the decoder: the objects are written
// by whoever can write the bucket, and a Parquet footer states sizes that
// the reader would otherwise allocate.
const (
	// maxColumnChunkBytes bounds one column chunk of one row group,
	// uncompressed. parquet-go holds one page of each column at a time,
	// and a page is at most its chunk.
	maxColumnChunkBytes = 64 << 20
	// maxTextLine bounds one line of a plain-text object; a record with
	// every field is well under 2 KiB (tags are capped at 5,120 bytes).
	maxTextLine = 64 << 10
	// maxTextBytes bounds an object's text once decompressed: a gzip bomb
	// stops there, its records so far counted and the object named.
	maxTextBytes = 4 << 30
)

// maxPreparsedBytes bounds what a decoder holds of dictionaries read once
// (flowrecord.Dict: each value's bytes and outcome), all its columns
// together. A dictionary that does not fit is read per row, as a page
// without one. A variable so that tests can make dictionaries miss it.
var maxPreparsedBytes = 4 << 20

// objectDecoder decodes objects into one lineReader: Parquet column-wise,
// a row group at a time and one page of each column at a time within it,
// each row's typed values read by flowrecord's Parser.ParseRow (the text
// parser's validation, without rendering a line); gzip text line by line,
// by the same parser as a CloudWatch Logs event. Both sources count, bound
// and escape records alike. Not safe for concurrent use; a slice has its
// own.
type objectDecoder struct {
	lr      *lineReader
	body    bytes.Buffer                  // the object being read, when held in memory
	parsers map[string]*flowrecord.Parser // by format
	br      *bufio.Reader
	zr      *gzip.Reader

	// Per column of the Parquet object being read: its field and its
	// pages, read one at a time; row holds one row's values.
	cols []parquetColumn
	row  flowrecord.Row
	pre  preparsed
}

// preparsed holds a decoder's dictionaries read once, one per column
// index, kept from object to object, with the memory they hold and how
// many dictionaries they have read.
type preparsed struct {
	byColumn    []*flowrecord.Dict
	held, dicts int
}

func newObjectDecoder(lr *lineReader) *objectDecoder {
	return &objectDecoder{lr: lr, parsers: map[string]*flowrecord.Parser{}}
}

func (d *objectDecoder) close() { d.closePages() }

// bad reports an object that could not be read, by key.
func (d *objectDecoder) bad(key string, err error) {
	t := &d.lr.t
	t.BadObjects++
	if len(t.BadObjectSamples) < maxBadObjectSamples {
		t.BadObjectSamples = append(t.BadObjectSamples, capRunes(fmt.Sprintf("%s: %v", key, err), 512))
	}
}

// parser returns the parser of the format with these fields.
func (d *objectDecoder) parser(fields []flowrecord.Field) (*flowrecord.Parser, error) {
	f, err := flowrecord.NewFormat(fields...)
	if err != nil {
		return nil, fmt.Errorf("the object's fields are not a flow log format: %w", err)
	}
	p := d.parsers[f.String()]
	if p == nil {
		p = flowrecord.NewParser(f)
		d.parsers[f.String()] = p
	}
	return p, nil
}

// decodeText reads a gzip text object: a header line naming the fields,
// then one record a line.
func (d *objectDecoder) decodeText(r io.ReaderAt, size int64) error {
	src := io.NewSectionReader(r, 0, size)
	var err error
	if d.zr == nil {
		d.zr, err = gzip.NewReader(src)
	} else {
		err = d.zr.Reset(src)
	}
	if err != nil {
		return fmt.Errorf("not gzip: %w", err)
	}
	lim := &io.LimitedReader{R: d.zr, N: maxTextBytes}
	if d.br == nil {
		d.br = bufio.NewReaderSize(lim, maxTextLine)
	} else {
		d.br.Reset(lim)
	}
	header, err := d.readLine()
	if err != nil {
		return fmt.Errorf("reading the header line: %w", err)
	}
	p, err := d.textParser(header)
	if err != nil {
		return err
	}
	for {
		line, err := d.readLine()
		switch {
		case errors.Is(err, io.EOF):
			if lim.N <= 0 {
				return fmt.Errorf("more than %d bytes of text", int64(maxTextBytes))
			}
			return nil
		case errors.Is(err, bufio.ErrBufferFull):
			d.lr.agg.AddMalformed(line[:min(len(line), 256)], fmt.Errorf("a line longer than %d bytes", maxTextLine))
			if err := d.skipLine(); err != nil {
				return err
			}
		case err != nil:
			return fmt.Errorf("reading the text: %w", err)
		case len(line) > 0:
			d.lr.addWith(p, line)
		}
	}
}

// readLine returns the next line, without its newline, as a string over
// the reader's buffer: valid until the next read. The parser and the
// aggregator copy whatever they keep (flowrecord: "copy what must outlive
// the next line"), so no line is copied.
func (d *objectDecoder) readLine() (string, error) {
	b, err := d.br.ReadSlice('\n')
	if errors.Is(err, io.EOF) && len(b) > 0 {
		err = nil // a last line without a newline
	}
	b = bytes.TrimSuffix(bytes.TrimSuffix(b, []byte{'\n'}), []byte{'\r'})
	if len(b) == 0 {
		return "", err
	}
	return unsafe.String(&b[0], len(b)), err
}

func (d *objectDecoder) skipLine() error {
	for {
		_, err := d.br.ReadSlice('\n')
		if !errors.Is(err, bufio.ErrBufferFull) {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// textParser reads the header line: the names of the fields, space
// separated, as in a format without the ${...}.
func (d *objectDecoder) textParser(header string) (*flowrecord.Parser, error) {
	names := strings.Fields(header)
	fields := make([]flowrecord.Field, 0, len(names))
	for _, n := range names {
		f, ok := flowrecord.FieldByName(n)
		if !ok {
			return nil, fmt.Errorf("header field %q is not a flow log field", capRunes(n, 64))
		}
		fields = append(fields, f)
	}
	return d.parser(fields)
}

// decodeParquet reads a Parquet object.
func (d *objectDecoder) decodeParquet(r io.ReaderAt, size int64) error {
	f, err := parquet.OpenFile(r, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return fmt.Errorf("not Parquet: %w", err)
	}
	p, err := d.parquetColumns(f)
	if err != nil {
		return err
	}
	for i, rg := range f.RowGroups() {
		for j, c := range f.Metadata().RowGroups[i].Columns {
			if n := c.MetaData.TotalUncompressedSize; n < 0 || n > maxColumnChunkBytes {
				return fmt.Errorf("row group %d column %d: %d bytes uncompressed, more than the %d allowed", i, j, n, maxColumnChunkBytes)
			}
			if err := checkPages(r, size, c); err != nil {
				return fmt.Errorf("row group %d column %d: %w", i, j, err)
			}
		}
		if err := d.decodeRowGroup(rg, p); err != nil {
			return fmt.Errorf("row group %d: %w", i, err)
		}
	}
	return nil
}

// parquetColumns maps the object's columns to flow log fields: AWS names
// a column as its field with "-" turned to "_" (see
// flowrecord/flowrecordtest/s3object.go for the documentation). Any other
// column, or a nested one, makes the object unreadable.
func (d *objectDecoder) parquetColumns(f *parquet.File) (*flowrecord.Parser, error) {
	cols := f.Schema().Fields()
	if len(cols) == 0 || len(cols) > flowrecord.NumFields {
		return nil, fmt.Errorf("%d columns: want 1 to %d", len(cols), flowrecord.NumFields)
	}
	d.cols = d.cols[:0]
	fields := make([]flowrecord.Field, 0, len(cols))
	for _, c := range cols {
		fd, ok := flowrecord.FieldByName(strings.ReplaceAll(c.Name(), "_", "-"))
		if !ok || !c.Leaf() || c.Repeated() {
			return nil, fmt.Errorf("column %q is not a flow log field", capRunes(c.Name(), 64))
		}
		fields = append(fields, fd)
		var maxDef byte
		if c.Optional() {
			maxDef = 1
		}
		d.cols = append(d.cols, parquetColumn{field: fd, maxDef: maxDef, index: len(d.cols), budget: &d.pre})
	}
	for len(d.pre.byColumn) < len(d.cols) {
		d.pre.byColumn = append(d.pre.byColumn, nil)
	}
	return d.parser(fields)
}

// decodeRowGroup decodes a row group row by row: each column gives the
// row its next value from its current page, and flowrecord reads the
// typed values. It holds one page of each column, whatever the row
// group's size.
func (d *objectDecoder) decodeRowGroup(rg parquet.RowGroup, p *flowrecord.Parser) error {
	chunks := rg.ColumnChunks()
	if len(chunks) != len(d.cols) {
		return fmt.Errorf("%d column chunks for %d columns", len(chunks), len(d.cols))
	}
	for i := range d.cols {
		c := &d.cols[i]
		c.pages, c.pre, c.preKey = chunks[i].Pages(), nil, dictKey{}
	}
	defer d.closePages()
	for left := rg.NumRows(); left > 0; left-- {
		d.row.Reset()
		for i := range d.cols {
			c := &d.cols[i]
			if c.at == c.rows {
				if err := c.nextPage(); err != nil {
					return fmt.Errorf("column %s: %w", c.field, err)
				}
			}
			c.value(&d.row)
		}
		d.lr.addRow(p, &d.row)
	}
	return nil
}

// kindIndexed marks a page of dictionary indexes.
const kindIndexed encoding.Kind = -1

// parquetColumn reads one column's pages, one at a time, as typed values:
// the page's definition levels say which rows are null, and its values
// (dense: one per row that is not) are read straight from the page's
// buffers, through its dictionary when it has one.
type parquetColumn struct {
	field  flowrecord.Field
	maxDef byte // 1 for an optional column, 0 for a required one
	pages  parquet.Pages
	page   parquet.Page // the page being read, nil before the first

	rows, at int            // rows of the page, and the next one
	next     int            // the next value (not null) of the page
	values   int            // values (not null) of the page
	defs     []byte         // the page's definition levels; empty when none is null
	kind     encoding.Kind  // of the values, or kindIndexed
	i32      []int32        // Int32 values, or dictionary indexes
	i64      []int64        // Int64 values
	data     []byte         // ByteArray values: value k is data[offs[k]:offs[k+1]]
	offs     []uint32       //
	dict     *parquetColumn // the dictionary's values, for an indexed page
	dictLen  int

	// The page's string dictionary read once (nil: read per row), the
	// dictionary it was read from, and the decoder's dictionaries, of
	// which this column's is at index.
	pre    *flowrecord.Dict
	preKey dictKey
	budget *preparsed
	index  int
}

// dictKey tells a column chunk's dictionary from another: its values'
// buffer and size. A chunk has one dictionary (parquet-go skips a second
// dictionary page), and the key is cleared at each chunk, so a buffer
// reused by a later chunk is never mistaken for the one read.
type dictKey struct {
	data    *byte
	n, size int
	set     bool
}

// nextPage releases the page read and loads the next, checking that its
// buffers hold as many values as its levels say: the file is anyone's.
func (c *parquetColumn) nextPage() error {
	c.releasePage()
	pg, err := c.pages.ReadPage()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("fewer values than the row group's rows")
		}
		return err
	}
	c.page, c.at, c.next = pg, 0, 0
	c.rows, c.defs = int(pg.NumRows()), pg.DefinitionLevels()
	if len(pg.RepetitionLevels()) != 0 || len(c.defs) != 0 && len(c.defs) != c.rows || c.rows == 0 {
		return fmt.Errorf("a page of %d rows with %d definition and %d repetition levels", c.rows, len(c.defs), len(pg.RepetitionLevels()))
	}
	values := c.rows - int(pg.NumNulls())
	c.values = values
	if dict := pg.Dictionary(); dict != nil {
		if c.dict == nil {
			c.dict = &parquetColumn{}
		}
		dp := dict.Page()
		if err := c.dict.load(dp.Data(), int(dp.NumValues())); err != nil {
			return fmt.Errorf("dictionary: %w", err)
		}
		c.dictLen = int(dp.NumValues())
		c.kind = kindIndexed
		c.preparse()
		idx := pg.Data()
		c.i32 = idx.Int32()
		if len(c.i32) < values {
			return fmt.Errorf("a page of %d values with %d dictionary indexes", values, len(c.i32))
		}
		return nil
	}
	return c.load(pg.Data(), values)
}

// load takes n values from a page's buffers.
func (c *parquetColumn) load(v encoding.Values, n int) error {
	c.kind = v.Kind()
	switch c.kind {
	case encoding.Int32:
		c.i32 = v.Int32()
		if len(c.i32) < n {
			return fmt.Errorf("a page of %d values holds %d", n, len(c.i32))
		}
	case encoding.Int64:
		c.i64 = v.Int64()
		if len(c.i64) < n {
			return fmt.Errorf("a page of %d values holds %d", n, len(c.i64))
		}
	case encoding.ByteArray:
		c.data, c.offs = v.ByteArray()
		if len(c.offs) < n+1 {
			return fmt.Errorf("a page of %d values holds %d", n, max(len(c.offs)-1, 0))
		}
	}
	return nil
}

// value adds the column's next value to w.
func (c *parquetColumn) value(w *flowrecord.Row) {
	row := c.at
	c.at++
	if len(c.defs) != 0 && c.defs[row] != c.maxDef {
		w.Null()
		return
	}
	k := c.next
	c.next++
	if k >= c.values {
		w.Bad() // more rows not null than NumNulls said: not from a sound writer
		return
	}
	if c.kind == kindIndexed {
		i := c.i32[k]
		if i < 0 || int(i) >= c.dictLen {
			w.Bad()
			return
		}
		if c.pre != nil {
			w.Dict(c.pre, int(i))
			return
		}
		c.dict.valueAt(w, int(i))
		return
	}
	c.valueAt(w, k)
}

// preparse reads the loaded dictionary's values once into c.pre when it is
// a string dictionary that fits the decoder's budget and whose offsets are
// sound; otherwise c.pre is nil and each row reads its value by valueAt,
// which refuses bad offsets row by row.
func (c *parquetColumn) preparse() {
	d := c.dict
	key := dictKey{data: unsafe.SliceData(d.data), n: c.dictLen, size: len(d.data), set: true}
	if key == c.preKey {
		return // the same dictionary as the chunk's page before
	}
	c.preKey, c.pre = key, nil
	b := c.budget
	own := b.byColumn[c.index]
	b.held -= own.Held()
	if d.kind != encoding.ByteArray || !d.soundOffsets(c.dictLen) ||
		b.held+own.HeldFor(c.dictLen, len(d.data)) > maxPreparsedBytes {
		b.byColumn[c.index] = nil // its memory, if any, returns to the budget
		return
	}
	if own == nil {
		own = new(flowrecord.Dict)
		b.byColumn[c.index] = own
	}
	own.Reset(c.field)
	own.Grow(c.dictLen, len(d.data))
	for k := range c.dictLen {
		own.Add(d.data[d.offs[k]:d.offs[k+1]])
	}
	b.held += own.Held()
	b.dicts++
	c.pre = own
}

// soundOffsets reports whether the first n byte array values' offsets lie
// in order within the data.
func (c *parquetColumn) soundOffsets(n int) bool {
	if len(c.offs) < n+1 {
		return false
	}
	for k := range n {
		if c.offs[k] > c.offs[k+1] || int(c.offs[k+1]) > len(c.data) {
			return false
		}
	}
	return true
}

// valueAt adds value k of the loaded buffers to w; a type no flow log
// column has, or a byte array whose offsets leave its buffer, is Bad.
func (c *parquetColumn) valueAt(w *flowrecord.Row, k int) {
	switch c.kind {
	case encoding.Int32:
		w.Int(int64(c.i32[k]))
	case encoding.Int64:
		w.Int(c.i64[k])
	case encoding.ByteArray:
		j, e := c.offs[k], c.offs[k+1]
		if j > e || int(e) > len(c.data) {
			w.Bad()
			return
		}
		w.Bytes(c.data[j:e])
	default:
		w.Bad()
	}
}

func (c *parquetColumn) releasePage() {
	if c.page != nil {
		parquet.Release(c.page)
	}
	c.page, c.rows, c.at, c.defs = nil, 0, 0, nil
	c.i32, c.i64, c.data, c.offs = nil, nil, nil, nil
}

// addRow reads one row with p, the parser of the object's format.
func (lr *lineReader) addRow(p *flowrecord.Parser, row *flowrecord.Row) {
	lr.t.Events++
	if err := p.ParseRow(row, &lr.rec); err != nil {
		lr.agg.AddMalformed(row.Line(), err)
		return
	}
	lr.count()
}

func (d *objectDecoder) closePages() {
	for i := range d.cols {
		c := &d.cols[i]
		c.releasePage()
		if c.pages != nil {
			_ = c.pages.Close()
			c.pages = nil
		}
	}
}
