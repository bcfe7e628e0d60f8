package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/flowgate/flowgate/config"
	"github.com/flowgate/flowgate/ingest"
	"github.com/flowgate/flowgate/ingest/meter"
	"github.com/flowgate/flowgate/internal/testutil"
	"github.com/flowgate/flowgate/internal/testutil/trapcap"
	"github.com/flowgate/flowgate/trap"
)

func TestCommandLineBuildsTheConfiguration(t *testing.T) {
	t.Setenv("FLOWGATE_METRICS_LISTEN", "")
	for _, tc := range []struct {
		name  string
		args  []string
		check func(t *testing.T, c config.Configuration)
	}{
		{"no arguments run the embedded default", nil, func(t *testing.T, c config.Configuration) {
			if len(c.Sources) != 2 || c.Outputs[0].IFC != "u:flowgate:timeout=HALF_WAIT" {
				t.Errorf("%+v", c)
			}
		}},
		{"-l and -i replace sources and outputs", []string{"-l", "udp://127.0.0.1:0", "-l", "tcp://127.0.0.1:0", "-i", "f:/tmp/a,b:", "-t", "uint32 PACKETS,uint64 BYTES"},
			func(t *testing.T, c config.Configuration) {
				if len(c.Sources) != 1 || strings.Join(c.Sources[0].Listen, " ") != "udp://127.0.0.1:0 tcp://127.0.0.1:0" {
					t.Errorf("sources %+v", c.Sources)
				}
				if len(c.Outputs) != 2 || c.Outputs[0].IFC != "f:/tmp/a" || c.Outputs[1].IFC != "b:" || c.Outputs[1].Template != "uint32 PACKETS,uint64 BYTES" {
					t.Errorf("outputs %+v", c.Outputs)
				}
			}},
		{"-i alone keeps the default sources and template", []string{"-i", "b:"}, func(t *testing.T, c config.Configuration) {
			if len(c.Sources) != 2 || c.Outputs[0].Template != config.DefaultTemplate {
				t.Errorf("%+v", c)
			}
		}},
		{"-v is debug", []string{"-v"}, func(t *testing.T, c config.Configuration) {
			if c.Log.Level != "debug" {
				t.Errorf("level %s", c.Log.Level)
			}
		}},
		{"-vv is accepted as debug", []string{"-vv"}, func(t *testing.T, c config.Configuration) {
			if c.Log.Level != "debug" {
				t.Errorf("level %s", c.Log.Level)
			}
		}},
		{"--metrics sets the metrics address", []string{"--metrics", "127.0.0.1:9999"}, func(t *testing.T, c config.Configuration) {
			if c.Metrics.Listen != "127.0.0.1:9999" {
				t.Errorf("metrics.listen %q", c.Metrics.Listen)
			}
		}},
		{"--metrics= turns the metrics off", []string{"--metrics="}, func(t *testing.T, c config.Configuration) {
			if c.Metrics.Listen != "" {
				t.Errorf("metrics.listen %q", c.Metrics.Listen)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseArgs(tc.args, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			c, err := loadConfig(o)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

func TestCommandLineErrorsExitWithUsage(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"-t without -i", []string{"-t", "uint32 X"}, "-t needs -i"},
		{"bad listen address", []string{"-l", "udp:4739", "-i", "b:"}, "sources[0].listen[0]"},
		{"bad template", []string{"-i", "b:", "-t", "uint99 X"}, "outputs[0].template"},
		{"bad IFC", []string{"-i", "q:1"}, "-i"},
		{"stray argument", []string{"extra"}, `unexpected argument "extra"`},
		{"missing config file", []string{"-c", "/nonexistent/flowgate.yaml"}, "/nonexistent/flowgate.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			if code := run(context.Background(), tc.args, &stderr); code != 2 {
				t.Errorf("exit code %d, want 2", code)
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tc.want)
			}
		})
	}
}

// readTrapcap counts the records of a .trapcap file written by an f: output.
func readTrapcap(t *testing.T, path string) int {
	t.Helper()
	specs, err := trap.ParseIFCSpec("f:" + path)
	if err != nil {
		t.Fatal(err)
	}
	in, err := trap.OpenInput(specs[0], "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	n := 0
	for {
		msg, _, err := in.Recv(context.Background())
		if err != nil {
			if errors.Is(err, io.EOF) {
				return n
			}
			t.Fatalf("reading %s: %v", path, err)
		}
		if trap.IsEOS(msg) {
			return n
		}
		n++
	}
}

func v5Datagrams(t *testing.T) [][]byte {
	t.Helper()
	path := filepath.Join(testutil.SharedTestdata(t, "netflow"), "flowgen_v5.pcap")
	src, err := meter.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var out [][]byte
	var p meter.Packet
	for {
		frame, _, err := src.ReadPacket()
		if err != nil {
			break
		}
		if meter.Parse(src.LinkType(), frame, &p) == nil && p.Proto == 17 {
			out = append(out, append([]byte(nil), p.Payload...))
		}
	}
	return out
}

func sendTo(t *testing.T, d *daemon, dgrams [][]byte) {
	t.Helper()
	var addr string
	deadline := time.Now().Add(testutil.WaitTimeout)
	for addr == "" && time.Now().Before(deadline) {
		if in := d.current.Load(); in != nil {
			addr = in.sources[0].(*ingest.CollectorSource).UDPAddrs()[0].String()
		} else {
			time.Sleep(5 * time.Millisecond)
		}
	}
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, b := range dgrams {
		c.Write(b)
	}
}

// SIGHUP swaps in the new configuration: records before it are in the old
// output, records after it in the new one; SIGTERM then flushes and exits.
func TestDaemonReloadsOnSIGHUPAndFlushesOnSIGTERM(t *testing.T) {
	dgrams := v5Datagrams(t)
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "flowgate.yaml")
	write := func(out string) {
		text := "metrics: {listen: ''}\nsources:\n  - {type: collector, listen: ['udp://127.0.0.1:0'], sockets: 1}\noutputs:\n  - ifc: 'f:" + filepath.Join(dir, out) + "'\n"
		if err := os.WriteFile(cfgFile, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("first.trapcap")
	o := options{configFile: cfgFile}
	cfg, err := loadConfig(o)
	if err != nil {
		t.Fatal(err)
	}
	d := &daemon{log: zap.NewNop(), reload: func() (config.Configuration, error) { return loadConfig(o) }}
	sigs := make(chan os.Signal, 1)
	done := make(chan error, 1)
	go func() { done <- d.serve(context.Background(), cfg, sigs) }()

	sendTo(t, d, dgrams)
	first := d.current.Load()
	// The collector goes on across the reload: records still queued then
	// go to the new configuration's outputs, so wait for these.
	deadline := time.Now().Add(testutil.WaitTimeout)
	for first.pipeline.OutputStats()[0].Sent < 60 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	write("second.trapcap")
	sigs <- syscall.SIGHUP
	deadline = time.Now().Add(testutil.WaitTimeout)
	for d.current.Load() == first && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	sendTo(t, d, dgrams)
	sendTo(t, d, dgrams)
	sigs <- syscall.SIGTERM
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := readTrapcap(t, filepath.Join(dir, "first.trapcap")); n != 60 {
		t.Errorf("first output: %d records, want 60", n)
	}
	if n := readTrapcap(t, filepath.Join(dir, "second.trapcap")); n != 120 {
		t.Errorf("second output: %d records, want 120", n)
	}
}

// A reload whose configuration is invalid keeps the running one.
func TestDaemonKeepsRunningOnABadReload(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "flowgate.yaml")
	os.WriteFile(cfgFile, []byte("metrics: {listen: ''}\nsources: [{type: collector, listen: ['udp://127.0.0.1:0']}]\noutputs: [{ifc: 'f:"+filepath.Join(dir, "out")+"'}]\n"), 0o644)
	o := options{configFile: cfgFile}
	cfg, err := loadConfig(o)
	if err != nil {
		t.Fatal(err)
	}
	d := &daemon{log: zap.NewNop(), reload: func() (config.Configuration, error) { return loadConfig(o) }}
	sigs := make(chan os.Signal, 1)
	done := make(chan error, 1)
	go func() { done <- d.serve(context.Background(), cfg, sigs) }()
	sendTo(t, d, v5Datagrams(t))
	before := d.current.Load()
	os.WriteFile(cfgFile, []byte("sources: [{type: sflow}]\n"), 0o644)
	sigs <- syscall.SIGHUP
	sigs <- syscall.SIGTERM
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if d.current.Load() != before {
		t.Error("a rejected configuration replaced the running one")
	}
	if n := readTrapcap(t, filepath.Join(dir, "out")); n != 60 {
		t.Errorf("%d records, want 60", n)
	}
}

// With only file sources the daemon ends by itself once they are replayed.
func TestDaemonEndsWhenEveryFileSourceIsReplayed(t *testing.T) {
	nf := filepath.Join(testutil.SharedTestdata(t, "netflow"), "nfcapd171", "softflowd_v9.nf")
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "flowgate.yaml")
	os.WriteFile(cfgFile, []byte("metrics: {listen: ''}\nsources: [{type: nfdump, paths: ['"+nf+"']}]\noutputs: [{ifc: 'f:"+filepath.Join(dir, "out")+"'}]\n"), 0o644)
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"-c", cfgFile}, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if n := readTrapcap(t, filepath.Join(dir, "out")); n != 74 {
		t.Errorf("%d records, want nfdump's 74", n)
	}
}

