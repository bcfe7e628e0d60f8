package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowgate/flowgate/internal/testutil"
	"github.com/flowgate/flowgate/internal/testutil/nemeac"
	"github.com/flowgate/flowgate/internal/testutil/trapcap"
)

// flowSpec is the template of the generated flows: every field type a
// filter can meet, with names that have no digits.
const flowSpec = "ipaddr SRC_IP,ipaddr DST_IP,uint16 SRC_PORT,uint16 DST_PORT,uint8 PROTOCOL,uint8 TCP_FLAGS," +
	"uint64 BYTES,uint32 PACKETS,time TIME_FIRST,time TIME_LAST,int32 DELTA,int8 SMALL,int16 MID,int64 BIG," +
	"float RATIO,double SCORE,string URL,char DIR,macaddr SRC_MAC,uint16* PORTS,bytes PAYLOAD"

// genFlows writes n pseudo-random flows (fixed seed) as logreplay CSV,
// with values chosen around the literals of the expression tables.
func genFlows(n int) string {
	r := rand.New(rand.NewPCG(7, 16))
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	ips := []string{"10.0.0.1", "10.0.0.2", "10.0.1.5", "10.255.0.9", "192.168.1.1", "192.168.1.200", "8.8.8.8",
		"1.2.3.4", "0.0.0.0", "255.255.255.255", "147.229.3.10", "9.255.255.255", "11.0.0.0",
		"::", "::1", "2001:db8::1", "2001:db8::ff", "fe80::1", "2001:db8:1::5", "::ffff:1.2.3.4", "2001:db9::"}
	var b strings.Builder
	b.WriteString(flowSpec + "\n")
	for i := 0; i < n; i++ {
		sec := pick("0", "1700000000", "1705312800", fmt.Sprint(1705312800+r.IntN(7200)))
		ms := r.IntN(1000)
		ts := func(s string, add int) string {
			var v int64
			fmt.Sscan(s, &v)
			return time.Unix(v+int64(add), 0).UTC().Format("2006-01-02T15:04:05") + fmt.Sprintf(".%03d", ms)
		}
		var ports []string
		for k := r.IntN(4); k > 0; k-- {
			ports = append(ports, pick("22", "80", "443", "1000"))
		}
		fields := []string{
			pick(ips...), pick(ips...),
			pick("0", "22", "53", "80", "443", "1024", "3389", "8080", "65535", fmt.Sprint(r.IntN(65536))),
			pick("0", "22", "53", "80", "443", "1024", "3389", "8080", "65535", fmt.Sprint(r.IntN(65536))),
			pick("1", "6", "17", "47", "58", "0", "255"),
			fmt.Sprint(r.IntN(256)),
			pick("0", "1", "64", "1500", "100000", "4294967296", "9223372036854775808", "18446744073709551615", fmt.Sprint(r.IntN(1000000))),
			pick("0", "1", "2", "10", "4294967295", fmt.Sprint(r.IntN(1000))),
			ts(sec, 0), ts(sec, r.IntN(100)),
			pick("0", "-1", "1", "-5", "-2147483648", "2147483647", fmt.Sprint(r.IntN(2001)-1000)),
			pick("0", "-1", "-128", "127", "5", "-5"),
			pick("0", "-1", "-32768", "32767", "5", "-100"),
			pick("0", "-1", "-9223372036854775808", "9223372036854775807", fmt.Sprint(r.Int64N(2e12)-1e12)),
			pick("0.000000", "0.500000", "-1.250000", "3.141590", "100.500000", "-0.000100", fmt.Sprintf("%f", r.Float64()*100)),
			pick("0.000000", "0.500000", "-1.250000", "3.141590", "1.200000", "-0.000100", "0.999999", fmt.Sprintf("%f", r.Float64()*100)),
			`"` + pick("", "http://example.com/a", "https://x.cz/b?q=1", "hello", "HELLO", "hell", "abc123", "a.b.c", "foo bar", "hello world") + `"`,
			pick("a", "b", "c", "X", "Y", "0", "1", "."),
			pick("00:00:00:00:00:00", "aa:bb:cc:dd:ee:ff", "01:02:03:04:05:06"),
			"[" + strings.Join(ports, "|") + "]",
			pick("", "6869", "0a0b", "68656c6c6f"),
		}
		b.WriteString(strings.Join(fields, ",") + "\n")
	}
	return b.String()
}

