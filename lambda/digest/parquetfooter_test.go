package digest

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// withFooter returns body with its footer replaced by footer.
func withFooter(body, footer []byte) []byte {
	n := int(binary.LittleEndian.Uint32(body[len(body)-8:]))
	out := append([]byte{}, body[:len(body)-8-n]...)
	out = append(out, footer...)
	return append(binary.LittleEndian.AppendUint32(out, uint32(len(footer))), "PAR1"...)
}

// TestFooterIsChecked proves that a footer declaring more than it holds
// is refused before parquet-go decodes it: it allocates each list and
// byte string at its declared length (a list of 2^31 row groups in a
// 16-byte footer would take 188 GB; the cases here claim less, so that
// the test can show the allocation the check prevents), and a negative
// count of children made it panic (found by FuzzDecodeParquet).
func TestFooterIsChecked(t *testing.T) {
	body := oneRowParquet(t, []hostileColumn{{"account_id", parquet.String(), parquet.ByteArrayValue([]byte("123456789012"))}})
	negative := func(t *testing.T) []byte {
		n := int(binary.LittleEndian.Uint32(body[len(body)-8:]))
		var md format.FileMetaData
		if err := thrift.Unmarshal(new(thrift.CompactProtocol), body[len(body)-8-n:len(body)-8], &md); err != nil {
			t.Fatal(err)
		}
		md.Schema[0].NumChildren = thrift.New[int32](-25)
		footer, err := thrift.Marshal(new(thrift.CompactProtocol), &md)
		if err != nil {
			t.Fatal(err)
		}
		return withFooter(body, footer)
	}
	uvarint := func(v uint64) []byte { return binary.AppendUvarint(nil, v) }
	tests := []struct {
		name string
		body func(t *testing.T) []byte
		want string
	}{
		{"a negative count of children", negative, "a schema element of -25 children"},
		{"a schema of more elements than a flow log has", func(t *testing.T) []byte {
			// parquet-go reserves leaves × row groups chunk pointers
			// and the schema's depths in path names before checking
			// either: 4,000 leaves and 4,000 row groups took 124 MiB.
			n := int(binary.LittleEndian.Uint32(body[len(body)-8:]))
			var md format.FileMetaData
			if err := thrift.Unmarshal(new(thrift.CompactProtocol), body[len(body)-8-n:len(body)-8], &md); err != nil {
				t.Fatal(err)
			}
			for len(md.Schema) < 100 {
				md.Schema = append(md.Schema, md.Schema[len(md.Schema)-1])
			}
			footer, err := thrift.Marshal(new(thrift.CompactProtocol), &md)
			if err != nil {
				t.Fatal(err)
			}
			return withFooter(body, footer)
		}, "a schema of 100 elements"},
		{"a list of 2^20 row groups in 8 bytes", func(*testing.T) []byte {
			// Field 4 (row_groups), a list of structs of 2^20 - 1.
			footer := append(append([]byte{0x49, 0xfc}, uvarint(1<<20-1)...), 0)
			return withFooter(body, footer)
		}, "a list of 1048575 values"},
		{"a key of 256 MiB", func(*testing.T) []byte {
			// Field 5 (key_value_metadata), one KeyValue whose key
			// (field 1) declares 256 MiB.
			footer := append(append([]byte{0x59, 0x1c, 0x18}, uvarint(256<<20)...), 0, 0)
			return withFooter(body, footer)
		}, "a byte string of 268435456 bytes"},
		{"structs nested past the bound", func(*testing.T) []byte {
			// Field 1 of each struct a struct, 20 deep.
			var footer []byte
			for range 20 {
				footer = append(footer, 0x1c)
			}
			return withFooter(body, footer)
		}, "nested more than"},
		{"a footer longer than the object", func(*testing.T) []byte {
			bad := append([]byte{}, body...)
			binary.LittleEndian.PutUint32(bad[len(bad)-8:], uint32(len(bad)))
			return bad
		}, "a footer of"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := tt.body(t)
			_, grew, err := decodeMeasured(bad)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("decodeParquet: %v, want an error with %q", err, tt.want)
			}
			if grew > 4<<20 {
				t.Errorf("decoding a %d-byte object allocated %d MiB", len(bad), grew>>20)
			}
		})
	}
	if s, _ := decodeSummary(t, body, true); s.Totals.Records+s.Malformed.Count != 1 {
		t.Errorf("the untouched object gave %d records and %d malformed, want one row", s.Totals.Records, s.Malformed.Count)
	}
}
