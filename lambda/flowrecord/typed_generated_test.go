package flowrecord_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord/flowrecordtest"
)

// rowOfLine fills w with line's values as AWS's Parquet files type them
// (flowrecordtest.ParquetColumn): ints in the INT columns where the token
// is an integer, "-" as null, strings otherwise.
func rowOfLine(w *flowrecord.Row, f *flowrecord.Format, line string) {
	w.Reset()
	fields := f.Fields()
	for i, tok := range strings.Split(line, " ") {
		intCol := false
		if i < len(fields) {
			_, kind := flowrecordtest.ParquetColumn(fields[i])
			intCol = kind.String() != "BYTE_ARRAY"
		}
		v, err := strconv.ParseInt(tok, 10, 64)
		switch {
		case tok == "-":
			w.Null()
		case intCol && err == nil:
			w.Int(v)
		default:
			w.Bytes([]byte(tok))
		}
	}
}

// TestRowMatchesText proves on generated records, malformed ones included,
// that the typed path (Aggregator.AddRow) and the text path (AddLine over
// the same records' lines) give identical Summaries: totals, top lists,
// detectors, malformed counts and samples.
func TestRowMatchesText(t *testing.T) {
	tests := []struct {
		name   string
		config flowrecordtest.Config
	}{
		{"default format", flowrecordtest.Config{Seed: 11, Records: 60_000, MalformedShare: 0.01}},
		{"v5 custom format", flowrecordtest.Config{Seed: 12, Records: 60_000, Interfaces: 40, Format: flowrecord.MustFormat(t, flowrecord.WideV5Format), IPv6Share: 0.5, MalformedShare: 0.01}},
		{"every v11 field", flowrecordtest.Config{Seed: 13, Records: 60_000, Format: flowrecord.MustFormat(t, flowrecord.AllV11Format), SkipDataShare: 0.05, MalformedShare: 0.02}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := flowrecordtest.NewGenerator(tt.config)
			p := flowrecord.NewParser(g.Format())
			opts := flowrecord.Options{TopK: 10, MalformedSamples: 50}
			text, typed := flowrecord.NewAggregator(opts), flowrecord.NewAggregator(opts)
			var w flowrecord.Row
			for g.Next() {
				line := g.Line()
				rowOfLine(&w, g.Format(), line)
				// A Parquet file holds the row, not the line: the text path
				// reads the row's text form, which is the line itself for
				// every well-formed record.
				text.AddLine(p, w.Line())
				typed.AddRow(p, &w)
			}
			got, want := typed.Summary(), text.Summary()
			if want.Totals.Records == 0 || want.Malformed.Count == 0 {
				t.Fatalf("%d records, %d malformed: nothing to compare", want.Totals.Records, want.Malformed.Count)
			}
			flowrecord.DiffSummaries(t, got, want)
		})
	}
}

// TestParseRowAllocs proves the typed path allocates nothing per record:
// generated rows of every v11 field, parsed and counted.
func TestParseRowAllocs(t *testing.T) {
	g := flowrecordtest.NewGenerator(flowrecordtest.Config{Seed: 14, Records: 2_000, Format: flowrecord.MustFormat(t, flowrecord.AllV11Format)})
	p := flowrecord.NewParser(g.Format())
	var rows []*flowrecord.Row
	for g.Next() {
		w := &flowrecord.Row{}
		rowOfLine(w, g.Format(), g.Line())
		rows = append(rows, w)
	}
	a := flowrecord.NewAggregator(flowrecord.Options{})
	for _, w := range rows { // see every key once
		a.AddRow(p, w)
	}
	i := 0
	allocs := testing.AllocsPerRun(len(rows), func() {
		a.AddRow(p, rows[i%len(rows)])
		i++
	})
	if allocs != 0 {
		t.Errorf("%.2f allocations a row, want 0", allocs)
	}
	if s := a.Summary(); s.Malformed.Count != 0 {
		t.Errorf("%d generated rows malformed: %v", s.Malformed.Count, s.Malformed.Samples)
	}
}

// TestParseRowDictAllocs proves the typed path allocates nothing per record
// when string values come from dictionaries read once (Row.Dict), as a
// dictionary-encoded Parquet column gives them: generated rows of every
// v11 field, each string column's values in a Dict of its field.
func TestParseRowDictAllocs(t *testing.T) {
	g := flowrecordtest.NewGenerator(flowrecordtest.Config{Seed: 15, Records: 2_000, Format: flowrecord.MustFormat(t, flowrecord.AllV11Format)})
	fields := g.Format().Fields()
	dicts := make([]flowrecord.Dict, len(fields))
	index := make([]map[string]int, len(fields))
	for i, f := range fields {
		dicts[i].Reset(f)
		index[i] = map[string]int{}
	}
	// value is one value of a row: an int, or an index into its column's
	// Dict; worked out beforehand, so that the loop timed allocates only
	// what the typed path does.
	type value struct {
		isInt bool
		v     int64
	}
	var rows [][]value
	for g.Next() {
		var row []value
		for i, tok := range strings.Split(g.Line(), " ") {
			_, kind := flowrecordtest.ParquetColumn(fields[i])
			if v, err := strconv.ParseInt(tok, 10, 64); kind.String() != "BYTE_ARRAY" && err == nil {
				row = append(row, value{isInt: true, v: v})
				continue
			}
			if _, ok := index[i][tok]; !ok {
				index[i][tok] = dicts[i].Len()
				dicts[i].Add([]byte(tok))
			}
			row = append(row, value{v: int64(index[i][tok])})
		}
		rows = append(rows, row)
	}
	var w flowrecord.Row
	fill := func(row []value) {
		w.Reset()
		for i, v := range row {
			if v.isInt {
				w.Int(v.v)
			} else {
				w.Dict(&dicts[i], int(v.v))
			}
		}
	}
	p := flowrecord.NewParser(g.Format())
	a := flowrecord.NewAggregator(flowrecord.Options{})
	for _, row := range rows { // see every key once
		fill(row)
		a.AddRow(p, &w)
	}
	i := 0
	allocs := testing.AllocsPerRun(len(rows), func() {
		fill(rows[i%len(rows)])
		a.AddRow(p, &w)
		i++
	})
	if allocs != 0 {
		t.Errorf("%.2f allocations a row, want 0", allocs)
	}
	// AllocsPerRun runs once more than asked, to warm up.
	if s := a.Summary(); s.Malformed.Count != 0 || s.Totals.Records != uint64(2*len(rows)+1) {
		t.Errorf("%d records and %d malformed (%v), want %d records", s.Totals.Records, s.Malformed.Count, s.Malformed.Samples, 2*len(rows)+1)
	}
}
