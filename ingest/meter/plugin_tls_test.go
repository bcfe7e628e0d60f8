package meter

import (
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"
	"time"
)

// One test per rule of spec/ipfixprobe-plugins.md §1, on hellos built here.

type tlsExt struct {
	typ  uint16
	data []byte
}

// hello describes a ClientHello or ServerHello record.
type hello struct {
	server     bool
	recVer     [2]byte // record header version (default 03 01)
	legacy     [2]byte // handshake legacy version (default 03 03)
	ciphers    []uint16
	exts       []tlsExt
	noExtBlock bool
	cutAt      int // cut the record to this many bytes (0: whole)
}

func (h hello) bytes() []byte {
	if h.recVer == [2]byte{} {
		h.recVer = [2]byte{3, 1}
	}
	if h.legacy == [2]byte{} {
		h.legacy = [2]byte{3, 3}
	}
	body := []byte{h.legacy[0], h.legacy[1]}
	body = append(body, make([]byte, 32)...)
	body = append(body, 4, 9, 9, 9, 9) // session id
	if h.server {
		body = append(body, 0x13, 0x01, 0)
	} else {
		body = binary.BigEndian.AppendUint16(body, uint16(2*len(h.ciphers)))
		for _, c := range h.ciphers {
			body = binary.BigEndian.AppendUint16(body, c)
		}
		body = append(body, 1, 0)
	}
	if !h.noExtBlock {
		var exts []byte
		for _, e := range h.exts {
			exts = binary.BigEndian.AppendUint16(exts, e.typ)
			exts = binary.BigEndian.AppendUint16(exts, uint16(len(e.data)))
			exts = append(exts, e.data...)
		}
		body = binary.BigEndian.AppendUint16(body, uint16(len(exts)))
		body = append(body, exts...)
	}
	typ := byte(1)
	if h.server {
		typ = 2
	}
	hs := append([]byte{typ, byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body))}, body...)
	rec := append([]byte{22, h.recVer[0], h.recVer[1], byte(len(hs) >> 8), byte(len(hs))}, hs...)
	if h.cutAt > 0 {
		rec = rec[:h.cutAt]
	}
	return rec
}

func u16s(vs ...uint16) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.BigEndian.AppendUint16(b, v)
	}
	return b
}

func extSNI(names ...string) tlsExt {
	var list []byte
	for _, n := range names {
		list = append(list, 0)
		list = binary.BigEndian.AppendUint16(list, uint16(len(n)))
		list = append(list, n...)
	}
	return tlsExt{0, append(binary.BigEndian.AppendUint16(nil, uint16(len(list))), list...)}
}

func extALPN(protos ...string) tlsExt {
	var list []byte
	for _, p := range protos {
		list = append(list, byte(len(p)))
		list = append(list, p...)
	}
	return tlsExt{16, append(binary.BigEndian.AppendUint16(nil, uint16(len(list))), list...)}
}

func extGroups(vs ...uint16) tlsExt {
	return tlsExt{10, append(binary.BigEndian.AppendUint16(nil, uint16(2*len(vs))), u16s(vs...)...)}
}

func extSigs(vs ...uint16) tlsExt {
	return tlsExt{13, append(binary.BigEndian.AppendUint16(nil, uint16(2*len(vs))), u16s(vs...)...)}
}

func extClientVersions(vs ...uint16) tlsExt {
	return tlsExt{43, append([]byte{byte(2 * len(vs))}, u16s(vs...)...)}
}

func extServerVersion(v uint16) tlsExt { return tlsExt{43, u16s(v)} }

var extPoints = tlsExt{11, []byte{1, 0}}

// chrome13 is a TLS 1.3 ClientHello like a browser's: GREASE cipher and
// extensions, SNI, ALPN h2 and http/1.1, supported_versions.
func chrome13() hello {
	return hello{
		ciphers: []uint16{0x3a3a, 0x1301, 0xc02b},
		exts: []tlsExt{
			{0x1a1a, nil}, extSNI("example.org"), extGroups(0x2a2a, 0x001d, 0x0017), extPoints,
			extSigs(0x0403, 0x0804), extALPN("h2", "http/1.1"), extClientVersions(0x4a4a, 0x0304, 0x0303), {0xfafa, []byte{0}},
		},
	}
}

// tlsFlow meters a client hello (A->B) and optional server packets (B->A)
// on TCP 50000->443 and returns the records.
func tlsFlow(t *testing.T, plugin string, client []byte, server ...[]byte) []map[string]string {
	t.Helper()
	frames := []capturedFrame{{t0, tcp(true, 50000, 443, 0x18, client)}}
	for i, s := range server {
		frames = append(frames, capturedFrame{t0.Add(time.Duration(i+1) * time.Millisecond), tcp(false, 443, 50000, 0x18, s)})
	}
	recs := meterFrames(t, Config{Plugins: []string{plugin}}, frames)
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	return recs
}

