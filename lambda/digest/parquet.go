package digest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unsafe"

	"github.com/klauspost/compress/gzip"
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

// maxParquetBytes bounds an object's column chunks together,
// uncompressed as their footer declares them (each chunk's pages are
// checked against its declaration): a footer whose row groups point at
// the same bytes again and again would otherwise have them read and
// inflated as often. It is the text objects' bound. A variable so that
// tests can make it bind.
var maxParquetBytes int64 = maxTextBytes

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
	cols  []parquetColumn
	fcols []flowrecord.Column
	row   flowrecord.Row
	pre   preparsed
	pages pageChecker
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

// decodeParquet reads a Parquet object. parquet-go is not hardened
// against hostile files: the checks here and in pageChecker refuse what
// is known to exhaust its memory or make it panic, and a panic that
// remains is recovered as the object's error (decodeRecovered), so that
// one object cannot stop every run.
func (d *objectDecoder) decodeParquet(r io.ReaderAt, size int64) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = d.decodeRecovered(p)
		}
	}()
	return d.decodeParquetFile(r, size)
}

// decodeRecovered leaves the decoder as a new one would be for the next
// object after a panic while reading one: its pages released and closed
// (decodeRowGroup's deferred closePages has done so when the panic came
// from reading a page), its columns and dictionaries dropped, whatever
// they held when the panic came.
func (d *objectDecoder) decodeRecovered(p any) error {
	d.closePages()
	d.cols, d.fcols, d.row = nil, nil, flowrecord.Row{}
	d.pre = preparsed{}
	return fmt.Errorf("%w: %v", errParquetPanic, p)
}

// errParquetPanic is the error of an object whose reading panicked.
var errParquetPanic = errors.New("the Parquet reader failed on the object")

// decodeParquetFile is decodeParquet without the recovery: each row
// group's column chunks are bounded and their pages checked (pageChecker)
// before the row group is read.
func (d *objectDecoder) decodeParquetFile(r io.ReaderAt, size int64) error {
	f, err := parquet.OpenFile(r, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return fmt.Errorf("not Parquet: %w", err)
	}
	p, err := d.parquetColumns(f)
	if err != nil {
		return err
	}
	var total int64 // the chunks' uncompressed bytes so far
	for i, rg := range f.RowGroups() {
		var held int64
		for j, c := range f.Metadata().RowGroups[i].Columns {
			if j >= len(d.cols) {
				return fmt.Errorf("row group %d: more column chunks than the %d columns", i, len(d.cols))
			}
			if n := c.MetaData.TotalUncompressedSize; n < 0 || n > maxColumnChunkBytes {
				return fmt.Errorf("row group %d column %d: %d bytes uncompressed, more than the %d allowed", i, j, n, maxColumnChunkBytes)
			}
			if total += c.MetaData.TotalUncompressedSize; total > maxParquetBytes {
				return fmt.Errorf("row group %d column %d: the column chunks so far come to %d bytes uncompressed, more than the %d an object may hold", i, j, total, maxParquetBytes)
			}
			if err := d.pages.check(r, size, c, d.cols[j].maxDef); err != nil {
				return fmt.Errorf("row group %d column %d: %w", i, j, err)
			}
			held += d.pages.held
		}
		if held > maxHeldPageBytes {
			return fmt.Errorf("row group %d: its columns' dictionaries and largest pages come to %d bytes uncompressed, more than the %d one page of each column may hold at once",
				i, held, maxHeldPageBytes)
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
	if cap(d.fcols) < len(d.cols) {
		d.fcols = make([]flowrecord.Column, len(d.cols))
	}
	d.fcols = d.fcols[:len(d.cols)]
	clear(d.fcols)
	for i := range d.cols {
		d.cols[i].col = &d.fcols[i]
	}
	for len(d.pre.byColumn) < len(d.cols) {
		d.pre.byColumn = append(d.pre.byColumn, nil)
	}
	return d.parser(fields)
}

// decodeRowGroup decodes a row group row by row: each column gives the
// row its next value from its current page, and flowrecord reads the
// typed values straight from the pages (Parser.ReadColumns). It holds one
// page of each column, whatever the row group's size.
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
	for left := rg.NumRows(); left > 0; {
		// Rows every column's page still holds: read without a check.
		n := left
		for i := range d.cols {
			c := &d.cols[i]
			if c.col.Left() == 0 {
				if err := c.nextPage(); err != nil {
					return fmt.Errorf("column %s: %w", c.field, err)
				}
			}
			n = min(n, int64(c.col.Left()))
		}
		for range n {
			d.lr.addColumns(p, d.fcols, &d.row)
		}
		left -= n
	}
	return nil
}

// parquetColumn reads one column's pages, one at a time, into col: the
// page's definition levels say which rows are null, and its values
// (dense: one per row that is not) are read straight from the page's
// buffers, through its dictionary when it has one.
type parquetColumn struct {
	field  flowrecord.Field
	maxDef byte // 1 for an optional column, 0 for a required one
	pages  parquet.Pages
	page   parquet.Page       // the page being read, nil before the first
	col    *flowrecord.Column // the page's values, as flowrecord reads them

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

// nextPage releases the page read and loads the next; flowrecord checks
// that its buffers hold as many values as its levels say: the file is
// anyone's.
func (c *parquetColumn) nextPage() error {
	c.releasePage()
	pg, err := c.pages.ReadPage()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("fewer values than the row group's rows")
		}
		return err
	}
	c.page = pg
	col := c.col
	col.Rows, col.Defs, col.MaxDef = int(pg.NumRows()), pg.DefinitionLevels(), c.maxDef
	if len(pg.RepetitionLevels()) != 0 {
		return fmt.Errorf("a page of %d rows with %d repetition levels", col.Rows, len(pg.RepetitionLevels()))
	}
	col.Values = col.Rows - int(pg.NumNulls())
	if dict := pg.Dictionary(); dict != nil {
		dp := dict.Page()
		col.Indexed, col.DictLen = true, int(dp.NumValues())
		setValues(col, dp.Data())
		idx := pg.Data()
		col.Index = idx.Int32()
		c.preparse()
		col.Dict = c.pre
	} else {
		setValues(col, pg.Data())
	}
	if err := col.Start(); err != nil {
		if col.Indexed {
			return fmt.Errorf("a dictionary-encoded page: %w", err)
		}
		return err
	}
	return nil
}

