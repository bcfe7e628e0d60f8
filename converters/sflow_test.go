package converters

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/flowgate/flowgate/collector/sflow"
	"github.com/flowgate/flowgate/internal/sflowgen"
	"github.com/flowgate/flowgate/unirec"
)

// sfConvertAll decodes msg and converts every flow sample into tmpl,
// returning each record's fields by name as the logger prints them.
func sfConvertAll(t *testing.T, tmpl string, table *Table, msg []byte, now unirec.Time) []map[string]string {
	t.Helper()
	tp, err := unirec.ParseTemplate(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewSflowConverter(tp, table)
	if err != nil {
		t.Fatal(err)
	}
	h := &sfCollect{c: c, rec: tp.NewRecord(), now: now}
	var dec sflow.Decoder
	if err := dec.Decode(msg, h); err != nil {
		t.Fatal(err)
	}
	return h.out
}

type sfCollect struct {
	c   *SflowConverter
	rec unirec.Record
	now unirec.Time
	out []map[string]string
}

func (h *sfCollect) FlowSample(d *sflow.Datagram, s *sflow.FlowSample) {
	h.c.Convert(&h.rec, d, s, h.now)
	m := map[string]string{}
	for i, f := range h.rec.T.Fields() {
		m[f.Name] = string(h.rec.AppendValue(nil, unirec.FieldID(i)))
	}
	h.out = append(h.out, m)
}

func (h *sfCollect) CounterSample(*sflow.Datagram, *sflow.CounterSample) {}

var (
	sfA, sfB   = netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	sf6A, sf6B = netip.MustParseAddr("2001:db8::a"), netip.MustParseAddr("2001:db8::b")
	sfAgent    = netip.MustParseAddr("192.0.2.7")
	sfNow      = unirec.TimeFromGo(time.Date(2026, 11, 30, 12, 0, 0, 250e6, time.UTC))
)

func sfDatagram() []byte {
	tcp := sflowgen.Frame(sflowgen.Packet{SrcMAC: [6]byte{2, 0, 0, 0, 0, 1}, DstMAC: [6]byte{2, 0, 0, 0, 0, 2}, VLAN: 42,
		Src: sfA, Dst: sfB, Proto: 6, SrcPort: 40000, DstPort: 443, TCPFlags: 0x18, TOS: 8, TTL: 63, Payload: 1000})
	icmp6 := sflowgen.Frame(sflowgen.Packet{Src: sf6A, Dst: sf6B, Proto: 58, DstPort: 0x8000, TTL: 64, Payload: 56})
	arp := append(make([]byte, 12), 0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 1)
	d := sflowgen.Datagram{Agent: sfAgent, SubAgentID: 2, Sequence: 9, Samples: []sflowgen.Sample{
		sflowgen.FlowSample{SamplingRate: 1000, Input: 3, Output: 4}.Flow(
			sflowgen.RawHeader(1, uint32(len(tcp)+4), 4, tcp[:128]), sflowgen.ExtSwitch(42, 0, 43, 0),
			sflowgen.ExtRouter(netip.MustParseAddr("10.0.0.254"), 24, 16)),
		sflowgen.FlowSample{SamplingRate: 256, Input: 7}.Expanded(sflowgen.RawHeader(1, uint32(len(icmp6)+4), 4, icmp6)),
		sflowgen.FlowSample{SamplingRate: 0}.Flow(sflowgen.SampledIP(576, 17, sfA, sfB, 53, 5353, 0, 0x28)),
		sflowgen.FlowSample{SamplingRate: 10}.Flow(sflowgen.RawHeader(1, 64, 4, arp)),
	}}
	return d.Bytes()
}

func TestSflowConverter(t *testing.T) {
	got := sfConvertAll(t, SflowTemplate, nil, sfDatagram(), sfNow)
	want := []map[string]string{
		{"SRC_IP": "10.0.0.1", "DST_IP": "10.0.0.2", "SRC_PORT": "40000", "DST_PORT": "443", "PROTOCOL": "6", "TCP_FLAGS": "24",
			"TOS": "8", "TTL": "63", "PACKETS": "1000", "BYTES": "1062000", "SRC_VLAN": "42", "DST_VLAN": "43",
			"INPUT_INTERFACE": "3", "OUTPUT_INTERFACE": "4", "SRC_MAC": "02:00:00:00:00:01", "DST_MAC": "02:00:00:00:00:02",
			"NEXT_HOP": "10.0.0.254", "SRC_MASK": "24", "DST_MASK": "16", "EXPORTER_IP": "192.0.2.7", "ODID": "2",
			"SAMPLING_INTERVAL": "1000", "TIME_FIRST": "2026-11-30T12:00:00.250000", "TIME_LAST": "2026-11-30T12:00:00.250000",
			"DIR_BIT_FIELD": "0", "LINK_BIT_FIELD": "0"},
		{"SRC_IP": "2001:db8::a", "DST_IP": "2001:db8::b", "SRC_PORT": "0", "DST_PORT": "32768", "PROTOCOL": "58",
			"TTL": "64", "PACKETS": "256", "BYTES": "31232", "SRC_VLAN": "0", "DST_VLAN": "0", "INPUT_INTERFACE": "7",
			"NEXT_HOP": "::", "SAMPLING_INTERVAL": "256"},
		{"SRC_IP": "10.0.0.1", "DST_IP": "10.0.0.2", "SRC_PORT": "53", "DST_PORT": "5353", "PROTOCOL": "17", "TOS": "40",
			"TTL": "0", "PACKETS": "1", "BYTES": "576", "SAMPLING_INTERVAL": "1", "SRC_MAC": "00:00:00:00:00:00"},
		{"SRC_IP": "::", "PROTOCOL": "0", "PACKETS": "10", "BYTES": "640", "SAMPLING_INTERVAL": "10"},
	}
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d", len(got), len(want))
	}
	for i, w := range want {
		for k, v := range w {
			if got[i][k] != v {
				t.Errorf("record %d: %s = %q, want %q", i, k, got[i][k], v)
			}
		}
	}
}

