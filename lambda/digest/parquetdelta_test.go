package digest

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord/flowrecordtest"
)

// deltaColumnParquet writes rows of one column, pages not compressed.
func deltaColumnParquet(t *testing.T, name string, node parquet.Node, vals []parquet.Value, opts ...parquet.WriterOption) []byte {
	t.Helper()
	schema := parquet.NewSchema("schema", parquet.Group{name: node})
	rows := make([]parquet.Row, len(vals))
	for i, v := range vals {
		rows[i] = parquet.Row{v.Level(0, boolInt(node.Optional() && !v.IsNull()), 0)}
	}
	var buf bytes.Buffer
	w := parquet.NewWriter(&buf, append([]parquet.WriterOption{schema}, opts...)...)
	if _, err := w.WriteRows(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// withPageData returns body with the data of its first page edited in
// place by edit, given the page's bytes and header, and the header's
// checksum made to match, as a hostile writer would: its last byte is
// chosen so that the checksum takes as many bytes as before, the edit
// leaving it alone.
func withPageData(t *testing.T, body []byte, edit func(page []byte, h *format.PageHeader)) []byte {
	t.Helper()
	f, err := parquet.OpenFile(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatal(err)
	}
	start := f.Metadata().RowGroups[0].Columns[0].MetaData.DataPageOffset
	cr := &countingReader{r: bufioReader(body[start:])}
	var h format.PageHeader
	if err := thrift.NewDecoder(new(thrift.CompactProtocol).NewReader(cr)).Decode(&h); err != nil {
		t.Fatal(err)
	}
	out := append([]byte{}, body...)
	page := out[start+cr.n : start+cr.n+int64(h.CompressedPageSize)]
	edit(page, &h)
	zigzag := func(c int32) int {
		return binary.PutUvarint(make([]byte, binary.MaxVarintLen64), uint64(uint32(c<<1)^uint32(c>>31)))
	}
	want := zigzag(h.CRC)
	for b := 0; zigzag(int32(crc32.ChecksumIEEE(page))) != want; b++ {
		page[len(page)-1] = byte(b)
	}
	h.CRC = int32(crc32.ChecksumIEEE(page))
	var enc bytes.Buffer
	if err := thrift.NewEncoder(new(thrift.CompactProtocol).NewWriter(&enc)).Encode(&h); err != nil {
		t.Fatal(err)
	}
	if int64(enc.Len()) != cr.n {
		t.Fatalf("the edited header takes %d bytes, not %d", enc.Len(), cr.n)
	}
	copy(out[start:], enc.Bytes())
	return out
}

// wantDecoded decodes body and fails t unless it is refused with an error
// containing want or, want being "", it decodes into rows rows (any
// number but 0 when rows is 0); and unless it allocates at most 16 MiB.
func wantDecoded(t *testing.T, body []byte, want string, rows uint64) {
	t.Helper()
	got, grew, err := decodeMeasured(body)
	switch {
	case want == "" && err != nil:
		t.Errorf("decodeParquet: %v", err)
	case want == "" && (got == 0 || rows != 0 && got != rows):
		t.Errorf("%d rows read, want %d", got, rows)
	case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
		t.Errorf("decodeParquet: %v, want an error with %q", err, want)
	}
	if grew > 16<<20 {
		t.Errorf("decoding a %d-byte object allocated %d MiB", len(body), grew>>20)
	}
}

// TestPageValuesAreChecked proves that a page whose DELTA-encoded values
// claim more values than the page holds, or strings far longer than it,
// is refused before parquet-go's encodings size their buffers by the
// claim (without the check, the first case allocates 8 GiB for a
// 400-byte object), and that pages parquet-go's page reader panicked on
// are refused.
func TestPageValuesAreChecked(t *testing.T) {
	// A DELTA_BINARY_PACKED header: blocks of 128 in 4 mini-blocks,
	// 2^31 - 1 values, the first 0.
	bomb := []byte{0x80, 0x01, 0x04, 0xff, 0xff, 0xff, 0xff, 0x07, 0x00}
	strs := func(n int) []parquet.Value {
		v := make([]parquet.Value, n)
		for i := range v {
			v[i] = parquet.ByteArrayValue([]byte(strings.Repeat("x", 20)))
		}
		return v
	}
	ints := func(n int) []parquet.Value {
		v := make([]parquet.Value, n)
		for i := range v {
			v[i] = parquet.Int64Value(int64(i * 7919))
		}
		return v
	}
	atValues := func(page []byte, h *format.PageHeader) []byte {
		if h.DataPageHeaderV2.Valid {
			v := h.DataPageHeaderV2.V
			return page[v.RepetitionLevelsByteLength+v.DefinitionLevelsByteLength:]
		}
		return page
	}
	tests := []struct {
		name string
		body func(t *testing.T) []byte
		want string // "" for decoded
	}{
		{"string lengths claiming 2^31 values", func(t *testing.T) []byte {
			b := deltaColumnParquet(t, "account_id", parquet.Encoded(parquet.String(), &parquet.DeltaLengthByteArray), strs(3))
			return withPageData(t, b, func(p []byte, h *format.PageHeader) { copy(atValues(p, h), bomb) })
		}, "DELTA_LENGTH_BYTE_ARRAY values declaring 2147483647 values in a page of 3"},
		{"optional, page v1: levels then the claim", func(t *testing.T) []byte {
			b := deltaColumnParquet(t, "account_id", parquet.Optional(parquet.Encoded(parquet.String(), &parquet.DeltaLengthByteArray)), strs(3), parquet.DataPageVersion(1))
			return withPageData(t, b, func(p []byte, _ *format.PageHeader) {
				n := 4 + binary.LittleEndian.Uint32(p) // the definition levels
				copy(p[n:], bomb)
			})
		}, "values declaring 2147483647"},
		{"int64 deltas claiming 2^31 values", func(t *testing.T) []byte {
			b := deltaColumnParquet(t, "bytes", parquet.Encoded(parquet.Int(64), &parquet.DeltaBinaryPacked), ints(40))
			return withPageData(t, b, func(p []byte, h *format.PageHeader) { copy(atValues(p, h), bomb) })
		}, "DELTA_BINARY_PACKED values declaring 2147483647"},
		{"prefix lengths adding up to gigabytes", func(t *testing.T) []byte {
			b := deltaColumnParquet(t, "account_id", parquet.Encoded(parquet.String(), &parquet.DeltaByteArray), strs(3))
			return withPageData(t, b, func(p []byte, h *format.PageHeader) {
				// Three prefix lengths of 2^30 - 1 each: the first, and
				// two deltas of 0 in a mini-block of bit width 0.
				copy(atValues(p, h), []byte{0x80, 0x01, 0x04, 0x03, 0xfe, 0xff, 0xff, 0xff, 0x07, 0x00, 0, 0, 0, 0})
			})
		}, "lengths adding up to"},
		{"a PLAIN string longer than what is left of the page", func(t *testing.T) []byte {
			// parquet-go checks a length against the whole page, and
			// sliced past its end.
			b := deltaColumnParquet(t, "account_id", parquet.Encoded(parquet.String(), &parquet.Plain), strs(3))
			return withPageData(t, b, func(p []byte, h *format.PageHeader) {
				v := atValues(p, h)
				binary.LittleEndian.PutUint32(v[24:], uint32(len(v)-4))
			})
		}, "a PLAIN byte array of"},
		{"levels past the page", func(t *testing.T) []byte {
			b := deltaColumnParquet(t, "account_id", parquet.Optional(parquet.String()), []parquet.Value{parquet.ByteArrayValue([]byte("x"))})
			return withPageHeader(t, b, func(h *format.PageHeader) { h.DataPageHeaderV2.V.DefinitionLevelsByteLength = 60 })
		}, "levels of 0 and 60 bytes"},
		{"gzip data without a gzip header", func(t *testing.T) []byte {
			// parquet-go panics reading it.
			b := deltaColumnParquet(t, "account_id", parquet.Compressed(parquet.String(), &parquet.Gzip), strs(3))
			return withPageData(t, b, func(p []byte, h *format.PageHeader) { atValues(p, h)[0] ^= 0xff })
		}, "its gzip data: gzip: invalid header"},
		{"untouched, page v1, optional, gzip", func(t *testing.T) []byte {
			node := parquet.Compressed(parquet.Optional(parquet.Encoded(parquet.String(), &parquet.DeltaByteArray)), &parquet.Gzip)
			return deltaColumnParquet(t, "account_id", node, append(strs(50), parquet.NullValue()), parquet.DataPageVersion(1))
		}, ""},
		{"untouched, page v2, gzip", func(t *testing.T) []byte {
			node := parquet.Compressed(parquet.Encoded(parquet.String(), &parquet.DeltaLengthByteArray), &parquet.Gzip)
			return deltaColumnParquet(t, "account_id", node, strs(50))
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantDecoded(t, tt.body(t), tt.want, 0)
		})
	}
}

// TestGzipPagesInflateAsDeclared proves that a gzip page whose data
// inflates past the uncompressed size its header declares is refused at
// the first byte past it (parquet-go's page reader doubled its buffer for
// as long as the data inflates: a 150 MiB object of zeros inflates to
// about 150 GiB), whether its values are DELTA strings or dictionary
// indexes, and that pages of another codec are refused: each codec's
// decoder grows its output as its data says.
func TestGzipPagesInflateAsDeclared(t *testing.T) {
	g := flowrecordtest.NewGenerator(flowrecordtest.Config{Seed: 31, Records: 200})
	var lines []string
	for g.Next() {
		lines = append(lines, g.Line())
	}
	shrink := func(_ []byte, h *format.PageHeader) { h.UncompressedPageSize-- }
	str := func(s string) parquet.Value { return parquet.ByteArrayValue([]byte(s)) }
	tests := []struct {
		name string
		body func(t *testing.T) []byte
		want string // "" for decoded
	}{
		{"parquet-go's encodings, as declared", func(t *testing.T) []byte {
			return writeVariantParquet(t, g.Format(), lines, parquetVariant{groupRows: 10_000})
		}, ""},
		{"dictionary pages, as declared", func(t *testing.T) []byte {
			return writeVariantParquet(t, g.Format(), lines, parquetVariant{dictionary: true, groupRows: 10_000})
		}, ""},
		{"DELTA strings inflating past the header", func(t *testing.T) []byte {
			return withPageData(t, writeVariantParquet(t, g.Format(), lines, parquetVariant{groupRows: 10_000}), shrink)
		}, "inflates past the"},
		{"dictionary indexes inflating past the header", func(t *testing.T) []byte {
			return withPageData(t, writeVariantParquet(t, g.Format(), lines, parquetVariant{dictionary: true, groupRows: 10_000}), shrink)
		}, "inflates past the"},
		{"snappy pages", func(t *testing.T) []byte {
			return deltaColumnParquet(t, "account_id", parquet.Compressed(parquet.String(), &parquet.Snappy), []parquet.Value{str("123456789012")})
		}, "only GZIP and uncompressed pages"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := tt.body(t)
			d := newObjectDecoder(newLineReader(nil, flowrecord.NewAggregator(flowrecord.Options{TopK: 10})))
			defer d.close()
			err := d.decodeParquet(bytesReaderAt(body), int64(len(body)))
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("decodeParquet: %v", err)
			case tt.want == "" && d.lr.t.Events != uint64(len(lines)):
				t.Fatalf("%d rows read, want %d", d.lr.t.Events, len(lines))
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("decodeParquet: %v, want an error saying %q", err, tt.want)
			}
		})
	}
}