func ja3Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestTLSClientHelloFields(t *testing.T) {
	rec := tlsFlow(t, "tls", chrome13().bytes())[0]
	checkFields(t, rec, map[string]string{
		"TLS_SNI":     `"example.org"`,
		"TLS_VERSION": "771", // the legacy version; no ServerHello
		"TLS_ALPN":    `""`,  // never from the ClientHello
		// Every extension, GREASE included, with its declared length.
		"TLS_EXT_TYPE": "[6682|0|10|11|13|16|43|64250]",
		"TLS_EXT_LEN":  "[0|16|8|2|6|14|7|1]",
		// GREASE dropped from ciphers, extensions and groups.
		"TLS_JA3": ja3Hex("771,4865-49195,0-10-11-13-16-43,29-23,0"),
	})
}

func TestTLSALPNIsTheServersSelection(t *testing.T) {
	ch := chrome13().bytes()
	sh12 := hello{server: true, exts: []tlsExt{extALPN("http/1.1")}}.bytes()
	sh13 := hello{server: true, exts: []tlsExt{extServerVersion(0x0304)}}.bytes()
	if got := tlsFlow(t, "tls", ch, sh12)[0]["TLS_ALPN"]; got != `"http/1.1"` {
		t.Errorf("server selected http/1.1: TLS_ALPN %s", got)
	}
	if got := tlsFlow(t, "tls", ch, sh13)[0]["TLS_ALPN"]; got != `""` {
		t.Errorf("TLS 1.3 server hello without ALPN: TLS_ALPN %s, want empty", got)
	}
}

func TestTLSVersionRules(t *testing.T) {
	tests := []struct {
		name   string
		legacy [2]byte
		server []tlsExt
		want   string
	}{
		{"TLS 1.2 legacy, no server hello", [2]byte{3, 3}, nil, "771"},
		{"TLS 1.0 legacy read little-endian", [2]byte{3, 1}, nil, "259"},
		{"TLS 1.1 legacy read little-endian", [2]byte{3, 2}, nil, "515"},
		{"server without supported_versions keeps the client's", [2]byte{3, 1}, []tlsExt{}, "259"},
		{"server supported_versions selects TLS 1.3", [2]byte{3, 3}, []tlsExt{extServerVersion(0x0304)}, "772"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var sh [][]byte
			if tc.server != nil {
				sh = append(sh, hello{server: true, exts: tc.server}.bytes())
			}
			rec := tlsFlow(t, "tls", hello{legacy: tc.legacy, ciphers: []uint16{0x002f}}.bytes(), sh...)[0]
			checkFields(t, rec, map[string]string{"TLS_VERSION": tc.want})
		})
	}
}

func TestTLSRecordHeaderChecks(t *testing.T) {
	tests := []struct {
		name   string
		recVer [2]byte
		legacy [2]byte
		record bool
	}{
		{"record minor version is not checked", [2]byte{3, 0x7f}, [2]byte{3, 3}, true},
		{"SSL 3.0 record", [2]byte{3, 0}, [2]byte{3, 0}, true},
		{"record major must be 3 (DTLS 0xfe)", [2]byte{0xfe, 0xfd}, [2]byte{3, 3}, false},
		{"handshake major must be 3", [2]byte{3, 1}, [2]byte{2, 0}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := tlsFlow(t, "tls", hello{recVer: tc.recVer, legacy: tc.legacy, exts: []tlsExt{extSNI("a")}}.bytes())[0]
			if got := rec["TLS_SNI"] == `"a"`; got != tc.record {
				t.Errorf("record attached %v, want %v (%v)", got, tc.record, rec)
			}
		})
	}
}

func TestTLSSplitClientHelloIsNotParsed(t *testing.T) {
	full := chrome13().bytes()
	m := newTestMeter(t, Config{Plugins: []string{"tls"}})
	m.packet(t0, tcp(true, 50000, 443, 0x18, full[:len(full)-10])) // extensions block cut
	m.packet(t0, tcp(true, 50000, 443, 0x10, full[len(full)-10:]))
	recs := m.flush()
	if len(recs) != 1 || recs[0].ext != 0 {
		t.Fatalf("records %+v: a ClientHello split over segments must give no TLS record", recs)
	}
}

func TestTLSClientHelloWithoutExtensions(t *testing.T) {
	rec := tlsFlow(t, "tls", hello{legacy: [2]byte{3, 1}, ciphers: []uint16{0x0035, 0x002f}, noExtBlock: true}.bytes())[0]
	checkFields(t, rec, map[string]string{
		"TLS_JA3":      ja3Hex("259,53-47,,,"),
		"TLS_EXT_TYPE": "[]",
		"TLS_JA4":      `"t00i2000_` + sha256Hex12("002f,0035") + "_" + sha256Hex12("_") + `"`,
	})
}

