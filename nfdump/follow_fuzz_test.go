package nfdump

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzFollowState feeds arbitrary state files to the follower: they load or
// fail with an error, never panic, and what loads is written back and
// reloaded unchanged.
func FuzzFollowState(f *testing.F) {
	f.Add([]byte(`{"version":1,"completed":["/data/nfcapd.202401010000"],"partial":{"file":"/data/nfcapd.202401010005","records":1234}}`))
	f.Add([]byte(`{"version":1,"completed":[]}`))
	f.Add([]byte(`{"version":1,"partial":{"file":"x","records":-1}}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`[]`))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		p := filepath.Join(dir, "state")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		st, err := loadFollowState(p)
		if err != nil {
			return
		}
		if err := saveFollowState(p, st); err != nil {
			t.Fatalf("save of a loaded state: %v", err)
		}
		again, err := loadFollowState(p)
		if err != nil {
			t.Fatalf("reload: %v", err)
		}
		if len(again.Completed) != len(st.Completed) || (again.Partial == nil) != (st.Partial == nil) {
			t.Fatalf("state changed on a round trip: %+v -> %+v", st, again)
		}
	})
}
