package digest

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"runtime"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord/flowrecordtest"
)

// withPageHeader returns body with the first page header of its first
// column chunk replaced by the one edit makes of it: what anyone who can
// put an object in the bucket can write.
func withPageHeader(t *testing.T, body []byte, edit func(*format.PageHeader)) []byte {
	t.Helper()
	f, err := parquet.OpenFile(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatal(err)
	}
	md := f.Metadata().RowGroups[0].Columns[0].MetaData
	start := md.DataPageOffset
	if md.DictionaryPageOffset > 0 && md.DictionaryPageOffset < start {
		start = md.DictionaryPageOffset
	}
	cr := &countingReader{r: bufioReader(body[start:])}
	var h format.PageHeader
	if err := thrift.NewDecoder(new(thrift.CompactProtocol).NewReader(cr)).Decode(&h); err != nil {
		t.Fatal(err)
	}
	edit(&h)
	var enc bytes.Buffer
	if err := thrift.NewEncoder(new(thrift.CompactProtocol).NewWriter(&enc)).Encode(&h); err != nil {
		t.Fatal(err)
	}
	out := append([]byte{}, body[:start]...)
	out = append(out, enc.Bytes()...)
	return append(out, body[start+cr.n:]...)
}

// TestParquetPageHeadersAreChecked proves that a page header declaring
// huge sizes is refused before anything it declares is allocated: read
// by parquet-go's page reader, the "huge uncompressed page" case
// allocated its gigabyte (a gzip bomb behind it would then fill it and
// kill the function on every run).
func TestParquetPageHeadersAreChecked(t *testing.T) {
	str := func(s string) parquet.Value { return parquet.ByteArrayValue([]byte(s)) }
	body := oneRowParquet(t, []hostileColumn{
		{"account_id", parquet.String(), str("123456789012")},
		{"action", parquet.String(), str("ACCEPT")},
	})
	// A byte string of the page's statistics whose length, once the
	// header is written, is made to read 2 GiB - 2: parquet-go's header
	// reader allocates that before reading it.
	marker := []byte("statistics-marker-0123")
	hugeStats := func(h *format.PageHeader) {
		st := &h.DataPageHeader.V.Statistics
		if h.DataPageHeaderV2.Valid {
			st = &h.DataPageHeaderV2.V.Statistics
		}
		st.MaxValue = marker
	}
	hugeLength := func(t *testing.T, body []byte) []byte {
		short := append([]byte{byte(len(marker))}, marker...) // its compact length: one varint byte
		i := bytes.Index(body, short)
		if i < 0 {
			t.Fatal("the edited header's statistics are not in the object")
		}
		huge := append([]byte{0xfe, 0xff, 0xff, 0xff, 0x07}, marker...) // 0x7ffffffe
		return append(append(append([]byte{}, body[:i]...), huge...), body[i+len(short):]...)
	}
	tests := []struct {
		name  string
		edit  func(*format.PageHeader)
		patch func(*testing.T, []byte) []byte
		want  string
	}{
		{"huge uncompressed page", func(h *format.PageHeader) { h.UncompressedPageSize = 1 << 30 }, nil, "uncompressed bytes"},
		{"negative compressed page", func(h *format.PageHeader) { h.CompressedPageSize = -1 }, nil, "compressed bytes"},
		{"page past its chunk", func(h *format.PageHeader) { h.CompressedPageSize = 1 << 30 }, nil, "compressed bytes"},
		{"statistics of 2 GiB", hugeStats, hugeLength, "header"},
		{"a billion values", func(h *format.PageHeader) {
			if h.DataPageHeader.Valid {
				h.DataPageHeader.V.NumValues = 1 << 30
			}
			if h.DictionaryPageHeader.Valid {
				h.DictionaryPageHeader.V.NumValues = 1 << 30
			}
			if h.DataPageHeaderV2.Valid {
				h.DataPageHeaderV2.V.NumValues = 1 << 30
			}
		}, nil, "values"},
		{"a billion values behind a header of another type", func(h *format.PageHeader) {
			// parquet-go reads the part of the header the page's type
			// names; a part for another type declares one value.
			if !h.DataPageHeaderV2.Valid {
				t.Fatal("the page is not a version 2 data page")
			}
			h.DataPageHeaderV2.V.NumValues = 1 << 30
			h.DataPageHeader.Valid, h.DataPageHeader.V.NumValues = true, 1
		}, nil, "other page types"},
		{"a huge dictionary behind a data page", func(h *format.PageHeader) {
			// parquet-go reads a chunk's first page as its dictionary
			// when a data page needs one it has not read, from the
			// header's dictionary part: 2^28 values, 1 GiB.
			h.DictionaryPageHeader.Valid = true
			h.DictionaryPageHeader.V.NumValues = 1 << 28
		}, nil, "other page types"},
		{"an index page", func(h *format.PageHeader) {
			// No writer writes one; a page skipped unread would be read
			// again by every row group.
			h.Type = format.IndexPage
			h.DataPageHeader.Valid, h.DataPageHeaderV2.Valid, h.DictionaryPageHeader.Valid = false, false, false
		}, nil, "not a data or dictionary page"},
		{"a dictionary page after the data pages", nil, func(t *testing.T, body []byte) []byte {
			return withChunkMeta(t, body, func(md *format.ColumnMetaData) { md.DictionaryPageOffset = md.DataPageOffset + 1 })
		}, "not before the data pages"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := body
			if tt.edit != nil {
				bad = withPageHeader(t, body, tt.edit)
			}
			if tt.patch != nil {
				bad = tt.patch(t, bad)
			}
			_, grew, err := decodeMeasured(bad)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("decodeParquet: %v, want an error naming the page's %s", err, tt.want)
			}
			if grew > 16<<20 {
				t.Errorf("decoding allocated %d MiB; want the header refused before its sizes are allocated", grew>>20)
			}
		})
	}
	// The untouched object still decodes: the check accepts what
	// parquet-go writes.
	if s, _ := decodeSummary(t, body, true); s.Totals.Records+s.Malformed.Count != 1 {
		t.Errorf("the untouched object gave %d records and %d malformed, want one row", s.Totals.Records, s.Malformed.Count)
	}
}

