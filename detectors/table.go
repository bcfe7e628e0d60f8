package detectors

// Table is a map from K to V with a hard cap on its entries that keeps
// them in touch order (least recently touched first). Values live in a
// slab that is reused: a value obtained for a new key still holds the
// storage of an earlier, deleted one (slices keep their capacity), and
// the caller resets what it needs. Pointers to values are valid until the
// next Insert or Delete.
//
// Not safe for concurrent use.
type Table[K comparable, V any] struct {
	idx   map[K]int32
	nodes []node[K, V]
	head  int32 // least recently touched, -1 when empty
	tail  int32 // most recently touched
	free  int32 // free list through next, -1 when none
	max   int

	// OnEvict, if set, is called with an entry the cap pushes out,
	// before its slot is reused.
	OnEvict func(k K, v *V)
	evicted uint64
}

type node[K comparable, V any] struct {
	key        K
	val        V
	prev, next int32
}

// NewTable returns a table holding at most max entries (max >= 1).
func NewTable[K comparable, V any](max int) *Table[K, V] {
	if max < 1 {
		max = 1
	}
	hint := min(max, 1<<16)
	return &Table[K, V]{idx: make(map[K]int32, hint), nodes: make([]node[K, V], 0, hint), head: -1, tail: -1, free: -1, max: max}
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
// gets a recycled slot (isNew true): when the table is full, the least
// recently touched entry is evicted first (evicted true, OnEvict called).
func (t *Table[K, V]) Upsert(k K) (v *V, isNew, evicted bool) {
	if i, ok := t.idx[k]; ok {
		t.moveToTail(i)
		return &t.nodes[i].val, false, false
	}
	if len(t.idx) >= t.max {
		h := t.head
		if t.OnEvict != nil {
			t.OnEvict(t.nodes[h].key, &t.nodes[h].val)
		}
		t.remove(h)
		t.evicted++
		evicted = true
	}
	var i int32
	if t.free >= 0 {
		i = t.free
		t.free = t.nodes[i].next
	} else {
		t.nodes = append(t.nodes, node[K, V]{})
		i = int32(len(t.nodes) - 1)
	}
	n := &t.nodes[i]
	n.key = k
	t.idx[k] = i
	t.linkTail(i)
	return &n.val, true, evicted
}

// Touch marks k most recently touched.
func (t *Table[K, V]) Touch(k K) {
	if i, ok := t.idx[k]; ok {
		t.moveToTail(i)
	}
}

// Delete removes k. Its value's storage stays for reuse.
func (t *Table[K, V]) Delete(k K) {
	if i, ok := t.idx[k]; ok {
		t.remove(i)
	}
}

// Oldest returns the least recently touched entry.
func (t *Table[K, V]) Oldest() (K, *V, bool) {
	if t.head < 0 {
		var zero K
		return zero, nil, false
	}
	n := &t.nodes[t.head]
	return n.key, &n.val, true
}

// Range calls f for every entry from the least to the most recently
// touched until f returns false. f must not insert or delete.
func (t *Table[K, V]) Range(f func(k K, v *V) bool) {
	for i := t.head; i >= 0; i = t.nodes[i].next {
		if !f(t.nodes[i].key, &t.nodes[i].val) {
			return
		}
	}
}

func (t *Table[K, V]) remove(i int32) {
	n := &t.nodes[i]
	delete(t.idx, n.key)
	t.unlink(i)
	var zero K
	n.key = zero
	n.next = t.free
	n.prev = -1
	t.free = i
}

func (t *Table[K, V]) unlink(i int32) {
	n := &t.nodes[i]
	if n.prev >= 0 {
		t.nodes[n.prev].next = n.next
	} else {
		t.head = n.next
	}
	if n.next >= 0 {
		t.nodes[n.next].prev = n.prev
	} else {
		t.tail = n.prev
	}
}

func (t *Table[K, V]) linkTail(i int32) {
	n := &t.nodes[i]
	n.prev, n.next = t.tail, -1
	if t.tail >= 0 {
		t.nodes[t.tail].next = i
	} else {
		t.head = i
	}
	t.tail = i
}

func (t *Table[K, V]) moveToTail(i int32) {
	if t.tail == i {
		return
	}
	t.unlink(i)
	t.linkTail(i)
}
