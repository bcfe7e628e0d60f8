package filter

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/flowgate/flowgate/nfdump"
)

// ErrSyntax is wrapped by every compile error.
var ErrSyntax = errors.New("nfdump filter")

type kind uint8

const (
	kAny kind = iota
	kAnd
	kOr
	kNot
	kIP
	kNet
	kPort
	kProto
	kPackets
	kBytes
)

type dir uint8

const (
	dirAny dir = iota
	dirSrc
	dirDst
)

type cmp uint8

const (
	cmpEq cmp = iota
	cmpGt
	cmpLt
	cmpGe
	cmpLe
)

// node is one operator or test; children are indices into Filter.nodes.
type node struct {
	kind   kind
	dir    dir
	cmp    cmp
	a, b   int // children of and/or/not
	addr   netip.Addr
	prefix netip.Prefix
	num    uint64
}

// Filter is a compiled filter expression; Match is safe for concurrent use.
type Filter struct {
	expr  string
	nodes []node
	root  int
}

// String returns the source expression.
func (f *Filter) String() string { return f.expr }

// Match reports whether r satisfies the filter.
func (f *Filter) Match(r *nfdump.Record) bool { return f.eval(f.root, r) }

func (f *Filter) eval(i int, r *nfdump.Record) bool {
	n := &f.nodes[i]
	switch n.kind {
	case kAny:
		return true
	case kAnd:
		return f.eval(n.a, r) && f.eval(n.b, r)
	case kOr:
		return f.eval(n.a, r) || f.eval(n.b, r)
	case kNot:
		return !f.eval(n.a, r)
	case kIP:
		return (n.dir != dirDst && r.SrcIP == n.addr) || (n.dir != dirSrc && r.DstIP == n.addr)
	case kNet:
		return (n.dir != dirDst && n.prefix.Contains(r.SrcIP)) || (n.dir != dirSrc && n.prefix.Contains(r.DstIP))
	case kPort:
		// Like nfdump, ICMP flows compare their stored ports (dst port =
		// type<<8|code).
		return (n.dir != dirDst && compare(uint64(r.SrcPort), n.cmp, n.num)) ||
			(n.dir != dirSrc && compare(uint64(r.DstPort), n.cmp, n.num))
	case kProto:
		return uint64(r.Proto) == n.num
	case kPackets:
		return compare(r.Packets, n.cmp, n.num)
	case kBytes:
		return compare(r.Bytes, n.cmp, n.num)
	}
	return false
}

func compare(v uint64, c cmp, x uint64) bool {
	switch c {
	case cmpGt:
		return v > x
	case cmpLt:
		return v < x
	case cmpGe:
		return v >= x
	case cmpLe:
		return v <= x
	}
	return v == x
}

// Compile parses expr. An empty expression matches everything.
func Compile(expr string) (*Filter, error) {
	p := &parser{f: &Filter{expr: expr}}
	if err := p.lex(expr); err != nil {
		return nil, err
	}
	if len(p.toks) == 0 {
		p.f.root = p.add(node{kind: kAny})
		return p.f, nil
	}
	root, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.toks) {
		return nil, p.errorf("unexpected %q", p.toks[p.pos].s)
	}
	p.f.root = root
	return p.f, nil
}

type token struct {
	s   string
	off int
}

type parser struct {
	f    *Filter
	toks []token
	pos  int
}

func (p *parser) lex(s string) error {
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')':
			p.toks = append(p.toks, token{s[i : i+1], i})
			i++
		case c == '!' && (i+1 >= len(s) || s[i+1] != '='):
			p.toks = append(p.toks, token{"!", i})
			i++
		case strings.HasPrefix(s[i:], "&&") || strings.HasPrefix(s[i:], "||"):
			p.toks = append(p.toks, token{s[i : i+2], i})
			i += 2
		case c == '=' || c == '<' || c == '>':
			j := i + 1
			if j < len(s) && s[j] == '=' {
				j++
			}
			p.toks = append(p.toks, token{s[i:j], i})
			i = j
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\n\r()!=<>&|", rune(s[j])) {
				j++
			}
			if j == i {
				return fmt.Errorf("%w: unexpected character %q at offset %d", ErrSyntax, c, i)
			}
			p.toks = append(p.toks, token{s[i:j], i})
			i = j
		}
	}
	return nil
}

func (p *parser) errorf(format string, args ...any) error {
	off := -1
	if p.pos < len(p.toks) {
		off = p.toks[p.pos].off
	}
	msg := fmt.Sprintf(format, args...)
	if off < 0 {
		return fmt.Errorf("%w: %s at end of expression", ErrSyntax, msg)
	}
	return fmt.Errorf("%w: %s at offset %d", ErrSyntax, msg, off)
}

func (p *parser) peek() string {
	if p.pos < len(p.toks) {
		return strings.ToLower(p.toks[p.pos].s)
	}
	return ""
}

func (p *parser) next() (string, error) {
	if p.pos >= len(p.toks) {
		return "", p.errorf("expression incomplete")
	}
	t := p.toks[p.pos].s
	p.pos++
	return t, nil
}

func (p *parser) add(n node) int {
	p.f.nodes = append(p.f.nodes, n)
	return len(p.f.nodes) - 1
}