// TestPageHeaderSizeIsBounded proves that a page header whose statistics
// fill the column chunk (a byte string parquet-go would allocate whole
// when it reads the header) is refused, and that a header of ordinary
// statistics is not.
func TestPageHeaderSizeIsBounded(t *testing.T) {
	chunk := func(stats int) ([]byte, format.ColumnChunk) {
		h := format.PageHeader{Type: format.DataPage, UncompressedPageSize: 4, CompressedPageSize: 4}
		h.DataPageHeader.Valid = true
		h.DataPageHeader.V.NumValues = 1
		h.DataPageHeader.V.Statistics.MaxValue = bytes.Repeat([]byte("x"), stats)
		var b bytes.Buffer
		if err := thrift.NewEncoder(new(thrift.CompactProtocol).NewWriter(&b)).Encode(&h); err != nil {
			t.Fatal(err)
		}
		b.WriteString("page")
		return b.Bytes(), format.ColumnChunk{MetaData: format.ColumnMetaData{
			TotalCompressedSize: int64(b.Len()), TotalUncompressedSize: 4, NumValues: 1,
		}}
	}
	var held int64
	pr := pageReader{held: &held}
	for _, tt := range []struct {
		stats int
		want  string // "" for accepted
	}{
		{64, ""},
		{maxPageHeaderBytes + 1, "header of"},
		{64, ""}, // the same checker, after a refusal
	} {
		body, c := chunk(tt.stats)
		pr.rowsLeft = 1
		err := pr.startChunk(bytesReaderAt(body), int64(len(body)), c.MetaData)
		if err == nil {
			err = pr.readPage()
		}
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("statistics of %d bytes: %v", tt.stats, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("statistics of %d bytes: %v, want an error naming the %s", tt.stats, err, tt.want)
		}
	}
}

