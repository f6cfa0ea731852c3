package digest

import (
	"cmp"
	"slices"
)

// topMerger merges the top lists of many digests into one (the
// organization roll-up), keeping Space-Saving's convention that a count
// may overstate, by at most its MaxError, and never understates.
//
// A digest's list of TopK entries (full) may have left a key out whose
// count there was at most the list's smallest count; a shorter list left
// nothing out. So a key's merged count is the sum of its listed counts
// plus, for every full list that does not hold it, that list's smallest
// count; its MaxError is the sum of its listed MaxErrors plus those same
// smallest counts. This is the merge of mergeable summaries (Agarwal et
// al., 2012) applied to already cut lists: the result is approximate
// whenever any MaxError is above 0, and the roll-up says so.
//
// Memory is one entry per distinct key listed: at most TopK keys per
// account-region and list (17,000 account-regions × 10 keys × 3 lists is
// about 510,000 entries, some 40 MB at the worst, when no key repeats).
type topMerger[K comparable] struct {
	compare func(a, b K) int // orders keys to break ties, so that equal inputs give the same list
	entries map[K]*mergeEntry
	// floor is the sum of the smallest counts of the full lists so far.
	floor uint64
}

type mergeEntry struct {
	count, maxErr uint64
	// floorSeen is the part of floor from full lists that held the key.
	floorSeen uint64
}

func newTopMerger[K comparable](compare func(a, b K) int) *topMerger[K] {
	return &topMerger[K]{compare: compare, entries: map[K]*mergeEntry{}}
}

// addList merges one digest's list, given as a sequence of (key, count,
// maxError), largest first; full says the list had TopK entries.
func (m *topMerger[K]) addList(full bool, list func(yield func(K, uint64, uint64))) {
	var smallest uint64
	first := true
	var keys []K
	list(func(k K, c, e uint64) {
		if first || c < smallest {
			smallest, first = c, false
		}
		keys = append(keys, k)
		x, ok := m.entries[k]
		if !ok {
			x = &mergeEntry{}
			m.entries[k] = x
		}
		x.count += c
		x.maxErr += e
	})
	if !full || first {
		return
	}
	m.floor += smallest
	for _, k := range keys {
		m.entries[k].floorSeen += smallest
	}
}

type merged[K comparable] struct {
	key           K
	count, maxErr uint64
}

// top returns the k keys with the largest merged counts, ties broken by
// the smaller error and then by the key. It keeps the best k in a sorted
// slice while it scans, so the cost is one pass over the keys, not a sort
// of them all.
func (m *topMerger[K]) top(k int) []merged[K] {
	better := func(a, b merged[K]) int {
		return cmp.Or(cmp.Compare(b.count, a.count), cmp.Compare(a.maxErr, b.maxErr), m.compare(a.key, b.key))
	}
	best := make([]merged[K], 0, k+1)
	for key, x := range m.entries {
		unseen := m.floor - x.floorSeen
		e := merged[K]{key: key, count: x.count + unseen, maxErr: x.maxErr + unseen}
		if len(best) == k && (k == 0 || better(e, best[k-1]) >= 0) {
			continue
		}
		i, _ := slices.BinarySearchFunc(best, e, better)
		best = slices.Insert(best, i, e)
		if len(best) > k {
			best = best[:k]
		}
	}
	return best
}