func TestTLSNothingParsedAfterServerHello(t *testing.T) {
	later := hello{ciphers: []uint16{0x002f}, exts: []tlsExt{extSNI("later.example")}}.bytes()
	rec := tlsFlow(t, "tls", chrome13().bytes(), hello{server: true, exts: []tlsExt{extALPN("h2")}}.bytes(),
		later, hello{server: true, exts: []tlsExt{extALPN("http/1.1")}}.bytes())[0]
	checkFields(t, rec, map[string]string{"TLS_SNI": `"example.org"`, "TLS_ALPN": `"h2"`})
}

func TestTLSRepeatedClientHelloOverwritesButKeepsExtensionArrays(t *testing.T) {
	second := hello{ciphers: []uint16{0x002f}, exts: []tlsExt{extSNI("second.example")}}.bytes()
	rec := tlsFlow(t, "tls", chrome13().bytes(), second)[0] // both "server" packets come B->A: direction is not checked
	checkFields(t, rec, map[string]string{
		"TLS_SNI":      `"second.example"`,
		"TLS_JA3":      ja3Hex("771,47,0,,"),
		"TLS_EXT_TYPE": "[6682|0|10|11|13|16|43|64250]",
	})
}

func TestTLSHelloRetryRequestEndsParsing(t *testing.T) {
	hrr := hello{server: true, exts: []tlsExt{extServerVersion(0x0304)}}.bytes()
	real := hello{server: true, exts: []tlsExt{extServerVersion(0x0304), extALPN("h2")}}.bytes()
	rec := tlsFlow(t, "tls", chrome13().bytes(), hrr, chrome13().bytes(), real)[0]
	checkFields(t, rec, map[string]string{"TLS_ALPN": `""`, "TLS_VERSION": "772"})
}

func TestTLSSNIStringSaving(t *testing.T) {
	long := strings.Repeat("x", 254)
	tests := []struct {
		names []string
		want  string
	}{
		{[]string{"a.example", "b.example"}, `"a.example"`},                        // later entries hidden behind the NUL
		{[]string{long, "short.example"}, `"short.example"`},                       // 254 bytes do not fit
		{[]string{strings.Repeat("y", 253)}, `"` + strings.Repeat("y", 253) + `"`}, // 253 do
		{[]string{long}, `""`},
	}
	for _, tc := range tests {
		rec := tlsFlow(t, "tls", hello{exts: []tlsExt{extSNI(tc.names...)}}.bytes())[0]
		if rec["TLS_SNI"] != tc.want {
			t.Errorf("SNI %d entries: got %s, want %s", len(tc.names), rec["TLS_SNI"], tc.want)
		}
	}
}

func TestTLSSNIEntryOfAnyTypeCounts(t *testing.T) {
	e := extSNI("typed.example")
	e.data[2] = 7 // name type 7, not host_name
	rec := tlsFlow(t, "tls", hello{exts: []tlsExt{e}}.bytes())[0]
	checkFields(t, rec, map[string]string{"TLS_SNI": `"typed.example"`})
	if !strings.HasPrefix(rec["TLS_JA4"], `"t12d`) {
		t.Errorf("JA4 %s: an SNI entry of any type gives 'd'", rec["TLS_JA4"])
	}
}

func TestTLSExtensionArraysHoldThirty(t *testing.T) {
	var exts []tlsExt
	for i := 0; i < 35; i++ {
		exts = append(exts, tlsExt{uint16(100 + i), nil})
	}
	rec := tlsFlow(t, "tls", hello{exts: exts}.bytes())[0]
	if n := strings.Count(rec["TLS_EXT_TYPE"], "|") + 1; n != 30 {
		t.Errorf("%d extension types exported, want 30", n)
	}
	if !strings.Contains(rec["TLS_JA4"], "035") { // 0 ciphers, 35 extensions
		t.Errorf("JA4 %s counts all 35 extensions", rec["TLS_JA4"])
	}
}

func TestTLSGREASERule(t *testing.T) {
	// ipfixprobe's test is broader than RFC 8701: 0x0202 and 0x1010 count.
	for v, want := range map[uint16]bool{0x0a0a: true, 0xfafa: true, 0x0202: true, 0x1010: true, 0x2828: true,
		0x0000: false, 0x1301: false, 0x0a1a: false, 0x0101: false} {
		if tlsGREASE(v) != want {
			t.Errorf("tlsGREASE(%#04x) = %v", v, !want)
		}
	}
	rec := tlsFlow(t, "tls", hello{ciphers: []uint16{0x0202, 0x1301}, exts: []tlsExt{{0x1010, nil}, extSNI("a")}}.bytes())[0]
	checkFields(t, rec, map[string]string{"TLS_JA3": ja3Hex("771,4865,0,,")})
	// JA4 counts 1 cipher but 2 extensions: GREASE extensions are counted.
	if !strings.HasPrefix(rec["TLS_JA4"], `"t12d1200_`) {
		t.Errorf("JA4 %s", rec["TLS_JA4"])
	}
}

