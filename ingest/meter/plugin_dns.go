package meter

import (
	"encoding/binary"
	"strconv"

	"github.com/flowgate/flowgate/unirec"
)

// dnsPlugin follows ipfixprobe's dns plugin (spec/ipfixprobe-plugins.md
// §3) for packets from or to port 53, UDP or TCP (one message per segment,
// its 2-byte length prefix equal to the rest of the payload):
//
//   - Every DNS message that parses ends its flow: the flow gets a DNS
//     record and is exported at once, with the packets before it (a UDP
//     query and its response are two one-packet flows, the response's
//     source being the server). A packet that does not parse leaves the flow
//     as it is.
//   - DNS_ID, DNS_ANSWERS (the header's ANCOUNT) and DNS_RCODE come from the
//     header; DNS_NAME (at most 127 bytes), DNS_QTYPE and DNS_CLASS from the
//     first question; DNS_RR_TTL, DNS_RDATA (the first answer's data as
//     text, at most 159 bytes) and DNS_RLENGTH (the length of that text) from
//     the first answer; DNS_PSIZE and DNS_DO from an OPT record.
//   - A question or record that would run past the message ends the parse
//     (what was read stays); a bad question name or a bad name in the first
//     answer's text makes the packet fail. Record owner names are skipped,
//     not decoded (an SRV answer's owner is decoded for its text); DNS_NAME
//     ends at a NUL byte, as ipfixprobe exports it with strlen.
type dnsPlugin struct {
	noHooks
	st   slotState[dnsState]
	ids  [11]unirec.FieldID
	name []byte // decoding scratch
	text []byte
}

const (
	dnsMaxName  = 127
	dnsMaxRData = 159
	dnsMaxSteps = 128
	dnsPort     = 53
)

type dnsState struct {
	attached                                  bool
	id, answers, class, qtype, psize, rlength uint16
	rcode, do                                 uint8
	ttl                                       uint32
	name, rdata                               text
}

func (s *dnsState) reset() {
	n, r := s.name, s.rdata
	*s = dnsState{name: n, rdata: r}
	s.name.reset()
	s.rdata.reset()
}

var dnsFieldNames = []string{"DNS_ID", "DNS_ANSWERS", "DNS_CLASS", "DNS_QTYPE", "DNS_PSIZE", "DNS_RLENGTH",
	"DNS_RCODE", "DNS_DO", "DNS_RR_TTL", "DNS_NAME", "DNS_RDATA"}

func (*dnsPlugin) Name() string { return "dns" }
func (*dnsPlugin) Spec() string {
	return "uint16 DNS_ID,uint16 DNS_ANSWERS,uint16 DNS_CLASS,uint16 DNS_QTYPE,uint16 DNS_PSIZE," +
		"uint16 DNS_RLENGTH,uint8 DNS_RCODE,uint8 DNS_DO,uint32 DNS_RR_TTL,string DNS_NAME,bytes DNS_RDATA"
}
func (d *dnsPlugin) Init(n int) { d.st.init(n) }

func (d *dnsPlugin) Bind(t *unirec.Template) error {
	return lookup(t, "dns", dnsFieldNames, d.ids[:])
}

func isDNS(p *Packet) bool {
	return (p.Proto == protoUDP || p.Proto == protoTCP) && (p.SrcPort == dnsPort || p.DstPort == dnsPort)
}

func (d *dnsPlugin) Create(f *Flow, p *Packet) Action {
	if !isDNS(p) {
		return Continue
	}
	s := d.st.fresh(f.Slot)
	s.reset()
	return d.packet(s, p)
}

func (d *dnsPlugin) PostUpdate(f *Flow, p *Packet, _ bool) Action {
	if !isDNS(p) {
		return Continue
	}
	s := d.st.get(f.Slot)
	if s == nil {
		s = d.st.fresh(f.Slot)
		s.reset()
	}
	if !s.attached {
		s.reset()
	}
	return d.packet(s, p)
}

// packet parses a message into s; a parsed message flushes the flow.
func (d *dnsPlugin) packet(s *dnsState, p *Packet) Action {
	if d.parse(s, p.Payload, p.Proto == protoTCP) {
		s.attached = true
		return Flush
	}
	if s.attached {
		return Flush
	}
	s.reset()
	return Continue
}

