package flowrecord_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord/flowrecordtest"
)

// TestReadColumnsAllocs proves that reading rows straight from column
// pages allocates nothing per record: generated rows of every v11 field as
// one page a column, the INT columns as ints ("-" as null), every other
// string column through a dictionary read once and the rest as plain byte
// arrays, read and counted twice over.
func TestReadColumnsAllocs(t *testing.T) {
	g := flowrecordtest.NewGenerator(flowrecordtest.Config{Seed: 16, Records: 2_000, Format: flowrecord.MustFormat(t, flowrecord.AllV11Format)})
	fields := g.Format().Fields()
	cols := make([]flowrecord.Column, len(fields))
	dicts := make([]flowrecord.Dict, len(fields))
	index := make([]map[string]int32, len(fields))
	for i, f := range fields {
		c := &cols[i]
		c.MaxDef = 1
		_, kind := flowrecordtest.ParquetColumn(f)
		switch {
		case kind.String() != "BYTE_ARRAY":
			c.Kind = flowrecord.ColumnInt64
		case i%2 == 0:
			c.Indexed, c.Dict = true, &dicts[i]
			dicts[i].Reset(f)
			index[i] = map[string]int32{}
		default:
			c.Kind, c.Offs = flowrecord.ColumnBytes, []uint32{0}
		}
	}
	rows := 0
	for ; g.Next(); rows++ {
		for i, tok := range strings.Split(g.Line(), " ") {
			c := &cols[i]
			c.Rows++
			if tok == "-" && c.Kind == flowrecord.ColumnInt64 {
				c.Defs = append(c.Defs, 0)
				continue
			}
			c.Defs = append(c.Defs, 1)
			c.Values++
			switch {
			case c.Kind == flowrecord.ColumnInt64:
				v, err := strconv.ParseInt(tok, 10, 64)
				if err != nil {
					t.Fatalf("%s: %q is no int", fields[i], tok)
				}
				c.Int64 = append(c.Int64, v)
			case c.Indexed:
				if _, ok := index[i][tok]; !ok {
					index[i][tok] = int32(dicts[i].Len())
					dicts[i].Add([]byte(tok))
				}
				c.Index = append(c.Index, index[i][tok])
			default:
				c.Data = append(c.Data, tok...)
				c.Offs = append(c.Offs, uint32(len(c.Data)))
			}
		}
	}
	for i := range cols {
		cols[i].DictLen = dicts[i].Len()
	}
	start := func() {
		for i := range cols {
			if err := cols[i].Start(); err != nil {
				t.Fatalf("%s: %v", fields[i], err)
			}
		}
	}
	p := flowrecord.NewParser(g.Format())
	a := flowrecord.NewAggregator(flowrecord.Options{})
	var w flowrecord.Row
	start()
	for range rows { // see every key once
		a.AddColumns(p, cols, &w)
	}
	start()
	// AllocsPerRun runs once more than asked, to warm up.
	allocs := testing.AllocsPerRun(rows-1, func() { a.AddColumns(p, cols, &w) })
	if allocs != 0 {
		t.Errorf("%.2f allocations a row, want 0", allocs)
	}
	if cols[0].Left() != 0 {
		t.Errorf("%d rows left unread", cols[0].Left())
	}
	if s := a.Summary(); s.Malformed.Count != 0 || s.Totals.Records != uint64(2*rows) {
		t.Errorf("%d records and %d malformed (%v), want %d records", s.Totals.Records, s.Malformed.Count, s.Malformed.Samples, 2*rows)
	}
}
