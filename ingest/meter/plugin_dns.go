package meter

import (
	"encoding/binary"
	"errors"
	"strconv"

	"github.com/flowgate/flowgate/unirec"
)

// dnsPlugin follows ipfixprobe's dns plugin for DNS over UDP or TCP port 53:
// the query fills DNS_ID, DNS_NAME, DNS_QTYPE, DNS_CLASS; the response
// overwrites them and adds DNS_RCODE, DNS_ANSWERS (ANCOUNT) and, from the
// first answer record, DNS_RR_TTL, DNS_RLENGTH (its RDLENGTH) and DNS_RDATA;
// an EDNS0 OPT record gives DNS_PSIZE (UDP payload size) and DNS_DO. A flow
// is exported as soon as its response has been seen.
//
// DNS_RDATA is the record data in text form (bytes in the template, so the
// logger prints it as hex): A/AAAA as addresses, NS/CNAME/PTR/DNAME as names,
// MX "preference name", SRV "priority weight port target", TXT the strings
// joined, anything else the raw wire bytes.
type dnsPlugin struct {
	noHooks
	st  slotState[dnsState]
	ids [11]unirec.FieldID
}

const (
	dnsMaxName  = 255
	dnsMaxRData = 255
	dnsPort     = 53
)

type dnsState struct {
	id, answers, class, qtype, psize, rlength uint16
	rcode, do                                 uint8
	ttl                                       uint32
	name, rdata                               text
	response                                  bool
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
	if isDNS(p) {
		d.parse(f, p)
	}
	return Continue
}

func (d *dnsPlugin) PostUpdate(f *Flow, p *Packet, _ bool) Action {
	if !isDNS(p) {
		return Continue
	}
	if d.parse(f, p) {
		return Flush
	}
	return Continue
}

// parse updates the slot state from p and reports whether p was a response.
func (d *dnsPlugin) parse(f *Flow, p *Packet) bool {
	msg := p.Payload
	if p.Proto == protoTCP {
		if len(msg) < 2 {
			return false
		}
		msg = msg[2:]
	}
	if len(msg) < 12 {
		return false
	}
	s := d.st.get(f.Slot)
	if s == nil {
		s = d.st.fresh(f.Slot)
		s.reset()
	}
	resp, err := s.parseMessage(msg)
	return err == nil && resp
}

var errDNS = errors.New("malformed DNS message")

// parseDNSMessage decodes a DNS message into a fresh state (tests, fuzzing).
func parseDNSMessage(msg []byte) (*dnsState, bool, error) {
	s := &dnsState{}
	resp, err := s.parseMessage(msg)
	return s, resp, err
}

// parseMessage reads a DNS message (without TCP length prefix).
func (s *dnsState) parseMessage(msg []byte) (response bool, err error) {
	if len(msg) < 12 {
		return false, errDNS
	}
	flags := binary.BigEndian.Uint16(msg[2:4])
	qd := int(binary.BigEndian.Uint16(msg[4:6]))
	an := int(binary.BigEndian.Uint16(msg[6:8]))
	ns := int(binary.BigEndian.Uint16(msg[8:10]))
	ar := int(binary.BigEndian.Uint16(msg[10:12]))
	response = flags&0x8000 != 0
	s.id = binary.BigEndian.Uint16(msg[0:2])
	if response {
		s.response = true
		s.rcode = uint8(flags & 0x0f)
		s.answers = uint16(an)
	}
	off := 12
	var name [dnsMaxName]byte
	for i := 0; i < qd; i++ {
		n, next, ok := dnsName(msg, off, name[:0])
		if !ok || next+4 > len(msg) {
			return response, errDNS
		}
		if i == 0 {
			s.name.set(dnsMaxName, n)
			s.qtype = binary.BigEndian.Uint16(msg[next : next+2])
			s.class = binary.BigEndian.Uint16(msg[next+2 : next+4])
		}
		off = next + 4
	}
	for i := 0; i < an+ns+ar; i++ {
		_, next, ok := dnsName(msg, off, name[:0])
		if !ok || next+10 > len(msg) {
			return response, errDNS
		}
		typ := binary.BigEndian.Uint16(msg[next : next+2])
		class := binary.BigEndian.Uint16(msg[next+2 : next+4])
		ttl := binary.BigEndian.Uint32(msg[next+4 : next+8])
		rdlen := int(binary.BigEndian.Uint16(msg[next+8 : next+10]))
		rd := next + 10
		if rd+rdlen > len(msg) {
			return response, errDNS
		}
		if i == 0 && an > 0 && response {
			s.ttl = ttl
			s.rlength = uint16(rdlen)
			var buf [dnsMaxRData]byte
			s.rdata.set(dnsMaxRData, dnsRData(msg, typ, rd, rdlen, buf[:0]))
		}
		if typ == 41 && i >= an+ns { // EDNS0 OPT
			s.psize = class
			s.do = uint8(ttl >> 15 & 1)
		}
		off = rd + rdlen
	}
	return response, nil
}

