package digest

import (
	"runtime"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord/flowrecordtest"
)

// maxFuzzAllocBytes bounds what decoding one fuzzed object twice may
// allocate in all. An object's column chunk is at most
// maxColumnChunkBytes uncompressed, checked page header by page header
// before parquet-go reads a page, and its dictionaries held once are
// bounded by maxPreparsedBytes; a few-KB object whose pages declare more
// than they hold is refused before the declared sizes are allocated.
// What is left is parquet-go's per-object state (the footer, a page
// buffer of each column) and the decompression of the few pages a small
// object holds, far under this.
const maxFuzzAllocBytes = 256 << 20

// FuzzDecodeParquet decodes arbitrary bytes as a Parquet object: anyone
// who can write the bucket chooses them. Decoding must return (an error
// for a bad object, never a panic), allocate within maxFuzzAllocBytes,
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
