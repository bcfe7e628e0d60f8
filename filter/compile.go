package filter

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/flowgate/flowgate/unirec"
)

var le = binary.LittleEndian

// pred is a compiled (sub)expression over one record's bytes.
type pred func(d []byte) bool

func constPred(v bool) pred { return func([]byte) bool { return v } }

// Program is an expression compiled for one template. Match reads fields
// at offsets fixed at compile time and allocates nothing. A Program is
// immutable and safe for concurrent use.
type Program struct {
	t     *unirec.Template
	match pred // nil: matches everything
}

// Template returns the template the program was compiled for.
func (p *Program) Template() *unirec.Template { return p.t }

// Match reports whether the record (of the program's template) passes.
func (p *Program) Match(r unirec.Record) bool { return p.MatchData(r.Data) }

// MatchData is Match for a record's raw bytes (a received message).
func (p *Program) MatchData(d []byte) bool {
	if p.match == nil {
		return true
	}
	return p.match(d)
}

// Warning is a term that compiled to "always false" for a template, as
// liburfilter warns about it: a missing field or a literal that does not
// fit the field's type. Col is the term's 1-based column.
type Warning struct {
	Col int
	Msg string
}

func (w Warning) String() string { return fmt.Sprintf("column %d: %s", w.Col, w.Msg) }

// CompileError is a term that cannot be compiled for a template (an array
// element the field's type cannot hold, an array on a field type without
// arrays). liburfilter treats it as a syntax error.
type CompileError struct {
	Col int
	Msg string
}

func (e *CompileError) Error() string { return fmt.Sprintf("filter: column %d: %s", e.Col, e.Msg) }

// Compile builds the program of e for records of t. Terms that can never
// be true for t are reported as warnings and compile to false.
func (e *Expr) Compile(t *unirec.Template) (*Program, []Warning, error) {
	c := &compiler{t: t}
	p := &Program{t: t}
	if e.root == nil {
		return p, nil, nil
	}
	m, err := c.node(e.root)
	if err != nil {
		return nil, c.warnings, err
	}
	p.match = m
	return p, c.warnings, nil
}

// MustCompile is Parse and Compile for expressions known to be valid
// (tests, fixed configuration); it panics on error.
func MustCompile(src string, t *unirec.Template) *Program {
	e, err := Parse(src)
	if err != nil {
		panic(err)
	}
	p, _, err := e.Compile(t)
	if err != nil {
		panic(err)
	}
	return p
}

type compiler struct {
	t        *unirec.Template
	warnings []Warning
}

func (c *compiler) warnf(col int, format string, args ...any) pred {
	c.warnings = append(c.warnings, Warning{Col: col, Msg: fmt.Sprintf(format, args...)})
	return constPred(false)
}

func (c *compiler) node(n node) (pred, error) {
	switch n := n.(type) {
	case boolNode:
		return constPred(n.v), nil
	case parNode:
		return c.node(n.x)
	case notNode:
		x, err := c.node(n.x)
		if err != nil {
			return nil, err
		}
		return func(d []byte) bool { return !x(d) }, nil
	case binNode:
		l, err := c.node(n.l)
		if err != nil {
			return nil, err
		}
		r, err := c.node(n.r)
		if err != nil {
			return nil, err
		}
		if n.and {
			return func(d []byte) bool { return l(d) && r(d) }, nil
		}
		return func(d []byte) bool { return l(d) || r(d) }, nil
	case *termNode:
		return c.term(n)
	}
	return nil, fmt.Errorf("filter: unknown node %T", n)
}

func (c *compiler) term(n *termNode) (pred, error) {
	switch n.subj {
	case subjProtocol:
		return c.fieldTerm(n, "PROTOCOL", tNumber)
	case subjPort:
		return c.either(n, "SRC_PORT", "DST_PORT")
	case subjHost:
		return c.host(n)
	}
	return c.fieldTerm(n, n.field, n.lit.kind)
}

// either is port: the term on SRC_PORT or on DST_PORT; false unless the
// template has both.
func (c *compiler) either(n *termNode, src, dst string) (pred, error) {
	for _, name := range []string{src, dst} {
		if _, ok := c.t.Lookup(name); !ok {
			return c.warnf(n.col, "%s is not in the template; %s is always false", name, n.String()), nil
		}
	}
	s, err := c.fieldTerm(n, src, n.lit.kind)
	if err != nil {
		return nil, err
	}
	d, err := c.fieldTerm(n, dst, n.lit.kind)
	if err != nil {
		return nil, err
	}
	return func(b []byte) bool { return s(b) || d(b) }, nil
}

