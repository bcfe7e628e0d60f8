package unirec

import (
	"fmt"
)

var errBadTime = fmt.Errorf("not a valid time: %w", ErrBadValue)

// ParseTime parses a time like libunirec's ur_time_from_string, used by
// logreplay: strptime("%Y-%m-%dT%H:%M:%S") (glibc number rules: blanks may
// precede a number, a number has at most 4 digits for the year and 2 for the
// others, single-digit seconds are fine), then optionally '.' and fraction
// digits (padded on the right to nanoseconds; digits past the ninth are
// ignored), then optionally 'Z' or 'z'. The value is UTC. Anything else after
// the seconds is an error. Out-of-range days and seconds are normalised as
// timegm does ("2024-02-30" is March 1st); instants before 1970 or after
// 2106 cannot be represented and are errors.
//
// A '.' must be followed by at least one digit (the spec asks for 1-9).
func ParseTime(s string) (Time, error) { return parseTime(s) }

func parseTime[S ~string | ~[]byte](s S) (Time, error) {
	var nums [6]int
	limits := [6]struct{ lo, hi, digits int }{
		{0, 9999, 4}, {1, 12, 2}, {1, 31, 2}, {0, 23, 2}, {0, 59, 2}, {0, 61, 2},
	}
	seps := [5]byte{'-', '-', 'T', ':', ':'}
	i := 0
	for k := range nums {
		if k > 0 {
			if i >= len(s) || s[i] != seps[k-1] {
				return 0, fmt.Errorf("unirec: time %q: %w", string(s), errBadTime)
			}
			i++
		}
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("unirec: time %q: %w", string(s), errBadTime)
		}
		lim := limits[k]
		val, n := 0, 0
		for {
			val = val*10 + int(s[i]-'0')
			i++
			n++
			if n >= lim.digits || val*10 > lim.hi || i >= len(s) || s[i] < '0' || s[i] > '9' {
				break
			}
		}
		if val < lim.lo || val > lim.hi {
			return 0, fmt.Errorf("unirec: time %q: %w", string(s), errBadTime)
		}
		nums[k] = val
	}
	var nsec uint32
	if i < len(s) && s[i] == '.' {
		i++
		digits := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			if digits < 9 {
				nsec = nsec*10 + uint32(s[i]-'0')
			}
			digits++
			i++
		}
		if digits == 0 {
			return 0, fmt.Errorf("unirec: time %q: no digits after '.': %w", string(s), errBadTime)
		}
		for d := digits; d < 9; d++ {
			nsec *= 10
		}
	}
	if i < len(s) && (s[i] == 'Z' || s[i] == 'z') {
		i++
	}
	if i != len(s) {
		return 0, fmt.Errorf("unirec: time %q: unexpected %q after the seconds: %w", string(s), string(s[i:]), errBadTime)
	}
	days := daysFromCivil(int64(nums[0]), nums[1], nums[2])
	sec := days*86400 + int64(nums[3])*3600 + int64(nums[4])*60 + int64(nums[5])
	if sec < 0 || sec > 0xFFFFFFFF {
		return 0, fmt.Errorf("unirec: time %q: outside 1970-01-01..2106-02-07: %w", string(s), errBadTime)
	}
	return TimeFromSecNsec(uint32(sec), nsec), nil
}
