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
		s.parse(b)
		s.parse(b)
		if s.method.n > httpMaxMethod || s.url.n > httpMaxURL || s.cookies.n > httpMaxCookies ||
			s.host.n > httpMaxHost || s.contentType.n > httpMaxCType {
			t.Fatal("value exceeds its limit")
		}
	})
}

func FuzzDNSParser(f *testing.F) {
	f.Add(dnsMsg(7, false), false)
	f.Add(dnsMsg(7, true), false)
	f.Add(append([]byte{0, byte(len(dnsMsg(7, true)))}, dnsMsg(7, true)...), true)
	f.Fuzz(func(t *testing.T, b []byte, tcp bool) {
		var d dnsPlugin
		var s dnsState
		s.reset()
		d.parse(&s, b, tcp)
		if s.name.n > dnsMaxName || s.rdata.n > dnsMaxRData || int(s.rlength) != s.rdata.n {
			t.Fatal("value exceeds its limit")
		}
	})
}

func FuzzTLSParser(f *testing.F) {
	f.Add(clientHello(), false)
	f.Add(serverHello(), false)
	f.Add(clientHello(), true)
	f.Fuzz(func(t *testing.T, b []byte, standard bool) {
		x := &tlsPlugin{standardJA4: standard}
		var s tlsState
		s.reset()
		p := &Packet{Proto: protoTCP, Payload: b}
		x.packet(&s, p)
		x.packet(&s, p)
		if s.nExt > tlsMaxExt || s.sni.n > tlsStrBuf-2 || s.alpn.n > tlsStrBuf-2 {
			t.Fatal("value exceeds its limit")
		}
		if s.attached && (s.ja4n < 34 || s.ja4n > tlsJA4Len) {
			t.Fatalf("JA4 of %d chars", s.ja4n)
		}
	})
}

func FuzzSSDPParser(f *testing.F) {
	f.Add([]byte("NOTIFY * HTTP/1.1\r\nNT: urn:x\r\nLOCATION: http://[::1]:80/\r\nSERVER: s\r\n\r\n"), true)
	f.Add([]byte("NOTIFY * HTTP/1.1\r\nNT: urn:x\r\nLOCATION: http://1.2.3.4:0x50/\r\nSERVER: s\r\n\r\n"), false)
	f.Add([]byte("M-SEARCH * HTTP/1.1\r\nST: urn:all\r\nUSER-AGENT: u\r\n\r\n"), false)
	f.Fuzz(func(t *testing.T, b []byte, v6 bool) {
		var s ssdpState
		s.reset()
		s.parse(b, v6)
		s.parse(b, v6)
		if s.nt.n >= ssdpMaxList || s.st.n >= ssdpMaxList || s.server.n >= ssdpMaxServer || s.agent.n >= ssdpMaxAgent {
			t.Fatal("value exceeds its limit")
		}
	})
}
