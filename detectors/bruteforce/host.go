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
	l.recs = l.recs[:0]
	l.head, l.n, l.size = 0, 0, size
	l.matched, l.totalSince, l.matchedSince = 0, 0, 0
}

func (l *recList) at(i int) *record { return &l.recs[(l.head+i)%len(l.recs)] }

// add appends r, evicting the oldest record when the list is full.
func (l *recList) add(r record, reported bool) {
	switch {
	case l.n == l.size:
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
}

// expire pops records from the front while they are older than timeout.
// The since-report counters stay (C).
func (l *recList) expire(now, timeout unirec.Time) {
	for l.n > 0 && l.recs[l.head].t+timeout <= now {
		if l.recs[l.head].matched {
			l.matched--
		}
		l.head = (l.head + 1) % len(l.recs)
		l.n--
	}
	if l.n == 0 {
		l.head = 0
		l.recs = l.recs[:0]
	}
}

func (l *recList) resetSince() { l.totalSince, l.matchedSince = 0, 0 }

func (l *recList) clear() {
	l.recs = l.recs[:0]
	l.head, l.n = 0, 0
	l.matched, l.totalSince, l.matchedSince = 0, 0, 0
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

// clear forgets every record and ends the attack.
func (h *host) clear() {
	h.lists[incoming].clear()
	h.lists[outgoing].clear()
	h.timeOfLastReport = 0
}
