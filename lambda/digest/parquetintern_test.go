package digest

import (
	"fmt"
	"hash/maphash"
	"math/rand"
	"reflect"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding"

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord/flowrecordtest"
)

// decodePerRow decodes one Parquet object with no page interned: each
// string value checked and parsed in its row.
func decodePerRow(t *testing.T, body []byte) (flowrecord.Summary, tally) {
	t.Helper()
	old := maxInterned
	maxInterned = 0
	defer func() { maxInterned = old }()
	return decodeSummary(t, body, true)
}

// maxInternerHeld bounds what one column's interner holds: maxInterned
// values and maxInternedBytes of their bytes, each slice grown by append
// past them by at most a quarter and a size class, the hash table, and
// the Dict's scratch buffer (one value).
const maxInternerHeld = 160 << 10

// TestPlainStringsInterned proves that plain string pages read through the
// interner count exactly as the same pages read per row: the same records,
// the same malformed rows with the same samples, the same tally; for
// hostile values of every string column of the default format, for
// columns whose values pass the interner's bounds (more distinct values
// than it holds, values longer than it takes) and then are read per row,
// and for rows crossing page and row group boundaries. It also checks
// that the interner did intern (or stop) as the values warrant, and held
// no more than its bound.
func TestPlainStringsInterned(t *testing.T) {
	long := strings.Repeat("e", maxInternedLen+1)
	tests := []struct {
		name    string
		hostile map[int][]string // default format: position of the field, hostile values
		variant parquetVariant
		// stops: the columns whose interner passes a bound in the
		// object's last row group; every other string column interns.
		stops []flowrecord.Field
		// distinct: every row's source address is its own.
		distinct bool
	}{
		{"printable", hostilePrintable, parquetVariant{groupRows: 10_000}, nil, false},
		{"unprintable, small pages", hostileUnprintable, parquetVariant{pageBytes: 1024, groupRows: 700}, nil, false},
		{"values too long to intern", map[int][]string{
			2: {long, "eni-1235b8ca123456789"},
			4: {strings.Repeat("1", 300)},
		}, parquetVariant{groupRows: 1_000, pageBytes: 4096}, []flowrecord.Field{flowrecord.FieldInterfaceID, flowrecord.FieldDstAddr}, false},
		{"more distinct values than the interner holds", nil, parquetVariant{groupRows: 10_000}, []flowrecord.Field{flowrecord.FieldSrcAddr}, true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rewrite func(n int, toks []string)
			if tt.distinct {
				rewrite = func(n int, toks []string) { toks[3] = fmt.Sprintf("10.%d.%d.%d", n>>16&255, n>>8&255, n&255) }
			}
			g, lines := hostileLines(int64(60+i), tt.hostile, rewrite)
			body := writeVariantParquet(t, g.Format(), lines, tt.variant)
			want, wantT := decodePerRow(t, body)

			agg := flowrecord.NewAggregator(flowrecord.Options{TopK: 10, MalformedSamples: 20})
			d := newObjectDecoder(newLineReader(nil, agg))
			defer d.close()
			if err := d.decodeParquet(bytesReaderAt(body), int64(len(body))); err != nil {
				t.Fatal(err)
			}
			if want.Totals.Records == 0 || len(tt.stops) == 0 && want.Malformed.Count == 0 {
				t.Fatalf("%d records, %d malformed: nothing to compare", want.Totals.Records, want.Malformed.Count)
			}
			if gotT := d.lr.t; !reflect.DeepEqual(gotT, wantT) {
				t.Errorf("tally %+v, want %+v", gotT, wantT)
			}
			diffSummaries(t, agg.Summary(), want)

			nStrings := 0
			for _, c := range d.cols {
				if c.vals.kind != flowrecord.ColumnBytes {
					continue
				}
				nStrings++
				in := &c.in
				stops := contains(tt.stops, c.field)
				switch {
				case in.off != stops:
					t.Errorf("column %s: interning stopped %t, want %t (%d values interned)", c.field, in.off, stops, in.dict.Len())
				case !stops && in.dict.Len() == 0:
					t.Errorf("column %s: no value interned", c.field)
				}
				if h := in.held(); h > maxInternerHeld {
					t.Errorf("column %s: the interner holds %d bytes, more than %d", c.field, h, maxInternerHeld)
				}
			}
			if nStrings != 6 {
				t.Fatalf("%d string columns, want the default format's 6", nStrings)
			}
		})
	}
}

