package nfdump

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// followStateVersion is the version of the state file format.
const followStateVersion = 1

// followState is what a Follower persists: the files it has read
// completely and how far it got into the one it was reading when stopped.
//
// On disk it is a small JSON document:
//
//	{"version":1,"completed":["/data/nfcapd.202401010000",...],"partial":{"file":"/data/nfcapd.202401010005","records":1234}}
type followState struct {
	Version   int           `json:"version"`
	Completed []string      `json:"completed"`
	Partial   *followCursor `json:"partial,omitempty"`
}

// followCursor records the flow records already delivered from a file.
type followCursor struct {
	File    string `json:"file"`
	Records int64  `json:"records"`
}

// loadFollowState reads the state file; a missing file is an empty state.
func loadFollowState(path string) (followState, error) {
	st := followState{Version: followStateVersion}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("nfdump follower: state file: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("nfdump follower: state file %s: %w", path, err)
	}
	if st.Version != followStateVersion {
		return st, fmt.Errorf("nfdump follower: state file %s: version %d, want %d", path, st.Version, followStateVersion)
	}
	if st.Partial != nil && (st.Partial.File == "" || st.Partial.Records < 0) {
		return st, fmt.Errorf("nfdump follower: state file %s: invalid partial entry", path)
	}
	return st, nil
}

// saveFollowState writes the state atomically: a temporary file in the same
// directory, synced, then renamed over the old state and the directory
// synced, so a crash leaves either the old or the new state.
func saveFollowState(path string, st followState) error {
	sort.Strings(st.Completed)
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("nfdump follower: state: %w", err)
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("nfdump follower: state file: %w", err)
	}
	tmpName := tmp.Name()
	_, werr := tmp.Write(append(b, '\n'))
	if werr == nil {
		werr = tmp.Sync()
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmpName, path)
	}
	if werr != nil {
		os.Remove(tmpName)
		return fmt.Errorf("nfdump follower: writing state file %s: %w", path, werr)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // best effort: some file systems cannot sync directories
		d.Close()
	}
	return nil
}
