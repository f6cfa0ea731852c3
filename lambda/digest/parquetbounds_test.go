package digest

import (
	"bytes"
	"encoding/binary"
	"math/rand"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
)

// TestRunLengthsMatchTheDecoder proves that rleLen counts exactly the
// values parquet-go's decoder appends for the same bytes, whatever they
// are: a count that differs (an empty run's value byte skipped by one
// and not the other made parquet-go decode 2^26 indexes where rleLen
// counted 4,096) would let a run past the check.
func TestRunLengthsMatchTheDecoder(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	const limit = 1 << 12
	checked := 0
	for range 200_000 {
		width := byte(rng.Intn(25))
		src := make([]byte, 1+rng.Intn(12))
		src[0] = width
		for i := 1; i < len(src); i++ {
			switch rng.Intn(4) {
			case 0:
				src[i] = 0 // empty runs
			case 1:
				src[i] = 0x80 | byte(rng.Intn(128)) // varint continuations
			default:
				src[i] = byte(rng.Intn(256))
			}
		}
		n, ok := rleLen(src[1:], uint(width), limit)
		if !ok {
			continue
		}
		checked++
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("bit width %d, % x: rleLen counted %d values, parquet-go panicked: %v", width, src, n, p)
				}
			}()
			idx, err := indexEncoding.DecodeInt32(nil, src)
			if err == nil && len(idx) != n {
				t.Fatalf("bit width %d, % x: rleLen counted %d values, parquet-go decoded %d", width, src, n, len(idx))
			}
			if width == 1 {
				levels, err := levelEncoding.DecodeLevels(nil, src[1:])
				if err == nil && len(levels) != n {
					t.Fatalf("levels % x: rleLen counted %d values, parquet-go decoded %d", src[1:], n, len(levels))
				}
			}
		}()
	}
	if checked < 10_000 {
		t.Fatalf("only %d inputs passed rleLen: the test checks too little", checked)
	}
}

// TestDeltaStringLengthsDoNotWrap proves that DELTA_BYTE_ARRAY lengths
// are added without wrapping: parquet-go's estimate adds them in int32,
// so 2^16 prefixes of 2^16 bytes came to 0 and the page then allocated
// 4 GiB (a page of zeros that gzip takes to a few KB).
func TestDeltaStringLengthsDoNotWrap(t *testing.T) {
	const k = 1 << 16
	prefix, suffix := make([]int32, k), make([]int32, k)
	suffix[0] = k
	for i := 1; i < k; i++ {
		prefix[i] = k
	}
	src, err := deltaInts.EncodeInt32(nil, prefix)
	if err != nil {
		t.Fatal(err)
	}
	suf, err := deltaInts.EncodeInt32(nil, suffix)
	if err != nil {
		t.Fatal(err)
	}
	src = append(append(src, suf...), make([]byte, k)...)
	if _, err := checkDelta(format.DeltaByteArray, src, k); err == nil || !strings.Contains(err.Error(), "lengths adding up to 4294967296 bytes") {
		t.Errorf("checkDelta: %v, want the 4 GiB of strings refused", err)
	}
}

// TestChunksDoNotShareBytes proves that row groups whose column chunks
// overlap are refused before any is read: each would read and inflate
// the same pages again (68 row groups over one gzip page of 60 MiB took
// 4.6 s from a 68 KB object).
func TestChunksDoNotShareBytes(t *testing.T) {
	decode := generatedDecode(t, 34, parquetVariant{groupRows: 100})
	if err := decode(); err != nil {
		t.Fatalf("untouched: %v", err)
	}
	g := generatedBody(t, 34, parquetVariant{groupRows: 100})
	n := int(binary.LittleEndian.Uint32(g[len(g)-8:]))
	var md format.FileMetaData
	if err := thrift.Unmarshal(new(thrift.CompactProtocol), g[len(g)-8-n:len(g)-8], &md); err != nil {
		t.Fatal(err)
	}
	md.RowGroups[1].Columns[3] = md.RowGroups[0].Columns[3]
	footer, err := thrift.Marshal(new(thrift.CompactProtocol), &md)
	if err != nil {
		t.Fatal(err)
	}
	bad := withFooter(g, footer)
	rows, _, err := decodeMeasured(bad)
	if err == nil || !strings.Contains(err.Error(), "share bytes") || rows != 0 {
		t.Errorf("decodeParquet: %v after %d rows, want the object refused unread", err, rows)
	}
}

