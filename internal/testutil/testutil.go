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
