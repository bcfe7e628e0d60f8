package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowgate/flowgate/internal/testutil"
	"github.com/flowgate/flowgate/internal/testutil/trapcap"
	"github.com/flowgate/flowgate/unirec"
)

// capture is what the module's f: output holds, read back.
type capture = trapcap.Capture

func readTrapcap(t *testing.T, path string) capture { return trapcap.Read(t, path) }

// runNfreader runs the module with args (without argv[0]) and returns the
// exit code, stdout and stderr.
func runNfreader(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"nfreader"}, args...), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// goldenCSV is an nfdump -o csv output: 1.7.1's ts,te,td,sa,... or 1.7.8's
// firstSeen,duration,proto,...
type goldenCSV struct {
	col  map[string]int
	rows [][]string
	// total is the number of records of the whole output (more than rows
	// for the multi-block file, whose golden csv is cut to 60 rows).
	total int
}

func readGoldenCSV(t *testing.T, dir, name string) goldenCSV {
	t.Helper()
	path := filepath.Join(dir, "golden", name+".csv")
	if _, err := os.Stat(path); err != nil {
		path += ".head60"
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden csv of %s: %v", name, err)
	}
	var g goldenCSV
	for _, line := range strings.Split(string(b), "\n") {
		if g.col == nil {
			if strings.HasPrefix(line, "ts,") || strings.HasPrefix(line, "firstSeen,") {
				g.col = map[string]int{}
				for i, c := range strings.Split(line, ",") {
					g.col[c] = i
				}
			}
			continue
		}
		if line == "Summary" {
			break
		}
		if line != "" {
			g.rows = append(g.rows, strings.Split(line, ","))
		}
	}
	if g.col == nil {
		t.Fatalf("%s: no csv header", path)
	}
	g.total = len(g.rows)
	if strings.HasSuffix(path, ".head60") {
		// The .sha256 file gives the line count of the full output: header
		// plus records plus the three Summary lines.
		sum, err := os.ReadFile(filepath.Join(dir, "golden", name+".csv.sha256"))
		if err != nil {
			t.Fatal(err)
		}
		var lines int
		if _, err := fmt.Sscanf(string(sum), "lines: %d", &lines); err != nil {
			t.Fatalf("%s.csv.sha256: %v", name, err)
		}
		g.total = lines - 4
	}
	return g
}

// goldenTimes reads %tsr (first, Unix seconds with milliseconds) and %td
// (duration HH:MM:SS.mmm) of every record from the golden .fmt.txt(.gz):
// the csv of nfdump 1.7.1 prints whole seconds only.
func goldenTimes(t *testing.T, dir, name string) (first, dur []int64) {
	t.Helper()
	path := filepath.Join(dir, "golden", name+".fmt.txt")
	var r io.Reader
	fh, err := os.Open(path)
	if err != nil {
		if fh, err = os.Open(path + ".gz"); err != nil {
			t.Fatalf("golden fmt of %s: %v", name, err)
		}
		if r, err = gzip.NewReader(fh); err != nil {
			t.Fatal(err)
		}
	} else {
		r = fh
	}
	defer fh.Close()
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Split(sc.Text(), "|")
		if len(f) < 4 {
			continue
		}
		first = append(first, parseMillis(t, f[0]))
		var h, m, s, ms int64
		if _, err := fmt.Sscanf(f[3], "%d:%d:%d.%d", &h, &m, &s, &ms); err != nil {
			t.Fatalf("%s: duration %q: %v", path, f[3], err)
		}
		dur = append(dur, ((h*60+m)*60+s)*1000+ms)
	}
	return first, dur
}

// parseMillis reads "SEC.mmm" as milliseconds.
func parseMillis(t *testing.T, s string) int64 {
	t.Helper()
	sec, frac, _ := strings.Cut(strings.TrimSpace(s), ".")
	a, err1 := strconv.ParseInt(sec, 10, 64)
	b, err2 := strconv.ParseInt((frac + "000")[:3], 10, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("bad time %q", s)
	}
	return a*1000 + b
}

var protoNames = map[uint8]string{1: "ICMP", 2: "IGMP", 6: "TCP", 17: "UDP", 58: "ICMP6"}

func tcpFlagText(f uint8) string {
	b := []byte("........")
	for i := 0; i < 8; i++ {
		if f&(0x80>>uint(i)) != 0 {
			b[i] = "CEUAPRSF"[i]
		}
	}
	return string(b)
}

func millis(v unirec.Time) int64 { return int64(v.Sec())*1000 + int64(v.Msec()) }

// basicColumns renders a basic-flow record as the golden csv columns show
// it; the keys are the 1.7.1 column names, the 1.7.8 ones are mapped.
func basicColumns(rec unirec.Record, id func(string) unirec.FieldID, v178 bool) map[string]string {
	first, last := rec.Time(id("TIME_FIRST")), rec.Time(id("TIME_LAST"))
	proto := rec.Uint8(id("PROTOCOL"))
	dp := rec.Uint16(id("DST_PORT"))
	m := map[string]string{
		"sa":   rec.IP(id("SRC_IP")).String(),
		"da":   rec.IP(id("DST_IP")).String(),
		"sp":   strconv.Itoa(int(rec.Uint16(id("SRC_PORT")))),
		"dp":   strconv.Itoa(int(dp)),
		"ipkt": strconv.FormatUint(uint64(rec.Uint32(id("PACKETS"))), 10),
		"ibyt": strconv.FormatUint(rec.Uint64(id("BYTES")), 10),
		"td":   fmt.Sprintf("%.3f", float64(millis(last)-millis(first))/1000),
	}
	if v178 {
		m["ts"] = time.UnixMilli(millis(first)).UTC().Format("2006-01-02 15:04:05.000")
		m["pr"] = strconv.Itoa(int(proto))
		if proto == 1 || proto == 58 {
			m["dp"] = fmt.Sprintf("%d.%d", dp>>8, dp&0xff) // 1.7.8 prints ICMP as type.code
		}
		return m
	}
	m["ts"] = first.Go().UTC().Format("2006-01-02 15:04:05")
	m["te"] = last.Go().UTC().Format("2006-01-02 15:04:05")
	m["flg"] = tcpFlagText(rec.Uint8(id("TCP_FLAGS")))
	m["pr"] = strconv.Itoa(int(proto))
	if n, ok := protoNames[proto]; ok {
		m["pr"] = n
	}
	return m
}

