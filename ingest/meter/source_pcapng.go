package meter

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
)

// pcapng block types (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng).
const (
	ngSHB = 0x0a0d0d0a // section header
	ngIDB = 1          // interface description
	ngOPB = 2          // obsolete packet block
	ngSPB = 3          // simple packet block
	ngEPB = 6          // enhanced packet block

	ngByteOrderMagic = 0x1a2b3c4d
	ngOptTsResol     = 9
)

// tsRes is an interface's timestamp unit as (power, base): 10^-6 by default.
type tsRes struct {
	exp    uint8
	binary bool
}

func (r tsRes) toTime(ts uint64) time.Time {
	if r.binary {
		div := uint64(1) << r.exp
		sec := ts / div
		frac := ts % div
		return time.Unix(int64(sec), int64(frac*1e9/div))
	}
	if r.exp <= 9 {
		div := uint64(1)
		for range r.exp {
			div *= 10
		}
		mul := uint64(1e9) / div
		return time.Unix(int64(ts/div), int64(ts%div*mul))
	}
	div := uint64(1)
	for range r.exp {
		div *= 10
	}
	return time.Unix(int64(ts/div), int64((ts%div)/(div/1e9)))
}

// readNgSection parses a section header block (its type already peeked).
func (s *FileSource) readNgSection() error {
	h, err := s.fill(12)
	if err != nil {
		return fmt.Errorf("pcapng section header: %w", err)
	}
	switch {
	case binary.LittleEndian.Uint32(h[8:12]) == ngByteOrderMagic:
		s.bo = binary.LittleEndian
	case binary.BigEndian.Uint32(h[8:12]) == ngByteOrderMagic:
		s.bo = binary.BigEndian
	default:
		return fmt.Errorf("%w: pcapng byte-order magic %x", ErrCorrupt, h[8:12])
	}
	total := int(s.bo.Uint32(h[4:8]))
	if total < 28 || total%4 != 0 {
		return fmt.Errorf("%w: pcapng section header length %d", ErrCorrupt, total)
	}
	if _, err := s.fill(total - 12); err != nil {
		return fmt.Errorf("pcapng section header: %w", err)
	}
	s.ifLink = s.ifLink[:0]
	s.ifRes = s.ifRes[:0]
	return nil
}

func (s *FileSource) readNgPacket() ([]byte, time.Time, error) {
	for {
		hdr, err := s.r.Peek(8)
		if err != nil {
			if errors.Is(err, io.EOF) && len(hdr) == 0 {
				return nil, time.Time{}, io.EOF
			}
			return nil, time.Time{}, fmt.Errorf("meter: pcapng block header: %w: %w", ErrCorrupt, err)
		}
		if binary.BigEndian.Uint32(hdr) == ngSHB {
			if err := s.readNgSection(); err != nil {
				return nil, time.Time{}, fmt.Errorf("meter: %w", err)
			}
			continue
		}
		typ := s.bo.Uint32(hdr[0:4])
		total := int(s.bo.Uint32(hdr[4:8]))
		if total < 12 || total%4 != 0 {
			return nil, time.Time{}, fmt.Errorf("meter: pcapng block type %d: %w: length %d", typ, ErrCorrupt, total)
		}
		blk, err := s.fill(total)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = ErrCorrupt
			}
			return nil, time.Time{}, fmt.Errorf("meter: pcapng block type %d: %w", typ, err)
		}
		body := blk[8 : total-4]
		switch typ {
		case ngIDB:
			if err := s.addInterface(body); err != nil {
				return nil, time.Time{}, fmt.Errorf("meter: %w", err)
			}
		case ngEPB, ngOPB:
			if len(body) < 20 {
				return nil, time.Time{}, fmt.Errorf("meter: pcapng packet block: %w: body %d bytes", ErrCorrupt, len(body))
			}
			var ifc int
			if typ == ngEPB {
				ifc = int(s.bo.Uint32(body[0:4]))
			} else {
				ifc = int(s.bo.Uint16(body[0:2]))
			}
			ts := uint64(s.bo.Uint32(body[4:8]))<<32 | uint64(s.bo.Uint32(body[8:12]))
			capLen := int(s.bo.Uint32(body[12:16]))
			if ifc >= len(s.ifLink) {
				return nil, time.Time{}, fmt.Errorf("meter: pcapng packet block: %w: interface %d not described", ErrCorrupt, ifc)
			}
			if capLen > len(body)-20 {
				return nil, time.Time{}, fmt.Errorf("meter: pcapng packet block: %w: captured length %d exceeds block", ErrCorrupt, capLen)
			}
			s.link = s.ifLink[ifc]
			return body[20 : 20+capLen], s.ifRes[ifc].toTime(ts), nil
		case ngSPB:
			if len(body) < 4 || len(s.ifLink) == 0 {
				return nil, time.Time{}, fmt.Errorf("meter: pcapng simple packet block: %w", ErrCorrupt)
			}
			n := min(int(s.bo.Uint32(body[0:4])), len(body)-4)
			s.link = s.ifLink[0]
			return body[4 : 4+n], time.Time{}, nil
		default:
			// name resolution, statistics, custom blocks: not needed
		}
	}
}

func (s *FileSource) addInterface(body []byte) error {
	if len(body) < 8 {
		return fmt.Errorf("pcapng interface block: %w: body %d bytes", ErrCorrupt, len(body))
	}
	if len(s.ifLink) >= 1024 {
		return fmt.Errorf("pcapng interface block: %w: too many interfaces", ErrCorrupt)
	}
	link := linkFromDLT(uint32(s.bo.Uint16(body[0:2])))
	res := tsRes{exp: 6}
	opts := body[8:]
	for len(opts) >= 4 {
		code := s.bo.Uint16(opts[0:2])
		l := int(s.bo.Uint16(opts[2:4]))
		if code == 0 {
			break
		}
		padded := (l + 3) &^ 3
		if 4+padded > len(opts) {
			return fmt.Errorf("pcapng interface option %d: %w", code, ErrCorrupt)
		}
		if code == ngOptTsResol && l >= 1 {
			v := opts[4]
			res = tsRes{exp: v & 0x7f, binary: v&0x80 != 0}
			if (res.binary && res.exp > 63) || (!res.binary && res.exp > 19) {
				return fmt.Errorf("pcapng interface: %w: timestamp resolution %#x", ErrCorrupt, v)
			}
		}
		opts = opts[4+padded:]
	}
	// Packets of unknown link types are still returned; Parse rejects them.
	s.ifLink = append(s.ifLink, link)
	s.ifRes = append(s.ifRes, res)
	return nil
}
