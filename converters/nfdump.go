package converters

import (
	"fmt"
	"net/netip"

	"github.com/flowgate/flowgate/nfdump"
	"github.com/flowgate/flowgate/unirec"
)

// NfreaderTemplate is the output template of NEMEA's nfreader
// (nfdump_reader), the default for nfdump replay (nemea-modules.md §2.3).
const NfreaderTemplate = "ipaddr DST_IP,ipaddr SRC_IP,uint64 BYTES,uint64 LINK_BIT_FIELD," +
	"time TIME_FIRST,time TIME_LAST,uint32 PACKETS,uint16 DST_PORT,uint16 SRC_PORT," +
	"uint8 DIR_BIT_FIELD,uint8 PROTOCOL,uint8 TCP_FLAGS,uint8 TOS,uint8 TTL"

// NfdumpRichTemplate carries every field an nfdump record can fill. Names
// follow ipfixcol2's unirec-elements.txt where it defines one (SRC_MAC,
// BYTES_REV, ODID, EXPORTER_IP, FLOW_END_REASON, ...); the others are
// named after the nfdump field.
const NfdumpRichTemplate = NfreaderTemplate +
	",uint64 BYTES_REV,uint32 PACKETS_REV,uint8 TCP_FLAGS_REV,uint64 FLOWS" +
	",uint8 DST_TOS,uint8 FWD_STATUS,uint8 FLOW_END_REASON,uint8 BIFLOW_DIRECTION,uint8 FLOW_DIRECTION" +
	",uint32 SRC_AS,uint32 DST_AS,uint32 NEXT_AS,uint32 PREV_AS" +
	",uint32 INPUT_INTERFACE,uint32 OUTPUT_INTERFACE,uint8 SRC_MASK,uint8 DST_MASK" +
	",ipaddr NEXT_HOP,ipaddr BGP_NEXT_HOP,ipaddr EXPORTER_IP,uint32 ODID,uint16 EXPORTER_SYSID" +
	",uint8 ENGINE_TYPE,uint8 ENGINE_ID,uint8 NF_VERSION,uint32 SAMPLING_INTERVAL" +
	",uint16 SRC_VLAN,uint16 DST_VLAN,macaddr SRC_MAC,macaddr DST_MAC,uint32 MPLS_LABEL_1" +
	",time TIME_RECEIVED"

// NfdumpOptions are nfreader's per-record settings.
type NfdumpOptions struct {
	// LinkBitField is written to LINK_BIT_FIELD (nfreader -l, default 1).
	LinkBitField uint64
	// DirFromInput sets DIR_BIT_FIELD = 1<<input interface, 0 when the
	// input is 0 or does not fit in 8 bits (nfreader -D); otherwise 0.
	DirFromInput bool
}

// DefaultNfdumpOptions returns nfreader's defaults.
func DefaultNfdumpOptions() NfdumpOptions { return NfdumpOptions{LinkBitField: 1} }

// nfField fills one UniRec field from an nfdump record.
type nfField struct {
	typ unirec.Type
	set func(u unirec.Record, id unirec.FieldID, r *nfdump.Record, e *nfdump.Exporter, o *NfdumpOptions)
}

