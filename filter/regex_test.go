package filter

import "testing"

// glibc's reading of POSIX extended expressions, as the C unirecfilter
// matches them.
func TestCompilePOSIX(t *testing.T) {
	for _, tc := range []struct {
		re, s string
		want  bool
	}{
		{`\d`, "d", true}, {`\d`, "5", false}, // unknown escape: the letter
		{`[\.]`, `\`, true}, {`[\.]`, ".", true}, {`[\.]`, "x", false}, // backslash is a member
		{`x{,2}`, "", true}, {`a**`, "b", true}, {`*a`, "*a", true}, {`*a`, "a", false},
		{`\<he`, "the he", true}, {`\<he`, "the", false}, {`a.b`, "a\nb", true},
		{`[]a]`, "]", true}, {`[^]a]`, "]", false}, {`[[:upper:]]+`, "HI", true}, {`l{2}`, "hello", true},
		{`o\b`, "hello world", true}, {`^h.l+o$`, "hello", true},
	} {
		re, err := compilePOSIX(tc.re)
		if err != nil {
			t.Errorf("%q: %v", tc.re, err)
			continue
		}
		if got := re.MatchString(tc.s); got != tc.want {
			t.Errorf("%q on %q = %v, want %v (as %s)", tc.re, tc.s, got, tc.want, re)
		}
	}
	for _, bad := range []string{`(a|b`, `(l)\1`} {
		if _, err := compilePOSIX(bad); err == nil {
			t.Errorf("%q compiled", bad)
		}
	}
}
