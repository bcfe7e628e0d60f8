package ipblacklist

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/flowgate/flowgate/unirec"
)

// Entry is one blacklist line: an address or prefix, the bitmap of the
// blacklists listing it, optional per-blacklist port restrictions and,
// for adaptive entries (bitmap 999), their IDs.
type Entry struct {
	Addr     u128 // IPv4 in the low 32 bits
	Bits     uint8
	V6       bool
	Bitmap   uint64
	Groups   []PortGroup
	Adaptive string
	File     string
	Line     int
}

// PortGroup restricts blacklist ID to the listed ports.
type PortGroup struct {
	ID    int
	Ports []uint16 // sorted
}

// adaptiveBitmap marks an adaptive-filter entry.
const adaptiveBitmap = 999

// u128 is an address as a 128-bit number (hi: the first 8 bytes).
type u128 struct{ hi, lo uint64 }

func (a u128) less(b u128) bool { return a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo) }

// maskOf returns the network mask of bits in a family of width w (32 or 128).
func maskOf(bits uint8, w int) u128 {
	if w == 32 {
		if bits == 0 {
			return u128{}
		}
		return u128{0, uint64(^uint32(0) << (32 - bits))}
	}
	switch {
	case bits == 0:
		return u128{}
	case bits <= 64:
		return u128{^uint64(0) << (64 - bits), 0}
	case bits == 128:
		return u128{^uint64(0), ^uint64(0)}
	}
	return u128{^uint64(0), ^uint64(0) << (128 - bits)}
}

func (a u128) and(m u128) u128 { return u128{a.hi & m.hi, a.lo & m.lo} }
func (a u128) or(m u128) u128  { return u128{a.hi | m.hi, a.lo | m.lo} }
func (a u128) not(w int) u128 {
	if w == 32 {
		return u128{0, ^a.lo & 0xFFFFFFFF}
	}
	return u128{^a.hi, ^a.lo}
}

// addrOf converts a UniRec address; v6 reports the family.
func addrOf(ip unirec.IP) (a u128, v6 bool) {
	if ip.Is4() {
		return u128{0, uint64(ip[8])<<24 | uint64(ip[9])<<16 | uint64(ip[10])<<8 | uint64(ip[11])}, false
	}
	var hi, lo uint64
	for i := range 8 {
		hi = hi<<8 | uint64(ip[i])
		lo = lo<<8 | uint64(ip[8+i])
	}
	return u128{hi, lo}, true
}

// LineError is a bad line of a blacklist file.
type LineError struct {
	File string
	Line int
	Text string
	Err  error
}

func (e *LineError) Error() string {
	return fmt.Sprintf("%s:%d: %v: %q", e.File, e.Line, e.Err, e.Text)
}

func (e *LineError) Unwrap() error { return e.Err }

// Errors and warnings of the list parser.
var (
	ErrNoComma    = errors.New("no ',' (want ADDRESS[/PREFIX],BITMAP[;ID:PORT,...]...)")
	ErrBadAddress = errors.New("bad address")
	ErrBadPrefix  = errors.New("bad prefix length")
	ErrBadBitmap  = errors.New("bad blacklist bitmap")
	ErrBadPorts   = errors.New("bad port group")
	ErrHostBits   = errors.New("address has bits set after its prefix; it never matches (as in C)")
	ErrDuplicate  = errors.New("the same prefix is on an earlier line; this line is ignored")
	ErrUnsorted   = errors.New("line out of address order; the C search (--c-search) may miss entries")
)

// Lists holds both families' entries. It is immutable once built and
// safe for concurrent lookups.
type Lists struct {
	v4, v6 family
}

// family is one address family's entries in file order, plus the
// longest-prefix-match table built from them.
type family struct {
	width   int
	entries []Entry
	starts  []u128  // elementary intervals: starts[i] .. starts[i+1]-1
	owner   []int32 // entry of each interval (longest prefix), -1 none
}

// Len returns the number of IPv4 and IPv6 entries.
func (l *Lists) Len() (v4, v6 int) {
	if l == nil {
		return 0, 0
	}
	return len(l.v4.entries), len(l.v6.entries)
}