// nfFields is the mapping: UniRec field name -> type and source.
var nfFields = map[string]nfField{
	"SRC_IP": {unirec.IPAddr, func(u unirec.Record, id unirec.FieldID, r *nfdump.Record, _ *nfdump.Exporter, _ *NfdumpOptions) {
		u.SetIP(id, nfIP(r.SrcIP))
	}},
	"DST_IP": {unirec.IPAddr, func(u unirec.Record, id unirec.FieldID, r *nfdump.Record, _ *nfdump.Exporter, _ *NfdumpOptions) {
		u.SetIP(id, nfIP(r.DstIP))
	}},
	"BYTES": {unirec.Uint64, func(u unirec.Record, id unirec.FieldID, r *nfdump.Record, _ *nfdump.Exporter, _ *NfdumpOptions) {
		u.SetUint64(id, r.Bytes)
	}},
	"PACKETS": {unirec.Uint32, func(u unirec.Record, id unirec.FieldID, r *nfdump.Record, _ *nfdump.Exporter, _ *NfdumpOptions) {
		u.SetUint32(id, uint32(r.Packets))
	}},
	"BYTES_REV": {unirec.Uint64, func(u unirec.Record, id unirec.FieldID, r *nfdump.Record, _ *nfdump.Exporter, _ *NfdumpOptions) {
		u.SetUint64(id, r.OutBytes)
	}},
	"PACKETS_REV": {unirec.Uint32, func(u unirec.Record, id unirec.FieldID, r *nfdump.Record, _ *nfdump.Exporter, _ *NfdumpOptions) {
		u.SetUint32(id, uint32(r.OutPackets))
	}},
	"FLOWS": {unirec.Uint64, func(u unirec.Record, id unirec.FieldID, r *nfdump.Record, _ *nfdump.Exporter, _ *NfdumpOptions) {
		u.SetUint64(id, r.Flows)
	}},
	"LINK_BIT_FIELD": {unirec.Uint64, func(u unirec.Record, id unirec.FieldID, _ *nfdump.Record, _ *nfdump.Exporter, o *NfdumpOptions) {
		u.SetUint64(id, o.LinkBitField)
	}},
	"DIR_BIT_FIELD": {unirec.Uint8, func(u unirec.Record, id unirec.FieldID, r *nfdump.Record, _ *nfdump.Exporter, o *NfdumpOptions) {
		var v uint8
		if o.DirFromInput && r.Input > 0 && r.Input < 8 {
			v = 1 << r.Input
		}
		u.SetUint8(id, v)
	}},
	"TIME_FIRST": {unirec.TimeT, func(u unirec.Record, id unirec.FieldID, r *nfdump.Record, _ *nfdump.Exporter, _ *NfdumpOptions) {
		u.SetTime(id, msTime(r.FirstMs))
	}},
	"TIME_LAST": {unirec.TimeT, func(u unirec.Record, id unirec.FieldID, r *nfdump.Record, _ *nfdump.Exporter, _ *NfdumpOptions) {
		u.SetTime(id, msTime(r.LastMs))
	}},
	"TIME_RECEIVED": {unirec.TimeT, func(u unirec.Record, id unirec.FieldID, r *nfdump.Record, _ *nfdump.Exporter, _ *NfdumpOptions) {
		u.SetTime(id, msTime(r.ReceivedMs))
	}},
	"SRC_PORT": {unirec.Uint16, func(u unirec.Record, id unirec.FieldID, r *nfdump.Record, _ *nfdump.Exporter, _ *NfdumpOptions) {
		u.SetUint16(id, r.SrcPort)
	}},
	"DST_PORT": {unirec.Uint16, func(u unirec.Record, id unirec.FieldID, r *nfdump.Record, _ *nfdump.Exporter, _ *NfdumpOptions) {
		u.SetUint16(id, r.DstPort)
	}},
	"PROTOCOL": {unirec.Uint8, func(u unirec.Record, id unirec.FieldID, r *nfdump.Record, _ *nfdump.Exporter, _ *NfdumpOptions) {
		u.SetUint8(id, r.Proto)
	}},
	"TCP_FLAGS": {unirec.Uint8, func(u unirec.Record, id unirec.FieldID, r *nfdump.Record, _ *nfdump.Exporter, _ *NfdumpOptions) {
		u.SetUint8(id, r.TCPFlags)
	}},
	"TCP_FLAGS_REV": {unirec.Uint8, func(u unirec.Record, id unirec.FieldID, r *nfdump.Record, _ *nfdump.Exporter, _ *NfdumpOptions) {
		u.SetUint8(id, r.RevTCPFlags)
	}},
	// nfreader declares TOS and TTL but never fills them: they stay 0.
	"TOS": {unirec.Uint8, func(unirec.Record, unirec.FieldID, *nfdump.Record, *nfdump.Exporter, *NfdumpOptions) {}},
	"TTL": {unirec.Uint8, func(unirec.Record, unirec.FieldID, *nfdump.Record, *nfdump.Exporter, *NfdumpOptions) {}},
	"DST_TOS": {unirec.Uint8, func(u unirec.Record, id unirec.FieldID, r *nfdump.Record, _ *nfdump.Exporter, _ *NfdumpOptions) {
		u.SetUint8(id, r.DstTos)
	}},
	"FWD_STATUS": {unirec.Uint8, func(u unirec.Record, id unirec.FieldID, r *nfdump.Record, _ *nfdump.Exporter, _ *NfdumpOptions) {
		u.SetUint8(id, r.FwdStatus)
	}},
	"FLOW_END_REASON": {unirec.Uint8, func(u unirec.Record, id unirec.FieldID, r *nfdump.Record, _ *nfdump.Exporter, _ *NfdumpOptions) {
		u.SetUint8(id, r.EndReason)
	}},
	"BIFLOW_DIRECTION": {unirec.Uint8, func(u unirec.Record, id unirec.FieldID, r *nfdump.Record, _ *nfdump.Exporter, _ *NfdumpOptions) {
		u.SetUint8(id, r.BiFlowDir)
	}},
	"FLOW_DIRECTION": {unirec.Uint8, func(u unirec.Record, id unirec.FieldID, r *nfdump.Record, _ *nfdump.Exporter, _ *NfdumpOptions) {
		u.SetUint8(id, r.Direction)
	}},
	"SRC_AS": {unirec.Uint32, func(u unirec.Record, id unirec.FieldID, r *nfdump.Record, _ *nfdump.Exporter, _ *NfdumpOptions) {
		u.SetUint32(id, r.SrcAS)
	}},
	"DST_AS": {unirec.Uint32, func(u unirec.Record, id unirec.FieldID, r *nfdump.Record, _ *nfdump.Exporter, _ *NfdumpOptions) {
		u.SetUint32(id, r.DstAS)
	}},
	"NEXT_AS": {unirec.Uint32, func(u unirec.Record, id unirec.FieldID, r *nfdump.Record, _ *nfdump.Exporter, _ *NfdumpOptions) {
		u.SetUint32(id, r.NextAS)
	}},
	"PREV_AS": {unirec.Uint32, func(u unirec.Record, id unirec.FieldID, r *nfdump.Record, _ *nfdump.Exporter, _ *NfdumpOptions) {
		u.SetUint32(id, r.PrevAS)
	}},
	"INPUT_INTERFACE": {unirec.Uint32, func(u unirec.Record, id unirec.FieldID, r *nfdump.Record, _ *nfdump.Exporter, _ *NfdumpOptions) {
		u.SetUint32(id, r.Input)
	}},
	"OUTPUT_INTERFACE": {unirec.Uint32, func(u unirec.Record, id unirec.FieldID, r *nfdump.Record, _ *nfdump.Exporter, _ *NfdumpOptions) {
		u.SetUint32(id, r.Output)
	}},
	"SRC_MASK": {unirec.Uint8, func(u unirec.Record, id unirec.FieldID, r *nfdump.Record, _ *nfdump.Exporter, _ *NfdumpOptions) {
		u.SetUint8(id, r.SrcMask)
	}},
	"DST_MASK": {unirec.Uint8, func(u unirec.Record, id unirec.FieldID, r *nfdump.Record, _ *nfdump.Exporter, _ *NfdumpOptions) {
		u.SetUint8(id, r.DstMask)
	}},
	"NEXT_HOP": {unirec.IPAddr, func(u unirec.Record, id unirec.FieldID, r *nfdump.Record, _ *nfdump.Exporter, _ *NfdumpOptions) {
		u.SetIP(id, nfIP(r.NextHop))
	}},
	"BGP_NEXT_HOP": {unirec.IPAddr, func(u unirec.Record, id unirec.FieldID, r *nfdump.Record, _ *nfdump.Exporter, _ *NfdumpOptions) {
		u.SetIP(id, nfIP(r.BgpNextHop))
	}},
	"EXPORTER_IP": {unirec.IPAddr, func(u unirec.Record, id unirec.FieldID, r *nfdump.Record, e *nfdump.Exporter, _ *NfdumpOptions) {
		a := r.RouterIP
		if !a.IsValid() && e != nil {
			a = e.IP // records without element 12/13: the exporter record's address
		}
		u.SetIP(id, nfIP(a))
	}},
	"ODID": {unirec.Uint32, func(u unirec.Record, id unirec.FieldID, _ *nfdump.Record, e *nfdump.Exporter, _ *NfdumpOptions) {
		var v uint32
		if e != nil {
			v = e.ID
		}
		u.SetUint32(id, v)
	}},
	"EXPORTER_SYSID": {unirec.Uint16, func(u unirec.Record, id unirec.FieldID, r *nfdump.Record, _ *nfdump.Exporter, _ *NfdumpOptions) {
		u.SetUint16(id, r.ExporterID)
	}},
	"ENGINE_TYPE": {unirec.Uint8, func(u unirec.Record, id unirec.FieldID, r *nfdump.Record, _ *nfdump.Exporter, _ *NfdumpOptions) {
		u.SetUint8(id, r.EngineType)
	}},
	"ENGINE_ID": {unirec.Uint8, func(u unirec.Record, id unirec.FieldID, r *nfdump.Record, _ *nfdump.Exporter, _ *NfdumpOptions) {
		u.SetUint8(id, r.EngineID)
	}},
	"NF_VERSION": {unirec.Uint8, func(u unirec.Record, id unirec.FieldID, r *nfdump.Record, _ *nfdump.Exporter, _ *NfdumpOptions) {
		u.SetUint8(id, r.NfVersion)
	}},
	"SAMPLING_INTERVAL": {unirec.Uint32, func(u unirec.Record, id unirec.FieldID, r *nfdump.Record, e *nfdump.Exporter, _ *NfdumpOptions) {
		// Informational: nfcapd already scaled the counters of sampled records.
		v := uint32(1)
		switch {
		case r.SamplerInterval > 0:
			v = r.SamplerInterval
		case r.Sampled() && e != nil && e.Sampler != nil:
			v = e.Sampler.Rate()
		}
		u.SetUint32(id, v)
	}},
	"SRC_VLAN": {unirec.Uint16, func(u unirec.Record, id unirec.FieldID, r *nfdump.Record, _ *nfdump.Exporter, _ *NfdumpOptions) {
		u.SetUint16(id, uint16(r.SrcVlan))
	}},
	"DST_VLAN": {unirec.Uint16, func(u unirec.Record, id unirec.FieldID, r *nfdump.Record, _ *nfdump.Exporter, _ *NfdumpOptions) {
		u.SetUint16(id, uint16(r.DstVlan))
	}},
	"SRC_MAC": {unirec.MACAddr, func(u unirec.Record, id unirec.FieldID, r *nfdump.Record, _ *nfdump.Exporter, _ *NfdumpOptions) {
		u.SetMAC(id, unirec.MAC(r.InSrcMAC))
	}},
	"DST_MAC": {unirec.MACAddr, func(u unirec.Record, id unirec.FieldID, r *nfdump.Record, _ *nfdump.Exporter, _ *NfdumpOptions) {
		u.SetMAC(id, unirec.MAC(r.InDstMAC))
	}},
	"MPLS_LABEL_1": {unirec.Uint32, func(u unirec.Record, id unirec.FieldID, r *nfdump.Record, _ *nfdump.Exporter, _ *NfdumpOptions) {
		u.SetUint32(id, r.MPLS[0])
	}},
}

