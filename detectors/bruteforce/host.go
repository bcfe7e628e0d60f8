package bruteforce

import (
	"slices"

	"github.com/flowgate/flowgate/unirec"
)

// record is one flow as a host keeps it.
type record struct {
	victim  unirec.IP
	t       unirec.Time
	matched bool
}

// recList is a host's incoming or outgoing list: the last size records
// in arrival order, in a ring that grows up to size.
type recList struct {
	recs         []record
	head, n      int
	size         int // LIST_SIZE when the host was created
	matched      int // matched records in the list
	totalSince   int // records added since the last report (while reported)
	matchedSince int // matched records added since the last report
}

func (l *recList) reset(size int) {
	l.release()
	l.size = size
	l.matched, l.totalSince, l.matchedSince = 0, 0, 0
}

func (l *recList) at(i int) *record { return &l.recs[(l.head+i)%len(l.recs)] }

// add appends r, evicting the oldest record when the list is full. It
// returns how many records the list gained (0 or 1).
func (l *recList) add(r record, reported bool) (added int) {
	added = 1
	switch {
	case l.n == l.size:
		added = 0
		if l.recs[l.head].matched {
			l.matched--
		}
		l.recs[l.head] = r
		l.head = (l.head + 1) % len(l.recs)
	case l.n == len(l.recs):
		// Still growing: put the ring in order, then append.
		if l.head != 0 {
			slices.Reverse(l.recs[:l.head])
			slices.Reverse(l.recs[l.head:])
			slices.Reverse(l.recs)
			l.head = 0
		}
		l.recs = append(l.recs, r)
		l.n++
	default:
		*l.at(l.n) = r
		l.n++
	}
	if r.matched {
		l.matched++
	}
	if reported {
		l.totalSince++
		if r.matched {
			l.matchedSince++
		}
	}
	return added
}

// expire pops records from the front while they are older than timeout
// and returns how many it popped. The since-report counters stay (C). A
// ring left mostly empty gives its memory back.
func (l *recList) expire(now, timeout unirec.Time) (popped int) {
	for l.n > 0 && l.recs[l.head].t+timeout <= now {
		if l.recs[l.head].matched {
			l.matched--
		}
		l.head = (l.head + 1) % len(l.recs)
		l.n--
		popped++
	}
	switch {
	case l.n == 0:
		l.release()
	case cap(l.recs) > minKeep && l.n < cap(l.recs)/4:
		recs := make([]record, l.n, 2*l.n)
		for i := range l.n {
			recs[i] = *l.at(i)
		}
		l.recs, l.head = recs, 0
	}
	return popped
}

// minKeep is the ring capacity kept when a list empties or shrinks.
const minKeep = 16

// release forgets the records and, above minKeep, their memory.
func (l *recList) release() {
	l.head, l.n = 0, 0
	if cap(l.recs) > minKeep {
		l.recs = nil
	} else {
		l.recs = l.recs[:0]
	}
}

func (l *recList) resetSince() { l.totalSince, l.matchedSince = 0, 0 }

// clear forgets every record and counter and returns how many records
// it dropped.
func (l *recList) clear() int {
	n := l.n
	l.release()
	l.matched, l.totalSince, l.matchedSince = 0, 0, 0
	return n
}

// host is one attacker's state for one protocol.
type host struct {
	lastReceived     unirec.Time
	timeOfLastReport unirec.Time // 0: not reported
	lists            [2]recList
}

func (h *host) reset(size int) {
	h.lastReceived, h.timeOfLastReport = 0, 0
	h.lists[incoming].reset(size)
	h.lists[outgoing].reset(size)
}

func (h *host) reported() bool { return h.timeOfLastReport != 0 }

// clear forgets every record and ends the attack. It returns how many
// records it dropped.
func (h *host) clear() int {
	h.timeOfLastReport = 0
	return h.lists[incoming].clear() + h.lists[outgoing].clear()
}

// records returns how many records the host holds.
func (h *host) records() int { return h.lists[incoming].n + h.lists[outgoing].n }