// host compares SRC_IP and DST_IP with an address or prefix as liburfilter
// does: the two comparisons are merged into one three-way result (equal
// if either is equal, else less if either is less, else greater) that the
// operator then tests. With a prefix, a SRC_IP of the other family decides
// alone (as for a single field), and a DST_IP of the other family counts
// as less. "in [...]" holds if it holds for either field.
func (c *compiler) host(n *termNode) (pred, error) {
	sid, ok := c.t.Lookup("SRC_IP")
	if !ok {
		return c.warnf(n.col, "SRC_IP is not in the template; %s is always false", n.String()), nil
	}
	did, ok := c.t.Lookup("DST_IP")
	if !ok {
		c.warnf(n.col, "DST_IP is not in the template; %s considers only SRC_IP", n.String())
		return c.fieldTerm(n, "SRC_IP", n.lit.kind)
	}
	sf, df := c.t.Field(sid), c.t.Field(did)
	if sf.Type != unirec.IPAddr || df.Type != unirec.IPAddr {
		return c.warnf(n.col, "SRC_IP or DST_IP is not ipaddr; %s is always false", n.String()), nil
	}
	if n.op == opBad {
		return c.warnf(n.col, "invalid comparison operator in %s; it is always false", n.String()), nil
	}
	so, do := sf.Offset, df.Offset
	text := n.lit.text
	switch n.lit.kind {
	case tArray:
		s, err := c.fieldTerm(n, "SRC_IP", tArray)
		if err != nil {
			return nil, err
		}
		d, err := c.fieldTerm(n, "DST_IP", tArray)
		if err != nil {
			return nil, err
		}
		return func(b []byte) bool { return s(b) || d(b) }, nil
	case tString:
		text = n.str
	}
	if !strings.Contains(text, "/") {
		ip, err := unirec.ParseIP(text)
		if err != nil {
			return c.warnf(n.col, "%q is not a valid IP address; %s is always false", text, n.String()), nil
		}
		rel := func(d []byte) int {
			return merge3(bytes.Compare(d[so:so+16], ip[:]), bytes.Compare(d[do:do+16], ip[:]))
		}
		return ordered(n.op, rel, 0), nil
	}
	net, mask, err := parsePrefix(text)
	if err != nil {
		return c.warnf(n.col, "%q is not a valid IP subnet; %s is always false", text, n.String()), nil
	}
	v4 := net.Is4()
	return netOp(n.op, func(d []byte) (bool, int) {
		if unirec.IP(d[so:so+16]).Is4() != v4 {
			return false, 0
		}
		c2 := -1
		if unirec.IP(d[do:do+16]).Is4() == v4 {
			c2 = maskedCompare(d[do:do+16], &mask, &net)
		}
		return true, merge3(maskedCompare(d[so:so+16], &mask, &net), c2)
	}), nil
}

// merge3 merges two three-way results the way liburfilter's host does.
func merge3(a, b int) int {
	switch {
	case a == 0 || b == 0:
		return 0
	case a < 0 || b < 0:
		return -1
	}
	return 1
}

