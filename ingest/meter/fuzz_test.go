package meter

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/flowgate/flowgate/unirec"
)

// goldenSeeds returns the golden captures (if present) for seeding fuzzers;
// unlike pcapTestdata it never skips, so the generated seeds still run.
func goldenSeeds(f *testing.F) [][]byte {
	dir, err := os.Getwd()
	if err != nil {
		return nil
	}
	for {
		cand := filepath.Join(dir, "shared", "testdata", "pcap")
		if st, err := os.Stat(cand); err == nil && st.IsDir() {
			var out [][]byte
			for _, n := range []string{"mixed.pcap", "http.pcap", "vlan.pcap"} {
				if b, err := os.ReadFile(filepath.Join(cand, n)); err == nil {
					out = append(out, b)
				}
			}
			return out
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return nil
		}
		dir = parent
	}
}

func FuzzParse(f *testing.F) {
	f.Add(uint8(LinkEthernet), frame(l4{proto: protoTCP, sport: 1, dport: 2, vlans: []uint16{1, 2}, src: ipA, dst: ipB}))
	f.Add(uint8(LinkEthernet), withIPv6Ext(frame(l4{proto: protoUDP, v6: true, src: make([]byte, 16), dst: make([]byte, 16)}), 0, make([]byte, 8)))
	f.Add(uint8(LinkRawIP), frame(l4{proto: protoICMP, src: ipA, dst: ipB})[14:])
	f.Add(uint8(LinkLinuxSLL), append(make([]byte, 14), append([]byte{0x08, 0x00}, frame(l4{proto: protoUDP, src: ipA, dst: ipB})[14:]...)...))
	f.Fuzz(func(t *testing.T, link uint8, data []byte) {
		var p Packet
		if err := Parse(LinkType(link%4), data, &p); err != nil {
			return
		}
		if len(p.Payload) > len(data) {
			t.Fatalf("payload %d bytes from a %d-byte frame", len(p.Payload), len(data))
		}
		if p.IPVersion != 4 && p.IPVersion != 6 {
			t.Fatalf("accepted packet with IP version %d", p.IPVersion)
		}
	})
}

// FuzzMeterCapture feeds arbitrary capture files through the reader and a
// meter with every plugin: errors are fine, panics are not. Its inputs are
// kilobytes long, so run it with a short -fuzzminimizetime (e.g. 2s);
// the 60s default spends the whole budget minimising the first finds.
func FuzzMeterCapture(f *testing.F) {
	// Golden captures seed the corpus, cut to their first 4 KiB (a dozen
	// packets): whole files make the fuzzer's mutation loop crawl.
	for _, s := range goldenSeeds(f) {
		f.Add(s[:min(len(s), 4096)])
	}
	f.Add(pcapBytes([]capturedFrame{
		{t0, tcp(true, 5, 443, 0x18, clientHello())},
		{t0, tcp(false, 443, 5, 0x18, serverHello())},
		{t0, udp(true, 5, 53, dnsMsg(1, false))},
		{t0, udp(false, 53, 5, dnsMsg(1, true))},
		{t0, udp(true, 1900, 1900, []byte("NOTIFY * HTTP/1.1\r\nNT: a\r\nLOCATION: http://h:1/\r\n\r\n"))},
	}))
	f.Add(pcapngFile(binary.BigEndian, 9, 1e18, udp(true, 1, 53, dnsMsg(2, false))))
	f.Fuzz(func(t *testing.T, data []byte) {
		src, err := NewFileSource(bytes.NewReader(data))
		if err != nil {
			return
		}
		m, err := New(Config{Plugins: PluginNames(), Cache: CacheConfig{Size: 64}}, func(r unirec.Record) error {
			_ = r.AppendText(nil, ',')
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		_ = m.Run(context.Background(), src)
		_ = m.Flush()
	})
}

func FuzzHTTPParser(f *testing.F) {
	f.Add([]byte("GET /x HTTP/1.1\r\nHost: h\r\nUser-Agent: u\r\nReferer: r\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nServer: s\r\nSet-Cookie: a=b\r\nSet-Cookie: c\r\n\r\n"))
	f.Add([]byte("POST"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var s httpState
		s.reset()
		if k := httpKind(b); k != 0 {
			s.parse(k, b)
		}
		if s.method.n > httpMaxMethod || s.url.n > httpMaxURL || s.cookies.n > httpMaxCookies {
			t.Fatal("value exceeds its limit")
		}
	})
}

func FuzzDNSParser(f *testing.F) {
	f.Add(dnsMsg(7, false))
	f.Add(dnsMsg(7, true))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, _, _ := parseDNSMessage(b)
		if s.name.n > dnsMaxName || s.rdata.n > dnsMaxRData {
			t.Fatal("value exceeds its limit")
		}
	})
}

func FuzzTLSParser(f *testing.F) {
	f.Add(clientHello())
	f.Add(serverHello())
	f.Fuzz(func(t *testing.T, b []byte) {
		var s tlsState
		s.reset()
		_ = s.parseRecord(b)
		if s.nExt > tlsMaxExt || s.ja4.n > 40 {
			t.Fatal("value exceeds its limit")
		}
	})
}

func FuzzSSDPParser(f *testing.F) {
	f.Add([]byte("NOTIFY * HTTP/1.1\r\nNT: upnp:rootdevice\r\nLOCATION: http://[::1]:80/\r\nSERVER: s\r\n\r\n"))
	f.Add([]byte("M-SEARCH * HTTP/1.1\r\nST: ssdp:all\r\nUSER-AGENT: u\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var s ssdpState
		s.reset()
		s.parse(b)
		if s.nt.n > ssdpMaxList || s.st.n > ssdpMaxList {
			t.Fatal("value exceeds its limit")
		}
	})
}
