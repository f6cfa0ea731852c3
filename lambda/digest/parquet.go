package digest

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unsafe"

	"github.com/klauspost/compress/gzip"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

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
	// pages, read one at a time by its page reader (kept from object to
	// object with its buffers), and held, what the row group's pages
	// need at once; row holds one row's values.
	cols    []parquetColumn
	fcols   []flowrecord.Column
	readers []*pageReader
	held    int64
	row     flowrecord.Row
	pre     preparsed
	footer  []byte // the object's footer, checked (checkFooter)
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

// decodeParquet reads a Parquet object: its footer and schema through
// parquet-go, its pages through pageReader, their values through
// parquet-go's encodings. Neither is hardened against hostile files: the
// checks here, in pageReader and before each encoding refuse what is
// known to exhaust memory or make them panic, and a panic that remains is
// recovered as the object's error (decodeRecovered), so that one object
// cannot stop every run.
func (d *objectDecoder) decodeParquet(r io.ReaderAt, size int64) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = d.decodeRecovered(p)
		}
	}()
	return d.decodeParquetFile(r, size)
}

// decodeRecovered leaves the decoder as a new one would be for the next
// object after a panic while reading one: its columns, page readers and
// dictionaries dropped, whatever they held when the panic came.
func (d *objectDecoder) decodeRecovered(p any) error {
	d.closePages()
	d.cols, d.fcols, d.readers, d.row = nil, nil, nil, flowrecord.Row{}
	d.pre = preparsed{}
	return fmt.Errorf("%w: %v", errParquetPanic, p)
}

// errParquetPanic is the error of an object whose reading panicked.
var errParquetPanic = errors.New("the Parquet reader failed on the object")

// decodeParquetFile is decodeParquet without the recovery: each row
// group's column chunks are bounded, then read a page of each column at
// a time.
func (d *objectDecoder) decodeParquetFile(r io.ReaderAt, size int64) error {
	var err error
	if d.footer, err = checkFooter(r, size, d.footer); err != nil {
		return fmt.Errorf("not Parquet: %w", err)
	}
	f, err := parquet.OpenFile(r, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return fmt.Errorf("not Parquet: %w", err)
	}
	p, err := d.parquetColumns(f)
	if err != nil {
		return err
	}
	defer d.closePages()
	rows, limit := int64(0), maxObjectRows(size)
	for _, rg := range f.Metadata().RowGroups {
		if rows += max(rg.NumRows, 0); rows > limit || rg.NumRows < 0 {
			return fmt.Errorf("row groups of %d rows, more than the %d an object of %d bytes may hold", rows, limit, size)
		}
	}
	for _, pr := range d.readers {
		pr.rowsLeft = limit
	}
	if err := disjointChunks(f.Metadata().RowGroups, size); err != nil {
		return err
	}
	var total int64 // the chunks' uncompressed bytes so far
	for i, rg := range f.Metadata().RowGroups {
		if len(rg.Columns) != len(d.cols) {
			return fmt.Errorf("row group %d: %d column chunks for %d columns", i, len(rg.Columns), len(d.cols))
		}
		d.held = 0
		d.trimBuffers()
		for j, c := range rg.Columns {
			if path := c.MetaData.PathInSchema; len(path) != 1 || path[0] != d.cols[j].name {
				return fmt.Errorf("row group %d column %d: a chunk of %q, not of column %q", i, j, capRunes(strings.Join(path, "."), 64), d.cols[j].name)
			}
			if n := c.MetaData.TotalUncompressedSize; n < 0 || n > maxColumnChunkBytes {
				return fmt.Errorf("row group %d column %d: %d bytes uncompressed, more than the %d allowed", i, j, n, maxColumnChunkBytes)
			}
			if total += c.MetaData.TotalUncompressedSize; total > maxParquetBytes {
				return fmt.Errorf("row group %d column %d: the column chunks so far come to %d bytes uncompressed, more than the %d an object may hold", i, j, total, maxParquetBytes)
			}
			if err := d.readers[j].startChunk(r, size, c.MetaData); err != nil {
				return fmt.Errorf("row group %d column %d: %w", i, j, err)
			}
			// The chunk's physical type: parquet-go's type of the column
			// panics for some annotations (LIST on a leaf).
			d.cols[j].kind = parquet.Kind(c.MetaData.Type)
			d.cols[j].startChunk()
		}
		if err := d.decodeRowGroup(rg.NumRows, p); err != nil {
			return fmt.Errorf("row group %d: %w", i, err)
		}
	}
	return nil
}