func (p *parser) or() (int, error) {
	a, err := p.and()
	if err != nil {
		return 0, err
	}
	for t := p.peek(); t == "or" || t == "||"; t = p.peek() {
		p.pos++
		b, err := p.and()
		if err != nil {
			return 0, err
		}
		a = p.add(node{kind: kOr, a: a, b: b})
	}
	return a, nil
}

func (p *parser) and() (int, error) {
	a, err := p.not()
	if err != nil {
		return 0, err
	}
	for t := p.peek(); t == "and" || t == "&&"; t = p.peek() {
		p.pos++
		b, err := p.not()
		if err != nil {
			return 0, err
		}
		a = p.add(node{kind: kAnd, a: a, b: b})
	}
	return a, nil
}

func (p *parser) not() (int, error) {
	if t := p.peek(); t == "not" || t == "!" {
		p.pos++
		a, err := p.not()
		if err != nil {
			return 0, err
		}
		return p.add(node{kind: kNot, a: a}), nil
	}
	return p.primary()
}

func (p *parser) primary() (int, error) {
	if p.peek() == "(" {
		p.pos++
		a, err := p.or()
		if err != nil {
			return 0, err
		}
		if p.peek() != ")" {
			return 0, p.errorf("missing ')'")
		}
		p.pos++
		return a, nil
	}
	return p.term()
}

func (p *parser) term() (int, error) {
	start := p.pos
	word, err := p.next()
	if err != nil {
		return 0, err
	}
	d := dirAny
	switch strings.ToLower(word) {
	case "src":
		d = dirSrc
	case "dst":
		d = dirDst
	}
	if d != dirAny {
		if word, err = p.next(); err != nil {
			return 0, err
		}
	}
	switch w := strings.ToLower(word); w {
	case "any":
		if d != dirAny {
			break
		}
		return p.add(node{kind: kAny}), nil
	case "ip", "host":
		v, err := p.next()
		if err != nil {
			return 0, err
		}
		a, err := netip.ParseAddr(v)
		if err != nil {
			p.pos--
			return 0, p.errorf("bad IP address %q", v)
		}
		return p.add(node{kind: kIP, dir: d, addr: a.Unmap()}), nil
	case "net":
		v, err := p.next()
		if err != nil {
			return 0, err
		}
		pf, err := netip.ParsePrefix(v)
		if err != nil {
			p.pos--
			return 0, p.errorf("bad network %q (want ADDR/LEN)", v)
		}
		return p.add(node{kind: kNet, dir: d, prefix: pf.Masked()}), nil
	case "port":
		c, n, err := p.comparison(false)
		if err != nil {
			return 0, err
		}
		if n > 65535 {
			p.pos--
			return 0, p.errorf("port %d out of range", n)
		}
		return p.add(node{kind: kPort, dir: d, cmp: c, num: n}), nil
	case "proto":
		if d != dirAny {
			break
		}
		v, err := p.next()
		if err != nil {
			return 0, err
		}
		n, ok := protoNumber(v)
		if !ok {
			p.pos--
			return 0, p.errorf("unsupported protocol %q", v)
		}
		return p.add(node{kind: kProto, num: n}), nil
	case "packets", "bytes":
		if d != dirAny {
			break
		}
		c, n, err := p.comparison(true)
		if err != nil {
			return 0, err
		}
		k := kPackets
		if w == "bytes" {
			k = kBytes
		}
		return p.add(node{kind: k, cmp: c, num: n}), nil
	}
	p.pos = start
	return 0, p.errorf("unsupported filter term %q", p.toks[start].s)
}

var cmpWords = map[string]cmp{
	"=": cmpEq, "==": cmpEq, "eq": cmpEq,
	">": cmpGt, "gt": cmpGt, "<": cmpLt, "lt": cmpLt,
	">=": cmpGe, "ge": cmpGe, "<=": cmpLe, "le": cmpLe,
}

func (p *parser) comparison(scaled bool) (cmp, uint64, error) {
	c := cmpEq
	if v, ok := cmpWords[p.peek()]; ok {
		c = v
		p.pos++
	}
	v, err := p.next()
	if err != nil {
		return 0, 0, err
	}
	mult := uint64(1)
	if scaled && len(v) > 1 {
		switch v[len(v)-1] {
		case 'k', 'K':
			mult = 1000
		case 'm', 'M':
			mult = 1000 * 1000
		case 'g', 'G':
			mult = 1000 * 1000 * 1000
		}
		if mult > 1 {
			v = v[:len(v)-1]
		}
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || n > ^uint64(0)/mult {
		p.pos--
		return 0, 0, p.errorf("bad number %q", p.toks[p.pos].s)
	}
	return c, n * mult, nil
}

func protoNumber(s string) (uint64, bool) {
	switch strings.ToLower(s) {
	case "icmp":
		return 1, true
	case "igmp":
		return 2, true
	case "tcp":
		return 6, true
	case "udp":
		return 17, true
	case "gre":
		return 47, true
	case "esp":
		return 50, true
	case "icmp6", "ipv6-icmp":
		return 58, true
	case "sctp":
		return 132, true
	}
	n, err := strconv.ParseUint(s, 10, 8)
	return n, err == nil
}