// nfIP converts an nfdump address to UniRec. Like nfreader, an
// IPv4-compatible IPv6 address (::a.b.c.d, glibc IN6_IS_ADDR_V4COMPAT: upper
// 96 bits zero and the last 32 bits above 1) becomes IPv4; an absent address
// is the all-zero UniRec address.
func nfIP(a netip.Addr) unirec.IP {
	if !a.IsValid() {
		return unirec.IP{}
	}
	if a.Is4() {
		return unirec.IPv4(a.As4())
	}
	b := a.As16()
	compat := true
	for _, x := range b[:12] {
		if x != 0 {
			compat = false
			break
		}
	}
	if compat && (b[12]|b[13]|b[14] != 0 || b[15] > 1) {
		return unirec.IPv4([4]byte{b[12], b[13], b[14], b[15]})
	}
	return unirec.IPv6(b)
}

// msTime converts Unix milliseconds to UniRec time (millisecond precision,
// as nfreader sends it).
func msTime(ms int64) unirec.Time {
	if ms < 0 {
		return 0
	}
	return unirec.TimeFromUnixMilli(uint64(ms))
}

type boundNfField struct {
	id  unirec.FieldID
	set func(u unirec.Record, id unirec.FieldID, r *nfdump.Record, e *nfdump.Exporter, o *NfdumpOptions)
}

