package flowrecord

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// TestTableAgainstMap runs random insertions, updates and deletions on a
// table and on a Go map and compares them after every step. The weak hash
// makes long probe runs, so that deletion must shift entries back across
// them and across the end of the slot array.
func TestTableAgainstMap(t *testing.T) {
	for _, hash := range []struct {
		name string
		fn   func(uint32) uint64
	}{
		{"identity", hashPort},
		{"four buckets", func(k uint32) uint64 { return uint64(k % 4) }},
		{"one bucket", func(uint32) uint64 { return 0 }},
		// Keys whose home is the last slot, at any size, so that probing
		// and shifting back wrap around the end of the slots.
		{"last slot wraps", func(k uint32) uint64 { return lastSlotHash - uint64(k%2)*goldenInverse<<60 }},
	} {
		t.Run(hash.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			tb := newTable(hash.fn, 0)
			want := map[uint32]uint64{}
			for step := range 20_000 {
				k := rng.Uint32N(200)
				switch rng.IntN(3) {
				case 0, 1:
					w := uint64(rng.IntN(10) + 1)
					*tb.ref(k) += w
					want[k] += w
				case 2:
					tb.delete(k)
					delete(want, k)
				}
				if tb.len() != len(want) {
					t.Fatalf("step %d: len %d, want %d", step, tb.len(), len(want))
				}
				if step%97 == 0 || rng.IntN(10) == 0 {
					for k, v := range want {
						if got := tb.get(k); got == nil || *got != v {
							t.Fatalf("step %d: key %d: got %v, want %d", step, k, got, v)
						}
					}
					n := 0
					tb.all(func(k uint32, v uint64) {
						n++
						if want[k] != v {
							t.Fatalf("step %d: all yields %d=%d, want %d", step, k, v, want[k])
						}
					})
					if n != len(want) {
						t.Fatalf("step %d: all yields %d keys, want %d", step, n, len(want))
					}
				}
			}
		})
	}
}

func TestTableAddrKeys(t *testing.T) {
	// An IPv4 address and its IPv4-mapped IPv6 form are different keys
	// with the same 16 bytes.
	v4 := netip.MustParseAddr("10.0.0.1")
	mapped := netip.MustParseAddr("::ffff:10.0.0.1")
	tb := newTable(hashAddr, 0)
	*tb.ref(v4) += 1
	*tb.ref(mapped) += 2
	if tb.len() != 2 || *tb.get(v4) != 1 || *tb.get(mapped) != 2 {
		t.Fatalf("v4 and v4-mapped keys merged: len %d", tb.len())
	}
	tb.delete(v4)
	if tb.get(v4) != nil || *tb.get(mapped) != 2 {
		t.Fatal("deleting the IPv4 key touched the mapped one")
	}
}

// goldenInverse is the multiplicative inverse of the table's multiplier
// modulo 2^64; lastSlotHash is a hash that the table homes at its last
// slot: multiplied back, it gives all ones.
var (
	goldenInverse = func() uint64 {
		const g = 0x9e3779b97f4a7c15
		x := uint64(g) // Newton's iteration doubles the correct low bits
		for range 6 {
			x *= 2 - g*x
		}
		return x
	}()
	lastSlotHash = ^uint64(0) * goldenInverse
)

func TestTableHomes(t *testing.T) {
	tb := newTable(hashPort, 0)
	if got := tb.home(lastSlotHash); got != len(tb.slots)-1 {
		t.Fatalf("home(lastSlotHash) = %d, want %d", got, len(tb.slots)-1)
	}
}

// TestSeededHashesResistFlooding finds IPv4 addresses that all land in one
// slot of a table under one seed, as someone who knew the seed could, and
// checks that under another seed they spread out. Flow record addresses
// are partly chosen by whoever sends packets, so the hashes must not be
// predictable from one process to the next.
func TestSeededHashesResistFlooding(t *testing.T) {
	saved := hashSeed
	defer func() { hashSeed = saved }()

	const keys = 1000
	hashSeed = 0x243f6a8885a308d3
	probe := newTable(hashAddr, keys) // only its size and homes are used
	var crafted []netip.Addr
	for x := uint32(0); len(crafted) < keys; x++ {
		a := netip.AddrFrom4([4]byte{byte(x >> 24), byte(x >> 16), byte(x >> 8), byte(x)})
		if probe.home(hashAddr(a)) == 0 {
			crafted = append(crafted, a)
		}
	}
	longestRun := func() int {
		tb := newTable(hashAddr, keys)
		for _, a := range crafted {
			*tb.ref(a)++
		}
		longest, run := 0, 0
		for _, s := range append(tb.slots, tb.slots...) { // runs may wrap
			if s.used {
				run++
				longest = max(longest, run)
			} else {
				run = 0
			}
		}
		return min(longest, len(tb.slots))
	}
	if got := longestRun(); got < keys {
		t.Fatalf("under the seed they were crafted for, the keys make a run of %d slots, want %d: the test no longer crafts collisions", got, keys)
	}
	hashSeed = 0x13198a2e03707344
	if got := longestRun(); got > 40 {
		t.Errorf("under another seed the crafted keys still make a run of %d slots", got)
	}
}
