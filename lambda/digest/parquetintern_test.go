package digest

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

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
	}{
		{"printable", map[int][]string{
			1:  {"12345678901", "unknown", "-", "1234567890123"},
			2:  {"eni-1235B8CA123456789", "vpc-1235b8ca123456789", "eni-1", "-"},
			3:  {"172.031.16.139", "256.1.1.1", "::ffff:1.2.3.4", "2001:db8::1", "1.2.3"},
			4:  {"10.0.0.1.2", "fe80::1%eth0", "-", "::"},
			12: {"accept", "ACCEPTED", "-", "REJECT"},
			13: {"OKAY", "SKIPDATA", "NODATA", "SKIPDATAX", "ok"},
		}, parquetVariant{groupRows: 10_000}, nil},
		{"unprintable, small pages", map[int][]string{
			2:  {"eni-1235b8ca\t123456789", ""},
			12: {"ACC\x00EPT", "\x7f"},
			13: {"\xff\x00"},
		}, parquetVariant{pageBytes: 1024, groupRows: 700}, nil},
		{"values too long to intern", map[int][]string{
			2: {long, "eni-1235b8ca123456789"},
			4: {strings.Repeat("1", 300)},
		}, parquetVariant{groupRows: 1_000, pageBytes: 4096}, []flowrecord.Field{flowrecord.FieldInterfaceID, flowrecord.FieldDstAddr}},
		{"more distinct values than the interner holds", map[int][]string{
			3: nil, // every row's source address is its own: set below
		}, parquetVariant{groupRows: 10_000}, []flowrecord.Field{flowrecord.FieldSrcAddr}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := flowrecordtest.NewGenerator(flowrecordtest.Config{Seed: int64(60 + i), Records: 4_000, Interfaces: 20, NoDataShare: -1})
			var lines []string
			for n := 0; g.Next(); n++ {
				toks := strings.Split(g.Line(), " ")
				if vals, ok := tt.hostile[3]; ok && vals == nil {
					toks[3] = fmt.Sprintf("10.%d.%d.%d", n>>16&255, n>>8&255, n&255)
				} else if n%7 == 3 { // one row in seven: one hostile value
					pos := []int{1, 2, 3, 4, 12, 13}[n/7%6]
					if vals := tt.hostile[pos]; len(vals) > 0 {
						toks[pos] = vals[n/42%len(vals)]
					}
				}
				lines = append(lines, strings.Join(toks, " "))
			}
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
