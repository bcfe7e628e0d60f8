package meter

import (
	"context"
	"runtime"

	"bytes"
	"compress/gzip"
	"errors"
	"github.com/flowgate/flowgate/unirec"
	"io"
	"testing"
	"testing/iotest"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// captureFiles encodes frames as a pcap and as a pcapng file.
func captureFiles(t testing.TB, frames [][]byte) (pcap, pcapng []byte) {
	t.Helper()
	cf := make([]capturedFrame, len(frames))
	t0 := time.Unix(1700000000, 0)
	for i, f := range frames {
		cf[i] = capturedFrame{t0.Add(time.Duration(i) * time.Microsecond), f}
	}
	var ng bytes.Buffer
	w, err := pcapgo.NewNgWriter(&ng, layers.LinkTypeEthernet)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range cf {
		ci := gopacket.CaptureInfo{Timestamp: f.ts, CaptureLength: len(f.data), Length: len(f.data)}
		if err := w.WritePacket(ci, f.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return pcapBytes(cf), ng.Bytes()
}

func TestFileSourceSteadyStateDoesNotAllocate(t *testing.T) {
	pcap, ng := captureFiles(t, benchFrames(100))
	for name, file := range map[string][]byte{"pcap": pcap, "pcapng": ng} {
		t.Run(name, func(t *testing.T) {
			src, err := NewFileSource(bytes.NewReader(file))
			if err != nil {
				t.Fatal(err)
			}
			read := func() {
				if _, _, err := src.ReadPacket(); err != nil {
					t.Fatal(err)
				}
			}
			read() // the first packet sizes the buffer
			if n := testing.AllocsPerRun(100, read); n != 0 {
				t.Errorf("%v allocations per packet", n)
			}
		})
	}
}

func TestFileSourceReadsGzip(t *testing.T) {
	frames := benchFrames(3)
	pcap, ng := captureFiles(t, frames)
	for name, file := range map[string][]byte{"pcap": pcap, "pcapng": ng} {
		t.Run(name, func(t *testing.T) {
			var z bytes.Buffer
			zw := gzip.NewWriter(&z)
			zw.Write(file)
			zw.Close()
			src, err := NewFileSource(&z)
			if err != nil {
				t.Fatal(err)
			}
			for i, want := range frames {
				got, _, err := src.ReadPacket()
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("packet %d: %d bytes, %v", i, len(got), err)
				}
			}
			if _, _, err := src.ReadPacket(); !errors.Is(err, io.EOF) {
				t.Errorf("after the last packet: %v, want io.EOF", err)
			}
		})
	}
}

func TestFileSourceClassifiesErrors(t *testing.T) {
	frames := benchFrames(1)
	pcap, ng := captureFiles(t, frames)
	ioErr := errors.New("disk on fire")
	tests := []struct {
		name    string
		r       io.Reader
		corrupt bool
		is      error
	}{
		{"pcap record header without data", bytes.NewReader(pcap[:24+16]), true, ErrCorrupt},
		{"pcapng block cut short", bytes.NewReader(ng[:len(ng)-6]), true, ErrCorrupt},
		{"I/O error is not corruption", io.MultiReader(bytes.NewReader(pcap[:24+16+4]), iotest.ErrReader(ioErr)), false, ioErr},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src, err := NewFileSource(tc.r)
			if err != nil {
				t.Fatal(err)
			}
			for range 10 {
				if _, _, err = src.ReadPacket(); err != nil {
					break
				}
			}
			if !errors.Is(err, tc.is) || errors.Is(err, ErrCorrupt) != tc.corrupt {
				t.Errorf("got %v, want %v (corrupt %v)", err, tc.is, tc.corrupt)
			}
		})
	}
}

// BenchmarkFileSource reads a 100,000-packet capture from memory.
func BenchmarkFileSource(b *testing.B) {
	pcap, ng := captureFiles(b, benchFrames(25000))
	for name, file := range map[string][]byte{"pcap": pcap, "pcapng": ng} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				src, err := NewFileSource(bytes.NewReader(file))
				if err != nil {
					b.Fatal(err)
				}
				for {
					_, _, err := src.ReadPacket()
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					n++
				}
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// BenchmarkMeterCapture is the flow_meter hot path end to end: a 100,000
// packet pcap (25,000 biflows) read from memory, parsed, metered and
// exported with the basic plugin. allocs/packet counts every heap
// allocation of the run, opening the file included.
func BenchmarkMeterCapture(b *testing.B) {
	pcap, _ := captureFiles(b, benchFrames(25000))
	m, err := New(Config{}, func(unirec.Record) error { return nil })
	if err != nil {
		b.Fatal(err)
	}
	var ms0, ms1 runtime.MemStats
	packets := 0
	b.ReportAllocs()
	runtime.ReadMemStats(&ms0)
	for b.Loop() {
		src, err := NewFileSource(bytes.NewReader(pcap))
		if err != nil {
			b.Fatal(err)
		}
		if err := m.Run(context.Background(), src); err != nil {
			b.Fatal(err)
		}
		packets += 100000
	}
	runtime.ReadMemStats(&ms1)
	b.ReportMetric(float64(packets)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(packets), "allocs/packet")
}
