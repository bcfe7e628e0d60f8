package meter

import (
	"fmt"

	"github.com/flowgate/flowgate/unirec"
)

// Plugin is a process plugin in ipfixprobe's sense: it watches the packets
// of each flow and adds fields to the exported record. Per-flow state lives
// in tables indexed by Flow.Slot (sized by Init), so steady-state metering
// does not allocate. All hooks run on the cache's goroutine.
type Plugin interface {
	// Name is the -p name (http, dns, ...).
	Name() string
	// Spec lists the UniRec fields the plugin adds ("" for none).
	Spec() string
	// Init sizes the per-slot state for a cache of n flows.
	Init(n int)
	// Create sees the packet that started a flow (ipfixprobe post_create).
	Create(f *Flow, p *Packet) Action
	// PreUpdate sees a packet of an existing flow before it is counted.
	PreUpdate(f *Flow, p *Packet, fwd bool) Action
	// PostUpdate sees it after it was counted.
	PostUpdate(f *Flow, p *Packet, fwd bool) Action
	// Bind resolves the plugin's field ids in the export template.
	Bind(t *unirec.Template) error
	// Fill writes the plugin's fields for a finished flow into r, a record
	// freshly Reset (fixed fields zero, variable fields empty).
	Fill(f *Flow, r *unirec.Record) error
}

// PluginNames lists the plugins NewPlugin knows, in ipfixprobe's naming.
func PluginNames() []string { return []string{"basic", "http", "vlan", "dns", "tls", "ssdp"} }

// NewPlugin returns a fresh plugin by name. "basic" has no fields of its own
// (the basic biflow fields are always exported) and returns nil, nil.
func NewPlugin(name string) (Plugin, error) {
	switch name {
	case "basic":
		return nil, nil
	case "http":
		return &httpPlugin{}, nil
	case "vlan":
		return &vlanPlugin{}, nil
	case "dns":
		return &dnsPlugin{}, nil
	case "tls":
		return &tlsPlugin{}, nil
	case "ssdp":
		return &ssdpPlugin{}, nil
	}
	return nil, fmt.Errorf("meter: unknown plugin %q (known: %v)", name, PluginNames())
}

// noHooks provides Continue for the hooks a plugin does not need.
type noHooks struct{}

func (noHooks) Create(*Flow, *Packet) Action           { return Continue }
func (noHooks) PreUpdate(*Flow, *Packet, bool) Action  { return Continue }
func (noHooks) PostUpdate(*Flow, *Packet, bool) Action { return Continue }

// lookup resolves several field names at once.
func lookup(t *unirec.Template, plugin string, names []string, ids []unirec.FieldID) error {
	for i, n := range names {
		id, ok := t.Lookup(n)
		if !ok {
			return fmt.Errorf("meter: %s plugin: template has no field %s", plugin, n)
		}
		ids[i] = id
	}
	return nil
}

// slotState is a lazily filled per-slot table: a slot's state is allocated
// the first time a flow in that slot needs it and reused by every later flow
// in the slot.
type slotState[T any] struct {
	s []*T
	// live marks slots whose current flow has state.
	live []bool
}

func (t *slotState[T]) init(n int) {
	t.s = make([]*T, n)
	t.live = make([]bool, n)
}

// fresh returns the state for slot i and marks it live. A reused state
// keeps its previous contents (and buffers); the caller resets it.
func (t *slotState[T]) fresh(i int) *T {
	p := t.s[i]
	if p == nil {
		p = new(T)
		t.s[i] = p
	}
	t.live[i] = true
	return p
}

// get returns the live state of slot i or nil.
func (t *slotState[T]) get(i int) *T {
	if !t.live[i] {
		return nil
	}
	return t.s[i]
}

func (t *slotState[T]) drop(i int) { t.live[i] = false }

// text is a bounded string buffer inside plugin state; its backing array
// is allocated once and reused by later flows of the slot.
type text struct {
	n int
	b []byte
}

func (x *text) set(max int, v []byte) {
	if x.b == nil {
		x.b = make([]byte, 0, max)
	}
	if len(v) > max {
		v = v[:max]
	}
	x.b = append(x.b[:0], v...)
	x.n = len(x.b)
}

// add appends v separated by sep unless v is already one of the items.
func (x *text) add(max int, sep byte, v []byte) {
	if x.b == nil {
		x.b = make([]byte, 0, max)
	}
	cur := x.b[:x.n]
	for rest := cur; len(rest) > 0; {
		i := indexByte(rest, sep)
		item := rest
		if i >= 0 {
			item, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		if string(item) == string(v) {
			return
		}
	}
	need := len(v)
	if x.n > 0 {
		need++
	}
	if x.n+need > max {
		return
	}
	if x.n > 0 {
		cur = append(cur, sep)
	}
	x.b = append(cur, v...)
	x.n = len(x.b)
}

func (x *text) bytes() []byte { return x.b[:x.n] }
func (x *text) reset()        { x.n = 0; x.b = x.b[:0] }

func indexByte(b []byte, c byte) int {
	for i, v := range b {
		if v == c {
			return i
		}
	}
	return -1
}
