package flowrecord

import (
	"cmp"
	"slices"
)

// spaceSaving counts weights per key in at most capacity counters, with the
// weighted Space-Saving algorithm (Metwally, Agrawal and El Abbadi, 2005).
// Until a key beyond capacity arrives every count is exact. From then on a
// new key replaces the key with the smallest count and inherits that count
// as its error bound.
//
// A table starts in an exact phase, a plain map of counts that costs one
// map update per key, and moves to the Space-Saving phase (entries, an
// index and a min-heap on count) only when it must first evict.
type spaceSaving[K comparable] struct {
	capacity int
	compare  func(a, b K) int // orders keys to break ties deterministically
	hash     func(K) uint64

	exact *table[K] // counts in the exact phase; nil in the Space-Saving phase

	index   *table[K] // entry index of each key in the Space-Saving phase
	entries []ssEntry[K]
	heap    slotHeap // the entries, on count
	evicted bool
}

type ssEntry[K comparable] struct {
	key   K
	count uint64
	err   uint64 // count overstates the true count by at most err
}

func newSpaceSaving[K comparable](capacity int, compare func(a, b K) int, hash func(K) uint64) *spaceSaving[K] {
	return &spaceSaving[K]{
		capacity: capacity,
		compare:  compare,
		hash:     hash,
		exact:    newTable(hash, min(capacity, 64)),
	}
}

func (s *spaceSaving[K]) len() int {
	if s.exact != nil {
		return s.exact.len()
	}
	return len(s.entries)
}

func (s *spaceSaving[K]) add(k K, w uint64) {
	if s.exact != nil {
		if s.exact.len() < s.capacity {
			*s.exact.ref(k) += w
			return
		}
		if c := s.exact.get(k); c != nil {
			*c += w
			return
		}
		if s.capacity <= 0 {
			s.evicted = true
			return
		}
		s.load(s.list(), false)
	}
	if i := s.index.get(k); i != nil {
		e := &s.entries[*i]
		e.count += w
		s.heap.update(int(*i), e.count)
		return
	}
	i := s.heap.min()
	e := &s.entries[i]
	s.index.delete(e.key)
	*s.index.ref(k) = uint64(i)
	e.key = k
	e.err = e.count
	e.count += w
	s.evicted = true
	s.heap.update(i, e.count)
}

// list returns the counters as entries, in no particular order.
func (s *spaceSaving[K]) list() []ssEntry[K] {
	if s.exact == nil {
		return slices.Clone(s.entries)
	}
	es := make([]ssEntry[K], 0, s.exact.len())
	s.exact.all(func(k K, c uint64) {
		es = append(es, ssEntry[K]{key: k, count: c})
	})
	return es
}

// load replaces the counters with es, in the exact phase when exact is
// set, else in the Space-Saving phase.
func (s *spaceSaving[K]) load(es []ssEntry[K], exact bool) {
	if exact {
		s.exact = newTable(s.hash, len(es))
		for _, e := range es {
			*s.exact.ref(e.key) = e.count
		}
		s.index, s.entries, s.heap = nil, nil, slotHeap{}
		return
	}
	s.exact = nil
	s.entries = es
	s.index = newTable(s.hash, len(es))
	for i := range es {
		*s.index.ref(es[i].key) = uint64(i)
	}
	s.heap.build(len(es), func(i int) uint64 { return es[i].count })
}

// minCount is what a key absent from a table that evicted may have had.
func (s *spaceSaving[K]) minCount() uint64 {
	if !s.evicted || s.heap.len() == 0 {
		return 0
	}
	return s.entries[s.heap.min()].count
}

// merge folds b into s as in the mergeable summaries of Agarwal et al.
// (2012): counts and errors add, a key missing from a table that evicted is
// charged that table's smallest count, and the largest counts are kept.
// While neither table evicted and the keys fit, the result is exact.
func (s *spaceSaving[K]) merge(b *spaceSaving[K]) {
	if b.len() == 0 && !b.evicted {
		return
	}
	minA, minB := s.minCount(), b.minCount()
	as, bs := s.list(), b.list()
	inB := make(map[K]int, len(bs))
	for i, e := range bs {
		inB[e.key] = i
	}
	merged := make([]ssEntry[K], 0, len(as)+len(bs))
	inA := make(map[K]bool, len(as))
	for _, e := range as {
		inA[e.key] = true
		if j, ok := inB[e.key]; ok {
			e.count += bs[j].count
			e.err += bs[j].err
		} else {
			e.count += minB
			e.err += minB
		}
		merged = append(merged, e)
	}
	for _, e := range bs {
		if inA[e.key] {
			continue
		}
		e.count += minA
		e.err += minA
		merged = append(merged, e)
	}
	s.evicted = s.evicted || b.evicted
	if len(merged) > s.capacity {
		s.sort(merged)
		merged = merged[:max(s.capacity, 0)]
		s.evicted = true
	}
	s.load(merged, !s.evicted)
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
	es := s.list()
	s.sort(es)
	if len(es) > k {
		es = es[:k]
	}
	return es
}
