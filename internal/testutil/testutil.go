// Package testutil finds the golden data that the reference tools produced.
// It lives in ../shared/testdata beside the repository and is never copied
// into it.
package testutil

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// SharedTestdata returns the absolute path of shared/testdata/<sub>, found
// by walking up from the test's working directory. The test is skipped with
// a clear message when the shared folder is absent.
func SharedTestdata(t testing.TB, sub string) string {
	t.Helper()
	p, ok := FindShared(sub)
	if !ok {
		dir, _ := os.Getwd()
		t.Skipf("golden data shared/testdata/%s not found beside the repository (looked upward from %s)", sub, dir)
	}
	return p
}

// FindShared is SharedTestdata for callers that can do without the data
// (fuzz seeds): the path and whether it exists. sub may name a file.
func FindShared(sub string) (string, bool) {
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for d := dir; ; d = filepath.Dir(d) {
		p := filepath.Join(d, "shared", "testdata", sub)
		if _, err := os.Stat(p); err == nil {
			return p, true
		}
		if filepath.Dir(d) == d {
			return "", false
		}
	}
}

// SocketDirMain runs a package's tests (m.Run) with TRAP_SOCKET_DIR set to
// a fresh temporary directory, removed afterwards, so that no test and no
// process a test starts puts sockets in the machine's /var/run/libtrap or
// depends on it existing. Use it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(testutil.SocketDirMain(m)) }
func SocketDirMain(m interface{ Run() int }) int {
	dir, err := os.MkdirTemp("", "trapsock")
	if err != nil {
		fmt.Fprintln(os.Stderr, "testutil: temporary socket directory:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := os.Setenv("TRAP_SOCKET_DIR", dir); err != nil {
		fmt.Fprintln(os.Stderr, "testutil: setting TRAP_SOCKET_DIR:", err)
		return 1
	}
	return m.Run()
}

// SocketDir gives the test its own TRAP_SOCKET_DIR, a temporary directory,
// for tests that want a socket directory nobody else shares. It uses
// t.Setenv, so the test must not be parallel.
func SocketDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("TRAP_SOCKET_DIR", dir)
	return dir
}

// HeapMiB returns the live heap in MiB after a full collection, for tests
// that check a documented memory bound.
func HeapMiB() float64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapAlloc) / (1 << 20)
}

// ShortDir returns a temporary directory of the test with a short path,
// removed when the test ends, for UNIX sockets: a socket path must stay
// below 108 bytes (sun_path), which t.TempDir names can exceed.
func ShortDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "fg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}
