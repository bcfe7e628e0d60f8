// Package meter turns captured packets into bidirectional flow records the
// way ipfixprobe (the successor of NEMEA's flow_meter) does, and exports them
// as UniRec records with ipfixprobe's templates.
//
// What lives here:
//
//   - source*.go: PacketSource, the capture abstraction, and FileSource, a
//     pure-Go pcap/pcapng reader. live_pcap.go (build tag "pcap", cgo)
//     captures from an interface with libpcap, snaplen and a BPF filter.
//   - packet.go: Parse, a hand-written decoder for Ethernet, 802.1Q/QinQ,
//     Linux SLL, IPv4, IPv6 with extension headers, TCP, UDP, ICMP, ICMPv6.
//   - cache.go: the flow cache (biflow key in the first packet's direction,
//     active/inactive timeouts, TCP FIN/RST handling, size limit with counted
//     evictions, flush at end of input).
//   - plugin*.go: process plugins (basic, http, vlan, dns, tls, ssdp) that
//     parse payloads and fill their UniRec fields.
//   - meter.go: Meter, which ties source, parser, cache and plugins together
//     and hands finished records to a sink callback.
//
// Why hand-written instead of libraries:
//
// gopacket's layer decoding (gopacket.NewPacket, even DecodingLayerParser)
// allocates layer structs, slices of layers and error values per packet and
// decodes far more than a flow meter needs; at millions of packets per second
// that allocation dominates. Parse reads only the header fields the flow
// key and counters need into a caller-owned Packet, with 0 allocations.
//
// The pcap/pcapng reader is hand-written because gopacket's pcapgo package
// imports golang.org/x/net/bpf, which is not part of this module's go.sum;
// the formats are small (a fixed record header for pcap; SHB/IDB/EPB/SPB
// blocks for pcapng) and the reader reuses one buffer, so reading is
// allocation-free too. Live capture uses gopacket/pcap (libpcap), which has
// no such dependency.
package meter