// fieldTerm compiles "name op literal" where the literal is of kind k.
func (c *compiler) fieldTerm(n *termNode, name string, k tokKind) (pred, error) {
	id, ok := c.t.Lookup(name)
	if !ok {
		return c.warnf(n.col, "%s is not in the template; %s is always false", name, n.String()), nil
	}
	f := c.t.Field(id)
	if n.op == opBad {
		return c.warnf(n.col, "invalid comparison operator in %s; it is always false", n.String()), nil
	}
	notFit := func(what string) (pred, error) {
		return c.warnf(n.col, "%s is %s, not %s; %s is always false", name, f.Type, what, n.String()), nil
	}
	switch k {
	case tNumber, tSigned, tProtoName, tString:
		if k == tString && n.subj != subjProtocol {
			return c.stringTerm(n, f, notFit)
		}
		switch f.Type {
		case unirec.Uint8, unirec.Uint16, unirec.Uint32, unirec.Uint64, unirec.Int8:
			return ordered(n.op, uintReader(f), uint64(n.num)), nil
		case unirec.Int16, unirec.Int32, unirec.Int64:
			return ordered(n.op, intReader(f), n.num), nil
		case unirec.TimeT:
			return notFit("compared with a date and time")
		}
		return notFit("an integer")
	case tFloat:
		switch f.Type {
		case unirec.Double, unirec.Float:
			return floatPred(n.op, doubleReader(f), n.fnum), nil
		}
		return notFit("a float or double")
	case tIP:
		if f.Type != unirec.IPAddr {
			return notFit("an IP address")
		}
		ip, err := unirec.ParseIP(n.lit.text)
		if err != nil {
			return nil, &CompileError{Col: n.lit.col, Msg: err.Error()}
		}
		return ipPred(n.op, f.Offset, ip), nil
	case tIPNet:
		if f.Type != unirec.IPAddr {
			return notFit("an IP address")
		}
		net, mask, err := parsePrefix(n.lit.text)
		if err != nil {
			return nil, &CompileError{Col: n.lit.col, Msg: err.Error()}
		}
		return netPred(n.op, f.Offset, net, mask), nil
	case tDatetime:
		if f.Type != unirec.TimeT {
			return notFit("a date and time")
		}
		tm, err := unirec.ParseTime(n.lit.text)
		if err != nil {
			return nil, &CompileError{Col: n.lit.col, Msg: err.Error()}
		}
		return ordered(n.op, uintReader(f), uint64(tm)), nil
	case tArray:
		return c.arrayTerm(n, f)
	}
	return nil, &CompileError{Col: n.lit.col, Msg: fmt.Sprintf("unexpected %s", n.lit.kind)}
}

// stringTerm is "field ==|!=|=~ 'string'" on a string, bytes or char
// field (an address or time in double quotes is lexed as that literal).
func (c *compiler) stringTerm(n *termNode, f unirec.Field, notFit func(string) (pred, error)) (pred, error) {
	s := n.str
	switch f.Type {
	case unirec.Char:
		off := f.Offset
		if len(s) != 1 {
			return constPred(n.op != opEQ), nil
		}
		ch := s[0]
		if n.op == opEQ {
			return func(d []byte) bool { return d[off] == ch }, nil
		}
		return func(d []byte) bool { return d[off] != ch }, nil
	case unirec.String, unirec.Bytes:
		get := varReader(c.t, f)
		lit := []byte(s)
		switch n.op {
		case opEQ:
			return func(d []byte) bool { return bytes.Equal(get(d), lit) }, nil
		case opNE:
			return func(d []byte) bool { return !bytes.Equal(get(d), lit) }, nil
		}
		re := n.re
		return func(d []byte) bool { return re.Match(get(d)) }, nil
	}
	return notFit("a string")
}

// arrayTerm is "field in [a, b, ...]": elements are read as the field's
// type, sorted, and looked up by binary search.
func (c *compiler) arrayTerm(n *termNode, f unirec.Field) (pred, error) {
	switch f.Type {
	case unirec.Uint8, unirec.Uint16, unirec.Uint32, unirec.Uint64, unirec.Int8,
		unirec.Int16, unirec.Int32, unirec.Int64:
		signed := f.Type == unirec.Int8 || f.Type == unirec.Int16 || f.Type == unirec.Int32 || f.Type == unirec.Int64
		vals := make([]uint64, len(n.elems))
		for i, e := range n.elems {
			vals[i] = strtoullPrefix(e, signed)
		}
		if signed {
			return inTruncated(vals, zeroExtReader(f)), nil
		}
		return inSorted(vals, uintReader(f)), nil
	case unirec.Float, unirec.Double:
		vals := make([]float64, len(n.elems))
		for i, e := range n.elems {
			vals[i] = strtodPrefix(e)
		}
		return inSorted(vals, exactFloatReader(f)), nil
	case unirec.TimeT:
		vals := make([]uint64, len(n.elems))
		for i, e := range n.elems {
			tm, err := unirec.ParseTime(e)
			if err != nil {
				return nil, &CompileError{Col: n.lit.col, Msg: fmt.Sprintf("%s could not be loaded: want YYYY-mm-ddTHH:MM:SS.sss", e)}
			}
			vals[i] = uint64(tm)
		}
		return inSorted(vals, uintReader(f)), nil
	case unirec.IPAddr:
		return c.ipArray(n, f)
	}
	return nil, &CompileError{Col: n.lit.col, Msg: fmt.Sprintf("%s is %s, which has no \"in [...]\"", f.Name, f.Type)}
}