// An output's filter: key sends only the records that pass it; another
// output without one gets them all.
func TestDaemonOutputFilter(t *testing.T) {
	csv := filepath.Join(testutil.SharedTestdata(t, "trap"), "basic_flows.csv")
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "flowgate.yaml")
	tmpl := "ipaddr DST_IP,ipaddr SRC_IP,uint16 DST_PORT,uint8 PROTOCOL"
	os.WriteFile(cfgFile, []byte("metrics: {listen: ''}\nsources: [{type: csv, paths: ['"+csv+"']}]\noutputs:\n"+
		"  - {ifc: 'f:"+filepath.Join(dir, "all")+"', template: '"+tmpl+"'}\n"+
		"  - {ifc: 'f:"+filepath.Join(dir, "tcp")+"', template: '"+tmpl+"', filter: 'PROTOCOL == TCP && DST_PORT in [22, 80, 443]'}\n"), 0o644)
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"-c", cfgFile}, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	all := trapcap.Read(t, filepath.Join(dir, "all"))
	tcp := trapcap.Read(t, filepath.Join(dir, "tcp"))
	port, _ := all.Tmpl.Lookup("DST_PORT")
	proto, _ := all.Tmpl.Lookup("PROTOCOL")
	want := 0
	for _, r := range all.Records {
		if p := r.Uint16(port); r.Uint8(proto) == 6 && (p == 22 || p == 80 || p == 443) {
			want++
		}
	}
	if len(all.Records) != 20 || want == 0 || len(tcp.Records) != want {
		t.Fatalf("%d records in all, %d pass the filter, %d in the filtered output", len(all.Records), want, len(tcp.Records))
	}
	for _, r := range tcp.Records {
		if p := r.Uint16(port); r.Uint8(proto) != 6 || p != 22 && p != 80 && p != 443 {
			t.Errorf("record %s passed", r.AppendText(nil, ','))
		}
	}
}
