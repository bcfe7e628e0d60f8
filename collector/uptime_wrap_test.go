package collector

import (
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowgate/flowgate/internal/testutil"
)

// wrapExportSecs is the export time of the wrap datagrams: 2023-11-14
// 22:13:20 UTC.
const wrapExportSecs = 1700000000

// wrapCases are sysUpTime/FIRST/LAST combinations around the 32-bit wrap
// of the uptime counter, one flow each (told apart by its source port
// 1000+i). want5/want9 are the flow times nfcapd 1.7.1 stores for the v5
// and the v9 datagram, as ms before (negative) or after the export time.
var wrapCases = []struct {
	name            string
	up, first, last uint32
	want5F, want5L  int64
	want9F, want9L  int64
}{
	{"softflowd without -a: uptime 0, times just below 2^32", 0, 0xFFFFFFFF - 5000, 0xFFFFFFFF - 1000,
		-5001, -1001, 1<<32 - 5001, 1<<32 - 1001},
	{"wrap between FIRST and LAST", 3000, 0xFFFFFFFF - 2000, 1000, -5001, -2000, -5001, -2000},
	{"no wrap", 100000, 50000, 90000, -50000, -10000, -50000, -10000},
	{"LAST a little after sysUpTime (exporter clock skew)", 100000, 60000, 150000, -40000, 50000, -40000, 50000},
	{"LAST far after sysUpTime: wrapped after the flow ended", 100000, 60000, 250000,
		-40000 - 1<<32, 150000 - 1<<32, -40000, 150000},
	{"both before the wrap, uptime past it", 5000, 0xFFFFFFFF - 9000, 0xFFFFFFFF - 8000,
		-14001, -13001, 1<<32 - 14001, 1<<32 - 13001},
	{"near the wrap, not wrapped", 0xFFFFFF00, 0xFFFFF000, 0xFFFFFE00, -3840, -256, -3840, -256},
}

// wrapDatagrams returns one datagram per case for NetFlow version v.
func wrapDatagrams(v int) [][]byte {
	var out [][]byte
	for i, c := range wrapCases {
		var b []byte
		rec := func(b []byte) []byte {
			b = append(b, 10, 0, 0, 1, 10, 0, 1, 1)
			return b
		}
		if v == 5 {
			b = make([]byte, 24, 72)
			binary.BigEndian.PutUint16(b[0:], 5)
			binary.BigEndian.PutUint16(b[2:], 1)
			binary.BigEndian.PutUint32(b[4:], c.up)
			binary.BigEndian.PutUint32(b[8:], wrapExportSecs)
			binary.BigEndian.PutUint32(b[16:], uint32(i))
			b = rec(b)
			b = append(b, make([]byte, 8)...) // next hop, ifaces
			b = binary.BigEndian.AppendUint32(b, 1)
			b = binary.BigEndian.AppendUint32(b, 100)
			b = binary.BigEndian.AppendUint32(b, c.first)
			b = binary.BigEndian.AppendUint32(b, c.last)
			b = binary.BigEndian.AppendUint16(b, uint16(1000+i))
			b = binary.BigEndian.AppendUint16(b, 80)
			b = append(b, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0)
		} else {
			b = make([]byte, 20)
			binary.BigEndian.PutUint16(b[0:], 9)
			binary.BigEndian.PutUint16(b[2:], 2)
			binary.BigEndian.PutUint32(b[4:], c.up)
			binary.BigEndian.PutUint32(b[8:], wrapExportSecs)
			binary.BigEndian.PutUint32(b[12:], uint32(i))
			fields := [][2]uint16{{8, 4}, {12, 4}, {2, 4}, {1, 4}, {22, 4}, {21, 4}, {7, 2}, {11, 2}, {4, 1}}
			b = append(b, 0, 0, 0, byte(8+4*len(fields)), 1, 0, 0, byte(len(fields)))
			for _, f := range fields {
				b = binary.BigEndian.AppendUint16(b, f[0])
				b = binary.BigEndian.AppendUint16(b, f[1])
			}
			b = append(b, 1, 0, 0, 36)
			b = rec(b)
			b = binary.BigEndian.AppendUint32(b, 1)
			b = binary.BigEndian.AppendUint32(b, 100)
			b = binary.BigEndian.AppendUint32(b, c.first)
			b = binary.BigEndian.AppendUint32(b, c.last)
			b = binary.BigEndian.AppendUint16(b, uint16(1000+i))
			b = binary.BigEndian.AppendUint16(b, 80)
			b = append(b, 6, 0, 0, 0)
		}
		out = append(out, b)
	}
	return out
}

