package bruteforce

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/flowgate/flowgate/unirec"
)

// Whitelist holds the rules of a whitelist file (detectors.md §4.10):
// "[src |dst ]IP/prefix[/ports]" lines. A src rule matches the attacker's
// address and port, a dst rule the victim's address and service port,
// a rule without direction both. A lookup hits when any rule whose
// prefix contains the address covers the port (all ports when the rule
// lists none). The zero value and nil are empty whitelists.
//
// It is immutable once parsed and safe for concurrent lookups.
type Whitelist struct {
	src, dst [2]prefixSet // [0] IPv4, [1] IPv6
	rules    int
}

// prefixSet maps masked prefixes of one family to their port sets.
type prefixSet struct {
	lens []uint8 // distinct prefix lengths present, longest first
	m    map[prefixKey]*portSet
}

type prefixKey struct {
	addr [16]byte // IPv4 in bytes 0..3
	bits uint8
}

// portSet is a rule node's ports: all, or disjoint inclusive ranges.
type portSet struct {
	all    bool
	ranges []portRange // sorted, disjoint
}

type portRange struct{ lo, hi uint16 }

// Len returns the number of rules loaded.
func (w *Whitelist) Len() int {
	if w == nil {
		return 0
	}
	return w.rules
}

// Whitelisted reports whether the flow from a:aPort to b:bPort is
// whitelisted: a in the src rules or b in the dst rules (the C module's
// isWhitelisted; the family is taken from a).
func (w *Whitelist) Whitelisted(a, b unirec.IP, aPort, bPort uint16) bool {
	if w == nil || w.rules == 0 {
		return false
	}
	f := 1
	if a.Is4() {
		f = 0
	}
	return w.src[f].match(a, f, aPort) || w.dst[f].match(b, f, bPort)
}

func key(ip unirec.IP, family int, bits uint8) prefixKey {
	var k prefixKey
	if family == 0 {
		copy(k.addr[:4], ip[8:12])
	} else {
		k.addr = ip
	}
	maskBits(&k.addr, bits)
	k.bits = bits
	return k
}

// maskBits clears every bit after the first bits.
func maskBits(a *[16]byte, bits uint8) {
	for i := range a {
		switch b := int(bits) - 8*i; {
		case b >= 8:
		case b <= 0:
			a[i] = 0
		default:
			a[i] &= ^byte(0xFF >> b)
		}
	}
}

func (s *prefixSet) match(ip unirec.IP, family int, port uint16) bool {
	for _, l := range s.lens {
		if ps, ok := s.m[key(ip, family, l)]; ok && ps.contains(port) {
			return true
		}
	}
	return false
}

func (p *portSet) contains(port uint16) bool {
	if p.all {
		return true
	}
	for _, r := range p.ranges {
		if port < r.lo {
			return false
		}
		if port <= r.hi {
			return true
		}
	}
	return false
}

// add inserts a range unless it overlaps one already present: the C
// module keeps ranges in a set whose ordering makes overlapping ranges
// equal, so an overlapping range is silently dropped. It reports whether
// the range was kept.
func (p *portSet) add(r portRange) bool {
	i := 0
	for i < len(p.ranges) && p.ranges[i].hi < r.lo {
		i++
	}
	if i < len(p.ranges) && p.ranges[i].lo <= r.hi {
		return false
	}
	p.ranges = append(p.ranges, portRange{})
	copy(p.ranges[i+1:], p.ranges[i:])
	p.ranges[i] = r
	return true
}

func (s *prefixSet) insert(k prefixKey, ports []portRange, all bool) (dropped int) {
	if s.m == nil {
		s.m = make(map[prefixKey]*portSet)
	}
	ps, ok := s.m[k]
	if !ok {
		ps = &portSet{}
		s.m[k] = ps
		i := 0
		for i < len(s.lens) && s.lens[i] > k.bits {
			i++
		}
		if i == len(s.lens) || s.lens[i] != k.bits {
			s.lens = append(s.lens, 0)
			copy(s.lens[i+1:], s.lens[i:])
			s.lens[i] = k.bits
		}
	}
	if all {
		ps.all = true
		return 0
	}
	for _, r := range ports {
		if !ps.add(r) {
			dropped++
		}
	}
	return dropped
}