// Has reports whether the flow carries a DNS record.
func (d *dnsPlugin) Has(f *Flow) bool {
	s := d.st.get(f.Slot)
	return s != nil && s.attached
}

// parse reads one message into s and reports success.
func (d *dnsPlugin) parse(s *dnsState, msg []byte, tcp bool) bool {
	if tcp {
		if len(msg) < 2 || int(binary.BigEndian.Uint16(msg)) != len(msg)-2 {
			return false
		}
		msg = msg[2:]
	}
	if len(msg) < 12 {
		return false
	}
	s.id = binary.BigEndian.Uint16(msg[0:2])
	s.answers = binary.BigEndian.Uint16(msg[6:8])
	s.rcode = msg[3] & 0x0f
	qd := int(binary.BigEndian.Uint16(msg[4:6]))
	an := int(s.answers)
	ns := int(binary.BigEndian.Uint16(msg[8:10]))
	ar := int(binary.BigEndian.Uint16(msg[10:12]))
	off := 12
	for i := 0; i < qd; i++ {
		name, next, ok := dnsName(msg, off, d.name[:0])
		d.name = name
		if !ok {
			return false
		}
		if next+4 > len(msg) {
			return true
		}
		if i == 0 {
			s.name.set(dnsMaxName, cString(name)) // exported with strlen
			s.qtype = binary.BigEndian.Uint16(msg[next:])
			s.class = binary.BigEndian.Uint16(msg[next+2:])
		}
		off = next + 4
	}
	for i := 0; i < an+ns+ar; i++ {
		ownerAt := off
		next, ok := dnsSkipName(msg, off)
		if !ok {
			return false
		}
		if next+10 > len(msg) {
			return true
		}
		typ := binary.BigEndian.Uint16(msg[next:])
		class := binary.BigEndian.Uint16(msg[next+2:])
		ttl := binary.BigEndian.Uint32(msg[next+4:])
		rdlen := int(binary.BigEndian.Uint16(msg[next+8:]))
		rd := next + 10
		if rd+rdlen > len(msg) {
			return true
		}
		if i == 0 && an > 0 {
			var owner []byte
			if typ == 33 { // SRV text starts with the owner: decoded, errors fail
				owner, _, ok = dnsName(msg, ownerAt, d.name[:0])
				d.name = owner
				if !ok {
					return false
				}
			}
			text, ok := d.rdata(msg, typ, rd, rdlen, owner)
			if !ok {
				return false
			}
			s.ttl = ttl
			s.rdata.set(dnsMaxRData, text)
			s.rlength = uint16(s.rdata.n)
		}
		if i >= an+ns && typ == 41 { // EDNS0 OPT
			s.psize = class
			s.do = uint8(ttl >> 15 & 1)
		}
		off = rd + rdlen
	}
	return true
}

// dnsSkipName returns the offset after the name at off without decoding
// it, as ipfixprobe skips a record's owner name: length bytes are followed
// (any value below 0xc0), a pointer ends the name; it fails only when the
// name runs past the message.
func dnsSkipName(msg []byte, off int) (next int, ok bool) {
	for off < len(msg) {
		l := int(msg[off])
		switch {
		case l == 0:
			return off + 1, true
		case l >= 0xc0:
			return off + 2, true
		}
		off += 1 + l
	}
	return 0, false
}

// dnsName decodes the (possibly compressed) name at off, appending its
// labels joined by '.' to dst; next is the offset after the name. As in
// ipfixprobe it fails after 128 labels and pointers, on a pointer past the
// message, on a label length of 64..191 and when a label and the byte after
// it do not fit.
func dnsName(msg []byte, off int, dst []byte) (name []byte, next int, ok bool) {
	next = -1
	start := len(dst)
	for steps := 0; ; steps++ {
		if off >= len(msg) || steps > dnsMaxSteps {
			return dst, 0, false
		}
		l := int(msg[off])
		switch {
		case l == 0:
			if next < 0 {
				next = off + 1
			}
			return dst, next, true
		case l >= 0xc0:
			if off+1 >= len(msg) {
				return dst, 0, false
			}
			target := int(binary.BigEndian.Uint16(msg[off:]) & 0x3fff)
			if target > len(msg) {
				return dst, 0, false
			}
			if next < 0 {
				next = off + 2
			}
			off = target
		case l > 63 || off+l+2 > len(msg):
			return dst, 0, false
		default:
			if len(dst) > start {
				dst = append(dst, '.')
			}
			dst = append(dst, msg[off+1:off+1+l]...)
			off += 1 + l
		}
	}
}