func TestTLSJA4Ipfixprobe(t *testing.T) {
	rec := tlsFlow(t, "tls", chrome13().bytes())[0]
	// t, 13 (max supported_versions), d, 2 ciphers and 8 extensions
	// unpadded, GREASE extensions counted, h2.
	b := sha256Hex12("1301,c02b")
	c := sha256Hex12("000a,000b,000d,002b_0403,0804")
	checkFields(t, rec, map[string]string{"TLS_JA4": `"t13d28h2_` + b + "_" + c + `"`})
}

func TestTLSJA4Standard(t *testing.T) {
	rec := tlsFlow(t, "tls:ja4=standard", chrome13().bytes())[0]
	b := sha256Hex12("1301,c02b")
	c := sha256Hex12("000a,000b,000d,002b_0403,0804")
	checkFields(t, rec, map[string]string{"TLS_JA4": `"t13d0206h2_` + b + "_" + c + `"`})
	// No extensions besides SNI/ALPN: c is zeros in FoxIO's JA4, hashed in ipfixprobe's.
	h := hello{legacy: [2]byte{3, 1}, ciphers: []uint16{0x002f}, exts: []tlsExt{extSNI("a")}}.bytes()
	checkFields(t, tlsFlow(t, "tls:ja4=standard", h)[0], map[string]string{"TLS_JA4": `"t10d010100_` + sha256Hex12("002f") + `_000000000000"`})
	checkFields(t, tlsFlow(t, "tls", h)[0], map[string]string{"TLS_JA4": `"t00d1100_` + sha256Hex12("002f") + "_" + sha256Hex12("_") + `"`})
}

func TestTLSJA4VersionIsSignedMax(t *testing.T) {
	// 0xfefd (DTLS 1.2) is negative as int16, so 0x0303 wins.
	rec := tlsFlow(t, "tls", hello{exts: []tlsExt{extClientVersions(0xfefd, 0x0303)}}.bytes())[0]
	if !strings.HasPrefix(rec["TLS_JA4"], `"t12i`) {
		t.Errorf("JA4 %s, want version 12", rec["TLS_JA4"])
	}
}

func TestTLSJA4SignatureAlgorithmsAreWireOrder(t *testing.T) {
	rec := tlsFlow(t, "tls", hello{exts: []tlsExt{extSigs(0x0804, 0x0403, 0x0a0a)}}.bytes())[0]
	want := sha256Hex12("000d_0804,0403,0a0a") // GREASE kept, not sorted
	if !strings.HasSuffix(rec["TLS_JA4"], "_"+want+`"`) {
		t.Errorf("JA4 %s, want c = %s", rec["TLS_JA4"], want)
	}
}

func TestTLSJA4ALPNLabel(t *testing.T) {
	tests := []struct{ alpn, ipfixprobe, standard string }{
		{"h2", "h2", "h2"},
		{"http/1.1", "h1", "h1"},
		{"", "00", "00"},
		{"\x01\x02", "02", "02"},
		{"h\xab", "hB", "6b"},    // ipfixprobe: each end on its own, uppercase hex; FoxIO: both hex
		{"\xab1", "11", "a1"},    // 0xab sign-extended: high nibble 0xa maps to '1'
		{"\x9fz", "0z", "9a"},    // 0x9_ maps to '0'
		{"/x/", "2F", "2f"},      // '/' is 0x2f
		{"\x80\x80", "/0", "80"}, // 0x8_ maps to '/'
	}
	for _, tc := range tests {
		h := hello{exts: []tlsExt{extALPN(tc.alpn)}}.bytes()
		for _, v := range []struct{ plugin, want string }{{"tls", tc.ipfixprobe}, {"tls:ja4=standard", tc.standard}} {
			ja4 := tlsFlow(t, v.plugin, h)[0]["TLS_JA4"]
			end := strings.IndexByte(ja4, '_')
			if got := ja4[end-2 : end]; got != v.want {
				t.Errorf("%s ALPN %q: label %q (JA4 %s), want %q", v.plugin, tc.alpn, got, ja4, v.want)
			}
		}
	}
}

func TestTLSOverUDPAndQUIC(t *testing.T) {
	// A TLS record in UDP gets JA4 proto 'q'; a QUIC Initial (long header)
	// is no TLS record, so the flow carries none.
	quic := append([]byte{0xc3, 0, 0, 0, 1, 8}, make([]byte, 1200)...)
	m := newTestMeter(t, Config{Plugins: []string{"tls"}})
	m.packet(t0, udp(true, 50000, 443, chrome13().bytes()))
	m.packet(t0, udp(true, 50001, 443, quic))
	recs := m.flush()
	if len(recs) != 2 {
		t.Fatalf("%d records", len(recs))
	}
	for _, r := range recs {
		switch r.rec["SRC_PORT"] {
		case "50000":
			if r.ext == 0 || !strings.HasPrefix(r.rec["TLS_JA4"], `"q13d`) {
				t.Errorf("TLS over UDP: %v", r.rec)
			}
		case "50001":
			if r.ext != 0 {
				t.Errorf("QUIC flow carries a TLS record: %v", r.rec)
			}
		}
	}
}