// generatedBody writes 300 generated records (from seed) as one Parquet
// object laid out as v.
func generatedBody(t *testing.T, seed int64, v parquetVariant) []byte {
	t.Helper()
	g := flowrecordtest.NewGenerator(flowrecordtest.Config{Seed: seed, Records: 300})
	var lines []string
	for g.Next() {
		lines = append(lines, g.Line())
	}
	return writeVariantParquet(t, g.Format(), lines, v)
}

// generatedDecode writes 300 generated records (from seed) as one
// Parquet object laid out as v and returns a function that decodes it
// with a new decoder.
func generatedDecode(t *testing.T, seed int64, v parquetVariant) func() error {
	t.Helper()
	body := generatedBody(t, seed, v)
	return func() error {
		d := newObjectDecoder(newLineReader(nil, flowrecord.NewAggregator(flowrecord.Options{TopK: 10})))
		defer d.close()
		return d.decodeParquet(bytesReaderAt(body), int64(len(body)))
	}
}

// TestHeldPagesAreBounded proves that a row group whose columns'
// dictionaries and largest pages together need more than
// maxHeldPageBytes at once is refused, each column's pages within its own
// bounds: the decoder holds one page of every column.
func TestHeldPagesAreBounded(t *testing.T) {
	decode := generatedDecode(t, 32, parquetVariant{dictionary: true, groupRows: 10_000})
	if err := decode(); err != nil {
		t.Fatalf("under the bound: %v", err)
	}
	old := maxHeldPageBytes
	defer func() { maxHeldPageBytes = old }()
	maxHeldPageBytes = 1 << 10 // less than the fourteen columns' pages of 300 rows
	if err := decode(); err == nil || !strings.Contains(err.Error(), "more than the 1024 one page of each column may hold") {
		t.Fatalf("over the bound: %v, want the row group refused", err)
	}
}

// TestObjectBytesAreBounded proves that an object whose column chunks
// together declare more than maxParquetBytes uncompressed is refused
// before the rest is read: a footer can point many row groups at the
// same bytes.
func TestObjectBytesAreBounded(t *testing.T) {
	decode := generatedDecode(t, 33, parquetVariant{groupRows: 100})
	if err := decode(); err != nil {
		t.Fatalf("under the bound: %v", err)
	}
	old := maxParquetBytes
	defer func() { maxParquetBytes = old }()
	maxParquetBytes = 4 << 10 // less than three row groups of 100 rows
	if err := decode(); err == nil || !strings.Contains(err.Error(), "more than the 4096 an object may hold") {
		t.Fatalf("over the bound: %v, want the object refused", err)
	}
}

// withChunkMeta returns body with the footer's metadata of its first
// column chunk edited by edit, the footer written again.
func withChunkMeta(t *testing.T, body []byte, edit func(*format.ColumnMetaData)) []byte {
	t.Helper()
	n := int(binary.LittleEndian.Uint32(body[len(body)-8:]))
	start := len(body) - 8 - n
	var md format.FileMetaData
	if err := thrift.Unmarshal(new(thrift.CompactProtocol), body[start:start+n], &md); err != nil {
		t.Fatal(err)
	}
	edit(&md.RowGroups[0].Columns[0].MetaData)
	footer, err := thrift.Marshal(new(thrift.CompactProtocol), &md)
	if err != nil {
		t.Fatal(err)
	}
	out := append(append([]byte{}, body[:start]...), footer...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(footer)))
	return append(out, "PAR1"...)
}

func bufioReader(b []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(b)) }

