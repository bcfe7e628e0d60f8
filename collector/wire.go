package collector

import (
	"encoding/binary"
	"fmt"
)

// Header lengths and fixed sizes of the three export formats.
const (
	v5HeaderLen    = 24
	v5RecordLen    = 48
	v9HeaderLen    = 20
	ipfixHeaderLen = 16
	setHeaderLen   = 4
)

// header is the common view of a v5, v9 or IPFIX message header.
type header struct {
	version    uint16
	count      uint16 // v5: records; v9: records incl. templates; IPFIX: unused
	length     int    // IPFIX message length; v5/v9: len(payload)
	sysUptime  uint32 // ms, v5/v9
	exportSecs uint32
	exportNsec uint32 // v5 only
	sequence   uint32
	domain     uint32 // v9 source id, IPFIX observation domain, v5 engine type<<8|engine id
	sampling   uint16 // v5 sampling_interval field (2 bits mode, 14 bits interval)
}

// parseHeader decodes the message header and checks it against the payload size.
func parseHeader(msg []byte) (header, error) {
	var h header
	if len(msg) < 2 {
		return h, fmt.Errorf("message of %d bytes: %w", len(msg), ErrShort)
	}
	h.version = binary.BigEndian.Uint16(msg)
	switch h.version {
	case 5:
		if len(msg) < v5HeaderLen {
			return h, fmt.Errorf("v5 header needs %d bytes, got %d: %w", v5HeaderLen, len(msg), ErrShort)
		}
		h.count = binary.BigEndian.Uint16(msg[2:])
		h.sysUptime = binary.BigEndian.Uint32(msg[4:])
		h.exportSecs = binary.BigEndian.Uint32(msg[8:])
		h.exportNsec = binary.BigEndian.Uint32(msg[12:])
		h.sequence = binary.BigEndian.Uint32(msg[16:])
		h.domain = uint32(msg[20])<<8 | uint32(msg[21])
		h.sampling = binary.BigEndian.Uint16(msg[22:])
		h.length = len(msg)
		if need := v5HeaderLen + int(h.count)*v5RecordLen; need > len(msg) {
			return h, fmt.Errorf("v5 count %d needs %d bytes, got %d: %w", h.count, need, len(msg), ErrLength)
		}
	case 9:
		if len(msg) < v9HeaderLen {
			return h, fmt.Errorf("v9 header needs %d bytes, got %d: %w", v9HeaderLen, len(msg), ErrShort)
		}
		h.count = binary.BigEndian.Uint16(msg[2:])
		h.sysUptime = binary.BigEndian.Uint32(msg[4:])
		h.exportSecs = binary.BigEndian.Uint32(msg[8:])
		h.sequence = binary.BigEndian.Uint32(msg[12:])
		h.domain = binary.BigEndian.Uint32(msg[16:])
		h.length = len(msg)
	case 10:
		if len(msg) < ipfixHeaderLen {
			return h, fmt.Errorf("ipfix header needs %d bytes, got %d: %w", ipfixHeaderLen, len(msg), ErrShort)
		}
		h.length = int(binary.BigEndian.Uint16(msg[2:]))
		h.exportSecs = binary.BigEndian.Uint32(msg[4:])
		h.sequence = binary.BigEndian.Uint32(msg[8:])
		h.domain = binary.BigEndian.Uint32(msg[12:])
		if h.length < ipfixHeaderLen || h.length > len(msg) {
			return h, fmt.Errorf("ipfix length field %d, message has %d bytes: %w", h.length, len(msg), ErrLength)
		}
	default:
		return h, fmt.Errorf("version %d: %w", h.version, ErrVersion)
	}
	return h, nil
}

// nextSet splits the first set (v9 FlowSet / IPFIX set) off body.
// It returns the set id, the set body without its header and the rest.
func nextSet(body []byte) (id uint16, set, rest []byte, err error) {
	if len(body) < setHeaderLen {
		return 0, nil, nil, fmt.Errorf("set header needs %d bytes, %d left: %w", setHeaderLen, len(body), ErrShort)
	}
	id = binary.BigEndian.Uint16(body)
	n := int(binary.BigEndian.Uint16(body[2:]))
	if n < setHeaderLen || n > len(body) {
		return id, nil, nil, fmt.Errorf("set %d length %d, %d bytes left: %w", id, n, len(body), ErrLength)
	}
	return id, body[setHeaderLen:n], body[n:], nil
}

// fieldLen returns the encoded length of field f at the start of rec and the
// number of length-prefix bytes before its value (IPFIX variable-length
// encoding: one byte, or 255 followed by two bytes).
func fieldLen(f Field, rec []byte) (value, prefix int, err error) {
	if f.Length != VariableLength {
		if int(f.Length) > len(rec) {
			return 0, 0, fmt.Errorf("field %d needs %d bytes, %d left: %w", f.ID, f.Length, len(rec), ErrShort)
		}
		return int(f.Length), 0, nil
	}
	if len(rec) < 1 {
		return 0, 0, fmt.Errorf("variable-length field %d: %w", f.ID, ErrShort)
	}
	value, prefix = int(rec[0]), 1
	if value == 255 {
		if len(rec) < 3 {
			return 0, 0, fmt.Errorf("variable-length field %d long length: %w", f.ID, ErrShort)
		}
		value, prefix = int(binary.BigEndian.Uint16(rec[1:])), 3
	}
	if prefix+value > len(rec) {
		return 0, 0, fmt.Errorf("variable-length field %d of %d bytes, %d left: %w", f.ID, value, len(rec)-prefix, ErrLength)
	}
	return value, prefix, nil
}

// uintBE decodes a big-endian unsigned integer of 0..8 bytes (reduced-size
// encoding); longer slices use their last 8 bytes.
func uintBE(b []byte) uint64 {
	switch len(b) {
	case 1:
		return uint64(b[0])
	case 2:
		return uint64(binary.BigEndian.Uint16(b))
	case 4:
		return uint64(binary.BigEndian.Uint32(b))
	case 8:
		return binary.BigEndian.Uint64(b)
	}
	if len(b) > 8 {
		b = b[len(b)-8:]
	}
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v
}
