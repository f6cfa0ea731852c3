package flowrecord

import (
	"cmp"
	"slices"
)

// spaceSaving counts weights per key in at most capacity counters, with the
// weighted Space-Saving algorithm (Metwally, Agrawal and El Abbadi, 2005).
// Until capacity distinct keys are seen every count is exact. After that a
// new key replaces the key with the smallest count and inherits that count
// as its error bound.
//
// The min-heap that finds the smallest count is built only when the table
// fills, so a table within its bound pays for nothing but the map.
type spaceSaving[K comparable] struct {
	capacity int
	compare  func(a, b K) int // orders keys to break ties deterministically
	index    map[K]int32
	entries  []ssEntry[K]
	heap     []int32 // entry indexes, a min-heap on count once the table is full
	evicted  bool
}

type ssEntry[K comparable] struct {
	key   K
	count uint64
	err   uint64 // count overstates the true count by at most err
	pos   int32  // position in heap
}

func newSpaceSaving[K comparable](capacity int, compare func(a, b K) int) *spaceSaving[K] {
	return &spaceSaving[K]{
		capacity: capacity,
		compare:  compare,
		index:    make(map[K]int32, min(capacity, 64)),
	}
}

func (s *spaceSaving[K]) full() bool { return len(s.entries) >= s.capacity }

func (s *spaceSaving[K]) add(k K, w uint64) {
	if i, ok := s.index[k]; ok {
		e := &s.entries[i]
		e.count += w
		if s.heap != nil {
			s.down(int(e.pos))
		}
		return
	}
	if !s.full() {
		s.index[k] = int32(len(s.entries))
		s.entries = append(s.entries, ssEntry[K]{key: k, count: w})
		if s.full() {
			s.buildHeap()
		}
		return
	}
	if s.capacity <= 0 {
		s.evicted = true
		return
	}
	i := s.heap[0]
	e := &s.entries[i]
	delete(s.index, e.key)
	s.index[k] = i
	e.key = k
	e.err = e.count
	e.count += w
	s.evicted = true
	s.down(0)
}

func (s *spaceSaving[K]) buildHeap() {
	s.heap = make([]int32, len(s.entries))
	for i := range s.entries {
		s.heap[i] = int32(i)
		s.entries[i].pos = int32(i)
	}
	for i := len(s.heap)/2 - 1; i >= 0; i-- {
		s.down(i)
	}
}

func (s *spaceSaving[K]) down(i int) {
	h := s.heap
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && s.entries[h[r]].count < s.entries[h[l]].count {
			m = r
		}
		if s.entries[h[i]].count <= s.entries[h[m]].count {
			return
		}
		h[i], h[m] = h[m], h[i]
		s.entries[h[i]].pos = int32(i)
		s.entries[h[m]].pos = int32(m)
		i = m
	}
}

// minCount is what a key absent from an evicting table may have had.
func (s *spaceSaving[K]) minCount() uint64 {
	if !s.evicted || len(s.heap) == 0 {
		return 0
	}
	return s.entries[s.heap[0]].count
}

// merge folds b into s as in the mergeable summaries of Agarwal et al.
// (2012): counts and errors add, a key missing from a table that evicted is
// charged that table's smallest count, and the largest counts are kept.
// While neither table evicted and the keys fit, the result is exact.
func (s *spaceSaving[K]) merge(b *spaceSaving[K]) {
	if len(b.entries) == 0 && !b.evicted {
		return
	}
	minA, minB := s.minCount(), b.minCount()
	merged := make([]ssEntry[K], 0, len(s.entries)+len(b.entries))
	for _, e := range s.entries {
		if j, ok := b.index[e.key]; ok {
			be := b.entries[j]
			e.count += be.count
			e.err += be.err
		} else {
			e.count += minB
			e.err += minB
		}
		merged = append(merged, e)
	}
	for _, be := range b.entries {
		if _, ok := s.index[be.key]; ok {
			continue
		}
		be.count += minA
		be.err += minA
		merged = append(merged, be)
	}
	evicted := s.evicted || b.evicted
	if len(merged) > s.capacity {
		s.sort(merged)
		merged = merged[:max(s.capacity, 0)]
		evicted = true
	}
	s.entries = merged
	s.evicted = evicted
	s.index = make(map[K]int32, len(merged))
	for i, e := range merged {
		s.index[e.key] = int32(i)
	}
	s.heap = nil
	if s.full() {
		s.buildHeap()
	}
}

// sort orders entries by count, largest first, then by key.
func (s *spaceSaving[K]) sort(es []ssEntry[K]) {
	slices.SortFunc(es, func(a, b ssEntry[K]) int {
		if c := cmp.Compare(b.count, a.count); c != 0 {
			return c
		}
		return s.compare(a.key, b.key)
	})
}

// top returns the k largest counts, ordered by count then key.
func (s *spaceSaving[K]) top(k int) []ssEntry[K] {
	es := slices.Clone(s.entries)
	s.sort(es)
	if len(es) > k {
		es = es[:k]
	}
	return es
}
