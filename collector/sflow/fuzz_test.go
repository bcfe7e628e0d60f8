package sflow

import (
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/flowgate/flowgate/internal/sflowgen"
)

// The seed corpora run in every go test; go test -fuzz explores further.

func FuzzDecode(f *testing.F) {
	f.Add(mixedDatagram(true))
	f.Add(mixedDatagram(false))
	f.Add((&sflowgen.Datagram{Agent: agent6}).Bytes())
	// The golden captures' datagrams (pmacctd's sfprobe), when present.
	pcaps, _ := filepath.Glob(filepath.Join(GoldenDir(), "*.pcap"))
	for _, p := range pcaps {
		for _, msg := range ReadDatagrams(f, p) {
			f.Add(msg)
		}
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		var dec Decoder
		var c collect
		err := dec.Decode(msg, &c)
		st := dec.Stats()
		if int(st.FlowSamples) != len(c.flows) || int(st.CounterSamples) != len(c.counters) {
			t.Fatalf("stats %+v for %d flow and %d counter samples", st, len(c.flows), len(c.counters))
		}
		if err == nil {
			h, ok := dec.Header()
			if !ok || int(h.NumSamples) != len(c.flows)+len(c.counters)+int(st.UnknownSamples) {
				t.Fatalf("decoded %d+%d+%d samples of %d", len(c.flows), len(c.counters), st.UnknownSamples, h.NumSamples)
			}
		}
	})
}

// sampleSeeds returns flow, expanded flow and counter sample bodies.
func sampleSeeds() (flows, expanded, counters [][]byte) {
	d := sflowgen.FlowSample{SamplingRate: 10, Input: 1, Output: 2}
	raw := sflowgen.RawHeader(HeaderEthernet, 100, 4, sflowgen.Frame(sflowgen.Packet{VLAN: 5, Src: hostA, Dst: hostB, Proto: 6, SrcPort: 1, DstPort: 2}))
	sw := sflowgen.ExtSwitch(5, 0, 6, 0)
	rt := sflowgen.ExtRouter(netip.MustParseAddr("2001:db8::1"), 64, 48)
	ip4 := sflowgen.SampledIP(100, 17, hostA, hostB, 1, 2, 0, 0)
	flows = [][]byte{d.Flow(raw, sw, rt).Body, d.Flow(ip4).Body, d.Flow().Body}
	expanded = [][]byte{d.Expanded(raw, sw).Body, d.Expanded(rt).Body}
	counters = [][]byte{
		sflowgen.Counters(1, 0, 1, sflowgen.IfCounters{Index: 1}.Record(), sflowgen.EthernetCounters([13]uint32{})).Body,
		sflowgen.ExpandedCounters(1, 0, 1, sflowgen.IfCounters{Index: 1}.Record()).Body,
	}
	return flows, expanded, counters
}

func FuzzFlowSample(f *testing.F) {
	flows, expanded, _ := sampleSeeds()
	for _, b := range flows {
		f.Add(false, b)
	}
	for _, b := range expanded {
		f.Add(true, b)
	}
	f.Fuzz(func(t *testing.T, exp bool, body []byte) {
		var dec Decoder
		if err := dec.flowSample(body, exp); err != nil {
			return
		}
		s := &dec.flow
		if s.HasHeader && len(s.Header) > len(body) {
			t.Fatalf("header of %d bytes from a %d-byte sample", len(s.Header), len(body))
		}
	})
}

func FuzzCounterSample(f *testing.F) {
	_, _, counters := sampleSeeds()
	for i, b := range counters {
		f.Add(i == 1, b)
	}
	f.Fuzz(func(t *testing.T, exp bool, body []byte) {
		var dec Decoder
		_ = dec.counterSample(body, exp)
	})
}

func FuzzRawHeader(f *testing.F) {
	for _, p := range []sflowgen.Packet{
		{VLAN: 7, Src: hostA, Dst: hostB, Proto: 6, SrcPort: 1, DstPort: 2, TCPFlags: 2},
		{Src: host6A, Dst: host6B, Proto: 17, SrcPort: 1, DstPort: 2, Payload: 10},
		{Src: hostA, Dst: hostB, Proto: 1, DstPort: 0x0300},
	} {
		fr := sflowgen.Frame(p)
		f.Add(sflowgen.RawHeader(HeaderEthernet, uint32(len(fr)+4), 4, fr).Body)
		f.Add(sflowgen.RawHeader(HeaderIPv4, uint32(len(fr)-14), 0, fr[14:]).Body)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var dec Decoder
		if err := dec.rawHeader(body); err != nil {
			return
		}
		s := &dec.flow
		if len(s.Header) > len(body) || len(s.Packet.Payload) > len(s.Header) {
			t.Fatalf("header %d, payload %d bytes from a %d-byte record", len(s.Header), len(s.Packet.Payload), len(body))
		}
		if s.HeaderErr == nil && s.Packet.IPVersion != 4 && s.Packet.IPVersion != 6 {
			t.Fatalf("header accepted with IP version %d", s.Packet.IPVersion)
		}
	})
}
