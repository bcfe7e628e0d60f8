// Package testutil finds the golden data that the reference tools produced.
// It lives in ../shared/testdata beside the repository and is never copied
// into it.
package testutil

import (
	"os"
	"path/filepath"
	"testing"
)

// SharedTestdata returns the absolute path of shared/testdata/<sub>, found
// by walking up from the test's working directory. The test is skipped with
// a clear message when the shared folder is absent.
func SharedTestdata(t testing.TB, sub string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		p := filepath.Join(d, "shared", "testdata", sub)
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			return p
		}
		if filepath.Dir(d) == d {
			t.Skipf("golden data shared/testdata/%s not found beside the repository (looked upward from %s)", sub, dir)
		}
	}
}
