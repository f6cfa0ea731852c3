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
	heap     slotHeap // the slots, on records; built at the first eviction
	evicted  bool
}

type sketchSlot[K comparable] struct {
	key                K
	records, err       uint64
	accepted, rejected uint64
	start, end         int64
	iface              string // the interface of the key's first record
	distinct           hll
}

func newSketchTable[K comparable](capacity int, compare func(a, b K) int, hash func(K) uint64) *sketchTable[K] {
	return &sketchTable[K]{capacity: capacity, compare: compare, index: newTable(hash, min(capacity, 64))}
}

// slot returns k's slot and its index, taking one (or the smallest one's)
// when k is new; nil when the table holds none.
func (t *sketchTable[K]) slot(k K, iface string, start int64) (int, *sketchSlot[K]) {
	if i := t.index.get(k); i != nil {
		return int(*i), &t.slots[*i]
	}
	if len(t.slots) < t.capacity {
		*t.index.ref(k) = uint64(len(t.slots))
		t.slots = append(t.slots, sketchSlot[K]{key: k, iface: iface, start: start, end: start})
		return len(t.slots) - 1, &t.slots[len(t.slots)-1]
	}
	if t.capacity <= 0 {
		t.evicted = true
		return 0, nil
	}
	if !t.heap.built() {
		t.heap.build(len(t.slots), func(i int) uint64 { return t.slots[i].records })
	}
	i := t.heap.min()
	s := &t.slots[i]
	t.index.delete(s.key)
	*t.index.ref(k) = uint64(i)
	*s = sketchSlot[K]{key: k, err: s.records, records: s.records, iface: iface, start: start, end: start}
	t.evicted = true
	return i, s
}

// add counts one record of key k that reached the value hashed as v.
func (t *sketchTable[K]) add(k K, v uint64, accepted bool, iface string, start, end int64) {
	i, s := t.slot(k, iface, start)
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
	if t.heap.built() {
		t.heap.update(i, s.records)
	}
}

// merge folds b's slots into t: counts add and sketches unite for a key in
// both; a key new to t takes a slot as a new key would.
func (t *sketchTable[K]) merge(b *sketchTable[K], remap func(string) string) {
	for i := range b.slots {
		bs := &b.slots[i]
		j, s := t.slot(bs.key, remap(bs.iface), bs.start)
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
		if t.heap.built() {
			t.heap.update(j, s.records)
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
