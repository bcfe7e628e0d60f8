package trap

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
)

var goldenTrapcaps = []struct {
	name   string
	buffer string // IFC_SPEC suffix
}{
	{"basic_flows.trapcap", ""},
	{"strings.trapcap", ""},
	{"arrays.trapcap", ""},
	{"basic_flows_bufoff.trapcap", ":buffer=off"},
}

func mustOutput(t testing.TB, spec string, now func() time.Time) *fileOutput {
	t.Helper()
	sps, err := ParseIFCSpec(spec)
	if err != nil {
		t.Fatal(err)
	}
	if now == nil {
		now = time.Now
	}
	o, err := newFileOutputClock(sps[0], env{log: zap.NewNop()}, now)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func mustInput(t testing.TB, spec string) *Input {
	t.Helper()
	sps, err := ParseIFCSpec(spec)
	if err != nil {
		t.Fatal(err)
	}
	ifc, err := newFileInput(sps[0], env{log: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	in := newInput(ifc, sps[0])
	in.SetRequiredFormat(FormatUniRec, "")
	return in
}

func TestFileOutputReproducesGoldenTrapcaps(t *testing.T) {
	for _, g := range goldenTrapcaps {
		t.Run(g.name, func(t *testing.T) {
			want := readGolden(t, g.name)
			h, bufs := splitTrapcap(t, want)
			path := filepath.Join(t.TempDir(), "out.trapcap")
			o := mustOutput(t, "f:"+path+g.buffer, nil)
			if err := o.setFormat(h); err != nil {
				t.Fatal(err)
			}
			for _, b := range bufs {
				for _, m := range b {
					if err := o.send(context.Background(), m); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := o.close(context.Background()); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("output differs from golden %s: %d vs %d bytes", g.name, len(got), len(want))
			}
		})
	}
}

// readAll receives until the zero-length end message and checks the
// terminal error after it.
func readAll(t *testing.T, in *Input) (msgs [][]byte, changed int) {
	t.Helper()
	for {
		m, fc, err := in.Recv(context.Background())
		if err != nil {
			t.Fatalf("after %d messages: %v", len(msgs), err)
		}
		if fc {
			changed++
		}
		if len(m) == 0 {
			break
		}
		msgs = append(msgs, append([]byte(nil), m...))
	}
	_, _, err := in.Recv(context.Background())
	if !errors.Is(err, ErrTerminated) || !errors.Is(err, io.EOF) {
		t.Fatalf("recv after end: %v, want ErrTerminated wrapping io.EOF", err)
	}
	return msgs, changed
}

func TestFileInputReadsGoldenTrapcaps(t *testing.T) {
	for _, g := range goldenTrapcaps {
		t.Run(g.name, func(t *testing.T) {
			raw := readGolden(t, g.name)
			h, bufs := splitTrapcap(t, raw)
			in := mustInput(t, "f:"+filepath.Join(goldenDir(t), g.name))
			msgs, changed := readAll(t, in)
			var want [][]byte
			for _, b := range bufs {
				want = append(want, b...)
			}
			if len(msgs) != len(want) {
				t.Fatalf("got %d messages, want %d", len(msgs), len(want))
			}
			for i := range want {
				if !bytes.Equal(msgs[i], want[i]) {
					t.Fatalf("message %d differs", i)
				}
			}
			if !IsEOS(msgs[len(msgs)-1]) {
				t.Error("golden file's last message is not the EOS message")
			}
			if changed != 1 {
				t.Errorf("format changed reported %d times, want 1", changed)
			}
			if f, s := in.DataFormat(); f != h.Format || s != h.Spec {
				t.Errorf("negotiated %v %q, want %v %q", f, s, h.Format, h.Spec)
			}
			if st := in.Stats(); st.Kind != KindFile || st.Buffers != uint64(len(bufs)) {
				t.Errorf("stats %+v, want %d buffers", st, len(bufs))
			}
		})
	}
}

func TestFileInputReadsSeveralFilesRenegotiatingEach(t *testing.T) {
	a := readGolden(t, "basic_flows.trapcap")
	b := readGolden(t, "strings.trapcap")
	dir := t.TempDir()
	for name, data := range map[string][]byte{"1.trapcap": a, "2.trapcap": b, "3.trapcap": a} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A glob and a second space-separated word.
	in := mustInput(t, "f:"+filepath.Join(dir, "[12].trapcap")+" "+filepath.Join(dir, "3.trapcap"))
	var specs []string
	var n int
	for {
		m, fc, err := in.Recv(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if fc {
			_, s := in.DataFormat()
			specs = append(specs, s)
		}
		if len(m) == 0 {
			break
		}
		n++
	}
	if n != 21+21+21 {
		t.Errorf("read %d messages, want 63", n)
	}
	hA, _ := splitTrapcap(t, a)
	hB, _ := splitTrapcap(t, b)
	// Subset on the first file, then a change on every spec switch.
	want := []string{hA.Spec, hB.Spec, hA.Spec}
	if strings.Join(specs, "|") != strings.Join(want, "|") {
		t.Errorf("format changes %q, want %q", specs, want)
	}
}

func TestFileInputTruncatedOrCorruptFiles(t *testing.T) {
	raw := readGolden(t, "basic_flows.trapcap")
	big := append([]byte(nil), raw[:8+149]...)
	big = append(big, 0x00, 0x01, 0x86, 0xa1) // P = 100001
	tests := []struct {
		name    string
		data    []byte
		wantErr string // substring of the error; "" = no error before the end
		minMsgs int
	}{
		{"cut in hello header", raw[:5], "at offset 0", 0},
		{"cut in hello spec", raw[:40], "at offset 0", 0},
		{"cut in buffer header", raw[:8+149+2], "at offset 157: truncated buffer header", 0},
		{"cut in payload: partial buffer returned", raw[:8+149+4+68*3+10], "message length runs past", 3},
		{"buffer larger than 100000", big, "exceeds 100000", 0},
		{"unknown data type", append([]byte{9}, raw[1:]...), "data type 9", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "cut.trapcap")
			if err := os.WriteFile(path, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			in := mustInput(t, "f:"+path)
			var n int
			var firstErr error
			for i := 0; i < 100; i++ {
				m, _, err := in.Recv(context.Background())
				if errors.Is(err, ErrTerminated) {
					break
				}
				if err != nil {
					if firstErr == nil {
						firstErr = err
					}
					continue
				}
				if len(m) > 0 {
					n++
				}
			}
			if firstErr == nil || !strings.Contains(firstErr.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one containing %q", firstErr, tc.wantErr)
			}
			if strings.Contains(tc.wantErr, "offset") && !strings.Contains(firstErr.Error(), path) {
				t.Errorf("error %v does not name the file", firstErr)
			}
			if n < tc.minMsgs {
				t.Errorf("got %d messages, want at least %d", n, tc.minMsgs)
			}
		})
	}
}

func TestFileInputSkipsEmptyFileAndMissingFileFails(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.trapcap")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	in := mustInput(t, "f:"+empty)
	m, _, err := in.Recv(context.Background())
	if err != nil || len(m) != 0 {
		t.Fatalf("empty file: got %q, %v; want the zero-length end message", m, err)
	}
	in = mustInput(t, "f:"+filepath.Join(dir, "missing.trapcap"))
	if _, _, err := in.Recv(context.Background()); !errors.Is(err, ErrIO) || !strings.Contains(err.Error(), "missing.trapcap") {
		t.Fatalf("missing file: %v", err)
	}
}

func TestFileOutputUnusedLeavesEmptyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "dir", "unused.trapcap")
	o := mustOutput(t, "f:"+path, nil)
	if err := o.setFormat(Hello{Format: FormatUniRec, Spec: "uint8 X"}); err != nil {
		t.Fatal(err)
	}
	if err := o.close(context.Background()); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Size() != 0 {
		t.Fatalf("stat %v, %v: want an existing zero-length file", st, err)
	}
}

func TestFileOutputRejectsTooBigMessage(t *testing.T) {
	o := mustOutput(t, "f:"+filepath.Join(t.TempDir(), "x"), nil)
	o.setFormat(Hello{Format: FormatRaw})
	if err := o.send(context.Background(), make([]byte, MaxPayload-1)); !errors.Is(err, ErrBadParams) {
		t.Fatalf("got %v, want ErrBadParams", err)
	}
	if err := o.send(context.Background(), make([]byte, MaxPayload-2)); err != nil {
		t.Fatalf("largest message: %v", err)
	}
	o.close(context.Background())
}

func TestFileOutputSplitsBuffersAt100000(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x")
	o := mustOutput(t, "f:"+path, nil)
	o.setFormat(Hello{Format: FormatRaw})
	msg := make([]byte, 998) // 1000 bytes framed: 100 per buffer
	for i := 0; i < 250; i++ {
		if err := o.send(context.Background(), msg); err != nil {
			t.Fatal(err)
		}
	}
	o.close(context.Background())
	b, _ := os.ReadFile(path)
	_, bufs := splitTrapcap(t, b)
	if len(bufs) != 3 || len(bufs[0]) != 100 || len(bufs[1]) != 100 || len(bufs[2]) != 50 {
		t.Fatalf("got %d buffers", len(bufs))
	}
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func TestFileOutputRotatesBySize(t *testing.T) {
	dir := t.TempDir()
	o := mustOutput(t, "f:"+filepath.Join(dir, "s.trapcap")+":size=1:buffer=off", nil)
	o.setFormat(Hello{Format: FormatRaw})
	msg := make([]byte, 60000)
	// 18 buffers of 60006 bytes pass 1 MiB after the 18th: the 19th opens .00001.
	for i := 0; i < 20; i++ {
		if err := o.send(context.Background(), msg); err != nil {
			t.Fatal(err)
		}
	}
	o.close(context.Background())
	got := strings.Join(listDir(t, dir), ",")
	if got != "s.trapcap.00000,s.trapcap.00001" {
		t.Fatalf("files %s", got)
	}
	for name, n := range map[string]int{"s.trapcap.00000": 18, "s.trapcap.00001": 2} {
		b, _ := os.ReadFile(filepath.Join(dir, name))
		h, bufs := splitTrapcap(t, b)
		if h.Format != FormatRaw || len(bufs) != n {
			t.Errorf("%s: format %v, %d buffers; want raw, %d", name, h.Format, len(bufs), n)
		}
	}
}

func TestFileOutputRotatesByTime(t *testing.T) {
	dir := t.TempDir()
	clock := time.Unix(1700000000, 0) // 22:13:20 UTC: rounds down to 22:10 for time=5
	now := func() time.Time { return clock }
	o := mustOutput(t, "f:"+filepath.Join(dir, "t.trapcap")+":time=5:size=1", now)
	o.setFormat(Hello{Format: FormatRaw})
	send := func() {
		if err := o.send(context.Background(), []byte("x")); err != nil {
			t.Fatal(err)
		}
		if err := o.flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	send()
	clock = clock.Add(100 * time.Second) // 22:15:00: the 5-minute slot is over
	send()
	clock = clock.Add(299 * time.Second) // 22:19:59: still the same slot
	send()
	o.close(context.Background())
	name := func(sec int64) string {
		return "t.trapcap." + time.Unix(sec, 0).Local().Format("200601021504") + ".00000"
	}
	want := name(1700000000-200) + "," + name(1700000100)
	if got := strings.Join(listDir(t, dir), ","); got != want {
		t.Fatalf("files %s, want %s", got, want)
	}
}

func TestFileOutputAppendModeNaming(t *testing.T) {
	dir := t.TempDir()
	// PATH itself does not exist: still suffixed.
	o := mustOutput(t, "f:"+filepath.Join(dir, "ap.trapcap")+":a", nil)
	o.close(context.Background())
	os.WriteFile(filepath.Join(dir, "ap.trapcap.00002"), nil, 0o644)
	o = mustOutput(t, "f:"+filepath.Join(dir, "ap.trapcap")+":a", nil) // .00001
	o.close(context.Background())
	o = mustOutput(t, "f:"+filepath.Join(dir, "ap.trapcap")+":a", nil) // skips .00002
	o.close(context.Background())
	want := "ap.trapcap.00000,ap.trapcap.00001,ap.trapcap.00002,ap.trapcap.00003"
	if got := strings.Join(listDir(t, dir), ","); got != want {
		t.Fatalf("files %s, want %s", got, want)
	}
}

func TestFileOutputFormatChange(t *testing.T) {
	first := Hello{Format: FormatUniRec, Spec: "ipaddr SRC_IP,uint16 SRC_PORT"}
	second := Hello{Format: FormatUniRec, Spec: "ipaddr SRC_IP,uint16 SRC_PORT,uint8 PROTOCOL"}
	tests := []struct {
		name  string
		mode  string
		files map[string]Hello
	}{
		{"w mode truncates the same path", "", map[string]Hello{"fc.trapcap": second}},
		{"a mode opens the next suffix", ":a", map[string]Hello{"fc.trapcap.00000": first, "fc.trapcap.00001": second}},
		{"size mode opens the next index", ":size=10", map[string]Hello{"fc.trapcap.00000": first, "fc.trapcap.00001": second}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			o := mustOutput(t, "f:"+filepath.Join(dir, "fc.trapcap")+tc.mode, nil)
			ctx := context.Background()
			o.setFormat(first)
			o.send(ctx, []byte("record one"))
			if err := o.setFormat(second); err != nil {
				t.Fatal(err)
			}
			o.send(ctx, []byte("record two"))
			if err := o.close(ctx); err != nil {
				t.Fatal(err)
			}
			if got := len(listDir(t, dir)); got != len(tc.files) {
				t.Fatalf("files %v", listDir(t, dir))
			}
			for name, h := range tc.files {
				b, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil {
					t.Fatal(err)
				}
				got, bufs := splitTrapcap(t, b)
				if got != h || len(bufs) != 1 || len(bufs[0]) != 1 {
					t.Errorf("%s: hello %+v with %d buffers", name, got, len(bufs))
				}
			}
		})
	}
}

func TestFileOutputBadParameters(t *testing.T) {
	for _, spec := range []string{"f:", "f:x:time=0", "f:x:size=abc", "f:x:bogus"} {
		sps, err := ParseIFCSpec(spec)
		if err != nil {
			continue
		}
		if _, err := newFileOutput(sps[0], env{log: zap.NewNop()}); !errors.Is(err, ErrBadParams) {
			t.Errorf("%s: got %v, want ErrBadParams", spec, err)
		}
	}
}

func TestFileOutputStdoutForcesPlainWrite(t *testing.T) {
	o := mustOutput(t, "f:/dev/stdout:a:size=1:time=5", nil)
	if !o.stdout || o.appendM || o.rotSize != 0 || o.rotTime != 0 || o.f != os.Stdout {
		t.Fatalf("stdout output: append %v size %d time %v", o.appendM, o.rotSize, o.rotTime)
	}
	if err := o.close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestFileInputStopsOnCancelledContext(t *testing.T) {
	in := mustInput(t, "f:"+filepath.Join(goldenDir(t), "basic_flows.trapcap"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := in.Recv(ctx); !errors.Is(err, ErrTerminated) {
		t.Fatalf("got %v, want ErrTerminated", err)
	}
}

func TestFileInputMismatchMovesToNextFile(t *testing.T) {
	dir := t.TempDir()
	raw := filepath.Join(dir, "1raw.trapcap")
	o := mustOutput(t, "f:"+raw, nil)
	o.setFormat(Hello{Format: FormatRaw})
	o.send(context.Background(), []byte("raw"))
	o.close(context.Background())
	if err := os.WriteFile(filepath.Join(dir, "2uni.trapcap"), readGolden(t, "basic_flows.trapcap"), 0o644); err != nil {
		t.Fatal(err)
	}
	in := mustInput(t, "f:"+filepath.Join(dir, "*.trapcap"))
	if _, _, err := in.Recv(context.Background()); !errors.Is(err, ErrFormatMismatch) {
		t.Fatalf("raw file: got %v, want ErrFormatMismatch", err)
	}
	m, fc, err := in.Recv(context.Background())
	if err != nil || !fc || len(m) != 66 {
		t.Fatalf("next file: %d bytes, changed %v, %v", len(m), fc, err)
	}
}

// f:~/... expands ~ to the home directory, as wordexp does.
func TestFileInputExpandsHome(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	if err := os.WriteFile(filepath.Join(home, "h.trapcap"), readGolden(t, "basic_flows.trapcap"), 0o644); err != nil {
		t.Fatal(err)
	}
	in := mustInput(t, "f:~/h.trapcap")
	in.SetRequiredFormat(FormatUniRec, "")
	n := 0
	for {
		m, _, err := in.Recv(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if IsEOS(m) {
			break
		}
		n++
	}
	if n != 20 {
		t.Errorf("read %d records, want the 20 of basic_flows", n)
	}
}
