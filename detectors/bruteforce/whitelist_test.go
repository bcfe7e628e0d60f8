package bruteforce

import (
	"errors"
	"strings"
	"testing"

	"github.com/flowgate/flowgate/unirec"
)

func ip(t testing.TB, s string) unirec.IP {
	t.Helper()
	a, err := unirec.ParseIP(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func mustWhitelist(t *testing.T, text string) *Whitelist {
	t.Helper()
	wl, errs := ParseWhitelist(strings.NewReader(text), "test.wl", nil)
	if len(errs) > 0 {
		t.Fatalf("parse: %v", errs)
	}
	return wl
}

// The cases of the C module's whitelist_unit_test.cpp (detectors.md §4.10
// item 6), as lookups isWhitelisted(a, b, aPort, bPort).
func TestWhitelistUnitCases(t *testing.T) {
	other := "8.8.8.8"
	type look struct {
		a, b         string
		aPort, bPort uint16
		want         bool
	}
	tests := []struct {
		name  string
		rules string
		looks []look
	}{
		{"all ports, both directions", "1.2.3.4/32\n", []look{
			{"1.2.3.4", other, 1, 2, true}, {other, "1.2.3.4", 1, 2, true}, {"1.2.3.5", other, 1, 2, false},
		}},
		{"all ports, src only", "src 1.2.3.4/32\n", []look{
			{"1.2.3.4", other, 1, 2, true}, {other, "1.2.3.4", 1, 2, false},
		}},
		{"all ports, dst only", "dst 1.2.3.4/32\n", []look{
			{"1.2.3.4", other, 1, 2, false}, {other, "1.2.3.4", 1, 2, true},
		}},
		{"single port", "1.2.3.4/32/80\n", []look{
			{"1.2.3.4", other, 80, 2, true}, {"1.2.3.4", other, 79, 2, false}, {other, "1.2.3.4", 1, 80, true},
		}},
		{"range", "src 1.2.3.4/32/80-100\n", []look{
			{"1.2.3.4", other, 80, 0, true}, {"1.2.3.4", other, 95, 0, true}, {"1.2.3.4", other, 100, 0, true},
			{"1.2.3.4", other, 79, 0, false}, {"1.2.3.4", other, 101, 0, false},
		}},
		{"list", "src 1.2.3.4/32/50,10-20,1000\n", []look{
			{"1.2.3.4", other, 50, 0, true}, {"1.2.3.4", other, 10, 0, true}, {"1.2.3.4", other, 15, 0, true},
			{"1.2.3.4", other, 20, 0, true}, {"1.2.3.4", other, 1000, 0, true},
			{"1.2.3.4", other, 21, 0, false}, {"1.2.3.4", other, 51, 0, false}, {"1.2.3.4", other, 999, 0, false},
		}},
		{"prefix /16", "src 10.20.0.0/16\ndst 2001:db8::/32/22\n", []look{
			{"10.20.255.1", other, 1, 0, true}, {"10.21.0.1", other, 1, 0, false},
			{"2001:db8::1", "2001:db8:ffff::5", 0, 22, true}, {"2001:db8::1", "2001:db9::5", 0, 22, false},
		}},
		{"prefix /0 with ports", "src 0.0.0.0/0/10-20\n", []look{
			{"1.1.1.1", other, 10, 0, true}, {"200.1.1.1", other, 20, 0, true}, {"1.1.1.1", other, 21, 0, false},
		}},
		{"prefix /0 all ports", "src 0.0.0.0/0\n", []look{
			{"1.1.1.1", other, 10, 0, true}, {"255.255.255.255", other, 65535, 0, true},
		}},
		{"/8 on 255.255.255.255 port 25, dst only", "dst 255.255.255.255/8/25\n", []look{
			{other, "255.1.2.3", 0, 25, true}, {other, "255.1.2.3", 0, 26, false}, {"255.1.2.3", other, 25, 0, false},
		}},
		{"comments and blank lines", "# header\n\n1.2.3.4/32 # trailing comment\n", []look{
			{"1.2.3.4", other, 1, 2, true},
		}},
		// C keeps ranges in a set where overlapping ranges are equal: 50-120 is dropped.
		{"overlapping range dropped (C quirk)", "src 1.2.3.4/32/80,53,100-200,50-120\n", []look{
			{"1.2.3.4", other, 80, 0, true}, {"1.2.3.4", other, 53, 0, true}, {"1.2.3.4", other, 150, 0, true},
			{"1.2.3.4", other, 60, 0, false}, {"1.2.3.4", other, 99, 0, false},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wl := mustWhitelist(t, tt.rules)
			for _, l := range tt.looks {
				if got := wl.Whitelisted(ip(t, l.a), ip(t, l.b), l.aPort, l.bPort); got != l.want {
					t.Errorf("Whitelisted(%s, %s, %d, %d) = %v, want %v", l.a, l.b, l.aPort, l.bPort, got, l.want)
				}
			}
		})
	}
}

// A bad line is reported with file and line; the other lines load.
func TestWhitelistBadLines(t *testing.T) {
	text := strings.Join([]string{
		"1.2.3.4/32",         // 1 ok
		"abc",                // 2 short
		"1.2.3.4",            // 3 no prefix
		"dst 1.2.3.400/32",   // 4 bad IP
		"src 1.2.3.4/33",     // 5 prefix too long
		"2001:db8::/129",     // 6 prefix too long
		"1.2.3.4/24/",        // 7 empty ports
		"1.2.3.4/24/80-",     // 8 open range (C recurses forever)
		"1.2.3.4/24/x",       // 9 not a number
		"1.2.3.4/24/70000",   // 10 port out of range
		"1.2.3.4/24/90-80",   // 11 reversed range
		" 1.2.3.4/24",        // 12 leading space
		"src 5.6.7.0/24/22,", // 13 ok: empty item ignored
	}, "\n")
	wl, errs := ParseWhitelist(strings.NewReader(text), "wl.txt", nil)
	want := map[int]error{2: ErrShortLine, 3: ErrNoPrefix, 4: ErrBadIP, 5: ErrBadPrefix, 6: ErrBadPrefix, 7: ErrBadPorts,
		8: ErrBadPorts, 9: ErrBadPorts, 10: ErrBadPorts, 11: ErrBadPorts, 12: ErrBadIP}
	if len(errs) != len(want) {
		t.Fatalf("%d errors, want %d: %v", len(errs), len(want), errs)
	}
	for _, e := range errs {
		var le *LineError
		if !errors.As(e, &le) || le.File != "wl.txt" || !errors.Is(e, want[le.Line]) {
			t.Errorf("unexpected error %v", e)
		}
	}
	if wl.Len() != 2 || !wl.Whitelisted(ip(t, "5.6.7.8"), ip(t, "9.9.9.9"), 22, 0) || !wl.Whitelisted(ip(t, "1.2.3.4"), ip(t, "9.9.9.9"), 1, 1) {
		t.Fatalf("good lines not loaded: %d rules", wl.Len())
	}
}

func TestWhitelistVerbose(t *testing.T) {
	var b strings.Builder
	ParseWhitelist(strings.NewReader("dst 10.0.0.0/8/22,20-30\nbad\n"), "v.wl", &b)
	for _, want := range []string{"dst 10.0.0.0/8 ports 22,20-30 (1 overlapping range(s) dropped, as in C)", "v.wl:2: skipped"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("verbose output %q lacks %q", b.String(), want)
		}
	}
}
