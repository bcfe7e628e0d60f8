package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/flowgate/flowgate/internal/testutil"
)

// TestMain lets the test binary act as the logger binary: with
// LOGGER_AS_PROCESS set it runs the module on its own argv and exits.
func TestMain(m *testing.M) {
	if os.Getenv("LOGGER_AS_PROCESS") != "" {
		args := append([]string{"logger"}, os.Args[1:]...)
		os.Exit(run(context.Background(), args, os.Stdout, os.Stderr))
	}
	os.Exit(testutil.SocketDirMain(m))
}

// loggerProcess runs the logger module as a separate process, as an
// operator would, with stdin from the given file.
func loggerProcess(t *testing.T, stdin string, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), "LOGGER_AS_PROCESS=1"), env...)
	if stdin != "" {
		f, err := os.Open(stdin)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		cmd.Stdin = f
	}
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return o.String(), e.String(), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), 0
}

// The logger process reads a trapcap from /dev/stdin (f:/dev/stdin) and
// prints what the C logger printed for it.
func TestLoggerProcessReadsStdin(t *testing.T) {
	dir := testutil.SharedTestdata(t, "trap")
	want, err := os.ReadFile(filepath.Join(dir, "strings.logger.txt"))
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := loggerProcess(t, filepath.Join(dir, "strings.trapcap"), []string{"TRAP_SOCKET_DIR=" + t.TempDir()}, "-t", "-i", "f:/dev/stdin")
	if code != 0 || stdout != string(want) {
		t.Errorf("exit %d, stderr %q\n got:\n%s\nwant:\n%s", code, stderr, stdout, want)
	}
}

// LIBTRAP_OUTPUT_FORMAT=json in the environment of the logger process
// prints the C logger's module info line.
func TestLoggerProcessPrintsJSONModuleInfo(t *testing.T) {
	want, err := os.ReadFile(filepath.Join(testutil.SharedTestdata(t, "trap"), "help_logger.json"))
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := loggerProcess(t, "", []string{"LIBTRAP_OUTPUT_FORMAT=json", "PAGER="}, "-h")
	if code != 0 || stdout != string(want) {
		t.Errorf("exit %d, stderr %q\n got: %s\nwant: %s", code, stderr, stdout, want)
	}
}
