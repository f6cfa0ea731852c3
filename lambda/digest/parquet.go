package digest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unsafe"

	"github.com/parquet-go/parquet-go"

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
)

// Bounds on what an object may ask of the decoder: the objects are written
// by whoever can write the bucket, and a Parquet footer states sizes that
// the reader would otherwise allocate.
const (
	// parquetBatch is how many rows are decoded, column by column, before
	// they are rendered as records.
	parquetBatch = 1024
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

// objectDecoder decodes objects into one lineReader: Parquet column-wise,
// a row group at a time and parquetBatch rows at a time within it; gzip
// text line by line. Each row becomes a line of the object's own format,
// parsed and validated by the same parser as a CloudWatch Logs event, so
// both sources count, bound and escape records alike. Not safe for
// concurrent use; a slice has its own.
type objectDecoder struct {
	lr      *lineReader
	body    bytes.Buffer // the object being read, when held in memory
	line    []byte
	parsers map[string]*flowrecord.Parser // by format
	br      *bufio.Reader
	zr      *gzip.Reader

	// Per column of the Parquet object being read: its field, its pages,
	// the page being read and the batch's values.
	cols []parquetColumn
}

type parquetColumn struct {
	field flowrecord.Field
	pages parquet.Pages
	page  parquet.Page
	vr    parquet.ValueReader // page's values, from where the last batch stopped
	vals  []parquet.Value
	done  []parquet.Page // pages whose values the batch still points into
}

func newObjectDecoder(lr *lineReader) *objectDecoder {
	return &objectDecoder{lr: lr, parsers: map[string]*flowrecord.Parser{}}
}

func (d *objectDecoder) close() { d.releasePages() }

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
		d.cols = append(d.cols, parquetColumn{field: fd})
	}
	return d.parser(fields)
}

// decodeRowGroup decodes a row group parquetBatch rows at a time: each
// column's values of the batch, then the batch's rows as records. It holds
// one page of each column and the batch's values, whatever the row group's
// size.
func (d *objectDecoder) decodeRowGroup(rg parquet.RowGroup, p *flowrecord.Parser) error {
	chunks := rg.ColumnChunks()
	if len(chunks) != len(d.cols) {
		return fmt.Errorf("%d column chunks for %d columns", len(chunks), len(d.cols))
	}
	for i := range d.cols {
		d.cols[i].pages = chunks[i].Pages()
	}
	defer d.closePages()
	for left := rg.NumRows(); left > 0; {
		n := int(min(left, parquetBatch))
		for i := range d.cols {
			if err := d.cols[i].read(n); err != nil {
				return fmt.Errorf("column %s: %w", d.cols[i].field, err)
			}
		}
		for row := range n {
			d.addRow(p, row)
		}
		d.releasePages()
		left -= int64(n)
	}
	return nil
}

// read fills vals with the column's next n values, across pages.
func (c *parquetColumn) read(n int) error {
	if cap(c.vals) < n {
		c.vals = make([]parquet.Value, n)
	}
	c.vals = c.vals[:n]
	for got := 0; got < n; {
		if c.page == nil {
			pg, err := c.pages.ReadPage()
			if err != nil {
				if errors.Is(err, io.EOF) {
					return fmt.Errorf("%d values short of the row group", n-got)
				}
				return err
			}
			c.page, c.vr = pg, pg.Values()
			c.done = append(c.done, pg)
		}
		k, err := c.vr.ReadValues(c.vals[got:])
		got += k
		if errors.Is(err, io.EOF) || (err == nil && k == 0) {
			c.page, c.vr = nil, nil
			continue
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// addRow renders row as a line of the object's format and counts it. A
// string value that is empty or holds a space or a control character
// would shift the fields of the line: such a row is malformed.
func (d *objectDecoder) addRow(p *flowrecord.Parser, row int) {
	b := d.line[:0]
	clean := true
	for i := range d.cols {
		if i > 0 {
			b = append(b, ' ')
		}
		v := d.cols[i].vals[row]
		switch v.Kind() {
		case parquet.Int32:
			b = strconv.AppendInt(b, int64(v.Int32()), 10)
		case parquet.Int64:
			b = strconv.AppendInt(b, v.Int64(), 10)
		case parquet.ByteArray:
			s := v.ByteArray()
			if len(s) == 0 || bytes.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
				clean = false
			}
			b = append(b, s...)
		default: // null, or a type no flow log column has
			if !v.IsNull() {
				clean = false
			}
			b = append(b, '-')
		}
	}
	d.line = b
	line := unsafe.String(unsafe.SliceData(b), len(b))
	if !clean {
		d.lr.t.Events++
		d.lr.agg.AddMalformed(line, errors.New("a Parquet value that is empty, holds a space or a control character, or has no flow log type"))
		return
	}
	d.lr.addWith(p, line)
}

// releasePages returns the pages the batch's values pointed into, except
// each column's current page.
func (d *objectDecoder) releasePages() {
	for i := range d.cols {
		c := &d.cols[i]
		for _, pg := range c.done {
			if pg != c.page {
				parquet.Release(pg)
			}
		}
		c.done = c.done[:0]
		if c.page != nil {
			c.done = append(c.done, c.page)
		}
	}
}

func (d *objectDecoder) closePages() {
	for i := range d.cols {
		c := &d.cols[i]
		for _, pg := range c.done {
			parquet.Release(pg)
		}
		c.done, c.page, c.vr = c.done[:0], nil, nil
		if c.pages != nil {
			_ = c.pages.Close()
			c.pages = nil
		}
	}
}