// be16/be32 read a big-endian value at off; bytes past the message read as
// zero (ipfixprobe reads some fixed-size RDATA without a length check).
func be16(msg []byte, off int) uint16 {
	return uint16(byteAt(msg, off))<<8 | uint16(byteAt(msg, off+1))
}

func be32(msg []byte, off int) uint32 { return uint32(be16(msg, off))<<16 | uint32(be16(msg, off+2)) }

func byteAt(msg []byte, off int) byte {
	if off >= 0 && off < len(msg) {
		return msg[off]
	}
	return 0
}

func appendUint(dst []byte, v uint64) []byte { return strconv.AppendUint(dst, v, 10) }

// rdata renders the first answer's data as ipfixprobe does; ok is false
// when a name in it does not decode.
func (d *dnsPlugin) rdata(msg []byte, typ uint16, rd, rdlen int, owner []byte) ([]byte, bool) {
	t := d.text[:0]
	ok := true
	switch typ {
	case 1: // A
		for i := 0; i < 4; i++ {
			if i > 0 {
				t = append(t, '.')
			}
			t = appendUint(t, uint64(byteAt(msg, rd+i)))
		}
	case 28: // AAAA
		var a [16]byte
		for i := range a {
			a[i] = byteAt(msg, rd+i)
		}
		t = appendInet6(t, a)
	case 2, 5, 12, 39: // NS, CNAME, PTR, DNAME
		t, _, ok = dnsName(msg, rd, t)
	case 6: // SOA
		var next int
		t, next, ok = dnsName(msg, rd, t)
		if ok {
			t = append(t, ' ')
			t, next, ok = dnsName(msg, next, t)
		}
		if ok {
			for i := 0; i < 5; i++ {
				t = append(t, ' ')
				t = appendUint(t, uint64(be32(msg, next+4*i)))
			}
		}
	case 15: // MX
		t = appendUint(t, uint64(be16(msg, rd)))
		t = append(t, ' ')
		t, _, ok = dnsName(msg, rd+2, t)
	case 33: // SRV: owner (service and protocol), target, priority, weight, port
		t = appendSRVOwner(t, owner)
		t = append(t, ' ')
		t, _, ok = dnsName(msg, rd+6, t)
		for i := 0; i < 3 && ok; i++ {
			t = append(t, ' ')
			t = appendUint(t, uint64(be16(msg, rd+2*i)))
		}
	case 16: // TXT
		data := msg[rd : rd+rdlen]
		for i := 0; i < len(data); {
			l := int(data[i])
			if i > 0 {
				t = append(t, ' ')
			}
			t = append(t, data[i+1:min(i+1+l, len(data))]...)
			i += 1 + l
		}
	case 14: // MINFO: rmailbx and emailbx, no separator
		var next int
		t, next, ok = dnsName(msg, rd, t)
		if ok {
			t, _, ok = dnsName(msg, next, t)
		}
	case 13, 20: // HINFO, ISDN: the raw data
		t = append(t, msg[rd:rd+rdlen]...)
	case 43: // DS: key tag, algorithm, digest type. ipfixprobe prints the key tag
		// again, unswapped, where the algorithm belongs (a defect that corrupts
		// the value; we print the algorithm, see the README).
		t = appendUint(t, uint64(be16(msg, rd)))
		t = append(t, ' ')
		t = appendUint(t, uint64(byteAt(msg, rd+2)))
		t = append(t, ' ')
		t = appendUint(t, uint64(byteAt(msg, rd+3)))
		t = append(t, " <key>"...)
	case 46: // RRSIG
		t = appendUint(t, uint64(be16(msg, rd)))
		t = append(t, ' ')
		t = appendUint(t, uint64(byteAt(msg, rd+2)))
		t = append(t, ' ')
		t = appendUint(t, uint64(byteAt(msg, rd+3)))
		for _, o := range []int{4, 8, 12} {
			t = append(t, ' ')
			t = appendUint(t, uint64(be32(msg, rd+o)))
		}
		t = append(t, ' ')
		t = appendUint(t, uint64(be16(msg, rd+16)))
		var signer []byte
		signer, _, ok = dnsName(msg, rd+18, d.name[:0])
		d.name = signer
		t = append(t, " <key>"...)
	case 48: // DNSKEY
		t = appendUint(t, uint64(be16(msg, rd)))
		t = append(t, ' ')
		t = appendUint(t, uint64(byteAt(msg, rd+2)))
		t = append(t, ' ')
		t = appendUint(t, uint64(byteAt(msg, rd+3)))
		t = append(t, " <key>"...)
	default:
		t = append(t, "(not_impl)"...)
	}
	d.text = t
	return t, ok
}

