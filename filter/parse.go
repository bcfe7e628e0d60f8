package filter

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// op is a comparison operator.
type op uint8

const (
	opEQ op = iota
	opNE
	opLT
	opGT
	opLE
	opGE
	opBad   // "=>", "=<", or "in" before a scalar: accepted, never true
	opIn    // any comparison operator before an array
	opRegex // =~ ~=
)

var opText = [...]string{opEQ: "==", opNE: "!=", opLT: "<", opGT: ">", opLE: "<=", opGE: ">=", opBad: "<invalid operator>", opIn: "IN", opRegex: "=~"}

func cmpOp(text string) op {
	switch text {
	case "<":
		return opLT
	case ">":
		return opGT
	case "<=":
		return opLE
	case ">=":
		return opGE
	case "==", "=":
		return opEQ
	case "!=", "<>":
		return opNE
	case "=~", "~=":
		return opRegex
	}
	return opBad
}

// subject is what a term compares: a field, or one of the shorthands.
type subject uint8

const (
	subjField    subject = iota
	subjProtocol         // PROTOCOL keyword: the PROTOCOL field
	subjHost             // SRC_IP or DST_IP
	subjPort             // SRC_PORT or DST_PORT
)

// node is a parsed expression.
type node interface{ String() string }

type (
	boolNode struct{ v bool }
	notNode  struct{ x node }
	parNode  struct{ x node }
	// binNode is left-associative AND/OR of equal precedence.
	binNode struct {
		and  bool
		l, r node
	}
	// termNode is "subject op value".
	termNode struct {
		subj  subject
		field string
		op    op
		lit   token // the value token (tArray: the whole array)
		col   int
		// Decoded literals (by lit.kind).
		num   int64          // tNumber, tSigned, tProtoName, PROTOCOL strings
		fnum  float64        // tFloat
		str   string         // tString contents
		elems []string       // tArray elements
		re    *regexp.Regexp // opRegex
	}
)

func (n boolNode) String() string {
	if n.v {
		return "TRUE"
	}
	return "FALSE"
}
func (n notNode) String() string { return "! ( " + n.x.String() + " )" }
func (n parNode) String() string { return "( " + n.x.String() + " )" }
func (n binNode) String() string {
	if n.and {
		return n.l.String() + " && " + n.r.String()
	}
	return n.l.String() + " || " + n.r.String()
}
func (n *termNode) String() string {
	name := n.field
	switch n.subj {
	case subjProtocol:
		name = "PROTOCOL"
		if n.lit.kind != tNumber {
			return fmt.Sprintf("PROTOCOL %s %d", opText[n.op], n.num)
		}
	case subjHost:
		name = "host"
	case subjPort:
		name = "port"
	}
	v := n.lit.text
	switch n.lit.kind {
	case tString:
		v = strconv.Quote(n.str)
	case tArray:
		v = "[" + strings.Join(n.elems, ", ") + "]"
	}
	return name + " " + opText[n.op] + " " + v
}

// Expr is a parsed filter expression, independent of any template.
// It is immutable and safe for concurrent use.
type Expr struct {
	src  string
	root node // nil: the empty expression, which matches every record
}

// Parse reads a filter expression. The empty string (or only white space)
// is the filter that matches everything. Errors are *SyntaxError.
func Parse(src string) (*Expr, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	if len(toks) == 1 {
		return &Expr{src: src}, nil
	}
	p := &parser{src: src, toks: toks}
	root, err := p.body()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, p.errorf(t, "unexpected %s %q, want AND, OR or the end", t.kind, t.text)
	}
	return &Expr{src: src, root: root}, nil
}

// String returns the expression in the canonical form unirecfilter prints
// ("Filter: ..."); the empty expression prints as "".
func (e *Expr) String() string {
	if e.root == nil {
		return ""
	}
	return e.root.String()
}

// Source returns the text the expression was parsed from.
func (e *Expr) Source() string { return e.src }

type parser struct {
	src  string
	toks []token
	pos  int
}

func (p *parser) peek() token { return p.toks[p.pos] }
func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != tEOF {
		p.pos++
	}
	return t
}

func (p *parser) errorf(t token, format string, args ...any) error {
	return &SyntaxError{Expr: p.src, Col: t.col, Msg: fmt.Sprintf(format, args...)}
}

func describe(t token) string {
	if t.kind == tEOF {
		return "end of expression"
	}
	return fmt.Sprintf("%s %q", t.kind, t.text)
}

// body := exp { (AND|OR) exp }, left-associative, one precedence level.
func (p *parser) body() (node, error) {
	l, err := p.exp()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		if t.kind != tAnd && t.kind != tOr {
			return l, nil
		}
		p.next()
		r, err := p.exp()
		if err != nil {
			return nil, err
		}
		l = binNode{and: t.kind == tAnd, l: l, r: r}
	}
}

