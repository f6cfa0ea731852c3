package flowrecord

// slotHeap is an indexed binary min-heap over a table's slots 0..n-1, on a
// count each slot carries: the tables that, once full, give the slot of
// the key with the smallest count to a new key (spaceSaving's top lists,
// sketchTable's per-source sketches) share it. Each node keeps a copy of
// its slot's count, so that sifting reads the heap's own array rather than
// the tables' larger slots, and pos finds a slot's node. Counts only grow
// (a table adds records or merges counts), so a changed count only sifts
// down.
type slotHeap struct {
	nodes []heapNode // a min-heap on count
	pos   []int32    // by slot: the index of its node
}

type heapNode struct {
	count uint64
	slot  int32
}

// build makes the heap of slots 0..n-1 with the given counts.
func (h *slotHeap) build(n int, count func(slot int) uint64) {
	h.nodes = make([]heapNode, n)
	h.pos = make([]int32, n)
	for i := range n {
		h.nodes[i] = heapNode{count: count(i), slot: int32(i)}
		h.pos[i] = int32(i)
	}
	for i := n/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

// built reports whether build has made the heap.
func (h *slotHeap) built() bool { return h.nodes != nil }

// len returns the number of slots in the heap.
func (h *slotHeap) len() int { return len(h.nodes) }

// min returns the slot with the smallest count; the heap must not be empty.
func (h *slotHeap) min() int { return int(h.nodes[0].slot) }

// update records that slot's count grew to count.
func (h *slotHeap) update(slot int, count uint64) {
	i := h.pos[slot]
	h.nodes[i].count = count
	h.down(int(i))
}

func (h *slotHeap) down(i int) {
	nodes := h.nodes
	n := len(nodes)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && nodes[r].count < nodes[l].count {
			m = r
		}
		if nodes[i].count <= nodes[m].count {
			return
		}
		nodes[i], nodes[m] = nodes[m], nodes[i]
		h.pos[nodes[i].slot] = int32(i)
		h.pos[nodes[m].slot] = int32(m)
		i = m
	}
}
