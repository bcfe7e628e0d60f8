package unirec

import (
	"fmt"
)

// MAC is a macaddr value: the 6 octets in transmission order.
type MAC [6]byte

var errBadMAC = fmt.Errorf("not a valid MAC address: %w", ErrBadValue)

// ParseMAC parses text like libunirec's mac_from_str, which is
// sscanf("%hhx:%hhx:%hhx:%hhx:%hhx:%hhx"): six hex numbers separated by ':'.
// As with sscanf, each number may have leading white space and a 0x prefix,
// is truncated to 8 bits, and text after the sixth number is ignored.
func ParseMAC(s string) (MAC, error) { return parseMAC(s) }

func parseMAC[S ~string | ~[]byte](s S) (MAC, error) {
	var m MAC
	pos := 0
	for i := 0; i < 6; i++ {
		if i > 0 {
			if pos >= len(s) || s[pos] != ':' {
				return MAC{}, fmt.Errorf("unirec: macaddr %q: %w", string(s), errBadMAC)
			}
			pos++
		}
		v, n, ok := scanInt(s[pos:], 16, false, -1)
		if !ok {
			return MAC{}, fmt.Errorf("unirec: macaddr %q: %w", string(s), errBadMAC)
		}
		m[i] = byte(v)
		pos += n
	}
	return m, nil
}

// AppendText appends the address as %02x:%02x:%02x:%02x:%02x:%02x.
func (m MAC) AppendText(dst []byte) []byte {
	for i, b := range m {
		if i > 0 {
			dst = append(dst, ':')
		}
		dst = append(dst, hexDigits[b>>4], hexDigits[b&0xf])
	}
	return dst
}

// String returns the text form of AppendText.
func (m MAC) String() string {
	var buf [17]byte
	return string(m.AppendText(buf[:0]))
}