// exp := NOT exp | "(" body ")" | term
func (p *parser) exp() (node, error) {
	t := p.next()
	switch t.kind {
	case tNot:
		x, err := p.exp()
		if err != nil {
			return nil, err
		}
		return notNode{x}, nil
	case tLParen:
		x, err := p.body()
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tRParen {
			return nil, p.errorf(c, "unexpected %s, want \")\" to close the \"(\" of column %d", describe(c), t.col)
		}
		return parNode{x}, nil
	case tTrue:
		return boolNode{true}, nil
	case tFalse:
		return boolNode{false}, nil
	case tColumn:
		return p.term(subjField, t)
	case tProtocol:
		return p.term(subjProtocol, t)
	case tHost:
		return p.term(subjHost, t)
	case tPort:
		return p.term(subjPort, t)
	}
	return nil, p.errorf(t, "unexpected %s, want a field name, host, port, PROTOCOL, true, false, NOT or \"(\"", describe(t))
}

// valueKinds lists, per subject and operator token, the literal kinds the
// grammar accepts.
func accepts(s subject, opTok, lit tokKind) bool {
	scalar := lit == tNumber || lit == tSigned || lit == tFloat || lit == tIP || lit == tIPNet || lit == tDatetime
	cmpLike := opTok == tCmp || opTok == tEq || opTok == tNeq
	eqLike := opTok == tEq || opTok == tNeq
	switch s {
	case subjField:
		return cmpLike && scalar || (eqLike || opTok == tRegex) && lit == tString || opTok == tCmp && lit == tArray
	case subjProtocol:
		return cmpLike && lit == tNumber || eqLike && (lit == tProtoName || lit == tString)
	case subjHost:
		return cmpLike && (lit == tIP || lit == tIPNet) || eqLike && lit == tString || opTok == tCmp && lit == tArray
	case subjPort:
		return cmpLike && lit == tNumber || opTok == tCmp && lit == tArray
	}
	return false
}

func (p *parser) term(s subject, subj token) (node, error) {
	o := p.next()
	if o.kind != tCmp && o.kind != tEq && o.kind != tNeq && o.kind != tRegex {
		if o.kind == tNumber && s == subjField {
			return nil, p.errorf(o, "unexpected number %q after field %q: field names have no digits", o.text, subj.text)
		}
		return nil, p.errorf(o, "unexpected %s after %q, want an operator", describe(o), subj.text)
	}
	v := p.next()
	if !accepts(s, o.kind, v.kind) {
		return nil, p.errorf(v, "%s cannot follow %q %s", describe(v), subj.text, o.text)
	}
	n := &termNode{subj: s, field: subj.text, op: cmpOp(o.text), lit: v, col: subj.col}
	if v.kind == tArray {
		n.op = opIn
	}
	switch v.kind {
	case tNumber, tSigned:
		n.num = strtoll(v.text)
	case tFloat:
		n.fnum, _ = strconv.ParseFloat(v.text, 64) // ±Inf on overflow, like strtod
	case tString:
		n.str = v.text[1 : len(v.text)-1]
	case tArray:
		for _, e := range strings.Split(v.text[1:len(v.text)-1], ",") {
			n.elems = append(n.elems, strings.TrimLeft(e, " "))
		}
	case tProtoName:
		n.num = int64(protocolNumber(v.text))
	}
	if s == subjProtocol && v.kind == tString {
		n.num = int64(protocolNumber(n.str))
	}
	if n.op == opRegex {
		re, err := compilePOSIX(n.str)
		if err != nil {
			return nil, &SyntaxError{Expr: p.src, Col: v.col, Msg: fmt.Sprintf("regular expression %s: %v", v.text, err)}
		}
		n.re = re
	}
	return n, nil
}

// strtoll converts an optionally negative digit string as C strtoll with
// base 0 does: a leading 0 means octal (reading stops at the first 8 or
// 9), and values out of range saturate.
func strtoll(s string) int64 {
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	base := uint64(10)
	if len(s) > 1 && s[0] == '0' {
		base = 8
	}
	var v uint64
	over := false
	for i := 0; i < len(s); i++ {
		d := uint64(s[i] - '0')
		if d >= base {
			break
		}
		if v > (math.MaxUint64-d)/base {
			over = true
			break
		}
		v = v*base + d
	}
	switch {
	case neg && (over || v > 1<<63):
		return math.MinInt64
	case neg:
		return -int64(v)
	case over || v > math.MaxInt64:
		return math.MaxInt64
	}
	return int64(v)
}
