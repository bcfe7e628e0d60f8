package converters

import (
	"math"
	"net/netip"
	"testing"

	"github.com/flowgate/flowgate/collector/sflow"
	"github.com/flowgate/flowgate/internal/sflowgen"
	"github.com/flowgate/flowgate/unirec"
)

// The largest rate and frame length an agent can announce scale into the
// 64-bit BYTES without wrapping: (2^32-1)^2 < 2^64.
func TestSflowConverterScalesWithoutOverflow(t *testing.T) {
	fr := sflowgen.Frame(sflowgen.Packet{Src: sfA, Dst: sfB, Proto: 17, SrcPort: 1, DstPort: 2})
	d := sflowgen.Datagram{Agent: sfAgent, Samples: []sflowgen.Sample{
		sflowgen.FlowSample{SamplingRate: math.MaxUint32}.Flow(sflowgen.RawHeader(1, math.MaxUint32, 4, fr)),
		sflowgen.FlowSample{SamplingRate: math.MaxUint32}.Flow(sflowgen.SampledIP(math.MaxUint32, 6, sfA, sfB, 1, 2, 0, 0)),
	}}
	got := sfConvertAll(t, SflowTemplate, nil, d.Bytes(), sfNow)
	if len(got) != 2 {
		t.Fatalf("%d records, want 2", len(got))
	}
	for i, r := range got {
		if r["PACKETS"] != "4294967295" || r["SAMPLING_INTERVAL"] != "4294967295" || r["BYTES"] != "18446744065119617025" {
			t.Errorf("record %d: PACKETS %s, SAMPLING_INTERVAL %s, BYTES %s", i, r["PACKETS"], r["SAMPLING_INTERVAL"], r["BYTES"])
		}
	}
}

// sfFuzzTemplates are the default template and one that takes every
// integer value in the narrowest field (truncation, no panic).
var sfFuzzTemplates = []string{
	SflowTemplate,
	"ipaddr SRC_IP,ipaddr DST_IP,uint8 SRC_PORT,int8 DST_PORT,uint8 BYTES,int16 PACKETS,uint8 SAMPLING_INTERVAL,uint8 SRC_VLAN," +
		"uint8 INPUT_INTERFACE,time TIME_FIRST,macaddr SRC_MAC,ipaddr NEXT_HOP,string EXTRA",
}

type sfFuzzHandler struct {
	t     *testing.T
	convs []*SflowConverter
	recs  []unirec.Record
}

func (h *sfFuzzHandler) FlowSample(d *sflow.Datagram, s *sflow.FlowSample) {
	for i, c := range h.convs {
		c.Convert(&h.recs[i], d, s, sfNow)
	}
	// The default template holds the scaled counters whole.
	r := &h.recs[0]
	id, _ := r.T.Lookup("BYTES")
	rate := SflowRate(s)
	if b := r.Uint64(id); b != SflowBytes(s)*rate {
		h.t.Fatalf("BYTES %d, want %d x %d", b, SflowBytes(s), rate)
	}
	id, _ = r.T.Lookup("PACKETS")
	if p := r.Uint32(id); uint64(p) != rate {
		h.t.Fatalf("PACKETS %d, rate %d", p, rate)
	}
}

func (h *sfFuzzHandler) CounterSample(*sflow.Datagram, *sflow.CounterSample) {}

// Whatever a datagram decodes to converts without a panic, into any
// template, with the default template's counters exactly scaled.
func FuzzSflowConvert(f *testing.F) {
	f.Add(sfDatagram())
	fr := sflowgen.Frame(sflowgen.Packet{VLAN: 4095, Src: sf6A, Dst: sf6B, Proto: 6, SrcPort: 1, DstPort: 2, TCPFlags: 0xff})
	f.Add((&sflowgen.Datagram{Agent: netip.MustParseAddr("::ffff:192.0.2.1"), Samples: []sflowgen.Sample{
		sflowgen.FlowSample{SamplingRate: math.MaxUint32, Input: math.MaxUint32, Output: math.MaxUint32}.Expanded(
			sflowgen.RawHeader(1, math.MaxUint32, math.MaxUint32, fr), sflowgen.ExtSwitch(math.MaxUint32, 7, 70000, 7),
			sflowgen.ExtRouter(netip.MustParseAddr("2001:db8::1"), 255, 255)),
		sflowgen.FlowSample{}.Flow(sflowgen.RawHeader(12, 40, 0, fr[18:])),
		sflowgen.FlowSample{}.Flow(sflowgen.RawHeader(11, 40, 0, fr[18:])),
	}}).Bytes())
	f.Fuzz(func(t *testing.T, msg []byte) {
		h := &sfFuzzHandler{t: t}
		for _, spec := range sfFuzzTemplates {
			tp, err := unirec.ParseTemplate(spec)
			if err != nil {
				t.Fatal(err)
			}
			c, err := NewSflowConverter(tp, nil)
			if err != nil {
				t.Fatal(err)
			}
			h.convs, h.recs = append(h.convs, c), append(h.recs, tp.NewRecord())
		}
		var dec sflow.Decoder
		_ = dec.Decode(msg, h)
	})
}
