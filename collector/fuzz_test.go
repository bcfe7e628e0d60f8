package collector

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/flowgate/flowgate/converters"
	"github.com/flowgate/flowgate/unirec"
)

// seedCaptures adds the export payloads of the golden captures whose
// version matches to the fuzz corpus (nothing when testdata is absent).
func seedCaptures(f *testing.F, version uint16) {
	dir, err := os.Getwd()
	if err != nil {
		return
	}
	for {
		cand := filepath.Join(dir, "shared", "testdata", "netflow")
		if _, err := os.Stat(cand); err == nil {
			dir = cand
			break
		}
		if filepath.Dir(dir) == dir {
			return
		}
		dir = filepath.Dir(dir)
	}
	paths, _ := filepath.Glob(filepath.Join(dir, "*.pcap"))
	for _, p := range paths {
		udp, _, stream := readPcap(f, p)
		for _, pk := range udp {
			if len(pk.payload) >= 2 && uint16(pk.payload[0])<<8|uint16(pk.payload[1]) == version {
				f.Add(pk.payload)
			}
		}
		if version == 10 && len(stream) > 0 {
			r := bytes.NewReader(stream)
			for {
				m, err := ReadMessage(r, nil)
				if err != nil {
					break
				}
				f.Add(bytes.Clone(m))
			}
		}
	}
}

