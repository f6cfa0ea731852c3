package digest

import (
	"context"
	"testing"
	"time"

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
)

// An empty page with a nextToken is not the end of a slice (a fake: moto
// never answers one).
func TestEmptyPagesAreNotTheEnd(t *testing.T) {
	const records = 30_000
	for _, every := range []int64{0, 2, 3} {
		src := newPageSource(t, records, benchWindow, 8)
		src.emptyEvery = every
		ctx := context.Background()
		r := &reader{api: src, group: "g", fs: defaultFormats(), opts: flowrecord.Options{}, pageLimit: 1000}
		out, err := r.readSlices(ctx, ctx, benchWindow.slices(10*time.Minute), 2)
		if err != nil {
			t.Fatal(err)
		}
		s := out.agg.Summary()
		if got := s.Totals.Records + s.Malformed.Count; got != records || out.finished != 6 || out.t.OutsideWindow != 0 {
			t.Errorf("empty page every %d calls: %d records in %d slices (%d outside), want %d in 6", every, got, out.finished, out.t.OutsideWindow, records)
		}
	}
}
