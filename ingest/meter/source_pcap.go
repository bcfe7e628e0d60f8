package meter

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
)

// Classic pcap: a 24-byte global header (magic a1b2c3d4 for microsecond or
// a1b23c4d for nanosecond timestamps, in the writer's byte order) followed by
// records of a 16-byte header and the frame.
const (
	pcapMagicUsec = 0xa1b2c3d4
	pcapMagicNsec = 0xa1b23c4d
)

func (s *FileSource) readPcapHeader() error {
	h, err := s.fill(24)
	if err != nil {
		return fmt.Errorf("pcap header: %w", err)
	}
	switch {
	case binary.LittleEndian.Uint32(h) == pcapMagicUsec:
		s.bo = binary.LittleEndian
	case binary.BigEndian.Uint32(h) == pcapMagicUsec:
		s.bo = binary.BigEndian
	case binary.LittleEndian.Uint32(h) == pcapMagicNsec:
		s.bo, s.nanos = binary.LittleEndian, true
	case binary.BigEndian.Uint32(h) == pcapMagicNsec:
		s.bo, s.nanos = binary.BigEndian, true
	default:
		return fmt.Errorf("%w: unknown magic %x (neither pcap nor pcapng)", ErrCorrupt, h[:4])
	}
	dlt := s.bo.Uint32(h[20:24]) & 0x0fffffff // upper bits carry FCS info
	s.link = linkFromDLT(dlt)
	if s.link == LinkUnknown {
		return fmt.Errorf("%w: %d", ErrLinkType, dlt)
	}
	return nil
}

// ErrLinkType reports a capture whose link layer the meter cannot parse.
var ErrLinkType = errors.New("unsupported link type")

func (s *FileSource) readPcapPacket() ([]byte, time.Time, error) {
	h, err := s.fill(16)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, time.Time{}, io.EOF
		}
		return nil, time.Time{}, fmt.Errorf("meter: pcap record header: %w", err)
	}
	sec := int64(s.bo.Uint32(h[0:4]))
	frac := int64(s.bo.Uint32(h[4:8]))
	incl := s.bo.Uint32(h[8:12])
	if !s.nanos {
		frac *= 1000
	}
	if frac >= 1e9 {
		return nil, time.Time{}, fmt.Errorf("meter: pcap record: %w: sub-second part %d", ErrCorrupt, frac)
	}
	data, err := s.fill(int(incl))
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = fmt.Errorf("%w: record data missing", ErrCorrupt)
		}
		return nil, time.Time{}, fmt.Errorf("meter: pcap record: %w", err)
	}
	return data, time.Unix(sec, frac), nil
}
