package meter

import (
	"context"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
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
		row := map[string]string{}
		for i, f := range r.T.Fields() {
			row[f.Name] = string(r.AppendValue(nil, unirec.FieldID(i)))
		}
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

func TestDNSPluginFillsQueryAndResponse(t *testing.T) {
	frames := []capturedFrame{
		{t0, udp(true, 40000, 53, dnsMsg(0x1234, false))},
		{t0.Add(10 * time.Millisecond), udp(false, 53, 40000, dnsMsg(0x1234, true))},
		// Same key after the response: the flow was flushed, so a new one.
		{t0.Add(time.Second), udp(true, 40000, 53, dnsMsg(0x1235, false))},
	}
	recs := meterFrames(t, Config{Plugins: []string{"dns"}}, frames)
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2 (flush after the response)", len(recs))
	}
	checkFields(t, recs[0], map[string]string{
		"PACKETS": "1", "PACKETS_REV": "1", "SRC_PORT": "40000", "DST_PORT": "53",
		"DNS_ID": "4660", "DNS_ANSWERS": "1", "DNS_CLASS": "1", "DNS_QTYPE": "1",
		"DNS_PSIZE": "4096", "DNS_DO": "1", "DNS_RCODE": "3", "DNS_RR_TTL": "300", "DNS_RLENGTH": "4",
		"DNS_NAME": `"example.com"`, "DNS_RDATA": hex.EncodeToString([]byte("93.184.216.34")),
	})
	checkFields(t, recs[1], map[string]string{
		"PACKETS": "1", "PACKETS_REV": "0", "DNS_ID": "4661", "DNS_ANSWERS": "0", "DNS_RDATA": "",
		"DNS_NAME": `"example.com"`,
	})
}

func TestDNSMessageParserRejectsDamage(t *testing.T) {
	good := dnsMsg(1, true)
	tests := []struct {
		name string
		msg  []byte
	}{
		{"short header", good[:8]},
		{"name runs off the end", good[:16]},
		{"answer rdata cut", good[:len(good)-14]},
		{"pointer loop", append(append([]byte{}, good[:12]...), 0xc0, 12, 0, 1, 0, 1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := parseDNSMessage(tc.msg); err == nil {
				t.Fatal("damaged message accepted")
			}
		})
	}
}

func TestSSDPPluginCollectsNotifyAndSearch(t *testing.T) {
	notify := func(nt string) []byte {
		return []byte("NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nNT: " + nt +
			"\r\nNTS: ssdp:alive\r\nLOCATION: http://192.168.1.10:49152/desc.xml\r\nSERVER: Linux/3.0 UPnP/1.0 test/1\r\n\r\n")
	}
	search := []byte("M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nST: ssdp:all\r\nUSER-AGENT: probe/2\r\n\r\n")
	frames := []capturedFrame{
		{t0, udp(true, 1900, 1900, notify("upnp:rootdevice"))},
		{t0.Add(time.Second), udp(true, 1900, 1900, notify("urn:schemas-upnp-org:device:Basic:1"))},
		{t0.Add(2 * time.Second), udp(true, 1900, 1900, notify("upnp:rootdevice"))},
		{t0.Add(3 * time.Second), udp(true, 1900, 1900, search)},
	}
	recs := meterFrames(t, Config{Plugins: []string{"ssdp"}}, frames)
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	checkFields(t, recs[0], map[string]string{
		"PACKETS":            "4",
		"SSDP_NT":            `"upnp:rootdevice;urn:schemas-upnp-org:device:Basic:1"`,
		"SSDP_LOCATION_PORT": "49152",
		"SSDP_SERVER":        `"Linux/3.0 UPnP/1.0 test/1"`,
		"SSDP_ST":            `"ssdp:all"`,
		"SSDP_USER_AGENT":    `"probe/2"`,
	})
}

