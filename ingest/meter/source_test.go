package meter

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestFileSourceReadsGoldenCaptures(t *testing.T) {
	dir := pcapTestdata(t)
	tests := []struct {
		file    string
		packets int
		ip      int
		first   time.Time
	}{
		{"mixed.pcap", 205, 0, time.Time{}},
		{"http.pcap", 46, 46, time.Date(2016, 4, 7, 18, 23, 31, 194983000, time.UTC)},
		{"vlan.pcap", 6, 6, time.Date(2000, 1, 1, 7, 47, 50, 501268000, time.UTC)},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			src, err := OpenFile(filepath.Join(dir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			var n, ip int
			var p Packet
			for {
				data, ts, err := src.ReadPacket()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatalf("packet %d: %v", n, err)
				}
				if n == 0 && !tc.first.IsZero() && !ts.Equal(tc.first) {
					t.Errorf("first timestamp %v, want %v", ts.UTC(), tc.first)
				}
				n++
				if Parse(src.LinkType(), data, &p) == nil {
					ip++
				}
			}
			if n != tc.packets {
				t.Errorf("read %d packets, want %d", n, tc.packets)
			}
			if tc.ip != 0 && ip != tc.ip {
				t.Errorf("%d IP packets parsed, want %d", ip, tc.ip)
			}
		})
	}
}

func TestFileSourceRejectsBadInput(t *testing.T) {
	dir := pcapTestdata(t)
	good, err := os.ReadFile(filepath.Join(dir, "http.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"unknown magic", []byte("this is not a capture file at all")},
		{"empty", nil},
		{"truncated record", good[:24+16+10]},
		{"truncated record header", good[:24+8]},
		{"huge record length", append(append([]byte{}, good[:24]...), 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src, err := NewFileSource(bytes.NewReader(tc.data))
			if err != nil {
				return // rejected up front: fine
			}
			for i := 0; i < 100; i++ {
				_, _, err = src.ReadPacket()
				if err != nil {
					break
				}
			}
			if err == nil || errors.Is(err, io.EOF) {
				t.Fatalf("got %v, want a corruption error", err)
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("error %v does not wrap ErrCorrupt", err)
			}
		})
	}
}
