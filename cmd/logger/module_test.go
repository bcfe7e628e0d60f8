package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowgate/flowgate/internal/testutil"
	"github.com/flowgate/flowgate/trap"
	"github.com/flowgate/flowgate/unirec"
)

// shortDir is a socket directory short enough for sun_path.
func shortDir(t *testing.T) string { return testutil.ShortDir(t) }

// The module info the real logger binary prints must be the C logger's,
// byte for byte, in both forms (this catches drift of our module table).
func TestLoggerHelpMatchesC(t *testing.T) {
	dir := testutil.SharedTestdata(t, "trap")
	tests := []struct {
		name, env, golden string
		args              []string
		// The C logger was built with the configure default /tmp; ours
		// prints packaged NEMEA's /var/run/libtrap (trap-wire.md §3).
		fixDir bool
	}{
		{"LIBTRAP_OUTPUT_FORMAT=json -h", "json", "help_logger.json", []string{"-h"}, false},
		{"-h", "", "help_logger.txt", []string{"-h"}, true},
		{"-h trap", "", "help_trap.txt", []string{"-h", "trap"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("LIBTRAP_OUTPUT_FORMAT", tt.env)
			t.Setenv("PAGER", "")
			want, err := os.ReadFile(filepath.Join(dir, tt.golden))
			if err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), append([]string{"/usr/bin/logger"}, tt.args...), &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			got, wantS := stdout.String(), string(want)
			if tt.fixDir {
				// The longer directory wraps the last line differently:
				// compare that line with its white space collapsed.
				const last = "  TRAP_SOCKET_DIR"
				gi, wi := strings.LastIndex(got, last), strings.LastIndex(wantS, last)
				if gi < 0 || wi < 0 {
					t.Fatalf("no %q line", last)
				}
				gotTail := strings.Join(strings.Fields(got[gi:]), " ")
				wantTail := strings.Join(strings.Fields(strings.ReplaceAll(wantS[wi:], "/tmp", trap.DefaultSocketDir)), " ")
				if gotTail != wantTail {
					t.Errorf("last line %q, want %q", gotTail, wantTail)
				}
				got, wantS = got[:gi], wantS[:wi]
			}
			if tt.golden == "help_trap.txt" && strings.HasPrefix(got, wantS) {
				// libtrap's text byte for byte, then Flowgate's k: section.
				if rest := got[len(wantS):]; !strings.Contains(rest, "Kafka interface ('k')") {
					t.Errorf("-h trap lacks the k: section after libtrap's text:\n%s", rest)
				}
				got = wantS
			}
			if got != wantS {
				t.Errorf("differs from %s\n got:\n%s\nwant:\n%s", tt.golden, got, want)
			}
		})
	}
}

