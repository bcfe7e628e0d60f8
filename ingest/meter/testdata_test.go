package meter

import (
	"os"
	"path/filepath"
	"testing"
)

// pcapTestdata returns ../shared/testdata/pcap relative to the repository,
// walking up from the test's working directory; it skips the test when the
// shared folder is absent.
func pcapTestdata(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("getwd: %v", err)
	}
	for {
		cand := filepath.Join(dir, "shared", "testdata", "pcap")
		if st, err := os.Stat(cand); err == nil && st.IsDir() {
			return cand
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("shared/testdata/pcap not found next to the repository; golden tests skipped")
		}
		dir = parent
	}
}
