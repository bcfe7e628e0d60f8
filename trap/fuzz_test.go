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

	"go.uber.org/zap"
)

// goldenSeeds returns the named golden files that exist (no skip: fuzz
// targets keep their synthetic seeds without golden data).
func goldenSeeds(names ...string) [][]byte {
	dir, err := os.Getwd()
	if err != nil {
		return nil
	}
	for {
		cand := filepath.Join(dir, "shared", "testdata", "trap")
		if st, err := os.Stat(cand); err == nil && st.IsDir() {
			var out [][]byte
			for _, n := range names {
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

var trapcapNames = []string{"basic_flows.trapcap", "basic_flows_bufoff.trapcap", "strings.trapcap", "arrays.trapcap"}

func FuzzParseIFCSpec(f *testing.F) {
	for _, s := range []string{
		"u:sock", "t:localhost:7600,u:out:timeout=NO_WAIT:buffer=off", "f:~/a*.trapcap",
		"f:out.trapcap:a:time=5:size=10:autoflush=off", "T:host:1:k:c:ca", "b:", "b", "t:1:max_clients=3:buffer_count=9",
		"u:x:timeout=HALF_WAIT:autoflush=500000", ",", "z:", "u:a:buffer=maybe", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sps, err := ParseIFCSpec(s)
		if err != nil {
			if !errors.Is(err, ErrBadParams) {
				t.Fatalf("%q: error %v is not ErrBadParams", s, err)
			}
			return
		}
		if len(sps) != strings.Count(s, ",")+1 {
			t.Fatalf("%q: %d IFCs for %d commas", s, len(sps), strings.Count(s, ","))
		}
		for _, sp := range sps {
			if !strings.ContainsRune("tTufbg", rune(sp.Kind)) || sp.Raw == "" || sp.Raw[0] != sp.Kind {
				t.Fatalf("%q: bad IFC %+v", s, sp)
			}
			parseSocketOptions(sp.Params) // must not panic
		}
	})
}

func FuzzReadHello(f *testing.F) {
	for _, b := range goldenSeeds(append(trapcapNames, "output_fmt_unknown.server_to_client.bin", "fmtchange_first_conn.server_to_client.bin")...) {
		f.Add(b[:min(len(b), 300)])
	}
	f.Add(AppendHello(nil, Hello{Format: FormatJSON, Spec: "x"}))
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{2, 0, 0, 0, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ReadHello(bytes.NewReader(b))
		if err != nil {
			return
		}
		if h.Format != FormatUniRec && h.Format != FormatJSON {
			return
		}
		again, err := ReadHello(bytes.NewReader(AppendHello(nil, h)))
		if err != nil || again != h {
			t.Fatalf("round trip of %+v: %+v, %v", h, again, err)
		}
	})
}

func FuzzNextMessage(f *testing.F) {
	for _, b := range goldenSeeds(trapcapNames...) {
		if len(b) > 8+149+4 {
			f.Add(b[8+149+4:])
		}
	}
	f.Add([]byte{0, 1, 0})
	f.Add([]byte{0, 5, 1})
	f.Add([]byte{7})
	f.Fuzz(func(t *testing.T, payload []byte) {
		var re []byte
		rest := payload
		for {
			msg, r, err := NextMessage(rest)
			if err != nil {
				if len(rest) == 0 && !errors.Is(err, io.EOF) {
					t.Fatalf("empty rest gave %v", err)
				}
				break
			}
			if len(r) >= len(rest) {
				t.Fatal("no progress")
			}
			re = AppendMessage(re, msg)
			rest = r
		}
		if !bytes.Equal(re, payload[:len(payload)-len(rest)]) {
			t.Fatal("re-encoded messages differ from the consumed bytes")
		}
	})
}

func FuzzFileInput(f *testing.F) {
	for _, b := range goldenSeeds(trapcapNames...) {
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Add([]byte{})
	f.Add(AppendHello(nil, Hello{Format: FormatRaw}))
	f.Add(append(AppendHello(nil, Hello{Format: FormatRaw}), 0, 0, 0, 5, 0, 3, 1))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "f.trapcap")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		sp := IfcSpec{Kind: KindFile, Raw: "f:" + path, Params: []string{path}, Timeout: Wait}
		ifc, err := newFileInput(sp, env{log: zap.NewNop()})
		if err != nil {
			t.Fatal(err)
		}
		in := newInput(ifc, sp)
		in.SetRequiredFormat(FormatUniRec, "")
		total := 0
		for i := 0; ; i++ {
			if i > len(data)+10 {
				t.Fatal("input does not terminate")
			}
			m, _, err := in.Recv(context.Background())
			if errors.Is(err, ErrTerminated) {
				break
			}
			total += len(m)
		}
		if total > len(data) {
			t.Fatalf("read %d message bytes from a %d-byte file", total, len(data))
		}
	})
}

func FuzzGetopt(f *testing.F) {
	for _, s := range []string{"-tc 5", "--cut=7 --write x", "-c", "a -- -x", "--title=1", "-", "--", "-Tt -w"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		args := strings.Split(s, " ")
		opts, pos, err := loggerModule.Getopt(args)
		if err != nil {
			if !errors.Is(err, ErrBadParams) {
				t.Fatalf("%q: %v is not ErrBadParams", s, err)
			}
			return
		}
		if len(opts)+len(pos) > len(s)+1 {
			t.Fatalf("%q: %d options and %d words from %d bytes", s, len(opts), len(pos), len(s))
		}
		if _, err := parseCommonArgs(args); err != nil && !errors.Is(err, ErrBadParams) {
			t.Fatalf("%q: common args: %v", s, err)
		}
	})
}