// ipArray: a list of addresses is searched exactly, a list of prefixes by
// the masked address of each probe; the first element decides which, and
// a plain address after a prefix is an error, as in liburfilter.
func (c *compiler) ipArray(n *termNode, f unirec.Field) (pred, error) {
	type ipNet struct{ net, mask unirec.IP }
	nets := make([]ipNet, len(n.elems))
	prefixes := strings.Contains(n.elems[0], "/")
	for i, e := range n.elems {
		var err error
		if strings.Contains(e, "/") {
			nets[i].net, nets[i].mask, err = parsePrefix(e)
		} else {
			if prefixes {
				return nil, &CompileError{Col: n.lit.col, Msg: fmt.Sprintf("address %s after a prefix: use either IP addresses or IP prefixes", e)}
			}
			nets[i].net, err = unirec.ParseIP(e)
			nets[i].mask = fullMask(nets[i].net)
		}
		if err != nil {
			return nil, &CompileError{Col: n.lit.col, Msg: fmt.Sprintf("%s is not a valid IP address", e)}
		}
	}
	slices.SortFunc(nets, func(a, b ipNet) int {
		if c := bytes.Compare(a.net[:], b.net[:]); c != 0 {
			return c
		}
		return bytes.Compare(a.mask[:], b.mask[:])
	})
	if !prefixes {
		// A list of addresses is searched exactly, even for a later
		// element written with a prefix (liburfilter keeps its mask only
		// for printing): full masks make the one search below exact.
		for i := range nets {
			nets[i].mask = fullMask(nets[i].net)
		}
	}
	off := f.Offset
	return func(d []byte) bool {
		ip := d[off : off+16]
		lo, hi := 0, len(nets)-1
		for lo <= hi {
			mid := (lo + hi) / 2
			switch c := prefixCompare(ip, &nets[mid].mask, &nets[mid].net); {
			case c == 0:
				return true
			case c < 0:
				hi = mid - 1
			default:
				lo = mid + 1
			}
		}
		return false
	}, nil
}

// ordered compares a field value with a literal by op, chosen at compile time.
func ordered[T cmp.Ordered](o op, get func([]byte) T, lit T) pred {
	switch o {
	case opEQ:
		return func(d []byte) bool { return get(d) == lit }
	case opNE:
		return func(d []byte) bool { return get(d) != lit }
	case opLT:
		return func(d []byte) bool { return get(d) < lit }
	case opGT:
		return func(d []byte) bool { return get(d) > lit }
	case opLE:
		return func(d []byte) bool { return get(d) <= lit }
	case opGE:
		return func(d []byte) bool { return get(d) >= lit }
	}
	return constPred(false)
}

// floatPred is ordered, except that == is liburfilter's |a-b| < 1.
func floatPred(o op, get func([]byte) float64, lit float64) pred {
	if o == opEQ {
		return func(d []byte) bool { return math.Abs(get(d)-lit) < 1 }
	}
	return ordered(o, get, lit)
}

func inSorted[T cmp.Ordered](vals []T, get func([]byte) T) pred {
	slices.Sort(vals)
	return func(d []byte) bool {
		_, found := slices.BinarySearch(vals, get(d))
		return found
	}
}

// inTruncated is liburfilter's "in" on signed integers: the field's bytes read as
// an unsigned number of their width, the elements as 64-bit integers,
// and both qsort and bsearch ordering by the difference truncated to a C
// int, so that values equal modulo 2^32 match. glibc's merge sort and
// binary search are reproduced step for step because that order is not
// transitive.
func inTruncated(vals []uint64, get func([]byte) uint64) pred {
	cmp := func(a, b uint64) int { return int(int32(uint32(a - b))) }
	msort(vals, make([]uint64, len(vals)), cmp)
	return func(d []byte) bool {
		key := get(d)
		lo, hi := 0, len(vals)
		for lo < hi {
			mid := (lo + hi) / 2
			switch c := cmp(key, vals[mid]); {
			case c < 0:
				hi = mid
			case c > 0:
				lo = mid + 1
			default:
				return true
			}
		}
		return false
	}
}