// TestKeptBuffersAreBounded proves that the buffers the columns keep
// from row group to row group are dropped once they hold more than
// maxHeldPageBytes together: each row group's pages are within the
// bound, but one column's largest page is in one row group and the
// other's in the next (without the trim, the decoder kept 160 MiB after
// an 84 KB object of two 40 MiB values).
func TestKeptBuffersAreBounded(t *testing.T) {
	const big = 24 << 20
	type row struct {
		A string `parquet:"account_id"`
		B string `parquet:"interface_id"`
	}
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[row](&buf, parquet.Compression(&parquet.Gzip), parquet.PageBufferSize(64<<20),
		parquet.SkipPageBounds("account_id"), parquet.SkipPageBounds("interface_id"),
		parquet.SkipPageStatistics("account_id"), parquet.SkipPageStatistics("interface_id"))
	huge := strings.Repeat("x", big)
	if _, err := w.Write([]row{{huge, "a"}}); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]row{{"a", huge}}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	d := newObjectDecoder(newLineReader(nil, flowrecord.NewAggregator(flowrecord.Options{TopK: 10})))
	defer d.close()
	if err := d.decodeParquet(bytesReaderAt(buf.Bytes()), int64(buf.Len())); err != nil {
		t.Fatalf("decodeParquet: %v", err)
	}
	var kept int64
	for i := range d.cols[:cap(d.cols)] {
		kept += d.cols[:cap(d.cols)][i].kept()
	}
	for _, pr := range d.readers {
		kept += int64(cap(pr.raw) + cap(pr.inflated))
	}
	if kept > maxHeldPageBytes {
		t.Errorf("after a %d-byte object the decoder keeps %d MiB of buffers, more than %d MiB", buf.Len(), kept>>20, maxHeldPageBytes>>20)
	}
}

// TestDecodedValuesAreHeld proves that what a page decodes to counts in
// what a row group holds: a page of a million equal DELTA_BINARY_PACKED
// integers is a few dozen bytes and decodes to 8 MiB.
func TestDecodedValuesAreHeld(t *testing.T) {
	ints := make([]parquet.Value, 1<<20)
	for i := range ints {
		ints[i] = parquet.Int64Value(7)
	}
	body := deltaColumnParquet(t, "bytes", parquet.Encoded(parquet.Int(64), &parquet.DeltaBinaryPacked), ints, parquet.PageBufferSize(64<<20),
		parquet.KeyValueMetadata("pad", strings.Repeat("p", 256<<10))) // room under maxObjectRows for a million rows
	if _, _, err := decodeMeasured(body); err != nil {
		t.Fatalf("under the bound: %v", err)
	}
	old := maxHeldPageBytes
	defer func() { maxHeldPageBytes = old }()
	maxHeldPageBytes = 4 << 20
	if _, _, err := decodeMeasured(body); err == nil || !strings.Contains(err.Error(), "one page of each column may hold") {
		t.Errorf("a %d-byte page decoding to 8 MiB under a 4 MiB bound: %v, want it refused", len(body), err)
	}
}

// TestDecoderTakesObjectsOfAnyWidth reads objects of a, 1 and a+1 columns
// with one decoder, as a slice reads whatever objects it lists: each is
// read whole. A decoder that had read a narrower object once failed the
// wider one after it (a slice past its capacity, recovered as a bad
// object: its records lost).
func TestDecoderTakesObjectsOfAnyWidth(t *testing.T) {
	str := func(s string) parquet.Value { return parquet.ByteArrayValue([]byte(s)) }
	all := []hostileColumn{
		{"account_id", parquet.String(), str("123456789012")},
		{"action", parquet.String(), str("ACCEPT")},
		{"bytes", parquet.Int(64), parquet.Int64Value(40)},
		{"dstaddr", parquet.String(), str("10.0.0.2")},
		{"dstport", parquet.Int(32), parquet.Int32Value(80)},
		{"end", parquet.Int(64), parquet.Int64Value(2)},
		{"interface_id", parquet.String(), str("eni-a")},
		{"log_status", parquet.String(), str("OK")},
		{"packets", parquet.Int(64), parquet.Int64Value(1)},
		{"protocol", parquet.Int(32), parquet.Int32Value(6)},
		{"srcaddr", parquet.String(), str("10.0.0.1")},
		{"srcport", parquet.Int(32), parquet.Int32Value(443)},
		{"start", parquet.Int(64), parquet.Int64Value(1)},
		{"version", parquet.Int(32), parquet.Int32Value(2)},
	}
	for a := 1; a < len(all); a++ {
		agg := flowrecord.NewAggregator(flowrecord.Options{})
		d := newObjectDecoder(newLineReader(nil, agg))
		for _, n := range []int{a, 1, a + 1} {
			b := oneRowParquet(t, all[:n])
			if err := d.decodeParquet(bytesReaderAt(b), int64(len(b))); err != nil {
				t.Errorf("objects of %d, 1 and %d columns: the one of %d: %v", a, a+1, n, err)
			}
		}
		if got := d.lr.t.Events; got != 3 {
			t.Errorf("objects of %d, 1 and %d columns: %d rows read, want 3", a, a+1, got)
		}
		d.close()
	}
}
