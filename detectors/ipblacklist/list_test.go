package ipblacklist

import (
	"errors"
	"strings"
	"testing"

	"github.com/flowgate/flowgate/unirec"
)

func build(t testing.TB, text string) (*Lists, []error) {
	t.Helper()
	b := NewBuilder()
	warns, err := b.ParseList(strings.NewReader(text), "test.blist")
	if err != nil {
		t.Fatal(err)
	}
	l, more := b.Build()
	return l, append(warns, more...)
}

func ip(t testing.TB, s string) unirec.IP {
	t.Helper()
	a, err := unirec.ParseIP(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// flowMatch runs one flow through a filter and returns the bitmaps of the
// alert, or ok false when the flow is not forwarded.
func flowMatch(t *testing.T, f *Filter, src, dst string, sport, dport uint16) (srcBL, dstBL uint64, adaptive string, ok bool) {
	t.Helper()
	tm, _ := unirec.ParseTemplate(InputSpec)
	if err := f.Bind(tm); err != nil {
		t.Fatal(err)
	}
	r := tm.NewRecord()
	s, _ := tm.Lookup("SRC_IP")
	d, _ := tm.Lookup("DST_IP")
	sp, _ := tm.Lookup("SRC_PORT")
	dp, _ := tm.Lookup("DST_PORT")
	r.SetIP(s, ip(t, src))
	r.SetIP(d, ip(t, dst))
	r.SetUint16(sp, sport)
	r.SetUint16(dp, dport)
	err := f.Process(r, func(a unirec.Record) error {
		sb, _ := a.T.Lookup("SRC_BLACKLIST")
		db, _ := a.T.Lookup("DST_BLACKLIST")
		ad, _ := a.T.Lookup("ADAPTIVE_IDS")
		srcBL, dstBL, adaptive, ok = a.Uint64(sb), a.Uint64(db), string(a.Var(ad)), true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return
}

// The example lines of bl_downloader's README and the port-group example
// of detectors.md §5.8: every group is honoured (the C filter reads only
// the first and would give 9, 9, 8).
func TestReadmeExamples(t *testing.T) {
	l, warns := build(t, "1.10.16.0/20,8\n1.22.124.243,256\n1.30.40.5,9;1:80,8080,443;4:80\n1.31.1.100,7;2:22\n2401:c580:0000:0000:0000:0000:0000:0000/32,4\n")
	if len(warns) != 0 {
		t.Fatal(warns)
	}
	f, _ := New(l, Options{})
	tests := []struct {
		src   string
		sport uint16
		want  uint64
	}{
		{"1.30.40.5", 80, 9}, {"1.30.40.5", 443, 1}, {"1.30.40.5", 22, 0},
		{"1.10.31.255", 1234, 8}, {"1.10.32.0", 1234, 0},
		{"1.22.124.243", 1, 256}, {"1.31.1.100", 22, 7}, {"1.31.1.100", 23, 5},
		{"2401:c580:ffff::1", 5, 4}, {"2401:c581::1", 5, 0},
	}
	for _, tt := range tests {
		s, d, _, ok := flowMatch(t, f, tt.src, "10.0.0.1", tt.sport, 40000)
		if tt.want == 0 {
			if ok {
				t.Errorf("%s:%d forwarded with %d", tt.src, tt.sport, s)
			}
			continue
		}
		if !ok || s != tt.want || d != 0 {
			t.Errorf("%s:%d: SRC_BLACKLIST %d DST_BLACKLIST %d ok %v, want %d and 0", tt.src, tt.sport, s, d, ok, tt.want)
		}
	}
}

// The source is checked first; when it is listed but its port filter
// leaves nothing, the destination is not checked (C's if/else chain). The
// other side's bitmap is always 0 (C leaves a stale value there), and DNS
// is ignored.
func TestMatchSides(t *testing.T) {
	l, _ := build(t, "5.5.5.5,2;2:22\n6.6.6.6,4\n7.7.7.7,999,uuid-a,uuid-b\n")
	f, _ := New(l, Options{})
	if _, d, _, ok := flowMatch(t, f, "10.0.0.1", "6.6.6.6", 40000, 443); !ok || d != 4 {
		t.Fatalf("DST match: %d %v", d, ok)
	}
	if s, d, _, ok := flowMatch(t, f, "5.5.5.5", "6.6.6.6", 22, 443); !ok || s != 2 || d != 0 {
		t.Fatalf("SRC match after DST match: src %d dst %d %v", s, d, ok)
	}
	if _, _, _, ok := flowMatch(t, f, "5.5.5.5", "6.6.6.6", 2222, 443); ok {
		t.Fatal("listed source filtered by port, yet the destination was checked")
	}
	if _, _, _, ok := flowMatch(t, f, "6.6.6.6", "10.0.0.1", 53, 40000); ok {
		t.Fatal("DNS forwarded")
	}
	if s, _, a, ok := flowMatch(t, f, "7.7.7.7", "10.0.0.1", 1, 2); !ok || s != 999 || a != "uuid-a,uuid-b" {
		t.Fatalf("adaptive: %d %q %v", s, a, ok)
	}
	if f.Stats().Extra["dns_skipped"] != 1 {
		t.Fatalf("stats %+v", f.Stats())
	}
}

// Longest-prefix match finds the most specific entry whatever the
// interleaving; the C search is replicated behind CSearch, and IPv6
// masks are right for lengths that are not a multiple of 8.
func TestPrefixes(t *testing.T) {
	text := "10.0.0.0/8,1\n10.1.0.0/16,2\n10.1.2.0/24,4\n10.1.2.3,8\n10.2.0.0/16,16\n" +
		"2001:0db8:00f0:0000:0000:0000:0000:0000/44,32\n"
	l, warns := build(t, text)
	if len(warns) != 0 {
		t.Fatal(warns)
	}
	lpm, _ := New(l, Options{})
	cs, _ := New(l, Options{CSearch: true})
	tests := []struct {
		addr    string
		lpm, cs uint64
	}{
		{"10.1.2.3", 8, 4}, // the C search stops at the /24
		{"10.1.2.4", 4, 4},
		{"10.1.3.1", 2, 0}, // ... and misses the /16 and the /8
		{"10.9.9.9", 1, 0}, // the C search misses the /8 here
		{"10.2.0.1", 16, 16},
		{"11.0.0.0", 0, 0},
		{"2001:db8:ff::1", 32, 32},
		{"2001:db8:100::1", 0, 0},
	}
	for _, tt := range tests {
		for _, c := range []struct {
			f    *Filter
			want uint64
		}{{lpm, tt.lpm}, {cs, tt.cs}} {
			s, _, _, _ := flowMatch(t, c.f, tt.addr, "192.0.2.1", 1, 2)
			if s != c.want {
				t.Errorf("%s (C search %v): %d, want %d", tt.addr, c.f.opts.CSearch, s, c.want)
			}
		}
	}
}

// A bad line is reported with file and line and skipped; the rest loads.
// An entry with host bits set never matches (as in C) and is reported;
// a prefix listed twice keeps its first line.
func TestBadLines(t *testing.T) {
	text := strings.Join([]string{
		"1.2.3.4,1",          // 1
		"no comma",           // 2
		"1.2.3.400,1",        // 3 bad address
		"1.2.3.0/33,1",       // 4 bad prefix
		"1.2.4.0/24,x",       // 5 bad bitmap
		"1.2.5.0/24,4,junk",  // 6 IDs on a non-adaptive entry
		"1.2.6.0/24,4;1",     // 7 bad group
		"1.2.7.0/24,4;1:x",   // 8 bad port
		"1.2.8.0/24,4;99:80", // 9 bad ID
		"1.2.9.5/24,8",       // 10 host bits
		"9.9.9.9,16\r",       // 11 ok
		"",                   // 12 skipped
		"9.9.9.9,2",          // 13 duplicate
	}, "\n")
	l, warns := build(t, text)
	want := map[int]error{2: ErrNoComma, 3: ErrBadAddress, 4: ErrBadPrefix, 5: ErrBadBitmap, 6: ErrBadBitmap,
		7: ErrBadPorts, 8: ErrBadPorts, 9: ErrBadPorts, 10: ErrHostBits, 13: ErrDuplicate}
	if len(warns) != len(want) {
		t.Fatalf("%d warnings, want %d: %v", len(warns), len(want), warns)
	}
	for _, e := range warns {
		var le *LineError
		if !errors.As(e, &le) || le.File != "test.blist" || !errors.Is(e, want[le.Line]) {
			t.Errorf("unexpected warning %v", e)
		}
	}
	f, _ := New(l, Options{})
	for addr, want := range map[string]uint64{"1.2.3.4": 1, "9.9.9.9": 16, "1.2.9.5": 0, "1.2.9.0": 0} {
		if s, _, _, _ := flowMatch(t, f, addr, "192.0.2.1", 1, 2); s != want {
			t.Errorf("%s: %d, want %d", addr, s, want)
		}
	}
}

func BenchmarkProcess(b *testing.B) {
	for _, cs := range []bool{false, true} {
		name := "lpm"
		if cs {
			name = "c-search"
		}
		b.Run(name, func(b *testing.B) {
			// 100 000 entries, the size of a real list: /32s and some /24s.
			var sb strings.Builder
			for i := range 100_000 {
				a := uint32(0x05000000) + uint32(i)*2048
				if i%10 == 0 {
					sb.WriteString(unirec.IPv4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), 0}).String() + "/24,8\n")
				} else {
					sb.WriteString(unirec.IPv4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)}).String() + ",1\n")
				}
			}
			l, _ := build(b, sb.String())
			f, _ := New(l, Options{CSearch: cs})
			tm, _ := unirec.ParseTemplate(InputSpec)
			f.Bind(tm)
			const n = 1 << 12
			recs := make([]unirec.Record, n)
			s, _ := tm.Lookup("SRC_IP")
			d, _ := tm.Lookup("DST_IP")
			dp, _ := tm.Lookup("DST_PORT")
			for i := range recs {
				r := tm.NewRecord()
				r.SetIP(s, unirec.IPv4([4]byte{10, 0, byte(i >> 8), byte(i)}))
				a := uint32(0x05000000) + uint32(i*7919)*64 // about 3 % listed
				r.SetIP(d, unirec.IPv4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)}))
				r.SetUint16(dp, 443)
				recs[i] = r
			}
			emit := func(unirec.Record) error { return nil }
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				f.Process(recs[i%n], emit)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