func TestTLSServerHelloDoesNotLeakIntoOtherFlows(t *testing.T) {
	// ipfixprobe parses a ServerHello of a flow without a ClientHello into
	// a scratch record shared by the worker, and the next flow with a
	// ClientHello shows that server's ALPN. Ours keeps it in its flow.
	m := newTestMeter(t, Config{Plugins: []string{"tls"}})
	m.packet(t0, tcp(false, 443, 40000, 0x18, hello{server: true, exts: []tlsExt{extALPN("leaked")}}.bytes()))
	m.packet(t0, tcp(true, 50000, 443, 0x18, chrome13().bytes()))
	m.packet(t0, tcp(false, 443, 50000, 0x18, hello{server: true, exts: []tlsExt{extServerVersion(0x0304), extALPN("h2")}}.bytes()))
	for _, r := range m.flush() {
		if r.rec["SRC_PORT"] == "50000" {
			checkFields(t, r.rec, map[string]string{"TLS_ALPN": `"h2"`, "TLS_VERSION": "772"})
		} else if r.ext != 0 {
			t.Errorf("flow with only a ServerHello carries a TLS record: %v", r.rec)
		}
	}
}

// tlsRecordOf meters payloads on one TCP flow (A->B first, then
// alternating) and returns its record and whether it carries TLS.
func tlsRecordOf(t *testing.T, plugin string, payloads ...[]byte) (map[string]string, bool) {
	t.Helper()
	m := newTestMeter(t, Config{Plugins: []string{plugin}})
	for i, p := range payloads {
		fromA := i%2 == 0
		sport, dport := uint16(50000), uint16(443)
		if !fromA {
			sport, dport = dport, sport
		}
		m.packet(t0.Add(time.Duration(i)*time.Millisecond), tcp(fromA, sport, dport, 0x18, p))
	}
	recs := m.flush()
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	return recs[0].rec, recs[0].ext != 0
}

// TestTLSClientHelloParseChecks: §1 "Parsing one payload", steps 1 to 6,
// one row per check; a ClientHello that fails any of them gives no record.
func TestTLSClientHelloParseChecks(t *testing.T) {
	good := hello{ciphers: []uint16{0x1301}, exts: []tlsExt{extSNI("a")}}.bytes()
	with := func(f func(b []byte) []byte) []byte { return f(append([]byte{}, good...)) }
	const sidLen = 43 // offset of the session id length byte
	tests := []struct {
		name    string
		payload []byte
		record  bool
	}{
		{"a well-formed ClientHello", good, true},
		{"record content type must be 22 (handshake)", with(func(b []byte) []byte { b[0] = 23; return b }), false},
		{"payload shorter than record and handshake headers", good[:10], false},
		{"handshake type 11 (Certificate) is neither hello", with(func(b []byte) []byte { b[5] = 11; return b }), false},
		{"the handshake length is ignored", with(func(b []byte) []byte { b[6], b[7], b[8] = 0xff, 0xff, 0xff; return b }), true},
		{"the record length is ignored", with(func(b []byte) []byte { b[3], b[4] = 0, 1; return b }), true},
		{"handshake minor version is not checked", with(func(b []byte) []byte { b[10] = 0x77; return b }), true},
		{"cut before the session id length", good[:sidLen], false},
		{"session id longer than the payload", with(func(b []byte) []byte { b[sidLen] = 0xff; return b }), false},
		{"cipher suites length past the payload", with(func(b []byte) []byte { b[sidLen+5+1] = 0xff; return b }), false},
		{"cut inside the cipher suites", good[:sidLen+5+3], false},
		{"compression methods past the payload", with(func(b []byte) []byte { b[sidLen+5+4] = 0xff; return b }), false},
		{"extensions block length past the payload", with(func(b []byte) []byte { b[sidLen+5+6] = 0xff; return b }), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, got := tlsRecordOf(t, "tls", tc.payload); got != tc.record {
				t.Errorf("record attached %v, want %v", got, tc.record)
			}
		})
	}
}

