package flowrecord

import (
	"cmp"
	"slices"
)

// sketchTable keeps, for at most capacity keys, a record count and a
// HyperLogLog sketch of the distinct values each key reached, with the
// discipline of the top lists (spaceSaving): exact counts while no more
// than capacity keys arrive; past that a new key takes the slot of the key
// with the fewest records, inherits that count as its error, and starts an
// empty sketch, so that its distinct count may understate and the table is
// marked evicted. A scanner sends a record per probe, so it is among the
// keys with the most records and keeps its slot.
type sketchTable[K comparable] struct {
	capacity int
	compare  func(a, b K) int
	index    *table[K] // key → slot index
	slots    []sketchSlot[K]
	heap     []int32 // slot indexes, a min-heap on records; built at the first eviction
	evicted  bool
}

type sketchSlot[K comparable] struct {
	key                K
	records, err       uint64
	accepted, rejected uint64
	start, end         int64
	iface              string // the interface of the key's first record
	pos                int32
	distinct           hll
}

func newSketchTable[K comparable](capacity int, compare func(a, b K) int, hash func(K) uint64) *sketchTable[K] {
	return &sketchTable[K]{capacity: capacity, compare: compare, index: newTable(hash, min(capacity, 64))}
}

// slot returns k's slot, taking one (or the smallest one's) when k is new.
func (t *sketchTable[K]) slot(k K, iface string, start int64) *sketchSlot[K] {
	if i := t.index.get(k); i != nil {
		return &t.slots[*i]
	}
	if len(t.slots) < t.capacity {
		*t.index.ref(k) = uint64(len(t.slots))
		t.slots = append(t.slots, sketchSlot[K]{key: k, iface: iface, start: start, end: start})
		return &t.slots[len(t.slots)-1]
	}
	if t.capacity <= 0 {
		t.evicted = true
		return nil
	}
	if t.heap == nil {
		t.buildHeap()
	}
	i := t.heap[0]
	s := &t.slots[i]
	t.index.delete(s.key)
	*t.index.ref(k) = uint64(i)
	*s = sketchSlot[K]{key: k, err: s.records, records: s.records, iface: iface, start: start, end: start, pos: s.pos}
	t.evicted = true
	return s
}

// add counts one record of key k that reached the value hashed as v.
func (t *sketchTable[K]) add(k K, v uint64, accepted bool, iface string, start, end int64) {
	s := t.slot(k, iface, start)
	if s == nil {
		return
	}
	s.records++
	if accepted {
		s.accepted++
	} else {
		s.rejected++
	}
	s.start = min(s.start, start)
	s.end = max(s.end, end)
	s.distinct.add(v)
	if t.heap != nil {
		t.down(int(s.pos))
	}
}

func (t *sketchTable[K]) buildHeap() {
	t.heap = make([]int32, len(t.slots))
	for i := range t.slots {
		t.heap[i] = int32(i)
		t.slots[i].pos = int32(i)
	}
	for i := len(t.heap)/2 - 1; i >= 0; i-- {
		t.down(i)
	}
}

func (t *sketchTable[K]) down(i int) {
	h := t.heap
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && t.slots[h[r]].records < t.slots[h[l]].records {
			m = r
		}
		if t.slots[h[i]].records <= t.slots[h[m]].records {
			return
		}
		h[i], h[m] = h[m], h[i]
		t.slots[h[i]].pos = int32(i)
		t.slots[h[m]].pos = int32(m)
		i = m
	}
}

// merge folds b's slots into t: counts add and sketches unite for a key in
// both; a key new to t takes a slot as a new key would.
func (t *sketchTable[K]) merge(b *sketchTable[K], remap func(string) string) {
	for i := range b.slots {
		bs := &b.slots[i]
		s := t.slot(bs.key, remap(bs.iface), bs.start)
		if s == nil {
			continue
		}
		s.records += bs.records
		s.err += bs.err
		s.accepted += bs.accepted
		s.rejected += bs.rejected
		s.start = min(s.start, bs.start)
		s.end = max(s.end, bs.end)
		s.distinct.merge(&bs.distinct)
		if t.heap != nil {
			t.down(int(s.pos))
		}
	}
	t.evicted = t.evicted || b.evicted
}

// over returns the slots whose distinct count reaches at least, the
// largest first, then by key; at most limit of them.
func (t *sketchTable[K]) over(at uint64, limit int) []*sketchSlot[K] {
	var out []*sketchSlot[K]
	for i := range t.slots {
		if t.slots[i].distinct.estimate() >= at {
			out = append(out, &t.slots[i])
		}
	}
	slices.SortFunc(out, func(a, b *sketchSlot[K]) int {
		if c := cmp.Compare(b.distinct.estimate(), a.distinct.estimate()); c != 0 {
			return c
		}
		return t.compare(a.key, b.key)
	})
	return out[:min(len(out), limit)]
}