func contains(fields []flowrecord.Field, f flowrecord.Field) bool {
	for _, x := range fields {
		if x == f {
			return true
		}
	}
	return false
}

// TestInternerBounds fills an interner with the most a hostile page can
// give it: distinct values of the longest length it takes, until it
// stops; then checks what it holds, that each index names its value, and
// that a new chunk starts it again.
func TestInternerBounds(t *testing.T) {
	var in interner
	in.reset(flowrecord.FieldInterfaceID)
	var v pageVals
	v.offs = append(v.offs, 0)
	n := 0
	add := func(b string) {
		v.data = append(v.data, b...)
		v.offs = append(v.offs, uint32(len(v.data)))
		n++
	}
	for k := range 3 * maxInterned {
		add(fmt.Sprintf("%0*d", maxInternedLen, k))
	}
	if _, ok := in.intern(&v, n, nil); ok || !in.off {
		t.Fatalf("interned %d distinct values of %d bytes: want a stop at %d values or %d bytes", n, maxInternedLen, maxInterned, maxInternedBytes)
	}
	if h := in.held(); h > maxInternerHeld {
		t.Errorf("a full interner holds %d bytes, more than %d", h, maxInternerHeld)
	} else {
		t.Logf("a full interner holds %d bytes", h)
	}
	if got := in.dict.Len(); got != min(maxInterned, maxInternedBytes/maxInternedLen) {
		t.Errorf("%d values interned, want %d", got, min(maxInterned, maxInternedBytes/maxInternedLen))
	}
	if _, ok := in.intern(&v, 1, nil); ok {
		t.Error("a page interned after the chunk's interning stopped")
	}

	// A new chunk: values repeat, and each index names its value.
	in.reset(flowrecord.FieldInterfaceID)
	v, n = pageVals{offs: []uint32{0}}, 0
	vals := []string{"eni-a", "eni-b", "eni-a", "eni-a", "", "eni-b", "eni-c", "-", "eni-c"}
	for _, s := range vals {
		add(s)
	}
	index, ok := in.intern(&v, n, nil)
	if !ok {
		t.Fatal("a new chunk's page was not interned")
	}
	if got := in.dict.Len(); got != 5 {
		t.Errorf("%d values interned from %q, want its 5 distinct ones", got, vals)
	}
	for k, s := range vals {
		if got := string(in.dict.Value(int(index[k]))); got != s {
			t.Errorf("value %d: index %d names %q, want %q", k, index[k], got, s)
		}
	}

	// Offsets out of order are left to be refused row by row.
	v.offs[2], v.offs[3] = v.offs[3], v.offs[2]
	if _, ok := in.intern(&v, n, nil); ok {
		t.Error("a page with offsets out of order was interned")
	}
}

// decodeInternedOrNot decodes body with a decoder that first read the
// objects of prime (its columns, buffers and interners then hold their
// pages), with the interner on or every page read per row.
func decodeInternedOrNot(prime [][]byte, body []byte, perRow bool) (string, flowrecord.Summary, tally) {
	old := maxInterned
	if perRow {
		maxInterned = 0
	}
	defer func() { maxInterned = old }()
	d := newObjectDecoder(newLineReader(nil, flowrecord.NewAggregator(flowrecord.Options{TopK: 10})))
	defer d.close()
	for _, p := range prime {
		_ = d.decodeParquet(bytesReaderAt(p), int64(len(p))) // only its traces in the decoder count
	}
	agg := flowrecord.NewAggregator(flowrecord.Options{TopK: 10, MalformedSamples: 50})
	d.lr = newLineReader(nil, agg)
	err := d.decodeParquet(bytesReaderAt(body), int64(len(body)))
	return errString(err), agg.Summary(), d.lr.t
}