// TestTLSExtensionsBlockBounds: the block check leaves out the 2 length
// bytes (the block may end 2 bytes past the payload), and the walk stops
// without failing at an extension whose data passes the block end.
func TestTLSExtensionsBlockBounds(t *testing.T) {
	h := hello{ciphers: []uint16{0x1301}, exts: []tlsExt{extSNI("a"), {0x00ff, []byte{1, 2}}}}
	cut := h.bytes()
	cut = cut[:len(cut)-2] // the last extension's 2 data bytes are not captured
	rec, ok := tlsRecordOf(t, "tls", cut)
	if !ok {
		t.Fatal("hello whose extensions block ends 2 bytes past the payload rejected")
	}
	checkFields(t, rec, map[string]string{"TLS_SNI": `"a"`, "TLS_EXT_TYPE": "[0|255]", "TLS_EXT_LEN": "[6|2]",
		"TLS_JA3": ja3Hex("771,4865,0-255,,")})
	if _, ok := tlsRecordOf(t, "tls", cut[:len(cut)-1]); ok {
		t.Error("hello whose extensions block ends 3 bytes past the payload accepted")
	}

	// Block length 8 covers SNI (6 bytes + 4) only partly: the walk stops
	// at SNI, the hello is still a ClientHello.
	short := hello{ciphers: []uint16{0x1301}, exts: []tlsExt{{0x0017, nil}, extSNI("a")}}.bytes()
	blk := len(short) - 16 // the block length field: 4+0 + 4+6 bytes follow it
	short[blk], short[blk+1] = 0, 8
	rec, ok = tlsRecordOf(t, "tls", short)
	if !ok {
		t.Fatal("hello with an extension past its block end rejected")
	}
	checkFields(t, rec, map[string]string{"TLS_SNI": `""`, "TLS_EXT_TYPE": "[23]"})
}

// TestTLSServerHelloWithBadExtensionsBlockIsIgnored: a ServerHello that
// fails the block check is not marked parsed, so a later one still is.
func TestTLSServerHelloWithBadExtensionsBlockIsIgnored(t *testing.T) {
	bad := hello{server: true, exts: []tlsExt{extALPN("bad")}}.bytes()
	bad = bad[:len(bad)-3] // 3 bytes: the check lets a block end 2 bytes past the payload
	good := hello{server: true, exts: []tlsExt{extServerVersion(0x0304), extALPN("h2")}}.bytes()
	rec, _ := tlsRecordOf(t, "tls", chrome13().bytes(), bad, nil, good)
	checkFields(t, rec, map[string]string{"TLS_ALPN": `"h2"`, "TLS_VERSION": "772"})
}

// TestTLSServerHelloRules: a ServerHello adds nothing to the extension
// list, leaves TLS_ALPN as it was when it has no ALPN, and takes a
// ServerHello seen before the flow's ClientHello (same flow) as parsed.
func TestTLSServerHelloRules(t *testing.T) {
	rec, _ := tlsRecordOf(t, "tls", chrome13().bytes(), hello{server: true, exts: []tlsExt{{0xff01, []byte{0}}, extALPN("h2")}}.bytes())
	checkFields(t, rec, map[string]string{"TLS_EXT_TYPE": "[6682|0|10|11|13|16|43|64250]", "TLS_ALPN": `"h2"`})

	// The ServerHellos come first (B->A, the flow's first packets are the
	// server's); the second has no ALPN and keeps the first's. The
	// ClientHello then attaches the record, already marked parsed: the
	// last ServerHello is not looked at.
	sh := func(exts ...tlsExt) []byte { return hello{server: true, exts: exts}.bytes() }
	m := newTestMeter(t, Config{Plugins: []string{"tls"}})
	m.packet(t0, tcp(false, 443, 50000, 0x18, sh(extALPN("h2"), extServerVersion(0x0304))))
	m.packet(t0, tcp(false, 443, 50000, 0x18, sh()))
	m.packet(t0, tcp(true, 50000, 443, 0x18, chrome13().bytes()))
	m.packet(t0, tcp(false, 443, 50000, 0x18, sh(extALPN("http/1.1"), extServerVersion(0x0303))))
	recs := m.flush()
	if len(recs) != 1 || recs[0].ext == 0 {
		t.Fatalf("records %+v", recs)
	}
	checkFields(t, recs[0].rec, map[string]string{"TLS_ALPN": `"h2"`, "TLS_VERSION": "771", "TLS_SNI": `"example.org"`})
}

// TestTLSEveryPacketIsOfferedUntilARecord: any packet of the flow, either
// direction, may carry the ClientHello that attaches the record.
func TestTLSEveryPacketIsOfferedUntilARecord(t *testing.T) {
	rec, ok := tlsRecordOf(t, "tls", []byte("not tls"), []byte{22, 3, 1, 0, 0}, nil, chrome13().bytes())
	if !ok {
		t.Fatal("ClientHello in the flow's 4th packet (from B) not parsed")
	}
	checkFields(t, rec, map[string]string{"TLS_SNI": `"example.org"`})
}