// appendSRVOwner appends an SRV owner name with its first two '_' removed
// and its first two '.' turned into spaces (_sip._tcp.example.com ->
// "sip tcp example.com").
func appendSRVOwner(dst, owner []byte) []byte {
	under, dots := 0, 0
	for _, c := range owner {
		if c == '_' && under < 2 {
			under++
			continue
		}
		if c == '.' && dots < 2 {
			dots++
			c = ' '
		}
		dst = append(dst, c)
	}
	return dst
}

// appendInet6 formats an IPv6 address like glibc's inet_ntop: the first
// longest run of two or more zero groups becomes "::", and ::a.b.c.d and
// ::ffff:a.b.c.d keep their IPv4 part dotted.
func appendInet6(dst []byte, a [16]byte) []byte {
	var w [8]uint16
	for i := range w {
		w[i] = binary.BigEndian.Uint16(a[2*i:])
	}
	bestBase, bestLen, curBase, curLen := -1, 0, -1, 0
	for i := 0; i <= 8; i++ {
		if i < 8 && w[i] == 0 {
			if curBase < 0 {
				curBase, curLen = i, 0
			}
			curLen++
			continue
		}
		if curBase >= 0 && curLen > bestLen {
			bestBase, bestLen = curBase, curLen
		}
		curBase = -1
	}
	if bestLen < 2 {
		bestBase = -1
	}
	const digits = "0123456789abcdef"
	for i := 0; i < 8; i++ {
		if bestBase >= 0 && i >= bestBase && i < bestBase+bestLen {
			if i == bestBase {
				dst = append(dst, ':')
			}
			continue
		}
		if i != 0 {
			dst = append(dst, ':')
		}
		if i == 6 && bestBase == 0 && (bestLen == 6 || (bestLen == 5 && w[5] == 0xffff)) {
			for j := 12; j < 16; j++ {
				if j > 12 {
					dst = append(dst, '.')
				}
				dst = appendUint(dst, uint64(a[j]))
			}
			return dst
		}
		v, started := w[i], false
		for sh := 12; sh >= 0; sh -= 4 {
			nib := v >> sh & 15
			if nib != 0 || started || sh == 0 {
				dst = append(dst, digits[nib])
				started = true
			}
		}
	}
	if bestBase >= 0 && bestBase+bestLen == 8 {
		dst = append(dst, ':')
	}
	return dst
}

func (d *dnsPlugin) Fill(f *Flow, r *unirec.Record) error {
	s := d.st.get(f.Slot)
	if s == nil || !s.attached {
		return nil
	}
	id := d.ids
	r.SetUint16(id[0], s.id)
	r.SetUint16(id[1], s.answers)
	r.SetUint16(id[2], s.class)
	r.SetUint16(id[3], s.qtype)
	r.SetUint16(id[4], s.psize)
	r.SetUint16(id[5], s.rlength)
	r.SetUint8(id[6], s.rcode)
	r.SetUint8(id[7], s.do)
	r.SetUint32(id[8], s.ttl)
	if err := r.SetVar(id[9], s.name.bytes()); err != nil {
		return err
	}
	return r.SetVar(id[10], s.rdata.bytes())
}

// Release returns the flow's state to the pool.
func (d *dnsPlugin) Release(f *Flow) { d.st.drop(f.Slot) }
