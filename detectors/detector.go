package detectors

import (
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/flowgate/flowgate/unirec"
)

// Emit receives one alert. The record is only valid during the call.
type Emit func(alert unirec.Record) error

// Detector is one detector instance; see the package doc for the contract.
type Detector interface {
	// InputSpec is the UniRec spec of the fields the detector reads.
	InputSpec() string
	// OutputSpec is the UniRec spec of the alerts (the C module's template).
	OutputSpec() string
	// Bind resolves the input fields in the sender's template.
	Bind(t *unirec.Template) error
	// Process handles one record of the bound template.
	Process(rec unirec.Record, emit Emit) error
	// Finish is called once at end of stream.
	Finish(emit Emit) error
	// Stats returns the detector's counters.
	Stats() Stats
}

// Stats is a snapshot of a detector's counters.
type Stats struct {
	Records     uint64 // records processed
	IPv6Skipped uint64 // flows skipped because the detector handles IPv4 only
	Alerts      uint64 // alerts emitted
	Entries     uint64 // keys in the detector's tables now
	Evicted     uint64 // entries dropped because a table was full
	Expired     uint64 // entries removed because they were idle
	// Extra holds detector-specific counters by name.
	Extra map[string]uint64
}

// Counters are the common counters, updated by the detector's goroutine
// and readable from any other.
type Counters struct {
	Records, IPv6Skipped, Alerts, Evicted, Expired atomic.Uint64
	Entries                                        atomic.Int64
}

// Snapshot returns the counters as Stats.
func (c *Counters) Snapshot() Stats {
	return Stats{
		Records:     c.Records.Load(),
		IPv6Skipped: c.IPv6Skipped.Load(),
		Alerts:      c.Alerts.Load(),
		Entries:     uint64(max(c.Entries.Load(), 0)),
		Evicted:     c.Evicted.Load(),
		Expired:     c.Expired.Load(),
	}
}

// MissingFieldError is Bind's error: the sender's template lacks a field
// the detector reads, or carries it with another type.
type MissingFieldError struct {
	Field string // "type NAME" as the detector requires it
	Have  string // the sender's type of NAME, "" when absent
}

func (e *MissingFieldError) Error() string {
	if e.Have != "" {
		return fmt.Sprintf("input template has %s %s, the detector needs %s", e.Have, e.Field[strings.IndexByte(e.Field, ' ')+1:], e.Field)
	}
	return "input template lacks the field " + e.Field
}

// Resolve looks up every "type NAME" item of spec in t, in order, and
// stores the ids through ids (one pointer per item). The error names the
// first missing or mistyped field.
func Resolve(t *unirec.Template, spec string, ids ...*unirec.FieldID) error {
	items := strings.Split(spec, ",")
	if len(items) != len(ids) {
		return fmt.Errorf("detectors: spec %q has %d fields, %d ids given", spec, len(items), len(ids))
	}
	for i, it := range items {
		typ, name, ok := strings.Cut(strings.TrimSpace(it), " ")
		if !ok {
			return fmt.Errorf("detectors: bad spec item %q", it)
		}
		want, err := unirec.ParseType(typ)
		if err != nil {
			return fmt.Errorf("detectors: spec item %q: %w", it, err)
		}
		id, found := t.Lookup(name)
		if !found {
			return &MissingFieldError{Field: typ + " " + name}
		}
		if got := t.Field(id).Type; got != want {
			return &MissingFieldError{Field: typ + " " + name, Have: got.String()}
		}
		*ids[i] = id
	}
	return nil
}

// IPv4 returns an IPv4 UniRec address as an integer in host order (the
// first octet most significant), as libunirec's ip_get_v4_as_int, and
// whether the address is IPv4.
func IPv4(ip unirec.IP) (uint32, bool) {
	if !ip.Is4() {
		return 0, false
	}
	return uint32(ip[8])<<24 | uint32(ip[9])<<16 | uint32(ip[10])<<8 | uint32(ip[11]), true
}

// IPFromV4 is ip_from_int: the UniRec IPv4 form of a host-order integer.
func IPFromV4(v uint32) unirec.IP {
	return unirec.IPv4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// NewAlert parses an alert template spec, resolves its "type NAME" items
// in order into ids (as Resolve) and returns a zeroed record of it, which
// a detector fills and emits for every alert.
func NewAlert(spec string, ids ...*unirec.FieldID) (unirec.Record, error) {
	t, err := unirec.ParseTemplate(spec)
	if err != nil {
		return unirec.Record{}, fmt.Errorf("detectors: alert template: %w", err)
	}
	if err := Resolve(t, spec, ids...); err != nil {
		return unirec.Record{}, err
	}
	return t.NewRecord(), nil
}