// NfdumpConverter fills records of one UniRec template from nfdump records.
// Field IDs are resolved once, in NewNfdumpConverter.
type NfdumpConverter struct {
	t        *unirec.Template
	opts     NfdumpOptions
	fields   []boundNfField
	unmapped []string
}

// NewNfdumpConverter prepares the conversion into template t. Fields of t
// that nfdump records cannot fill are left zero (see Unmapped); a known
// field declared with another type is an error naming the field.
func NewNfdumpConverter(t *unirec.Template, opts NfdumpOptions) (*NfdumpConverter, error) {
	c := &NfdumpConverter{t: t, opts: opts}
	for i, f := range t.Fields() {
		m, ok := nfFields[f.Name]
		if !ok {
			c.unmapped = append(c.unmapped, f.Name)
			continue
		}
		if f.Type != m.typ {
			return nil, fmt.Errorf("converters: nfdump: field %s is %v in the template, nfdump fills it as %v", f.Name, f.Type, m.typ)
		}
		c.fields = append(c.fields, boundNfField{id: unirec.FieldID(i), set: m.set})
	}
	return c, nil
}

// Template returns the output template.
func (c *NfdumpConverter) Template() *unirec.Template { return c.t }

// Unmapped lists the template fields the converter leaves zero.
func (c *NfdumpConverter) Unmapped() []string { return c.unmapped }

// Convert resets dst (a record of the converter's template) and fills it
// from r; e is the record's exporter (Iterator.Exporter), or nil.
func (c *NfdumpConverter) Convert(dst *unirec.Record, r *nfdump.Record, e *nfdump.Exporter) {
	*dst = dst.Reset()
	for _, f := range c.fields {
		f.set(*dst, f.id, r, e, &c.opts)
	}
}
