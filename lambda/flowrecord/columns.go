package flowrecord

import (
	"errors"
	"fmt"
	"slices"
	"unsafe"
)

// Columns: a columnar file's reader holds, for each column, the decoded
// values of its current page. Parser.ReadColumns reads a row from them
// straight into a Record, without first collecting the row's values in a
// Row: a number is range-checked and set, a dictionary value read once
// (Dict) is taken as read, a string is read by the text fast path's
// readers. Any value that this direct reading does not take at once (a
// null where the checks differ, a refused dictionary value, a string in a
// number column, an index or offset out of range, an untyped value) sends
// the row through the Row and ParseRow, which then decides and names what
// is wrong, so a row is accepted or refused exactly as ParseRow would do
// with the Row of the same values (TestReadColumnsMatchesRow).

// ColumnKind is the type of a column page's values, or of its dictionary's.
type ColumnKind uint8

// Column kinds.
const (
	ColumnUntyped ColumnKind = iota // a type no flow log column has: each value is malformed
	ColumnInt32
	ColumnInt64
	ColumnBytes
)

// Column is one column's current page. The reader sets the page's
// description (its exported fields) and calls Start; ReadColumns then
// takes one row of the page each call, until Left is 0.
type Column struct {
	// Rows is the number of rows of the page; Defs their definition
	// levels, one a row, or empty when no row is null; a row is null when
	// its level is not MaxDef. Values is the number of values (rows not
	// null), held densely in the buffers below.
	Rows   int
	Defs   []byte
	MaxDef byte
	Values int

	// Indexed pages hold an index per value (Index) into a dictionary of
	// DictLen values: Dict when its values were read once, otherwise the
	// buffers below. Kind says which buffer holds the values (the page's
	// or its dictionary's): Int32, Int64, or byte arrays, value k being
	// Data[Offs[k]:Offs[k+1]].
	Indexed bool
	Index   []int32
	DictLen int
	Dict    *Dict
	Kind    ColumnKind
	Int32   []int32
	Int64   []int64
	Data    []byte
	Offs    []uint32

	at, next int // the next row of the page, and its next value
}

// Start checks that the page's buffers hold what its description says and
// readies the page's first row: a file is anyone's to write.
func (c *Column) Start() error {
	c.at, c.next = 0, 0
	switch {
	case c.Rows <= 0 || c.Values < 0 || c.Values > c.Rows:
		return fmt.Errorf("a page of %d rows with %d values", c.Rows, c.Values)
	case len(c.Defs) != 0 && len(c.Defs) != c.Rows:
		return fmt.Errorf("a page of %d rows with %d definition levels", c.Rows, len(c.Defs))
	case c.Indexed && len(c.Index) < c.Values:
		return fmt.Errorf("a page of %d values with %d dictionary indexes", c.Values, len(c.Index))
	case c.Indexed && c.Dict != nil && c.Dict.Len() < c.DictLen:
		return errors.New("a dictionary read once holds fewer values than the page's dictionary")
	}
	if !slices.ContainsFunc(c.Defs, func(d byte) bool { return d != c.MaxDef }) {
		c.Defs = nil // no row is null: no level need be read again
	}
	n := c.Values
	if c.Indexed {
		n = c.DictLen
	}
	switch {
	case c.Indexed && c.Dict != nil:
	case c.Kind == ColumnInt32 && len(c.Int32) < n, c.Kind == ColumnInt64 && len(c.Int64) < n:
		return fmt.Errorf("%d values where %d are due", max(len(c.Int32), len(c.Int64)), n)
	case c.Kind == ColumnBytes && n > 0 && len(c.Offs) < n+1:
		return fmt.Errorf("%d values where %d are due", max(len(c.Offs)-1, 0), n)
	}
	return nil
}

// Left returns the rows of the page not yet read.
func (c *Column) Left() int { return c.Rows - c.at }

// null reports whether the page's next row is null.
func (c *Column) null() bool { return len(c.Defs) != 0 && c.Defs[c.at] != c.MaxDef }

// add adds the column's next value to w, as a Row holds it.
func (c *Column) add(w *Row) {
	if c.null() {
		c.at++
		w.Null()
		return
	}
	c.at++
	k := c.next
	c.next++
	if k >= c.Values {
		w.Bad() // more rows not null than the page's values: not from a sound writer
		return
	}
	if c.Indexed {
		i := c.Index[k]
		if i < 0 || int(i) >= c.DictLen {
			w.Bad()
			return
		}
		if c.Dict != nil {
			w.Dict(c.Dict, int(i))
			return
		}
		k = int(i)
	}
	switch c.Kind {
	case ColumnInt32:
		w.Int(int64(c.Int32[k]))
	case ColumnInt64:
		w.Int(c.Int64[k])
	case ColumnBytes:
		if b, ok := c.bytesAt(k); ok {
			w.Bytes(b)
			return
		}
		w.Bad()
	default:
		w.Bad()
	}
}

