package meter

import (
	"bytes"
	"fmt"
	"strings"

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
	// Has reports whether the flow carries the plugin's record
	// (ipfixprobe's extension): only such flows reach the plugin's output
	// (spec §6).
	Has(f *Flow) bool
	// Fill writes the plugin's fields for a finished flow into r, a record
	// freshly Reset (fixed fields zero, variable fields empty); it writes
	// nothing when the flow has no record.
	Fill(f *Flow, r *unirec.Record) error
	// Release drops the flow's state; it runs after the flow was exported.
	Release(f *Flow)
}

// PluginNames lists the plugins NewPlugin knows, in ipfixprobe's naming.
func PluginNames() []string { return []string{"basic", "http", "vlan", "dns", "tls", "ssdp"} }

// NewPlugin returns a fresh plugin from a -p entry: a name, optionally
// followed by ":PARAM" parameters (only tls has one: "tls:ja4=standard").
// "basic" has no fields of its own (the basic biflow fields are always
// exported) and returns nil, nil.
func NewPlugin(spec string) (Plugin, error) {
	name, params := PluginName(spec), []string(nil)
	if _, rest, ok := strings.Cut(spec, ":"); ok {
		params = strings.Split(rest, ":")
	}
	if name == "tls" {
		return newTLSPlugin(params)
	}
	if len(params) > 0 {
		return nil, fmt.Errorf("meter: plugin %s takes no parameters (got %q)", name, spec)
	}
	switch name {
	case "basic":
		return nil, nil
	case "http":
		return &httpPlugin{}, nil
	case "vlan":
		return &vlanPlugin{}, nil
	case "dns":
		return &dnsPlugin{}, nil
	case "ssdp":
		return &ssdpPlugin{}, nil
	}
	return nil, fmt.Errorf("meter: unknown plugin %q (known: %v)", name, PluginNames())
}

// PluginName is the name part of a -p entry ("tls" of "tls:ja4=standard").
func PluginName(spec string) string {
	name, _, _ := strings.Cut(spec, ":")
	return name
}

// noHooks provides Continue for the hooks a plugin does not need.
type noHooks struct{}

func (noHooks) Create(*Flow, *Packet) Action           { return Continue }
func (noHooks) PreUpdate(*Flow, *Packet, bool) Action  { return Continue }
func (noHooks) PostUpdate(*Flow, *Packet, bool) Action { return Continue }
func (noHooks) Release(*Flow)                          {}
func (noHooks) Has(*Flow) bool                         { return true }

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

// slotState is per-slot plugin state drawn from a free list: a flow's state
// is taken when the plugin first needs it and returned when the flow leaves
// the cache (Release), so memory follows the number of flows that carry the
// protocol and, once the pool has reached its peak, nothing is allocated.
type slotState[T any] struct {
	s    []*T
	pool []*T
}

func (t *slotState[T]) init(n int) { t.s = make([]*T, n) }

// fresh returns the state for slot i, taking one from the pool if the slot
// has none. A pooled state keeps its old contents (and buffers); the caller
// resets it.
func (t *slotState[T]) fresh(i int) *T {
	if p := t.s[i]; p != nil {
		return p
	}
	var p *T
	if n := len(t.pool); n > 0 {
		p = t.pool[n-1]
		t.pool = t.pool[:n-1]
	} else {
		p = new(T)
	}
	t.s[i] = p
	return p
}

// get returns slot i's state or nil.
func (t *slotState[T]) get(i int) *T { return t.s[i] }

// drop returns slot i's state to the pool.
func (t *slotState[T]) drop(i int) {
	if p := t.s[i]; p != nil {
		t.pool = append(t.pool, p)
		t.s[i] = nil
	}
}

// text is a bounded string buffer inside plugin state; its backing array
// is allocated once and reused by later flows of the slot.
type text struct {
	n int
	b []byte
}

func (x *text) set(max int, v []byte) {
	if cap(x.b) < max {
		x.b = make([]byte, 0, max)
	}
	if len(v) > max {
		v = v[:max]
	}
	x.b = append(x.b[:0], v...)
	x.n = len(x.b)
}

func (x *text) bytes() []byte { return x.b[:x.n] }
func (x *text) reset()        { x.n = 0; x.b = x.b[:0] }

// cString cuts v at its first NUL byte: ipfixprobe keeps these values in
// NUL-terminated buffers and exports them with strlen.
func cString(v []byte) []byte {
	if i := bytes.IndexByte(v, 0); i >= 0 {
		return v[:i]
	}
	return v
}
