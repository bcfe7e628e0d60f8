package trap

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/flowgate/flowgate/internal/testutil"
)

// serviceRequest is the statistics request; service_request.bin holds the
// same 8 bytes when the golden file is present.
var serviceRequest = []byte{10, 0, 0, 0, 0, 0, 0, 0}

func shortTempDir(t *testing.T) string { return testutil.ShortDir(t) }

// askService sends req and reads one reply: it returns the JSON body
// without its NUL.
func askService(t *testing.T, conn net.Conn, req []byte) []byte {
	t.Helper()
	conn.SetDeadline(time.Now().Add(testutil.WaitTimeout))
	if _, err := conn.Write(req); err != nil {
		t.Fatal(err)
	}
	var hdr [8]byte
	if _, err := io.ReadFull(conn, hdr[:]); err != nil {
		t.Fatal(err)
	}
	if hdr[0] != serviceOKReply {
		t.Fatalf("reply command %d, want 12", hdr[0])
	}
	body := make([]byte, binary.LittleEndian.Uint32(hdr[4:]))
	if _, err := io.ReadFull(conn, body); err != nil {
		t.Fatal(err)
	}
	if len(body) == 0 || body[len(body)-1] != 0 || bytes.IndexByte(body, 0) != len(body)-1 {
		t.Fatalf("body is not NUL-terminated JSON: %q", body)
	}
	return body[:len(body)-1]
}

func TestServiceIFCAnswersStatistics(t *testing.T) {
	dir := shortTempDir(t)
	req := serviceRequest
	if b, err := os.ReadFile(filepath.Join(goldenDir(t), "service_request.bin")); err == nil {
		req = b
	}
	golden := filepath.Join(goldenDir(t), "basic_flows.trapcap")
	mod := Module{Name: "svc", Inputs: 1, Outputs: 1}
	c, _, err := Init(context.Background(), mod, []string{"svc", "-i", "f:" + golden + ",b:"}, WithSocketDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Finalize(context.Background())
	in := c.Input(0)
	in.SetRequiredFormat(FormatUniRec, "")
	for i := 0; i < 3; i++ {
		if _, _, err := in.Recv(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	out := c.Output(0)
	out.SetDataFormat(FormatRaw, "")
	out.Send(context.Background(), []byte("x"))

	path := ServiceSocketPath(dir, os.Getpid())
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o666 {
		t.Fatalf("service socket %s: %v %v", path, st, err)
	}
	conn, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// The first Recv had nothing before it; the time outside Recv is
	// measured from the second transport read on.
	delayLast := float64(in.delay.lastUS.Load())
	want := map[string]any{
		"in_cnt": 1.0, "out_cnt": 1.0,
		"in": []any{map[string]any{"ifc_state": 1.0, "ifc_id": golden, "ifc_type": 102.0,
			"messages": 3.0, "buffers": 1.0, "delay_last": delayLast, "delay_total": 0.0}},
		// libtrap: a blackhole has the id "none", one client and no client entries.
		"out": []any{map[string]any{"ifc_id": "none", "ifc_type": 98.0, "num_clients": 1.0,
			"sent-messages": 1.0, "dropped-messages": 0.0, "buffers": 0.0, "autoflushes": 0.0,
			"client_stats_arr": []any{}}},
	}
	// Several requests on one connection.
	for i := 0; i < 2; i++ {
		var got map[string]any
		if err := json.Unmarshal(askService(t, conn, req), &got); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("request %d: got %v\nwant %v", i, got, want)
		}
	}
	// Any other command closes the connection.
	conn.Write([]byte{11, 0, 0, 0, 0, 0, 0, 0})
	conn.SetReadDeadline(time.Now().Add(testutil.WaitTimeout))
	if n, err := conn.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("after command 11: read %d, %v; want EOF", n, err)
	}
	if err := c.Finalize(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("service socket left behind: %v", err)
	}
}

// keyPaths lists every object key path in a parsed JSON value.
func keyPaths(prefix string, v any, out *[]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			*out = append(*out, prefix+"/"+k)
			keyPaths(prefix+"/"+k, e, out)
		}
	case []any:
		if len(x) > 0 {
			keyPaths(prefix+"[]", x[0], out)
		}
	}
}

