package filter

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowgate/flowgate/internal/testutil"
	"github.com/flowgate/flowgate/nfdump"
)

func goldenDir(t testing.TB) string { return testutil.SharedTestdata(t, "nfdump") }

func count(t *testing.T, path string, f *Filter) int {
	t.Helper()
	file, err := nfdump.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	it := file.Records(context.Background())
	defer it.Close()
	n := 0
	for it.Next() {
		if f.Match(it.Record()) {
			n++
		}
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

// Expected counts follow from the generator rules in the testdata README
// (flow i: IPv6 iff i%4==3, dst port [80,443,53,22,123][i%5], packets 1+i%1000, ...).
func TestFilterCountsOnGeneratorFlows(t *testing.T) {
	path := filepath.Join(goldenDir(t), "gen_v9_v4v6_none.nf")
	tests := []struct {
		expr string
		want int
	}{
		{"", 200},
		{"any", 200},
		{"proto udp", 80},
		{"proto tcp", 120},
		{"proto 17", 80},
		{"port 53", 40},
		{"dst port 53", 40},
		{"src port 53", 0},
		{"src port 1024", 1},
		{"port > 1100", 200 - 77},
		{"src ip 10.0.0.5", 1},
		{"ip 10.0.0.5", 1},
		{"dst host 172.16.0.7", 1},
		{"net 2001:db8:1::/48", 50},
		{"src net 10.0.0.0/24", 150},
		{"dst net 10.0.0.0/8", 0},
		{"packets > 100", 100},
		{"packets >= 100", 101},
		{"packets < 11", 10},
		{"packets eq 1", 1},
		{"bytes > 5k", 124}, // bytes 64+65i > 5000 for i >= 76; k = 1000 as in nfdump
		{"not proto udp", 120},
		{"! proto udp", 120},
		{"proto tcp and port 80", 40},
		{"proto tcp && (port 80 or port 443)", 80},
		{"port 80 or port 443 or port 22", 120},
		{"not (port 80 || port 443) and packets > 100", 60},
		{"PROTO UDP AND NOT DST PORT 53", 40},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			f, err := Compile(tc.expr)
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			if got := count(t, path, f); got != tc.want {
				t.Errorf("%q matched %d records, want %d", tc.expr, got, tc.want)
			}
		})
	}
}

// TestFilterAgreesWithNfdump runs the same expressions through Debian's
// nfdump (skipped when it is not installed) on files with ICMP, IPv6 and
// softflowd traffic.
func TestFilterAgreesWithNfdump(t *testing.T) {
	bin, err := exec.LookPath("nfdump")
	if err != nil {
		t.Skip("nfdump not installed")
	}
	dir := goldenDir(t)
	exprs := []string{"proto icmp6", "proto icmp", "port 0", "dst port 53", "src port 53", "port > 1024",
		"net fe80::/10", "src net 192.168.0.0/16", "not proto udp and packets > 2", "bytes < 100",
		"(proto tcp or proto udp) and not port 53", "ip 8.8.8.8", "dst port < 1024 and not proto tcp"}
	for _, name := range []string{"v9_mixed_lzo.nf", "nfpcapd_mixed_none.nf", "v5_ipv4_none.nf"} {
		path := filepath.Join(dir, name)
		for _, expr := range exprs {
			t.Run(name+"/"+expr, func(t *testing.T) {
				out, err := exec.Command(bin, "-r", path, "-q", "-o", "fmt:%pr", expr).Output()
				if err != nil {
					t.Fatalf("nfdump %q: %v", expr, err)
				}
				want := 0
				for _, l := range strings.Split(string(out), "\n") {
					if l = strings.TrimSpace(l); l != "" && l != "No matching flows" {
						want++
					}
				}
				f, err := Compile(expr)
				if err != nil {
					t.Fatal(err)
				}
				if got := count(t, path, f); got != want {
					t.Errorf("%q matched %d, nfdump matched %d", expr, got, want)
				}
			})
		}
	}
}

func TestCompileRejectsUnsupportedParts(t *testing.T) {
	tests := []struct {
		expr string
		want string
	}{
		{"as 64512", `unsupported filter term "as" at offset 0`},
		{"proto tcp and flags S", `unsupported filter term "flags" at offset 14`},
		{"src proto tcp", `unsupported filter term "src" at offset 0`},
		{"ip 10.0.0.300", `bad IP address "10.0.0.300" at offset 3`},
		{"net 10.0.0.0", `bad network "10.0.0.0"`},
		{"port 70000", "port 70000 out of range"},
		{"packets > many", `bad number "many"`},
		{"proto xyz", `unsupported protocol "xyz"`},
		{"(proto tcp", "missing ')'"},
		{"proto tcp)", `unexpected ")"`},
		{"proto", "expression incomplete at end of expression"},
		{"port 80 &", "unexpected character '&'"},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			_, err := Compile(tc.expr)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestMatchAllocatesNothing(t *testing.T) {
	f, err := Compile("(src net 10.0.0.0/8 or dst ip 2001:db8::1) and not port 53 and packets > 3 and proto tcp")
	if err != nil {
		t.Fatal(err)
	}
	r := &nfdump.Record{Proto: 6, Packets: 9, DstPort: 80}
	if a := testing.AllocsPerRun(100, func() { f.Match(r) }); a != 0 {
		t.Errorf("Match allocates %v", a)
	}
}

func FuzzCompile(f *testing.F) {
	for _, s := range []string{"proto tcp and port 80", "not (src ip 10.0.0.1 or dst net ::/0)", "packets > 5k || bytes <= 1g", "(((any)))"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := Compile(s)
		if err != nil {
			return
		}
		flt.Match(&nfdump.Record{})
	})
}

func BenchmarkMatch(b *testing.B) {
	f, err := Compile("(src net 10.0.0.0/8 or dst ip 2001:db8::1) and not port 53 and packets > 3")
	if err != nil {
		b.Fatal(err)
	}
	r := &nfdump.Record{Proto: 6, Packets: 9, DstPort: 80}
	b.ReportAllocs()
	n := 0
	for i := 0; i < b.N; i++ {
		if f.Match(r) {
			n++
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
