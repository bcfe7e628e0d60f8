package meter

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"
)

// Capture format constants the test writers need (the reader itself is
// pcapgo's).
const (
	pcapMagicUsec = 0xa1b2c3d4
	pcapMagicNsec = 0xa1b23c4d

	ngSHB            = pcapngMagic
	ngIDB            = 1
	ngEPB            = 6
	ngByteOrderMagic = 0x1a2b3c4d
	ngOptTsResol     = 9
)

// pcapVariant writes one frame as a pcap with the given byte order and
// timestamp unit.
func pcapVariant(bo binary.ByteOrder, nanos bool, ts time.Time, data []byte) []byte {
	var b bytes.Buffer
	magic := uint32(pcapMagicUsec)
	frac := uint32(ts.Nanosecond() / 1000)
	if nanos {
		magic, frac = pcapMagicNsec, uint32(ts.Nanosecond())
	}
	binary.Write(&b, bo, magic)
	binary.Write(&b, bo, []uint16{2, 4})
	binary.Write(&b, bo, []uint32{0, 0, 65535, 1})
	binary.Write(&b, bo, []uint32{uint32(ts.Unix()), frac, uint32(len(data)), uint32(len(data))})
	b.Write(data)
	return b.Bytes()
}

// pcapngFile writes a section header, one Ethernet interface with the given
// if_tsresol byte, and one enhanced packet block.
func pcapngFile(bo binary.ByteOrder, tsresol byte, ts uint64, data []byte) []byte {
	block := func(typ uint32, body []byte) []byte {
		for len(body)%4 != 0 {
			body = append(body, 0)
		}
		var b bytes.Buffer
		binary.Write(&b, bo, typ)
		binary.Write(&b, bo, uint32(12+len(body)))
		b.Write(body)
		binary.Write(&b, bo, uint32(12+len(body)))
		return b.Bytes()
	}
	var shb, idb, epb bytes.Buffer
	binary.Write(&shb, bo, uint32(ngByteOrderMagic))
	binary.Write(&shb, bo, []uint16{1, 0})
	binary.Write(&shb, bo, int64(-1))
	binary.Write(&idb, bo, []uint16{1, 0})
	binary.Write(&idb, bo, uint32(65535))
	binary.Write(&idb, bo, []uint16{ngOptTsResol, 1})
	idb.Write([]byte{tsresol, 0, 0, 0})
	binary.Write(&idb, bo, []uint16{0, 0})
	binary.Write(&epb, bo, []uint32{0, uint32(ts >> 32), uint32(ts), uint32(len(data)), uint32(len(data))})
	epb.Write(data)
	out := block(ngSHB, shb.Bytes())
	out = append(out, block(ngIDB, idb.Bytes())...)
	return append(out, block(ngEPB, epb.Bytes())...)
}

func TestFileSourceFormats(t *testing.T) {
	data := udp(true, 1, 2, []byte("payload"))
	ts := time.Date(2024, 2, 3, 4, 5, 6, 123456789, time.UTC)
	usec := ts.Truncate(time.Microsecond)
	tests := []struct {
		name string
		file []byte
		want time.Time
	}{
		{"pcap little-endian microseconds", pcapVariant(binary.LittleEndian, false, ts, data), usec},
		{"pcap big-endian nanoseconds", pcapVariant(binary.BigEndian, true, ts, data), ts},
		{"pcapng default microseconds", pcapngFile(binary.LittleEndian, 6, uint64(usec.UnixMicro()), data), usec},
		{"pcapng big-endian nanoseconds", pcapngFile(binary.BigEndian, 9, uint64(ts.UnixNano()), data), ts},
		{"pcapng binary resolution 2^-20", pcapngFile(binary.LittleEndian, 0x80|20, uint64(ts.Unix())<<20, data), ts.Truncate(time.Second)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src, err := NewFileSource(bytes.NewReader(tc.file))
			if err != nil {
				t.Fatal(err)
			}
			got, gts, err := src.ReadPacket()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, data) || !gts.Equal(tc.want) || src.LinkType() != LinkEthernet {
				t.Errorf("got %d bytes at %v link %d, want %d bytes at %v", len(got), gts.UTC(), src.LinkType(), len(data), tc.want)
			}
		})
	}
}
