package flowrecord

import (
	"fmt"
	"strings"
	"testing"
)

// Ways a columnar file can hold one row's values in its pages.
const (
	colsPlain      = iota // plain pages: ints as INT64 or INT32, strings as byte arrays
	colsDictionary        // every value through a dictionary, strings read once where the row has a Dict
	colsBytesDict         // every value through a dictionary whose strings were not read once
	colsLayouts
)

// columnsOfRow turns row into one-row column pages holding the same values
// the way layout says, with each dictionary holding another value first so
// that an index is not a position.
func columnsOfRow(row *Row, layout int) []Column {
	cols := make([]Column, len(row.vals))
	for i, v := range row.vals {
		c := &cols[i]
		c.Rows, c.Values = 1, 1
		var tok []byte
		switch v.kind {
		case rowNull:
			c.Defs, c.MaxDef, c.Values, c.Kind = []byte{0}, 1, 0, ColumnBytes
			continue
		case rowInt:
			if int64(int32(v.v)) == v.v && i%2 == 0 {
				c.Kind, c.Int32 = ColumnInt32, []int32{int32(v.v) ^ 1, int32(v.v)}
			} else {
				c.Kind, c.Int64 = ColumnInt64, []int64{v.v ^ 1, v.v}
			}
		case rowBad:
			c.Kind = ColumnUntyped
			continue
		default: // rowBytes, rowDict
			tok = row.token(i)
			c.Kind, c.Data, c.Offs = ColumnBytes, append([]byte("x"), tok...), []uint32{0, 1, uint32(1 + len(tok))}
		}
		if v.kind == rowDict || layout != colsPlain {
			c.Indexed, c.Index, c.DictLen = true, []int32{1}, 2
			if v.kind == rowDict && layout == colsDictionary {
				d := &Dict{}
				d.Reset(row.dict[v.v].field)
				d.Add([]byte("x"))
				d.Add(tok)
				c.Dict = d
			}
			continue
		}
		// A plain page: the value alone.
		switch c.Kind {
		case ColumnInt32:
			c.Int32 = c.Int32[1:]
		case ColumnInt64:
			c.Int64 = c.Int64[1:]
		case ColumnBytes:
			c.Data, c.Offs = tok, []uint32{0, uint32(len(tok))}
		}
	}
	return cols
}

// checkColumnsAgainstRow fails t unless ReadColumns reads row's values
// from column pages, in every layout, as ParseRow reads row: the same
// error and the same row text for the malformed sample, or the same
// Record, typed fields and raw values alike.
func checkColumnsAgainstRow(t *testing.T, p *Parser, row *Row) {
	t.Helper()
	var want Record
	wantErr := p.ParseRow(row, &want)
	wantLine := strings.Clone(row.Line())
	for layout := range colsLayouts {
		cols := columnsOfRow(row, layout)
		for i := range cols {
			if err := cols[i].Start(); err != nil {
				t.Fatalf("layout %d column %d: %v", layout, i, err)
			}
		}
		var got Record
		var crow Row
		gotErr := p.ReadColumns(cols, &crow, &got)
		if (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
			t.Fatalf("layout %d, row %q: ReadColumns error %v, ParseRow error %v", layout, wantLine, gotErr, wantErr)
		}
		for i := range cols {
			if cols[i].Left() != 0 {
				t.Fatalf("layout %d: column %d has %d rows left after its one row", layout, i, cols[i].Left())
			}
		}
		if gotErr != nil {
			if l := crow.Line(); l != wantLine {
				t.Fatalf("layout %d: malformed row's text %q, want %q", layout, l, wantLine)
			}
			continue
		}
		checkSameRecord(t, p, &got, &want, fmt.Sprintf("layout %d, row %q, ParseRow's", layout, wantLine))
	}
}