// A sender that changes its format mid-stream (as the pytrap sender of the
// golden capture did) is followed by our logger as by the C one: it
// reconnects, prints the header once and the next row in the new layout.
func TestLoggerFollowsFormatChangeMidStream(t *testing.T) {
	golden := filepath.Join(testutil.SharedTestdata(t, "trap"), "fmtchange.logger.txt")
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	dir := shortDir(t)
	t.Setenv("TRAP_SOCKET_DIR", dir)
	sp, err := trap.ParseIFCSpec("u:fmtchange:buffer=off")
	if err != nil {
		t.Fatal(err)
	}
	out, err := trap.OpenOutput(sp[0], dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	defer out.Close(ctx)

	outFile := filepath.Join(dir, "out.txt")
	done := make(chan int, 1)
	var stderr bytes.Buffer
	go func() {
		done <- run(ctx, []string{"logger", "-t", "-i", "u:fmtchange", "-w", outFile}, io.Discard, &stderr)
	}()
	send := func(spec, row string) {
		t.Helper()
		tmpl, err := unirec.ParseTemplate(spec)
		if err != nil {
			t.Fatal(err)
		}
		if err := out.SetDataFormat(trap.FormatUniRec, tmpl.Spec()); err != nil {
			t.Fatal(err)
		}
		rec := tmpl.NewRecord()
		for i, v := range strings.Split(row, ",") {
			if err := rec.SetFromString(unirec.FieldID(i), v); err != nil {
				t.Fatal(err)
			}
		}
		if err := out.Send(ctx, rec.Data); err != nil {
			t.Fatal(err)
		}
	}
	send("ipaddr SRC_IP,uint16 SRC_PORT", "10.0.0.1,1")
	send("ipaddr SRC_IP,uint16 SRC_PORT,uint8 PROTOCOL", "2001:db8::2,2,17")
	if err := out.SendEOS(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
	case <-ctx.Done():
		t.Fatal("logger did not end")
	}
	got, _ := os.ReadFile(outFile)
	if string(got) != string(want) {
		t.Errorf("got:\n%s\nwant (C logger):\n%s", got, want)
	}
}

// A running logger answers the Supervisor's statistics request on its
// service IFC with its input's counters.
func TestLoggerServiceIFCAnswersWhileRunning(t *testing.T) {
	dir := shortDir(t)
	t.Setenv("TRAP_SOCKET_DIR", dir)
	sp, err := trap.ParseIFCSpec("u:svcin")
	if err != nil {
		t.Fatal(err)
	}
	out, err := trap.OpenOutput(sp[0], dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	defer out.Close(ctx)
	tmpl, _ := unirec.ParseTemplate("uint32 PACKETS")
	if err := out.SetDataFormat(trap.FormatUniRec, tmpl.Spec()); err != nil {
		t.Fatal(err)
	}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"logger", "-i", "u:svcin", "-w", filepath.Join(dir, "o.txt")}, io.Discard, io.Discard)
	}()
	const n = 5
	rec := tmpl.NewRecord()
	for range n {
		if err := out.Send(ctx, rec.Data); err != nil {
			t.Fatal(err)
		}
	}
	out.Flush(ctx)

	var conn net.Conn
	for conn == nil {
		conn, err = net.Dial("unix", trap.ServiceSocketPath(dir, os.Getpid()))
		if ctx.Err() != nil {
			t.Fatalf("no service socket: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	defer conn.Close()
	type inStats struct {
		State    int    `json:"ifc_state"`
		ID       string `json:"ifc_id"`
		Type     int    `json:"ifc_type"`
		Messages uint64 `json:"messages"`
	}
	var st struct {
		InCnt  int       `json:"in_cnt"`
		OutCnt int       `json:"out_cnt"`
		In     []inStats `json:"in"`
	}
	for {
		conn.SetDeadline(time.Now().Add(testutil.WaitTimeout))
		if _, err := conn.Write([]byte{10, 0, 0, 0, 0, 0, 0, 0}); err != nil {
			t.Fatal(err)
		}
		var hdr [8]byte
		if _, err := io.ReadFull(conn, hdr[:]); err != nil {
			t.Fatal(err)
		}
		body := make([]byte, binary.LittleEndian.Uint32(hdr[4:]))
		if _, err := io.ReadFull(conn, body); err != nil {
			t.Fatal(err)
		}
		if hdr[0] != 12 || len(body) == 0 || body[len(body)-1] != 0 {
			t.Fatalf("reply header %v, body %q", hdr, body)
		}
		if err := json.Unmarshal(body[:len(body)-1], &st); err != nil {
			t.Fatal(err)
		}
		if len(st.In) == 1 && st.In[0].Messages == n {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("statistics never showed %d messages: %+v", n, st)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if want := (inStats{State: 1, ID: "svcin", Type: 'u', Messages: n}); st.InCnt != 1 || st.OutCnt != 0 || st.In[0] != want {
		t.Errorf("statistics %+v, want in_cnt 1, out_cnt 0, in %+v", st, want)
	}
	out.SendEOS(ctx)
	if code := <-done; code != 0 {
		t.Errorf("exit %d", code)
	}
}

// -v (and -vv, -vvv) make logger announce the end of stream on stdout, as
// the C logger does at verbosity >= 0; without it stdout holds only rows.
// TRAP's messages go to the module's stderr, more of them with each v.
func TestLoggerVerbosityAnnouncesEndOfStream(t *testing.T) {
	in := "f:" + filepath.Join(testutil.SharedTestdata(t, "trap"), "basic_flows.trapcap")
	const note = "Received ending record, terminating.\n"
	for _, tt := range []struct {
		flag     string
		announce bool
	}{{"", false}, {"-v", true}, {"-vv", true}, {"-vvv", true}} {
		t.Run("flag "+tt.flag, func(t *testing.T) {
			args := []string{"logger", "-i", in}
			if tt.flag != "" {
				args = append(args, tt.flag)
			}
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), args, &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			if got := strings.HasSuffix(stdout.String(), note); got != tt.announce {
				t.Errorf("announces end of stream: %v, want %v (stdout ends %q)", got, tt.announce, stdout.String()[max(0, stdout.Len()-60):])
			}
			// libtrap's own messages follow the same verbosity, on the
			// module's stderr: interface details from -vv on.
			if got, want := strings.Contains(stderr.String(), "file input opened"), tt.flag == "-vv" || tt.flag == "-vvv"; got != want {
				t.Errorf("stderr reports the opened file: %v, want %v (%q)", got, want, stderr.String())
			}
			if rows := strings.Count(stdout.String(), "\n"); rows != 20+btoi(tt.announce) {
				t.Errorf("%d lines, want the 20 records%s", rows, map[bool]string{true: " and the note"}[tt.announce])
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
