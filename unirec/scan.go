package unirec

import (
	"math"
	"strconv"
)

// This file re-implements the few sscanf conversions libunirec's
// ur_set_from_string relies on (%u, %i, %x and %f as glibc implements them).
// strconv is stricter than sscanf (no leading blanks, no trailing text, no
// wrap-around on overflow), so matching C input handling needs these.

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// scanInt scans an integer like glibc scanf: leading white space, optional
// sign, then digits in base (10, 16, or 0 for %i auto-detection of 0x/0
// prefixes; base 16 also accepts a 0x prefix). width limits the characters
// after the white space (-1 for none). The result is strtoul/strtol's 64-bit
// value (saturated on overflow, negated for a '-' sign on unsigned), which
// callers truncate to the field width like the C cast does. n is the number
// of bytes consumed.
func scanInt[S ~string | ~[]byte](s S, base int, signed bool, width int) (v uint64, n int, ok bool) {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	w := width
	more := func() bool { return i < len(s) && w != 0 }
	take := func() {
		i++
		if w > 0 {
			w--
		}
	}
	neg := false
	if more() && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		take()
	}
	digits := 0
	var mag uint64
	overflow := false
	if more() && s[i] == '0' {
		take()
		digits++
		if more() && (s[i] == 'x' || s[i] == 'X') {
			if base == 0 {
				base = 16
			}
			if base == 16 {
				take()
			}
		} else if base == 0 {
			base = 8
		}
	}
	if base == 0 {
		base = 10
	}
	for more() {
		d := hexVal(s[i])
		if d < 0 || d >= base {
			break
		}
		if mag > (math.MaxUint64-uint64(d))/uint64(base) {
			overflow = true
		} else {
			mag = mag*uint64(base) + uint64(d)
		}
		take()
		digits++
	}
	if digits == 0 {
		return 0, i, false
	}
	if signed {
		switch {
		case !neg && (overflow || mag > math.MaxInt64):
			return math.MaxInt64, i, true
		case neg && (overflow || mag > 1<<63):
			return 1 << 63, i, true // LONG_MIN
		case neg:
			return -mag, i, true
		}
		return mag, i, true
	}
	if overflow {
		return math.MaxUint64, i, true
	}
	if neg {
		return -mag, i, true
	}
	return mag, i, true
}

// scanFloat scans a floating-point number like glibc scanf %f/%lf: leading
// white space, then the longest prefix that is a decimal or hexadecimal
// float, "inf", "infinity" or "nan" (case-insensitive). Out-of-range values
// become ±Inf or 0 as strtod makes them. bits is 32 for float, 64 for double.
func scanFloat[S ~string | ~[]byte](s S, bits int) (float64, int, bool) {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	start := i
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	if m := matchWord(s[i:], "infinity"); m >= 3 {
		if m != 8 {
			m = 3
		}
		return parseFloatText(string(s[start:i])+"inf", bits, i+m)
	}
	if matchWord(s[i:], "nan") == 3 {
		v, _, _ := parseFloatText("nan", bits, 0)
		i += 3
		if i < len(s) && s[i] == '(' { // nan(n-char-sequence)
			j := i + 1
			for j < len(s) && (s[j] == '_' || s[j] >= '0' && s[j] <= '9' || s[j]|0x20 >= 'a' && s[j]|0x20 <= 'z') {
				j++
			}
			if j < len(s) && s[j] == ')' {
				i = j + 1
			}
		}
		if s[start] == '-' {
			v = math.Copysign(v, -1)
		}
		return v, i, true
	}
	hex := i+1 < len(s) && s[i] == '0' && s[i+1]|0x20 == 'x'
	if hex {
		i += 2
	}
	mant, dot := 0, false
	for ; i < len(s); i++ {
		c := s[i]
		if c >= '0' && c <= '9' || hex && hexVal(c) >= 0 {
			mant++
		} else if c == '.' && !dot {
			dot = true
		} else {
			break
		}
	}
	if mant == 0 {
		if hex { // "0x" without digits: scanf converts the "0"
			return parseFloatText("0", bits, i-1)
		}
		return 0, start, false
	}
	expChar := byte('e')
	if hex {
		expChar = 'p'
	}
	hasExp := false
	if i < len(s) && s[i]|0x20 == expChar {
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		k := j
		for k < len(s) && s[k] >= '0' && s[k] <= '9' {
			k++
		}
		if k > j {
			i, hasExp = k, true
		}
	}
	txt := string(s[start:i])
	if hex && !hasExp {
		txt += "p0" // C allows a hex float without exponent, Go does not
	}
	return parseFloatText(txt, bits, i)
}

func parseFloatText(txt string, bits int, n int) (float64, int, bool) {
	v, err := strconv.ParseFloat(txt, bits)
	if err != nil {
		ne, ok := err.(*strconv.NumError)
		if !ok || ne.Err != strconv.ErrRange {
			return 0, n, false
		}
	}
	return v, n, true
}

// matchWord returns how many leading bytes of s match word case-insensitively.
func matchWord[S ~string | ~[]byte](s S, word string) int {
	n := 0
	for n < len(s) && n < len(word) && s[n]|0x20 == word[n] {
		n++
	}
	return n
}
