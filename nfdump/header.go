package nfdump

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Layout versions stored in the file header.
const (
	LayoutV1 = 1 // nfdump 1.6.x
	LayoutV2 = 2 // nfdump 1.7.x and later
)

// Compression methods (file header byte 16 in LayoutV2).
type Compression uint8

// Compression codes as stored by nfdump ≥ 1.7.
const (
	CompressNone Compression = 0
	CompressLZO  Compression = 1
	CompressBZ2  Compression = 2
	CompressLZ4  Compression = 3
	CompressZSTD Compression = 4
)

func (c Compression) String() string {
	switch c {
	case CompressNone:
		return "none"
	case CompressLZO:
		return "lzo"
	case CompressBZ2:
		return "bz2"
	case CompressLZ4:
		return "lz4"
	case CompressZSTD:
		return "zstd"
	}
	return fmt.Sprintf("compression(%d)", uint8(c))
}

const (
	magic         = 0xA50C
	headerV2Size  = 40
	headerV1Size  = 140
	statV1Size    = 136
	dataStartV1   = headerV1Size + statV1Size
	statV2Size    = 144
	identV1Size   = 128
	v1FlagLZO     = 0x01
	v1FlagBZ2     = 0x08
	v1FlagLZ4     = 0x10
	v1FlagAnon    = 0x02
	v1CompressMsk = 0x19
)

// ErrFormat is wrapped by every error about malformed file contents.
var ErrFormat = errors.New("nfdump: malformed file")

// header is the parsed file header of either layout.
type header struct {
	layout       int
	nfdVersion   uint32
	created      int64
	compression  Compression
	appendixBlks int
	offAppendix  int64
	numBlocks    uint32
	dataStart    int64
	ident        string // V1 only: stored in the header
	stats        Stats  // V1 only: stored after the header
	anonymised   bool
	appendixLost bool // appendix offset beyond EOF (truncated file)
}

// parseHeader parses the first bytes of a file. b must hold at least
// headerV1Size+statV1Size bytes if the file is that long; size is the file size.
func parseHeader(b []byte, size int64) (header, error) {
	var h header
	if len(b) < 4 {
		return h, fmt.Errorf("%w: file header truncated at offset 0 (%d bytes, need 4)", ErrFormat, len(b))
	}
	m := binary.LittleEndian.Uint16(b)
	if m != magic {
		if m == 0x0CA5 {
			return h, fmt.Errorf("%w: offset 0: big-endian file (magic 0x0ca5) not supported", ErrFormat)
		}
		return h, fmt.Errorf("%w: offset 0: bad magic 0x%04x, want 0xa50c", ErrFormat, m)
	}
	h.layout = int(binary.LittleEndian.Uint16(b[2:]))
	switch h.layout {
	case LayoutV2:
		if len(b) < headerV2Size {
			return h, fmt.Errorf("%w: file header truncated at offset %d (need %d bytes)", ErrFormat, len(b), headerV2Size)
		}
		h.nfdVersion = binary.LittleEndian.Uint32(b[4:])
		h.created = int64(binary.LittleEndian.Uint64(b[8:]))
		h.compression = Compression(b[16])
		if b[17] != 0 {
			return h, fmt.Errorf("%w: offset 17: encrypted files (encryption %d) not supported", ErrFormat, b[17])
		}
		if h.compression > CompressZSTD {
			return h, fmt.Errorf("%w: offset 16: unknown compression %d", ErrFormat, b[16])
		}
		h.appendixBlks = int(binary.LittleEndian.Uint16(b[18:]))
		h.offAppendix = int64(binary.LittleEndian.Uint64(b[24:]))
		h.numBlocks = binary.LittleEndian.Uint32(b[36:])
		h.dataStart = headerV2Size
		if h.appendixBlks > 0 && h.offAppendix < headerV2Size {
			return h, fmt.Errorf("%w: offset 24: appendix offset %d inside the file header", ErrFormat, h.offAppendix)
		}
		if h.appendixBlks > 0 && h.offAppendix >= size {
			// Truncated file: no appendix to read (like nfdump, which only
			// reads it when offAppendix < file size); data blocks are still
			// read up to the point of truncation.
			h.appendixBlks = 0
			h.appendixLost = true
		}
	case LayoutV1:
		if len(b) < dataStartV1 {
			return h, fmt.Errorf("%w: 1.6 file header truncated at offset %d (need %d bytes)", ErrFormat, len(b), dataStartV1)
		}
		flags := binary.LittleEndian.Uint32(b[4:])
		switch flags & v1CompressMsk {
		case 0:
			h.compression = CompressNone
		case v1FlagLZO:
			h.compression = CompressLZO
		case v1FlagBZ2:
			h.compression = CompressBZ2
		case v1FlagLZ4:
			h.compression = CompressLZ4
		default:
			return h, fmt.Errorf("%w: offset 4: conflicting compression flags 0x%x", ErrFormat, flags)
		}
		h.anonymised = flags&v1FlagAnon != 0
		h.numBlocks = binary.LittleEndian.Uint32(b[8:])
		h.ident = cString(b[12 : 12+identV1Size])
		h.stats = parseStatV1(b[headerV1Size:dataStartV1])
		h.dataStart = dataStartV1
	default:
		return h, fmt.Errorf("%w: offset 2: unsupported layout version %d", ErrFormat, h.layout)
	}
	return h, nil
}

// Stats is the file's statistics record (what nfdump -I prints).
type Stats struct {
	Flows, Bytes, Packets                             uint64
	FlowsTCP, FlowsUDP, FlowsICMP, FlowsOther         uint64
	BytesTCP, BytesUDP, BytesICMP, BytesOther         uint64
	PacketsTCP, PacketsUDP, PacketsICMP, PacketsOther uint64
	FirstMs, LastMs                                   uint64 // Unix milliseconds
	SequenceFailures                                  uint64
}

func (s *Stats) counters() []*uint64 {
	return []*uint64{&s.Flows, &s.Bytes, &s.Packets,
		&s.FlowsTCP, &s.FlowsUDP, &s.FlowsICMP, &s.FlowsOther,
		&s.BytesTCP, &s.BytesUDP, &s.BytesICMP, &s.BytesOther,
		&s.PacketsTCP, &s.PacketsUDP, &s.PacketsICMP, &s.PacketsOther}
}

func parseStatV1(b []byte) Stats {
	var s Stats
	for i, p := range s.counters() {
		*p = binary.LittleEndian.Uint64(b[8*i:])
	}
	first := uint64(binary.LittleEndian.Uint32(b[120:]))
	last := uint64(binary.LittleEndian.Uint32(b[124:]))
	s.FirstMs = first*1000 + uint64(binary.LittleEndian.Uint16(b[128:]))
	s.LastMs = last*1000 + uint64(binary.LittleEndian.Uint16(b[130:]))
	s.SequenceFailures = uint64(binary.LittleEndian.Uint32(b[132:]))
	return s
}

func parseStatV2(b []byte) Stats {
	var s Stats
	for i, p := range s.counters() {
		*p = binary.LittleEndian.Uint64(b[8*i:])
	}
	s.FirstMs = binary.LittleEndian.Uint64(b[120:])
	s.LastMs = binary.LittleEndian.Uint64(b[128:])
	s.SequenceFailures = binary.LittleEndian.Uint64(b[136:])
	return s
}

func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
