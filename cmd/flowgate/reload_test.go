package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/flowgate/flowgate/config"
	"github.com/flowgate/flowgate/ingest"
	"github.com/flowgate/flowgate/internal/testutil"
	"github.com/flowgate/flowgate/trap"
)

// reloadRig runs a daemon on a config file the test rewrites.
type reloadRig struct {
	t    *testing.T
	d    *daemon
	file string
	sigs chan os.Signal
	done chan error
}

func startRig(t *testing.T, yaml string) *reloadRig {
	t.Helper()
	return startRigLog(t, yaml, zap.NewNop())
}

func startRigLog(t *testing.T, yaml string, log *zap.Logger) *reloadRig {
	t.Helper()
	r := &reloadRig{t: t, file: filepath.Join(t.TempDir(), "flowgate.yaml"), sigs: make(chan os.Signal, 1), done: make(chan error, 1)}
	r.write(yaml)
	o := options{configFile: r.file}
	cfg, err := loadConfig(o)
	if err != nil {
		t.Fatal(err)
	}
	r.d = &daemon{log: log, reload: func() (config.Configuration, error) { return loadConfig(o) }}
	go func() { r.done <- r.d.serve(context.Background(), cfg, r.sigs) }()
	var err2 error
	testutil.WaitFor(t, "the daemon to start", func() bool {
		select {
		case err2 = <-r.done:
			return true
		default:
			return r.d.current.Load() != nil
		}
	})
	if r.d.current.Load() == nil {
		t.Fatalf("daemon did not start: %v", err2)
	}
	return r
}

