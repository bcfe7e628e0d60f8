package testutil

import (
	"syscall"
	"testing"
)

// SmallTmpfs mounts a tmpfs of size ("1m", "4m") on a temporary folder of
// the test, for filling a disk on purpose, and returns its path. It needs
// root: the test is skipped otherwise. The mount goes at cleanup.
func SmallTmpfs(t testing.TB, size string) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("flowgate-test", dir, "tmpfs", 0, "size="+size); err != nil {
		t.Skipf("cannot mount a small tmpfs to fill (needs root): %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}
