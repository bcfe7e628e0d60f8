package meter

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/bits"
	"slices"
	"strconv"

	"github.com/flowgate/flowgate/unirec"
)

// tlsPlugin follows ipfixprobe's tls plugin (spec/ipfixprobe-plugins.md §1).
// Every packet of a flow, any protocol and direction, is looked at until the
// flow's ServerHello has been parsed; each packet is parsed on its own (no
// TCP reassembly), and only a payload that starts with a TLS handshake
// record carrying a ClientHello or ServerHello counts:
//
//   - A ClientHello gives the flow its TLS record (a flow without one sends
//     nothing to a tls output) and sets TLS_SNI (the first server_name entry
//     of at most 253 bytes), TLS_VERSION (the legacy version read
//     little-endian, ipfixprobe's convention: 03 03 is 771 but 03 01 is
//     259), TLS_JA3 (MD5 of the JA3 string), TLS_JA4 and, from the first
//     ClientHello only, TLS_EXT_TYPE/TLS_EXT_LEN (the first 30 extensions,
//     GREASE included).
//   - A ServerHello sets TLS_ALPN (the protocol the server selected; empty
//     when it selected none, as in TLS 1.3 where ALPN is encrypted) and, if
//     it has supported_versions, TLS_VERSION (the negotiated version). After
//     it nothing more of the flow is parsed.
//
// JA4 is ipfixprobe's by default (unpadded counts, GREASE extensions
// counted, ipfixprobe's broad GREASE test, version labels from the
// little-endian legacy version or the signed highest supported version,
// the c part always hashed); "tls:ja4=standard" gives FoxIO's JA4 as
// published (two-digit counts, RFC 8701 GREASE dropped everywhere, the
// highest supported version, c zeros without extensions and without "_"
// when there are no signature algorithms), for matching against public
// fingerprint databases.
//
// Where ipfixprobe shares one scratch record between all flows of a worker,
// so that a ServerHello seen in a flow without a ClientHello leaks its ALPN
// into the next flow with a ClientHello (and that flow's own ServerHello is
// then never parsed), the scratch state here belongs to the flow: a
// ServerHello before any ClientHello applies to the same flow only.
type tlsPlugin struct {
	noHooks
	standardJA4 bool
	st          slotState[tlsState]
	ids         [7]unirec.FieldID
	ch          helloScratch // parse scratch, reset for every hello
}

const (
	tlsMaxExt = 30
	tlsStrBuf = 255 // ipfixprobe's SNI and ALPN buffers
	tlsJA4Len = 36
)

type tlsState struct {
	attached     bool // a ClientHello was parsed: the flow has a TLS record
	serverParsed bool
	version      uint16
	sni, alpn    text
	ja3          [16]byte
	ja4          [tlsJA4Len]byte
	ja4n         int
	nExt         int
	extType      [tlsMaxExt]uint16
	extLen       [tlsMaxExt]uint16
}

func (s *tlsState) reset() {
	s.attached, s.serverParsed, s.version, s.nExt, s.ja4n = false, false, 0, 0, 0
	s.ja3 = [16]byte{}
	s.sni.reset()
	s.alpn.reset()
}

// helloScratch is what one ClientHello carries, in wire order. Its slices
// keep their backing arrays from hello to hello, so parsing allocates only
// while they grow to the largest hello seen; no list is capped.
type helloScratch struct {
	legacy               uint16   // read little-endian, as ipfixprobe does
	ciphers              []uint16 // GREASE included (dropped where used)
	groups               []uint16 // without GREASE
	points               []byte
	exts, extLens        []uint16 // every extension, GREASE included
	sigs                 []uint16 // signature_algorithms after the list length
	versions             []uint16 // supported_versions, GREASE included
	sniEntries           int
	sniExt               bool   // a server_name extension is present
	sni                  []byte // saved like ipfixprobe's buffer (see saveEntry)
	alpnEntries          int
	alpn                 []byte // saved list
	firstALPN            []byte
	sniBuf, alpnBuf, tmp [tlsStrBuf]byte
	ja3Buf               []byte
	hashBuf              []byte
	sortVals             []uint16
}

var tlsFieldNames = []string{"TLS_VERSION", "TLS_ALPN", "TLS_JA3", "TLS_JA4", "TLS_SNI", "TLS_EXT_LEN", "TLS_EXT_TYPE"}

