package supervisor

import (
	"errors"
	"fmt"
	"strings"
)

// ErrParams is wrapped by every tokenising error of a module's params.
var ErrParams = errors.New("bad params")

// SplitParams tokenises a legacy params string the way the C supervisor
// builds argv (spec §1.2): only ASCII spaces separate tokens, '...' is one
// literal token, "..." is one token that must not contain an apostrophe.
// A quote opening inside a word, an unterminated quote and an empty quoted
// token are errors. Text glued to a closing quote is an error too, so that
// no argument is silently split. Tabs and newlines are kept inside tokens,
// as C does; warn reports them.
func SplitParams(s string) (tokens []string, warn string, err error) {
	if strings.ContainsAny(s, "\t\n\r") {
		warn = "params contain tabs or newlines: they are not separators and stay inside the arguments"
	}
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ':
			if inWord {
				tokens = append(tokens, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\'' || c == '"':
			if inWord {
				return nil, warn, fmt.Errorf("%w: quote %c opens in the middle of a word at offset %d", ErrParams, c, i)
			}
			end := strings.IndexByte(s[i+1:], c)
			if end < 0 {
				return nil, warn, fmt.Errorf("%w: unterminated %c quote at offset %d", ErrParams, c, i)
			}
			tok := s[i+1 : i+1+end]
			if tok == "" {
				return nil, warn, fmt.Errorf("%w: empty %c%c token at offset %d", ErrParams, c, c, i)
			}
			if c == '"' && strings.IndexByte(tok, '\'') >= 0 {
				return nil, warn, fmt.Errorf("%w: apostrophe inside a double-quoted token at offset %d", ErrParams, i)
			}
			i += end + 1
			if i+1 < len(s) && s[i+1] != ' ' {
				return nil, warn, fmt.Errorf("%w: text follows the closing %c quote at offset %d", ErrParams, c, i)
			}
			tokens = append(tokens, tok)
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		tokens = append(tokens, cur.String())
	}
	return tokens, warn, nil
}
