package meter

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"slices"
	"strconv"

	"github.com/flowgate/flowgate/unirec"
)

// tlsPlugin follows ipfixprobe's tls plugin for TLS over TCP. It reads the
// first handshake message of a segment (no TCP reassembly):
//
//   - ClientHello: TLS_SNI (server_name), TLS_ALPN (offered protocols joined
//     by ';'), TLS_EXT_TYPE and TLS_EXT_LEN (every extension's type and
//     length, in order, at most 30), TLS_JA3 (the 16-byte MD5 of the JA3
//     string; GREASE values removed), TLS_JA4 (FoxIO JA4 "t13d1516h2_…"
//     with sha256-truncated cipher and extension parts), TLS_VERSION (the
//     highest supported_versions entry, else the legacy version).
//   - ServerHello: TLS_VERSION becomes the negotiated version
//     (supported_versions, else legacy) and TLS_ALPN the selected protocol.
type tlsPlugin struct {
	noHooks
	st  slotState[tlsState]
	ids [7]unirec.FieldID
}

const (
	tlsMaxExt  = 30
	tlsMaxSNI  = 255
	tlsMaxALPN = 255
)

type tlsState struct {
	version         uint16
	client, server  bool
	sni, alpn, ja4  text
	ja3             [16]byte
	nExt            int
	extType, extLen [tlsMaxExt]uint16
}

func (s *tlsState) reset() {
	s.version, s.client, s.server, s.nExt = 0, false, false, 0
	s.ja3 = [16]byte{}
	s.sni.reset()
	s.alpn.reset()
	s.ja4.reset()
}

var tlsFieldNames = []string{"TLS_VERSION", "TLS_ALPN", "TLS_JA3", "TLS_JA4", "TLS_SNI", "TLS_EXT_LEN", "TLS_EXT_TYPE"}

func (*tlsPlugin) Name() string { return "tls" }
func (*tlsPlugin) Spec() string {
	return "uint16 TLS_VERSION,string TLS_ALPN,bytes TLS_JA3,string TLS_JA4,string TLS_SNI,uint16* TLS_EXT_LEN,uint16* TLS_EXT_TYPE"
}
func (x *tlsPlugin) Init(n int) { x.st.init(n) }

func (x *tlsPlugin) Bind(t *unirec.Template) error {
	return lookup(t, "tls", tlsFieldNames, x.ids[:])
}

func (x *tlsPlugin) Create(f *Flow, p *Packet) Action {
	x.packet(f, p)
	return Continue
}

func (x *tlsPlugin) PostUpdate(f *Flow, p *Packet, _ bool) Action {
	x.packet(f, p)
	return Continue
}

func (x *tlsPlugin) packet(f *Flow, p *Packet) {
	if p.Proto != protoTCP || len(p.Payload) < 6 || p.Payload[0] != 22 || p.Payload[5] > 2 || p.Payload[5] == 0 {
		return
	}
	s := x.st.get(f.Slot)
	if s == nil {
		s = x.st.fresh(f.Slot)
		s.reset()
	}
	_ = s.parseRecord(p.Payload)
}

var errTLS = errors.New("malformed TLS handshake")

func tlsGREASE(v uint16) bool { return v&0x0f0f == 0x0a0a && v>>8 == v&0xff }

// parseRecord reads a TLS record carrying a ClientHello or ServerHello.
func (s *tlsState) parseRecord(b []byte) error {
	if len(b) < 9 || b[0] != 22 {
		return errTLS
	}
	rl := int(binary.BigEndian.Uint16(b[3:5]))
	b = b[5:]
	if rl < len(b) {
		b = b[:rl]
	}
	if len(b) < 4 {
		return errTLS
	}
	typ := b[0]
	hl := int(b[1])<<16 | int(b[2])<<8 | int(b[3])
	b = b[4:]
	if hl < len(b) {
		b = b[:hl]
	}
	switch typ {
	case 1:
		if s.client {
			return nil
		}
		return s.clientHello(b)
	case 2:
		if s.server {
			return nil
		}
		return s.serverHello(b)
	}
	return errTLS
}

// tlsReader is a bounds-checked cursor; any overrun sets bad.
type tlsReader struct {
	b   []byte
	bad bool
}