// A custom element table renames the fields sFlow fills through IPFIX
// elements, as it does for IPFIX.
func TestSflowConverterFollowsTheElementTable(t *testing.T) {
	tbl, err := ParseTable(strings.NewReader("SRC_ADDR ipaddr e0id8,e0id27\nPKTS uint64 e0id2\nAGENT ipaddr _internal_exporter_ip_\n"))
	if err != nil {
		t.Fatal(err)
	}
	got := sfConvertAll(t, "ipaddr SRC_ADDR,uint64 PKTS,ipaddr AGENT,uint16 SRC_VLAN,ipaddr SRC_IP", tbl, sfDatagram(), sfNow)
	if g := got[0]; g["SRC_ADDR"] != "10.0.0.1" || g["PKTS"] != "1000" || g["AGENT"] != "192.0.2.7" || g["SRC_VLAN"] != "42" || g["SRC_IP"] != "::" {
		t.Errorf("got %v", g)
	}
}

func TestSflowConverterRejectsWrongTypes(t *testing.T) {
	for _, spec := range []string{"uint32 SRC_IP", "ipaddr SRC_VLAN", "uint64 TIME_FIRST"} {
		tp, err := unirec.ParseTemplate(spec)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := NewSflowConverter(tp, nil); err == nil || !strings.Contains(err.Error(), tp.Fields()[0].Name) {
			t.Errorf("%s: err %v, want one naming the field", spec, err)
		}
	}
}

func TestSflowConverterAllocatesNothing(t *testing.T) {
	tp, _ := unirec.ParseTemplate(SflowTemplate)
	c, err := NewSflowConverter(tp, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := &sfNop{c: c, rec: tp.NewRecord()}
	msg := sfDatagram()
	var dec sflow.Decoder
	if n := testing.AllocsPerRun(100, func() { _ = dec.Decode(msg, h) }); n != 0 {
		t.Fatalf("%v allocations per datagram", n)
	}
}

type sfNop struct {
	c   *SflowConverter
	rec unirec.Record
}

func (h *sfNop) FlowSample(d *sflow.Datagram, s *sflow.FlowSample)   { h.c.Convert(&h.rec, d, s, 0) }
func (h *sfNop) CounterSample(*sflow.Datagram, *sflow.CounterSample) {}

func BenchmarkSflowDecodeConvert(b *testing.B) {
	tp, _ := unirec.ParseTemplate(SflowTemplate)
	c, err := NewSflowConverter(tp, nil)
	if err != nil {
		b.Fatal(err)
	}
	h := &sfNop{c: c, rec: tp.NewRecord()}
	msg := sfDatagram()
	var dec sflow.Decoder
	b.ReportAllocs()
	for b.Loop() {
		if err := dec.Decode(msg, h); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*4)/b.Elapsed().Seconds(), "records/s")
}
