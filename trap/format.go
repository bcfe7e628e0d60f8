package trap

import "strings"

// Format is a TRAP data type as carried in the hello message.
type Format uint8

// The data types of libtrap (trap.h: TRAP_FMT_*).
const (
	FormatUnknown Format = 0
	FormatRaw     Format = 1
	FormatUniRec  Format = 2
	FormatJSON    Format = 3
)

func (f Format) String() string {
	switch f {
	case FormatUnknown:
		return "unknown"
	case FormatRaw:
		return "raw"
	case FormatUniRec:
		return "unirec"
	case FormatJSON:
		return "json"
	}
	return "invalid"
}

// negotiation is the input side's verdict on a sender's hello
// (trap.c: input_ifc_negotiation, trap_ctx_cmp_data_fmt).
type negotiation int

const (
	negOK       negotiation = iota // formats equal
	negSubset                      // required fields are a strict subset: FORMAT_CHANGED
	negMismatch                    // FORMAT_MISMATCH
	negUnknown                     // sender has no format yet: close and retry
)

// negotiate decides whether a sender announcing h satisfies an input that
// requires reqFmt/reqSpec, following libtrap's rules (trap-wire.md §4.3).
func negotiate(reqFmt Format, reqSpec string, h Hello) negotiation {
	switch {
	case h.Format == FormatUnknown:
		return negUnknown
	case h.Format != reqFmt:
		return negMismatch
	case h.Format == FormatRaw:
		return negOK
	case h.Format == FormatJSON:
		if reqSpec == "" || reqSpec == h.Spec {
			return negOK
		}
		return negMismatch
	}
	// UniRec.
	if h.Spec == "" {
		return negMismatch
	}
	if reqSpec == "" {
		return negSubset
	}
	have := make(map[string]struct{})
	for _, it := range specItems(h.Spec) {
		have[it] = struct{}{}
	}
	for _, it := range specItems(reqSpec) {
		if _, ok := have[it]; !ok {
			return negMismatch
		}
	}
	if len(h.Spec) > len(reqSpec) {
		return negSubset
	}
	return negOK
}

// specItems splits a UniRec spec into normalised "type NAME" items.
func specItems(spec string) []string {
	var out []string
	for _, it := range strings.Split(spec, ",") {
		f := strings.Fields(it)
		if len(f) == 2 {
			out = append(out, f[0]+" "+f[1])
		}
	}
	return out
}

// MissingFields returns the "type NAME" items of the required UniRec spec
// reqSpec that the offered spec lacks, in reqSpec's order.
func MissingFields(reqSpec, offered string) []string {
	have := make(map[string]struct{})
	for _, it := range specItems(offered) {
		have[it] = struct{}{}
	}
	var miss []string
	for _, it := range specItems(reqSpec) {
		if _, ok := have[it]; !ok {
			miss = append(miss, it)
		}
	}
	return miss
}

// missingNote names, for a UniRec mismatch, the required fields the sender
// lacks: "; missing field(s) uint16 DST_PORT".
func missingNote(reqFmt Format, reqSpec string, h Hello) string {
	if reqFmt != FormatUniRec || h.Format != FormatUniRec {
		return ""
	}
	miss := MissingFields(reqSpec, h.Spec)
	if len(miss) == 0 {
		return ""
	}
	return "; missing field(s) " + strings.Join(miss, ", ")
}
