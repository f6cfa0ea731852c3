package flowrecord

import (
	"encoding/binary"
	"fmt"
	"math/bits"
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

// longestRun inserts keys into a table sized for them and returns the
// longest run of occupied slots, which every lookup of a key in it walks.
func longestRun[K comparable](hash func(K) uint64, keys []K) int {
	tb := newTable(hash, len(keys))
	for _, k := range keys {
		*tb.ref(k)++
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

// collidingIPv6 returns n addresses of 2001:db8:1234::/48 that an attacker
// can choose without knowing the seed: each /64 of the /48 with an
// interface part that cancels its prefix under the fold addrWord used to
// apply before seeding (prefix times a constant, rotated, XOR the interface
// part). Under that fold all of them hash alike under every seed.
func collidingIPv6(n int) []netip.Addr {
	const target = 0x5bd1e995
	out := make([]netip.Addr, 0, n)
	for i := range n {
		var b [16]byte
		binary.BigEndian.PutUint64(b[:8], uint64(0x20010db81234)<<16|uint64(i))
		// The fold read the address as two little-endian words.
		hi := binary.LittleEndian.Uint64(b[:8])
		binary.LittleEndian.PutUint64(b[8:], target^bits.RotateLeft64(hi*0xbf58476d1ce4e5b9, 31))
		out = append(out, netip.AddrFrom16(b))
	}
	return out
}

// TestSeededHashesResistFlooding checks that keys crafted to collide do not
// collide under another seed. Flow record addresses are partly chosen by
// whoever sends packets, so the hashes must not be predictable from one
// process to the next. The IPv4 keys all land in one slot under a seed
// that an attacker is assumed to know; the IPv6 keys, sources from one /48,
// need no seed at all against a hash that folds an address to a word
// before seeding it (the code before this test made each record about 45
// times slower with 10,000 of them); the talker keys pair them with one
// destination.
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
	if got := longestRun(hashAddr, crafted); got < keys {
		t.Fatalf("under the seed they were crafted for, the IPv4 keys make a run of %d slots, want %d: the test no longer crafts collisions", got, keys)
	}
	v6 := collidingIPv6(keys)
	dst := netip.MustParseAddr("2001:db8:ffff::1")
	talkers := make([]talkerKey, 0, keys)
	for _, a := range v6 {
		talkers = append(talkers, talkerKey{a, dst})
	}
	for _, seed := range []uint64{0x13198a2e03707344, 0xa4093822299f31d0} {
		hashSeed = seed
		for _, c := range []struct {
			name string
			run  int
		}{
			{"IPv4 sources crafted for another seed", longestRun(hashAddr, crafted)},
			{"IPv6 sources of one /48", longestRun(hashAddr, v6)},
			{"IPv6 talkers of one /48", longestRun(hashTalker, talkers)},
		} {
			t.Run(fmt.Sprintf("%s, seed %#x", c.name, seed), func(t *testing.T) {
				if c.run > 40 {
					t.Errorf("the crafted keys make a run of %d slots", c.run)
				}
			})
		}
	}
}
