// Package dettest runs the golden detector scenarios of
// shared/testdata/detectors against a Go detector module in tests.
package dettest

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowgate/flowgate/internal/testutil"
	"github.com/flowgate/flowgate/internal/testutil/trapcap"
)

// RunFunc is a module's run: argv (program name first), streams, exit code.
type RunFunc func(ctx context.Context, args []string, stdout, stderr io.Writer) int

// Scenario is one golden scenario: S.trapcap in, S.logger.txt expected.
type Scenario struct {
	Name   string
	Dir    string
	Params []string // the module's own options from S.cmd
}

// Scenarios lists the scenarios of shared/testdata/detectors/<module>.
func Scenarios(t *testing.T, module string) []Scenario {
	t.Helper()
	dir := testutil.SharedTestdata(t, filepath.Join("detectors", module))
	cmds, err := filepath.Glob(filepath.Join(dir, "*.cmd"))
	if err != nil || len(cmds) == 0 {
		t.Fatalf("no scenarios in %s (%v)", dir, err)
	}
	var out []Scenario
	for _, c := range cmds {
		b, err := os.ReadFile(c)
		if err != nil {
			t.Fatal(err)
		}
		s := Scenario{Name: strings.TrimSuffix(filepath.Base(c), ".cmd"), Dir: dir}
		found := false
		for _, line := range strings.Split(string(b), "\n") {
			w := strings.Fields(line)
			if len(w) == 0 || w[0] != module {
				continue
			}
			found = true
			for i := 1; i < len(w); i++ {
				if w[i] == "-i" {
					i++
					continue
				}
				s.Params = append(s.Params, w[i])
			}
		}
		if !found {
			t.Fatalf("%s: no %s command line", c, module)
		}
		out = append(out, s)
	}
	return out
}

// Run runs the module on the scenario's input with its parameters plus
// extra, writes the alerts to a file IFC in a temp dir, and returns the
// exit code, stderr and the output as logger -t prints it.
func (s Scenario) Run(t *testing.T, run RunFunc, module string, extra ...string) (code int, stderr, text string) {
	t.Helper()
	t.Setenv("TRAP_SOCKET_DIR", t.TempDir())
	out := filepath.Join(t.TempDir(), s.Name+".out.trapcap")
	args := []string{module, "-i", "f:" + filepath.Join(s.Dir, s.Name+".trapcap") + ",f:" + out}
	args = append(append(args, s.Params...), extra...)
	var so, se bytes.Buffer
	code = run(context.Background(), args, &so, &se)
	if _, err := os.Stat(out); err != nil {
		return code, se.String(), ""
	}
	return code, se.String(), LoggerText(t, out)
}

// RunCapture runs the module on the scenario like Run and returns its
// output as read back, failing the test on a nonzero exit.
func (s Scenario) RunCapture(t *testing.T, run RunFunc, module string, extra ...string) trapcap.Capture {
	t.Helper()
	t.Setenv("TRAP_SOCKET_DIR", t.TempDir())
	out := filepath.Join(t.TempDir(), s.Name+".out.trapcap")
	args := []string{module, "-i", "f:" + filepath.Join(s.Dir, s.Name+".trapcap") + ",f:" + out}
	var so, se bytes.Buffer
	if code := run(context.Background(), append(append(args, s.Params...), extra...), &so, &se); code != 0 {
		t.Fatalf("exit %d: %s", code, se.String())
	}
	return trapcap.Read(t, out)
}

// LoggerText renders a trapcap as logger -t does: the template, then one
// line per record.
func LoggerText(t testing.TB, path string) string {
	t.Helper()
	c := trapcap.Read(t, path)
	if c.Tmpl == nil {
		return ""
	}
	b := c.Tmpl.AppendHeader(nil, ',')
	b = append(b, '\n')
	for _, r := range c.Records {
		b = append(r.AppendText(b, ','), '\n')
	}
	return string(b)
}

// Expected returns the scenario's S.logger.txt.
func (s Scenario) Expected(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.Dir, s.Name+".logger.txt"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Check runs every scenario of module and compares with the C output.
func Check(t *testing.T, run RunFunc, module string, extra ...string) {
	for _, s := range Scenarios(t, module) {
		t.Run(s.Name, func(t *testing.T) {
			code, stderr, got := s.Run(t, run, module, extra...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if want := s.Expected(t); got != want {
				t.Fatalf("output differs from the C detector's\n--- got\n%s--- want\n%s", got, want)
			}
		})
	}
}

// CheckMissingField runs module on the input of another module's golden
// scenario (from's scenario name, or its first with name ""), with params
// instead of the scenario's, and expects it to fail at negotiation with
// stderr naming the field it lacks (e.g. "uint64 BYTES").
func CheckMissingField(t *testing.T, run RunFunc, module, from, name, field string, params ...string) {
	t.Helper()
	for _, s := range Scenarios(t, from) {
		if name != "" && s.Name != name {
			continue
		}
		s.Params = params
		code, stderr, _ := s.Run(t, run, module)
		if code == 0 || !strings.Contains(stderr, field) {
			t.Fatalf("%s on %s/%s: exit %d, stderr %q; want a failure naming %s", module, from, s.Name, code, stderr, field)
		}
		return
	}
	t.Fatalf("%s scenario %s not found", from, name)
}
