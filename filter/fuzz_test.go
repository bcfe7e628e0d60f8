package filter

import (
	"errors"
	"testing"

	"github.com/flowgate/flowgate/unirec"
)

// FuzzParse: any text parses or fails with a *SyntaxError inside the
// text; what parses compiles and runs on a record without panicking, and
// its canonical form prints.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"PROTOCOL == 6 && DST_PORT in [22, 3389]", "host == 10.0.0.0/8 || port != 80", `URL =~ "^a(b|c)*$"`,
		"!(SRC_IP in [2001:db8::/32, 10.0.0.0/8]) and TIME_FIRST > 2024-01-15T10:00:00.500",
		"SCORE == -1.5 OR BIG < -9223372036854775809", `PROTOCOL == "udp"`, "true", "((", "SRC_PORT2 == 1",
		`DIR == 'x'`, "SRC_PORT < [80,  1.5, -1]", "SRC_IP == ::ffff:1.2.3.4/120",
	} {
		f.Add(s)
	}
	tmpl, err := unirec.ParseTemplate(testSpec)
	if err != nil {
		f.Fatal(err)
	}
	r := tmpl.NewRecord()
	f.Fuzz(func(t *testing.T, src string) {
		e, err := Parse(src)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Col < 1 || se.Col > len(src)+1 {
				t.Fatalf("Parse(%q): %v", src, err)
			}
			return
		}
		if p, _, err := e.Compile(tmpl); err == nil {
			p.Match(r)
		}
		_ = e.String()
	})
}

// FuzzParseFilterFile: a -f file (and the -O templates in it) is read or
// refused with a line and column, never a panic; what is read projects a
// record.
func FuzzParseFilterFile(f *testing.F) {
	for _, s := range []string{
		"# comment\nuint16 SRC_PORT,ipaddr SRC_IP:SRC_IP == 2001:db8::1 || SRC_PORT == 22; # trailing\n:PROTOCOL == 6 &&\n  DST_PORT > 1000;\n",
		"uint8 PROTOCOL,uint32 FOO=7,string NOTE=\"hi\",time T=2024-01-01T00:00:00:SRC_PORT < 100;\n:;\n",
		"uint16* P=[1|2],bytes B=0a0b:true;", "bogus X:true;", "uint16 A:", ":(;",
	} {
		f.Add(s)
	}
	in, err := unirec.ParseTemplate(testSpec)
	if err != nil {
		f.Fatal(err)
	}
	src := in.NewRecord()
	f.Fuzz(func(t *testing.T, text string) {
		specs, err := ParseFilterFile(text)
		if err != nil {
			var ce *ColumnError
			if !errors.As(err, &ce) || ce.Line < 1 || ce.Col < 1 {
				t.Fatalf("ParseFilterFile(%q): %v", text, err)
			}
			return
		}
		for _, s := range specs {
			if s.Projection != nil {
				dst := s.Projection.T.NewRecord()
				if err := s.Projection.For(in).Project(&dst, src); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}
