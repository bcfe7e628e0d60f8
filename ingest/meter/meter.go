package meter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/flowgate/flowgate/unirec"
)

// BasicSpec is ipfixprobe's basic biflow UniRec template (canonical order).
const BasicSpec = "ipaddr DST_IP,ipaddr SRC_IP,uint64 BYTES,uint64 BYTES_REV,uint64 LINK_BIT_FIELD," +
	"time TIME_FIRST,time TIME_LAST,macaddr DST_MAC,macaddr SRC_MAC,uint32 PACKETS,uint32 PACKETS_REV," +
	"uint16 DST_PORT,uint16 SRC_PORT,uint8 DIR_BIT_FIELD,uint8 PROTOCOL,uint8 TCP_FLAGS,uint8 TCP_FLAGS_REV"

// Config configures a Meter. Zero values take ipfixprobe's defaults.
type Config struct {
	Cache   CacheConfig
	Plugins []string // process plugins; empty means just "basic"
	// LinkBitField and DirBitField are copied into every record
	// (ipfixprobe's unirec output options; 0 by default).
	LinkBitField uint64
	DirBitField  uint8
	// ICMPPorts puts ICMP type*256+code into DST_PORT (and into the flow
	// key). Off by default: ipfixprobe's golden output (mixed.pcap) has
	// ports 0 for ICMP and ICMPv6 and merges echo request and reply into one
	// biflow, although unirec.md §7 says exporters pack type/code there.
	ICMPPorts bool
}

// Stats counts packets and flows.
type Stats struct {
	Packets   uint64 // frames seen
	IP        uint64 // frames metered
	NotIP     uint64 // non-IP frames skipped (ARP, ...)
	Truncated uint64 // frames too short for their headers, skipped
	BadLength uint64 // frames with impossible header lengths, skipped
	Corrupt   uint64 // capture files abandoned at a damaged record (see Run)
	Records   uint64 // records passed to the sink
	Cache     CacheStats
}

// RecordSink receives each finished flow as a UniRec record. The record's
// Data is reused after the call returns; copy what you keep.
type RecordSink func(r unirec.Record) error

// Meter meters packets into flow records.
type Meter struct {
	cfg     Config
	tmpl    *unirec.Template
	cache   *Cache
	plugins []Plugin
	sink    RecordSink
	rec     unirec.Record
	pkt     Packet
	frags   fragCache
	ids     basicIDs
	stats   Stats
	err     error  // first sink or fill error
	ext     uint64 // of the record being sunk: bit i = plugin i's record
}

type basicIDs struct {
	dstIP, srcIP, bytes, bytesRev, link, first, last, dstMAC, srcMAC,
	packets, packetsRev, dstPort, srcPort, dir, proto, flags, flagsRev unirec.FieldID
}

// New builds a meter whose records go to sink.
func New(cfg Config, sink RecordSink) (*Meter, error) {
	if sink == nil {
		return nil, errors.New("meter: nil record sink")
	}
	m := &Meter{cfg: cfg, sink: sink}
	specs := []string{BasicSpec}
	seen := map[string]bool{}
	for _, spec := range cfg.Plugins {
		name := PluginName(spec)
		if seen[name] {
			continue
		}
		seen[name] = true
		pl, err := NewPlugin(spec)
		if err != nil {
			return nil, err
		}
		if pl == nil {
			continue
		}
		m.plugins = append(m.plugins, pl)
		if s := pl.Spec(); s != "" {
			specs = append(specs, s)
		}
	}
	t, err := unirec.ParseTemplate(strings.Join(specs, ","))
	if err != nil {
		return nil, fmt.Errorf("meter: export template: %w", err)
	}
	m.tmpl = t
	if err := m.bindBasic(); err != nil {
		return nil, err
	}
	for _, pl := range m.plugins {
		if err := pl.Bind(t); err != nil {
			return nil, err
		}
	}
	m.cache, err = NewCache(cfg.Cache, m.plugins, m.exportFlow)
	if err != nil {
		return nil, err
	}
	m.rec = t.NewRecord()
	return m, nil
}

func (m *Meter) bindBasic() error {
	names := []string{"DST_IP", "SRC_IP", "BYTES", "BYTES_REV", "LINK_BIT_FIELD", "TIME_FIRST", "TIME_LAST",
		"DST_MAC", "SRC_MAC", "PACKETS", "PACKETS_REV", "DST_PORT", "SRC_PORT", "DIR_BIT_FIELD",
		"PROTOCOL", "TCP_FLAGS", "TCP_FLAGS_REV"}
	ids := make([]unirec.FieldID, len(names))
	if err := lookup(m.tmpl, "basic", names, ids); err != nil {
		return err
	}
	m.ids = basicIDs{ids[0], ids[1], ids[2], ids[3], ids[4], ids[5], ids[6], ids[7], ids[8],
		ids[9], ids[10], ids[11], ids[12], ids[13], ids[14], ids[15], ids[16]}
	return nil
}

// PluginBit returns the bit of plugin name in Extensions, or 0 for a
// plugin the meter does not run (or "basic", which has no record).
func (m *Meter) PluginBit(name string) uint64 {
	name = PluginName(name)
	for i, pl := range m.plugins {
		if pl.Name() == name {
			return 1 << i
		}
	}
	return 0
}