// differ runs the C unirecfilter and ours on the same input and compares
// the C logger's text of every output.
type differ struct {
	c       *nemeac.Tools
	dir     string
	in      string
	cLogger bool // print with the C logger instead of unirec's identical text form (slower)
}

// loggerText is what "logger -t" prints for a .trapcap file, by unirec's
// byte-identical formatter ("" for a missing or empty file).
func loggerText(t testing.TB, path string) string {
	t.Helper()
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		return ""
	}
	c := trapcap.Read(t, path)
	if c.Tmpl == nil {
		return ""
	}
	b := append(c.Tmpl.AppendHeader(nil, ','), '\n')
	for _, r := range c.Records {
		b = append(r.AppendText(b, ','), '\n')
	}
	return string(b)
}

func newDiffer(t *testing.T, records int) *differ {
	c := nemeac.Find(t)
	dir := t.TempDir()
	csv := filepath.Join(dir, "flows.csv")
	if err := os.WriteFile(csv, []byte(genFlows(records)), 0o644); err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(dir, "in.trapcap")
	c.Run(t, "logreplay", "-i", "f:"+in, "-f", csv)
	return &differ{c: c, dir: dir, in: in}
}

// compare runs both modules with args and n outputs and reports whether
// every output's logger text is equal; it returns the C texts.
func (d *differ) compare(t *testing.T, names []string, args ...string) []string {
	t.Helper()
	n := len(names)
	ifc := func(who string) (string, []string) {
		spec := "f:" + d.in
		var paths []string
		for i := 0; i < n; i++ {
			p := filepath.Join(d.dir, fmt.Sprintf("%s%d.trapcap", who, i))
			os.Remove(p)
			paths = append(paths, p)
			spec += ",f:" + p
		}
		return spec, paths
	}
	cSpec, cPaths := ifc("c")
	gSpec, gPaths := ifc("go")
	ctx, cancel := context.WithTimeout(context.Background(), testutil.WaitTimeout)
	defer cancel()
	cOut, cErr := d.c.Command(ctx, "unirecfilter", append([]string{"-i", cSpec}, args...)...).CombinedOutput()
	var gOut bytes.Buffer
	if code := run(ctx, append([]string{"unirecfilter", "-i", gSpec}, args...), &gOut, &gOut); code != 0 {
		t.Fatalf("ours: exit %d: %s", code, gOut.String())
	}
	if cErr != nil {
		t.Fatalf("C unirecfilter: %v\n%s", cErr, cOut)
	}
	var texts []string
	for i := range cPaths {
		text := loggerText
		if d.cLogger {
			text = d.c.LoggerText
		}
		want, got := text(t, cPaths[i]), text(t, gPaths[i])
		if want != got {
			t.Errorf("%s: C %d lines, ours %d lines\n%s", names[i], strings.Count(want, "\n"), strings.Count(got, "\n"), firstDiff(want, got))
		}
		texts = append(texts, want)
	}
	return texts
}

func firstDiff(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(la) || i < len(lb); i++ {
		var x, y string
		if i < len(la) {
			x = la[i]
		}
		if i < len(lb) {
			y = lb[i]
		}
		if x != y {
			return fmt.Sprintf("line %d:\n  C:    %s\n  ours: %s", i+1, x, y)
		}
	}
	return ""
}