// Errors of the whitelist parser.
var (
	ErrShortLine = errors.New("line shorter than 4 characters")
	ErrNoPrefix  = errors.New("missing /prefix")
	ErrBadIP     = errors.New("bad IP address")
	ErrBadPrefix = errors.New("bad prefix length")
	ErrBadPorts  = errors.New("bad port list")
)

// ParseWhitelist reads a whitelist file. A bad line is returned as a
// *LineError and skipped; the rest loads. If verbose is not nil, every
// rule and every range dropped for overlapping is described to it (the
// C module's -W). An error reading r is returned last.
func ParseWhitelist(r io.Reader, name string, verbose io.Writer) (*Whitelist, []error) {
	w := &Whitelist{}
	var errs []error
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		raw := sc.Text()
		line := strings.TrimRight(raw, "\r")
		if line == "" || line[0] == '#' {
			continue
		}
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		if err := w.addLine(line, verbose); err != nil {
			errs = append(errs, &LineError{File: name, Line: n, Text: raw, Err: err})
			if verbose != nil {
				fmt.Fprintf(verbose, "whitelist %s:%d: skipped: %v\n", name, n, err)
			}
		}
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", name, err))
	}
	return w, errs
}

func (w *Whitelist) addLine(line string, verbose io.Writer) error {
	if len(line) < 4 {
		return ErrShortLine
	}
	toSrc, toDst := true, true
	switch line[:3] {
	case "src":
		toDst, line = false, line[4:]
	case "dst":
		toSrc, line = false, line[4:]
	}
	ipText, rest, ok := strings.Cut(line, "/")
	if !ok {
		return ErrNoPrefix
	}
	ip, err := unirec.ParseIP(ipText)
	if err != nil || ipText == "" || ipText[0] == ' ' {
		return fmt.Errorf("%w %q", ErrBadIP, ipText)
	}
	prefText, portText, hasPorts := strings.Cut(rest, "/")
	bits, ok := atoi(prefText)
	family, maxBits := 1, 128
	if ip.Is4() {
		family, maxBits = 0, 32
	}
	if !ok || bits > maxBits {
		return fmt.Errorf("%w %q (0..%d)", ErrBadPrefix, prefText, maxBits)
	}
	var ports []portRange
	if hasPorts {
		if ports, err = parsePorts(portText); err != nil {
			return err
		}
	}
	k := key(ip, family, uint8(bits))
	dropped := 0
	if toSrc {
		dropped += w.src[family].insert(k, ports, !hasPorts)
	}
	if toDst {
		dropped += w.dst[family].insert(k, ports, !hasPorts)
	}
	w.rules++
	if verbose != nil {
		dir := "src+dst"
		if !toSrc {
			dir = "dst"
		} else if !toDst {
			dir = "src"
		}
		pt := "all ports"
		if hasPorts {
			pt = "ports " + portText
		}
		fmt.Fprintf(verbose, "whitelist: %s %s/%d %s", dir, ip, bits, pt)
		if dropped > 0 {
			fmt.Fprintf(verbose, " (%d overlapping range(s) dropped, as in C)", dropped)
		}
		fmt.Fprintln(verbose)
	}
	return nil
}

// atoi reads a decimal number as C's atoi reads a well-formed one:
// leading blanks and trailing text after the digits are allowed, but
// there must be a digit (C would read 0 from garbage).
func atoi(s string) (int, bool) {
	s = strings.TrimLeft(s, " \t")
	n, i := 0, 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		n = n*10 + int(s[i]-'0')
		if n > 1<<20 {
			return 0, false
		}
	}
	if i == 0 || strings.TrimSpace(s[i:]) != "" {
		return 0, false
	}
	return n, true
}

// parsePorts reads "N" and "A-B" items separated by commas; empty items
// are ignored, an empty list or an open range ("80-") is an error.
func parsePorts(s string) ([]portRange, error) {
	var out []portRange
	for item := range strings.SplitSeq(s, ",") {
		if strings.TrimSpace(item) == "" {
			continue
		}
		loText, hiText, isRange := strings.Cut(item, "-")
		lo, ok := atoi(loText)
		hi := lo
		if ok && isRange {
			hi, ok = atoi(hiText)
		}
		if !ok || lo > 0xFFFF || hi > 0xFFFF || lo > hi {
			return nil, fmt.Errorf("%w: item %q", ErrBadPorts, item)
		}
		out = append(out, portRange{uint16(lo), uint16(hi)})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrBadPorts)
	}
	return out, nil
}
