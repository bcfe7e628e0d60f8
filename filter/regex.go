package filter

import (
	"regexp"
	"strings"
)

// compilePOSIX compiles a POSIX extended regular expression as glibc's
// regcomp(REG_EXTENDED) reads it, by rewriting it into Go's syntax:
//   - a backslash inside a bracket expression is an ordinary character;
//   - an escape glibc does not know (\d, \D, ...) is the character itself,
//     the GNU word anchors \< \> become \b, \` and \' become \A and \z;
//   - "*", "+" or "?" where no atom precedes them (at the start, after "("
//     or "|") are literal, and repetitions in a row merge ("a**" is "a*");
//   - "{,n}" is "{0,n}";
//   - "." also matches a newline.
//
// Match or no match is all liburfilter asks of regexec, so leftmost-first
// matching is as good as POSIX's leftmost-longest here. Back-references
// (\1) have no Go equivalent and are an error.
func compilePOSIX(src string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("(?s)")
	atomExpected := true // nothing to repeat yet
	var lastRep byte     // the repetition just written, 0 if none
	for i := 0; i < len(src); i++ {
		c := src[i]
		rep := byte(0)
		switch {
		case c == '\\' && i+1 < len(src):
			i++
			switch e := src[i]; {
			case e == '<' || e == '>':
				b.WriteString(`\b`)
			case e == '`':
				b.WriteString(`\A`)
			case e == '\'':
				b.WriteString(`\z`)
			case strings.IndexByte("wWsSbB123456789", e) >= 0:
				b.WriteByte('\\')
				b.WriteByte(e)
			default:
				b.WriteString(regexp.QuoteMeta(string(e)))
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
		case c == '*' || c == '+' || c == '?':
			switch {
			case atomExpected:
				b.WriteString(regexp.QuoteMeta(string(c)))
			case lastRep != 0:
				// Merge with the repetition just written: x** is x*,
				// x+? and x?+ are x*, x++ is x+, x?? is x?.
				merged := byte('*')
				if lastRep == c && c != '*' {
					merged = c
				}
				s := b.String()
				b.Reset()
				b.WriteString(s[:len(s)-1])
				b.WriteByte(merged)
				rep = merged
			default:
				b.WriteByte(c)
				rep = c
			}
		case c == '{' && strings.HasPrefix(src[i:], "{,"):
			b.WriteString("{0,")
			i++
		default:
			b.WriteByte(c)
		}
		lastRep = rep
		atomExpected = rep == 0 && (c == '(' || c == '|' || c == '^') && !(i > 0 && src[i-1] == '\\')
		if rep != 0 || c == '*' || c == '+' || c == '?' {
			atomExpected = false
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
