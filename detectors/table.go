package detectors

// Table is a map from K to V with a hard cap on its entries. When a new
// key arrives at a full table, an old entry is evicted: the least
// recently touched of evictSample entries picked at random (approximate
// LRU, as Redis does; an exact LRU list costs two extra cache misses per
// record). Values live in a slab that is reused: a value obtained for a
// new key still holds the storage of an earlier, deleted one (slices keep
// their capacity), and the caller resets what it needs. Pointers to values
// are valid until the next Upsert or Delete.
//
// Not safe for concurrent use.
type Table[K comparable, V any] struct {
	idx   map[K]int32
	nodes []node[K, V]
	free  int32 // free list through next, -1 when none
	max   int
	tick  uint64 // touch counter
	rng   uint64 // xorshift state for eviction sampling

	// OnEvict, if set, is called with an entry the cap pushes out,
	// before its slot is reused.
	OnEvict func(k K, v *V)
	evicted uint64
}

// evictSample is how many random entries an eviction compares.
const evictSample = 8

type node[K comparable, V any] struct {
	key   K
	val   V
	stamp uint64 // tick of the last touch; 0 for a free slot
	next  int32  // free list
}

// NewTable returns a table holding at most max entries (max >= 1).
func NewTable[K comparable, V any](max int) *Table[K, V] {
	if max < 1 {
		max = 1
	}
	hint := min(max, 1<<16)
	return &Table[K, V]{idx: make(map[K]int32, hint), nodes: make([]node[K, V], 0, hint), free: -1, max: max, rng: 0x9e3779b97f4a7c15}
}

// Len returns the number of entries.
func (t *Table[K, V]) Len() int { return len(t.idx) }

// Cap returns the entry cap.
func (t *Table[K, V]) Cap() int { return t.max }

// Evicted returns how many entries the cap has pushed out so far.
func (t *Table[K, V]) Evicted() uint64 { return t.evicted }

// Get returns the value of k without touching it.
func (t *Table[K, V]) Get(k K) (*V, bool) {
	i, ok := t.idx[k]
	if !ok {
		return nil, false
	}
	return &t.nodes[i].val, true
}

// Upsert returns k's value, marking it most recently touched. A new key
// gets a recycled slot (isNew true); when the table is full an old entry
// is evicted first (evicted true, OnEvict called).
func (t *Table[K, V]) Upsert(k K) (v *V, isNew, evicted bool) {
	t.tick++
	if i, ok := t.idx[k]; ok {
		n := &t.nodes[i]
		n.stamp = t.tick
		return &n.val, false, false
	}
	if len(t.idx) >= t.max {
		var zero K
		evicted = t.evict(zero, false)
	}
	var i int32
	if t.free >= 0 {
		i = t.free
		t.free = t.nodes[i].next
	} else {
		if len(t.nodes) == cap(t.nodes) {
			// Grow by doubling, but never past the cap: the slab's
			// memory is what the documented caps promise.
			grown := make([]node[K, V], len(t.nodes), min(max(2*cap(t.nodes), 16), t.max))
			copy(grown, t.nodes)
			t.nodes = grown
		}
		t.nodes = append(t.nodes, node[K, V]{})
		i = int32(len(t.nodes) - 1)
	}
	n := &t.nodes[i]
	n.key, n.stamp = k, t.tick
	t.idx[k] = i
	return &n.val, true, evicted
}

// EvictOld evicts one old entry other than keep (OnEvict called) and
// reports whether it found one.
func (t *Table[K, V]) EvictOld(keep K) bool { return t.evict(keep, true) }

func (t *Table[K, V]) evict(keep K, useKeep bool) bool {
	if len(t.idx) == 0 || (useKeep && len(t.idx) == 1) {
		return false
	}
	best := int32(-1)
	for tries := 0; tries < 4*evictSample && (best < 0 || tries < evictSample); tries++ {
		t.rng ^= t.rng << 13
		t.rng ^= t.rng >> 7
		t.rng ^= t.rng << 17
		i := int32(t.rng % uint64(len(t.nodes)))
		n := &t.nodes[i]
		if n.stamp == 0 || (useKeep && n.key == keep) {
			continue
		}
		if best < 0 || n.stamp < t.nodes[best].stamp {
			best = i
		}
	}
	if best < 0 { // a sparse slab: take the first live entry
		for i := range t.nodes {
			if n := &t.nodes[i]; n.stamp != 0 && !(useKeep && n.key == keep) {
				best = int32(i)
				break
			}
		}
	}
	if t.OnEvict != nil {
		t.OnEvict(t.nodes[best].key, &t.nodes[best].val)
	}
	t.remove(best)
	t.evicted++
	return true
}

// Delete removes k. Its value's storage stays for reuse.
func (t *Table[K, V]) Delete(k K) {
	if i, ok := t.idx[k]; ok {
		t.remove(i)
	}
}

// Range calls f for every entry, in no particular order, until f returns
// false. f must not insert or delete.
func (t *Table[K, V]) Range(f func(k K, v *V) bool) {
	for i := range t.nodes {
		if n := &t.nodes[i]; n.stamp != 0 && !f(n.key, &n.val) {
			return
		}
	}
}

// DeleteIf removes every entry for which f returns true and returns how
// many it removed.
func (t *Table[K, V]) DeleteIf(f func(k K, v *V) bool) int {
	n := 0
	for i := range t.nodes {
		if nd := &t.nodes[i]; nd.stamp != 0 && f(nd.key, &nd.val) {
			t.remove(int32(i))
			n++
		}
	}
	return n
}

func (t *Table[K, V]) remove(i int32) {
	n := &t.nodes[i]
	delete(t.idx, n.key)
	var zero K
	n.key, n.stamp = zero, 0
	n.next = t.free
	t.free = i
}
