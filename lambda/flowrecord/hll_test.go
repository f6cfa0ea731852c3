package flowrecord

import (
	"fmt"
	"math"
	"testing"
)

// TestHLLError checks the sketch's estimates against the true distinct
// counts, from a few values (linear counting) to many (the raw HLL
// estimate), within three standard errors, and that merging two sketches
// estimates their union.
func TestHLLError(t *testing.T) {
	for _, n := range []int{1, 10, 25, 100, 320, 1000, 10_000, 100_000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			var a, b hll
			for i := range n {
				v := valueHash(uint64(i))
				if i%2 == 0 {
					a.add(v)
				} else {
					b.add(v)
				}
				b.add(valueHash(uint64(i))) // b sees everything once
			}
			a.merge(&b)
			got := float64(a.estimate())
			if rel := math.Abs(got-float64(n)) / float64(n); rel > 3*HLLStandardError {
				t.Errorf("%d distinct values estimated as %.0f: %.1f%% off, more than three standard errors", n, got, 100*rel)
			}
		})
	}
	var empty hll
	if got := empty.estimate(); got != 0 {
		t.Errorf("an empty sketch estimates %d", got)
	}
}

// TestSketchTableBound checks that a sketch table never holds more than its
// capacity, marks itself evicted past it, and keeps a key with many
// records while thousands of one-record keys pass through.
func TestSketchTableBound(t *testing.T) {
	st := newSketchTable(64, func(a, b uint32) int { return int(a) - int(b) }, hashPort)
	for i := range 10_000 {
		st.add(uint32(1_000_000+i), valueHash(uint64(i)), false, "", 0, 0)
		st.add(7, valueHash(uint64(i%300)), true, "eni-x", 0, 0)
	}
	if len(st.slots) > 64 || !st.evicted {
		t.Fatalf("%d slots, evicted %v; want at most 64 and evicted", len(st.slots), st.evicted)
	}
	heavy := st.over(250, 10)
	if len(heavy) != 1 || heavy[0].key != 7 || heavy[0].records != 10_000 {
		t.Fatalf("heavy keys %v; want key 7 with 10000 records", heavy)
	}
}
