// Package sflow decodes sFlow version 5 datagrams (sflow.org
// SFLOW-DATAGRAM5.txt, SFLOW-STRUCTS5.txt) without allocating.
//
// The decoder is hand-written rather than goflow2's decoders/sflow: that
// decoder builds a Packet of interface{} samples and records, slices and a
// copy of every sampled header per datagram, which costs several
// allocations per sample on the collector's hot path. Here Decoder.Decode
// walks the datagram in place and hands each sample to a Handler as a
// pointer into the decoder's reused state; nothing is allocated per
// datagram, sample or record. goflow2's decoder serves as an in-process
// differential oracle in the tests.
//
// What is decoded:
//
//   - the datagram header: agent address (IPv4 or IPv6), sub-agent id,
//     sequence number and uptime;
//   - flow samples (enterprise 0, format 1) and expanded flow samples
//     (format 3) with their records: the raw packet header (format 1,
//     parsed by package packet: Ethernet, 802.1Q/QinQ, IPv4, IPv6, TCP, UDP,
//     ICMP; header protocols Ethernet, IPv4 and IPv6), sampled IPv4 and
//     IPv6 (formats 3 and 4), extended switch (1001: VLANs and priorities)
//     and extended router (1002: next hop and prefix lengths);
//   - counter samples (format 2) and expanded counter samples (format 4)
//     with the generic interface (1) and Ethernet (2) counter records.
//
// Everything else (other enterprises, sample and record formats) is
// skipped by its length and counted in Stats. Every length is checked
// against the data around it; a malformed datagram returns an error
// wrapping ErrShort, ErrLength or ErrVersion, never a panic. Samples
// decoded before the damage have already been handed to the Handler.
//
// Interface numbers: the input and output of a (compact) flow sample carry
// a 2-bit format in their top bits (0 ifIndex, 1 discarded, 2 multiple
// interfaces). We report the 30-bit value (Input, Output) and keep the
// format apart (InputFormat, OutputFormat), as the expanded sample carries
// them; goflow2 passes a compact sample's raw 32-bit word on.
//
// Golden tests (golden_test.go, golden_internal_test.go) compare the
// decoding of real pmacctd/sfprobe captures with sfacctd's and goflow2's
// (testdata/README.md). Where they disagree we follow sfacctd: IPv6
// extension headers are walked to the transport header (goflow2 v2.2.6
// reports the first next-header value, e.g. 0 for hop-by-hop, and no
// ports).
package sflow