func (r *reloadRig) write(yaml string) {
	if err := os.WriteFile(r.file, []byte(yaml), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

// reload rewrites the file, sends SIGHUP and waits until the daemon has
// dealt with it (a rejected configuration leaves the instance as it is).
func (r *reloadRig) reload(yaml string) {
	r.t.Helper()
	r.write(yaml)
	before := r.d.current.Load()
	r.sigs <- syscall.SIGHUP
	deadline := time.Now().Add(testutil.WaitTimeout)
	for r.d.current.Load() == before && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
}

func (r *reloadRig) stop() {
	r.t.Helper()
	r.sigs <- syscall.SIGTERM
	if err := <-r.done; err != nil {
		r.t.Fatal(err)
	}
}

// sent is the pipeline's count of records output name accepted.
func (r *reloadRig) sent(name string) uint64 {
	for _, st := range r.d.current.Load().pipeline.OutputStats() {
		if st.Name == name {
			return st.Sent
		}
	}
	return 0
}

func (r *reloadRig) waitSent(name string, n uint64) {
	r.t.Helper()
	deadline := time.Now().Add(testutil.WaitTimeout)
	for r.sent(name) < n {
		if time.Now().After(deadline) {
			in := r.d.current.Load()
			var tot string
			if c, ok := in.sources[0].(*ingest.CollectorSource); ok && c.Totals() != nil {
				tot = fmt.Sprintf("%+v", c.Totals().Snapshot())
			}
			r.t.Fatalf("output %s accepted %d records, want %d (stats %+v, collector %s)", name, r.sent(name), n, in.pipeline.OutputStats(), tot)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// countUntilEOS reads in until the end of the stream (or an error) and
// then sends how many records came.
func countUntilEOS(in *trap.Input) <-chan int {
	got := make(chan int, 1)
	go func() {
		n := 0
		for {
			msg, _, err := in.Recv(context.Background())
			if err != nil || trap.IsEOS(msg) {
				got <- n
				return
			}
			n++
		}
	}()
	return got
}

// A reload keeps the outputs and sources it does not change: the f:
// output is not truncated and its counter goes on, the collector keeps its
// socket (the same port-0 address), a changed output is drained and closed,
// a new one starts.
func TestReloadKeepsUnchangedOutputsAndSources(t *testing.T) {
	dir := t.TempDir()
	kept, changed, added := filepath.Join(dir, "kept"), filepath.Join(dir, "changed"), filepath.Join(dir, "added")
	src := "metrics: {listen: ''}\nsources: [{type: collector, listen: ['udp://127.0.0.1:0'], sockets: 1}]\n"
	r := startRig(t, src+"outputs: [{ifc: 'f:"+kept+"'}, {ifc: 'f:"+changed+"'}]\n")
	dgrams := v5Datagrams(t)
	first := r.d.current.Load()
	addr := first.sources[0].(*ingest.CollectorSource).UDPAddrs()[0]
	sendTo(t, r.d, dgrams)
	r.waitSent("f:"+kept, 60)
	r.waitSent("f:"+changed, 60)

	for i := range 3 {
		// The changed output alternates its template; the other output
		// and the source stay as they are.
		tmpl := "uint32 PACKETS,uint64 BYTES"
		if i%2 == 1 {
			tmpl = "uint64 BYTES"
		}
		r.reload(src + "outputs: [{ifc: 'f:" + kept + "'}, {ifc: 'f:" + changed + "', template: '" + tmpl + "'}, {ifc: 'f:" + added + "'}]\n")
		in := r.d.current.Load()
		if in == first {
			t.Fatal("reload not applied")
		}
		if in.outputs[0] != first.outputs[0] || in.sources[0] != first.sources[0] {
			t.Fatal("the unchanged output or source was replaced")
		}
		if got := in.sources[0].(*ingest.CollectorSource).UDPAddrs()[0]; got != addr {
			t.Fatalf("collector moved from %s to %s: its socket was reopened", addr, got)
		}
		sendTo(t, r.d, dgrams)
		r.waitSent("f:"+kept, uint64(60*(i+2)))
	}
	if n := r.sent("f:" + kept); n != 240 {
		t.Errorf("kept output's counter is %d, want 240 (it must go on across reloads)", n)
	}
	r.stop()
	if n := readTrapcap(t, kept); n != 240 {
		t.Errorf("kept output holds %d records, want 240", n)
	}
	if n := readTrapcap(t, added); n != 180 {
		t.Errorf("added output holds %d records, want 180", n)
	}
}

// A reload that cannot be applied (the new output's port is taken) leaves
// every output as it was: nothing truncated, nothing restarted.
func TestReloadRejectedLeavesOutputsUntouched(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	busy := freeTCP(t)
	l, err := net.Listen("tcp", busy)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := strings.Cut(busy, ":")
	src := "metrics: {listen: ''}\nsources: [{type: collector, listen: ['udp://127.0.0.1:0'], sockets: 1}]\n"
	r := startRig(t, src+"outputs: [{ifc: 'f:"+out+"'}]\n")
	first := r.d.current.Load()
	sendTo(t, r.d, v5Datagrams(t))
	r.waitSent("f:"+out, 60)
	r.write(src + "outputs: [{ifc: 'f:" + out + "'}, {ifc: 't:" + port + "'}]\n")
	r.sigs <- syscall.SIGHUP
	sendTo(t, r.d, v5Datagrams(t))
	r.waitSent("f:"+out, 120)
	if r.d.current.Load() != first {
		t.Error("a configuration that failed to open replaced the running one")
	}
	r.stop()
	if n := readTrapcap(t, out); n != 120 {
		t.Errorf("%d records, want 120: the output was restarted or truncated", n)
	}
}

// Records on a u: output the reload keeps all reach a connected reader:
// no reconnect, no lost buffer.
func TestReloadKeepsUnixOutputStream(t *testing.T) {
	sock := t.TempDir()
	src := "metrics: {listen: ''}\nsocket_dir: '" + sock + "'\nsources: [{type: collector, listen: ['udp://127.0.0.1:0'], sockets: 1}]\n"
	outs := "outputs: [{ifc: 'u:reload:timeout=WAIT'}]\n"
	r := startRig(t, src+outs)
	sps, _ := trap.ParseIFCSpec("u:reload")
	in, err := trap.OpenInput(sps[0], sock, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	got := countUntilEOS(in)
	dgrams := v5Datagrams(t)
	// Wait for the reader to be connected: the first records reach it.
	sendTo(t, r.d, dgrams)
	r.waitSent("u:reload:timeout=WAIT", 60)
	for i := range 3 {
		r.reload(src + outs + "# reload " + string(rune('a'+i)) + "\nlog: {level: info}\n")
		sendTo(t, r.d, dgrams)
	}
	r.waitSent("u:reload:timeout=WAIT", 240)
	r.stop()
	select {
	case n := <-got:
		if n != 240 {
			t.Errorf("reader got %d of 240 records", n)
		}
	case <-time.After(testutil.WaitTimeout):
		t.Fatal("reader did not see the end of the stream")
	}
}

// A second daemon on the same u: output fails at start naming the socket,
// and the first one keeps its socket file (case 4 of issue 11).
func TestSecondDaemonRefusesALiveSocket(t *testing.T) {
	sock := t.TempDir()
	yaml := "metrics: {listen: ''}\nsocket_dir: '" + sock + "'\nsources: [{type: collector, listen: ['udp://127.0.0.1:0'], sockets: 1}]\noutputs: [{ifc: 'u:dup'}]\n"
	r := startRig(t, yaml)
	second := filepath.Join(t.TempDir(), "second.yaml")
	os.WriteFile(second, []byte(yaml), 0o644)
	var stderr strings.Builder
	code := run(context.Background(), []string{"-c", second}, &stderr)
	path := filepath.Join(sock, "trap-dup.sock")
	if code == 0 || !strings.Contains(stderr.String(), path) {
		t.Errorf("second daemon: exit %d, stderr %q; want a failure naming %s", code, stderr.String(), path)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the first daemon's socket is gone: %v", err)
	}
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("the first daemon is unreachable: %v", err)
	}
	c.Close()
	r.stop()
}

// A state_file whose directory cannot be made fails at start, naming the
// key, instead of at the first save.
func TestStateFileDirectoryCheckedAtStart(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	os.WriteFile(blocker, nil, 0o644)
	cfgFile := filepath.Join(dir, "flowgate.yaml")
	os.WriteFile(cfgFile, []byte("metrics: {listen: ''}\nsources: [{type: collector, listen: ['udp://127.0.0.1:0'], state_file: '"+
		filepath.Join(blocker, "sub", "state")+"'}]\noutputs: [{ifc: 'b:'}]\n"), 0o644)
	var stderr strings.Builder
	code := run(context.Background(), []string{"-c", cfgFile}, &stderr)
	if code == 0 || !strings.Contains(stderr.String(), "state_file") || !strings.Contains(stderr.String(), blocker) {
		t.Errorf("exit %d, stderr %q: want a start failure naming state_file and the path", code, stderr.String())
	}
}

// -h names what an operator needs beyond the flags; -h trap prints the
// IFC_SPEC help, as NEMEA modules do.
func TestHelpTexts(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"-h"}, []string{"FLOWGATE_", "TRAP_SOCKET_DIR", "--metrics ADDR", "/metrics", "SIGHUP", "-h trap", "sflow://HOST:PORT (port 6343 when omitted"}},
		{[]string{"-h", "trap"}, []string{"IFC_SPEC", "u:", "autoflush"}},
	} {
		var stderr strings.Builder
		if code := run(context.Background(), tc.args, &stderr); code != 0 {
			t.Errorf("%v: exit %d", tc.args, code)
		}
		for _, w := range tc.want {
			if !strings.Contains(stderr.String(), w) {
				t.Errorf("%v: output lacks %q", tc.args, w)
			}
		}
	}
}

// A socket directory that cannot be made says how to choose another.
func TestSocketDirectoryErrorHints(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	os.WriteFile(blocker, nil, 0o644)
	cfgFile := filepath.Join(dir, "flowgate.yaml")
	os.WriteFile(cfgFile, []byte("metrics: {listen: ''}\nsocket_dir: '"+filepath.Join(blocker, "sock")+"'\nsources: [{type: collector, listen: ['udp://127.0.0.1:0']}]\noutputs: [{ifc: 'u:x'}]\n"), 0o644)
	var stderr strings.Builder
	code := run(context.Background(), []string{"-c", cfgFile}, &stderr)
	if code == 0 || !strings.Contains(stderr.String(), "TRAP_SOCKET_DIR") || !strings.Contains(stderr.String(), "socket_dir") {
		t.Errorf("exit %d, stderr %q: want a hint naming TRAP_SOCKET_DIR and socket_dir", code, stderr.String())
	}
}

// A consumer that stops reading a WAIT output holds the daemon back and,
// once it has gone, the output waits for the next one (WAIT means that,
// as in libtrap): datagrams the kernel drops meanwhile are counted, the
// next consumer gets the stream going again, every decoded record reaches
// the other output and SIGTERM ends the daemon cleanly.
func TestWaitOutputConsumerStallsThenLeaves(t *testing.T) {
	sock := t.TempDir()
	out := filepath.Join(t.TempDir(), "other")
	r := startRig(t, "metrics: {listen: ''}\nsocket_dir: '"+sock+"'\nsources: [{type: collector, listen: ['udp://127.0.0.1:0'], sockets: 1}]\n"+
		"outputs: [{ifc: 'u:stall:timeout=WAIT'}, {ifc: 'f:"+out+"'}]\n")
	sps, _ := trap.ParseIFCSpec("u:stall")
	in, err := trap.OpenInput(sps[0], sock, nil)
	if err != nil {
		t.Fatal(err)
	}
	dgrams := v5Datagrams(t)
	sendTo(t, r.d, dgrams)
	if _, _, err := in.Recv(context.Background()); err != nil { // connected and negotiated
		t.Fatal(err)
	}
	// The consumer stops reading while a lot arrives, then goes away.
	var burst [][]byte
	for range 150 {
		burst = append(burst, dgrams...)
	}
	sendTo(t, r.d, burst)
	time.Sleep(300 * time.Millisecond)
	in.Close()
	sendTo(t, r.d, dgrams)
	// The next consumer reads everything to the end of the stream.
	next, err := trap.OpenInput(sps[0], sock, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer next.Close()
	got := countUntilEOS(next)
	// Drops are reported with the next datagram read (SO_RXQ_OVFL): once
	// the daemon has emptied its socket, a last few datagrams fit and
	// carry the count.
	src := r.d.current.Load().sources[0].(*ingest.CollectorSource)
	port := int(src.UDPAddrs()[0].Port())
	testutil.WaitFor(t, "the daemon to empty its socket", func() bool {
		socks, err := testutil.UDPSockets(port)
		return err == nil && len(socks) == 1 && socks[0].RxQueue == 0
	})
	sendTo(t, r.d, dgrams)
	sent := uint64(len(dgrams) * 153)
	if !testutil.Eventually(testutil.WaitTimeout, func() bool { return src.Totals().Packets.Load()+src.SocketDrops() >= sent }) {
		t.Fatalf("%d datagrams decoded, %d dropped by the kernel, of %d sent", src.Totals().Packets.Load(), src.SocketDrops(), sent)
	}
	decoded := src.Totals().Records.Load()
	r.waitSent("f:"+out, decoded)
	r.stop()
	if n := readTrapcap(t, out); uint64(n) != decoded {
		t.Errorf("other output holds %d records, %d were decoded", n, decoded)
	}
	select {
	case n := <-got:
		if n == 0 {
			t.Error("the next consumer got nothing")
		}
	case <-time.After(testutil.WaitTimeout):
		t.Fatal("the next consumer saw no end of stream")
	}
}

// The shutdown log carries every counter of records delivered, dropped
// or lost, per output and per collector.
func TestShutdownLogCountsEveryLoss(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	core, logs := observer.New(zap.InfoLevel)
	r := startRigLog(t, "metrics: {listen: ''}\nsources: [{type: collector, listen: ['udp://127.0.0.1:0'], sockets: 1}]\noutputs: [{ifc: 'f:"+out+"'}]\n", zap.New(core))
	sendTo(t, r.d, v5Datagrams(t))
	r.waitSent("f:"+out, 60)
	r.stop()
	for msg, keys := range map[string][]string{
		"output stopped": {"records", "dropped", "ifc_dropped"},
		"source stopped": {"socket_drops", "read_errors", "decode_errors", "missing_template_drops", "exporters_refused", "records"},
	} {
		e := logs.FilterMessage(msg).All()
		if len(e) != 1 {
			t.Errorf("%d %q entries, want 1", len(e), msg)
			continue
		}
		for _, k := range keys {
			if _, ok := e[0].ContextMap()[k]; !ok {
				t.Errorf("%q lacks %s: %v", msg, k, e[0].ContextMap())
			}
		}
	}
}

// Stopping with no reader on a u: or t: output counts the records no
// client got as dropped, and only them: the end-of-stream message the
// daemon sends at the end is not a record.
func TestShutdownWithoutReaderCountsOnlyRecordsAsDropped(t *testing.T) {
	for _, tc := range []struct {
		name string
		send bool
	}{{"no records", false}, {"60 records", true}} {
		t.Run(tc.name, func(t *testing.T) {
			core, logs := observer.New(zap.InfoLevel)
			r := startRigLog(t, "metrics: {listen: ''}\nsocket_dir: '"+t.TempDir()+"'\n"+
				"sources: [{type: collector, listen: ['udp://127.0.0.1:0'], sockets: 1}]\n"+
				"outputs: [{ifc: 'u:noreader:timeout=NO_WAIT'}, {ifc: 't:0:timeout=NO_WAIT'}]\n", zap.New(core))
			want := uint64(0)
			if tc.send {
				want = 60
				sendTo(t, r.d, v5Datagrams(t))
				r.waitSent("u:noreader:timeout=NO_WAIT", want)
				r.waitSent("t:0:timeout=NO_WAIT", want)
			}
			r.stop()
			e := logs.FilterMessage("output stopped").All()
			if len(e) != 2 {
				t.Fatalf("%d \"output stopped\" entries, want 2", len(e))
			}
			for _, l := range e {
				m := l.ContextMap()
				if m["records"] != want || m["ifc_dropped"] != want {
					t.Errorf("%v: %v records, %v dropped by the interface; want %d and %d (the end of stream is no record)", m["output"], m["records"], m["ifc_dropped"], want, want)
				}
			}
		})
	}
}
