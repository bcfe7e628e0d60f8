package nfdump

// maxShapeElems bounds the element count of a cached shape; nfcapd writes
// 5 to 10 elements per record.
const maxShapeElems = 16

// v3Shape is the element layout of the last V3 record the Iterator decoded:
// its size and the header word (id, length) of every element at its offset.
// Records of one exporter template share their layout, so most records
// match the previous one: decode then checks the element headers at their
// known offsets (independent loads instead of a walk whose every step
// depends on the length read before) and reads the fields at fixed
// payload offsets. A record that does not match is decoded by decodeV3,
// which also validates it, and becomes the new shape.
type v3Shape struct {
	n    int // elements; 0: no shape cached
	size int // record size in bytes
	hdr  [maxShapeElems]uint32
	off  [maxShapeElems]uint16 // offset of each element header in the record

	elements uint64
	// payload offsets of the elements read inline; 0: absent
	generic, ipv4, ipv6, misc, as, nextHop4, bgpNextHop4, received4 int
	miscLen                                                         int
	// the other elements known to decodeElement, in record order
	nOther    int
	otherID   [maxShapeElems]uint8
	otherOff  [maxShapeElems]uint16
	otherSize [maxShapeElems]uint16
}

// v3Shapes caches the two most recent record layouts: exporters that mix
// IPv4 and IPv6 flows alternate between two.
type v3Shapes struct {
	s    [2]v3Shape
	last int // slot of the last record
}

// decode decodes the V3 record b into r like decodeV3, taking the fast path
// when b has a cached shape.
func (c *v3Shapes) decode(b []byte, r *Record) (int, error) {
	if !r.v1 {
		if sh := &c.s[c.last]; sh.n > 0 && len(b) == sh.size && sh.matches(b) {
			sh.fill(b, r)
			return 0, nil
		}
		if sh := &c.s[1-c.last]; sh.n > 0 && len(b) == sh.size && sh.matches(b) {
			c.last = 1 - c.last
			sh.fill(b, r)
			return 0, nil
		}
	}
	roff, err := decodeV3(b, r)
	if err != nil {
		return roff, err
	}
	c.last = 1 - c.last
	c.s[c.last].learn(b)
	return 0, nil
}

// matches reports whether b (of sh.size bytes) has the cached element
// headers at the cached offsets, and so the same elements and lengths.
func (sh *v3Shape) matches(b []byte) bool {
	if int(le16(b[4:6])) != sh.n {
		return false
	}
	for i := 0; i < sh.n; i++ {
		o := int(sh.off[i])
		if le32(b[o:o+4]) != sh.hdr[i] {
			return false
		}
	}
	return true
}

// learn caches the shape of b, a V3 record decodeV3 accepted. Records with
// more elements than maxShapeElems, an element id twice or both the IPv4
// and the IPv6 form of an address (the later one wins in decodeV3) are not
// cached.
func (sh *v3Shape) learn(b []byte) {
	*sh = v3Shape{size: len(b)}
	n := int(le16(b[4:6]))
	if n > maxShapeElems {
		return
	}
	off := v3HeaderSize
	for i := 0; i < n; i++ {
		id := int(le16(b[off : off+2]))
		l := int(le16(b[off+2 : off+4]))
		if id < 64 {
			if sh.elements&(1<<uint(id)) != 0 {
				sh.n = 0
				return
			}
			sh.elements |= 1 << uint(id)
		}
		sh.hdr[i], sh.off[i] = le32(b[off:off+4]), uint16(off)
		p := off + elemHeaderSize
		switch id {
		case elGeneric:
			sh.generic = p
		case elIPv4:
			sh.ipv4 = p
		case elIPv6:
			sh.ipv6 = p
		case elMisc:
			sh.misc, sh.miscLen = p, l-elemHeaderSize
		case elAS:
			sh.as = p
		case elNextHop4:
			sh.nextHop4 = p
		case elBgpNextHop4:
			sh.bgpNextHop4 = p
		case elReceived4:
			sh.received4 = p
		default:
			if id < len(elemMin) {
				sh.otherID[sh.nOther] = uint8(id)
				sh.otherOff[sh.nOther] = uint16(p)
				sh.otherSize[sh.nOther] = uint16(l - elemHeaderSize)
				sh.nOther++
			}
		}
		off += l
	}
	for _, g := range []uint64{grpAddr, grpNextHop, grpBgpNH, grpReceived} {
		if sh.elements&g == g {
			return // both forms of an address: record order decides
		}
	}
	sh.n = n
}

// fill decodes b, which matches the shape, into r: the same fields decodeV3
// writes, read at the cached offsets.
func (sh *v3Shape) fill(b []byte, r *Record) {
	prev := r.Elements
	r.setV3Header((*[v3HeaderSize]byte)(b))
	if o := sh.generic; o > 0 {
		r.setGeneric((*[48]byte)(b[o:]))
	}
	if o := sh.ipv4; o > 0 {
		r.setIPv4((*[8]byte)(b[o:]))
	}
	if o := sh.ipv6; o > 0 {
		a := (*[32]byte)(b[o:])
		r.SrcIP = ip6(a[0:16])
		r.DstIP = ip6(a[16:32])
	}
	if o := sh.misc; o > 0 {
		r.setMisc(b[o : o+sh.miscLen])
	}
	if o := sh.as; o > 0 {
		r.setAS((*[8]byte)(b[o:]))
	}
	if o := sh.nextHop4; o > 0 {
		r.NextHop = ip4((*[4]byte)(b[o:])[:])
	}
	if o := sh.bgpNextHop4; o > 0 {
		r.BgpNextHop = ip4((*[4]byte)(b[o:])[:])
	}
	if o := sh.received4; o > 0 {
		r.RouterIP = ip4((*[4]byte)(b[o:])[:])
	}
	for i := 0; i < sh.nOther; i++ {
		o := int(sh.otherOff[i])
		decodeElement(int(sh.otherID[i]), b[o:o+int(sh.otherSize[i])], r)
	}
	r.Elements = sh.elements
	if prev&^sh.elements != 0 {
		r.clearStale(prev)
	}
}
