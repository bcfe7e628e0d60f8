package dettest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowgate/flowgate/internal/testutil"
	"github.com/flowgate/flowgate/trap"
	"github.com/flowgate/flowgate/unirec"
)

// NemeaBin returns the folder of the reference C modules: $NEMEA_BIN or
// shared/nemea-c/bin beside the repository. The test is skipped when
// neither exists.
func NemeaBin(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("NEMEA_BIN"); d != "" {
		return d
	}
	if p, ok := testutil.FindShared("."); ok {
		d := filepath.Join(filepath.Dir(p), "nemea-c", "bin")
		if _, err := os.Stat(d); err == nil {
			return d
		}
	}
	t.Skip("the C NEMEA modules (shared/nemea-c/bin or $NEMEA_BIN) are not available")
	return ""
}

// libDir returns a folder where the C modules find their libraries. The
// shared copy of nemea-c/lib has its version symlinks flattened into small
// text files holding the target's name; they are made into real symlinks
// in a temporary folder.
func libDir(t testing.TB, bin string) string {
	t.Helper()
	lib := filepath.Join(bin, "..", "lib")
	ents, err := os.ReadDir(lib)
	if err != nil {
		return lib
	}
	dir := t.TempDir()
	for _, e := range ents {
		p := filepath.Join(lib, e.Name())
		target := p
		if fi, err := os.Lstat(p); err == nil && fi.Mode().IsRegular() && fi.Size() < 128 {
			if b, err := os.ReadFile(p); err == nil {
				if name := strings.TrimSpace(string(b)); name != "" && !strings.ContainsAny(name, "/\x00") {
					target = filepath.Join(lib, name)
				}
			}
		}
		if abs, err := filepath.Abs(target); err == nil {
			target = abs
		}
		os.Symlink(target, filepath.Join(dir, e.Name()))
	}
	return dir
}

// WriteTrapcap writes records as a TRAP file IFC capture ending with the
// end-of-stream message.
func WriteTrapcap(t testing.TB, path string, recs []unirec.Record) {
	t.Helper()
	sp, err := trap.ParseIFCSpec("f:" + path)
	if err != nil {
		t.Fatal(err)
	}
	out, err := trap.OpenOutput(sp[0], "", nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := out.SetDataFormat(trap.FormatUniRec, recs[0].T.Spec()); err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := out.Send(ctx, r.Data); err != nil {
			t.Fatal(err)
		}
	}
	if err := out.SendEOS(ctx); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// outputText is LoggerText that takes an empty file (what a C detector
// that sent nothing leaves) or a capture without records as "".
func outputText(t testing.TB, path string) string {
	t.Helper()
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		return ""
	}
	if c := readCapture(t, path); len(c) == 0 {
		return ""
	}
	return LoggerText(t, path)
}

func readCapture(t testing.TB, path string) []string {
	txt := LoggerText(t, path)
	lines := bytes.Split([]byte(txt), []byte("\n"))
	var recs []string
	for _, l := range lines[1:] {
		if len(l) > 0 {
			recs = append(recs, string(l))
		}
	}
	return recs
}

// CompareWithC runs the C module (from NemeaBin) and ours on the same
// records with the same options and fails unless their outputs, as logger
// -t prints them, are equal. It returns our output.
func CompareWithC(t *testing.T, run RunFunc, module string, recs []unirec.Record, params ...string) string {
	t.Helper()
	return CompareWithCNormalized(t, run, module, recs, nil, params...)
}

// CompareWithCNormalized is CompareWithC comparing norm(output) of both
// sides (nil: the outputs), for fields the C module leaves to chance.
func CompareWithCNormalized(t *testing.T, run RunFunc, module string, recs []unirec.Record, norm func(string) string, params ...string) string {
	t.Helper()
	if norm == nil {
		norm = func(s string) string { return s }
	}
	bin := NemeaBin(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in.trapcap")
	WriteTrapcap(t, in, recs)
	cOut, goOut := filepath.Join(dir, "c.trapcap"), filepath.Join(dir, "go.trapcap")

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(bin, module), append([]string{"-i", "f:" + in + ",f:" + cOut}, params...)...)
	cmd.Env = append(os.Environ(), "TRAP_SOCKET_DIR="+t.TempDir(), "LD_LIBRARY_PATH="+libDir(t, bin))
	var cErr bytes.Buffer
	cmd.Stderr = &cErr
	if err := cmd.Run(); err != nil {
		if _, ok := err.(*exec.ExitError); !ok || ctx.Err() != nil {
			t.Fatalf("C %s: %v: %s", module, err, cErr.String())
		}
	}
	t.Setenv("TRAP_SOCKET_DIR", t.TempDir())
	var so, se bytes.Buffer
	if code := run(context.Background(), append([]string{module, "-i", "f:" + in + ",f:" + goOut}, params...), &so, &se); code != 0 {
		t.Fatalf("our %s: exit %d: %s", module, code, se.String())
	}
	want, got := norm(outputText(t, cOut)), norm(outputText(t, goOut))
	if got != want {
		t.Fatalf("%s %v: our output differs from the C module's\n--- ours\n%s--- C (stderr %q)\n%s", module, params, got, cErr.String(), want)
	}
	return got
}