// msort is glibc's msort_with_tmp: top-down merge sort, first half n/2,
// taking from the left run while cmp(left, right) <= 0.
func msort(b, tmp []uint64, cmp func(a, b uint64) int) {
	n := len(b)
	if n <= 1 {
		return
	}
	n1 := n / 2
	b1, b2 := b[:n1], b[n1:]
	msort(b1, tmp, cmp)
	msort(b2, tmp, cmp)
	t := tmp[:0]
	for len(b1) > 0 && len(b2) > 0 {
		if cmp(b1[0], b2[0]) <= 0 {
			t, b1 = append(t, b1[0]), b1[1:]
		} else {
			t, b2 = append(t, b2[0]), b2[1:]
		}
	}
	t = append(t, b1...)
	copy(b, t)
}

// zeroExtReader reads an integer field as an unsigned number of its width.
func zeroExtReader(f unirec.Field) func([]byte) uint64 {
	off := f.Offset
	switch f.Type.Size() {
	case 1:
		return func(d []byte) uint64 { return uint64(d[off]) }
	case 2:
		return func(d []byte) uint64 { return uint64(le.Uint16(d[off:])) }
	case 4:
		return func(d []byte) uint64 { return uint64(le.Uint32(d[off:])) }
	}
	return func(d []byte) uint64 { return le.Uint64(d[off:]) }
}

// uintReader reads an integer or time field as uint64; signed fields are
// sign-extended.
func uintReader(f unirec.Field) func([]byte) uint64 {
	off := f.Offset
	switch f.Type {
	case unirec.Uint8:
		return func(d []byte) uint64 { return uint64(d[off]) }
	case unirec.Int8:
		return func(d []byte) uint64 { return uint64(int64(int8(d[off]))) }
	case unirec.Uint16:
		return func(d []byte) uint64 { return uint64(le.Uint16(d[off:])) }
	case unirec.Int16:
		return func(d []byte) uint64 { return uint64(int64(int16(le.Uint16(d[off:])))) }
	case unirec.Uint32:
		return func(d []byte) uint64 { return uint64(le.Uint32(d[off:])) }
	case unirec.Int32:
		return func(d []byte) uint64 { return uint64(int64(int32(le.Uint32(d[off:])))) }
	}
	return func(d []byte) uint64 { return le.Uint64(d[off:]) }
}

func intReader(f unirec.Field) func([]byte) int64 {
	u := uintReader(f)
	return func(d []byte) int64 { return int64(u(d)) }
}

// doubleReader reads the 8 bytes at the field's offset as a double, for a
// float field too (liburfilter's reading of float fields). Bytes past the
// record come from the message buffer behind it when there is one, else 0.
func doubleReader(f unirec.Field) func([]byte) float64 {
	off := f.Offset
	return func(d []byte) float64 {
		if off+8 <= len(d) {
			return math.Float64frombits(le.Uint64(d[off:]))
		}
		var b [8]byte
		copy(b[:], d[off:min(off+8, cap(d))])
		return math.Float64frombits(le.Uint64(b[:]))
	}
}

// exactFloatReader reads a float or double field by its type ("in" arrays).
func exactFloatReader(f unirec.Field) func([]byte) float64 {
	off := f.Offset
	if f.Type == unirec.Float {
		return func(d []byte) float64 { return float64(math.Float32frombits(le.Uint32(d[off:]))) }
	}
	return func(d []byte) float64 { return math.Float64frombits(le.Uint64(d[off:])) }
}

// varReader returns the bytes of a variable-length field (nil if its slot
// points outside the record).
func varReader(t *unirec.Template, f unirec.Field) func([]byte) []byte {
	off, static := f.Offset, t.StaticSize()
	return func(d []byte) []byte {
		if len(d) < static {
			return nil
		}
		start := static + int(le.Uint16(d[off:]))
		end := start + int(le.Uint16(d[off+2:]))
		if end > len(d) {
			return nil
		}
		return d[start:end]
	}
}

func ipPred(o op, off int, ip unirec.IP) pred {
	lit := ip
	get := func(d []byte) int { return bytes.Compare(d[off:off+16], lit[:]) }
	return ordered(o, get, 0)
}

// netPred compares an address with a prefix: only within the prefix's
// family, by the masked address; "<" and ">" are the negations of ">=" and
// "<=", so they hold across families.
func netPred(o op, off int, net, mask unirec.IP) pred {
	v4 := net.Is4()
	return netOp(o, func(d []byte) (bool, int) {
		ip := d[off : off+16]
		if unirec.IP(ip).Is4() != v4 {
			return false, 0
		}
		return true, maskedCompare(ip, &mask, &net)
	})
}

