// Package nemeac runs the prebuilt reference C NEMEA modules
// (shared/nemea-c, or $NEMEA_BIN) from tests: it finds them and gives the
// environment they need, skipping the test when they are absent.
//
// The shared lib/ folder may hold its .so.N links as small text files
// naming the target (symlinks lost in a copy); Tools then links them
// properly in a temporary folder put on LD_LIBRARY_PATH.
package nemeac

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowgate/flowgate/internal/testutil"
)

// Tools is the folder of the C modules and the environment to run them in.
type Tools struct {
	Bin string
	Env []string // os.Environ() plus LD_LIBRARY_PATH and TRAP_SOCKET_DIR
}

// Find returns the C tools, skipping the test when they are not there.
// TRAP_SOCKET_DIR is a fresh temporary folder of the test.
func Find(t testing.TB) *Tools {
	t.Helper()
	bin := os.Getenv("NEMEA_BIN")
	if bin == "" {
		p, ok := testutil.FindShared(".")
		if ok {
			bin = filepath.Join(filepath.Dir(p), "nemea-c", "bin")
		}
	}
	if bin == "" {
		t.Skip("the C NEMEA modules (shared/nemea-c/bin or $NEMEA_BIN) are not available")
	}
	if _, err := os.Stat(filepath.Join(bin, "logger")); err != nil {
		t.Skipf("the C NEMEA modules are not in %s: %v", bin, err)
	}
	tools := &Tools{Bin: bin, Env: append(os.Environ(), "TRAP_SOCKET_DIR="+t.TempDir())}
	if lib := linkLibs(t, filepath.Join(filepath.Dir(bin), "lib")); lib != "" {
		tools.Env = append(tools.Env, "LD_LIBRARY_PATH="+lib)
	}
	return tools
}

// linkLibs makes real symlinks for lib's text-file links; "" if none.
func linkLibs(t testing.TB, lib string) string {
	entries, err := os.ReadDir(lib)
	if err != nil {
		return ""
	}
	dir := ""
	for _, e := range entries {
		p := filepath.Join(lib, e.Name())
		fi, err := os.Lstat(p)
		if err != nil || !fi.Mode().IsRegular() || fi.Size() > 256 {
			continue
		}
		target, err := os.ReadFile(p)
		name := strings.TrimSpace(string(target))
		if err != nil || name == "" || strings.ContainsAny(name, "/\n") {
			continue
		}
		if dir == "" {
			dir = t.TempDir()
		}
		if err := os.Symlink(filepath.Join(lib, name), filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// Command returns the C module name with args, ready to run in the tools'
// environment.
func (c *Tools) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(c.Bin, name), args...)
	cmd.Env = c.Env
	return cmd
}

// Run runs a C module to completion and fails the test on a non-zero exit.
func (c *Tools) Run(t testing.TB, name string, args ...string) []byte {
	t.Helper()
	out, err := c.Command(context.Background(), name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

// LoggerText is the C logger's "-t" text of a .trapcap file ("" for a
// file that does not exist or holds no format).
func (c *Tools) LoggerText(t testing.TB, path string) string {
	t.Helper()
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		return ""
	}
	out, err := c.Command(context.Background(), "logger", "-t", "-i", "f:"+path).Output()
	if err != nil {
		t.Fatalf("logger -t -i f:%s: %v", path, err)
	}
	return string(out)
}
