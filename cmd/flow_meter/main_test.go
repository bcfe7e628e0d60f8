package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowgate/flowgate/ingest/meter"
	"github.com/flowgate/flowgate/internal/testutil"
	"github.com/flowgate/flowgate/internal/testutil/trapcap"
	"github.com/flowgate/flowgate/unirec"
)

// capture is what the module's f: output holds, read back.
type capture = trapcap.Capture

func readTrapcap(t *testing.T, path string) capture { return trapcap.Read(t, path) }

func runMeter(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(context.Background(), append([]string{"flow_meter"}, args...), &o, &e)
	return code, o.String(), e.String()
}

func sum(t *testing.T, tc capture, names ...string) uint64 {
	t.Helper()
	var n uint64
	for _, name := range names {
		id, ok := tc.Tmpl.Lookup(name)
		if !ok {
			t.Fatalf("no %s in %s", name, tc.Tmpl.Spec())
		}
		for _, r := range tc.Records {
			n += uint64(r.Uint32(id))
		}
	}
	return n
}

func TestFlowMeterOutputIFCkCarriesPluginK(t *testing.T) {
	pcap := filepath.Join(testutil.SharedTestdata(t, "pcap"), "http.pcap")
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.trapcap"), filepath.Join(dir, "b.trapcap")
	if code, _, stderr := runMeter(t, "-i", "f:"+a+",f:"+b, "-r", pcap, "-p", "http,vlan"); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, tc := range []struct {
		path, plugin string
	}{{a, "http"}, {b, "vlan"}} {
		got := readTrapcap(t, tc.path)
		want, err := outputTemplate(tc.plugin)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Tmpl.Equal(want) {
			t.Errorf("%s output template %s, want %s", tc.plugin, got.Tmpl.Spec(), want.Spec())
		}
		if len(got.Records) != 9 || got.EOSLen != 1 {
			t.Errorf("%s output: %d records, end of stream %d bytes; want 9 and 1", tc.plugin, len(got.Records), got.EOSLen)
		}
	}
	http := readTrapcap(t, a)
	id, _ := http.Tmpl.Lookup("HTTP_REQUEST_HOST")
	if host := string(http.Records[0].Var(id)); host != "httpbin.org" {
		t.Errorf("HTTP_REQUEST_HOST %q, want httpbin.org", host)
	}
}

func TestFlowMeterCountAndNoEOF(t *testing.T) {
	pcap := filepath.Join(testutil.SharedTestdata(t, "pcap"), "http.pcap")
	out := filepath.Join(t.TempDir(), "o.trapcap")
	if code, _, stderr := runMeter(t, "-i", "f:"+out, "-r", pcap, "-c", "7", "-n"); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	got := readTrapcap(t, out)
	if n := sum(t, got, "PACKETS", "PACKETS_REV"); n != 7 {
		t.Errorf("flows hold %d packets, want the 7 of -c", n)
	}
	if got.EOSLen != 0 {
		t.Errorf("end-of-stream message sent despite -n")
	}
}

func TestFlowMeterVerboseSummary(t *testing.T) {
	pcap := filepath.Join(testutil.SharedTestdata(t, "pcap"), "mixed.pcap")
	code, _, stderr := runMeter(t, "-v", "-i", "b:", "-r", pcap)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "flow_meter: 205 packets (157 IP, 48 non-IP") || !strings.Contains(stderr, "48 records sent") {
		t.Errorf("summary: %q", stderr)
	}
}

func TestFlowMeterCorruptFileExportsWhatItRead(t *testing.T) {
	good, err := os.ReadFile(filepath.Join(testutil.SharedTestdata(t, "pcap"), "http.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cut := filepath.Join(dir, "cut.pcap")
	if err := os.WriteFile(cut, good[:3000], 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "o.trapcap")
	code, _, stderr := runMeter(t, "-i", "f:"+out, "-r", cut)
	if code != exitRead || !strings.Contains(stderr, meter.ErrCorrupt.Error()) {
		t.Errorf("exit %d, stderr %q; want %d and a corruption error", code, stderr, exitRead)
	}
	if got := readTrapcap(t, out); len(got.Records) == 0 || got.EOSLen != 1 {
		t.Errorf("%d records, end of stream %d bytes: the packets before the damage must be exported", len(got.Records), got.EOSLen)
	}
}

func TestFlowMeterExitCodes(t *testing.T) {
	dir := testutil.SharedTestdata(t, "pcap")
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"missing IFC_SPEC", []string{"-r", filepath.Join(dir, "http.pcap")}, exitTrapInit},
		{"bad option", []string{"-i", "b:", "-r", "x", "-s", "99"}, exitBadParams},
		{"outputs do not match plugins", []string{"-i", "b:,b:", "-r", filepath.Join(dir, "http.pcap")}, exitBadParams},
		{"missing file", []string{"-i", "b:", "-r", filepath.Join(t.TempDir(), "none.pcap")}, exitRead},
		{"unknown interface", []string{"-i", "b:", "-I", "no-such-ifc0"}, exitRead},
		{"help", []string{"-h"}, exitOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if code, _, stderr := runMeter(t, tc.args...); code != tc.code {
				t.Errorf("exit %d, want %d (%s)", code, tc.code, stderr)
			}
		})
	}
}