func TestURLPort(t *testing.T) {
	tests := []struct {
		url  string
		want uint16
	}{
		{"http://192.168.1.10:49152/desc.xml", 49152},
		{"http://[fe80::1]:8080/x", 8080},
		{"http://[fe80::1]/x", 0},
		{"http://host/x", 0},
		{"http://host:99999/", 0},
		{"http://host:80a/", 0},
	}
	for _, tc := range tests {
		if got := urlPort([]byte(tc.url)); got != tc.want {
			t.Errorf("urlPort(%q) = %d, want %d", tc.url, got, tc.want)
		}
	}
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

func TestTLSPluginFingerprintsClientHello(t *testing.T) {
	frames := []capturedFrame{
		{t0, tcp(true, 50000, 443, 0x18, clientHello())},
		{t0.Add(20 * time.Millisecond), tcp(false, 443, 50000, 0x18, serverHello())},
	}
	recs := meterFrames(t, Config{Plugins: []string{"tls"}}, frames)
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	ja3 := md5.Sum([]byte("771,4865-49195,0-10-11-13-16-43,29-23,0"))
	// JA4 parts: t 13 d, 2 ciphers, 6 extensions (GREASE dropped), h2.
	ja4b := sha256Hex12("1301,c02b")
	ja4c := sha256Hex12("000a,000b,000d,002b_0403,0804")
	checkFields(t, recs[0], map[string]string{
		"TLS_SNI":      `"example.org"`,
		"TLS_ALPN":     `"h2"`,
		"TLS_VERSION":  "772",
		"TLS_JA3":      hex.EncodeToString(ja3[:]),
		"TLS_JA4":      `"t13d0206h2_` + ja4b + "_" + ja4c + `"`,
		"TLS_EXT_TYPE": "[6682|0|10|11|13|16|43]",
		"TLS_EXT_LEN":  "[0|16|6|2|6|14|7]",
	})
}

func TestTLSParserRejectsTruncatedHello(t *testing.T) {
	ch := clientHello()
	for _, n := range []int{9, 20, 45, 50} {
		var s tlsState
		if err := s.parseRecord(ch[:n]); err == nil {
			t.Errorf("ClientHello cut at %d bytes accepted", n)
		}
	}
}

func TestHTTPPluginSplitsSecondRequest(t *testing.T) {
	req := func(path string) []byte {
		return []byte("GET " + path + " HTTP/1.1\r\nHost: example.org\r\nUser-Agent: test/1\r\nReferer: http://r/\r\n\r\n")
	}
	resp := []byte("HTTP/1.1 404 Not Found\r\nServer: srv\r\nContent-Type: text/plain\r\nSet-Cookie: a=1; Path=/\r\nSet-Cookie: b=2\r\n\r\nbody")
	frames := []capturedFrame{
		{t0, tcp(true, 50001, 80, 0x18, req("/one"))},
		{t0.Add(time.Millisecond), tcp(false, 80, 50001, 0x18, resp)},
		{t0.Add(2 * time.Millisecond), tcp(true, 50001, 80, 0x18, req("/two"))},
	}
	recs := meterFrames(t, Config{Plugins: []string{"http"}}, frames)
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2 (second request starts a new flow)", len(recs))
	}
	checkFields(t, recs[0], map[string]string{
		"PACKETS": "1", "PACKETS_REV": "1", "HTTP_REQUEST_METHOD": `"GET"`, "HTTP_REQUEST_URL": `"/one"`,
		"HTTP_REQUEST_HOST": `"example.org"`, "HTTP_REQUEST_AGENT": `"test/1"`, "HTTP_REQUEST_REFERER": `"http://r/"`,
		"HTTP_RESPONSE_STATUS_CODE": "404", "HTTP_RESPONSE_SERVER": `"srv"`,
		"HTTP_RESPONSE_CONTENT_TYPE": `"text/plain"`, "HTTP_RESPONSE_SET_COOKIE_NAMES": `"a;b"`,
	})
	checkFields(t, recs[1], map[string]string{"HTTP_REQUEST_URL": `"/two"`, "HTTP_RESPONSE_STATUS_CODE": "0"})
}
