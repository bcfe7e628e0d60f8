package trap

import "testing"

func TestNegotiate(t *testing.T) {
	const basic = "ipaddr DST_IP,ipaddr SRC_IP,uint64 BYTES,uint16 DST_PORT"
	tests := []struct {
		name    string
		reqFmt  Format
		reqSpec string
		hello   Hello
		want    negotiation
	}{
		{"sender without format is retried", FormatUniRec, "", Hello{FormatUnknown, ""}, negUnknown},
		{"type mismatch", FormatUniRec, "", Hello{FormatRaw, ""}, negMismatch},
		{"required unknown mismatches every sender", FormatUnknown, "", Hello{FormatUniRec, basic}, negMismatch},
		{"raw against raw", FormatRaw, "", Hello{FormatRaw, ""}, negOK},
		{"unirec with empty sender spec", FormatUniRec, "", Hello{FormatUniRec, ""}, negMismatch},
		{"empty required spec accepts any as subset", FormatUniRec, "", Hello{FormatUniRec, basic}, negSubset},
		{"same fields in another order is OK", FormatUniRec, "uint16 DST_PORT,uint64 BYTES,ipaddr SRC_IP,ipaddr DST_IP", Hello{FormatUniRec, basic}, negOK},
		{"strict subset", FormatUniRec, "ipaddr SRC_IP,uint16 DST_PORT", Hello{FormatUniRec, basic}, negSubset},
		{"missing field", FormatUniRec, "ipaddr SRC_IP,uint16 SRC_PORT", Hello{FormatUniRec, basic}, negMismatch},
		{"same name other type", FormatUniRec, "uint32 BYTES", Hello{FormatUniRec, basic}, negMismatch},
		{"json any", FormatJSON, "", Hello{FormatJSON, "alerts"}, negOK},
		{"json equal", FormatJSON, "alerts", Hello{FormatJSON, "alerts"}, negOK},
		{"json differs", FormatJSON, "alerts", Hello{FormatJSON, "idea"}, negMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := negotiate(tt.reqFmt, tt.reqSpec, tt.hello); got != tt.want {
				t.Errorf("negotiate = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestMismatchNamesMissingFields(t *testing.T) {
	const basic = "ipaddr DST_IP,ipaddr SRC_IP,uint64 BYTES,uint16 DST_PORT"
	tests := []struct {
		name, req string
		h         Hello
		want      string
	}{
		{"absent field", "ipaddr SRC_IP,uint16 SRC_PORT,uint8 PROTOCOL", Hello{FormatUniRec, basic}, "; missing field(s) uint16 SRC_PORT, uint8 PROTOCOL"},
		{"other type counts as missing", "uint32 BYTES", Hello{FormatUniRec, basic}, "; missing field(s) uint32 BYTES"},
		{"nothing missing", "uint64 BYTES", Hello{FormatUniRec, basic}, ""},
		{"not unirec", "uint64 BYTES", Hello{FormatJSON, "x"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := missingNote(FormatUniRec, tt.req, tt.h); got != tt.want {
				t.Errorf("missingNote = %q, want %q", got, tt.want)
			}
		})
	}
}
