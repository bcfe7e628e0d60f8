package converters

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowgate/flowgate/internal/testutil"
	"github.com/flowgate/flowgate/unirec"
)

// findIPFIXcol2Table is ipfixcol2's element file in shared/testdata, or "".
func findIPFIXcol2Table() string {
	p, _ := testutil.FindShared(filepath.Join("ipfixcol2", "unirec-elements.txt"))
	return p
}

func ipfixcol2Table(t testing.TB) string {
	t.Helper()
	p := findIPFIXcol2Table()
	if p == "" {
		t.Skip("shared/testdata/ipfixcol2 not found beside the repository")
	}
	return p
}

// TestIPFIXcol2TableParses reads ipfixcol2's own file and checks that every
// numerically given element of it maps exactly as in our default table.
func TestIPFIXcol2TableParses(t *testing.T) {
	f, err := os.Open(ipfixcol2Table(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	theirs, err := ParseTable(f)
	if err != nil {
		t.Fatal(err)
	}
	ours := DefaultTable()
	checked := 0
	for ie, targets := range theirs.byIE {
		for _, tg := range targets {
			found := false
			for _, o := range ours.Lookup(ie.PEN, ie.ID) {
				if o.Name == tg.Name && o.Type == tg.Type {
					found = true
				}
			}
			if !found {
				t.Errorf("ipfixcol2 maps %v to %s %s; the default table does not", ie, tg.Type, tg.Name)
			}
			checked++
		}
	}
	if checked < 30 {
		t.Errorf("only %d numeric mappings in ipfixcol2's table", checked)
	}
	for _, k := range []Internal{InternalODID, InternalExporterIP} {
		a, _ := theirs.Internal(k)
		b, ok := ours.Internal(k)
		if !ok || a != b {
			t.Errorf("internal %d: ipfixcol2 %+v, ours %+v", k, a, b)
		}
	}
	if len(theirs.Unresolved()) == 0 {
		t.Error("symbolic names such as cesnet:DNSName should be reported as unresolved")
	}
}

func TestDefaultTableMappings(t *testing.T) {
	tbl := DefaultTable()
	tests := []struct {
		ie   IE
		name string
		typ  unirec.Type
		conv Conv
	}{
		{IE{0, 8}, "SRC_IP", unirec.IPAddr, ConvDirect},
		{IE{0, 27}, "SRC_IP", unirec.IPAddr, ConvDirect},
		{IE{0, 1}, "BYTES", unirec.Uint64, ConvScaled},
		{IE{0, 2}, "PACKETS", unirec.Uint32, ConvScaled},
		{IE{0, 32}, "DST_PORT", unirec.Uint16, ConvNonZero},
		{IE{0, 139}, "DST_PORT", unirec.Uint16, ConvNonZero},
		{IE{0, 11}, "DST_PORT", unirec.Uint16, ConvDirect},
		{IE{0, 152}, "TIME_FIRST", unirec.TimeT, ConvDirect},
		{IE{0, 22}, "TIME_FIRST", unirec.TimeT, ConvDirect},
		{IE{0, 21}, "TIME_LAST", unirec.TimeT, ConvDirect},
		{IE{PENReverse, 1}, "BYTES_REV", unirec.Uint64, ConvScaled},
		{IE{0, 10}, "DIR_BIT_FIELD", unirec.Uint8, ConvDirect},
		{IE{0, 136}, "FLOW_END_REASON", unirec.Uint8, ConvDirect},
	}
	for _, tc := range tests {
		t.Run(tc.ie.String()+"->"+tc.name, func(t *testing.T) {
			got := tbl.Lookup(tc.ie.PEN, tc.ie.ID)
			if len(got) != 1 || got[0] != (Target{tc.name, tc.typ, tc.conv}) {
				t.Errorf("got %+v", got)
			}
		})
	}
	if _, err := unirec.ParseTemplate(BasicFlowTemplate); err != nil {
		t.Errorf("BasicFlowTemplate: %v", err)
	}
	if _, err := unirec.ParseTemplate(BiflowTemplate); err != nil {
		t.Errorf("BiflowTemplate: %v", err)
	}
}

func TestParseTableRejectsBadLines(t *testing.T) {
	tests := []struct{ name, in string }{
		{"missing sources", "SRC_IP ipaddr\n"},
		{"unknown type", "SRC_IP ipv4 e0id8\n"},
		{"bad element id", "SRC_IP ipaddr e0idX\n"},
		{"element id above 32767", "SRC_IP ipaddr e0id40000\n"},
		{"not eXXidYY", "SRC_IP ipaddr x8\n"},
		{"duplicate field", "A uint8 e0id4\nA uint8 e0id5\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseTable(strings.NewReader(tc.in))
			if !errors.Is(err, ErrTable) || !strings.Contains(err.Error(), "line") {
				t.Errorf("error %v: want a line-numbered ErrTable", err)
			}
		})
	}
}

// PENReverse mirrors collector.PENReverse (RFC 5103) for the tests.
const PENReverse = 29305

func FuzzParseTable(f *testing.F) {
	f.Add(defaultElements)
	f.Add("X uint8* e0id291/cesnet:packetLength\n# comment\n")
	if p := findIPFIXcol2Table(); p != "" {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(string(b))
		}
	}
	f.Fuzz(func(t *testing.T, in string) {
		tbl, err := ParseTable(strings.NewReader(in))
		if err != nil {
			if !errors.Is(err, ErrTable) && !strings.Contains(err.Error(), "reading") {
				t.Fatalf("error does not wrap ErrTable: %v", err)
			}
			return
		}
		for _, f := range tbl.Fields() {
			if !f.Type.Valid() {
				t.Fatalf("invalid type in %+v", f)
			}
		}
	})
}