// maxObjectRows bounds the rows an object of size bytes may hold, and
// the rows its pages may declare in each column: a page's levels can
// declare a million null rows in a few bytes, and row groups can point at
// the same pages again and again, so that a small object would otherwise
// keep a run busy for minutes. Flow log records take about 20 bytes a
// row in Parquet; the bound allows 4 rows a byte.
func maxObjectRows(size int64) int64 { return 4*size + 1<<16 }

// parquetColumns maps the object's columns to flow log fields: AWS names
// a column as its field with "-" turned to "_" (see
// flowrecord/flowrecordtest/s3object.go for the documentation). Any other
// column, or a nested one, makes the object unreadable.
func (d *objectDecoder) parquetColumns(f *parquet.File) (*flowrecord.Parser, error) {
	cols := f.Schema().Fields()
	if len(cols) == 0 || len(cols) > flowrecord.NumFields {
		return nil, fmt.Errorf("%d columns: want 1 to %d", len(cols), flowrecord.NumFields)
	}
	fields := make([]flowrecord.Field, 0, len(cols))
	for len(d.readers) < len(cols) {
		d.readers = append(d.readers, &pageReader{held: &d.held})
	}
	// The columns are kept to their capacity: a narrower object leaves
	// d.cols shorter than d.readers.
	if cap(d.cols) < len(cols) {
		d.cols = append(d.cols[:cap(d.cols)], make([]parquetColumn, len(cols)-cap(d.cols))...)
	}
	d.cols = d.cols[:len(cols)]
	for len(d.pre.byColumn) < len(cols) {
		d.pre.byColumn = append(d.pre.byColumn, nil)
	}
	if cap(d.fcols) < len(cols) {
		d.fcols = make([]flowrecord.Column, len(cols))
	}
	d.fcols = d.fcols[:len(cols)]
	for i, c := range cols {
		fd, ok := flowrecord.FieldByName(strings.ReplaceAll(c.Name(), "_", "-"))
		if !ok || !c.Leaf() || c.Repeated() {
			return nil, fmt.Errorf("column %q is not a flow log field", capRunes(c.Name(), 64))
		}
		fields = append(fields, fd)
		var maxDef byte
		if c.Optional() {
			maxDef = 1
		}
		// The column's buffers are kept from object to object.
		pc := &d.cols[i]
		pc.field, pc.name, pc.maxDef = fd, c.Name(), maxDef
		pc.pr, pc.col, pc.budget, pc.budgetAt = d.readers[i], &d.fcols[i], &d.pre, i
	}
	return d.parser(fields)
}

// decodeRowGroup decodes a row group of rows rows, row by row: each
// column gives the row its next value from its current page, and
// flowrecord reads the typed values straight from the pages
// (Parser.ReadColumns). It holds one page of each column, whatever the
// row group's size.
func (d *objectDecoder) decodeRowGroup(rows int64, p *flowrecord.Parser) error {
	for left := rows; left > 0; {
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

// closePages lets go of the object the columns read.
func (d *objectDecoder) closePages() {
	for _, pr := range d.readers {
		pr.release()
	}
	d.trimBuffers()
}

// trimBuffers drops the buffers every column keeps from page to page and
// object to object when together they hold more than maxHeldPageBytes:
// a row group's pages are bounded, but each column's buffers grow to its
// largest page, and one column's largest may be in one row group or
// object and another's in the next.
func (d *objectDecoder) trimBuffers() {
	cols := d.cols[:cap(d.cols)]
	var kept int64
	for i := range cols {
		kept += cols[i].kept()
	}
	for _, pr := range d.readers {
		kept += int64(cap(pr.raw) + cap(pr.inflated))
	}
	if kept <= maxHeldPageBytes {
		return
	}
	for i := range cols {
		c := &cols[i]
		c.levels, c.index, c.vals, c.dict = nil, nil, pageVals{}, pageVals{}
	}
	for _, pr := range d.readers {
		pr.raw, pr.inflated, pr.values, pr.levels = nil, nil, nil, nil
	}
	clear(d.fcols[:cap(d.fcols)]) // the pages they pointed at
}

// disjointChunks refuses column chunks that share bytes: a sound writer
// writes each once, and row groups pointing at the same chunk would have
// its pages read (and inflated) once for each.
func disjointChunks(rgs []format.RowGroup, size int64) error {
	type span struct{ start, end int64 }
	var spans []span
	for _, rg := range rgs {
		for _, c := range rg.Columns {
			start, err := chunkStart(c.MetaData, size)
			if err != nil {
				return err
			}
			spans = append(spans, span{start, start + c.MetaData.TotalCompressedSize})
		}
	}
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.start, b.start) })
	for i := 1; i < len(spans); i++ {
		if spans[i].start < spans[i-1].end {
			return fmt.Errorf("column chunks at %d and %d share bytes", spans[i-1].start, spans[i].start)
		}
	}
	return nil
}