// newTLSPlugin parses the tls plugin's parameters ("ja4=standard" or
// "ja4=ipfixprobe", the default).
func newTLSPlugin(params []string) (*tlsPlugin, error) {
	x := &tlsPlugin{}
	for _, p := range params {
		switch p {
		case "ja4=standard":
			x.standardJA4 = true
		case "ja4=ipfixprobe":
			x.standardJA4 = false
		default:
			return nil, fmt.Errorf("meter: tls plugin: unknown parameter %q (known: ja4=standard, ja4=ipfixprobe)", p)
		}
	}
	return x, nil
}

func (*tlsPlugin) Name() string { return "tls" }
func (*tlsPlugin) Spec() string {
	return "uint16 TLS_VERSION,string TLS_ALPN,bytes TLS_JA3,string TLS_JA4,string TLS_SNI,uint16* TLS_EXT_LEN,uint16* TLS_EXT_TYPE"
}
func (x *tlsPlugin) Init(n int) { x.st.init(n) }

func (x *tlsPlugin) Bind(t *unirec.Template) error {
	return lookup(t, "tls", tlsFieldNames, x.ids[:])
}

func (x *tlsPlugin) Create(f *Flow, p *Packet) Action {
	if tlsCandidate(p.Payload) {
		s := x.st.fresh(f.Slot)
		s.reset()
		x.packet(s, p)
	}
	return Continue
}

func (x *tlsPlugin) PreUpdate(f *Flow, p *Packet, _ bool) Action {
	if !tlsCandidate(p.Payload) {
		return Continue
	}
	s := x.st.get(f.Slot)
	if s == nil {
		s = x.st.fresh(f.Slot)
		s.reset()
	}
	if s.attached && s.serverParsed {
		return Continue
	}
	x.packet(s, p)
	return Continue
}

// tlsCandidate is the first test of packet, so that flows without a
// handshake take no state.
func tlsCandidate(b []byte) bool { return len(b) >= 11 && b[0] == 22 && b[1] == 3 }

// Has reports whether the flow carries a TLS record.
func (x *tlsPlugin) Has(f *Flow) bool {
	s := x.st.get(f.Slot)
	return s != nil && s.attached
}

// tlsGREASE is ipfixprobe's GREASE test, broader than RFC 8701 (0x0202,
// 0x1010, 0x2828 ... count too).
func tlsGREASE(v uint16) bool { return v != 0 && v&0x0505 == 0 && v>>8 == v&0xff }

// rfcGREASE is RFC 8701's: 0x0a0a, 0x1a1a, ... 0xfafa.
func rfcGREASE(v uint16) bool { return v&0x0f0f == 0x0a0a && v>>8 == v&0xff }

// packet parses one payload into the flow's state.
func (x *tlsPlugin) packet(s *tlsState, p *Packet) {
	b := p.Payload
	n := len(b)
	// Record header, then the handshake header; only the major versions
	// are checked.
	if n < 11 || b[0] != 22 || b[1] != 3 || b[9] != 3 || (b[5] != 1 && b[5] != 2) {
		return
	}
	client := b[5] == 1
	// Session id.
	if 43 >= n {
		return
	}
	off := 44 + int(b[43])
	if off > n {
		return
	}
	ch := &x.ch
	if client {
		ch.reset()
		ch.legacy = uint16(b[9]) | uint16(b[10])<<8
		if off+2 > n {
			return
		}
		nc := int(binary.BigEndian.Uint16(b[off:]))
		off += 2
		if off+nc > n {
			return
		}
		ch.ciphers = appendU16s(ch.ciphers, b[off:off+nc], nil)
		off += nc
		if off >= n {
			return
		}
		off += 1 + int(b[off])
	} else {
		off += 3 // selected cipher suite, compression method
	}
	// Extensions block. ipfixprobe's check leaves out the 2 length bytes,
	// so the block may end up to 2 bytes past the payload; the walk below
	// reads only captured bytes. A hello that ends before the block (TLS
	// 1.0 and SSL 3 hellos may) has no extensions: ipfixprobe reads its
	// length from past the payload.
	if off > n {
		return
	}
	var blockEnd int
	if n-off >= 2 {
		e := int(binary.BigEndian.Uint16(b[off:]))
		if off+e > n {
			return // a hello split over segments: not parsed
		}
		blockEnd = off + 2 + e
		off += 2
	} else {
		blockEnd = off // no extensions
	}
	if client {
		x.clientExtensions(b, off, blockEnd)
		x.applyClient(s, p)
		return
	}
	x.serverHello(s, b, off, blockEnd)
}