// decodeWrap decodes the datagrams and returns TIME_FIRST/TIME_LAST in ms
// relative to the export time, by source port.
func decodeWrap(t *testing.T, dgrams [][]byte) map[uint16][2]int64 {
	t.Helper()
	d, sink := newTestDecoder(t, Config{TemplateLifetime: -1})
	for _, b := range dgrams {
		if err := d.Decode(exporterA, b); err != nil {
			t.Fatal(err)
		}
	}
	got := map[uint16][2]int64{}
	for _, r := range sink.recs {
		ms := func(name string) int64 {
			return int64(r.Time(field(r, name)).Go().UnixMilli()) - wrapExportSecs*1000
		}
		got[r.Uint16(field(r, "SRC_PORT"))] = [2]int64{ms("TIME_FIRST"), ms("TIME_LAST")}
	}
	return got
}

// The 32-bit sysUpTime wrap is handled as nfcapd 1.7.1 handles it, for v5
// and v9 (the expected times are nfcapd's; TestUptimeWrapMatchesNfcapd
// checks them against the installed nfcapd).
func TestUptimeWrapAsNfcapd(t *testing.T) {
	for _, v := range []int{5, 9} {
		got := decodeWrap(t, wrapDatagrams(v))
		for i, c := range wrapCases {
			want := [2]int64{c.want5F, c.want5L}
			if v == 9 {
				want = [2]int64{c.want9F, c.want9L}
			}
			if g := got[uint16(1000+i)]; g != want {
				t.Errorf("v%d %s: first/last %v ms from the export time, want %v", v, c.name, g, want)
			}
		}
	}
}

// The same datagrams through the installed nfcapd give the times the
// table expects (skipped without nfcapd and nfdump).
func TestUptimeWrapMatchesNfcapd(t *testing.T) {
	for _, tool := range []string{"nfcapd", "nfdump"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	for _, v := range []int{5, 9} {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			nf := runNfcapd(t, wrapDatagrams(v))
			ours := decodeWrap(t, wrapDatagrams(v))
			if len(nf) != len(wrapCases) {
				t.Fatalf("nfcapd stored %d flows, want %d", len(nf), len(wrapCases))
			}
			for i, c := range wrapCases {
				port := uint16(1000 + i)
				if nf[port] != ours[port] {
					t.Errorf("%s: ours %v, nfcapd %v (ms from the export time)", c.name, ours[port], nf[port])
				}
			}
		})
	}
}

// runNfcapd sends dgrams to a private nfcapd and returns the stored
// flows' first/last times (ms from the export time) by source port.
func runNfcapd(t *testing.T, dgrams [][]byte) map[uint16][2]int64 {
	t.Helper()
	var out []byte
	for _, f := range testutil.NfcapdFiles(t, dgrams) {
		dump := exec.Command("nfdump", "-r", f, "-q", "-o", "fmt:%ts|%te|%sp")
		dump.Env = append(os.Environ(), "TZ=UTC")
		o, err := dump.Output()
		if err != nil {
			t.Fatalf("nfdump -r %s: %v", f, err)
		}
		out = append(out, o...)
	}
	got := map[uint16][2]int64{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line == "" {
			continue
		}
		f := strings.Split(line, "|")
		if len(f) != 3 {
			t.Fatalf("nfdump line %q", line)
		}
		ms := func(s string) int64 {
			tm, err := time.ParseInLocation("2006-01-02 15:04:05.000", strings.TrimSpace(s), time.UTC)
			if err != nil {
				t.Fatalf("nfdump time %q: %v", s, err)
			}
			return tm.UnixMilli() - wrapExportSecs*1000
		}
		p, _ := strconv.Atoi(strings.TrimSpace(f[2]))
		got[uint16(p)] = [2]int64{ms(f[0]), ms(f[1])}
	}
	return got
}