// decodeMeasured decodes body with a new decoder and returns the rows it
// read, the bytes it allocated meanwhile, and its error.
func decodeMeasured(body []byte) (rows, allocated uint64, err error) {
	d := newObjectDecoder(newLineReader(nil, flowrecord.NewAggregator(flowrecord.Options{TopK: 10})))
	defer d.close()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	err = d.decodeParquet(bytesReaderAt(body), int64(len(body)))
	runtime.ReadMemStats(&after)
	return d.lr.t.Events, after.TotalAlloc - before.TotalAlloc, err
}

// TestObjectRowsAreBounded proves that an object whose footer declares
// more rows than maxObjectRows allows for its size is refused before any
// is read, and that pages are refused once they declare more values in a
// column than that: a page's levels can declare a million null rows in a
// few bytes, and row groups can point at the same pages again and again.
func TestObjectRowsAreBounded(t *testing.T) {
	body := oneRowParquet(t, []hostileColumn{{"account_id", parquet.String(), parquet.ByteArrayValue([]byte("123456789012"))}})
	lie := func(body []byte, rows int64) []byte {
		n := int(binary.LittleEndian.Uint32(body[len(body)-8:]))
		start := len(body) - 8 - n
		var md format.FileMetaData
		if err := thrift.Unmarshal(new(thrift.CompactProtocol), body[start:start+n], &md); err != nil {
			t.Fatal(err)
		}
		md.RowGroups[0].NumRows = rows
		footer, err := thrift.Marshal(new(thrift.CompactProtocol), &md)
		if err != nil {
			t.Fatal(err)
		}
		out := append(append([]byte{}, body[:start]...), footer...)
		return append(binary.LittleEndian.AppendUint32(out, uint32(len(footer))), "PAR1"...)
	}
	for _, tt := range []struct {
		rows int64
		want string // "" for decoded
	}{
		{1, ""},
		{maxObjectRows(int64(len(body))) + 1<<12, "more than the"}, // the footer grows by a few bytes
	} {
		bad := lie(body, tt.rows)
		d := newObjectDecoder(newLineReader(nil, flowrecord.NewAggregator(flowrecord.Options{TopK: 10})))
		err := d.decodeParquet(bytesReaderAt(bad), int64(len(bad)))
		d.close()
		switch {
		case tt.want == "" && (err != nil || d.lr.t.Events != 1):
			t.Errorf("%d rows declared: %v, %d rows read; want the one row", tt.rows, err, d.lr.t.Events)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) || d.lr.t.Events != 0):
			t.Errorf("%d rows declared: %v, %d rows read; want the object refused unread", tt.rows, err, d.lr.t.Events)
		}
	}

	// Pages of 1,000 values each, against an object's budget of 2,500.
	var chunk bytes.Buffer
	const pages = 3
	for range pages {
		h := format.PageHeader{Type: format.DataPage, UncompressedPageSize: 4, CompressedPageSize: 4}
		h.DataPageHeader.Valid = true
		h.DataPageHeader.V.NumValues = 1000
		if err := thrift.NewEncoder(new(thrift.CompactProtocol).NewWriter(&chunk)).Encode(&h); err != nil {
			t.Fatal(err)
		}
		chunk.WriteString("page")
	}
	var held int64
	pr := pageReader{held: &held, rowsLeft: 2500}
	md := format.ColumnMetaData{TotalCompressedSize: int64(chunk.Len()), TotalUncompressedSize: 4 * pages, NumValues: 1000 * pages}
	if err := pr.startChunk(bytesReaderAt(chunk.Bytes()), int64(chunk.Len()), md); err != nil {
		t.Fatal(err)
	}
	for page := range pages {
		err := pr.readPage()
		switch {
		case page < 2 && err != nil:
			t.Errorf("page %d: %v", page, err)
		case page == 2 && (err == nil || !strings.Contains(err.Error(), "more than the object's pages may still declare (500)")):
			t.Errorf("page %d: %v, want it refused", page, err)
		}
	}
}