// TestTLSSNIEntryBounds: the SNI list length must fit the extension, and
// the entries end at the extension's end.
func TestTLSSNIEntryBounds(t *testing.T) {
	badList := extSNI("a.example")
	badList.data[1]++ // list length one past the extension
	cutEntry := extSNI("first", "second")
	cutEntry.data = cutEntry.data[:len(cutEntry.data)-1] // the second entry passes the extension end
	cutEntry.data[1]--                                   // and the list length still fits
	tests := []struct {
		name string
		ext  tlsExt
		sni  string
		ja4  string // the JA4 prefix: SNI label d or i
	}{
		{"list length past the extension", badList, `""`, `"t12i`},
		{"an entry past the extension end ends the list", cutEntry, `"first"`, `"t12d`},
		{"NUL inside a name: the C string ends there", extSNI("nul\x00tail.example"), `"nul"`, `"t12d`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec, _ := tlsRecordOf(t, "tls", hello{exts: []tlsExt{tc.ext}}.bytes())
			checkFields(t, rec, map[string]string{"TLS_SNI": tc.sni})
			if !strings.HasPrefix(rec["TLS_JA4"], tc.ja4) {
				t.Errorf("JA4 %s, want prefix %s", rec["TLS_JA4"], tc.ja4)
			}
		})
	}
	// FoxIO's JA4 says d whenever the extension is there.
	rec, _ := tlsRecordOf(t, "tls:ja4=standard", hello{exts: []tlsExt{badList}}.bytes())
	if !strings.HasPrefix(rec["TLS_JA4"], `"t12d`) {
		t.Errorf("standard JA4 %s with an SNI extension, want d", rec["TLS_JA4"])
	}
}

// TestTLSALPNEntriesMayRunTwoBytesPastTheExtension: ipfixprobe checks ALPN
// entries against the extension end + 2.
func TestTLSALPNEntriesMayRunTwoBytesPastTheExtension(t *testing.T) {
	next := tlsExt{0x4142, nil} // its header bytes are 'A' 'B' 0 0
	for _, tc := range []struct {
		claim int
		want  string
	}{{4, `"h2AB"`}, {5, `""`}} {
		alpn := tlsExt{16, []byte{0, 3, byte(tc.claim), 'h', '2'}}
		rec, _ := tlsRecordOf(t, "tls", chrome13().bytes(), hello{server: true, exts: []tlsExt{alpn, next}}.bytes())
		checkFields(t, rec, map[string]string{"TLS_ALPN": tc.want})
	}
}

// TestTLSServerALPNStringSaving: the server's list is saved like SNI: the
// first entry of at most 253 bytes.
func TestTLSServerALPNStringSaving(t *testing.T) {
	rec, _ := tlsRecordOf(t, "tls", chrome13().bytes(), hello{server: true, exts: []tlsExt{extALPN(strings.Repeat("p", 254), "h2", "h3")}}.bytes())
	checkFields(t, rec, map[string]string{"TLS_ALPN": `"h2"`})
}

// TestTLSJA3AndJA4EmptyLists: empty lists give empty JA3 fields, an empty
// cipher list JA4 b = zeros, and c is always a hash.
func TestTLSJA3AndJA4EmptyLists(t *testing.T) {
	rec, ok := tlsRecordOf(t, "tls", hello{ciphers: []uint16{0x0a0a}}.bytes())
	if !ok {
		t.Fatal("no record")
	}
	checkFields(t, rec, map[string]string{
		"TLS_JA3": ja3Hex("771,,,,"),
		"TLS_JA4": `"t12i0000_000000000000_` + sha256Hex12("_") + `"`,
	})
}

// TestTLSListsAreNotCapped: hundreds of ciphers and extensions all go into
// JA3 and JA4 (counts capped at 99), the arrays hold the first 30.
func TestTLSListsAreNotCapped(t *testing.T) {
	var ciphers []uint16
	var exts []tlsExt
	var cs, es []string
	for i := 0; i < 600; i++ {
		ciphers = append(ciphers, uint16(0x1000+i))
		exts = append(exts, tlsExt{uint16(0x3000 + i), nil})
		if !tlsGREASE(uint16(0x1000 + i)) { // 0x1010, 0x1212, ...
			cs = append(cs, strconv.Itoa(0x1000+i))
		}
		if !tlsGREASE(uint16(0x3000 + i)) {
			es = append(es, strconv.Itoa(0x3000+i))
		}
	}
	rec, _ := tlsRecordOf(t, "tls", hello{ciphers: ciphers, exts: exts}.bytes())
	checkFields(t, rec, map[string]string{"TLS_JA3": ja3Hex("771," + strings.Join(cs, "-") + "," + strings.Join(es, "-") + ",,")})
	if !strings.HasPrefix(rec["TLS_JA4"], `"t12i9999`) {
		t.Errorf("JA4 %s: counts are capped at 99", rec["TLS_JA4"])
	}
	if n := strings.Count(rec["TLS_EXT_TYPE"], "|") + 1; n != 30 {
		t.Errorf("%d extension types exported, want 30", n)
	}
}

