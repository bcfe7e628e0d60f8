package converters

import (
	"bufio"
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowgate/flowgate/internal/testutil"
	"github.com/flowgate/flowgate/nfdump"
	"github.com/flowgate/flowgate/unirec"
)

// nfdumpGoldenDir is ../shared/testdata/nfdump (skipped when absent).
func nfdumpGoldenDir(t testing.TB) string { return testutil.SharedTestdata(t, "nfdump") }

// goldenRows reads nfdump 1.7.1 -o csv output: header and rows.
func goldenRows(t *testing.T, path string) (map[string]int, [][]string) {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	var cols map[string]int
	var rows [][]string
	for sc.Scan() {
		line := sc.Text()
		if cols == nil {
			if strings.HasPrefix(line, "ts,") {
				cols = map[string]int{}
				for i, c := range strings.Split(line, ",") {
					cols[c] = i
				}
			}
			continue
		}
		if line == "Summary" {
			break
		}
		if line != "" {
			rows = append(rows, strings.Split(line, ","))
		}
	}
	if cols == nil {
		t.Fatalf("%s: no 1.7.1 csv header", path)
	}
	return cols, rows
}

func tcpFlagText(f uint8) string {
	b := []byte("........")
	for i := 0; i < 8; i++ {
		if f&(0x80>>uint(i)) != 0 {
			b[i] = "CEUAPRSF"[i]
		}
	}
	return string(b)
}

// nfdumpText renders a UniRec IP the way nfdump prints addresses: the
// all-zero address of an absent IPv4 field prints as 0.0.0.0.
func nfdumpText(ip unirec.IP, v4 bool) string {
	if ip == (unirec.IP{}) && v4 {
		return "0.0.0.0"
	}
	return ip.String()
}

