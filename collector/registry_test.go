package collector

import "testing"

func TestRegistryLookup(t *testing.T) {
	r := NewRegistry()
	r.Add(InfoElement{PEN: PENCESNET, ID: 110, Name: "cesnetExample", Type: TypeString})
	r.Add(InfoElement{ID: 1000, Name: "iana1000", Type: TypeUnsigned16})
	tests := []struct {
		pen  uint32
		id   uint16
		ok   bool
		name string
		typ  DataType
	}{
		{0, 1, true, "octetDeltaCount", TypeUnsigned64},
		{0, 8, true, "sourceIPv4Address", TypeIPv4Address},
		{0, 152, true, "flowStartMilliseconds", TypeDateTimeMilliseconds},
		{0, 156, true, "flowStartNanoseconds", TypeDateTimeNanoseconds},
		{0, 291, true, "basicList", TypeBasicList},
		{PENReverse, 2, true, "reversePacketDeltaCount", TypeUnsigned64},
		{PENCESNET, 110, true, "cesnetExample", TypeString},
		{0, 1000, true, "iana1000", TypeUnsigned16},
		{0, 97, false, "", 0},
		{12345, 1, false, "", 0},
	}
	for _, tc := range tests {
		e, ok := r.Lookup(tc.pen, tc.id)
		if ok != tc.ok || e.Name != tc.name || e.Type != tc.typ {
			t.Errorf("Lookup(%d, %d) = %+v, %v; want %s %v, %v", tc.pen, tc.id, e, ok, tc.name, tc.typ, tc.ok)
		}
	}
	// Every IANA element the default converters table maps must be known.
	for _, id := range []uint16{1, 2, 4, 5, 6, 7, 8, 11, 12, 21, 22, 27, 28, 32, 56, 80, 95, 136, 139, 150, 151, 152, 153, 154, 155, 156, 157, 158, 159, 186, 192, 197, 209} {
		if _, ok := r.Lookup(0, id); !ok {
			t.Errorf("element %d missing from the registry", id)
		}
	}
}