func (ch *helloScratch) reset() {
	ch.ciphers = ch.ciphers[:0]
	ch.groups = ch.groups[:0]
	ch.exts = ch.exts[:0]
	ch.extLens = ch.extLens[:0]
	ch.points = ch.points[:0]
	ch.sigs = ch.sigs[:0]
	ch.versions = ch.versions[:0]
	ch.sniEntries, ch.alpnEntries, ch.sniExt = 0, 0, false
	ch.sni, ch.alpn, ch.firstALPN = nil, nil, nil
}

// clientExtensions walks a ClientHello's extensions block b[off:end]; end
// may lie up to 2 bytes past the payload (see packet). Every extension
// whose header is captured and whose data ends within the block is listed;
// its data is parsed as far as it was captured.
func (x *tlsPlugin) clientExtensions(b []byte, off, end int) {
	ch := &x.ch
	for {
		ext, ok := nextExtension(b, &off, end)
		if !ok {
			return
		}
		d := b[ext.start:min(ext.start+ext.len, len(b))]
		ch.exts = append(ch.exts, ext.typ)
		ch.extLens = append(ch.extLens, uint16(ext.len))
		switch ext.typ {
		case 0x0000: // server_name
			ch.sni, ch.sniEntries = saveSNI(d, ch.sniBuf[:0])
			ch.sniExt = true
		case 0x000a: // supported_groups
			ch.groups = appendU16s(ch.groups, listU16(d, 2), tlsGREASE)
		case 0x000b: // ec_point_formats
			if len(d) >= 1 {
				ch.points = append(ch.points, d[1:min(1+int(d[0]), len(d))]...)
			}
		case 0x0010: // ALPN
			ch.alpn, ch.alpnEntries, ch.firstALPN = saveALPN(b, ext.start, ext.start+ext.len, ch.alpnBuf[:0])
		case 0x000d: // signature_algorithms: ipfixprobe reads from the list length on and drops it
			for i := 2; i+1 < len(d); i += 2 {
				ch.sigs = append(ch.sigs, binary.BigEndian.Uint16(d[i:]))
			}
		case 0x002b: // supported_versions (ClientHello form)
			if len(d) >= 1 {
				vs := d[1:min(1+int(d[0]), len(d))]
				ch.versions = appendU16s(ch.versions, vs, nil)
			}
		}
	}
}

// helloExt is one extension of a hello: its type, declared length and
// where its data starts.
type helloExt struct {
	typ        uint16
	len, start int
}

// nextExtension reads the extension at *off of the block that ends at end
// and moves *off past it. It reports false, as ipfixprobe stops, at the
// first extension whose data would pass the block end, and also at a
// header that was not captured.
func nextExtension(b []byte, off *int, end int) (helloExt, bool) {
	o := *off
	if o+4 > min(end, len(b)) {
		return helloExt{}, false
	}
	e := helloExt{typ: binary.BigEndian.Uint16(b[o:]), len: int(binary.BigEndian.Uint16(b[o+2:])), start: o + 4}
	if e.start+e.len > end {
		return helloExt{}, false
	}
	*off = e.start + e.len
	return e, true
}

// listU16 returns the u16 list after a 2-byte length, cut to the extension.
func listU16(d []byte, lenBytes int) []byte {
	if len(d) < lenBytes {
		return nil
	}
	n := int(binary.BigEndian.Uint16(d))
	return d[lenBytes:min(lenBytes+n, len(d))]
}

// appendU16s appends the big-endian values of b, without those drop (if
// not nil) reports.
func appendU16s(dst []uint16, b []byte, drop func(uint16) bool) []uint16 {
	for i := 0; i+1 < len(b); i += 2 {
		v := binary.BigEndian.Uint16(b[i:])
		if drop != nil && drop(v) {
			continue
		}
		dst = append(dst, v)
	}
	return dst
}

// saveEntry is ipfixprobe's string saving into a 255-byte buffer: an entry
// is stored, NUL-terminated, if it fits (len+2 <= room); the exported C
// string is therefore the first entry of at most 253 bytes, up to its
// first NUL byte if it has one.
func saveEntry(saved []byte, found bool, v []byte) ([]byte, bool) {
	if found {
		return saved, true
	}
	if len(v)+2 > tlsStrBuf {
		return saved, false
	}
	return append(saved[:0], cString(v)...), true
}

// saveSNI reads a server_name extension: a list length that must fit, then
// {type, len, name} entries, every type taken.
func saveSNI(d []byte, buf []byte) (saved []byte, entries int) {
	if len(d) < 2 || 2+int(binary.BigEndian.Uint16(d)) > len(d) {
		return buf, 0
	}
	found := false
	for off := 2; off+3 <= len(d); {
		l := int(binary.BigEndian.Uint16(d[off+1:]))
		if off+3+l > len(d) {
			break
		}
		buf, found = saveEntry(buf, found, d[off+3:off+3+l])
		entries++
		off += 3 + l
	}
	return buf, entries
}

