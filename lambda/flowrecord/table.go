package flowrecord

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"net/netip"
)

// table maps keys to uint64 values by open addressing with linear probing,
// at most three quarters full. Against a Go map it saves the generic hashing of the
// 48-byte talker keys and the map's bookkeeping: the top-list updates are
// two of the few things the aggregator does per record.
type table[K comparable] struct {
	hash  func(K) uint64
	slots []slot[K] // a power of two of them
	shift uint      // 64 - log2(len(slots))
	n     int
}

type slot[K comparable] struct {
	key  K
	val  uint64
	used bool
}

const minTableSlots = 16

func newTable[K comparable](hash func(K) uint64, hint int) *table[K] {
	t := &table[K]{hash: hash}
	t.alloc(max(minTableSlots, 1<<bits.Len(uint(hint+hint/3))))
	return t
}

func (t *table[K]) alloc(slots int) {
	t.slots = make([]slot[K], slots)
	t.shift = uint(64 - bits.TrailingZeros(uint(slots)))
}

// home returns the first slot to probe for a hash: its top bits, after a
// multiply that spreads every input bit upward.
func (t *table[K]) home(h uint64) int {
	return int((h * 0x9e3779b97f4a7c15) >> t.shift)
}

func (t *table[K]) len() int { return t.n }

// get returns a pointer to k's value, or nil when k is absent. The pointer
// is good until the next insertion or deletion.
func (t *table[K]) get(k K) *uint64 {
	mask := len(t.slots) - 1
	for i := t.home(t.hash(k)); ; i = (i + 1) & mask {
		s := &t.slots[i]
		if !s.used {
			return nil
		}
		if s.key == k {
			return &s.val
		}
	}
}

// ref returns a pointer to k's value, inserting k with value 0 when absent.
// The pointer is good until the next insertion or deletion.
func (t *table[K]) ref(k K) *uint64 {
	mask := len(t.slots) - 1
	i := t.home(t.hash(k))
	for ; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if !s.used {
			break
		}
		if s.key == k {
			return &s.val
		}
	}
	if 4*(t.n+1) > 3*len(t.slots) {
		t.grow()
		return t.ref(k)
	}
	s := &t.slots[i]
	s.key, s.used = k, true
	t.n++
	return &s.val
}

func (t *table[K]) grow() {
	old := t.slots
	t.alloc(2 * len(old))
	mask := len(t.slots) - 1
	for _, o := range old {
		if !o.used {
			continue
		}
		i := t.home(t.hash(o.key))
		for t.slots[i].used {
			i = (i + 1) & mask
		}
		t.slots[i] = o
	}
}

// delete removes k, shifting back the entries that probed past its slot so
// that no lookup ends early.
func (t *table[K]) delete(k K) {
	mask := len(t.slots) - 1
	i := t.home(t.hash(k))
	for ; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if !s.used {
			return
		}
		if s.key == k {
			break
		}
	}
	t.n--
	for j := (i + 1) & mask; t.slots[j].used; j = (j + 1) & mask {
		// The entry at j may move to the hole at i when its home is not
		// in the cyclic range (i, j].
		if h := t.home(t.hash(t.slots[j].key)); (j-h)&mask >= (j-i)&mask {
			t.slots[i] = t.slots[j]
			i = j
		}
	}
	t.slots[i] = slot[K]{}
}

// all calls yield for every key and value, in no particular order.
func (t *table[K]) all(yield func(K, uint64)) {
	for i := range t.slots {
		if s := &t.slots[i]; s.used {
			yield(s.key, s.val)
		}
	}
}

// Hashes for the three key types. Whoever sends packets to an interface
// chooses the source addresses and ports its flow records show (a scanner
// spoofing sources, say), so the hashes are seeded per process, as Go's
// own map hashes are: without the seed nobody can pick keys that all land
// in one probe run and make every record walk it.

// hashSeed is drawn once per process.
var hashSeed = rand.Uint64()

// mix folds x with the seed through a 64-by-64-bit multiply, as wyhash
// does.
func mix(x uint64) uint64 {
	hi, lo := bits.Mul64(x^hashSeed, 0x9e3779b97f4a7c15)
	return hi ^ lo
}

func hashPort(k uint32) uint64 { return mix(uint64(k)) }

func hashAddr(a netip.Addr) uint64 { return addrHash(a, 0) }

func hashTalker(k talkerKey) uint64 { return addrHash(k.dst, addrHash(k.src, 0)) }

// addrHash folds address a into the running hash h. An IPv4 address is
// one word; an IPv6 address two, each mixed in with the seed in turn: a
// fold of the two words into one before the seed could be inverted, so
// that anyone could choose sources of one /48 that all hash alike.
// Equality still tells an IPv4 address from the same address mapped into
// IPv6.
func addrHash(a netip.Addr, h uint64) uint64 {
	if a.Is4() {
		b := a.As4()
		return mix(h ^ uint64(binary.LittleEndian.Uint32(b[:])))
	}
	// AppendBinary stores the address as two eight-byte words, which the
	// loads below take straight from the store buffer; the array As16
	// returns is copied through memory in a way they cannot, and costs
	// twice as much.
	var buf [16]byte
	b, _ := a.AppendBinary(buf[:0])
	if len(b) < 16 {
		return mix(h) // the zero Addr
	}
	return mix(mix(h^binary.LittleEndian.Uint64(b[:8])) ^ binary.LittleEndian.Uint64(b[8:16]))
}