// ParseList adds the lines of one bl_downloader file to b; each entry
// goes to its family's list whatever the file. Bad lines are returned as
// *LineError and skipped; the rest loads. err is an error reading r.
func (b *Builder) ParseList(r io.Reader, name string) (warns []error, err error) {
	var errs []error
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		raw := sc.Text()
		line := strings.TrimRight(raw, " \t\r")
		if line == "" {
			continue
		}
		e, err := parseLine(line)
		if err != nil {
			errs = append(errs, &LineError{File: name, Line: n, Text: raw, Err: err})
			continue
		}
		e.File, e.Line = name, n
		f := &b.v4
		if e.V6 {
			f = &b.v6
		}
		if k := len(f.entries); k > 0 && e.Addr.less(f.entries[k-1].Addr) && !b.unsortedSeen[boolIdx(e.V6)] {
			b.unsortedSeen[boolIdx(e.V6)] = true
			errs = append(errs, &LineError{File: name, Line: n, Text: raw, Err: ErrUnsorted})
		}
		if e.Addr.and(maskOf(e.Bits, f.width)) != e.Addr {
			errs = append(errs, &LineError{File: name, Line: n, Text: raw, Err: ErrHostBits})
		}
		f.entries = append(f.entries, e)
	}
	if err := sc.Err(); err != nil {
		return errs, fmt.Errorf("%s: %w", name, err)
	}
	return errs, nil
}

func boolIdx(b bool) int {
	if b {
		return 1
	}
	return 0
}

// parseLine reads "ADDRESS[/PREFIX],BITMAP[,ADAPTIVE_IDS][;ID:PORT[,PORT]...]...".
func parseLine(line string) (Entry, error) {
	var e Entry
	head, groups, hasGroups := strings.Cut(line, ";")
	ipText, rest, ok := strings.Cut(head, ",")
	if !ok {
		return e, ErrNoComma
	}
	addrText, prefText, hasPrefix := strings.Cut(ipText, "/")
	ip, err := unirec.ParseIP(addrText)
	if err != nil {
		return e, fmt.Errorf("%w %q", ErrBadAddress, addrText)
	}
	e.Addr, e.V6 = addrOf(ip)
	width := 32
	if e.V6 {
		width = 128
	}
	e.Bits = uint8(width)
	if hasPrefix {
		p, err := strconv.ParseUint(prefText, 10, 8)
		if err != nil || int(p) > width {
			return e, fmt.Errorf("%w %q (0..%d)", ErrBadPrefix, prefText, width)
		}
		e.Bits = uint8(p)
	}
	bmText, adaptive, hasAdaptive := strings.Cut(rest, ",")
	if e.Bitmap, err = strconv.ParseUint(bmText, 10, 64); err != nil {
		return e, fmt.Errorf("%w %q", ErrBadBitmap, bmText)
	}
	if hasAdaptive {
		if e.Bitmap != adaptiveBitmap {
			return e, fmt.Errorf("%w: text after the bitmap %q (only adaptive entries, bitmap 999, carry IDs there)", ErrBadBitmap, bmText)
		}
		e.Adaptive = adaptive
	}
	if hasGroups {
		if e.Groups, err = parseGroups(groups); err != nil {
			return e, err
		}
	}
	return e, nil
}

// parseGroups reads "ID:PORT[,PORT]..." groups separated by ';'. Every
// group is honoured (C reads only the first).
func parseGroups(s string) ([]PortGroup, error) {
	var out []PortGroup
	for g := range strings.SplitSeq(s, ";") {
		if g == "" {
			continue
		}
		idText, portsText, ok := strings.Cut(g, ":")
		if !ok {
			return nil, fmt.Errorf("%w %q: no ':'", ErrBadPorts, g)
		}
		id, err := strconv.ParseUint(idText, 10, 8)
		if err != nil || id < 1 || id > 64 {
			return nil, fmt.Errorf("%w %q: blacklist ID %q (1..64)", ErrBadPorts, g, idText)
		}
		pg := PortGroup{ID: int(id)}
		for p := range strings.SplitSeq(portsText, ",") {
			v, err := strconv.ParseUint(p, 10, 16)
			if err != nil {
				return nil, fmt.Errorf("%w %q: port %q", ErrBadPorts, g, p)
			}
			pg.Ports = append(pg.Ports, uint16(v))
		}
		slices.Sort(pg.Ports)
		out = append(out, pg)
	}
	return out, nil
}

// Builder collects the entries of one or more list files.
type Builder struct {
	v4, v6       family
	unsortedSeen [2]bool
}

// NewBuilder returns an empty builder.
func NewBuilder() *Builder {
	return &Builder{v4: family{width: 32}, v6: family{width: 128}}
}

// Build returns the lists with their longest-prefix-match tables. A
// prefix listed twice keeps its first line; the later ones are reported.
func (b *Builder) Build() (*Lists, []error) {
	var errs []error
	l := &Lists{v4: b.v4, v6: b.v6}
	errs = append(errs, l.v4.build()...)
	errs = append(errs, l.v6.build()...)
	return l, errs
}

