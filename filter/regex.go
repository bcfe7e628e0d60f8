package filter

import (
	"regexp"
	"strings"
)

// compilePOSIX compiles a POSIX extended regular expression as glibc's
// regcomp(REG_EXTENDED) reads it, by rewriting it into Go's syntax: a
// backslash inside a bracket expression is an ordinary character, "." also
// matches a newline, and the GNU word anchors \< \> become \b. Match or no
// match is all liburfilter asks of regexec, so leftmost-first matching is
// as good as POSIX's leftmost-longest here.
func compilePOSIX(src string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("(?s)")
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case c == '\\' && i+1 < len(src):
			i++
			switch src[i] {
			case '<', '>':
				b.WriteString(`\b`)
			case '`':
				b.WriteString(`\A`)
			case '\'':
				b.WriteString(`\z`)
			default:
				b.WriteByte('\\')
				b.WriteByte(src[i])
			}
		case c == '[':
			j := bracketEnd(src, i)
			if j < 0 {
				b.WriteString(src[i:]) // unterminated: let Go report it
				i = len(src)
				continue
			}
			b.WriteString(strings.ReplaceAll(src[i:j+1], `\`, `\\`))
			i = j
		default:
			b.WriteByte(c)
		}
	}
	return regexp.Compile(b.String())
}

// bracketEnd returns the index of the "]" closing the bracket expression
// that starts at src[i] == '[', or -1. A "]" right after "[" or "[^" is a
// member, and [:class:], [=x=], [.x.] are skipped whole.
func bracketEnd(src string, i int) int {
	j := i + 1
	if j < len(src) && src[j] == '^' {
		j++
	}
	if j < len(src) && src[j] == ']' {
		j++
	}
	for ; j < len(src); j++ {
		switch {
		case src[j] == ']':
			return j
		case src[j] == '[' && j+1 < len(src) && strings.IndexByte(":=.", src[j+1]) >= 0:
			end := strings.Index(src[j+2:], string(src[j+1])+"]")
			if end < 0 {
				return -1
			}
			j += 2 + end + 1
		}
	}
	return -1
}
