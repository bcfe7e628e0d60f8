package filter

import (
	"fmt"
	"regexp"
	"strings"
)

// tokKind is the kind of a lexical token.
type tokKind uint8

const (
	tEOF tokKind = iota
	tLParen
	tRParen
	tAnd
	tOr
	tNot
	tTrue
	tFalse
	tCmp   // < > <= >= => =< in IN
	tEq    // == =
	tNeq   // != <>
	tRegex // =~ ~=
	tNumber
	tSigned
	tFloat
	tIP
	tIPNet
	tDatetime
	tString
	tArray
	tProtocol  // the keyword PROTOCOL
	tProtoName // TCP UDP ICMP
	tHost
	tPort
	tColumn
)

var tokNames = [...]string{
	tEOF: "end of expression", tLParen: `"("`, tRParen: `")"`, tAnd: "AND", tOr: "OR", tNot: "NOT",
	tTrue: "true", tFalse: "false", tCmp: "comparison operator", tEq: `"=="`, tNeq: `"!="`,
	tRegex: `"=~"`, tNumber: "number", tSigned: "negative number", tFloat: "decimal number",
	tIP: "IP address", tIPNet: "IP prefix", tDatetime: "date and time", tString: "string",
	tArray: "array", tProtocol: "PROTOCOL", tProtoName: "protocol name", tHost: "host",
	tPort: "port", tColumn: "field name",
}

func (k tokKind) String() string { return tokNames[k] }

// token is one lexeme: its kind, text and 1-based column.
type token struct {
	kind tokKind
	text string
	col  int
}

// The literal rules, matched leftmost-longest at the current position like
// flex does. The shapes are liburfilter's scanner's: octets 0-255,
// prefixes up to /32 and /128, milliseconds with exactly three digits, an
// array being one token of comma-separated literals without blanks before
// a comma or inside the brackets.
const (
	reOctet = `(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])`
	reIPv4  = reOctet + `\.` + reOctet + `\.` + reOctet + `\.` + reOctet
	reH     = `[0-9a-fA-F]{1,4}`
	reIPv6  = `(` + reH + `:){7}` + reH +
		`|(` + reH + `:){1,7}:` +
		`|(` + reH + `:){1,6}:` + reH +
		`|(` + reH + `:){1,5}(:` + reH + `){1,2}` +
		`|(` + reH + `:){1,4}(:` + reH + `){1,3}` +
		`|(` + reH + `:){1,3}(:` + reH + `){1,4}` +
		`|(` + reH + `:){1,2}(:` + reH + `){1,5}` +
		`|` + reH + `:(:` + reH + `){1,6}` +
		`|:((:` + reH + `){1,7}|:)` +
		`|::([fF]{4}(:0{1,4})?:)?` + reIPv4 +
		`|(` + reH + `:){1,4}:` + reIPv4
	reNet4     = `(` + reIPv4 + `)/(3[0-2]|[12]?[0-9])`
	reNet6     = `(` + reIPv6 + `)/(12[0-8]|1[01][0-9]|[1-9]?[0-9])`
	reDatetime = `[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{3})?`
	reElem     = `(-?[0-9]+|-?[0-9]+\.[0-9]+|` + reIPv4 + `|` + reIPv6 + `|` + reNet4 + `|` + reNet6 + `|` + reDatetime + `)`
)

var literalRules = []struct {
	kind tokKind
	re   *regexp.Regexp
}{
	{tNumber, regexp.MustCompilePOSIX(`^[0-9]+`)},
	{tSigned, regexp.MustCompilePOSIX(`^-[0-9]+`)},
	{tFloat, regexp.MustCompilePOSIX(`^-?[0-9]+\.[0-9]+`)},
	{tIP, regexp.MustCompilePOSIX(`^(` + reIPv4 + `|` + reIPv6 + `)`)},
	{tIPNet, regexp.MustCompilePOSIX(`^(` + reNet4 + `|` + reNet6 + `)`)},
	{tDatetime, regexp.MustCompilePOSIX(`^` + reDatetime)},
	// An address, prefix or time in double quotes is that literal, not a
	// string (the quoted rules come first and win the tie with tString).
	{tIP, regexp.MustCompilePOSIX(`^"(` + reIPv4 + `|` + reIPv6 + `)"`)},
	{tIPNet, regexp.MustCompilePOSIX(`^"(` + reNet4 + `|` + reNet6 + `)"`)},
	{tDatetime, regexp.MustCompilePOSIX(`^"` + reDatetime + `"`)},
	{tString, regexp.MustCompilePOSIX(`^("[^"]*"|'[^']*')`)},
	{tArray, regexp.MustCompilePOSIX(`^\[` + reElem + `(, *` + reElem + `)*\]`)},
}

// Operators, longest first.
var operators = []struct {
	text string
	kind tokKind
}{
	{"&&", tAnd}, {"||", tOr}, {"!=", tNeq}, {"<>", tNeq}, {"<=", tCmp}, {">=", tCmp},
	{"=>", tCmp}, {"=<", tCmp}, {"==", tEq}, {"=~", tRegex}, {"~=", tRegex},
	{"!", tNot}, {"<", tCmp}, {">", tCmp}, {"=", tEq}, {"(", tLParen}, {")", tRParen},
}

var keywords = map[string]tokKind{
	"and": tAnd, "AND": tAnd, "or": tOr, "OR": tOr, "not": tNot, "NOT": tNot,
	"true": tTrue, "TRUE": tTrue, "True": tTrue, "false": tFalse, "FALSE": tFalse, "False": tFalse,
	"in": tCmp, "IN": tCmp, "PROTOCOL": tProtocol, "TCP": tProtoName, "UDP": tProtoName,
	"ICMP": tProtoName, "host": tHost, "port": tPort,
}

// SyntaxError is a filter expression that cannot be read. Col is the
// 1-based byte column of the offending token.
type SyntaxError struct {
	Expr string
	Col  int
	Msg  string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("filter: column %d: %s", e.Col, e.Msg)
}

// Caret returns the expression with a caret under the offending column,
// for printing below an error message.
func (e *SyntaxError) Caret() string {
	pad := strings.Repeat(" ", max(e.Col-1, 0))
	return e.Expr + "\n" + pad + "^"
}

func isSpaceByte(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isNameByte(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' }

// lex splits src into tokens, ending with tEOF.
func lex(src string) ([]token, error) {
	var toks []token
	i := 0
	for {
		for i < len(src) && isSpaceByte(src[i]) {
			i++
		}
		if i >= len(src) {
			return append(toks, token{kind: tEOF, col: i + 1}), nil
		}
		rest := src[i:]
		kind, n := tEOF, 0
		for _, op := range operators {
			if strings.HasPrefix(rest, op.text) {
				kind, n = op.kind, len(op.text)
				break
			}
		}
		for _, r := range literalRules {
			if loc := r.re.FindStringIndex(rest); loc != nil && loc[1] > n {
				kind, n = r.kind, loc[1]
			}
		}
		w := 0
		for w < len(rest) && isNameByte(rest[w]) {
			w++
		}
		if w > n {
			kind, n = tColumn, w
			if k, ok := keywords[rest[:w]]; ok {
				kind = k
			}
		}
		if n == 0 {
			return nil, &SyntaxError{Expr: src, Col: i + 1, Msg: fmt.Sprintf("unexpected character %q", rest[0])}
		}
		text := rest[:n]
		if kind != tString && text[0] == '"' {
			text = text[1 : len(text)-1]
		}
		toks = append(toks, token{kind: kind, text: text, col: i + 1})
		i += n
	}
}