// TestReadColumnsPages proves ReadColumns over pages of several rows: the
// nulls a page's definition levels give, each column's own cursor, and the
// values a hostile page holds where its description says otherwise
// (indexes and offsets out of range, more rows not null than values, a
// type no flow log column has), each refused as ParseRow refuses the Row of
// the same values.
func TestReadColumnsPages(t *testing.T) {
	p := NewParser(mustFormat(t, "${srcport} ${srcaddr} ${action} ${vpc-id}"))
	actions := &Dict{}
	actions.Reset(FieldAction)
	for _, v := range []string{"ACCEPT", "REJECT", "-", "accept", "a\tb"} {
		actions.Add([]byte(v))
	}
	vpc := []byte("vpc-0123456789abcdef0vpc-1")
	cols := []Column{
		{Rows: 6, Defs: []byte{1, 0, 1, 1, 1, 1}, MaxDef: 1, Values: 5, Kind: ColumnInt32, Int32: []int32{443, 22, -1, 70000, 8}},
		{Rows: 6, Values: 6, Kind: ColumnBytes, Indexed: true, DictLen: 3, Index: []int32{0, 1, 2, 0, 3, 0},
			Data: []byte("10.0.0.1-2001:db8::1"), Offs: []uint32{0, 8, 9, 20}},
		{Rows: 6, Values: 6, Indexed: true, DictLen: 5, Dict: actions, Index: []int32{0, 1, 2, 3, 4, -1}},
		{Rows: 6, Defs: []byte{1, 1, 1, 0, 1, 1}, MaxDef: 1, Values: 4, Kind: ColumnBytes, Data: vpc, Offs: []uint32{0, 21, 26, 21, 40}},
	}
	want := []struct {
		ok    bool
		text  string // the row's text form, for a malformed row
		vpcID string
	}{
		{true, "", "vpc-0123456789abcdef0"},
		{false, "- - REJECT vpc-1", ""},     // vpc-1 is no VPC id
		{false, "22 2001:db8::1 - -", ""},   // offsets backwards: untyped
		{false, "-1 10.0.0.1 accept -", ""}, // negative port
		{false, "70000 - a\tb -", ""},       // unprintable action
		{false, "8 10.0.0.1 - -", ""},       // index out of range; vpc-id: no value left
	}
	for i := range cols {
		if err := cols[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	var row Row
	var r Record
	for i, w := range want {
		err := p.ReadColumns(cols, &row, &r)
		if (err == nil) != w.ok {
			t.Fatalf("row %d: error %v, want ok=%v", i, err, w.ok)
		}
		if err != nil {
			if got := row.Line(); got != w.text {
				t.Fatalf("row %d: text %q, want %q", i, got, w.text)
			}
			continue
		}
		if r.SrcPort != 443 || r.SrcAddr.String() != "10.0.0.1" || r.Action != ActionAccept || r.VPCID != w.vpcID {
			t.Fatalf("row %d: %+v", i, r)
		}
	}
	for i := range cols {
		if cols[i].Left() != 0 {
			t.Fatalf("column %d: %d rows left", i, cols[i].Left())
		}
	}
}

// TestColumnStartRefusesShortPages proves that a page whose buffers hold
// fewer values than its description says is refused before any row is
// read from it.
func TestColumnStartRefusesShortPages(t *testing.T) {
	for name, c := range map[string]Column{
		"no rows":               {Rows: 0, Kind: ColumnInt32},
		"levels short":          {Rows: 2, Values: 2, Defs: []byte{1}, MaxDef: 1, Kind: ColumnInt32, Int32: []int32{1, 2}},
		"ints short":            {Rows: 2, Values: 2, Kind: ColumnInt32, Int32: []int32{1}},
		"int64s short":          {Rows: 2, Values: 2, Kind: ColumnInt64, Int64: []int64{1}},
		"offsets short":         {Rows: 2, Values: 2, Kind: ColumnBytes, Data: []byte("ab"), Offs: []uint32{0, 1}},
		"indexes short":         {Rows: 2, Values: 2, Indexed: true, DictLen: 1, Index: []int32{0}, Kind: ColumnInt32, Int32: []int32{1}},
		"dictionary short":      {Rows: 1, Values: 1, Indexed: true, DictLen: 2, Index: []int32{0}, Kind: ColumnInt32, Int32: []int32{1}},
		"more values than rows": {Rows: 1, Values: 2, Kind: ColumnInt32, Int32: []int32{1, 2}},
	} {
		if err := c.Start(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestReadColumnsLeavesNoOtherRowsToken proves that a field a row lacks
// (null in its page, "-", or a dictionary's null) holds no token of an
// earlier row read into the same Row, whose memory may since be reused.
func TestReadColumnsLeavesNoOtherRowsToken(t *testing.T) {
	p := NewParser(mustFormat(t, "${srcaddr} ${vpc-id} ${action}"))
	actions := &Dict{}
	actions.Reset(FieldAction)
	for _, v := range []string{"ACCEPT", "-"} {
		actions.Add([]byte(v))
	}
	vpc := []byte("vpc-0123456789abcdef0-")
	cols := []Column{
		{Rows: 3, Values: 3, Kind: ColumnBytes, Data: []byte("10.0.0.110.0.0.210.0.0.3"), Offs: []uint32{0, 8, 16, 24}},
		{Rows: 3, Defs: []byte{1, 0, 1}, MaxDef: 1, Values: 2, Kind: ColumnBytes, Data: vpc, Offs: []uint32{0, 21, 22}},
		{Rows: 3, Values: 3, Indexed: true, DictLen: 2, Dict: actions, Index: []int32{0, 1, 1}},
	}
	for i := range cols {
		if err := cols[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	var row Row
	var r Record
	for i, want := range []string{"vpc-0123456789abcdef0", "", ""} {
		if err := p.ReadColumns(cols, &row, &r); err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
		if got := r.token(1); got != want {
			t.Errorf("row %d: vpc-id token %q, want %q", i, got, want)
		}
		if want == "" && i > 0 {
			if got := r.token(2); got != "" {
				t.Errorf("row %d: action token %q, want none", i, got)
			}
		}
	}
}