// saveALPN reads an ALPN extension's protocol list at b[start:end]; as in
// ipfixprobe, an entry may run up to 2 bytes past the extension (but not
// past the payload).
func saveALPN(b []byte, start, end int, buf []byte) (saved []byte, entries int, first []byte) {
	if end-start < 2 {
		return buf, 0, nil
	}
	limit := min(end+2, len(b))
	found := false
	for off := start + 2; off < min(end, len(b)); {
		l := int(b[off])
		if off+1+l > limit {
			break
		}
		v := b[off+1 : off+1+l]
		if entries == 0 {
			first = v
		}
		buf, found = saveEntry(buf, found, v)
		entries++
		off += 1 + l
	}
	return buf, entries, first
}

// applyClient stores a parsed ClientHello in the flow's state.
func (x *tlsPlugin) applyClient(s *tlsState, p *Packet) {
	ch := &x.ch
	s.attached = true
	if s.nExt == 0 {
		s.nExt = min(len(ch.exts), tlsMaxExt)
		copy(s.extType[:], ch.exts)
		copy(s.extLen[:], ch.extLens)
	}
	s.version = ch.legacy
	if ch.sniEntries > 0 {
		s.sni.set(tlsStrBuf, ch.sni)
	}
	s.ja3 = md5.Sum(x.ja3())
	ja4 := x.ja4(p.Proto == protoUDP)
	s.ja4n = copy(s.ja4[:], ja4)
}

// ja3 builds the JA3 string.
func (x *tlsPlugin) ja3() []byte {
	ch := &x.ch
	j := strconv.AppendUint(ch.ja3Buf[:0], uint64(ch.legacy), 10)
	j = append(j, ',')
	j = appendDecList(j, ch.ciphers, tlsGREASE)
	j = append(j, ',')
	j = appendDecList(j, ch.exts, tlsGREASE)
	j = append(j, ',')
	j = appendDecList(j, ch.groups, nil)
	j = append(j, ',')
	for i, v := range ch.points {
		if i > 0 {
			j = append(j, '-')
		}
		j = strconv.AppendUint(j, uint64(v), 10)
	}
	ch.ja3Buf = j
	return j
}

