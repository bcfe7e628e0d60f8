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
