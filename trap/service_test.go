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
)

// serviceRequest is the statistics request; service_request.bin holds the
// same 8 bytes when the golden file is present.
var serviceRequest = []byte{10, 0, 0, 0, 0, 0, 0, 0}

func shortTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "svc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// askService sends req and reads one reply: it returns the JSON body
// without its NUL.
func askService(t *testing.T, conn net.Conn, req []byte) []byte {
	t.Helper()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
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
	want := map[string]any{
		"in_cnt": 1.0, "out_cnt": 1.0,
		"in": []any{map[string]any{"ifc_state": 1.0, "ifc_id": golden, "ifc_type": 102.0,
			"messages": 3.0, "buffers": 1.0, "delay_last": 0.0, "delay_total": 0.0}},
		"out": []any{map[string]any{"ifc_id": "blackhole", "ifc_type": 98.0, "num_clients": 0.0,
			"sent-messages": 1.0, "dropped-messages": 0.0, "buffers": 0.0, "autoflushes": 0.0,
			"client_stats_arr": []any{map[string]any{"id": "extended_input_interface_info",
				"sent_containers": "0", "sent_messages": "0", "skipped_messages": "0", "skipped_percentage": 0.0}}}},
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
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
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
