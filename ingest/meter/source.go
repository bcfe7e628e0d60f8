package meter

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// LinkType identifies the frame format a PacketSource delivers.
type LinkType uint8

// Link types the parser understands.
const (
	LinkUnknown  LinkType = iota
	LinkEthernet          // LINKTYPE_ETHERNET (1)
	LinkRawIP             // LINKTYPE_RAW (101, 12), LINKTYPE_IPV4/IPV6 (228/229)
	LinkLinuxSLL          // LINKTYPE_LINUX_SLL (113)
)

// linkFromDLT maps a pcap LINKTYPE_ number.
func linkFromDLT(dlt uint32) LinkType {
	switch dlt {
	case 1:
		return LinkEthernet
	case 12, 101, 228, 229:
		return LinkRawIP
	case 113:
		return LinkLinuxSLL
	}
	return LinkUnknown
}

// PacketSource delivers captured frames one at a time. The returned slice is
// only valid until the next call to ReadPacket (sources reuse their buffer).
// io.EOF ends the input. LinkType describes the frame last returned.
// Implementations: FileSource (pcap and pcapng, pure Go) and, with the
// "pcap" build tag, LiveSource (libpcap with snaplen and BPF filter);
// AF_PACKET can be added behind the same interface.
type PacketSource interface {
	ReadPacket() (data []byte, ts time.Time, err error)
	LinkType() LinkType
	Close() error
}

// ErrCorrupt reports a capture file whose structure is damaged.
var ErrCorrupt = errors.New("corrupt capture file")

// maxBlock bounds a single record/block so that a corrupt length cannot make
// the reader allocate gigabytes.
const maxBlock = 1 << 24

// FileSource reads a pcap or pcapng stream, detected by its magic number.
type FileSource struct {
	r      *bufio.Reader
	closer io.Closer
	ng     bool
	bo     binary.ByteOrder
	buf    []byte

	// classic pcap
	nanos bool
	link  LinkType

	// pcapng: per interface link type and timestamp resolution
	ifLink []LinkType
	ifRes  []tsRes
}

// OpenFile opens a pcap or pcapng file; "-" reads standard input.
func OpenFile(path string) (*FileSource, error) {
	var f *os.File
	if path == "-" {
		f = os.Stdin
	} else {
		var err error
		f, err = os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("meter: open capture: %w", err)
		}
	}
	src, err := NewFileSource(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("meter: %s: %w", path, err)
	}
	if f != os.Stdin {
		src.closer = f
	}
	return src, nil
}

// NewFileSource reads a pcap or pcapng stream from r.
func NewFileSource(r io.Reader) (*FileSource, error) {
	s := &FileSource{r: bufio.NewReaderSize(r, 1<<16), buf: make([]byte, 0, 65536+64)}
	magic, err := s.r.Peek(4)
	if err != nil {
		return nil, fmt.Errorf("read capture magic: %w", err)
	}
	if binary.BigEndian.Uint32(magic) == ngSHB {
		s.ng = true
		if err := s.readNgSection(); err != nil {
			return nil, err
		}
		return s, nil
	}
	if err := s.readPcapHeader(); err != nil {
		return nil, err
	}
	return s, nil
}

// ReadPacket returns the next frame; the slice is reused by the next call.
func (s *FileSource) ReadPacket() ([]byte, time.Time, error) {
	if s.ng {
		return s.readNgPacket()
	}
	return s.readPcapPacket()
}

// LinkType reports the link layer of the frame last returned.
func (s *FileSource) LinkType() LinkType { return s.link }

// Close closes the underlying file if OpenFile opened it.
func (s *FileSource) Close() error {
	if s.closer == nil {
		return nil
	}
	return s.closer.Close()
}

// fill reads exactly n bytes into the reusable buffer.
func (s *FileSource) fill(n int) ([]byte, error) {
	if n > maxBlock || n < 0 {
		return nil, fmt.Errorf("%w: length %d", ErrCorrupt, n)
	}
	if cap(s.buf) < n {
		s.buf = make([]byte, n)
	}
	b := s.buf[:n]
	if _, err := io.ReadFull(s.r, b); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: truncated record: %w", ErrCorrupt, err)
		}
		return nil, err
	}
	return b, nil
}
