package unirec

import (
	"fmt"
	"net/netip"
)

// IP is an ipaddr value in UniRec layout (unirec.md §1.1): an IPv6 address
// is its 16 network-order bytes; an IPv4 address is 8 zero bytes, the 4
// address bytes and ff ff ff ff. This is not the RFC 4291 ::ffff:a.b.c.d
// form, which UniRec treats as an ordinary IPv6 address.
type IP [16]byte

// IPv4 returns the UniRec form of an IPv4 address.
func IPv4(b [4]byte) IP {
	var ip IP
	copy(ip[8:12], b[:])
	ip[12], ip[13], ip[14], ip[15] = 0xff, 0xff, 0xff, 0xff
	return ip
}

// IPv6 returns the UniRec form of an IPv6 address (the bytes unchanged).
func IPv6(b [16]byte) IP { return IP(b) }

// IPFromAddr converts a netip.Addr. An Is4() address becomes a UniRec IPv4;
// an IPv4-mapped IPv6 address (Is4In6) stays IPv6, exactly as ParseIP treats
// "::ffff:1.2.3.4". The zone is dropped; the zero Addr gives the all-zero IP.
func IPFromAddr(a netip.Addr) IP {
	switch {
	case a.Is4():
		return IPv4(a.As4())
	case a.Is6():
		return IP(a.As16())
	}
	return IP{}
}

// Is4 applies libunirec's ip_is4 rule: IPv4 iff the first 8 bytes are zero
// and the last 4 are ff ff ff ff.
func (ip IP) Is4() bool {
	return ip[0]|ip[1]|ip[2]|ip[3]|ip[4]|ip[5]|ip[6]|ip[7] == 0 &&
		ip[12]&ip[13]&ip[14]&ip[15] == 0xff
}

// Addr returns the address as a netip.Addr (Is4 for a UniRec IPv4).
func (ip IP) Addr() netip.Addr {
	if ip.Is4() {
		return netip.AddrFrom4([4]byte{ip[8], ip[9], ip[10], ip[11]})
	}
	return netip.AddrFrom16(ip)
}

// ParseIP parses text like libunirec's ip_from_str: a string without ':' is
// read by the rules of glibc inet_pton(AF_INET) (exactly four decimal parts
// 0-255, no leading zeros), anything else by inet_pton(AF_INET6).
func ParseIP(s string) (IP, error) { return parseIP(s) }

var errBadIP = fmt.Errorf("not a valid IP address: %w", ErrBadValue)

func parseIP[S ~string | ~[]byte](s S) (IP, error) {
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			b, ok := parseIPv6(s)
			if !ok {
				return IP{}, fmt.Errorf("unirec: ipaddr %q: %w", string(s), errBadIP)
			}
			return IP(b), nil
		}
	}
	b, ok := parseIPv4(s)
	if !ok {
		return IP{}, fmt.Errorf("unirec: ipaddr %q: %w", string(s), errBadIP)
	}
	return IPv4(b), nil
}

// parseIPv4 follows glibc inet_pton4. Hand-written (instead of netip) so that
// parsing from a []byte row does not allocate and the accepted set is glibc's.
func parseIPv4[S ~string | ~[]byte](s S) ([4]byte, bool) {
	var out [4]byte
	octets, val := 0, 0
	sawDigit := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if sawDigit && val == 0 {
				return out, false // leading zero
			}
			val = val*10 + int(c-'0')
			if val > 255 {
				return out, false
			}
			if !sawDigit {
				if octets == 4 {
					return out, false
				}
				octets++
				sawDigit = true
			}
			out[octets-1] = byte(val)
		case c == '.' && sawDigit:
			if octets == 4 {
				return out, false
			}
			sawDigit, val = false, 0
		default:
			return out, false
		}
	}
	return out, octets == 4 && sawDigit
}

