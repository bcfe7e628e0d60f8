package ingest

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// expandPaths turns the paths of a file source into a list of files: a
// directory stands for the regular files directly in it (sorted by name, as
// nfcapd names its files by time), a pattern with *, ? or [ for its matches
// (sorted), anything else for itself. A path or pattern that yields nothing
// is an error, so a typo does not silently replay nothing.
func expandPaths(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		if strings.ContainsAny(p, "*?[") {
			m, err := filepath.Glob(p)
			if err != nil {
				return nil, fmt.Errorf("pattern %q: %w", p, err)
			}
			if len(m) == 0 {
				return nil, fmt.Errorf("pattern %q matches no file", p)
			}
			sort.Strings(m)
			out = append(out, m...)
			continue
		}
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("input: %w", err)
		}
		if !st.IsDir() {
			out = append(out, p)
			continue
		}
		ents, err := os.ReadDir(p)
		if err != nil {
			return nil, fmt.Errorf("input directory: %w", err)
		}
		n := len(out)
		for _, e := range ents {
			if e.Type().IsRegular() {
				out = append(out, filepath.Join(p, e.Name()))
			}
		}
		if len(out) == n {
			return nil, fmt.Errorf("directory %q holds no file", p)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no input files given")
	}
	return out, nil
}