// bytesAt returns byte array value k, unless its offsets leave the buffer.
func (c *Column) bytesAt(k int) ([]byte, bool) {
	j, e := c.Offs[k], c.Offs[k+1]
	if j > e || int(e) > len(c.Data) {
		return nil, false
	}
	return c.Data[j:e], true
}

// ReadColumns reads the next row of cols, one column for each field of
// p's format in its order, each with a row left on its page, into r, as
// ParseRow would read the Row of the row's values, and returns the same
// error; row is where it collects those values when it needs them (it
// then holds the row, as for Row.Line). The Record shares row's memory
// until row's next use.
func (p *Parser) ReadColumns(cols []Column, row *Row, r *Record) error {
	if !p.readColumns(cols, row, r) {
		return p.fail.toError()
	}
	return nil
}

// readColumns is ReadColumns, the failure kept in p.fail.
func (p *Parser) readColumns(cols []Column, row *Row, r *Record) bool {
	if p.columnsFast(cols, row, r) {
		return true
	}
	row.Reset()
	for i := range cols {
		cols[i].add(row)
	}
	return p.parseRow(row, r)
}

// columnsFast reads the next row of cols straight into r and reports
// whether it could, the columns advanced only then; false means only that
// the Row and ParseRow must decide. The Record it fills is the one
// ParseRow fills from the Row of the same values, its tokens kept one a
// field in row.toks rather than as a line: a dictionary value's token is
// the Dict's copy of its bytes, never read here.
func (p *Parser) columnsFast(cols []Column, row *Row, r *Record) bool {
	fields := p.format.fields
	if len(cols) != len(fields) {
		return false
	}
	row.Reset()
	r.reset(p.format)
	if len(row.toks) < len(fields) {
		row.toks = make([]string, NumFields)
	}
	toks := row.toks[:len(fields)]
	buf := row.buf
	present := p.format.mask
	var nulls uint64 // bit i: column i's row is null
	for i, field := range fields {
		c := &cols[i]
		if c.null() {
			c.at++
			present &^= 1 << field
			nulls |= 1 << i
			toks[i] = "" // no other row's token stays behind a field it lacks
			continue
		}
		c.at++
		k := c.next
		c.next++
		if k >= c.Values {
			return rewind(cols[:i+1], nulls)
		}
		if c.Indexed {
			x := c.Index[k]
			if x < 0 || int(x) >= c.DictLen {
				return rewind(cols[:i+1], nulls)
			}
			k = int(x)
			if d := c.Dict; d != nil {
				v := &d.vals[k]
				switch v.state {
				case dictOK:
					tok := unsafe.String(unsafe.SliceData(d.buf[v.start:]), v.end-v.start)
					if v.field != field || !r.setDict(field, v, tok) {
						return rewind(cols[:i+1], nulls)
					}
					toks[i] = tok
				case dictNull:
					present &^= 1 << field
					toks[i] = ""
				default:
					return rewind(cols[:i+1], nulls)
				}
				continue
			}
		}
		switch c.Kind {
		case ColumnInt32, ColumnInt64:
			var v int64
			if c.Kind == ColumnInt32 {
				v = int64(c.Int32[k])
			} else {
				v = c.Int64[k]
			}
			kind := catalogue[field].kind
			if kind < KindInt || kind > KindProtocol || v < 0 || !r.setNumber(field, uint64(v)) {
				return rewind(cols[:i+1], nulls)
			}
		case ColumnBytes:
			b, ok := c.bytesAt(k)
			if !ok || !printable(b) {
				return rewind(cols[:i+1], nulls)
			}
			if len(b) == 1 && b[0] == '-' {
				present &^= 1 << field
				toks[i] = ""
				continue
			}
			// The readers take a token followed by a space, then padding.
			start := len(buf)
			buf = append(append(append(buf, b...), ' '), pad[:]...)
			end := start + len(b)
			if !r.rowToken(field, buf, start, end) {
				return rewind(cols[:i+1], nulls)
			}
			toks[i] = unsafe.String(unsafe.SliceData(buf[start:]), len(b))
			buf = buf[:end+1]
		default:
			return rewind(cols[:i+1], nulls)
		}
	}
	row.buf = buf
	r.present = present
	r.typed = true
	r.toks = toks
	if r.InterfaceID == "" {
		r.InterfaceID = p.interfaceID
	}
	return true
}

// rewind takes cols back over the row columnsFast read of them and
// returns false; bit i of nulls says column i's row was null.
func rewind(cols []Column, nulls uint64) bool {
	for i := range cols {
		c := &cols[i]
		c.at--
		c.next -= int(^nulls >> i & 1)
	}
	return false
}

// AddColumns reads the next row of cols with p and counts the record, or
// counts the row's text form as malformed, as AddRow does for a Row.
func (a *Aggregator) AddColumns(p *Parser, cols []Column, row *Row) {
	if !p.readColumns(cols, row, &a.rec) {
		a.malformed++
		if len(a.samples) < a.opts.MalformedSamples {
			a.samples = append(a.samples, sampleOf(row.Line(), p.fail.toError()))
		}
		return
	}
	a.Add(&a.rec)
}