// checkInternedMatchesPerRow fails t unless body decodes through the
// interner as it does per row with a new decoder, also after the decoder
// read prime or body itself.
func checkInternedMatchesPerRow(t *testing.T, body, prime []byte) {
	t.Helper()
	wantErr, want, wantT := decodeInternedOrNot(nil, body, true)
	for _, pr := range [][][]byte{nil, {prime}, {body}} {
		gotErr, got, gotT := decodeInternedOrNot(pr, body, false)
		if gotErr != wantErr {
			t.Fatalf("error %q, per row %q", gotErr, wantErr)
		}
		if !reflect.DeepEqual(gotT, wantT) {
			t.Fatalf("tally %+v, per row %+v", gotT, wantT)
		}
		diffSummaries(t, got, want)
	}
}

// stringColumns writes rows of names, every column an optional string
// column encoded as enc (nil: parquet-go's default), a nil value a null.
func stringColumns(t testing.TB, names []string, rows [][]*string, enc encoding.Encoding, pageBytes int, groupRows int64) []byte {
	t.Helper()
	g := parquet.Group{}
	for _, n := range names {
		leaf := parquet.String()
		if enc != nil {
			leaf = parquet.Encoded(leaf, enc)
		}
		g[n] = parquet.Optional(leaf)
	}
	schema := parquet.NewSchema("schema", g)
	opts := []parquet.WriterOption{schema, parquet.MaxRowsPerRowGroup(groupRows)}
	if pageBytes > 0 {
		opts = append(opts, parquet.PageBufferSize(pageBytes))
	}
	at := map[string]int{}
	for j, n := range names {
		at[n] = j
	}
	fields := schema.Fields()
	var prows []parquet.Row
	for _, r := range rows {
		row := make(parquet.Row, len(fields))
		for i, f := range fields {
			v := parquet.NullValue()
			if s := r[at[f.Name()]]; s != nil {
				v = parquet.ByteArrayValue([]byte(*s))
			}
			row[i] = v.Level(0, boolInt(!v.IsNull()), i)
		}
		prows = append(prows, row)
	}
	return writeParquetRows(t, prows, opts...)
}

// TestPlainStringsInternedEveryEncoding writes every column of the
// default format as strings (numbers too: a writer chooses its types),
// hostile values among them ("-" as a string, not a null; empty; control
// characters; numbers out of range; words in the wrong case), in each
// string encoding, page size and row group size, and proves that the
// interner counts them as reading per row does, with a new decoder and
// with one whose columns held another object's fields at the same
// positions. Found by a review of the interner.
func TestPlainStringsInternedEveryEncoding(t *testing.T) {
	names := []string{"version", "account_id", "interface_id", "srcaddr", "dstaddr", "srcport", "dstport", "protocol", "packets", "bytes", "start", "end", "action", "log_status"}
	pool := map[string][]string{
		"version":      {"2", "-", "02", "x", ""},
		"account_id":   {"123456789012", "-", "unknown", "1234", "", "a b"},
		"interface_id": {"eni-1235b8ca123456789", "-", "eni-a", "eni-0a1b2c3d4e5f67890", "\x00"},
		"srcaddr":      {"10.0.0.1", "-", "::1", "1.2.3", "10.0.0.2", "fe80::1%x"},
		"dstaddr":      {"10.0.0.9", "-", "2001:db8::1", "999.1.1.1"},
		"srcport":      {"443", "-", "-1", "65536", "080", "x"},
		"dstport":      {"80", "-", "0", "65535"},
		"protocol":     {"6", "-", "17", "256"},
		"packets":      {"10", "-", "18446744073709551616", "0"},
		"bytes":        {"100", "-", "5"},
		"start":        {"1700000000", "-", "1"},
		"end":          {"1700000060", "-", "0"},
		"action":       {"ACCEPT", "REJECT", "-", "accept", "ACCEPTX"},
		"log_status":   {"OK", "NODATA", "SKIPDATA", "-", "ok"},
	}
	rng := rand.New(rand.NewSource(1))
	var rows [][]*string
	for range 3000 {
		r := make([]*string, len(names))
		for j, n := range names {
			p := pool[n]
			switch x := rng.Intn(100); {
			case x < 3: // a null
			case x < 85:
				r[j] = &p[0]
			default:
				r[j] = &p[rng.Intn(len(p))]
			}
		}
		rows = append(rows, r)
	}
	prime := stringColumns(t, names[2:], rows[:500], nil, 512, 100) // column i holds another field
	for _, enc := range []encoding.Encoding{nil, &parquet.Plain, &parquet.DeltaByteArray, &parquet.DeltaLengthByteArray} {
		for _, pageBytes := range []int{0, 300} {
			for _, groupRows := range []int64{10_000, 333} {
				t.Run(fmt.Sprintf("%v/%d/%d", enc, pageBytes, groupRows), func(t *testing.T) {
					body := stringColumns(t, names, rows, enc, pageBytes, groupRows)
					_, s, _ := decodeInternedOrNot(nil, body, true)
					if s.Malformed.Count == 0 || s.Totals.Records == 0 {
						t.Fatalf("%d records, %d malformed: nothing to compare", s.Totals.Records, s.Malformed.Count)
					}
					checkInternedMatchesPerRow(t, body, prime)
				})
			}
		}
	}
}

