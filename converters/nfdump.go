package converters

import (
	"encoding/binary"
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

// nfOp names the source of one UniRec field; Convert switches on it.
// A compiled plan of (op, offset) pairs is much cheaper per record than a
// closure per field, and writing at precomputed offsets skips the
// template lookups of the generic setters.
type nfOp uint8

const (
	opSrcIP nfOp = iota
	opDstIP
	opBytes
	opPackets
	opBytesRev
	opPacketsRev
	opFlows
	opLinkBitField
	opDirBitField
	opTimeFirst
	opTimeLast
	opTimeReceived
	opSrcPort
	opDstPort
	opProtocol
	opTCPFlags
	opTCPFlagsRev
	opZero8 // nfreader declares TOS and TTL but never fills them: they stay 0.
	opDstTos
	opFwdStatus
	opEndReason
	opBiflowDir
	opDirection
	opSrcAS
	opDstAS
	opNextAS
	opPrevAS
	opInput
	opOutput
	opSrcMask
	opDstMask
	opNextHop
	opBgpNextHop
	opExporterIP // needs the exporter
	opODID       // needs the exporter
	opSysID
	opEngineType
	opEngineID
	opNfVersion
	opSamplingInterval // needs the exporter
	opSrcVlan
	opDstVlan
	opSrcMAC
	opDstMAC
	opMPLS1
)

// nfField is the UniRec type a mapped field must have and its source.
type nfField struct {
	typ unirec.Type
	op  nfOp
}

// nfFields is the mapping: UniRec field name -> type and source.
var nfFields = map[string]nfField{
	"SRC_IP":            {unirec.IPAddr, opSrcIP},
	"DST_IP":            {unirec.IPAddr, opDstIP},
	"BYTES":             {unirec.Uint64, opBytes},
	"PACKETS":           {unirec.Uint32, opPackets},
	"BYTES_REV":         {unirec.Uint64, opBytesRev},
	"PACKETS_REV":       {unirec.Uint32, opPacketsRev},
	"FLOWS":             {unirec.Uint64, opFlows},
	"LINK_BIT_FIELD":    {unirec.Uint64, opLinkBitField},
	"DIR_BIT_FIELD":     {unirec.Uint8, opDirBitField},
	"TIME_FIRST":        {unirec.TimeT, opTimeFirst},
	"TIME_LAST":         {unirec.TimeT, opTimeLast},
	"TIME_RECEIVED":     {unirec.TimeT, opTimeReceived},
	"SRC_PORT":          {unirec.Uint16, opSrcPort},
	"DST_PORT":          {unirec.Uint16, opDstPort},
	"PROTOCOL":          {unirec.Uint8, opProtocol},
	"TCP_FLAGS":         {unirec.Uint8, opTCPFlags},
	"TCP_FLAGS_REV":     {unirec.Uint8, opTCPFlagsRev},
	"TOS":               {unirec.Uint8, opZero8},
	"TTL":               {unirec.Uint8, opZero8},
	"DST_TOS":           {unirec.Uint8, opDstTos},
	"FWD_STATUS":        {unirec.Uint8, opFwdStatus},
	"FLOW_END_REASON":   {unirec.Uint8, opEndReason},
	"BIFLOW_DIRECTION":  {unirec.Uint8, opBiflowDir},
	"FLOW_DIRECTION":    {unirec.Uint8, opDirection},
	"SRC_AS":            {unirec.Uint32, opSrcAS},
	"DST_AS":            {unirec.Uint32, opDstAS},
	"NEXT_AS":           {unirec.Uint32, opNextAS},
	"PREV_AS":           {unirec.Uint32, opPrevAS},
	"INPUT_INTERFACE":   {unirec.Uint32, opInput},
	"OUTPUT_INTERFACE":  {unirec.Uint32, opOutput},
	"SRC_MASK":          {unirec.Uint8, opSrcMask},
	"DST_MASK":          {unirec.Uint8, opDstMask},
	"NEXT_HOP":          {unirec.IPAddr, opNextHop},
	"BGP_NEXT_HOP":      {unirec.IPAddr, opBgpNextHop},
	"EXPORTER_IP":       {unirec.IPAddr, opExporterIP},
	"ODID":              {unirec.Uint32, opODID},
	"EXPORTER_SYSID":    {unirec.Uint16, opSysID},
	"ENGINE_TYPE":       {unirec.Uint8, opEngineType},
	"ENGINE_ID":         {unirec.Uint8, opEngineID},
	"NF_VERSION":        {unirec.Uint8, opNfVersion},
	"SAMPLING_INTERVAL": {unirec.Uint32, opSamplingInterval},
	"SRC_VLAN":          {unirec.Uint16, opSrcVlan},
	"DST_VLAN":          {unirec.Uint16, opDstVlan},
	"SRC_MAC":           {unirec.MACAddr, opSrcMAC},
	"DST_MAC":           {unirec.MACAddr, opDstMAC},
	"MPLS_LABEL_1":      {unirec.Uint32, opMPLS1},
}

// msTime converts Unix milliseconds to UniRec time (millisecond precision,
// as nfreader sends it).
//
// It is unirec.TimeFromUnixMilli with the milliseconds' fraction taken in
// one multiplication: TimeFromSecNsec computes (msec*10^6*0x44B82FA0A)>>32
// in 64-bit arithmetic, and msec*msecToFrac is the same product modulo
// 2^64, so the result is bit-identical (TestMsTimeMatchesUnirec).
func msTime(ms int64) unirec.Time {
	if ms < 0 {
		return 0
	}
	u := uint64(ms)
	sec := u / 1000
	return unirec.Time(uint64(uint32(sec))<<32 | ((u-sec*1000)*msecToFrac)>>32)
}

// msecToFrac is 10^6 times unirec's nanosecond-to-fraction factor
// (ur_time.h's 0x44B82FA0A).
const msecToFrac = 1e6 * 0x44B82FA0A

// boundNfField is one step of a compiled plan: where to write what.
type boundNfField struct {
	op  nfOp
	off int
}

// NfdumpConverter fills records of one UniRec template from nfdump records.
// The template is compiled once, in NewNfdumpConverter, into a plan of
// (source, byte offset) steps.
type NfdumpConverter struct {
	t         *unirec.Template
	opts      NfdumpOptions
	fields    []boundNfField
	unmapped  []string
	exporter  bool // some field needs the exporter record
	staticLen int
	basic     bool // t has nfreader's template layout (isBasicLayout)
}

// NewNfdumpConverter prepares the conversion into template t. Fields of t
// that nfdump records cannot fill are left zero (see Unmapped); a known
// field declared with another type is an error naming the field.
func NewNfdumpConverter(t *unirec.Template, opts NfdumpOptions) (*NfdumpConverter, error) {
	c := &NfdumpConverter{t: t, opts: opts, staticLen: t.StaticSize(), basic: isBasicLayout(t)}
	for _, f := range t.Fields() {
		m, ok := nfFields[f.Name]
		if !ok {
			c.unmapped = append(c.unmapped, f.Name)
			continue
		}
		if f.Type != m.typ {
			return nil, fmt.Errorf("converters: nfdump: field %s is %v in the template, nfdump fills it as %v", f.Name, f.Type, m.typ)
		}
		c.fields = append(c.fields, boundNfField{op: m.op, off: f.Offset})
		switch m.op {
		case opExporterIP, opODID, opSamplingInterval:
			c.exporter = true
		}
	}
	return c, nil
}

// Template returns the output template.
func (c *NfdumpConverter) Template() *unirec.Template { return c.t }

// Unmapped lists the template fields the converter leaves zero.
func (c *NfdumpConverter) Unmapped() []string { return c.unmapped }

// NeedsExporter reports whether Convert reads the exporter record (for
// EXPORTER_IP, ODID or SAMPLING_INTERVAL); when not, callers may pass nil
// and skip looking it up.
func (c *NfdumpConverter) NeedsExporter() bool { return c.exporter }

// Convert resets dst (a record of the converter's template) and fills it
// from r; e is the record's exporter (Iterator.Exporter), or nil.
//
// The common case, nfreader's template into a record of its static size,
// is done here without a further call.
func (c *NfdumpConverter) Convert(dst *unirec.Record, r *nfdump.Record, e *nfdump.Exporter) {
	if !c.basic || len(dst.Data) != basicSize {
		c.convertPlan(dst, r, e)
		return
	}
	d := (*[basicSize]byte)(dst.Data)
	le := binary.LittleEndian
	if r.DstIP.Is4() && r.SrcIP.Is4() {
		// putIP's IPv4 case for both, written here: putIP is too big to
		// inline, and most flows are IPv4.
		da, sa := r.DstIP.As4(), r.SrcIP.As4()
		le.PutUint64(d[bDstIP:bDstIP+8], 0)
		copy(d[bDstIP+8:bDstIP+12], da[:])
		le.PutUint32(d[bDstIP+12:bDstIP+16], 0xffffffff)
		le.PutUint64(d[bSrcIP:bSrcIP+8], 0)
		copy(d[bSrcIP+8:bSrcIP+12], sa[:])
		le.PutUint32(d[bSrcIP+12:bSrcIP+16], 0xffffffff)
	} else {
		putIP(d[bDstIP:bDstIP+16], r.DstIP)
		putIP(d[bSrcIP:bSrcIP+16], r.SrcIP)
	}
	le.PutUint64(d[bBytes:bBytes+8], r.Bytes)
	le.PutUint64(d[bLink:bLink+8], c.opts.LinkBitField)
	le.PutUint64(d[bFirst:bFirst+8], uint64(msTime(r.FirstMs)))
	le.PutUint64(d[bLast:bLast+8], uint64(msTime(r.LastMs)))
	le.PutUint32(d[bPackets:bPackets+4], uint32(r.Packets))
	le.PutUint16(d[bDstPort:bDstPort+2], r.DstPort)
	le.PutUint16(d[bSrcPort:bSrcPort+2], r.SrcPort)
	var dir uint8
	if c.opts.DirFromInput && r.Input > 0 && r.Input < 8 {
		dir = 1 << r.Input
	}
	d[bDir] = dir
	d[bProto] = r.Proto
	d[bFlags] = r.TCPFlags
	d[bTos] = 0
	d[bTTL] = 0
}

// convertPlan is Convert for any template: it resets dst when needed and
// runs the compiled plan.
func (c *NfdumpConverter) convertPlan(dst *unirec.Record, r *nfdump.Record, e *nfdump.Exporter) {
	if len(c.unmapped) > 0 || len(dst.Data) != c.staticLen {
		*dst = dst.Reset() // every mapped field is written below
	}
	if c.basic {
		c.Convert(dst, r, e) // now of the static size
		return
	}
	d := dst.Data[:c.staticLen]
	le := binary.LittleEndian
	for _, f := range c.fields {
		b := d[f.off:]
		switch f.op {
		case opSrcIP:
			putIP(b, r.SrcIP)
		case opDstIP:
			putIP(b, r.DstIP)
		case opBytes:
			le.PutUint64(b, r.Bytes)
		case opPackets:
			le.PutUint32(b, uint32(r.Packets))
		case opBytesRev:
			le.PutUint64(b, r.OutBytes)
		case opPacketsRev:
			le.PutUint32(b, uint32(r.OutPackets))
		case opFlows:
			le.PutUint64(b, r.Flows)
		case opLinkBitField:
			le.PutUint64(b, c.opts.LinkBitField)
		case opDirBitField:
			var v uint8
			if c.opts.DirFromInput && r.Input > 0 && r.Input < 8 {
				v = 1 << r.Input
			}
			b[0] = v
		case opTimeFirst:
			le.PutUint64(b, uint64(msTime(r.FirstMs)))
		case opTimeLast:
			le.PutUint64(b, uint64(msTime(r.LastMs)))
		case opTimeReceived:
			le.PutUint64(b, uint64(msTime(r.ReceivedMs)))
		case opSrcPort:
			le.PutUint16(b, r.SrcPort)
		case opDstPort:
			le.PutUint16(b, r.DstPort)
		case opProtocol:
			b[0] = r.Proto
		case opTCPFlags:
			b[0] = r.TCPFlags
		case opTCPFlagsRev:
			b[0] = r.RevTCPFlags
		case opZero8:
			b[0] = 0
		case opDstTos:
			b[0] = r.DstTos
		case opFwdStatus:
			b[0] = r.FwdStatus
		case opEndReason:
			b[0] = r.EndReason
		case opBiflowDir:
			b[0] = r.BiFlowDir
		case opDirection:
			b[0] = r.Direction
		case opSrcAS:
			le.PutUint32(b, r.SrcAS)
		case opDstAS:
			le.PutUint32(b, r.DstAS)
		case opNextAS:
			le.PutUint32(b, r.NextAS)
		case opPrevAS:
			le.PutUint32(b, r.PrevAS)
		case opInput:
			le.PutUint32(b, r.Input)
		case opOutput:
			le.PutUint32(b, r.Output)
		case opSrcMask:
			b[0] = r.SrcMask
		case opDstMask:
			b[0] = r.DstMask
		case opNextHop:
			putIP(b, r.NextHop)
		case opBgpNextHop:
			putIP(b, r.BgpNextHop)
		case opExporterIP:
			a := r.RouterIP
			if !a.IsValid() && e != nil {
				a = e.IP // records without element 12/13: the exporter record's address
			}
			putIP(b, a)
		case opODID:
			var v uint32
			if e != nil {
				v = e.ID
			}
			le.PutUint32(b, v)
		case opSysID:
			le.PutUint16(b, r.ExporterID)
		case opEngineType:
			b[0] = r.EngineType
		case opEngineID:
			b[0] = r.EngineID
		case opNfVersion:
			b[0] = r.NfVersion
		case opSamplingInterval:
			// Informational: nfcapd already scaled the counters of sampled records.
			v := uint32(1)
			switch {
			case r.SamplerInterval > 0:
				v = r.SamplerInterval
			case r.Sampled() && e != nil && e.Sampler != nil:
				v = e.Sampler.Rate()
			}
			le.PutUint32(b, v)
		case opSrcVlan:
			le.PutUint16(b, uint16(r.SrcVlan))
		case opDstVlan:
			le.PutUint16(b, uint16(r.DstVlan))
		case opSrcMAC:
			copy(b[:6], r.InSrcMAC[:])
		case opDstMAC:
			copy(b[:6], r.InDstMAC[:])
		case opMPLS1:
			le.PutUint32(b, r.MPLS[0])
		}
	}
}

// putIP writes an nfdump address as a UniRec ipaddr (16 bytes). Like
// nfreader, an IPv4-compatible IPv6 address (::a.b.c.d, glibc
// IN6_IS_ADDR_V4COMPAT: upper 96 bits zero and the last 32 bits above 1)
// becomes IPv4; an absent address is the all-zero UniRec address.
// The IPv4 case is small; the others take putIP6.
func putIP(b []byte, a netip.Addr) {
	d := (*[16]byte)(b)
	if a.Is4() {
		v := a.As4()
		binary.LittleEndian.PutUint64(d[0:8], 0)
		copy(d[8:12], v[:])
		binary.LittleEndian.PutUint32(d[12:16], 0xffffffff)
		return
	}
	putIP6(d, a)
}

// putIP6 is putIP for an IPv6 or absent address.
func putIP6(d *[16]byte, a netip.Addr) {
	if !a.IsValid() {
		*d = [16]byte{}
		return
	}
	*d = a.As16()
	be := binary.BigEndian
	if be.Uint64(d[0:8]) == 0 && be.Uint32(d[8:12]) == 0 && be.Uint32(d[12:16]) > 1 {
		// IPv4-compatible: UniRec's IPv4 form.
		copy(d[8:12], d[12:16])
		binary.LittleEndian.PutUint32(d[12:16], 0xffffffff)
	}
}

// The layout of nfreader's 14-field template (NfreaderTemplate) in UniRec's
// canonical field order. Convert fills it in straight-line code with
// constant offsets, no per-field dispatch and no bounds checks: it is the
// template nfdump replay uses by default. isBasicLayout checks that a
// template has exactly this layout.
const (
	bDstIP    = 0
	bSrcIP    = 16
	bBytes    = 32
	bLink     = 40
	bFirst    = 48
	bLast     = 56
	bPackets  = 64
	bDstPort  = 68
	bSrcPort  = 70
	bDir      = 72
	bProto    = 73
	bFlags    = 74
	bTos      = 75
	bTTL      = 76
	basicSize = 77
)

// isBasicLayout reports whether t has exactly the nfreader fields at the
// offsets above.
func isBasicLayout(t *unirec.Template) bool {
	if t.NumFields() != 14 || t.StaticSize() != basicSize {
		return false
	}
	for _, f := range []struct {
		name string
		typ  unirec.Type
		off  int
	}{
		{"DST_IP", unirec.IPAddr, bDstIP}, {"SRC_IP", unirec.IPAddr, bSrcIP},
		{"BYTES", unirec.Uint64, bBytes}, {"LINK_BIT_FIELD", unirec.Uint64, bLink},
		{"TIME_FIRST", unirec.TimeT, bFirst}, {"TIME_LAST", unirec.TimeT, bLast},
		{"PACKETS", unirec.Uint32, bPackets}, {"DST_PORT", unirec.Uint16, bDstPort},
		{"SRC_PORT", unirec.Uint16, bSrcPort}, {"DIR_BIT_FIELD", unirec.Uint8, bDir},
		{"PROTOCOL", unirec.Uint8, bProto}, {"TCP_FLAGS", unirec.Uint8, bFlags},
		{"TOS", unirec.Uint8, bTos}, {"TTL", unirec.Uint8, bTTL},
	} {
		id, ok := t.Lookup(f.name)
		if !ok || t.Field(id).Type != f.typ || t.Field(id).Offset != f.off {
			return false
		}
	}
	return true
}