// TestServiceReplyHasGoldenShape compares the keys of our reply for a
// module with one output with libtrap's captured reply.
func TestServiceReplyHasGoldenShape(t *testing.T) {
	raw := readGolden(t, "service_reply.bin")
	if len(raw) < 8 || raw[0] != serviceOKReply || int(binary.LittleEndian.Uint32(raw[4:])) != len(raw)-8 || raw[len(raw)-1] != 0 {
		t.Fatalf("golden reply framing unexpected: % x", raw[:min(8, len(raw))])
	}
	var golden map[string]any
	if err := json.Unmarshal(raw[8:len(raw)-1], &golden); err != nil {
		t.Fatal(err)
	}
	c := &Context{outputs: []*Output{newOutput(newBlackholeOutput(IfcSpec{}), IfcSpec{Raw: "b:"})}}
	body, err := c.statsJSON()
	if err != nil {
		t.Fatal(err)
	}
	if framed := serviceReply(body); !bytes.Equal(framed[:4], raw[:4]) {
		t.Errorf("header % x, want % x", framed[:4], raw[:4])
	}
	var ours map[string]any
	if err := json.Unmarshal(body, &ours); err != nil {
		t.Fatal(err)
	}
	var a, b []string
	keyPaths("", golden, &a)
	keyPaths("", ours, &b)
	sort.Strings(a)
	sort.Strings(b)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("keys differ:\n got %v\nwant %v", b, a)
	}
}

// TestServicePartialRequestIsDropped: a client that sends part of a header
// is disconnected after about 200 ms, as libtrap does, while an idle
// client between requests is kept.
func TestServicePartialRequestIsDropped(t *testing.T) {
	dir := shortTempDir(t)
	c, _, err := Init(context.Background(), Module{Name: "svc", Outputs: 1}, []string{"svc", "-i", "b:"}, WithSocketDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Finalize(context.Background())
	path := ServiceSocketPath(dir, os.Getpid())
	idle, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	partial, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer partial.Close()
	partial.Write([]byte{10, 0, 0, 0, 0})
	// A connection held for good shows as the read deadline passing.
	partial.SetReadDeadline(time.Now().Add(testutil.WaitTimeout))
	if n, err := partial.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("partial header: read %d, %v; want EOF", n, err)
	}
	time.Sleep(300 * time.Millisecond) // longer than the request timeout
	askService(t, idle, serviceRequest)
}

// TestServiceSocketOutputClients: a UNIX output reports the process-wide
// input summary first, then each client with an integer id (the peer PID).
func TestServiceSocketOutputClients(t *testing.T) {
	dir := shortTempDir(t)
	c, _, err := Init(context.Background(), Module{Name: "svc", Outputs: 2}, []string{"svc", "-i", "u:svcclients,f:" + filepath.Join(dir, "out.trapcap")}, WithSocketDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Finalize(context.Background())
	out := c.Output(0)
	out.SetDataFormat(FormatRaw, "")
	sps, _ := ParseIFCSpec("u:svcclients")
	in, err := OpenInput(sps[0], dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	in.SetRequiredFormat(FormatRaw, "")
	got := make(chan error, 1)
	go func() {
		_, _, err := in.Recv(context.Background())
		got <- err
	}()
	deadline := time.Now().Add(5 * time.Second)
	for out.Stats().Clients == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	out.Send(context.Background(), []byte("hello"))
	out.Flush(context.Background())
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	var st struct {
		Out []struct {
			ID      string           `json:"ifc_id"`
			Clients int              `json:"num_clients"`
			Stats   []map[string]any `json:"client_stats_arr"`
		} `json:"out"`
	}
	// The output counts a message once its write returned, which may be
	// after the reader has it.
	for deadline := time.Now().Add(5 * time.Second); ; {
		body, err := c.statsJSON()
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(body, &st); err != nil {
			t.Fatal(err)
		}
		if s := st.Out[0].Stats; len(s) == 2 && s[1]["sent_messages"] == "1" || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	u, f := st.Out[0], st.Out[1]
	if len(u.Stats) != 2 || u.Stats[0]["id"] != "extended_input_interface_info" {
		t.Fatalf("unix output client_stats_arr %v", u.Stats)
	}
	if id, ok := u.Stats[1]["id"].(float64); !ok || int(id) != os.Getpid() {
		t.Errorf("client id %#v, want the integer peer PID %d", u.Stats[1]["id"], os.Getpid())
	}
	if u.Stats[1]["sent_messages"] != "1" {
		t.Errorf("client sent_messages %#v, want the string \"1\"", u.Stats[1]["sent_messages"])
	}
	if f.Clients != 1 || len(f.Stats) != 0 {
		t.Errorf("file output: num_clients %d, client_stats_arr %v; want 1 and []", f.Clients, f.Stats)
	}
}

// TestRecvDelay: the time spent outside Recv between transport reads.
func TestRecvDelay(t *testing.T) {
	var d recvDelay
	d.enter() // first call: nothing before it
	d.leave()
	if d.lastUS.Load() != 0 {
		t.Fatal("delay before the first receive")
	}
	time.Sleep(20 * time.Millisecond)
	d.enter()
	d.leave()
	if us := d.lastUS.Load(); us < 20000 || us > 5000000 {
		t.Errorf("delay_last %d µs after a 20 ms pause", us)
	}
	if d.totalNS.Load() < uint64(20*time.Millisecond) {
		t.Errorf("delay total %d ns", d.totalNS.Load())
	}
}
