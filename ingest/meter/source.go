package meter

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
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
// Implementations: FileSource (pcap and pcapng through gopacket's pcapgo),
// AFPacketSource (Linux live capture, pure Go) and, with the "pcap" build
// tag, LiveSource (libpcap with snaplen and BPF filter).
type PacketSource interface {
	ReadPacket() (data []byte, ts time.Time, err error)
	LinkType() LinkType
	Close() error
}

// ErrCorrupt reports a capture file whose structure is damaged.
var ErrCorrupt = errors.New("corrupt capture file")

// ErrLinkType reports a capture whose link layer the meter cannot parse.
var ErrLinkType = errors.New("unsupported link type")

// pcapngMagic is the block type of a pcapng section header, the first four
// bytes of every pcapng file in either byte order.
const pcapngMagic = 0x0a0d0d0a

// FileSource reads a pcap or pcapng stream (optionally gzip-compressed),
// detected by its magic number. The formats are decoded by gopacket's
// pcapgo readers in their zero-copy mode.
type FileSource struct {
	in     *ioErrReader
	closer io.Closer
	pcap   *pcapgo.Reader   // classic pcap, or
	ng     *pcapgo.NgReader // pcapng, interfaces of mixed link types
	link   LinkType
}

// ioErrReader remembers the first error of the underlying reader other than
// io.EOF, so that an I/O failure is not mistaken for a damaged file.
type ioErrReader struct {
	r   io.Reader
	err error
}

func (e *ioErrReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) && e.err == nil {
		e.err = err
	}
	return n, err
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

// NewFileSource reads a pcap or pcapng stream from r. A gzip-compressed
// stream is decompressed on the fly.
func NewFileSource(r io.Reader) (*FileSource, error) {
	s := &FileSource{in: &ioErrReader{r: r}}
	br := bufio.NewReaderSize(s.in, 1<<16)
	magic, err := br.Peek(4)
	if err != nil {
		return nil, s.openErr(fmt.Errorf("read capture magic: %w", err))
	}
	if magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, s.openErr(fmt.Errorf("gzip capture: %w", err))
		}
		br = bufio.NewReaderSize(zr, 1<<16)
		if magic, err = br.Peek(4); err != nil {
			return nil, s.openErr(fmt.Errorf("read capture magic: %w", err))
		}
	}
	// pcapgo's readers wrap br in bufio.NewReader, which returns br itself
	// because it is larger than the default size.
	if binary.BigEndian.Uint32(magic) == pcapngMagic {
		s.ng, err = pcapgo.NewNgReader(br, pcapgo.NgReaderOptions{WantMixedLinkType: true})
		if err != nil {
			return nil, s.openErr(fmt.Errorf("pcapng section header: %w", err))
		}
		return s, nil
	}
	s.pcap, err = pcapgo.NewReader(br)
	if err != nil {
		return nil, s.openErr(fmt.Errorf("pcap header: %w", err))
	}
	dlt := s.pcap.LinkType()
	if s.link = linkFromDLT(uint32(dlt)); s.link == LinkUnknown {
		return nil, fmt.Errorf("%w: %d", ErrLinkType, dlt)
	}
	return s, nil
}

// openErr classifies a failure to read the file header: an I/O error as
// such, an empty stream as io.EOF, anything else as a damaged file.
func (s *FileSource) openErr(err error) error {
	switch {
	case s.in.err != nil:
		return fmt.Errorf("%w: %w", err, s.in.err)
	case errors.Is(err, io.EOF):
		return err
	}
	return fmt.Errorf("%w: %w", ErrCorrupt, err)
}

// ReadPacket returns the next frame; the slice is reused by the next call.
func (s *FileSource) ReadPacket() ([]byte, time.Time, error) {
	var (
		data []byte
		ci   gopacket.CaptureInfo
		err  error
	)
	if s.ng != nil {
		data, ci, err = s.ng.ZeroCopyReadPacketData()
		if err == nil {
			s.link = LinkUnknown // Parse rejects the frame
			if lt, ok := ci.AncillaryData[0].(layers.LinkType); ok {
				s.link = linkFromDLT(uint32(lt))
			}
		}
	} else {
		data, ci, err = s.pcap.ZeroCopyReadPacketData()
	}
	if err != nil {
		return nil, time.Time{}, s.readErr(err, ci)
	}
	return data, ci.Timestamp, nil
}

// readErr classifies a failed read. pcapgo reports a record whose header
// was read but whose data is missing entirely as io.EOF; that is a damaged
// file, not the end of one.
func (s *FileSource) readErr(err error, ci gopacket.CaptureInfo) error {
	switch {
	case s.in.err != nil:
		return fmt.Errorf("meter: read capture: %w", s.in.err)
	case errors.Is(err, io.EOF) && ci.CaptureLength == 0:
		return io.EOF
	case errors.Is(err, io.EOF):
		return fmt.Errorf("meter: capture record: %w: %d bytes of data missing", ErrCorrupt, ci.CaptureLength)
	}
	return fmt.Errorf("meter: capture record: %w: %w", ErrCorrupt, err)
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