func appendDecList(dst []byte, vs []uint16, drop func(uint16) bool) []byte {
	first := true
	for _, v := range vs {
		if drop != nil && drop(v) {
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

// ja4 builds the JA4 fingerprint of the parsed ClientHello.
func (x *tlsPlugin) ja4(udp bool) []byte {
	ch := &x.ch
	out := ch.tmp[:0]
	if udp {
		out = append(out, 'q')
	} else {
		out = append(out, 't')
	}
	// ipfixprobe drops GREASE by its broad test; FoxIO's JA4 only the
	// RFC 8701 values.
	grease := tlsGREASE
	if x.standardJA4 {
		grease = rfcGREASE
	}
	vals := ch.sortVals[:0]
	for _, c := range ch.ciphers {
		if !grease(c) {
			vals = append(vals, c)
		}
	}
	// The version: the highest supported_versions value if there are any
	// (compared as signed 16-bit numbers by ipfixprobe), else the legacy
	// version (which ipfixprobe reads little-endian).
	v, found := ch.legacy, false
	if x.standardJA4 {
		v = bits.ReverseBytes16(ch.legacy)
	}
	for _, w := range ch.versions {
		if grease(w) {
			continue
		}
		higher := w > v
		if !x.standardJA4 {
			higher = int16(w) > int16(v)
		}
		if !found || higher {
			v, found = w, true
		}
	}
	out = append(out, ja4Version(v)...)
	// ipfixprobe: d when the SNI list has an entry; FoxIO: when the
	// extension is there.
	if ch.sniEntries > 0 || x.standardJA4 && ch.sniExt {
		out = append(out, 'd')
	} else {
		out = append(out, 'i')
	}
	if x.standardJA4 {
		nExt := 0
		for _, e := range ch.exts {
			if !grease(e) {
				nExt++
			}
		}
		out = appendTwoDigits(out, len(vals))
		out = appendTwoDigits(out, nExt)
	} else {
		// ipfixprobe counts every extension, GREASE included.
		out = strconv.AppendUint(out, uint64(min(len(vals), 99)), 10)
		out = strconv.AppendUint(out, uint64(min(len(ch.exts), 99)), 10)
	}
	out = x.appendALPNLabel(out)
	out = append(out, '_')

	slices.Sort(vals)
	l := appendHexList(ch.hashBuf[:0], vals)
	out = appendHash12(out, l, len(vals) == 0)
	out = append(out, '_')

	vals = vals[:0]
	for _, e := range ch.exts {
		if e != 0x0000 && e != 0x0010 && !grease(e) {
			vals = append(vals, e)
		}
	}
	slices.Sort(vals)
	l = appendHexList(l[:0], vals)
	if x.standardJA4 {
		if len(ch.sigs) > 0 {
			l = append(l, '_')
			l = appendHexList(l, ch.sigs)
		}
		out = appendHash12(out, l, len(vals) == 0)
	} else {
		l = append(l, '_')
		l = appendHexList(l, ch.sigs)
		out = appendHash12(out, l, false)
	}
	ch.sortVals, ch.hashBuf = vals, l
	return out
}

func ja4Version(v uint16) string {
	switch v {
	case 0x0304:
		return "13"
	case 0x0303:
		return "12"
	case 0x0302:
		return "11"
	case 0x0301:
		return "10"
	case 0x0300:
		return "s3"
	case 0x0002:
		return "s2"
	case 0xfeff:
		return "d1"
	case 0xfefd:
		return "d2"
	case 0xfefc:
		return "d3"
	}
	return "00"
}

// appendALPNLabel appends JA4's two ALPN characters from the ClientHello's
// first protocol.
func (x *tlsPlugin) appendALPNLabel(out []byte) []byte {
	a := x.ch.firstALPN
	if x.ch.alpnEntries == 0 || len(a) == 0 {
		return append(out, "00"...)
	}
	first, last := a[0], a[len(a)-1]
	if x.standardJA4 {
		if isAlnum(first) && isAlnum(last) {
			return append(out, first, last)
		}
		const digits = "0123456789abcdef"
		return append(out, digits[first>>4], digits[last&15])
	}
	// ipfixprobe: each end on its own; a non-alphanumeric first byte gives
	// its high nibble, a last byte its low nibble, in uppercase hex; bytes
	// of 0x80 and up were sign-extended in C, which maps their high nibble
	// to '/', '0', ..., '6'.
	const digits = "0123456789ABCDEF"
	switch {
	case isAlnum(first):
		out = append(out, first)
	case first >= 0x80:
		out = append(out, "/0123456"[first>>4-8])
	default:
		out = append(out, digits[first>>4])
	}
	if isAlnum(last) {
		return append(out, last)
	}
	return append(out, digits[last&15])
}

func appendTwoDigits(dst []byte, n int) []byte {
	n = min(n, 99)
	return append(dst, byte('0'+n/10), byte('0'+n%10))
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func appendHexList(dst []byte, vs []uint16) []byte {
	for i, v := range vs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendHex16(dst, v)
	}
	return dst
}

func appendHex16(dst []byte, v uint16) []byte {
	const digits = "0123456789abcdef"
	return append(dst, digits[v>>12], digits[v>>8&15], digits[v>>4&15], digits[v&15])
}

// appendHash12 appends the first 12 hex digits of sha256(b), or twelve
// zeros when empty is set.
func appendHash12(dst, b []byte, empty bool) []byte {
	if empty {
		return append(dst, "000000000000"...)
	}
	sum := sha256.Sum256(b)
	var h [12]byte
	hex.Encode(h[:], sum[:6])
	return append(dst, h[:]...)
}

// serverHello applies a ServerHello's ALPN and supported_versions.
func (x *tlsPlugin) serverHello(s *tlsState, b []byte, off, end int) {
	s.serverParsed = true
	for {
		ext, ok := nextExtension(b, &off, end)
		if !ok {
			return
		}
		switch ext.typ {
		case 0x0010:
			saved, entries, _ := saveALPN(b, ext.start, ext.start+ext.len, x.ch.alpnBuf[:0])
			if entries > 0 {
				s.alpn.set(tlsStrBuf, saved)
			}
		case 0x002b:
			if ext.start+2 <= len(b) {
				s.version = binary.BigEndian.Uint16(b[ext.start:])
			}
		}
	}
}

func (x *tlsPlugin) Fill(f *Flow, r *unirec.Record) error {
	s := x.st.get(f.Slot)
	if s == nil || !s.attached {
		return nil
	}
	r.SetUint16(x.ids[0], s.version)
	if err := r.SetVar(x.ids[1], s.alpn.bytes()); err != nil {
		return err
	}
	if err := r.SetVar(x.ids[2], s.ja3[:]); err != nil {
		return err
	}
	if err := r.SetVar(x.ids[3], s.ja4[:s.ja4n]); err != nil {
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
