package digest

import (
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord/flowrecordtest"
)

// maxFuzzAllocBytes bounds what decoding one fuzzed object twice may
// allocate in all. An object's column chunk is at most
// maxColumnChunkBytes uncompressed, checked page header by page header
// as pageReader reads it, and its dictionaries held once are bounded by
// maxPreparsedBytes; a few-KB object whose pages declare more than they
// hold is refused before the declared sizes are allocated. What is left
// is the footer parquet-go reads, the buffers of each column, and the
// few pages a small object holds, far under this.
const maxFuzzAllocBytes = 256 << 20

// FuzzDecodeParquet decodes arbitrary bytes as a Parquet object: anyone
// who can write the bucket chooses them. Decoding must return (an error
// for a bad object, never a panic: one that decodeParquet recovers fails
// the input too, so that a check can refuse it before the code that
// panicked reads it), allocate within maxFuzzAllocBytes,
// and leave the decoder as it found it: the same object decoded again by
// the same decoder, as the next object of a run is, gives the same error
// and the same counts.
func FuzzDecodeParquet(f *testing.F) {
	for _, seed := range fuzzParquetSeeds(f) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		agg := flowrecord.NewAggregator(flowrecord.Options{TopK: 10, MalformedSamples: 5})
		d := newObjectDecoder(newLineReader(nil, agg))
		defer d.close()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		err1 := d.decodeParquet(bytesReaderAt(b), int64(len(b)))
		first := d.lr.t
		err2 := d.decodeParquet(bytesReaderAt(b), int64(len(b)))
		second := d.lr.t
		runtime.ReadMemStats(&after)
		if grew := after.TotalAlloc - before.TotalAlloc; grew > maxFuzzAllocBytes {
			t.Errorf("decoding a %d-byte object twice allocated %d MiB, more than %d MiB", len(b), grew>>20, maxFuzzAllocBytes>>20)
		}
		if errors.Is(err1, errParquetPanic) || errors.Is(err2, errParquetPanic) {
			t.Errorf("decoding panicked: %v; %v", err1, err2)
		}
		if errString(err1) != errString(err2) {
			t.Errorf("the same object decoded again by the same decoder: %v, first %v", err2, err1)
		}
		events := second.Events - first.Events
		accepted := second.AcceptedBytes - first.AcceptedBytes
		rejected := second.RejectedBytes - first.RejectedBytes
		if events != first.Events || accepted != first.AcceptedBytes || rejected != first.RejectedBytes {
			t.Errorf("decoded again: %d events, %d accepted and %d rejected bytes; first %d, %d and %d",
				events, accepted, rejected, first.Events, first.AcceptedBytes, first.RejectedBytes)
		}
	})
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// fuzzParquetSeeds returns small valid objects, a few KB each, in the
// layouts the decoder reads: plain and dictionary-encoded, optional and
// required, compressed or not, pages and row groups smaller than the
// object, and a one-row object of two columns.
func fuzzParquetSeeds(tb testing.TB) [][]byte {
	var seeds [][]byte
	for i, v := range []parquetVariant{
		{groupRows: 100},
		{dictionary: true, groupRows: 100},
		{dictionary: true, pageBytes: 256, groupRows: 4},
		{required: true, groupRows: 100, uncompressed: true},
		{pageBytes: 256, groupRows: 3, uncompressed: true},
		{dictionary: true, groupRows: 100, uncompressed: true},
	} {
		cfg := flowrecordtest.Config{Seed: int64(40 + i), Records: 8, Interfaces: 2}
		if v.required {
			cfg.NoDataShare, cfg.SkipDataShare = -1, -1
		}
		g := flowrecordtest.NewGenerator(cfg)
		var lines []string
		for g.Next() {
			lines = append(lines, g.Line())
		}
		seeds = append(seeds, writeVariantParquet(tb, g.Format(), lines, v))
	}
	str := func(s string) parquet.Value { return parquet.ByteArrayValue([]byte(s)) }
	seeds = append(seeds, oneRowParquet(tb, []hostileColumn{
		{"account_id", parquet.String(), str("123456789012")},
		{"action", parquet.String(), str("ACCEPT")},
	}))
	return seeds
}

// panickyReaderAt panics on its read number at, counting from 1: a panic
// inside the decoder, wherever it reads the object.
type panickyReaderAt struct {
	b         []byte
	reads, at int
}

func (p *panickyReaderAt) ReadAt(b []byte, off int64) (int, error) {
	if p.reads++; p.reads == p.at {
		panic("a read made to panic")
	}
	return bytesReaderAt(p.b).ReadAt(b, off)
}

// TestParquetPanicIsRecovered proves that a panic while reading an object,
// at any of its reads, makes that object's error, and that the decoder
// then reads a good object exactly as a new decoder does.
func TestParquetPanicIsRecovered(t *testing.T) {
	seeds := fuzzParquetSeeds(t)
	good := seeds[1] // dictionary-encoded: dictionaries read once are dropped and read again
	want, wantT := decodeSummary(t, good, true)
	for _, bad := range seeds[:3] {
		for at := 1; ; at++ {
			agg := flowrecord.NewAggregator(flowrecord.Options{TopK: 10, MalformedSamples: 20})
			d := newObjectDecoder(newLineReader(nil, agg))
			r := &panickyReaderAt{b: bad, at: at}
			err := d.decodeParquet(r, int64(len(bad)))
			if r.reads < at {
				break // every read has been made to panic
			}
			if err == nil || !strings.Contains(err.Error(), "a read made to panic") {
				t.Fatalf("read %d panicked: decodeParquet returned %v, want the panic as its error", at, err)
			}
			before, recs := d.lr.t, agg.Summary().Totals.Records
			if err := d.decodeParquet(bytesReaderAt(good), int64(len(good))); err != nil {
				t.Fatalf("after a panic at read %d: %v", at, err)
			}
			ev, rec := d.lr.t.Events-before.Events, agg.Summary().Totals.Records-recs
			if ev != wantT.Events || rec != want.Totals.Records {
				t.Errorf("after a panic at read %d: %d events, %d records; want %d and %d", at, ev, rec, wantT.Events, want.Totals.Records)
			}
			d.close()
		}
	}
}
