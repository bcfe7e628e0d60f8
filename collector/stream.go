package collector

import (
	"encoding/binary"
	"fmt"
	"io"
)

// MaxMessageLen is the largest IPFIX message (its length field is 16 bits).
const MaxMessageLen = 65535

// ReadMessage reads one IPFIX message from a byte stream (IPFIX over TCP,
// RFC 7011 §10.4: messages back to back, boundaries given by the length
// field, not by segments). buf is reused when it has room for 65535 bytes.
// It returns io.EOF at a clean end of stream, io.ErrUnexpectedEOF inside a
// message, and ErrVersion / ErrLength for a stream that is not IPFIX.
func ReadMessage(r io.Reader, buf []byte) ([]byte, error) {
	if cap(buf) < MaxMessageLen {
		buf = make([]byte, MaxMessageLen)
	}
	buf = buf[:cap(buf)]
	if _, err := io.ReadFull(r, buf[:ipfixHeaderLen]); err != nil {
		return nil, err
	}
	if v := binary.BigEndian.Uint16(buf); v != 10 {
		return nil, fmt.Errorf("stream message version %d: %w", v, ErrVersion)
	}
	n := int(binary.BigEndian.Uint16(buf[2:]))
	if n < ipfixHeaderLen {
		return nil, fmt.Errorf("stream message length %d: %w", n, ErrLength)
	}
	if _, err := io.ReadFull(r, buf[ipfixHeaderLen:n]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("stream message of %d bytes: %w", n, err)
	}
	return buf[:n], nil
}