func TestProgressLine(t *testing.T) {
	m, err := meter.New(meter.Config{}, func(unirec.Record) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	var w bytes.Buffer
	p := newProgress(nil, m, 0, &w, true)
	p.tick(false) // too early: nothing
	if w.Len() != 0 {
		t.Errorf("printed before %v passed: %q", progressEvery, w.String())
	}
	p.tick(true)
	if !strings.HasPrefix(w.String(), "flow_meter: 0 packets, 0 flows, 0 records, ") || !strings.HasSuffix(w.String(), "packets/s\n") {
		t.Errorf("progress line %q", w.String())
	}
}

// TestFlowMeterRoutesFlowsLikeIpfixprobe: the basic output gets every flow,
// a plugin output only the flows carrying that plugin's record (spec §6);
// -A sends every flow everywhere.
func TestFlowMeterRoutesFlowsLikeIpfixprobe(t *testing.T) {
	pcap := filepath.Join(testutil.SharedTestdata(t, "pcap"), "mixed.pcap")
	dir := t.TempDir()
	basic, dns, grp := filepath.Join(dir, "basic.trapcap"), filepath.Join(dir, "dns.trapcap"), filepath.Join(dir, "grp.trapcap")
	if code, _, stderr := runMeter(t, "-i", "f:"+basic+",f:"+dns+",f:"+grp, "-r", pcap, "-p", "basic,dns,http+ssdp"); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	b, d, g := readTrapcap(t, basic), readTrapcap(t, dns), readTrapcap(t, grp)
	if len(b.Records) == 0 || len(d.Records) == 0 || len(d.Records) >= len(b.Records) {
		t.Fatalf("basic %d records, dns %d: want every flow on basic and only the DNS flows on dns", len(b.Records), len(d.Records))
	}
	idID, _ := d.Tmpl.Lookup("DNS_ID")
	nameID, _ := d.Tmpl.Lookup("DNS_NAME")
	srcPort, _ := d.Tmpl.Lookup("SRC_PORT")
	dstPort, _ := d.Tmpl.Lookup("DST_PORT")
	for _, r := range d.Records {
		if r.Uint16(srcPort) != 53 && r.Uint16(dstPort) != 53 {
			t.Errorf("non-DNS flow on the dns output: ports %d -> %d (id %d, name %q)", r.Uint16(srcPort), r.Uint16(dstPort), r.Uint16(idID), r.Var(nameID))
		}
	}
	if _, ok := g.Tmpl.Lookup("SSDP_NT"); !ok {
		t.Errorf("group output template %s lacks the ssdp fields", g.Tmpl.Spec())
	}
	if _, ok := g.Tmpl.Lookup("HTTP_REQUEST_HOST"); !ok {
		t.Errorf("group output template %s lacks the http fields", g.Tmpl.Spec())
	}
	for _, r := range g.Records {
		if r.Uint16(dstPort) != 1900 {
			t.Errorf("flow to port %d on the http+ssdp output (mixed.pcap has no HTTP)", r.Uint16(dstPort))
		}
	}

	all := filepath.Join(dir, "all.trapcap")
	if code, _, stderr := runMeter(t, "-A", "-i", "f:"+all, "-r", pcap, "-p", "dns"); code != exitOK {
		t.Fatalf("-A: exit %d: %s", code, stderr)
	}
	// DNS splits flows, so compare with a basic run that has the dns plugin.
	if a := readTrapcap(t, all); len(a.Records) != len(b.Records) {
		t.Errorf("-A -p dns: %d records, want every flow (%d)", len(a.Records), len(b.Records))
	}
}