// dnsName reads a possibly compressed name at off, appending its dotted
// form (no trailing dot) to dst; next is the offset after the name.
func dnsName(msg []byte, off int, dst []byte) (name []byte, next int, ok bool) {
	next = -1
	start := len(dst)
	for jumps := 0; ; {
		if off >= len(msg) {
			return dst, 0, false
		}
		l := int(msg[off])
		switch {
		case l == 0:
			if next < 0 {
				next = off + 1
			}
			return dst, next, true
		case l&0xc0 == 0xc0:
			if off+1 >= len(msg) || jumps > 32 {
				return dst, 0, false
			}
			if next < 0 {
				next = off + 2
			}
			off = int(binary.BigEndian.Uint16(msg[off:off+2]) & 0x3fff)
			jumps++
		case l&0xc0 != 0:
			return dst, 0, false
		default:
			if off+1+l > len(msg) {
				return dst, 0, false
			}
			if len(dst) > start && len(dst) < cap(dst) {
				dst = append(dst, '.')
			}
			room := cap(dst) - len(dst)
			dst = append(dst, msg[off+1:off+1+min(l, room)]...)
			off += 1 + l
		}
	}
}

// dnsRData renders record data as described on dnsPlugin.
func dnsRData(msg []byte, typ uint16, rd, rdlen int, dst []byte) []byte {
	data := msg[rd : rd+rdlen]
	switch typ {
	case 1: // A
		if rdlen == 4 {
			return unirec.IPv4([4]byte(data)).AppendText(dst)
		}
	case 28: // AAAA
		if rdlen == 16 {
			return unirec.IPv6([16]byte(data)).AppendText(dst)
		}
	case 2, 5, 12, 39: // NS, CNAME, PTR, DNAME
		if n, _, ok := dnsName(msg, rd, dst); ok {
			return n
		}
	case 15: // MX
		if rdlen >= 3 {
			dst = strconv.AppendUint(dst, uint64(binary.BigEndian.Uint16(data)), 10)
			dst = append(dst, ' ')
			if n, _, ok := dnsName(msg, rd+2, dst); ok {
				return n
			}
		}
	case 33: // SRV
		if rdlen >= 7 {
			for i := 0; i < 3; i++ {
				dst = strconv.AppendUint(dst, uint64(binary.BigEndian.Uint16(data[2*i:])), 10)
				dst = append(dst, ' ')
			}
			if n, _, ok := dnsName(msg, rd+6, dst); ok {
				return n
			}
		}
	case 16: // TXT
		for len(data) > 0 {
			l := int(data[0])
			if 1+l > len(data) {
				break
			}
			dst = append(dst, data[1:1+l]...)
			data = data[1+l:]
		}
		return dst
	}
	return append(dst[:0], msg[rd:rd+min(rdlen, cap(dst))]...)
}

func (d *dnsPlugin) Fill(f *Flow, r *unirec.Record) error {
	s := d.st.get(f.Slot)
	if s == nil {
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
