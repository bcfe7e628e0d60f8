package supervisor

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Event is one line of the module events log.
type Event struct {
	Seq    uint64    `json:"seq"`
	Time   time.Time `json:"time"`
	Module string    `json:"module,omitempty"`
	Event  string    `json:"event"`
	PID    int       `json:"pid,omitempty"`
	Detail string    `json:"detail"`
}

// eventRing is how many recent events the API and the page can show.
const eventRing = 1000

// EventLog writes module events to modules_events (the C text format,
// "<ctime> [KIND] detail") and modules_events.jsonl, and keeps the recent
// ones for the API.
type EventLog struct {
	mu     sync.Mutex
	text   *os.File
	jsonl  *os.File
	ring   []Event
	seq    uint64
	subs   map[chan Event]struct{}
	closed bool
}

func openEventLog(dir string) (*EventLog, error) {
	open := func(name string) (*os.File, error) {
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return nil, fmt.Errorf("supervisor: event log: %w", err)
		}
		return f, nil
	}
	text, err := open("modules_events")
	if err != nil {
		return nil, err
	}
	jsonl, err := open("modules_events.jsonl")
	if err != nil {
		text.Close()
		return nil, err
	}
	fmt.Fprintf(text, "-------------------- %s --------------------\n", time.Now().Format(ctimeLayout))
	return &EventLog{text: text, jsonl: jsonl, subs: map[chan Event]struct{}{}}, nil
}

// Add records an event.
func (l *EventLog) Add(module, kind string, pid int, detail string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq++
	e := Event{Seq: l.seq, Time: time.Now(), Module: module, Event: kind, PID: pid, Detail: detail}
	if len(l.ring) == eventRing {
		copy(l.ring, l.ring[1:])
		l.ring = l.ring[:eventRing-1]
	}
	l.ring = append(l.ring, e)
	if l.closed {
		return
	}
	fmt.Fprintf(l.text, "%s [%s] %s\n", e.Time.Format(ctimeLayout), kind, detail)
	if b, err := json.Marshal(e); err == nil {
		l.jsonl.Write(append(b, '\n'))
	}
	for ch := range l.subs {
		select {
		case ch <- e:
		default: // a slow follower misses events rather than blocking the loop
		}
	}
}

// Recent returns the events after seq, oldest first.
func (l *EventLog) Recent(after uint64) []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Event
	for _, e := range l.ring {
		if e.Seq > after {
			out = append(out, e)
		}
	}
	return out
}

// Subscribe returns a channel of new events and a function that ends the
// subscription.
func (l *EventLog) Subscribe() (<-chan Event, func()) {
	ch := make(chan Event, 256)
	l.mu.Lock()
	l.subs[ch] = struct{}{}
	l.mu.Unlock()
	return ch, func() {
		l.mu.Lock()
		delete(l.subs, ch)
		l.mu.Unlock()
	}
}

// Close closes the files.
func (l *EventLog) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	l.jsonl.Close()
	return l.text.Close()
}