// table compares the modules on each expression, 30 at a time as the
// outputs of one -f file (one process run per batch instead of one per
// expression).
func (d *differ) table(t *testing.T, exprs []string) {
	t.Helper()
	for len(exprs) > 0 {
		batch := exprs[:min(30, len(exprs))]
		exprs = exprs[len(batch):]
		var file strings.Builder
		for _, e := range batch {
			file.WriteString(":" + e + ";\n")
		}
		path := filepath.Join(d.dir, "batch.txt")
		if err := os.WriteFile(path, []byte(file.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		d.compare(t, batch, "-f", path)
	}
}

// Every operator against every literal kind, on fields of every type.
func TestDiffOperatorsAndLiterals(t *testing.T) {
	d := newDiffer(t, 300)
	var exprs []string
	for _, op := range []string{"==", "=", "!=", "<>", "<", ">", "<=", ">=", "=>", "=<", "in"} {
		for _, e := range []string{
			"SRC_PORT %s 80", "SRC_PORT %s -5", "BYTES %s -5", "BYTES %s 1500", "PACKETS %s 4294967295",
			"SMALL %s 5", "SMALL %s -5", "MID %s -1", "DELTA %s -1", "BIG %s -5", "BIG %s 18446744073709551615",
			"RATIO %s 0.5", "SCORE %s 3.14159", "SCORE %s 0.0", "SRC_IP %s 10.0.0.1", "SRC_IP %s 10.0.0.0/8",
			"DST_IP %s 2001:db8::/32", "DST_IP %s ::1", "TIME_FIRST %s 2024-01-15T10:00:00",
			"TIME_LAST %s 2024-01-15T10:30:00.250", "PROTOCOL %s 6", "port %s 80", "SRC_MAC %s 5", "PORTS %s 5", "DIR %s 1",
		} {
			exprs = append(exprs, fmt.Sprintf(e, op))
		}
	}
	d.table(t, exprs)
}

// Strings, quoted addresses and times, protocol names, regular expressions.
func TestDiffStringLiterals(t *testing.T) {
	d := newDiffer(t, 300)
	var exprs []string
	for _, op := range []string{"==", "!=", "=~", "~="} {
		for _, e := range []string{
			`URL %s "hello"`, `URL %s 'x.cz'`, `URL %s ""`, `DIR %s "a"`, `DIR %s "ab"`,
			`SRC_MAC %s "aa:bb:cc:dd:ee:ff"`, `SRC_PORT %s "80"`, `SRC_IP %s "10"`,
		} {
			exprs = append(exprs, fmt.Sprintf(e, op))
		}
	}
	// An address or time in quotes (=~ on them is an error, in C a syntax error).
	for _, op := range []string{"==", "!="} {
		for _, e := range []string{`SRC_IP %s "10.0.0.1"`, `SRC_IP %s "10.0.0.0/8"`, `TIME_FIRST %s "2024-01-15T10:00:00"`} {
			exprs = append(exprs, fmt.Sprintf(e, op))
		}
	}
	exprs = append(exprs,
		`PROTOCOL == TCP`, `PROTOCOL == UDP`, `PROTOCOL != ICMP`, `PROTOCOL == "gre"`, `PROTOCOL == 'ipv6-icmp'`,
		`PROTOCOL == "TCP"`, `PROTOCOL == "nosuch"`, `PROTOCOL < 17`,
		`SRC_IP < "10.0.0.2"`, `TIME_FIRST > "2024-01-15T10:00:00.005"`, `TIME_FIRST == "2024-01-15T10:00:00.5"`,
		`SRC_IP == '10.0.0.1'`, `host >= "10.0.0.0/8"`, `PAYLOAD == "hi"`, `PAYLOAD =~ "^h"`, `PAYLOAD != ""`,
		`URL =~ "^h.*o$"`, `URL =~ "[[:upper:]]+"`, `URL =~ "l{2}"`, `URL =~ "o\b"`, `URL =~ "a|b"`, `URL =~ "[.]c"`,
		`URL =~ ""`, `DIR =~ "[a-c]"`, `URL =~ "\d"`, `URL =~ "\D"`, `URL =~ "x{,2}"`, `URL =~ "a**"`, `URL =~ "l+?o"`,
		`URL =~ "*a"`, `URL =~ "\w+\s"`, `URL =~ "[\.]c"`, `URL =~ "\."`)
	d.table(t, exprs)
}

// The grammar's quirks: precedence, NOT, parentheses, keywords, arrays,
// numbers in C's strtoll reading, missing fields, host and port.
func TestDiffQuirks(t *testing.T) {
	d := newDiffer(t, 300)
	d.table(t, []string{
		"", "true", "TRUE", "True", "false", "!true", "not false", "NOT false", "!!true", "((true))", "not(true)",
		"SRC_PORT == 1 || DST_PORT == 80 && PROTOCOL == 6", "SRC_PORT == 80 && DST_PORT == 2 || PROTOCOL == 6",
		"true || true && false", "true || (true && false)", "!PROTOCOL == 6 && SRC_PORT > 100",
		"SRC_PORT==80&&DST_PORT==443", "SRC_PORT == 80 and DST_PORT > 80 or PROTOCOL == 17",
		"SRC_PORT == 080", "SRC_PORT == 0120", "BIG == 9223372036854775808", "BIG == -9223372036854775809",
		"NOSUCH == 5", "protocol == 6", "HOST == 10.0.0.1", "NOSUCH == 5 || PROTOCOL == 6", "!(NOSUCH == 5)",
		"host == 10.0.0.1", "host != 10.0.0.1", "host < 10.0.0.1", "host > 10.0.0.1", "host <= 10.0.0.1",
		"host >= 2001:db8::1", "host == 10.0.0.0/8", "host != 10.0.0.0/8", "host < 10.0.0.0/8", "host > 10.0.0.0/8",
		"host <= 10.0.0.0/8", "host >= 10.0.0.0/8", "host == 2001:db8::/32", `host == "192.168.1.1"`, `host != "10.0.0.0/8"`,
		"host in [10.0.0.1, ::1]", "host in [10.0.0.0/8, 192.168.1.1/32]", "host in [::/8, 10.0.0.0/8]",
		"port == 80", "port != 80", "port < 1024", "port >= 8080", "port == 70000", "port in [80, 443, -1]",
		"SRC_PORT in [80,443]", "SRC_PORT in [80,  443]", "SRC_PORT < [80]", "SRC_PORT in [80, 1.5]", "SRC_PORT in [10.0.0.1]",
		"SRC_PORT in [65616]", "SRC_PORT in [80, -1]", "DELTA in [-1, 0, 1]", "SMALL in [-1, 127]", "MID IN [-100, 5]",
		"BYTES in [0, 1500, 18446744073709551615]", "BIG in [-1, 0]", "RATIO in [0.5, 3.14159]", "SCORE in [0.5, -1.25, 1]",
		"TIME_FIRST in [2024-01-15T10:00:00, 1970-01-01T00:00:00.088]",
		"SRC_IP in [10.0.0.1, 8.8.8.8]", "SRC_IP in [10.0.0.1, 10.0.0.0/8]", "SRC_IP in [10.0.0.0/8, 10.0.0.0/16, 0.0.0.0/1]",
		"SRC_IP in [10.0.0.0/8,192.168.0.0/16]", "SRC_IP in [2001:db8::/32, 10.0.0.0/8]", "DST_IP in [::/0]",
		"SRC_IP in [2001:db8::1, ::1]", "!SRC_PORT in [80,443]", "SRC_PORT in [80] || true",
		"SRC_IP == 10.0.0.1/8", "SRC_IP == 10.0.0.0/0", "DST_IP == ::/0", "DST_IP == ::ffff:1.2.3.0/120",
		"TIME_FIRST == 1970-01-01T00:00:00.088", "TIME_FIRST > 2024-01-15T10:00:00.500",
	})
}

// -O projections with defaults of every kind, -c, and multi-output -f files.
func TestDiffProjectionsAndFiles(t *testing.T) {
	d := newDiffer(t, 300)
	d.cLogger = true
	t.Run("O with defaults", func(t *testing.T) {
		d.compare(t, []string{t.Name()}, "-O", "uint16 SRC_PORT,ipaddr SRC_IP,uint32 FOO=7,string NOTE=hi,time T=2024-01-01T00:00:00,"+
			"double D=1.5,char C=x,int8 S=-3,bytes B=0a0b,float F=2.5,uint16 DST_PORT=9,macaddr M=aa:bb:cc:dd:ee:ff",
			"-F", "SRC_IP > 10.0.0.1")
	})
	t.Run("O variable fields", func(t *testing.T) {
		d.compare(t, []string{t.Name()}, "-O", `string URL,uint16* PORTS,string X="quoted"`)
	})
	t.Run("c", func(t *testing.T) { d.compare(t, []string{t.Name()}, "-c", "10", "-F", "SRC_PORT > 100") })
	t.Run("n", func(t *testing.T) { d.compare(t, []string{t.Name()}, "-n", "-F", "PROTOCOL == 17") })
	t.Run("f three outputs", func(t *testing.T) {
		file := filepath.Join(d.dir, "filters.txt")
		os.WriteFile(file, []byte(`# comment line
uint16 SRC_PORT,uint16 DST_PORT,ipaddr SRC_IP:SRC_IP == 2001:db8::1 || SRC_PORT == 22; # trailing
:PROTOCOL == 6 &&
  DST_PORT > 1000;
uint8 PROTOCOL,uint32 FOO=7:SRC_PORT < 100;
`), 0o644)
		texts := d.compare(t, []string{"item 1", "item 2", "item 3"}, "-f", file)
		for i, txt := range texts {
			if strings.Count(txt, "\n") < 2 {
				t.Errorf("output %d has no records; the table should select some:\n%s", i, txt)
			}
		}
	})
	t.Run("f empty filter and template", func(t *testing.T) {
		file := filepath.Join(d.dir, "filters2.txt")
		os.WriteFile(file, []byte("uint16 SRC_PORT:SRC_PORT == 22;\n:;\n"), 0o644)
		d.compare(t, []string{"item 1", "item 2"}, "-f", file)
	})
}
