package filter

import (
	"errors"
	"testing"

	"github.com/flowgate/flowgate/unirec"
)

// Fields the input has are copied, the others take their default or zero.
func TestProjection(t *testing.T) {
	in, _ := unirec.ParseTemplate(testSpec)
	src := rec(t, in, "SRC_PORT=80", "URL=hello", "SRC_IP=10.0.0.1")
	p, err := ParseProjection(`uint16 SRC_PORT=9, string URL, uint32 MARK=7, string NOTE="hi there", ipaddr X=::1, uint8 Z`)
	if err != nil {
		t.Fatal(err)
	}
	dst := p.T.NewRecord()
	if err := p.For(in).Project(&dst, src); err != nil {
		t.Fatal(err)
	}
	if got, want := string(dst.AppendText(nil, ',')), `::1,7,80,0,"hi there","hello"`; got != want {
		t.Errorf("projected %s, want %s (template %s)", got, want, p.T.Spec())
	}
	pr := p.For(in)
	if n := testing.AllocsPerRun(100, func() { pr.Project(&dst, src) }); n != 0 {
		t.Errorf("Project allocates %v times per record", n)
	}
}

func TestProjectionErrorsNameTheColumn(t *testing.T) {
	for _, tc := range []struct {
		spec string
		col  int
	}{
		{"uint16 SRC_PORT,DST_PORT", 17},
		{"uint16 SRC_PORT, bogus X", 18},
		{"uint16 SRC_PORT,uint16 2X", 24},
		{"uint16 SRC_PORT,uint16 X=abc", 26},
		{"uint16 A,uint32 A", 1},
	} {
		_, err := ParseProjection(tc.spec)
		var ce *ColumnError
		if !errors.As(err, &ce) || ce.Col != tc.col {
			t.Errorf("ParseProjection(%q) = %v, want an error at column %d", tc.spec, err, tc.col)
		}
	}
}

func TestParseFilterFileErrorsGiveLineAndColumn(t *testing.T) {
	for _, tc := range []struct {
		text      string
		line, col int
	}{
		{"uint16 A:A == 1;\n:PROTOCOL == 6 &&\n DST_PORT >;\n", 3, 12},
		{"uint16 A:A == 1;\n  bogus X:true;\n", 2, 3},
		{"uint16 A:A == 1;\n  no colon here;", 2, 3},
		{"uint16 A:A == 1;\n:true", 2, 1},
	} {
		_, err := ParseFilterFile(tc.text)
		var ce *ColumnError
		if !errors.As(err, &ce) || ce.Line != tc.line || ce.Col != tc.col {
			t.Errorf("ParseFilterFile(%q) = %v, want line %d column %d", tc.text, err, tc.line, tc.col)
		}
	}
}