// TestRunLengthsAreChecked proves that run-length encoded definition
// levels and dictionary indexes are counted before they are decoded:
// parquet-go's decoder appends as many values as a run's header states,
// so a few bytes claiming 2^27 indexes allocated 512 MiB before the
// check, and a bit-packed run past the data made it panic.
func TestRunLengthsAreChecked(t *testing.T) {
	ints := make([]parquet.Value, 40)
	for i := range ints {
		ints[i] = parquet.Int64Value(int64(i * 7919))
	}
	withNulls := make([]parquet.Value, 40)
	for i := range withNulls {
		withNulls[i] = parquet.ByteArrayValue([]byte("123456789012"))
		if i%3 == 0 {
			withNulls[i] = parquet.NullValue()
		}
	}
	// A bit-packed run of 2^24 groups of 8 values, each 0 bits wide.
	bitPacked := binary.AppendUvarint(nil, 1<<24<<1|1)
	// A run of 2^30 repeats of one value.
	repeated := append(binary.AppendUvarint(nil, 1<<30<<1), 1)
	dictionary := func(t *testing.T) []byte {
		return deltaColumnParquet(t, "bytes", parquet.Encoded(parquet.Int(64), &parquet.RLEDictionary), ints)
	}
	tests := []struct {
		name string
		body func(t *testing.T) []byte
		want string // "" for decoded
	}{
		{"indexes: a bit-packed run of 2^27 values", func(t *testing.T) []byte {
			return withPageData(t, dictionary(t), func(p []byte, _ *format.PageHeader) {
				copy(p, append([]byte{0}, bitPacked...))
			})
		}, "dictionary indexes for"},
		{"indexes: a run of 2^30 values", func(t *testing.T) []byte {
			return withPageData(t, dictionary(t), func(p []byte, _ *format.PageHeader) {
				copy(p, append([]byte{1}, repeated...))
			})
		}, "dictionary indexes for"},
		{"indexes: a bit-packed run past the page", func(t *testing.T) []byte {
			return withPageData(t, dictionary(t), func(p []byte, _ *format.PageHeader) {
				copy(p, append([]byte{32}, binary.AppendUvarint(nil, 1<<20<<1|1)...))
			})
		}, "dictionary indexes for"},
		{"levels, page v2: a run of 2^30", func(t *testing.T) []byte {
			b := deltaColumnParquet(t, "account_id", parquet.Optional(parquet.String()), withNulls)
			return withPageData(t, b, func(p []byte, _ *format.PageHeader) { copy(p, repeated) })
		}, "definition levels for"},
		{"levels, page v1: a bit-packed run of 2^27", func(t *testing.T) []byte {
			b := deltaColumnParquet(t, "account_id", parquet.Optional(parquet.String()), withNulls, parquet.DataPageVersion(1))
			return withPageData(t, b, func(p []byte, _ *format.PageHeader) { copy(p[4:], bitPacked) })
		}, "definition levels for"},
		{"untouched, dictionary", dictionary, ""},
		{"untouched, levels v1", func(t *testing.T) []byte {
			return deltaColumnParquet(t, "account_id", parquet.Optional(parquet.String()), withNulls, parquet.DataPageVersion(1))
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantDecoded(t, tt.body(t), tt.want, 40)
		})
	}
}