func FuzzParseList(f *testing.F) {
	for _, s := range []string{
		"1.10.16.0/20,8\n1.22.124.243,256\n1.30.40.5,9;1:80,8080,443;4:80\n1.31.1.100,7;2:22\n",
		"2401:c580:0000:0000:0000:0000:0000:0000/32,4\n2a10:cc40::99,999,a,b\n10.0.0.0/8,1\n10.0.0.0/8,2\n",
		"x\n,\n1.2.3.4/,1\n1.2.3.4,;\n::/0,1;64:1\n0.0.0.0/0,1\n255.255.255.255,1\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := NewBuilder()
		b.ParseList(strings.NewReader(s), "fuzz")
		l, _ := b.Build()
		// Longest-prefix match must agree with a scan of every entry.
		for _, fam := range []*family{&l.v4, &l.v6} {
			for i := range fam.starts {
				if i > 0 && !fam.starts[i-1].less(fam.starts[i]) {
					t.Fatalf("interval starts out of order at %d", i)
				}
			}
			for _, e := range fam.entries {
				for _, a := range []u128{e.Addr, inc(e.Addr), e.Addr.or(maskOf(e.Bits, fam.width).not(fam.width))} {
					if fam.width == 32 && a.lo > 0xFFFFFFFF {
						continue
					}
					if got, want := fam.lookup(a), scan(fam, a); got != want {
						t.Fatalf("lookup %v: entry %v, scan %v", a, got, want)
					}
				}
			}
		}
	})
}

// scan is the reference longest-prefix match: the first entry of the
// longest prefix containing a, skipping entries with host bits set.
func scan(f *family, a u128) *Entry {
	var best *Entry
	for i := range f.entries {
		e := &f.entries[i]
		m := maskOf(e.Bits, f.width)
		if e.Addr.and(m) != e.Addr || a.and(m) != e.Addr {
			continue
		}
		if best == nil || e.Bits > best.Bits {
			best = e
		}
	}
	return best
}

func FuzzParseXMLConfig(f *testing.F) {
	f.Add(`<configuration><struct name="main struct"><element name="ipv4_blacklist_file">/a</element><element name="watch_blacklists">false</element></struct></configuration>`)
	f.Add(`<configuration><struct>`)
	f.Fuzz(func(t *testing.T, s string) {
		ParseXMLConfig(strings.NewReader(s))
	})
}