// TestTLSLaterShorterJA4ReplacesTheOld: a repeated ClientHello with a
// shorter JA4 gives that JA4 (ipfixprobe keeps the old tail in its buffer).
func TestTLSLaterShorterJA4ReplacesTheOld(t *testing.T) {
	var many []uint16
	for i := 0; i < 12; i++ {
		many = append(many, uint16(0x1300+i))
	}
	var exts []tlsExt
	for i := 0; i < 12; i++ {
		exts = append(exts, tlsExt{uint16(0x100 + i), nil})
	}
	short := hello{ciphers: []uint16{0x002f}}
	rec, _ := tlsRecordOf(t, "tls", hello{ciphers: many, exts: exts}.bytes(), nil, short.bytes())
	want, _ := tlsRecordOf(t, "tls", short.bytes())
	checkFields(t, rec, map[string]string{"TLS_JA4": want["TLS_JA4"]})
	if len(want["TLS_JA4"]) != 2+34 {
		t.Errorf("short JA4 %s", want["TLS_JA4"])
	}
}

// TestTLSJA4VersionLabels: the version part, from the highest
// supported_versions value or else the little-endian legacy version.
func TestTLSJA4VersionLabels(t *testing.T) {
	labels := map[uint16]string{0x0304: "13", 0x0303: "12", 0x0302: "11", 0x0301: "10", 0x0300: "s3",
		0x0002: "s2", 0xfeff: "d1", 0xfefd: "d2", 0xfefc: "d3", 0x0103: "00", 0x7f1c: "00"}
	for v, want := range labels {
		if got := ja4Version(v); got != want {
			t.Errorf("ja4Version(%#04x) = %s, want %s", v, got, want)
		}
	}
	tests := []struct {
		name     string
		legacy   [2]byte
		versions []uint16
		ipfix    string
		standard string
	}{
		{"TLS 1.0 without supported_versions", [2]byte{3, 1}, nil, "00", "10"},
		{"TLS 1.2 without supported_versions", [2]byte{3, 3}, nil, "12", "12"},
		{"SSL 3 in supported_versions", [2]byte{3, 3}, []uint16{0x0300}, "s3", "s3"},
		{"GREASE is not a version", [2]byte{3, 3}, []uint16{0x7a7a, 0x0302}, "11", "11"},
		{"signed (ipfixprobe) and unsigned (FoxIO) maximum", [2]byte{3, 3}, []uint16{0xfefc, 0x0301}, "10", "d3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := hello{legacy: tc.legacy}
			if tc.versions != nil {
				h.exts = []tlsExt{extClientVersions(tc.versions...)}
			}
			for plugin, want := range map[string]string{"tls": tc.ipfix, "tls:ja4=standard": tc.standard} {
				rec, _ := tlsRecordOf(t, plugin, h.bytes())
				if got := rec["TLS_JA4"][2:4]; got != want {
					t.Errorf("%s: JA4 %s, version %s, want %s", plugin, rec["TLS_JA4"], got, want)
				}
			}
		})
	}
}

// TestTLSJA4StandardDropsOnlyRFCGREASE: FoxIO's JA4 drops the RFC 8701
// GREASE values only; ipfixprobe's broader test also drops 0x0202.
func TestTLSJA4StandardDropsOnlyRFCGREASE(t *testing.T) {
	h := hello{ciphers: []uint16{0x0a0a, 0x0202, 0x1301}, exts: []tlsExt{{0x1a1a, nil}, {0x1010, nil}, {0x0017, nil}}}.bytes()
	std, _ := tlsRecordOf(t, "tls:ja4=standard", h)
	ipx, _ := tlsRecordOf(t, "tls", h)
	checkFields(t, std, map[string]string{"TLS_JA4": `"t12i020200_` + sha256Hex12("0202,1301") + "_" + sha256Hex12("0017,1010") + `"`})
	checkFields(t, ipx, map[string]string{"TLS_JA4": `"t12i1300_` + sha256Hex12("1301") + "_" + sha256Hex12("0017_") + `"`})
}

// TestTLSRepeatedClientHelloWithoutSNIKeepsTheSNI: a ClientHello without a
// server_name entry leaves TLS_SNI as it was; its other fields overwrite.
func TestTLSRepeatedClientHelloWithoutSNIKeepsTheSNI(t *testing.T) {
	second := hello{legacy: [2]byte{3, 1}, ciphers: []uint16{0x002f}}
	rec, _ := tlsRecordOf(t, "tls", chrome13().bytes(), nil, second.bytes())
	checkFields(t, rec, map[string]string{"TLS_SNI": `"example.org"`, "TLS_VERSION": "259", "TLS_JA3": ja3Hex("259,47,,,")})
}
