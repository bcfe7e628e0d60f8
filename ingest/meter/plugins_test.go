package meter

import (
	"context"
	"encoding/binary"
	"testing"
	"time"

	"github.com/flowgate/flowgate/unirec"
)

// meterFrames meters frames and returns each record as field name -> logger
// text value.
func meterFrames(t *testing.T, cfg Config, frames []capturedFrame) []map[string]string {
	t.Helper()
	var recs []map[string]string
	m, err := New(cfg, func(r unirec.Record) error {
		row := recordRow(r)
		recs = append(recs, row)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	src, err := OpenFile(writePcap(t, frames))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if err := m.Run(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	return recs
}

func checkFields(t *testing.T, rec map[string]string, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if rec[k] != v {
			t.Errorf("%s = %s, want %s", k, rec[k], v)
		}
	}
}

func dnsName2wire(name string) []byte {
	var b []byte
	start := 0
	for i := 0; i <= len(name); i++ {
		if i == len(name) || name[i] == '.' {
			b = append(b, byte(i-start))
			b = append(b, name[start:i]...)
			start = i + 1
		}
	}
	return append(b, 0)
}

// dnsMsg builds a DNS message for example.com/A with an EDNS0 OPT record
// (payload 4096, DO set); a response carries one A answer (TTL 300).
func dnsMsg(id uint16, response bool) []byte {
	b := make([]byte, 12)
	binary.BigEndian.PutUint16(b[0:], id)
	flags := uint16(0x0100)
	if response {
		flags = 0x8183 // QR, RD, RA, rcode 3 (NXDOMAIN) to see the rcode travel
	}
	binary.BigEndian.PutUint16(b[2:], flags)
	binary.BigEndian.PutUint16(b[4:], 1)
	binary.BigEndian.PutUint16(b[10:], 1)
	b = append(b, dnsName2wire("example.com")...)
	b = append(b, 0, 1, 0, 1)
	if response {
		binary.BigEndian.PutUint16(b[6:], 1)
		b = append(b, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0x01, 0x2c, 0, 4, 93, 184, 216, 34)
	}
	return append(b, 0, 0, 41, 0x10, 0, 0, 0, 0x80, 0, 0, 0)
}

// clientHello builds a TLS record with a ClientHello: legacy version 0x0303,
// ciphers {GREASE 0x0a0a, 0x1301, 0xc02b}, extensions GREASE, SNI
// example.org, supported_groups {0x001d, 0x0017}, ec_point_formats {0},
// signature_algorithms {0x0403, 0x0804}, ALPN {h2, http/1.1},
// supported_versions {GREASE, 0x0304, 0x0303}.
func clientHello() []byte {
	ext := func(typ uint16, data []byte) []byte {
		b := binary.BigEndian.AppendUint16(nil, typ)
		b = binary.BigEndian.AppendUint16(b, uint16(len(data)))
		return append(b, data...)
	}
	sni := []byte("example.org")
	sniData := binary.BigEndian.AppendUint16(nil, uint16(3+len(sni)))
	sniData = append(sniData, 0)
	sniData = binary.BigEndian.AppendUint16(sniData, uint16(len(sni)))
	sniData = append(sniData, sni...)
	alpn := []byte{0, 12, 2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'}
	var exts []byte
	exts = append(exts, ext(0x1a1a, nil)...)
	exts = append(exts, ext(0x0000, sniData)...)
	exts = append(exts, ext(0x000a, []byte{0, 4, 0, 0x1d, 0, 0x17})...)
	exts = append(exts, ext(0x000b, []byte{1, 0})...)
	exts = append(exts, ext(0x000d, []byte{0, 4, 4, 3, 8, 4})...)
	exts = append(exts, ext(0x0010, alpn)...)
	exts = append(exts, ext(0x002b, []byte{6, 0x2a, 0x2a, 3, 4, 3, 3})...)
	body := []byte{3, 3}
	body = append(body, make([]byte, 32)...)
	body = append(body, 0)                                        // session id
	body = append(body, 0, 6, 0x0a, 0x0a, 0x13, 0x01, 0xc0, 0x2b) // ciphers
	body = append(body, 1, 0)                                     // compression
	body = binary.BigEndian.AppendUint16(body, uint16(len(exts)))
	body = append(body, exts...)
	hs := []byte{1, byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body))}
	hs = append(hs, body...)
	rec := []byte{22, 3, 1, byte(len(hs) >> 8), byte(len(hs))}
	return append(rec, hs...)
}

func serverHello() []byte {
	exts := []byte{0x00, 0x2b, 0, 2, 3, 4, 0x00, 0x10, 0, 5, 0, 3, 2, 'h', '2'}
	body := []byte{3, 3}
	body = append(body, make([]byte, 32)...)
	body = append(body, 0, 0x13, 0x01, 0)
	body = binary.BigEndian.AppendUint16(body, uint16(len(exts)))
	body = append(body, exts...)
	hs := append([]byte{2, 0, byte(len(body) >> 8), byte(len(body))}, body...)
	return append([]byte{22, 3, 3, byte(len(hs) >> 8), byte(len(hs))}, hs...)
}

// testMeter meters frames one by one and keeps each record with the
// plugins' record bits (Meter.Extensions).
type testMeter struct {
	t    *testing.T
	m    *Meter
	recs []testRec
}

type testRec struct {
	rec map[string]string
	ext uint64
}

func newTestMeter(t *testing.T, cfg Config) *testMeter {
	t.Helper()
	tm := &testMeter{t: t}
	m, err := New(cfg, func(r unirec.Record) error {
		row := recordRow(r)
		tm.recs = append(tm.recs, testRec{row, tm.m.Extensions()})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	tm.m = m
	return tm
}

func (tm *testMeter) packet(ts time.Time, frame []byte) {
	tm.t.Helper()
	if err := tm.m.Packet(LinkEthernet, frame, ts); err != nil {
		tm.t.Fatal(err)
	}
}

// flush ends the input and returns every record so far.
func (tm *testMeter) flush() []testRec {
	tm.t.Helper()
	if err := tm.m.Flush(); err != nil {
		tm.t.Fatal(err)
	}
	return tm.recs
}

// recordRow returns a record's fields as logger prints them, except that
// strings are their raw bytes in quotes (logger drops control characters
// such as the "\r" that SSDP values keep).
func recordRow(r unirec.Record) map[string]string {
	row := map[string]string{}
	for i, f := range r.T.Fields() {
		if f.Type == unirec.String {
			row[f.Name] = `"` + string(r.Var(unirec.FieldID(i))) + `"`
			continue
		}
		row[f.Name] = string(r.AppendValue(nil, unirec.FieldID(i)))
	}
	return row
}
