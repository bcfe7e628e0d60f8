package trap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Wire constants of libtrap 1.18.2 (spec/trap-wire.md §4, §5, §8).
const (
	// HelloHeaderSize is the size of the hello header: data type, 3 padding
	// bytes, and the big-endian specifier length.
	HelloHeaderSize = 8
	// ContainerHeaderSize is the size of a socket container header: BE payload
	// length, LE uint64 sequence number, LE uint16 message count.
	ContainerHeaderSize = 14
	// FileBufferHeaderSize is the size of a .trapcap buffer header: BE payload length.
	FileBufferHeaderSize = 4
	// MaxPayload is the largest container payload a C receiver accepts
	// (TRAP_IFC_MESSAGEQ_SIZE); a sender must never exceed it.
	MaxPayload = 100000
	// MaxMessage is the largest message: its length is a uint16.
	MaxMessage = 65535
	// maxSpecLen bounds a received specifier so garbage cannot make us
	// allocate gigabytes. Real UniRec specs are a few hundred bytes.
	maxSpecLen = 1 << 20
)

// Hello is the format announcement an output sends to each input right
// after accepting it, and the first thing in every .trapcap file.
type Hello struct {
	Format Format
	Spec   string
}

// AppendHello appends the wire form of h to dst. The specifier is only
// sent for UniRec and JSON, as libtrap does.
func AppendHello(dst []byte, h Hello) []byte {
	spec := h.Spec
	if h.Format != FormatUniRec && h.Format != FormatJSON {
		spec = ""
	}
	dst = append(dst, byte(h.Format), 0, 0, 0)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(spec)))
	return append(dst, spec...)
}

// ErrBadHello reports a hello header that cannot be valid.
var ErrBadHello = errors.New("trap: malformed hello message")

// ReadHello reads one hello message from r. The padding bytes are ignored.
func ReadHello(r io.Reader) (Hello, error) {
	var hdr [HelloHeaderSize]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return Hello{}, fmt.Errorf("trap: reading hello header: %w", err)
	}
	h := Hello{Format: Format(hdr[0])}
	if h.Format > FormatJSON {
		return Hello{}, fmt.Errorf("%w: data type %d", ErrBadHello, hdr[0])
	}
	n := binary.BigEndian.Uint32(hdr[4:])
	if n > maxSpecLen {
		return Hello{}, fmt.Errorf("%w: specifier length %d exceeds %d", ErrBadHello, n, maxSpecLen)
	}
	if n > 0 {
		spec := make([]byte, n)
		if _, err := io.ReadFull(r, spec); err != nil {
			return Hello{}, fmt.Errorf("trap: reading hello specifier (%d bytes): %w", n, err)
		}
		h.Spec = string(spec)
	}
	return h, nil
}

// PutContainerHeader writes a socket container header into b[:14].
func PutContainerHeader(b []byte, payloadLen uint32, seq uint64, count uint16) {
	binary.BigEndian.PutUint32(b[0:4], payloadLen)
	binary.LittleEndian.PutUint64(b[4:12], seq)
	binary.LittleEndian.PutUint16(b[12:14], count)
}

// ParseContainerHeader decodes a socket container header from b[:14].
func ParseContainerHeader(b []byte) (payloadLen uint32, seq uint64, count uint16) {
	return binary.BigEndian.Uint32(b[0:4]), binary.LittleEndian.Uint64(b[4:12]), binary.LittleEndian.Uint16(b[12:14])
}

// ErrBadFraming reports a container whose message lengths run past its end.
var ErrBadFraming = errors.New("trap: message length runs past the end of its buffer")

// NextMessage splits the first message off a container payload. It returns
// the message (a sub-slice of payload) and the rest. An empty payload
// returns io.EOF.
func NextMessage(payload []byte) (msg, rest []byte, err error) {
	if len(payload) == 0 {
		return nil, nil, io.EOF
	}
	if len(payload) < 2 {
		return nil, nil, fmt.Errorf("%w: %d stray byte(s)", ErrBadFraming, len(payload))
	}
	n := int(binary.BigEndian.Uint16(payload))
	if 2+n > len(payload) {
		return nil, nil, fmt.Errorf("%w: message of %d bytes, %d left", ErrBadFraming, n, len(payload)-2)
	}
	return payload[2 : 2+n], payload[2+n:], nil
}

// AppendMessage appends msg with its BE uint16 length prefix.
func AppendMessage(dst, msg []byte) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(msg)))
	return append(dst, msg...)
}

// EOS is the end-of-stream message NEMEA modules send: one zero byte.
// Receivers treat any message of length <= 1 as end of stream.
var EOS = []byte{0}

// IsEOS reports whether msg is an end-of-stream message.
func IsEOS(msg []byte) bool { return len(msg) <= 1 }
