package digest

import (
	"bufio"
	"bytes"
	"runtime"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
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
// huge sizes is refused before parquet-go allocates what it declares:
// without pageChecker, the "huge uncompressed page" case allocates its
// gigabyte (a gzip bomb behind it would then fill it and kill the
// function on every run).
func TestParquetPageHeadersAreChecked(t *testing.T) {
	str := func(s string) parquet.Value { return parquet.ByteArrayValue([]byte(s)) }
	body := oneRowParquet(t, []hostileColumn{
		{"account_id", parquet.String(), str("123456789012")},
		{"action", parquet.String(), str("ACCEPT")},
	})
	tests := []struct {
		name string
		edit func(*format.PageHeader)
		want string
	}{
		{"huge uncompressed page", func(h *format.PageHeader) { h.UncompressedPageSize = 1 << 30 }, "uncompressed bytes"},
		{"negative compressed page", func(h *format.PageHeader) { h.CompressedPageSize = -1 }, "compressed bytes"},
		{"page past its chunk", func(h *format.PageHeader) { h.CompressedPageSize = 1 << 30 }, "compressed bytes"},
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
		}, "values"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := withPageHeader(t, body, tt.edit)
			agg := flowrecord.NewAggregator(flowrecord.Options{TopK: 10})
			d := newObjectDecoder(newLineReader(nil, agg))
			defer d.close()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			err := d.decodeParquet(bytesReaderAt(bad), int64(len(bad)))
			runtime.ReadMemStats(&after)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("decodeParquet: %v, want an error naming the page's %s", err, tt.want)
			}
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
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

func bufioReader(b []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(b)) }
