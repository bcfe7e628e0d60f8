package sflow

import (
	"bytes"
	"testing"

	gfsflow "github.com/netsampler/goflow2/v2/decoders/sflow"

	"github.com/flowgate/flowgate/internal/sflowgen"
)

// benchDatagram is what a switch typically sends: several flow samples of
// a 128-byte raw header (Ethernet, 802.1Q, IPv4, TCP) and the extended
// switch record each.
func benchDatagram(samples int) []byte {
	d := sflowgen.Datagram{Agent: agent4, Sequence: 1}
	for i := range samples {
		fr := sflowgen.Frame(sflowgen.Packet{VLAN: 10, Src: hostA, Dst: hostB, Proto: 6, SrcPort: uint16(1024 + i), DstPort: 443, TCPFlags: 0x10, TTL: 64, Payload: 1400})
		d.Samples = append(d.Samples, sflowgen.FlowSample{Sequence: uint32(i), SourceIDIndex: 3, SamplingRate: 1000, Input: 3, Output: 4}.Flow(
			sflowgen.RawHeader(HeaderEthernet, uint32(len(fr)+4), 4, fr[:128]), sflowgen.ExtSwitch(10, 0, 10, 0)))
	}
	return d.Bytes()
}

func BenchmarkDecode(b *testing.B) {
	const samples = 7
	msg := benchDatagram(samples)
	var dec Decoder
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if err := dec.Decode(msg, nopHandler{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*samples)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkGoflow2Decode decodes the same datagram with goflow2's decoder
// (without its producer), for comparison.
func BenchmarkGoflow2Decode(b *testing.B) {
	const samples = 7
	msg := benchDatagram(samples)
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		var p gfsflow.Packet
		if err := gfsflow.DecodeMessageVersion(bytes.NewBuffer(msg), &p); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*samples)/b.Elapsed().Seconds(), "records/s")
}