// fuzzDecode feeds data to a fresh decoder twice (so the second run sees
// the templates the first one learnt) and checks the error contract.
func fuzzDecode(t *testing.T, data []byte) {
	tmpl, err := unirec.ParseTemplate(fullTemplate)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	d, err := NewDecoder(Config{Output: tmpl, ApplySampling: true}, SinkFunc(func(_ Exporter, r unirec.Record) {
		n++
		if len(r.Data) < tmpl.StaticSize() {
			t.Fatalf("record of %d bytes", len(r.Data))
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	from := netip.MustParseAddrPort("192.0.2.9:2055")
	for range 2 {
		if err := d.Decode(from, data); err != nil {
			if !errors.Is(err, ErrShort) && !errors.Is(err, ErrLength) && !errors.Is(err, ErrVersion) && !errors.Is(err, ErrTemplate) && !bytes.Contains([]byte(err.Error()), []byte("reserved set id")) {
				t.Fatalf("unclassified error: %v", err)
			}
		}
	}
	if got := d.Totals().Records.Load(); got != uint64(n) {
		t.Fatalf("records counter %d, sink saw %d", got, n)
	}
	// The general op loop, the fast plans and batches decode alike.
	fixed, err := unirec.ParseTemplate(converters.BiflowTemplate + ",uint32 ODID,ipaddr EXPORTER_IP,macaddr SRC_MAC")
	if err != nil {
		t.Fatal(err)
	}
	msgs := []packet{{from, data}, {from, data}}
	general := decodeAll(t, fixed, true, true, false, msgs)
	batched := decodeAll(t, fixed, true, false, true, msgs)
	if !bytes.Equal(general.data, batched.data) {
		t.Fatalf("fast plans and batches decode differently from the general loop")
	}
}

func FuzzDecodeV5(f *testing.F) {
	seedCaptures(f, 5)
	f.Add(cat(be16(5), be16(1), make([]byte, 20+48)))
	f.Fuzz(func(t *testing.T, data []byte) {
		data = bytes.Clone(data)
		if len(data) >= 2 {
			data[0], data[1] = 0, 5
		}
		fuzzDecode(t, data)
	})
}

func FuzzDecodeV9(f *testing.F) {
	seedCaptures(f, 9)
	f.Add(v9Msg(2, 0, 1, 0, 5, mkSet(0, be16(256), be16(1), be16(2), be16(4)), mkSet(256, be32(3))))
	f.Fuzz(func(t *testing.T, data []byte) {
		data = bytes.Clone(data)
		if len(data) >= 2 {
			data[0], data[1] = 0, 9
		}
		fuzzDecode(t, data)
	})
}

func FuzzDecodeIPFIX(f *testing.F) {
	seedCaptures(f, 10)
	f.Add(ipfixMsg(1, 0, 1, mkSet(2, ipfixTemplate(300, Field{ID: 96, Length: VariableLength}, Field{PEN: PENReverse, ID: 1, Length: 8})),
		mkSet(300, []byte{3, 'a', 'b', 'c'}, be64(9))))
	f.Fuzz(func(t *testing.T, data []byte) {
		data = bytes.Clone(data)
		if len(data) >= 2 {
			data[0], data[1] = 0, 10
		}
		fuzzDecode(t, data)
	})
}

// FuzzLyingLengths takes a valid message and overwrites one 16-bit length
// (message length, set length, template field count or a variable-length
// prefix) at a fuzzer-chosen offset.
func FuzzLyingLengths(f *testing.F) {
	base := ipfixMsg(1, 0, 1,
		mkSet(2, ipfixTemplate(300, Field{ID: 96, Length: VariableLength}, Field{ID: 2, Length: 4})),
		mkSet(300, []byte{3, 'a', 'b', 'c'}, be32(9), []byte{255, 0, 2, 'x', 'y'}, be32(1)))
	for _, off := range []uint16{2, 18, 22, 24, 34, 42} {
		f.Add(off, uint16(0xFFFF))
		f.Add(off, uint16(0))
		f.Add(off, uint16(5))
	}
	f.Fuzz(func(t *testing.T, off, v uint16) {
		msg := bytes.Clone(base)
		if int(off)+2 > len(msg) {
			return
		}
		msg[off], msg[off+1] = byte(v>>8), byte(v)
		fuzzDecode(t, msg)
	})
}

// FuzzTemplateParsing drives the three template parsers directly.
func FuzzTemplateParsing(f *testing.F) {
	f.Add(ipfixTemplate(300, Field{ID: 8, Length: 4}, Field{PEN: 9, ID: 1, Length: VariableLength}), uint8(0))
	f.Add(ipfixOptionsTemplate(400, 1, Field{ID: 149, Length: 4}, Field{ID: 34, Length: 4}), uint8(1))
	f.Add(cat(be16(256), be16(2), be16(8), be16(4), be16(12), be16(4)), uint8(2))
	f.Add(cat(be16(300), be16(4), be16(4), be16(1), be16(4), be16(34), be16(4)), uint8(3))
	f.Fuzz(func(t *testing.T, body []byte, kind uint8) {
		check := func(ev templateEvent) error {
			if ev.withdraw {
				return nil
			}
			tm := ev.tmpl
			if len(tm.Fields) == 0 || tm.ScopeCount > len(tm.Fields) || tm.MinLen <= 0 {
				t.Fatalf("accepted inconsistent template %+v", tm)
			}
			return nil
		}
		var err error
		switch kind % 4 {
		case 0:
			err = parseIPFIXTemplateSet(body, false, check)
		case 1:
			err = parseIPFIXTemplateSet(body, true, check)
		case 2:
			err = parseV9TemplateSet(body, check)
		case 3:
			err = parseV9OptionsTemplateSet(body, check)
		}
		if err != nil && !errors.Is(err, ErrShort) && !errors.Is(err, ErrTemplate) {
			t.Fatalf("unclassified error: %v", err)
		}
	})
}

// FuzzReadMessage checks the TCP stream splitter.
func FuzzReadMessage(f *testing.F) {
	seedCaptures(f, 10)
	f.Fuzz(func(t *testing.T, stream []byte) {
		r := bytes.NewReader(stream)
		for {
			m, err := ReadMessage(r, nil)
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, ErrVersion) && !errors.Is(err, ErrLength) {
					t.Fatalf("unclassified error: %v", err)
				}
				return
			}
			if len(m) < ipfixHeaderLen {
				t.Fatalf("message of %d bytes", len(m))
			}
		}
	})
}
