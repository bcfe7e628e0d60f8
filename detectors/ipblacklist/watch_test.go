package ipblacklist

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowgate/flowgate/internal/testutil"
)

// Lists are reloaded when a file is rewritten or replaced by rename; a
// reload that cannot read the IPv4 file keeps the lists in force, and a
// bad line is reported with its file and line while the rest loads.
func TestWatchReloads(t *testing.T) {
	dir := t.TempDir()
	fs := Files{V4: filepath.Join(dir, "ip4.blist"), V6: filepath.Join(dir, "ip6.blist")}
	write := func(p, s string) {
		t.Helper()
		tmp := p + ".tmp"
		if err := os.WriteFile(tmp, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, p); err != nil {
			t.Fatal(err)
		}
	}
	write(fs.V4, "1.1.1.1,1\n")
	l, warns, err := fs.Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 1 || !strings.Contains(warns[0].Error(), "IPv6 list is empty") {
		t.Fatalf("missing IPv6 file: %v", warns)
	}
	f, _ := New(l, Options{})

	var mu sync.Mutex
	var log []string
	reloads := 0
	ev := Events{
		Warn: func(err error) { mu.Lock(); log = append(log, err.Error()); mu.Unlock() },
		Reloaded: func(v4, v6 int) {
			mu.Lock()
			reloads++
			log = append(log, "reloaded")
			mu.Unlock()
		},
	}
	done, err := Watch(t.Context(), f, fs, ev)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { <-done }) // t.Context ends before cleanups run
	wait := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(testutil.WaitTimeout); ; time.Sleep(5 * time.Millisecond) {
			mu.Lock()
			good := ok()
			mu.Unlock()
			if good {
				return
			}
			if time.Now().After(deadline) {
				mu.Lock()
				defer mu.Unlock()
				t.Fatalf("%s; log %q", what, log)
			}
		}
	}
	listed := func(addr string) uint64 {
		s, _, _, _ := flowMatch(t, f, addr, "192.0.2.1", 1, 2)
		return s
	}

	// Replaced by rename, with a bad line; the IPv6 file appears.
	write(fs.V4, "2.2.2.2,2\nbogus\n")
	write(fs.V6, "2001:0db8:0000:0000:0000:0000:0000:0000/32,4\n")
	wait("no reload after rename", func() bool { return reloads >= 1 })
	wait("bad line not named", func() bool { return strings.Contains(strings.Join(log, "\n"), "ip4.blist:2:") })
	wait("new lists not in force", func() bool { return listed("2.2.2.2") == 2 && listed("1.1.1.1") == 0 && listed("2001:db8::1") == 4 })

	// Rewritten in place.
	n := reloads
	if err := os.WriteFile(fs.V4, []byte("3.3.3.3,8\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	wait("no reload after write", func() bool { return reloads > n && listed("3.3.3.3") == 8 })

	// Replaced by something unreadable: the lists in force stay.
	os.Remove(fs.V4)
	if err := os.Mkdir(fs.V4, 0o755); err != nil {
		t.Fatal(err)
	}
	wait("failed reload not reported", func() bool { return strings.Contains(strings.Join(log, "\n"), ErrReloadFailed.Error()) })
	if listed("3.3.3.3") != 8 {
		t.Fatal("a failed reload changed the lists")
	}
}