// FuzzInternedMatchesPerRow checks that any object decodes through the
// interner as it does per row, with a new decoder and after the decoder
// read another object or the same one.
func FuzzInternedMatchesPerRow(f *testing.F) {
	for _, s := range fuzzParquetSeeds(f) {
		f.Add(s)
	}
	names := []string{"account_id", "interface_id", "srcaddr", "action"}
	vals := [][]string{{"123456789012", "-", "x"}, {"eni-a", "eni-b", "-"}, {"10.0.0.1", "1.2.3", "-"}, {"ACCEPT", "REJECT", "-"}}
	var rows [][]*string
	for i := range 12 {
		r := make([]*string, len(names))
		for j := range names {
			if i%5 != 4 || j != 1 {
				r[j] = &vals[j][(i*(j+1))%3]
			}
		}
		rows = append(rows, r)
	}
	for _, enc := range []encoding.Encoding{&parquet.Plain, &parquet.DeltaByteArray, &parquet.DeltaLengthByteArray} {
		f.Add(stringColumns(f, names, rows, enc, 64, 5))
	}
	g := flowrecordtest.NewGenerator(flowrecordtest.Config{Seed: 9, Records: 30, Interfaces: 3})
	var lines []string
	for g.Next() {
		lines = append(lines, g.Line())
	}
	prime := writeVariantParquet(f, g.Format(), lines, parquetVariant{pageBytes: 256, groupRows: 7})
	f.Fuzz(func(t *testing.T, b []byte) {
		checkInternedMatchesPerRow(t, b, prime)
	})
}

// TestInternerProbesAreBounded fills an interner's table with values that
// all land in one run of slots (as only a broken hash would place them)
// and checks that a lookup stops after maxProbes slots and leaves the
// chunk to be read per row, rather than walking the whole table for each
// value.
func TestInternerProbesAreBounded(t *testing.T) {
	var in interner
	in.reset(flowrecord.FieldInterfaceID)
	v := pageVals{data: []byte("eni-a"), offs: []uint32{0, 5}}
	if _, ok := in.intern(&v, 1, nil); !ok {
		t.Fatal("one value not interned")
	}
	// Every slot from the new value's hash on is taken by another value.
	b := []byte("eni-b")
	start := int(maphash.Bytes(in.seed, b)) & (len(in.slots) - 1)
	for k := range maxProbes {
		in.slots[(start+k)&(len(in.slots)-1)] = 1 // "eni-a", which is not b
	}
	v = pageVals{data: b, offs: []uint32{0, 5}}
	if _, ok := in.intern(&v, 1, nil); ok || !in.off {
		t.Fatalf("a value found no free slot in %d probes, yet was interned (stopped: %t)", maxProbes, in.off)
	}
}
