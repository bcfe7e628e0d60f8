package unirec

import "time"

// Time is a UniRec time value: a 32.32 fixed-point number of seconds since
// 1970-01-01T00:00:00 UTC (unirec.md §1.2). The high 32 bits are whole
// seconds, the low 32 bits a binary fraction of a second.
type Time uint64

const (
	nsecToFrac = 0x44B82FA0A // about 2^64 / 10^9, from ur_time.h
	fracMask   = 0xFFFFFFFF
)

// TimeFromSecNsec converts like ur_time_from_sec_nsec:
// frac = (nsec * 0x44B82FA0A) >> 32. Bit-exact for nsec < 10^9; a larger
// nsec first carries its whole seconds into sec.
func TimeFromSecNsec(sec uint32, nsec uint32) Time {
	if nsec >= 1e9 {
		sec += nsec / 1e9
		nsec %= 1e9
	}
	return Time(uint64(sec)<<32 | (uint64(nsec)*nsecToFrac)>>32)
}

// TimeFromSecUsec converts like ur_time_from_sec_usec (usec*1000 as nsec).
func TimeFromSecUsec(sec, usec uint32) Time {
	if usec >= 1e6 {
		sec += usec / 1e6
		usec %= 1e6
	}
	return TimeFromSecNsec(sec, usec*1000)
}

// TimeFromSecMsec converts like ur_time_from_sec_msec (msec*10^6 as nsec).
func TimeFromSecMsec(sec, msec uint32) Time {
	if msec >= 1000 {
		sec += msec / 1000
		msec %= 1000
	}
	return TimeFromSecNsec(sec, msec*1e6)
}

// TimeFromUnixMilli converts milliseconds since the epoch (as in nfdump and
// IPFIX flowStartMilliseconds). Seconds are truncated to 32 bits.
func TimeFromUnixMilli(ms uint64) Time {
	return TimeFromSecMsec(uint32(ms/1000), uint32(ms%1000))
}

// TimeFromGo converts a time.Time with nanosecond precision. Seconds are
// truncated to 32 bits, so instants before 1970 or after 2106 wrap.
func TimeFromGo(t time.Time) Time {
	return TimeFromSecNsec(uint32(t.Unix()), uint32(t.Nanosecond()))
}

// Sec returns the whole seconds since the epoch.
func (t Time) Sec() uint32 { return uint32(t >> 32) }

// Nsec returns the fraction in nanoseconds, rounding up like libunirec:
// (frac*10^9 + 0xFFFFFFFF) >> 32. The result can be 10^9 for fractions
// just below one second, as in C.
func (t Time) Nsec() uint32 {
	return uint32(((uint64(t)&fracMask)*1e9 + fracMask) >> 32)
}

// Usec returns Nsec()/1000 (truncated).
func (t Time) Usec() uint32 { return t.Nsec() / 1000 }

// Msec returns Nsec()/10^6 (truncated).
func (t Time) Msec() uint32 { return t.Nsec() / 1e6 }

// Go returns the instant as a UTC time.Time.
func (t Time) Go() time.Time {
	return time.Unix(int64(t.Sec()), int64(t.Nsec())).UTC()
}

// AppendText appends the logger form: strftime("%FT%T") of the seconds in
// UTC, '.', and the microseconds as at least 6 digits (printf "%06u"), e.g.
// 2024-01-15T10:00:00.123000. There is no zone suffix.
func (t Time) AppendText(dst []byte) []byte {
	days := int64(t.Sec()) / 86400
	secs := int(int64(t.Sec()) % 86400)
	y, m, d := civilFromDays(days)
	dst = appendPad(dst, uint64(y), 4)
	dst = append(dst, '-')
	dst = appendPad(dst, uint64(m), 2)
	dst = append(dst, '-')
	dst = appendPad(dst, uint64(d), 2)
	dst = append(dst, 'T')
	dst = appendPad(dst, uint64(secs/3600), 2)
	dst = append(dst, ':')
	dst = appendPad(dst, uint64(secs/60%60), 2)
	dst = append(dst, ':')
	dst = appendPad(dst, uint64(secs%60), 2)
	dst = append(dst, '.')
	return appendPad(dst, uint64(t.Usec()), 6)
}

// String returns the text form of AppendText.
func (t Time) String() string {
	var buf [32]byte
	return string(t.AppendText(buf[:0]))
}

// appendPad appends v in decimal, zero-padded to at least width digits.
func appendPad(dst []byte, v uint64, width int) []byte {
	var buf [20]byte
	i := len(buf)
	for v > 0 || len(buf)-i < width {
		i--
		buf[i] = byte('0' + v%10)
		v /= 10
	}
	return append(dst, buf[i:]...)
}

// civilFromDays converts days since 1970-01-01 to a proleptic Gregorian date.
func civilFromDays(z int64) (year int64, month, day int) {
	z += 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return y, int(m), int(d)
}

// daysFromCivil converts a proleptic Gregorian date to days since the epoch.
// Out-of-range months and days are normalised the way timegm does.
func daysFromCivil(y int64, m, d int) int64 {
	// normalise month into 1..12
	y += int64((m - 1) / 12)
	m = (m-1)%12 + 1
	if m < 1 {
		m += 12
		y--
	}
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := int64((m + 9) % 12)
	doy := (153*mp+2)/5 + int64(d) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}