func (r *tlsReader) bytes(n int) []byte {
	if r.bad || n > len(r.b) {
		r.bad = true
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *tlsReader) u8() int {
	v := r.bytes(1)
	if v == nil {
		return 0
	}
	return int(v[0])
}

func (r *tlsReader) u16() int {
	v := r.bytes(2)
	if v == nil {
		return 0
	}
	return int(binary.BigEndian.Uint16(v))
}

func (s *tlsState) clientHello(b []byte) error {
	r := tlsReader{b: b}
	legacy := uint16(r.u16())
	r.bytes(32)
	r.bytes(r.u8())
	ciphers := r.bytes(r.u16())
	r.bytes(r.u8())
	var exts []byte
	if len(r.b) >= 2 {
		exts = r.bytes(r.u16())
	}
	if r.bad || len(ciphers)%2 != 0 {
		return errTLS
	}
	s.client = true
	s.version = legacy

	var (
		groups, points, sigs []byte
		extList              [64]uint16
		nList                int
		sni, alpnSeen        bool
		firstALPN            []byte
		best                 uint16
	)
	er := tlsReader{b: exts}
	for len(er.b) >= 4 && !er.bad {
		typ := uint16(er.u16())
		data := er.bytes(er.u16())
		if er.bad {
			return errTLS
		}
		if s.nExt < tlsMaxExt {
			s.extType[s.nExt], s.extLen[s.nExt] = typ, uint16(len(data))
			s.nExt++
		}
		if tlsGREASE(typ) {
			continue
		}
		if nList < len(extList) {
			extList[nList] = typ
			nList++
		}
		d := tlsReader{b: data}
		switch typ {
		case 0x0000: // server_name
			sni = true
			d.u16()
			if d.u8() == 0 {
				if name := d.bytes(d.u16()); !d.bad {
					s.sni.set(tlsMaxSNI, name)
				}
			}
		case 0x0010: // ALPN
			alpnSeen = true
			list := tlsReader{b: d.bytes(d.u16())}
			for len(list.b) > 0 && !list.bad {
				proto := list.bytes(list.u8())
				if list.bad || len(proto) == 0 {
					break
				}
				if firstALPN == nil {
					firstALPN = proto
				}
				s.alpn.add(tlsMaxALPN, ';', proto)
			}
		case 0x000a: // supported_groups
			groups = d.bytes(d.u16())
		case 0x000b: // ec_point_formats
			points = d.bytes(d.u8())
		case 0x000d: // signature_algorithms
			sigs = d.bytes(d.u16())
		case 0x002b: // supported_versions
			vs := d.bytes(d.u8())
			for i := 0; i+1 < len(vs); i += 2 {
				v := binary.BigEndian.Uint16(vs[i:])
				if !tlsGREASE(v) && v > best {
					best = v
				}
			}
		}
	}
	if best != 0 {
		s.version = best
	}

	// JA3: version,ciphers,extensions,groups,point formats (decimal, '-').
	var ja3 [1024]byte
	j := strconv.AppendUint(ja3[:0], uint64(legacy), 10)
	j = append(j, ',')
	j = appendU16List(j, ciphers, 2, true)
	j = append(j, ',')
	for i := 0; i < nList; i++ {
		if i > 0 {
			j = append(j, '-')
		}
		j = strconv.AppendUint(j, uint64(extList[i]), 10)
	}
	j = append(j, ',')
	j = appendU16List(j, groups, 2, true)
	j = append(j, ',')
	j = appendU16List(j, points, 1, false)
	s.ja3 = md5.Sum(j)

	var ja4 [40]byte
	s.ja4.set(40, appendJA4(ja4[:0], best, legacy, sni, alpnSeen, firstALPN, ciphers, extList[:nList], sigs))
	return nil
}

// appendU16List appends a '-' separated decimal list of size-byte values.
func appendU16List(dst, b []byte, size int, grease bool) []byte {
	first := true
	for i := 0; i+size <= len(b); i += size {
		v := uint16(b[i])
		if size == 2 {
			v = binary.BigEndian.Uint16(b[i:])
		}
		if grease && tlsGREASE(v) {
			continue
		}
		if !first {
			dst = append(dst, '-')
		}
		first = false
		dst = strconv.AppendUint(dst, uint64(v), 10)
	}
	return dst
}

// appendJA4 builds the JA4 fingerprint of a ClientHello over TCP.
func appendJA4(dst []byte, best, legacy uint16, sni, alpnSeen bool, alpn, ciphers []byte, exts []uint16, sigs []byte) []byte {
	var buf [40]byte
	out := append(buf[:0], 't')
	v := best
	if v == 0 {
		v = legacy
	}
	switch v {
	case 0x0304:
		out = append(out, "13"...)
	case 0x0303:
		out = append(out, "12"...)
	case 0x0302:
		out = append(out, "11"...)
	case 0x0301:
		out = append(out, "10"...)
	case 0x0300:
		out = append(out, "s3"...)
	default:
		out = append(out, "00"...)
	}
	if sni {
		out = append(out, 'd')
	} else {
		out = append(out, 'i')
	}
	var cs [256]uint16
	nc := 0
	for i := 0; i+1 < len(ciphers) && nc < len(cs); i += 2 {
		if c := binary.BigEndian.Uint16(ciphers[i:]); !tlsGREASE(c) {
			cs[nc] = c
			nc++
		}
	}
	out = appendTwoDigits(out, nc)
	out = appendTwoDigits(out, len(exts))
	switch {
	case !alpnSeen || len(alpn) == 0:
		out = append(out, "00"...)
	case isAlnum(alpn[0]) && isAlnum(alpn[len(alpn)-1]):
		out = append(out, alpn[0], alpn[len(alpn)-1])
	default:
		var h [2]byte
		hex.Encode(h[:], alpn[:1])
		out = append(out, h[0])
		hex.Encode(h[:], alpn[len(alpn)-1:])
		out = append(out, h[1])
	}
	out = append(out, '_')

	var list [2048]byte
	slices.Sort(cs[:nc])
	l := list[:0]
	for i := 0; i < nc; i++ {
		if i > 0 {
			l = append(l, ',')
		}
		l = appendHex16(l, cs[i])
	}
	out = appendHash12(out, l, nc == 0)
	out = append(out, '_')

	var es [64]uint16
	ne := 0
	for _, e := range exts {
		if e != 0x0000 && e != 0x0010 && ne < len(es) {
			es[ne] = e
			ne++
		}
	}
	slices.Sort(es[:ne])
	l = list[:0]
	for i := 0; i < ne; i++ {
		if i > 0 {
			l = append(l, ',')
		}
		l = appendHex16(l, es[i])
	}
	if len(sigs) >= 2 {
		l = append(l, '_')
		for i := 0; i+1 < len(sigs) && len(l)+5 < cap(l); i += 2 {
			if i > 0 {
				l = append(l, ',')
			}
			l = appendHex16(l, binary.BigEndian.Uint16(sigs[i:]))
		}
	}
	out = appendHash12(out, l, ne == 0)
	return append(dst, out...)
}

func appendTwoDigits(dst []byte, n int) []byte {
	n = min(n, 99)
	return append(dst, byte('0'+n/10), byte('0'+n%10))
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func appendHex16(dst []byte, v uint16) []byte {
	const digits = "0123456789abcdef"
	return append(dst, digits[v>>12], digits[v>>8&15], digits[v>>4&15], digits[v&15])
}

// appendHash12 appends the first 12 hex digits of sha256(b), or twelve
// zeros when the list is empty.
func appendHash12(dst, b []byte, empty bool) []byte {
	if empty {
		return append(dst, "000000000000"...)
	}
	sum := sha256.Sum256(b)
	var h [12]byte
	hex.Encode(h[:], sum[:6])
	return append(dst, h[:]...)
}

func (s *tlsState) serverHello(b []byte) error {
	r := tlsReader{b: b}
	legacy := uint16(r.u16())
	r.bytes(32)
	r.bytes(r.u8())
	r.bytes(3) // cipher suite, compression
	var exts []byte
	if len(r.b) >= 2 {
		exts = r.bytes(r.u16())
	}
	if r.bad {
		return errTLS
	}
	s.server = true
	s.version = legacy
	er := tlsReader{b: exts}
	for len(er.b) >= 4 && !er.bad {
		typ := er.u16()
		data := tlsReader{b: er.bytes(er.u16())}
		switch typ {
		case 0x002b:
			if v := data.u16(); !data.bad {
				s.version = uint16(v)
			}
		case 0x0010:
			list := tlsReader{b: data.bytes(data.u16())}
			if proto := list.bytes(list.u8()); !list.bad && len(proto) > 0 {
				s.alpn.set(tlsMaxALPN, proto)
			}
		}
	}
	return nil
}

func (x *tlsPlugin) Fill(f *Flow, r *unirec.Record) error {
	s := x.st.get(f.Slot)
	if s == nil || (!s.client && !s.server) {
		return nil
	}
	r.SetUint16(x.ids[0], s.version)
	if err := r.SetVar(x.ids[1], s.alpn.bytes()); err != nil {
		return err
	}
	if s.client {
		if err := r.SetVar(x.ids[2], s.ja3[:]); err != nil {
			return err
		}
	}
	if err := r.SetVar(x.ids[3], s.ja4.bytes()); err != nil {
		return err
	}
	if err := r.SetVar(x.ids[4], s.sni.bytes()); err != nil {
		return err
	}
	var arr [2 * tlsMaxExt]byte
	for i := 0; i < s.nExt; i++ {
		binary.LittleEndian.PutUint16(arr[2*i:], s.extLen[i])
	}
	if err := r.SetVar(x.ids[5], arr[:2*s.nExt]); err != nil {
		return err
	}
	for i := 0; i < s.nExt; i++ {
		binary.LittleEndian.PutUint16(arr[2*i:], s.extType[i])
	}
	return r.SetVar(x.ids[6], arr[:2*s.nExt])
}

// Release returns the flow's state to the pool.
func (x *tlsPlugin) Release(f *Flow) { x.st.drop(f.Slot) }
