package main

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// routeFrame builds an Ethernet/IPv4 frame from 10.0.0.1 to 10.0.0.2
// (reversed when back) carrying a TCP (proto 6) or UDP (17) payload.
func routeFrame(proto uint8, sport, dport uint16, back bool, payload []byte) []byte {
	l4 := make([]byte, 8)
	if proto == 6 {
		l4 = make([]byte, 20)
		l4[12], l4[13] = 5<<4, 0x18
	} else {
		binary.BigEndian.PutUint16(l4[4:], uint16(8+len(payload)))
	}
	binary.BigEndian.PutUint16(l4[0:], sport)
	binary.BigEndian.PutUint16(l4[2:], dport)
	ip := []byte{0x45, 0, 0, 0, 0, 0, 0, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2}
	if back {
		copy(ip[12:], []byte{10, 0, 0, 2, 10, 0, 0, 1})
	}
	binary.BigEndian.PutUint16(ip[2:], uint16(len(ip)+len(l4)+len(payload)))
	eth := []byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00}
	return append(append(append(eth, ip...), l4...), payload...)
}

// writeRoutePcap writes frames one second apart into a pcap file.
func writeRoutePcap(t *testing.T, frames ...[]byte) string {
	t.Helper()
	b := binary.LittleEndian.AppendUint32(nil, 0xa1b2c3d4)
	b = binary.LittleEndian.AppendUint16(b, 2)
	b = binary.LittleEndian.AppendUint16(b, 4)
	for _, v := range []uint32{0, 0, 65535, 1} {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	for i, f := range frames {
		for _, v := range []uint32{1700000000 + uint32(i), 0, uint32(len(f)), uint32(len(f))} {
			b = binary.LittleEndian.AppendUint32(b, v)
		}
		b = append(b, f...)
	}
	path := filepath.Join(t.TempDir(), "route.pcap")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// minimalClientHello is a TLS 1.2 ClientHello with one cipher suite and no
// extensions block.
func minimalClientHello() []byte {
	body := append([]byte{3, 3}, make([]byte, 32)...)
	body = append(body, 0, 0, 2, 0x00, 0x2f, 1, 0)
	hs := append([]byte{1, 0, 0, byte(len(body))}, body...)
	return append([]byte{22, 3, 1, 0, byte(len(hs))}, hs...)
}

// TestFlowMeterTLSOutputGetsOnlyTLSFlows: with one IFC and -p tls only the
// flows carrying a TLS record are sent (a QUIC flow is not, spec §6); a
// basic IFC gets every flow; -A keeps "every output gets every flow".
func TestFlowMeterTLSOutputGetsOnlyTLSFlows(t *testing.T) {
	quic := append([]byte{0xc3, 0, 0, 0, 1, 8}, make([]byte, 64)...)
	pcap := writeRoutePcap(t,
		routeFrame(6, 50000, 443, false, minimalClientHello()),
		routeFrame(17, 50001, 443, false, quic),
		routeFrame(17, 443, 50001, true, quic),
		routeFrame(6, 50002, 80, false, []byte("GET / HTTP/1.1\r\n\r\n")),
	)
	dir := t.TempDir()
	out := func(name string) string { return filepath.Join(dir, name+".trapcap") }
	tests := []struct {
		name    string
		args    []string
		records map[string]int // output -> records
	}{
		{"one tls IFC", []string{"-p", "tls", "-i", "f:" + out("tls1")}, map[string]int{"tls1": 1}},
		{"basic and tls IFCs", []string{"-p", "basic,tls", "-i", "f:" + out("basic2") + ",f:" + out("tls2")}, map[string]int{"basic2": 3, "tls2": 1}},
		{"-A: every flow on the tls IFC", []string{"-A", "-p", "tls", "-i", "f:" + out("tls3")}, map[string]int{"tls3": 3}},
		{"-S: uniflows", []string{"-S", "-p", "basic", "-i", "f:" + out("uni")}, map[string]int{"uni": 4}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if code, _, stderr := runMeter(t, append(tc.args, "-r", pcap)...); code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			for name, want := range tc.records {
				got := readTrapcap(t, out(name))
				if len(got.Records) != want {
					t.Errorf("%s: %d records, want %d", name, len(got.Records), want)
				}
				if id, ok := got.Tmpl.Lookup("TLS_SNI"); ok && want == 1 {
					port, _ := got.Tmpl.Lookup("SRC_PORT")
					if p := got.Records[0].Uint16(port); p != 50000 {
						t.Errorf("%s: flow from port %d (SNI %q), want the TLS flow from 50000", name, p, got.Records[0].Var(id))
					}
				}
			}
		})
	}
}
