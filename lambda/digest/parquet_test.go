package digest

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord/flowrecordtest"
)

// parquetVariant is a way a writer may lay out AWS's columns: the decoder
// reads page buffers directly, so each layout it may meet is tested.
type parquetVariant struct {
	dictionary   bool // strings (and ints) dictionary-encoded
	required     bool // columns REQUIRED where the record has every value
	pageBytes    int  // small pages: rows cross page boundaries
	groupRows    int64
	uncompressed bool // pages not compressed (AWS gzips every page)
}

// writeVariantParquet writes lines of format f as one Parquet object laid
// out as v says, with AWS's column names and types
// (flowrecordtest.ParquetColumn). parquet.Group orders the columns by
// name, not as the format does: the decoder takes any order.
func writeVariantParquet(t testing.TB, f *flowrecord.Format, lines []string, v parquetVariant) []byte {
	t.Helper()
	g := parquet.Group{}
	for _, fd := range f.Fields() {
		name, kind := flowrecordtest.ParquetColumn(fd)
		var leaf parquet.Node
		switch kind {
		case parquet.Int32:
			leaf = parquet.Int(32)
		case parquet.Int64:
			leaf = parquet.Int(64)
		default:
			leaf = parquet.String()
		}
		if v.dictionary {
			leaf = parquet.Encoded(leaf, &parquet.RLEDictionary)
		}
		if !v.required {
			leaf = parquet.Optional(leaf)
		}
		if v.uncompressed {
			g[name] = leaf
			continue
		}
		g[name] = parquet.Compressed(leaf, &parquet.Gzip)
	}
	schema := parquet.NewSchema("schema", g)
	opts := []parquet.WriterOption{schema, parquet.MaxRowsPerRowGroup(v.groupRows)}
	if v.pageBytes > 0 {
		opts = append(opts, parquet.PageBufferSize(v.pageBytes))
	}
	var buf bytes.Buffer
	w := parquet.NewWriter(&buf, opts...)
	cols := schema.Fields()
	for _, line := range lines {
		toks := map[string]string{}
		for i, tok := range strings.Split(line, " ") {
			name, _ := flowrecordtest.ParquetColumn(f.Fields()[i])
			toks[name] = tok
		}
		row := make(parquet.Row, len(cols))
		for i, c := range cols {
			row[i] = variantValue(t, c, toks[c.Name()], v.required)
			row[i] = row[i].Level(0, boolInt(!row[i].IsNull() && !v.required), i)
		}
		if _, err := w.WriteRows([]parquet.Row{row}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func variantValue(t testing.TB, c parquet.Field, tok string, required bool) parquet.Value {
	if tok == "-" {
		if required {
			t.Fatalf("column %s: a null in a required column", c.Name())
		}
		return parquet.NullValue()
	}
	switch c.Type().Kind() {
	case parquet.Int32, parquet.Int64:
		n, err := strconv.ParseInt(tok, 10, 64)
		if err != nil {
			t.Fatalf("column %s: %q is no integer", c.Name(), tok)
		}
		if c.Type().Kind() == parquet.Int32 {
			return parquet.Int32Value(int32(n))
		}
		return parquet.Int64Value(n)
	}
	return parquet.ByteArrayValue([]byte(tok))
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// decodeSummary decodes one object and returns what was counted.
func decodeSummary(t *testing.T, body []byte, parquetFile bool) (flowrecord.Summary, tally) {
	t.Helper()
	agg := flowrecord.NewAggregator(flowrecord.Options{TopK: 10, MalformedSamples: 20})
	d := newObjectDecoder(newLineReader(nil, agg))
	defer d.close()
	var err error
	if parquetFile {
		err = d.decodeParquet(bytesReaderAt(body), int64(len(body)))
	} else {
		err = d.decodeText(bytesReaderAt(body), int64(len(body)))
	}
	if err != nil {
		t.Fatal(err)
	}
	return agg.Summary(), d.lr.t
}

// TestParquetLayoutsMatchText proves that the typed Parquet path counts
// exactly what the gzip text path counts for the same records, whatever
// layout the writer chose: plain or dictionary-encoded pages, compressed
// or not, optional or required columns, rows crossing page and row group
// boundaries, and every v11 field.
func TestParquetLayoutsMatchText(t *testing.T) {
	v11, err := flowrecord.ParseFormat(allFieldsFormat())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		config  flowrecordtest.Config
		variant parquetVariant
	}{
		{"plain, optional", flowrecordtest.Config{Seed: 21, Records: 5_000}, parquetVariant{groupRows: 10_000}},
		{"dictionary", flowrecordtest.Config{Seed: 22, Records: 5_000, Interfaces: 30}, parquetVariant{dictionary: true, groupRows: 10_000}},
		{"small pages and row groups", flowrecordtest.Config{Seed: 23, Records: 5_000, IPv6Share: 0.5}, parquetVariant{pageBytes: 2048, groupRows: 777}},
		{"dictionary, small pages", flowrecordtest.Config{Seed: 24, Records: 5_000}, parquetVariant{dictionary: true, pageBytes: 1024, groupRows: 1_000}},
		{"required columns", flowrecordtest.Config{Seed: 25, Records: 5_000, NoDataShare: -1, SkipDataShare: -1}, parquetVariant{required: true, groupRows: 10_000}},
		{"every v11 field", flowrecordtest.Config{Seed: 26, Records: 3_000, Format: v11, SkipDataShare: 0.05}, parquetVariant{dictionary: true, pageBytes: 4096, groupRows: 1_000}},
		{"pages not compressed", flowrecordtest.Config{Seed: 27, Records: 3_000}, parquetVariant{pageBytes: 4096, groupRows: 1_000, uncompressed: true}},
		{"dictionary, pages not compressed", flowrecordtest.Config{Seed: 28, Records: 3_000}, parquetVariant{dictionary: true, groupRows: 10_000, uncompressed: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := flowrecordtest.NewGenerator(tt.config)
			var lines []string
			for g.Next() {
				lines = append(lines, g.Line())
			}
			var text bytes.Buffer
			if err := flowrecordtest.WriteObject(&text, flowrecordtest.FileFormatPlainText, g.Format(), lines, 0); err != nil {
				t.Fatal(err)
			}
			want, wantT := decodeSummary(t, text.Bytes(), false)
			got, gotT := decodeSummary(t, writeVariantParquet(t, g.Format(), lines, tt.variant), true)
			if want.Totals.Records != uint64(len(lines)) {
				t.Fatalf("the text path counted %d records of %d", want.Totals.Records, len(lines))
			}
			if gotT.Events != wantT.Events || gotT.AcceptedBytes != wantT.AcceptedBytes || gotT.RejectedBytes != wantT.RejectedBytes {
				t.Errorf("tally %+v, want %+v", gotT, wantT)
			}
			diffSummaries(t, got, want)
		})
	}
}

// allFieldsFormat is the format of every field of the catalogue.
func allFieldsFormat() string {
	var b strings.Builder
	for i, f := range flowrecord.AllFields() {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("${" + f.Name() + "}")
	}
	return b.String()
}

// diffSummaries fails t at the first JSON line where got and want differ.
func diffSummaries(t *testing.T, got, want flowrecord.Summary) {
	t.Helper()
	if reflect.DeepEqual(got, want) {
		return
	}
	g, _ := json.MarshalIndent(got, "", " ")
	w, _ := json.MarshalIndent(want, "", " ")
	gl, wl := strings.Split(string(g), "\n"), strings.Split(string(w), "\n")
	for i := range min(len(gl), len(wl)) {
		if gl[i] != wl[i] {
			t.Fatalf("summaries differ at JSON line %d:\n got: %s\nwant: %s", i+1, gl[i], wl[i])
		}
	}
	t.Fatalf("summaries differ: %d JSON lines, want %d", len(gl), len(wl))
}

// hostileColumn is one column of a one-row object whose writer chose the
// column's type.
type hostileColumn struct {
	name string
	node parquet.Node
	v    parquet.Value
}

// oneRowParquet writes one row of optional, gzip columns.
func oneRowParquet(t testing.TB, cols []hostileColumn) []byte {
	t.Helper()
	g := parquet.Group{}
	byName := map[string]parquet.Value{}
	for _, c := range cols {
		g[c.name] = parquet.Compressed(parquet.Optional(c.node), &parquet.Gzip)
		byName[c.name] = c.v
	}
	schema := parquet.NewSchema("schema", g)
	row := make(parquet.Row, 0, len(cols))
	for i, f := range schema.Fields() {
		v := byName[f.Name()]
		row = append(row, v.Level(0, boolInt(!v.IsNull()), i))
	}
	return writeParquetRows(t, []parquet.Row{row}, schema)
}

// writeParquetRows writes rows as one Parquet object, with a writer of
// opts (the schema among them).
func writeParquetRows(t testing.TB, rows []parquet.Row, opts ...parquet.WriterOption) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := parquet.NewWriter(&buf, opts...)
	if _, err := w.WriteRows(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestParquetHostileColumnTypes proves that a value in a column of an
// unexpected type counts as its text form would: a 12-digit INT64 account
// or a "443" string port is a record, as in a text line; a negative port,
// an 11-digit account, an INT32 action or a DOUBLE byte count is
// malformed, with the field named.
func TestParquetHostileColumnTypes(t *testing.T) {
	str := func(s string) parquet.Value { return parquet.ByteArrayValue([]byte(s)) }
	base := func() map[string]hostileColumn {
		return map[string]hostileColumn{
			"account_id": {"account_id", parquet.String(), str("123456789012")},
			"srcport":    {"srcport", parquet.Int(32), parquet.Int32Value(443)},
			"bytes":      {"bytes", parquet.Int(64), parquet.Int64Value(40)},
			"action":     {"action", parquet.String(), str("ACCEPT")},
		}
	}
	tests := []struct {
		name      string
		col       hostileColumn
		malformed string // "" for a record; else what the error names
	}{
		{"as AWS writes it", hostileColumn{}, ""},
		{"account as a 12-digit INT64", hostileColumn{"account_id", parquet.Int(64), parquet.Int64Value(123456789012)}, ""},
		{"account as an 11-digit INT64", hostileColumn{"account_id", parquet.Int(64), parquet.Int64Value(12345678901)}, "account-id"},
		{"port as a string", hostileColumn{"srcport", parquet.String(), str("443")}, ""},
		{"port as a string that is no number", hostileColumn{"srcport", parquet.String(), str("44x3")}, "srcport"},
		{"negative port", hostileColumn{"srcport", parquet.Int(32), parquet.Int32Value(-1)}, "srcport"},
		{"port out of range", hostileColumn{"srcport", parquet.Int(32), parquet.Int32Value(70000)}, "srcport"},
		{"action as INT32", hostileColumn{"action", parquet.Int(32), parquet.Int32Value(1)}, "action"},
		{"bytes as DOUBLE", hostileColumn{"bytes", parquet.Leaf(parquet.DoubleType), parquet.DoubleValue(40)}, "bytes"},
		{"null action", hostileColumn{"action", parquet.String(), parquet.NullValue()}, ""},
		{"action with a control character", hostileColumn{"action", parquet.String(), str("ACC\x00EPT")}, "action"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cols := base()
			if tt.col.name != "" {
				cols[tt.col.name] = tt.col
			}
			var list []hostileColumn
			for _, c := range cols {
				list = append(list, c)
			}
			s, tl := decodeSummary(t, oneRowParquet(t, list), true)
			if tl.Events != 1 {
				t.Fatalf("%d rows read, want 1", tl.Events)
			}
			switch {
			case tt.malformed == "" && (s.Totals.Records != 1 || s.Malformed.Count != 0):
				t.Errorf("%d records, %d malformed (%v); want the record", s.Totals.Records, s.Malformed.Count, s.Malformed.Samples)
			case tt.malformed != "" && (s.Malformed.Count != 1 || !strings.Contains(s.Malformed.Samples[0].Error, tt.malformed)):
				t.Errorf("%d malformed (%v); want one naming %s", s.Malformed.Count, s.Malformed.Samples, tt.malformed)
			}
		})
	}
}

// decodeDictSummary decodes one Parquet object twice with one decoder, as
// a slice reads its objects, and returns what the first decoding counted
// and how many dictionaries the decoder read once. It fails t if the
// decoder's dictionaries hold more than maxPreparsedBytes, besides one
// scratch buffer each (the longest value: under 512 bytes here), or if
// its account of them is wrong.
func decodeDictSummary(t *testing.T, body []byte) (flowrecord.Summary, tally, int) {
	t.Helper()
	agg := flowrecord.NewAggregator(flowrecord.Options{TopK: 10, MalformedSamples: 20})
	d := newObjectDecoder(newLineReader(nil, agg))
	defer d.close()
	var s flowrecord.Summary
	var tl tally
	for range 2 {
		if err := d.decodeParquet(bytesReaderAt(body), int64(len(body))); err != nil {
			t.Fatal(err)
		}
		if s.Totals.Records == 0 {
			s, tl = agg.Summary(), d.lr.t
		}
		held := 0
		for _, pre := range d.pre.byColumn {
			held += pre.Held()
		}
		if held != d.pre.held || held > maxPreparsedBytes+512*len(d.pre.byColumn) {
			t.Fatalf("the dictionaries hold %d bytes, the decoder counts %d, the bound is %d", held, d.pre.held, maxPreparsedBytes)
		}
	}
	return s, tl, d.pre.dicts / 2
}

// Hostile values of the default format's string fields, by the field's
// position: printable ones, which have a text form, and unprintable ones.
var (
	hostilePrintable = map[int][]string{
		1:  {"12345678901", "unknown", "-", "1234567890123"},
		2:  {"eni-1235B8CA123456789", "vpc-1235b8ca123456789", "eni-1", "-"},
		3:  {"172.031.16.139", "256.1.1.1", "::ffff:1.2.3.4", "2001:db8::1", "1.2.3"},
		4:  {"10.0.0.1.2", "fe80::1%eth0", "-", "::"},
		12: {"accept", "ACCEPTED", "-", "REJECT"},
		13: {"OKAY", "SKIPDATA", "NODATA", "SKIPDATAX", "ok"},
	}
	hostileUnprintable = map[int][]string{
		2:  {"eni-1235b8ca\t123456789", ""},
		12: {"ACC\x00EPT", "\x7f"},
		13: {"\xff\x00"},
	}
)

// hostileLines generates 4,000 records of the default format with seed,
// one row in seven given one of hostile's values (by the field's
// position), each record then given to rewrite (nil: none), and returns
// the generator (for its format) and the lines.
func hostileLines(seed int64, hostile map[int][]string, rewrite func(n int, toks []string)) (*flowrecordtest.Generator, []string) {
	g := flowrecordtest.NewGenerator(flowrecordtest.Config{Seed: seed, Records: 4_000, Interfaces: 20, NoDataShare: -1})
	var lines []string
	for n := 0; g.Next(); n++ {
		toks := strings.Split(g.Line(), " ")
		if n%7 == 3 { // one row in seven: one hostile value
			pos := []int{1, 2, 3, 4, 12, 13}[n/7%6]
			if vals := hostile[pos]; len(vals) > 0 {
				toks[pos] = vals[n/42%len(vals)]
			}
		}
		if rewrite != nil {
			rewrite(n, toks)
		}
		lines = append(lines, strings.Join(toks, " "))
	}
	return g, lines
}

// TestParquetDictionaryHostileValues proves that dictionary pages whose
// entries are hostile count exactly as the same values in plain pages
// read per row (each value checked per row, none interned): the same records, the same malformed rows
// with the same samples; and, where the values have a text form, as the
// gzip text path (the samples aside: their columns are in another order). It covers entries read once within the decoder's budget,
// and dictionaries that miss the budget and are read per row.
func TestParquetDictionaryHostileValues(t *testing.T) {
	printable, unprintable := hostilePrintable, hostileUnprintable
	tests := []struct {
		name     string
		hostile  map[int][]string
		withText bool // the values have a text form: the text path must agree too
		budget   int
		variant  parquetVariant
	}{
		{"printable, read once", printable, true, maxPreparsedBytes, parquetVariant{dictionary: true, groupRows: 10_000}},
		{"printable, read once, pages share a dictionary", printable, true, maxPreparsedBytes, parquetVariant{dictionary: true, pageBytes: 1024, groupRows: 700}},
		{"printable, over the budget", printable, true, 2 << 10, parquetVariant{dictionary: true, pageBytes: 1024, groupRows: 700}},
		{"unprintable, read once", unprintable, false, maxPreparsedBytes, parquetVariant{dictionary: true, pageBytes: 2048, groupRows: 1_000}},
		{"unprintable, none read once", unprintable, false, 0, parquetVariant{dictionary: true, groupRows: 10_000}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, lines := hostileLines(int64(40+i), tt.hostile, nil)
			plain := tt.variant
			plain.dictionary = false
			want, wantT := decodePerRow(t, writeVariantParquet(t, g.Format(), lines, plain))
			body := writeVariantParquet(t, g.Format(), lines, tt.variant)
			_, _, all := decodeDictSummary(t, body)
			old := maxPreparsedBytes
			maxPreparsedBytes = tt.budget
			defer func() { maxPreparsedBytes = old }()
			got, gotT, dicts := decodeDictSummary(t, body)
			if want.Malformed.Count == 0 || want.Totals.Records == 0 {
				t.Fatalf("%d records, %d malformed: nothing to compare", want.Totals.Records, want.Malformed.Count)
			}
			switch {
			case all == 0:
				t.Fatal("no dictionary read once with the whole budget")
			case tt.budget == 0 && dicts != 0,
				tt.budget == old && dicts != all,
				tt.budget > 0 && tt.budget < old && (dicts == 0 || dicts == all):
				t.Fatalf("%d dictionaries of %d read once with a budget of %d bytes", dicts, all, tt.budget)
			}
			if !reflect.DeepEqual(gotT, wantT) {
				t.Errorf("tally %+v, want %+v", gotT, wantT)
			}
			diffSummaries(t, got, want)
			if tt.withText {
				var text bytes.Buffer
				if err := flowrecordtest.WriteObject(&text, flowrecordtest.FileFormatPlainText, g.Format(), lines, 0); err != nil {
					t.Fatal(err)
				}
				// The variant's columns are in name order, so its samples
				// show the values in another order than the text lines.
				textS, _ := decodeSummary(t, text.Bytes(), false)
				got.Malformed.Samples, textS.Malformed.Samples = nil, nil
				diffSummaries(t, got, textS)
			}
		})
	}
}