func TestNfdumpConverterMatchesGoldenCSV(t *testing.T) {
	dir := nfdumpGoldenDir(t)
	tmpl, err := unirec.ParseTemplate(NfdumpRichTemplate)
	if err != nil {
		t.Fatal(err)
	}
	conv, err := NewNfdumpConverter(tmpl, DefaultNfdumpOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(conv.Unmapped()) != 0 {
		t.Fatalf("rich template has unmapped fields %v", conv.Unmapped())
	}
	id := func(name string) unirec.FieldID {
		i, ok := tmpl.Lookup(name)
		if !ok {
			t.Fatalf("no field %s", name)
		}
		return i
	}
	for _, name := range []string{"gen_v9_v4v6_none", "ipfix_bidir_bz2", "gen_v9_sampled100_lzo", "v9_mixed_lzo",
		"nf16_gen_ipfix_v4v6_lzo", "v6exporter_ipfix_v9_none", "nfpcapd_mixed_none", "gen_v5_bz2"} {
		t.Run(name, func(t *testing.T) {
			cols, rows := goldenRows(t, filepath.Join(dir, "golden", name+".csv"))
			f, err := nfdump.Open(filepath.Join(dir, name+".nf"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			it := f.Records(context.Background())
			defer it.Close()
			rec := tmpl.NewRecord()
			i, bad := 0, 0
			for it.Next() {
				r := it.Record()
				e, _ := it.Exporter(r.ExporterID)
				conv.Convert(&rec, r, e)
				if i >= len(rows) {
					t.Fatalf("more records than golden rows (%d)", len(rows))
				}
				row := rows[i]
				isV4 := rec.IP(id("SRC_IP")).Is4()
				got := map[string]string{
					"ts":   rec.Time(id("TIME_FIRST")).Go().UTC().Format("2006-01-02 15:04:05"),
					"te":   rec.Time(id("TIME_LAST")).Go().UTC().Format("2006-01-02 15:04:05"),
					"sa":   rec.IP(id("SRC_IP")).String(),
					"da":   rec.IP(id("DST_IP")).String(),
					"sp":   strconv.Itoa(int(rec.Uint16(id("SRC_PORT")))),
					"dp":   strconv.Itoa(int(rec.Uint16(id("DST_PORT")))),
					"flg":  tcpFlagText(rec.Uint8(id("TCP_FLAGS"))),
					"fwd":  strconv.Itoa(int(rec.Uint8(id("FWD_STATUS")))),
					"ipkt": strconv.FormatUint(uint64(rec.Uint32(id("PACKETS"))), 10),
					"ibyt": strconv.FormatUint(rec.Uint64(id("BYTES")), 10),
					"opkt": strconv.FormatUint(uint64(rec.Uint32(id("PACKETS_REV"))), 10),
					"obyt": strconv.FormatUint(rec.Uint64(id("BYTES_REV")), 10),
					"in":   strconv.FormatUint(uint64(rec.Uint32(id("INPUT_INTERFACE"))), 10),
					"out":  strconv.FormatUint(uint64(rec.Uint32(id("OUTPUT_INTERFACE"))), 10),
					"sas":  strconv.FormatUint(uint64(rec.Uint32(id("SRC_AS"))), 10),
					"das":  strconv.FormatUint(uint64(rec.Uint32(id("DST_AS"))), 10),
					"smk":  strconv.Itoa(int(rec.Uint8(id("SRC_MASK")))),
					"dmk":  strconv.Itoa(int(rec.Uint8(id("DST_MASK")))),
					"dtos": strconv.Itoa(int(rec.Uint8(id("DST_TOS")))),
					"dir":  strconv.Itoa(int(rec.Uint8(id("FLOW_DIRECTION")))),
					"nh":   nfdumpText(rec.IP(id("NEXT_HOP")), true),
					"ra":   nfdumpText(rec.IP(id("EXPORTER_IP")), true),
					"eng":  strconv.Itoa(int(rec.Uint8(id("ENGINE_TYPE")))) + "/" + strconv.Itoa(int(rec.Uint8(id("ENGINE_ID")))),
					"exid": strconv.Itoa(int(rec.Uint16(id("EXPORTER_SYSID")))),
					"ismc": rec.MAC(id("SRC_MAC")).String(),
					"idmc": rec.MAC(id("DST_MAC")).String(),
				}
				// Known nfdump 1.7.1 csv bug: nhb of IPv6 records shows the IP next hop.
				if isV4 {
					got["nhb"] = nfdumpText(rec.IP(id("BGP_NEXT_HOP")), true)
				}
				for col, g := range got {
					want := strings.TrimSpace(row[cols[col]])
					if g != want {
						bad++
						if bad < 15 {
							t.Errorf("record %d %s: got %q, want %q", i, col, g, want)
						}
					}
				}
				if rec.Uint64(id("LINK_BIT_FIELD")) != 1 || rec.Uint8(id("TOS")) != 0 || rec.Uint8(id("TTL")) != 0 || rec.Uint8(id("DIR_BIT_FIELD")) != 0 {
					t.Errorf("record %d: nfreader constants wrong", i)
				}
				i++
			}
			if err := it.Err(); err != nil {
				t.Fatal(err)
			}
			if i != len(rows) {
				t.Errorf("converted %d records, golden has %d", i, len(rows))
			}
		})
	}
}

func TestNfdumpConverterMillisecondTimes(t *testing.T) {
	tmpl, _ := unirec.ParseTemplate(NfreaderTemplate)
	conv, err := NewNfdumpConverter(tmpl, DefaultNfdumpOptions())
	if err != nil {
		t.Fatal(err)
	}
	rec := tmpl.NewRecord()
	r := &nfdump.Record{FirstMs: 1700000000010, LastMs: 1700000000999}
	conv.Convert(&rec, r, nil)
	first, _ := tmpl.Lookup("TIME_FIRST")
	last, _ := tmpl.Lookup("TIME_LAST")
	if got := rec.Time(first); got.Sec() != 1700000000 || got.Msec() != 10 {
		t.Errorf("TIME_FIRST = %v (%d.%03d)", got, got.Sec(), got.Msec())
	}
	if got := rec.Time(last).Go(); !got.Equal(time.UnixMilli(1700000000999)) {
		t.Errorf("TIME_LAST = %v", got)
	}
}

func TestNfdumpConverterNfreaderSemantics(t *testing.T) {
	tmpl, _ := unirec.ParseTemplate(NfreaderTemplate)
	compat := netipMust(t, "::10.1.2.3")
	tests := []struct {
		name    string
		opts    NfdumpOptions
		rec     nfdump.Record
		field   string
		want    uint64
		wantSrc string
	}{
		{"link mask default is 1", DefaultNfdumpOptions(), nfdump.Record{}, "LINK_BIT_FIELD", 1, "::"},
		{"link mask from option", NfdumpOptions{LinkBitField: 0x30}, nfdump.Record{}, "LINK_BIT_FIELD", 0x30, "::"},
		{"dir bit field off by default", DefaultNfdumpOptions(), nfdump.Record{Input: 3}, "DIR_BIT_FIELD", 0, "::"},
		{"dir bit field from input", NfdumpOptions{LinkBitField: 1, DirFromInput: true}, nfdump.Record{Input: 3}, "DIR_BIT_FIELD", 8, "::"},
		{"dir bit field zero for input 0", NfdumpOptions{DirFromInput: true}, nfdump.Record{Input: 0}, "DIR_BIT_FIELD", 0, "::"},
		{"IPv4-compatible IPv6 becomes IPv4", DefaultNfdumpOptions(), nfdump.Record{SrcIP: compat, Packets: 7}, "PACKETS", 7, "10.1.2.3"},
		{"unspecified IPv6 stays IPv6", DefaultNfdumpOptions(), nfdump.Record{SrcIP: netipMust(t, "::")}, "TOS", 0, "::"},
		{"IPv6 loopback stays IPv6", DefaultNfdumpOptions(), nfdump.Record{SrcIP: netipMust(t, "::1")}, "TTL", 0, "::1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conv, err := NewNfdumpConverter(tmpl, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			rec := tmpl.NewRecord()
			conv.Convert(&rec, &tc.rec, nil)
			id, _ := tmpl.Lookup(tc.field)
			var got uint64
			switch tmpl.Field(id).Type {
			case unirec.Uint8:
				got = uint64(rec.Uint8(id))
			case unirec.Uint32:
				got = uint64(rec.Uint32(id))
			case unirec.Uint64:
				got = rec.Uint64(id)
			}
			if got != tc.want {
				t.Errorf("%s = %d, want %d", tc.field, got, tc.want)
			}
			src, _ := tmpl.Lookup("SRC_IP")
			if s := rec.IP(src).String(); s != tc.wantSrc {
				t.Errorf("SRC_IP = %s, want %s", s, tc.wantSrc)
			}
		})
	}
}

func TestNfdumpConverterRejectsWrongFieldType(t *testing.T) {
	tmpl, _ := unirec.ParseTemplate("uint16 PACKETS,ipaddr SRC_IP,uint8 CUSTOM")
	_, err := NewNfdumpConverter(tmpl, DefaultNfdumpOptions())
	if err == nil || !strings.Contains(err.Error(), "PACKETS") {
		t.Fatalf("err = %v, want one naming PACKETS", err)
	}
	tmpl, _ = unirec.ParseTemplate("ipaddr SRC_IP,uint8 CUSTOM")
	conv, err := NewNfdumpConverter(tmpl, DefaultNfdumpOptions())
	if err != nil {
		t.Fatal(err)
	}
	if u := conv.Unmapped(); len(u) != 1 || u[0] != "CUSTOM" {
		t.Errorf("Unmapped = %v, want [CUSTOM]", u)
	}
}

func TestNfdumpConvertAllocatesNothing(t *testing.T) {
	tmpl, _ := unirec.ParseTemplate(NfdumpRichTemplate)
	conv, err := NewNfdumpConverter(tmpl, DefaultNfdumpOptions())
	if err != nil {
		t.Fatal(err)
	}
	rec := tmpl.NewRecord()
	r := &nfdump.Record{SrcIP: netipMust(t, "2001:db8::1"), DstIP: netipMust(t, "10.0.0.1"), FirstMs: 1, Packets: 3}
	e := &nfdump.Exporter{ID: 5, IP: netipMust(t, "127.0.0.1"), Sampler: &nfdump.Sampler{PacketInterval: 1, SpaceInterval: 99}}
	if a := testing.AllocsPerRun(100, func() { conv.Convert(&rec, r, e) }); a != 0 {
		t.Errorf("Convert allocates %v per record", a)
	}
}

func BenchmarkNfdumpReadAndConvert(b *testing.B) {
	path := filepath.Join(nfdumpGoldenDir(b), "gen_ipfix_multiblock_lz4.nf")
	f, err := nfdump.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	tmpl, _ := unirec.ParseTemplate(NfreaderTemplate)
	conv, err := NewNfdumpConverter(tmpl, DefaultNfdumpOptions())
	if err != nil {
		b.Fatal(err)
	}
	rec := tmpl.NewRecord()
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		it := f.Records(context.Background())
		for it.Next() {
			r := it.Record()
			e, _ := it.Exporter(r.ExporterID)
			conv.Convert(&rec, r, e)
			n++
		}
		if err := it.Err(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}

func netipMust(t testing.TB, s string) netip.Addr {
	t.Helper()
	a, err := netip.ParseAddr(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestNfdumpBasicPathEqualsGeneric: nfreader's template takes the
// constant-offset path; for every record of every golden file it writes the
// same bytes as the per-field plan.
func TestNfdumpBasicPathEqualsGeneric(t *testing.T) {
	tmpl, err := unirec.ParseTemplate(NfreaderTemplate)
	if err != nil {
		t.Fatal(err)
	}
	if !isBasicLayout(tmpl) {
		t.Fatal("NfreaderTemplate does not have the constant basic layout")
	}
	reordered, _ := unirec.ParseTemplate("uint8 TTL,uint8 TOS,uint8 TCP_FLAGS,uint8 PROTOCOL,uint8 DIR_BIT_FIELD,uint16 SRC_PORT,uint16 DST_PORT,uint32 PACKETS,time TIME_LAST,time TIME_FIRST,uint64 LINK_BIT_FIELD,uint64 BYTES,ipaddr SRC_IP,ipaddr DST_IP")
	if !isBasicLayout(reordered) {
		t.Error("the same fields in another order do not take the basic path")
	}
	other, _ := unirec.ParseTemplate("ipaddr DST_IP,ipaddr SRC_IP,uint64 BYTES,uint64 LINK_BIT_FIELD,time TIME_FIRST,time TIME_LAST,uint32 PACKETS,uint16 DST_PORT,uint16 SRC_PORT,uint8 DIR_BIT_FIELD,uint8 PROTOCOL,uint8 TCP_FLAGS,uint8 TOS,uint8 TTX")
	if isBasicLayout(other) {
		t.Error("a template with another field name takes the basic path")
	}
	files, _ := filepath.Glob(filepath.Join(nfdumpGoldenDir(t), "*.nf"))
	if len(files) == 0 {
		t.Fatal("no golden .nf files")
	}
	for _, opts := range []NfdumpOptions{DefaultNfdumpOptions(), {LinkBitField: 0xf0, DirFromInput: true}} {
		fast, err := NewNfdumpConverter(tmpl, opts)
		if err != nil {
			t.Fatal(err)
		}
		slow, _ := NewNfdumpConverter(tmpl, opts)
		slow.basic = false
		a, b := tmpl.NewRecord(), tmpl.NewRecord()
		n := 0
		for _, path := range files {
			f, err := nfdump.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			it := f.Records(context.Background())
			for it.Next() {
				fast.Convert(&a, it.Record(), nil)
				slow.Convert(&b, it.Record(), nil)
				if string(a.Data) != string(b.Data) {
					t.Fatalf("%s record %d: basic path %x, generic %x", filepath.Base(path), n, a.Data, b.Data)
				}
				n++
			}
			it.Close()
			f.Close()
		}
		if n == 0 {
			t.Fatal("no records compared")
		}
	}
}

func TestNfdumpPutIP(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want unirec.IP
	}{
		{"", unirec.IP{}},
		{"10.1.2.3", unirec.IPv4([4]byte{10, 1, 2, 3})},
		{"0.0.0.0", unirec.IPv4([4]byte{})},
		{"::1.2.3.4", unirec.IPv4([4]byte{1, 2, 3, 4})}, // IPv4-compatible
		{"::2", unirec.IPv4([4]byte{0, 0, 0, 2})},
		{"::1", unirec.IPv6(netip.MustParseAddr("::1").As16())}, // loopback, not compatible
		{"::", unirec.IPv6([16]byte{})},
		{"::ffff:1.2.3.4", unirec.IPv6(netip.MustParseAddr("::ffff:1.2.3.4").As16())},
		{"2001:db8::1", unirec.IPv6(netip.MustParseAddr("2001:db8::1").As16())},
		{"0:0:0:1::1.2.3.4", unirec.IPv6(netip.MustParseAddr("0:0:0:1::1.2.3.4").As16())},
	} {
		var a netip.Addr
		if tc.in != "" {
			a = netip.MustParseAddr(tc.in)
		}
		b := make([]byte, 16)
		for i := range b {
			b[i] = 0xaa // every byte is written
		}
		putIP(b, a)
		if unirec.IP(b) != tc.want {
			t.Errorf("putIP(%q) = %x, want %x", tc.in, b, tc.want)
		}
	}
}

func TestMsTimeMatchesUnirec(t *testing.T) {
	vals := []int64{0, 1, 999, 1000, 1001, 1700000000123, 1<<32*1000 - 1, 1 << 32 * 1000, 1<<42 + 7, 1<<63 - 1}
	for ms := int64(1700000000000); ms < 1700000002000; ms++ {
		vals = append(vals, ms)
	}
	for _, ms := range vals {
		if got, want := msTime(ms), unirec.TimeFromUnixMilli(uint64(ms)); got != want {
			t.Errorf("msTime(%d) = %#x, want %#x", ms, got, want)
		}
	}
	if msTime(-1) != 0 {
		t.Error("a negative time is not 0")
	}
}

// BenchmarkNfdumpConvert is the conversion alone: records of the golden
// multi-block file (IPv4 and IPv6), decoded beforehand, into nfreader's
// template, as nfreader's workers do per record.
func BenchmarkNfdumpConvert(b *testing.B) {
	f, err := nfdump.Open(filepath.Join(nfdumpGoldenDir(b), "gen_ipfix_multiblock_lz4.nf"))
	if err != nil {
		b.Fatal(err)
	}
	var recs []nfdump.Record
	it := f.Records(context.Background())
	for it.Next() {
		recs = append(recs, *it.Record())
	}
	it.Close()
	f.Close()
	if len(recs) == 0 {
		b.Fatal("no records")
	}
	tmpl, _ := unirec.ParseTemplate(NfreaderTemplate)
	conv, err := NewNfdumpConverter(tmpl, DefaultNfdumpOptions())
	if err != nil {
		b.Fatal(err)
	}
	rec := tmpl.NewRecord()
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		for i := range recs {
			conv.Convert(&rec, &recs[i], nil)
		}
		n += len(recs)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}
