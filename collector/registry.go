package collector

// DataType is an IPFIX abstract data type (RFC 7012 §3.1).
type DataType uint8

// Abstract data types used by the registry.
const (
	TypeOctetArray DataType = iota
	TypeUnsigned8
	TypeUnsigned16
	TypeUnsigned32
	TypeUnsigned64
	TypeSigned8
	TypeSigned16
	TypeSigned32
	TypeSigned64
	TypeFloat32
	TypeFloat64
	TypeBoolean
	TypeMACAddress
	TypeString
	TypeDateTimeSeconds
	TypeDateTimeMilliseconds
	TypeDateTimeMicroseconds
	TypeDateTimeNanoseconds
	TypeIPv4Address
	TypeIPv6Address
	TypeBasicList
	TypeSubTemplateList
	TypeSubTemplateMultiList
)

var dataTypeNames = [...]string{
	"octetArray", "unsigned8", "unsigned16", "unsigned32", "unsigned64",
	"signed8", "signed16", "signed32", "signed64", "float32", "float64",
	"boolean", "macAddress", "string", "dateTimeSeconds", "dateTimeMilliseconds",
	"dateTimeMicroseconds", "dateTimeNanoseconds", "ipv4Address", "ipv6Address",
	"basicList", "subTemplateList", "subTemplateMultiList",
}

func (t DataType) String() string {
	if int(t) < len(dataTypeNames) {
		return dataTypeNames[t]
	}
	return "unknown"
}

// IsUnsigned reports whether values of t are big-endian unsigned integers
// (reduced-size encoding allowed).
func (t DataType) IsUnsigned() bool { return t >= TypeUnsigned8 && t <= TypeUnsigned64 }

// IsSigned reports whether values of t are big-endian two's complement integers.
func (t DataType) IsSigned() bool { return t >= TypeSigned8 && t <= TypeSigned64 }

// Well-known enterprise numbers.
const (
	// PENReverse is the RFC 5103 reverse information element PEN: element N
	// of this enterprise is the reverse-direction counterpart of IANA element N.
	PENReverse uint32 = 29305
	// PENCESNET is CESNET's private enterprise number.
	PENCESNET uint32 = 8057
	// PENFlowmon is Flowmon Networks' private enterprise number.
	PENFlowmon uint32 = 39499
)

// InfoElement describes one information element.
type InfoElement struct {
	PEN  uint32
	ID   uint16
	Name string
	Type DataType
}

// Registry maps (enterprise, element id) to element descriptions. The zero
// value is empty; NewRegistry returns one filled with the IANA elements.
// A Registry is read-only after construction and safe for concurrent use.
type Registry struct {
	iana [512]InfoElement
	ok   [512]bool
	ent  map[uint64]InfoElement
}

// NewRegistry returns a registry with the built-in IANA table.
func NewRegistry() *Registry {
	r := &Registry{ent: make(map[uint64]InfoElement)}
	for _, e := range ianaElements {
		r.Add(e)
	}
	return r
}

// Add registers (or replaces) an element. Call it only before the registry
// is shared between goroutines.
func (r *Registry) Add(e InfoElement) {
	if e.PEN == 0 && int(e.ID) < len(r.iana) {
		r.iana[e.ID], r.ok[e.ID] = e, true
		return
	}
	if r.ent == nil {
		r.ent = make(map[uint64]InfoElement)
	}
	r.ent[uint64(e.PEN)<<16|uint64(e.ID)] = e
}

// Lookup returns the description of (pen, id). Reverse elements
// (PEN 29305) resolve to their forward IANA element with the name prefixed
// by "reverse" and PEN kept.
func (r *Registry) Lookup(pen uint32, id uint16) (InfoElement, bool) {
	if pen == 0 {
		if int(id) < len(r.iana) && r.ok[id] {
			return r.iana[id], true
		}
		e, ok := r.ent[uint64(id)]
		return e, ok
	}
	if e, ok := r.ent[uint64(pen)<<16|uint64(id)]; ok {
		return e, true
	}
	if pen == PENReverse {
		if f, ok := r.Lookup(0, id); ok {
			f.PEN = PENReverse
			f.Name = "reverse" + upperFirst(f.Name)
			return f, true
		}
	}
	return InfoElement{}, false
}

func upperFirst(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