// build computes the elementary intervals of the family's prefixes, each
// owned by the longest prefix covering it. Entries with host bits set
// never match and are left out, as C never matches them.
func (f *family) build() []error {
	type span struct {
		start, end u128
		bits       uint8
		idx        int32
	}
	var errs []error
	spans := make([]span, 0, len(f.entries))
	for i, e := range f.entries {
		m := maskOf(e.Bits, f.width)
		if e.Addr.and(m) != e.Addr {
			continue
		}
		spans = append(spans, span{e.Addr, e.Addr.or(m.not(f.width)), e.Bits, int32(i)})
	}
	slices.SortStableFunc(spans, func(a, b span) int {
		switch {
		case a.start.less(b.start):
			return -1
		case b.start.less(a.start):
			return 1
		}
		return int(a.bits) - int(b.bits)
	})
	f.starts, f.owner = f.starts[:0], f.owner[:0]
	put := func(at u128, owner int32) {
		n := len(f.starts)
		if n > 0 && f.starts[n-1] == at {
			f.owner[n-1] = owner
			if n > 1 && f.owner[n-2] == owner {
				f.starts, f.owner = f.starts[:n-1], f.owner[:n-1]
			}
			return
		}
		if n > 0 && f.owner[n-1] == owner {
			return
		}
		f.starts = append(f.starts, at)
		f.owner = append(f.owner, owner)
	}
	maxAddr := u128{}.not(f.width)
	var stack []span
	pop := func() {
		t := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if t.end == maxAddr {
			return
		}
		next := int32(-1)
		if len(stack) > 0 {
			next = stack[len(stack)-1].idx
		}
		put(inc(t.end), next)
	}
	for i, s := range spans {
		if i > 0 && spans[i-1].start == s.start && spans[i-1].bits == s.bits {
			e, first := f.entries[s.idx], f.entries[spans[i-1].idx]
			errs = append(errs, &LineError{File: e.File, Line: e.Line, Text: fmt.Sprintf("first at %s:%d", first.File, first.Line), Err: ErrDuplicate})
			continue
		}
		for len(stack) > 0 && stack[len(stack)-1].end.less(s.start) {
			pop()
		}
		put(s.start, s.idx)
		stack = append(stack, s)
	}
	for len(stack) > 0 {
		pop()
	}
	return errs
}

func inc(a u128) u128 {
	a.lo++
	if a.lo == 0 {
		a.hi++
	}
	return a
}

// lookup returns the entry with the longest prefix containing a.
func (f *family) lookup(a u128) *Entry {
	lo, hi := 0, len(f.starts)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if a.less(f.starts[m]) {
			hi = m
		} else {
			lo = m + 1
		}
	}
	if lo == 0 || f.owner[lo-1] < 0 {
		return nil
	}
	return &f.entries[f.owner[lo-1]]
}

// lookupC is the C module's binary search over the file order: at every
// step the address is masked with the middle entry's prefix and compared
// with its address; the first equal entry wins. It can miss a containing
// prefix when prefixes of different lengths interleave. Masks are correct
// for every prefix length (C's IPv6 masks are wrong when the length is
// not a multiple of 8).
func (f *family) lookupC(a u128) *Entry {
	lo, hi := 0, len(f.entries)-1
	for lo <= hi {
		mid := int(uint(lo+hi) >> 1)
		e := &f.entries[mid]
		m := a.and(maskOf(e.Bits, f.width))
		ea := e.Addr
		if f.width == 128 && e.Bits <= 64 {
			m.lo, ea.lo = 0, 0 // C compares the first 8 bytes only
		}
		switch {
		case ea.less(m):
			lo = mid + 1
		case m.less(ea):
			hi = mid - 1
		default:
			return e
		}
	}
	return nil
}

// LoadFiles reads the IPv4 and IPv6 list files ("" skips one). Both may
// hold entries of either family. A file that cannot be read is an error
// (the caller decides whether a missing IPv6 file is fatal); bad lines
// and warnings come back in warns.
func LoadFiles(paths ...string) (l *Lists, warns []error, err error) {
	b := NewBuilder()
	for _, p := range paths {
		if p == "" {
			continue
		}
		fh, err := os.Open(p)
		if err != nil {
			return nil, warns, fmt.Errorf("blacklist: %w", err)
		}
		w, err := b.ParseList(fh, p)
		fh.Close()
		warns = append(warns, w...)
		if err != nil {
			return nil, warns, fmt.Errorf("blacklist: %w", err)
		}
	}
	l, bw := b.Build()
	return l, append(warns, bw...), nil
}