// csv178 maps nfdump 1.7.8 csv column names to the 1.7.1 ones.
var csv178 = map[string]string{"firstSeen": "ts", "duration": "td", "proto": "pr", "srcAddr": "sa", "srcPort": "sp",
	"dstAddr": "da", "dstPort": "dp", "packets": "ipkt", "bytes": "ibyt"}

// Every golden nfdump file, sent by nfreader into a file IFC and read back
// through a TRAP input, gives the golden csv's values record for record:
// addresses, ports, protocol, flags, counters and times (milliseconds from
// the golden .fmt.txt), with nfreader's constants in the other fields.
func TestNfreaderGoldenFiles(t *testing.T) {
	dir := testutil.SharedTestdata(t, "nfdump")
	files, err := filepath.Glob(filepath.Join(dir, "*.nf"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no .nf files in %s: %v", dir, err)
	}
	for _, nf := range files {
		name := strings.TrimSuffix(filepath.Base(nf), ".nf")
		t.Run(name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.trapcap")
			code, stdout, stderr := runNfreader(t, "-i", "f:"+out, nf)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			g := readGoldenCSV(t, dir, name)
			firsts, durs := goldenTimes(t, dir, name)
			got := readTrapcap(t, out)
			if want := fmt.Sprintf("%d flow records sent\n", g.total); stdout != want {
				t.Errorf("stdout %q, want %q", stdout, want)
			}
			if got.Spec != canonicalBasic(t) {
				t.Fatalf("template %q, want %q", got.Spec, canonicalBasic(t))
			}
			if got.EOSLen != 1 {
				t.Errorf("stream ends with a %d-byte message, want the 1-byte end of stream", got.EOSLen)
			}
			if len(got.Records) != g.total || len(firsts) != g.total {
				t.Fatalf("read back %d records, golden csv %d, golden fmt %d", len(got.Records), g.total, len(firsts))
			}
			id := lookup(t, got.Tmpl)
			_, v178 := g.col["firstSeen"]
			bad := 0
			for i, rec := range got.Records {
				if f := millis(rec.Time(id("TIME_FIRST"))); f != firsts[i] {
					bad++
					t.Errorf("record %d TIME_FIRST %d ms, golden %d", i, f, firsts[i])
				}
				if l := millis(rec.Time(id("TIME_LAST"))); l != firsts[i]+durs[i] {
					bad++
					t.Errorf("record %d TIME_LAST %d ms, golden %d", i, l, firsts[i]+durs[i])
				}
				if rec.Uint64(id("LINK_BIT_FIELD")) != 1 || rec.Uint8(id("DIR_BIT_FIELD")) != 0 || rec.Uint8(id("TOS")) != 0 || rec.Uint8(id("TTL")) != 0 {
					bad++
					t.Errorf("record %d: LINK_BIT_FIELD/DIR_BIT_FIELD/TOS/TTL = %d/%d/%d/%d, want 1/0/0/0", i,
						rec.Uint64(id("LINK_BIT_FIELD")), rec.Uint8(id("DIR_BIT_FIELD")), rec.Uint8(id("TOS")), rec.Uint8(id("TTL")))
				}
				if i >= len(g.rows) {
					continue // beyond the stored head of the multi-block csv
				}
				cols := basicColumns(rec, id, v178)
				for c, idx := range g.col {
					if v178 {
						c = csv178[c]
					}
					want := strings.TrimSpace(g.rows[i][idx])
					if gv, ok := cols[c]; ok && gv != want {
						bad++
						t.Errorf("record %d %s: got %q, golden %q", i, c, gv, want)
					}
				}
				if bad > 20 {
					t.Fatal("too many differences")
				}
			}
		})
	}
}

func canonicalBasic(t *testing.T) string {
	t.Helper()
	tm, err := unirec.ParseTemplate("ipaddr DST_IP,ipaddr SRC_IP,uint64 BYTES,uint64 LINK_BIT_FIELD,time TIME_FIRST,time TIME_LAST,uint32 PACKETS,uint16 DST_PORT,uint16 SRC_PORT,uint8 DIR_BIT_FIELD,uint8 PROTOCOL,uint8 TCP_FLAGS,uint8 TOS,uint8 TTL")
	if err != nil {
		t.Fatal(err)
	}
	return tm.Spec()
}

func lookup(t *testing.T, tm *unirec.Template) func(string) unirec.FieldID {
	return func(name string) unirec.FieldID {
		id, ok := tm.Lookup(name)
		if !ok {
			t.Fatalf("template %s has no %s", tm.Spec(), name)
		}
		return id
	}
}