// parseIPv6 follows glibc inet_pton6: up to 8 groups of 1-4 hex digits, one
// "::", an optional trailing dotted quad, no zone.
func parseIPv6[S ~string | ~[]byte](s S) ([16]byte, bool) {
	var out [16]byte
	n := 0       // bytes written
	colonp := -1 // position of "::"
	i := 0
	if len(s) > 0 && s[0] == ':' {
		if len(s) < 2 || s[1] != ':' {
			return out, false
		}
		i = 1
	}
	curtok := i
	sawXdigit := false
	val := 0
	digits := 0
	for ; i < len(s); i++ {
		c := s[i]
		if h := hexVal(c); h >= 0 {
			digits++
			if digits > 4 {
				return out, false
			}
			val = val<<4 | h
			sawXdigit = true
			continue
		}
		if c == ':' {
			curtok = i + 1
			if !sawXdigit {
				if colonp >= 0 {
					return out, false
				}
				colonp = n
				continue
			}
			if i+1 >= len(s) { // trailing single ':'
				return out, false
			}
			if n+2 > 16 {
				return out, false
			}
			out[n], out[n+1] = byte(val>>8), byte(val)
			n += 2
			sawXdigit, val, digits = false, 0, 0
			continue
		}
		if c == '.' && n+4 <= 16 {
			v4, ok := parseIPv4(s[curtok:])
			if !ok {
				return out, false
			}
			copy(out[n:], v4[:])
			n += 4
			sawXdigit = false
			break
		}
		return out, false
	}
	if sawXdigit {
		if n+2 > 16 {
			return out, false
		}
		out[n], out[n+1] = byte(val>>8), byte(val)
		n += 2
	}
	if colonp >= 0 {
		if n == 16 {
			return out, false
		}
		moved := n - colonp
		copy(out[16-moved:], out[colonp:n])
		for k := colonp; k < 16-moved; k++ {
			out[k] = 0
		}
		n = 16
	}
	return out, n == 16
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

const hexDigits = "0123456789abcdef"

// AppendText appends the address as libunirec's ip_to_str prints it: a
// UniRec IPv4 as a dotted quad, anything else by glibc inet_ntop(AF_INET6)
// rules. Go's net and netip formatters differ from glibc for ::a.b.c.d and
// ::ffff:a.b.c.d, hence the hand-written formatter.
func (ip IP) AppendText(dst []byte) []byte {
	if ip.Is4() {
		return appendDotted(dst, ip[8], ip[9], ip[10], ip[11])
	}
	var w [8]uint16
	for i := range w {
		w[i] = uint16(ip[2*i])<<8 | uint16(ip[2*i+1])
	}
	// First longest run of at least two zero groups.
	bestBase, bestLen := -1, 0
	for i := 0; i < 8; {
		if w[i] != 0 {
			i++
			continue
		}
		j := i
		for j < 8 && w[j] == 0 {
			j++
		}
		if j-i > bestLen {
			bestBase, bestLen = i, j-i
		}
		i = j
	}
	if bestLen < 2 {
		bestBase = -1
	}
	for i := 0; i < 8; i++ {
		if bestBase >= 0 && i >= bestBase && i < bestBase+bestLen {
			if i == bestBase {
				dst = append(dst, ':')
			}
			continue
		}
		if i != 0 {
			dst = append(dst, ':')
		}
		if i == 6 && bestBase == 0 && (bestLen == 6 || (bestLen == 5 && w[5] == 0xffff)) {
			return appendDotted(dst, ip[12], ip[13], ip[14], ip[15])
		}
		dst = appendHex16(dst, w[i])
	}
	if bestBase >= 0 && bestBase+bestLen == 8 {
		dst = append(dst, ':')
	}
	return dst
}

func appendHex16(dst []byte, v uint16) []byte {
	started := false
	for shift := 12; shift >= 0; shift -= 4 {
		d := (v >> uint(shift)) & 0xf
		if d != 0 || started || shift == 0 {
			dst = append(dst, hexDigits[d])
			started = true
		}
	}
	return dst
}

func appendDotted(dst []byte, a, b, c, d byte) []byte {
	dst = appendDec(dst, uint64(a))
	dst = append(dst, '.')
	dst = appendDec(dst, uint64(b))
	dst = append(dst, '.')
	dst = appendDec(dst, uint64(c))
	dst = append(dst, '.')
	return appendDec(dst, uint64(d))
}

// appendDec appends v in decimal without allocating.
func appendDec(dst []byte, v uint64) []byte {
	var buf [20]byte
	i := len(buf)
	for {
		i--
		buf[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return append(dst, buf[i:]...)
}

// String returns the text form of AppendText.
func (ip IP) String() string {
	var buf [46]byte
	return string(ip.AppendText(buf[:0]))
}
