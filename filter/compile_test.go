package filter

import (
	"strings"
	"testing"

	"github.com/flowgate/flowgate/unirec"
)

const testSpec = "ipaddr SRC_IP,ipaddr DST_IP,uint16 SRC_PORT,uint16 DST_PORT,uint8 PROTOCOL,int8 SMALL,int16 MID," +
	"int64 BIG,double SCORE,float RATIO,time TIME_FIRST,string URL,char DIR"

// rec builds one record of testSpec from "NAME=value" pairs.
func rec(t testing.TB, tmpl *unirec.Template, kv ...string) unirec.Record {
	t.Helper()
	r := tmpl.NewRecord()
	for _, s := range kv {
		name, v, _ := strings.Cut(s, "=")
		id, ok := tmpl.Lookup(name)
		if !ok {
			t.Fatalf("no field %s", name)
		}
		if err := r.SetFromString(id, v); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// Each row is a rule of the language as the C library applies it.
func TestMatchRules(t *testing.T) {
	tmpl, err := unirec.ParseTemplate(testSpec)
	if err != nil {
		t.Fatal(err)
	}
	r := rec(t, tmpl, "SRC_IP=10.1.2.3", "DST_IP=2001:db8::1", "SRC_PORT=80", "DST_PORT=3389", "PROTOCOL=6",
		"SMALL=-1", "MID=-100", "BIG=-1", "SCORE=0.5", "TIME_FIRST=2024-01-15T10:00:00.500", "URL=hello", "DIR=a")
	for _, tc := range []struct {
		expr string
		want bool
	}{
		{"", true},
		{"PROTOCOL == 6 && DST_PORT in [22, 3389]", true},
		{"PROTOCOL == TCP", true},
		{`PROTOCOL == "tcp"`, true},
		{"true || true && false", false}, // (true || true) && false
		{"true || (true && false)", true},
		{"NOSUCH == 1", false},
		{"!(NOSUCH == 1)", true},
		{"SRC_PORT > -5", false}, // unsigned: -5 is 2^64-5
		{"SMALL > 5", true},      // int8 compares as uint64 too
		{"MID < 5", true},        // int16 and wider compare signed
		{"MID in [-100]", false}, // "in" reads signed fields zero-extended
		{"BIG in [-1]", true},
		{"SRC_PORT == 0120", true}, // octal
		{"SCORE == 1.4", true},     // |a-b| < 1
		{"SCORE != 0.6", true},
		{"SCORE > 5", false}, // integer literal on a double
		{"SRC_IP == 10.0.0.0/8", true},
		{"SRC_IP < 2001:db8::/32", true}, // other family: < and > hold
		{"SRC_IP > 2001:db8::/32", true},
		{"SRC_IP <= 2001:db8::/32", false},
		{"SRC_IP in [10.0.0.0/8, 2001:db8::/32]", true},
		{"SRC_IP in [10.1.2.3]", true},
		{`SRC_IP == "10.1.2.3"`, true},
		{"host == 2001:db8::1", true},
		{"host != 2001:db8::1", false},
		{"host == 10.0.0.0/8", true},
		{"port == 3389", true},
		{"port != 80", true}, // either field
		{"TIME_FIRST > 2024-01-15T10:00:00", true},
		{"TIME_FIRST == 2024-01-15T10:00:00.500", true},
		{`TIME_FIRST == "2024-01-15T10:00:00.500"`, true}, // a time in double quotes is a time
		{`TIME_FIRST == "2024-01-15T10:00:00.5"`, false},  // this one is a string
		{`SRC_IP == '10.1.2.3'`, false},                   // in single quotes too
		{`URL =~ "^h.l+o$"`, true},
		{`URL == "hell"`, false},
		{`DIR == "a"`, true},
		{`DIR =~ "a"`, false}, // char: anything but == is "not equal"
		{"DIR == 5", false},
		{"SRC_PORT => 0", false},
		{"SRC_PORT in 80", false},
	} {
		e, err := Parse(tc.expr)
		if err != nil {
			t.Errorf("%s: %v", tc.expr, err)
			continue
		}
		p, _, err := e.Compile(tmpl)
		if err != nil {
			t.Errorf("%s: %v", tc.expr, err)
			continue
		}
		if got := p.Match(r); got != tc.want {
			t.Errorf("%s = %v, want %v", tc.expr, got, tc.want)
		}
	}
}

// Terms that can never hold for the template are reported.
func TestCompileWarnings(t *testing.T) {
	tmpl, _ := unirec.ParseTemplate("uint16 SRC_PORT,double SCORE")
	e, err := Parse("NOSUCH == 1 || SCORE > 5 || SRC_PORT == 80")
	if err != nil {
		t.Fatal(err)
	}
	_, warns, err := e.Compile(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 2 || warns[0].Col != 1 || warns[1].Col != 16 {
		t.Fatalf("warnings %v, want NOSUCH at column 1 and SCORE at column 16", warns)
	}
}

// port needs both port fields; host without DST_IP looks at SRC_IP.
func TestShorthandsWithMissingFields(t *testing.T) {
	tmpl, _ := unirec.ParseTemplate("uint16 SRC_PORT,ipaddr SRC_IP")
	r := rec(t, tmpl, "SRC_PORT=80", "SRC_IP=10.0.0.1")
	for expr, want := range map[string]bool{"port == 80": false, "host == 10.0.0.1": true, "host in [10.0.0.1]": true} {
		if got := MustCompile(expr, tmpl).Match(r); got != want {
			t.Errorf("%s = %v, want %v", expr, got, want)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	tmpl, _ := unirec.ParseTemplate(testSpec)
	for _, expr := range []string{"URL in [1, 2]", "SRC_IP in [10.0.0.0/8, 10.0.0.1]", "SRC_IP in [80]"} {
		e, err := Parse(expr)
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		if _, _, err := e.Compile(tmpl); err == nil {
			t.Errorf("%s compiled, want an error", expr)
		}
	}
}

// Matching allocates nothing.
func TestMatchAllocs(t *testing.T) {
	tmpl, _ := unirec.ParseTemplate(testSpec)
	r := rec(t, tmpl, "SRC_IP=10.1.2.3", "URL=hello", "PROTOCOL=6", "DST_PORT=22")
	p := MustCompile(`PROTOCOL == TCP && DST_PORT in [22, 3389] && MID in [-1, 5] && (URL =~ "h.*o" || host == 10.0.0.0/8 || SCORE == 1.5)`+
		` && (SRC_IP in [1.2.3.4, 10.1.2.3] || SRC_IP in [10.0.0.0/8, ::/0]) && TIME_FIRST in [2024-01-15T10:00:00]`, tmpl)
	if n := testing.AllocsPerRun(100, func() { p.Match(r) }); n != 0 {
		t.Errorf("Match allocates %v times per record", n)
	}
}