// setValues points col's value buffers at v's.
func setValues(col *flowrecord.Column, v encoding.Values) {
	switch v.Kind() {
	case encoding.Int32:
		col.Kind, col.Int32 = flowrecord.ColumnInt32, v.Int32()
	case encoding.Int64:
		col.Kind, col.Int64 = flowrecord.ColumnInt64, v.Int64()
	case encoding.ByteArray:
		col.Kind = flowrecord.ColumnBytes
		col.Data, col.Offs = v.ByteArray()
	default:
		col.Kind = flowrecord.ColumnUntyped
	}
}

// preparse reads the loaded dictionary's values once into c.pre when it is
// a string dictionary that fits the decoder's budget and whose offsets are
// sound; otherwise c.pre is nil and each row reads its value from the
// dictionary's buffers, which refuses bad offsets row by row.
func (c *parquetColumn) preparse() {
	col := c.col
	n := col.DictLen
	key := dictKey{data: unsafe.SliceData(col.Data), n: n, size: len(col.Data), set: true}
	if key == c.preKey {
		return // the same dictionary as the chunk's page before
	}
	c.preKey, c.pre = key, nil
	b := c.budget
	own := b.byColumn[c.index]
	b.held -= own.Held()
	if col.Kind != flowrecord.ColumnBytes || !soundOffsets(col.Data, col.Offs, n) ||
		b.held+own.HeldFor(n, len(col.Data)) > maxPreparsedBytes {
		b.byColumn[c.index] = nil // its memory, if any, returns to the budget
		return
	}
	if own == nil {
		own = new(flowrecord.Dict)
		b.byColumn[c.index] = own
	}
	own.Reset(c.field)
	own.Grow(n, len(col.Data))
	for k := range n {
		own.Add(col.Data[col.Offs[k]:col.Offs[k+1]])
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

func (c *parquetColumn) releasePage() {
	if c.page != nil {
		parquet.Release(c.page)
	}
	c.page = nil
	if c.col != nil {
		*c.col = flowrecord.Column{}
	}
}

// addColumns reads the next row of cols with p, the parser of the
// object's format.
func (lr *lineReader) addColumns(p *flowrecord.Parser, cols []flowrecord.Column, row *flowrecord.Row) {
	lr.t.Events++
	if err := p.ReadColumns(cols, row, &lr.rec); err != nil {
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
