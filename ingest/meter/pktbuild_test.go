package meter

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Test packet construction. The brief asked for pcapgo to write the test
// captures, but pcapgo does not build in this module (it needs
// golang.org/x/net, absent from go.sum), so a 20-line pcap writer is here.

var (
	macA = [6]byte{0x02, 0, 0, 0, 0, 0x0a}
	macB = [6]byte{0x02, 0, 0, 0, 0, 0x0b}
)

type l4 struct {
	proto    uint8
	sport    uint16
	dport    uint16
	flags    uint8
	icmpType uint8
	icmpCode uint8
	payload  []byte
	vlans    []uint16
	v6       bool
	src, dst []byte // 4 or 16 bytes
	srcMAC   [6]byte
	dstMAC   [6]byte
}

// frame builds an Ethernet frame for the description.
func frame(d l4) []byte {
	var l4b []byte
	switch d.proto {
	case protoTCP:
		l4b = make([]byte, 20)
		binary.BigEndian.PutUint16(l4b[0:], d.sport)
		binary.BigEndian.PutUint16(l4b[2:], d.dport)
		l4b[12] = 5 << 4
		l4b[13] = d.flags
	case protoUDP:
		l4b = make([]byte, 8)
		binary.BigEndian.PutUint16(l4b[0:], d.sport)
		binary.BigEndian.PutUint16(l4b[2:], d.dport)
		binary.BigEndian.PutUint16(l4b[4:], uint16(8+len(d.payload)))
	case protoICMP, protoICMPv6:
		l4b = []byte{d.icmpType, d.icmpCode, 0, 0, 0, 0, 0, 0}
	}
	l4b = append(l4b, d.payload...)
	var ip []byte
	if d.v6 {
		ip = make([]byte, 40)
		ip[0] = 0x60
		binary.BigEndian.PutUint16(ip[4:], uint16(len(l4b)))
		ip[6] = d.proto
		ip[7] = 64
		copy(ip[8:], d.src)
		copy(ip[24:], d.dst)
	} else {
		ip = make([]byte, 20)
		ip[0] = 0x45
		binary.BigEndian.PutUint16(ip[2:], uint16(20+len(l4b)))
		ip[8] = 64
		ip[9] = d.proto
		copy(ip[12:], d.src)
		copy(ip[16:], d.dst)
	}
	ip = append(ip, l4b...)
	var eth bytes.Buffer
	eth.Write(d.dstMAC[:])
	eth.Write(d.srcMAC[:])
	for _, v := range d.vlans {
		binary.Write(&eth, binary.BigEndian, uint16(etherVLAN))
		binary.Write(&eth, binary.BigEndian, v)
	}
	if d.v6 {
		binary.Write(&eth, binary.BigEndian, uint16(etherIPv6))
	} else {
		binary.Write(&eth, binary.BigEndian, uint16(etherIPv4))
	}
	eth.Write(ip)
	return eth.Bytes()
}

type capturedFrame struct {
	ts   time.Time
	data []byte
}

// pcapBytes encodes frames as a little-endian microsecond pcap file.
func pcapBytes(frames []capturedFrame) []byte {
	var b bytes.Buffer
	hdr := []uint32{pcapMagicUsec, 0x00040002, 0, 0, 65535, 1}
	for i, v := range hdr {
		if i == 1 {
			binary.Write(&b, binary.LittleEndian, uint16(2))
			binary.Write(&b, binary.LittleEndian, uint16(4))
			continue
		}
		binary.Write(&b, binary.LittleEndian, v)
	}
	for _, f := range frames {
		binary.Write(&b, binary.LittleEndian, []uint32{
			uint32(f.ts.Unix()), uint32(f.ts.Nanosecond() / 1000), uint32(len(f.data)), uint32(len(f.data))})
		b.Write(f.data)
	}
	return b.Bytes()
}

// writePcap stores frames in a temporary pcap file and returns its path.
func writePcap(t *testing.T, frames []capturedFrame) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.pcap")
	if err := os.WriteFile(path, pcapBytes(frames), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

var (
	ipA = []byte{192, 168, 1, 10}
	ipB = []byte{192, 168, 1, 1}
	t0  = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
)

// udpAB / udpBA build a UDP packet between A and B.
func udp(fromA bool, sport, dport uint16, payload []byte) []byte {
	d := l4{proto: protoUDP, sport: sport, dport: dport, payload: payload, src: ipA, dst: ipB, srcMAC: macA, dstMAC: macB}
	if !fromA {
		d.src, d.dst, d.srcMAC, d.dstMAC = ipB, ipA, macB, macA
	}
	return frame(d)
}

func tcp(fromA bool, sport, dport uint16, flags uint8, payload []byte) []byte {
	d := l4{proto: protoTCP, sport: sport, dport: dport, flags: flags, payload: payload, src: ipA, dst: ipB, srcMAC: macA, dstMAC: macB}
	if !fromA {
		d.src, d.dst, d.srcMAC, d.dstMAC = ipB, ipA, macB, macA
	}
	return frame(d)
}

func sha256Hex12(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:6])
}
