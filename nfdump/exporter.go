package nfdump

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// Exporter is what a file says about one exporter (ExporterInfo, type 7),
// completed with its statistics (ExporterStat, type 8) and sampler
// (SamplerRecord, type 15) when those records have been read.
type Exporter struct {
	SysID   uint16     // referenced by Record.ExporterID
	Version uint32     // NetFlow version: 5, 9, 10 (IPFIX)
	IP      netip.Addr // exporter address
	ID      uint32     // v9 source id / IPFIX observation domain / v5 engine tag

	SequenceFailures, Packets, Flows uint64 // from ExporterStat

	Sampler *Sampler // nil when the file has no sampler for this exporter
}

// Sampler is a SamplerRecord: the exporter's packet sampling.
type Sampler struct {
	ID             int64 // selector id; -1 generic, -2 default, -3 overwrite
	Algorithm      uint16
	PacketInterval uint32
	SpaceInterval  uint32
}

// Rate returns the sampling rate (1 in Rate packets), 1 when unsampled.
func (s *Sampler) Rate() uint32 {
	if s == nil || s.PacketInterval == 0 {
		return 1
	}
	return (s.PacketInterval + s.SpaceInterval) / s.PacketInterval
}

const (
	exporterInfoSize = 32
	samplerSize      = 24
	afInet           = 2
	afInet6          = 10
)

func parseExporterInfo(b []byte) (Exporter, error) {
	var e Exporter
	if len(b) < exporterInfoSize {
		return e, fmt.Errorf("%w: exporter record of %d bytes, need %d", ErrFormat, len(b), exporterInfoSize)
	}
	e.Version = le32(b[4:])
	switch le16(b[24:]) {
	case afInet:
		e.IP = ip4(b[16:])
	case afInet6:
		e.IP = ip6(b[8:])
	default:
		// nfdump ≥ 1.7.8: network-order bytes, IPv4 as v4-mapped.
		var a [16]byte
		copy(a[:], b[8:24])
		e.IP = netip.AddrFrom16(a).Unmap()
	}
	e.SysID = le16(b[26:])
	e.ID = le32(b[28:])
	return e, nil
}

func parseSampler(b []byte) (uint16, Sampler, error) {
	if len(b) < samplerSize {
		return 0, Sampler{}, fmt.Errorf("%w: sampler record of %d bytes, need %d", ErrFormat, len(b), samplerSize)
	}
	return le16(b[4:]), Sampler{
		Algorithm:      le16(b[6:]),
		ID:             int64(binary.LittleEndian.Uint64(b[8:])),
		PacketInterval: le32(b[16:]),
		SpaceInterval:  le32(b[20:]),
	}, nil
}

// exporterStat is one entry of an ExporterStat record.
type exporterStat struct {
	sysID          uint32
	seqFailures    uint32
	packets, flows uint64
}

func parseExporterStats(b []byte, fn func(exporterStat)) error {
	if len(b) < 8 {
		return fmt.Errorf("%w: exporter stat record of %d bytes too short", ErrFormat, len(b))
	}
	n := int(le32(b[4:]))
	if 8+24*n > len(b) {
		return fmt.Errorf("%w: exporter stat record of %d bytes cannot hold %d entries", ErrFormat, len(b), n)
	}
	for i := 0; i < n; i++ {
		p := b[8+24*i:]
		fn(exporterStat{sysID: le32(p), seqFailures: le32(p[4:]), packets: le64(p[8:]), flows: le64(p[16:])})
	}
	return nil
}