// netOp applies o to a prefix comparison: rel reports whether the address
// is of the prefix's family and, if so, the three-way result.
func netOp(o op, rel func(d []byte) (sameFamily bool, c int)) pred {
	switch o {
	case opEQ:
		return func(d []byte) bool { f, c := rel(d); return f && c == 0 }
	case opNE:
		return func(d []byte) bool { f, c := rel(d); return !(f && c == 0) }
	case opLE:
		return func(d []byte) bool { f, c := rel(d); return f && c <= 0 }
	case opGE:
		return func(d []byte) bool { f, c := rel(d); return f && c >= 0 }
	case opLT:
		return func(d []byte) bool { f, c := rel(d); return !(f && c >= 0) }
	case opGT:
		return func(d []byte) bool { f, c := rel(d); return !(f && c <= 0) }
	}
	return constPred(false)
}

// prefixCompare orders an address against a prefix of an array: by the
// masked address within the prefix's family, by the plain bytes across.
func prefixCompare(ip []byte, mask, net *unirec.IP) int {
	if unirec.IP(ip).Is4() != net.Is4() {
		return bytes.Compare(ip, net[:])
	}
	return maskedCompare(ip, mask, net)
}

// maskedCompare is memcmp(ip & mask, net).
func maskedCompare(ip []byte, mask, net *unirec.IP) int {
	for k := 0; k < 16; k++ {
		a, b := ip[k]&mask[k], net[k]
		if a != b {
			if a < b {
				return -1
			}
			return 1
		}
	}
	return 0
}

// parsePrefix reads "ADDR/LEN" and returns the masked network and the
// mask, both in UniRec layout (an IPv4 mask keeps the ff ff ff ff tail so
// that masking preserves the IPv4 marker).
func parsePrefix(s string) (net, mask unirec.IP, err error) {
	addr, bits, ok := strings.Cut(s, "/")
	if !ok {
		return net, mask, fmt.Errorf("%q has no /prefix length", s)
	}
	ip, err := unirec.ParseIP(addr)
	if err != nil {
		return net, mask, err
	}
	n, err := strconv.Atoi(bits)
	maxBits := 128
	if ip.Is4() {
		maxBits = 32
	}
	if err != nil || n < 0 || n > maxBits {
		return net, mask, fmt.Errorf("%q: prefix length must be 0-%d", s, maxBits)
	}
	if ip.Is4() {
		for k := 12; k < 16; k++ {
			mask[k] = 0xff
		}
		setBits(mask[8:12], n)
	} else {
		setBits(mask[:], n)
	}
	for k := range net {
		net[k] = ip[k] & mask[k]
	}
	return net, mask, nil
}

func setBits(b []byte, n int) {
	for k := range b {
		switch {
		case n >= 8:
			b[k] = 0xff
		case n > 0:
			b[k] = byte(0xff << (8 - n))
		}
		n -= 8
	}
}

func fullMask(ip unirec.IP) unirec.IP {
	if ip.Is4() {
		_, m, _ := parsePrefix(ip.String() + "/32")
		return m
	}
	var m unirec.IP
	for k := range m {
		m[k] = 0xff
	}
	return m
}

// strtoullPrefix is C strtoull/strtoll with base 10 on an array element:
// the leading integer ("1.5" is 1, "10.0.0.1" is 10), a negative value
// wrapping for unsigned fields, saturating on overflow.
func strtoullPrefix(s string, signed bool) uint64 {
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var v uint64
	over := false
	for i := 0; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		d := uint64(s[i] - '0')
		if v > (math.MaxUint64-d)/10 {
			over = true
			break
		}
		v = v*10 + d
	}
	if signed {
		switch {
		case neg && (over || v > 1<<63):
			return 1 << 63
		case neg:
			return uint64(-int64(v))
		case over || v > math.MaxInt64:
			return math.MaxInt64
		}
		return v
	}
	if over {
		return math.MaxUint64
	}
	if neg {
		return -v
	}
	return v
}

// strtodPrefix is C strtod on an array element: the leading decimal number.
func strtodPrefix(s string) float64 {
	end := 0
	if end < len(s) && s[end] == '-' {
		end++
	}
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	if end+1 < len(s) && s[end] == '.' && s[end+1] >= '0' && s[end+1] <= '9' {
		end++
		for end < len(s) && s[end] >= '0' && s[end] <= '9' {
			end++
		}
	}
	v, _ := strconv.ParseFloat(s[:end], 64)
	return v
}