// Extensions tells, during a RecordSink call, which plugins' records the
// flow carries (see PluginBit): ipfixprobe sends a flow to a plugin's
// output only if it carries that plugin's record.
func (m *Meter) Extensions() uint64 { return m.ext }

// Template is the UniRec template of the exported records.
func (m *Meter) Template() *unirec.Template { return m.tmpl }

// Stats returns the counters so far.
func (m *Meter) Stats() Stats {
	s := m.stats
	s.Cache = m.cache.Stats()
	return s
}

// Packet meters one frame. Damaged and non-IP frames are counted and
// skipped; the returned error is only a sink (or record) error, after which
// the meter should not be used further.
func (m *Meter) Packet(link LinkType, data []byte, ts time.Time) error {
	if m.err != nil {
		return m.err
	}
	m.stats.Packets++
	p := &m.pkt
	p.SetTime(ts)
	if err := Parse(link, data, p); err != nil {
		switch {
		case errors.Is(err, ErrNotIP):
			m.stats.NotIP++
		case errors.Is(err, ErrTruncated):
			m.stats.Truncated++
		default:
			m.stats.BadLength++
		}
		return nil
	}
	if m.cfg.ICMPPorts && (p.Proto == protoICMP || p.Proto == protoICMPv6) && p.HasL4 {
		p.DstPort = uint16(p.ICMPType)<<8 | uint16(p.ICMPCode)
	}
	m.stats.IP++
	m.frags.packet(p)
	m.cache.Add(p)
	return m.err
}

// Expire exports the flows idle for the inactive timeout at now. Packets
// expire flows by their own timestamps; a live capture calls this when the
// interface is quiet so that idle flows still leave the cache.
func (m *Meter) Expire(now time.Time) error {
	if m.err != nil {
		return m.err
	}
	m.cache.Expire(now)
	return m.err
}

// Flush exports every flow still in the cache (end of input).
func (m *Meter) Flush() error {
	if m.err != nil {
		return m.err
	}
	m.cache.Flush()
	return m.err
}

// Run meters src until it ends (io.EOF), then flushes the cache. A live
// source's ErrNoPacket (read timeout) lets Run check ctx and export the
// flows idle for the inactive timeout by the wall clock (Expire). A damaged
// capture file (ErrCorrupt: a record cut short, an impossible length) cannot
// be resynchronised: Run counts it in Stats.Corrupt, flushes the flows metered
// so far and returns the wrapped ErrCorrupt. It stops early with ctx's error
// when ctx is cancelled (flows stay in the cache; call Flush to export them).
func (m *Meter) Run(ctx context.Context, src PacketSource) error {
	for n := 0; ; n++ {
		if n&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		data, ts, err := src.ReadPacket()
		if errors.Is(err, io.EOF) {
			return m.Flush()
		}
		if errors.Is(err, ErrNoPacket) { // a quiet live interface
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := m.Expire(time.Now()); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			err = fmt.Errorf("meter: after %d packets: %w", m.stats.Packets, err)
			if errors.Is(err, ErrCorrupt) {
				m.stats.Corrupt++
				if ferr := m.Flush(); ferr != nil {
					return ferr
				}
			}
			return err
		}
		if err := m.Packet(src.LinkType(), data, ts); err != nil {
			return err
		}
	}
}

func (m *Meter) exportFlow(f *Flow) {
	if m.err != nil {
		return
	}
	// The record lives in the Meter: a local passed by pointer to the
	// plugins' Fill (an interface call) would escape and allocate.
	m.rec = m.rec.Reset()
	r := &m.rec
	id := &m.ids
	r.SetIP(id.srcIP, unirec.IP(f.Key.SrcIP))
	r.SetIP(id.dstIP, unirec.IP(f.Key.DstIP))
	r.SetUint16(id.srcPort, f.Key.SrcPort)
	r.SetUint16(id.dstPort, f.Key.DstPort)
	r.SetUint8(id.proto, f.Key.Proto)
	r.SetUint64(id.bytes, f.Bytes)
	r.SetUint64(id.bytesRev, f.BytesRev)
	r.SetUint32(id.packets, f.Packets)
	r.SetUint32(id.packetsRev, f.PacketsRev)
	r.SetTime(id.first, unirec.TimeFromSecUsec(f.FirstSec, f.FirstUsec))
	r.SetTime(id.last, unirec.TimeFromSecUsec(f.LastSec, f.LastUsec))
	r.SetUint8(id.flags, f.TCPFlags)
	r.SetUint8(id.flagsRev, f.TCPFlagsRev)
	r.SetMAC(id.srcMAC, unirec.MAC(f.SrcMAC))
	r.SetMAC(id.dstMAC, unirec.MAC(f.DstMAC))
	r.SetUint64(id.link, m.cfg.LinkBitField)
	r.SetUint8(id.dir, m.cfg.DirBitField)
	m.ext = 0
	for i, pl := range m.plugins {
		if err := pl.Fill(f, r); err != nil && m.err == nil {
			m.err = fmt.Errorf("meter: %s plugin: %w", pl.Name(), err)
		}
		if pl.Has(f) {
			m.ext |= 1 << i
		}
	}
	if m.err != nil {
		return
	}
	m.stats.Records++
	if err := m.sink(*r); err != nil {
		m.err = fmt.Errorf("meter: record sink: %w", err)
	}
}
