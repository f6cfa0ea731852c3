package flowrecord

import (
	"math/rand/v2"
	"testing"
)

// TestSlotHeap proves the heap the evicting tables share keeps the slot of
// the smallest count on top and each slot's position right, after builds
// of several sizes and random growth of random slots.
func TestSlotHeap(t *testing.T) {
	for _, tt := range []struct {
		name    string
		n       int
		updates int
	}{
		{"one slot", 1, 50},
		{"two slots", 2, 50},
		{"odd size", 7, 500},
		{"many slots", 1000, 20_000},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(tt.n)))
			counts := make([]uint64, tt.n)
			for i := range counts {
				counts[i] = rng.Uint64N(100)
			}
			var h slotHeap
			h.build(tt.n, func(i int) uint64 { return counts[i] })
			check := func() {
				t.Helper()
				smallest := counts[0]
				for _, c := range counts {
					smallest = min(smallest, c)
				}
				if got := counts[h.min()]; got != smallest {
					t.Fatalf("min() is a slot of count %d, want %d", got, smallest)
				}
				for slot := range counts {
					if n := h.nodes[h.pos[slot]]; int(n.slot) != slot || n.count != counts[slot] {
						t.Fatalf("slot %d: node %+v, count %d", slot, n, counts[slot])
					}
				}
			}
			check()
			for range tt.updates {
				slot := rng.IntN(tt.n)
				if rng.IntN(2) == 0 {
					slot = h.min() // the tables grow the smallest when they evict
				}
				counts[slot] += rng.Uint64N(50)
				h.update(slot, counts[slot])
				check()
			}
		})
	}
}
