package nfdump

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// copyGolden copies golden nfdump file src into dir under name and returns
// the new path.
func copyGolden(t *testing.T, src, dir, name string) string {
	t.Helper()
	b := readGoldenFile(t, src)
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// delivery is what Each handed to the callback: file base name and a
// record identity.
type delivery struct {
	file string
	key  string
}

func recordKey(r *Record) string {
	return fmt.Sprintf("%s>%s:%d@%d", r.SrcIP, r.DstIP, r.DstPort, r.FirstMs)
}

// collect runs Each to the end (not following) and returns the deliveries.
func collect(t *testing.T, fw *Follower) []delivery {
	t.Helper()
	var got []delivery
	err := fw.Each(context.Background(), func(path string, it *Iterator) error {
		got = append(got, delivery{filepath.Base(path), recordKey(it.Record())})
		return nil
	})
	if err != nil {
		t.Fatalf("Each: %v", err)
	}
	return got
}

// perFile counts deliveries per file, in delivery order.
func perFile(d []delivery) []string {
	var out []string
	for i, x := range d {
		if i == 0 || d[i-1].file != x.file {
			out = append(out, x.file+":0")
		}
		name, n, _ := strings.Cut(out[len(out)-1], ":")
		var c int
		fmt.Sscan(n, &c)
		out[len(out)-1] = fmt.Sprintf("%s:%d", name, c+1)
	}
	return out
}

func TestFollowerReadsCompletedFilesInNameOrder(t *testing.T) {
	testdataDir(t, "nfdump")
	dir := t.TempDir()
	copyGolden(t, "v9_mixed_lzo.nf", dir, "nfcapd.202401010005")
	copyGolden(t, "gen_v9_v4v6_none.nf", dir, "nfcapd.202401010000")
	copyGolden(t, "nfpcapd_http_lz4.nf", dir, "2024/01/02/nfcapd.202401020000")
	copyGolden(t, "gen_v5_bz2.nf", dir, "nfcapd.current.4242") // still being written
	copyGolden(t, "gen_v5_bz2.nf", dir, ".nfstat")
	single := copyGolden(t, "ipfix_bidir_bz2.nf", t.TempDir(), "one.nf")
	globDir := t.TempDir()
	copyGolden(t, "nfpcapd_http_lz4.nf", globDir, "b.nf")
	copyGolden(t, "nfpcapd_http_lz4.nf", globDir, "a.nf")
	copyGolden(t, "nfpcapd_http_lz4.nf", globDir, "a.txt")

	tests := []struct {
		name  string
		paths []string
		want  []string
	}{
		{"directory with subdirectories", []string{dir},
			[]string{"nfcapd.202401020000:17", "nfcapd.202401010000:200", "nfcapd.202401010005:113"}},
		{"named file", []string{single}, []string{"one.nf:78"}},
		{"glob", []string{filepath.Join(globDir, "*.nf")}, []string{"a.nf:17", "b.nf:17"}},
		{"several paths in the order given, each file once", []string{single, filepath.Join(globDir, "b.nf"), globDir},
			[]string{"one.nf:78", "b.nf:17", "a.nf:17", "a.txt:17"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fw, err := NewFollower(FollowConfig{Paths: tc.paths})
			if err != nil {
				t.Fatal(err)
			}
			got := perFile(collect(t, fw))
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("read %v, want %v", got, tc.want)
			}
		})
	}
}

// fakePoll replaces the follower's poll wait: every wait announces itself
// on waits and returns when the test sends on tick.
func fakePoll(fw *Follower) (waits chan struct{}, tick chan struct{}) {
	waits, tick = make(chan struct{}), make(chan struct{})
	fw.wait = func(ctx context.Context, _ time.Duration) error {
		select {
		case waits <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case <-tick:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return waits, tick
}

// recv waits for a value with a generous deadlock guard.
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(20 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
	var zero T
	return zero
}

// Following a directory: a file nfcapd is still writing (nfcapd.current.*)
// is not read; once renamed to nfcapd.YYYYMMDDhhmm it is, exactly once.
func TestFollowerFollowsNfcapdRotation(t *testing.T) {
	testdataDir(t, "nfdump")
	dir := t.TempDir()
	copyGolden(t, "nfpcapd_http_lz4.nf", dir, "nfcapd.202401010000")
	fw, err := NewFollower(FollowConfig{Paths: []string{dir}, Follow: true, StateFile: filepath.Join(dir, "state.json")})
	if err != nil {
		t.Fatal(err)
	}
	waits, tick := fakePoll(fw)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	files := make(chan string, 10)
	counts := map[string]int{}
	done := make(chan error, 1)
	go func() {
		done <- fw.Each(ctx, func(path string, it *Iterator) error {
			if counts[path] == 0 {
				files <- filepath.Base(path)
			}
			counts[path]++
			return nil
		})
	}()
	if f := recv(t, files, "the existing file"); f != "nfcapd.202401010000" {
		t.Fatalf("first file %s", f)
	}
	recv(t, waits, "the first poll wait")

	current := copyGolden(t, "v9_mixed_lzo.nf", dir, "nfcapd.current.777")
	tick <- struct{}{}
	recv(t, waits, "the scan that sees only nfcapd.current")
	select {
	case f := <-files:
		t.Fatalf("read %s while nfcapd was still writing it", f)
	default:
	}

	if err := os.Rename(current, filepath.Join(dir, "nfcapd.202401010005")); err != nil {
		t.Fatal(err)
	}
	tick <- struct{}{}
	if f := recv(t, files, "the rotated file"); f != "nfcapd.202401010005" {
		t.Fatalf("rotated file read as %s", f)
	}
	recv(t, waits, "the poll after the rotated file")
	tick <- struct{}{}
	recv(t, waits, "another poll")
	cancel()
	if err := recv(t, done, "Each to return"); err != nil {
		t.Fatalf("Each: %v", err)
	}
	if len(files) != 0 {
		t.Errorf("a file was read twice: %s", <-files)
	}
	if counts[filepath.Join(dir, "nfcapd.202401010005")] != 113 || counts[filepath.Join(dir, "nfcapd.202401010000")] != 17 {
		t.Errorf("record counts %v, want 17 and 113", counts)
	}
}

// A restart with the same state file reads only what it has not read yet:
// new files, and the rest of a file it was stopped in.
func TestFollowerRestartReadsEachFileOnce(t *testing.T) {
	testdataDir(t, "nfdump")
	dir := t.TempDir()
	state := filepath.Join(t.TempDir(), "follow.state")
	copyGolden(t, "gen_v9_v4v6_none.nf", dir, "nfcapd.202401010000")
	copyGolden(t, "v9_mixed_lzo.nf", dir, "nfcapd.202401010005")
	cfg := FollowConfig{Paths: []string{dir}, StateFile: state}

	full := collect(t, mustFollower(t, FollowConfig{Paths: []string{dir}}))

	// Run 1 stops (context cancelled) after 50 records of the first file.
	fw := mustFollower(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	var got []delivery
	err := fw.Each(ctx, func(path string, it *Iterator) error {
		got = append(got, delivery{filepath.Base(path), recordKey(it.Record())})
		if len(got) == 50 {
			cancel()
		}
		return nil
	})
	cancel()
	if err != nil {
		t.Fatalf("Each: %v", err)
	}
	// Run 2 ends with an error from the callback in the second file.
	calls := 0
	errStop := errors.New("downstream closed")
	err = mustFollower(t, cfg).Each(context.Background(), func(path string, it *Iterator) error {
		calls++
		if filepath.Base(path) == "nfcapd.202401010005" && calls > 160 {
			return errStop
		}
		got = append(got, delivery{filepath.Base(path), recordKey(it.Record())})
		return nil
	})
	if !errors.Is(err, errStop) {
		t.Fatalf("Each returned %v, want the callback's error", err)
	}
	// Run 3 finishes; a new file has arrived meanwhile.
	copyGolden(t, "nfpcapd_http_lz4.nf", dir, "nfcapd.202401010010")
	full = append(full, collect(t, mustFollower(t, FollowConfig{Paths: []string{filepath.Join(dir, "nfcapd.202401010010")}}))...)
	got = append(got, collect(t, mustFollower(t, cfg))...)
	// Run 4 has nothing left to read.
	if again := collect(t, mustFollower(t, cfg)); len(again) != 0 {
		t.Errorf("fourth run read %v", perFile(again))
	}

	if len(got) != len(full) {
		t.Fatalf("runs delivered %d records (%v), one full read %d (%v)", len(got), perFile(got), len(full), perFile(full))
	}
	for i := range full {
		if got[i] != full[i] {
			t.Fatalf("record %d: got %v, want %v", i, got[i], full[i])
		}
	}
}

func mustFollower(t *testing.T, cfg FollowConfig) *Follower {
	t.Helper()
	fw, err := NewFollower(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return fw
}

// A corrupt file is reported with its name and offset, counts as read and
// does not stop the files after it.
func TestFollowerReportsCorruptFileAndGoesOn(t *testing.T) {
	testdataDir(t, "nfdump")
	dir := t.TempDir()
	b := readGoldenFile(t, "gen_ipfix_multiblock_lz4.nf")
	if err := os.WriteFile(filepath.Join(dir, "nfcapd.202401010000"), b[:600000], 0o644); err != nil {
		t.Fatal(err)
	}
	copyGolden(t, "nfpcapd_http_lz4.nf", dir, "nfcapd.202401010005")
	state := filepath.Join(dir, ".state")
	var reported []string
	cfg := FollowConfig{Paths: []string{dir}, StateFile: state, OnError: func(path string, err error) {
		reported = append(reported, filepath.Base(path)+": "+err.Error())
	}}
	got := perFile(collect(t, mustFollower(t, cfg)))
	if len(got) != 2 || !strings.HasPrefix(got[0], "nfcapd.202401010000:") || got[1] != "nfcapd.202401010005:17" {
		t.Errorf("read %v, want the leading records of the corrupt file, then the next file", got)
	}
	if len(reported) != 1 || !strings.Contains(reported[0], "offset") {
		t.Errorf("reported %v, want one error naming the offset", reported)
	}
	if again := collect(t, mustFollower(t, cfg)); len(again) != 0 {
		t.Errorf("restart re-read %v", perFile(again))
	}

	// Without OnError, Each returns the fault.
	cfg2 := FollowConfig{Paths: []string{filepath.Join(dir, "nfcapd.202401010000")}}
	err := mustFollower(t, cfg2).Each(context.Background(), func(string, *Iterator) error { return nil })
	var ne *Error
	if !errors.As(err, &ne) || !errors.Is(err, ErrFormat) {
		t.Errorf("Each = %v, want an *Error wrapping ErrFormat", err)
	}
}

// The state file is valid JSON written by rename (no temporary left), and
// files deleted from the directory (nfexpire) are dropped from it.
func TestFollowerStateFile(t *testing.T) {
	testdataDir(t, "nfdump")
	dir := t.TempDir()
	stateDir := t.TempDir()
	state := filepath.Join(stateDir, "state.json")
	old := copyGolden(t, "nfpcapd_http_lz4.nf", dir, "nfcapd.202401010000")
	copyGolden(t, "nfpcapd_http_lz4.nf", dir, "nfcapd.202401010005")
	cfg := FollowConfig{Paths: []string{dir}, StateFile: state}
	collect(t, mustFollower(t, cfg))
	st, err := loadFollowState(state)
	if err != nil || len(st.Completed) != 2 || st.Partial != nil {
		t.Fatalf("state %+v, %v; want two completed files", st, err)
	}
	os.Remove(old)
	copyGolden(t, "nfpcapd_http_lz4.nf", dir, "nfcapd.202401010010")
	collect(t, mustFollower(t, cfg))
	st, _ = loadFollowState(state)
	if len(st.Completed) != 2 || strings.Contains(strings.Join(st.Completed, " "), "nfcapd.202401010000") {
		t.Errorf("completed %v, want the deleted file dropped", st.Completed)
	}
	ents, _ := os.ReadDir(stateDir)
	if len(ents) != 1 {
		t.Errorf("state directory holds %d entries, want only the state file", len(ents))
	}

	for _, tc := range []struct{ name, content, want string }{
		{"not JSON", "completed: x", "state file"},
		{"wrong version", `{"version":7,"completed":[]}`, "version 7"},
		{"bad partial", `{"version":1,"partial":{"file":"","records":3}}`, "partial"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := filepath.Join(t.TempDir(), "s")
			os.WriteFile(bad, []byte(tc.content), 0o644)
			_, err := NewFollower(FollowConfig{Paths: []string{dir}, StateFile: bad})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("NewFollower = %v, want an error about %q", err, tc.want)
			}
		})
	}
}

// MinAge holds back files modified too recently, even when not following.
func TestFollowerMinAge(t *testing.T) {
	testdataDir(t, "nfdump")
	dir := t.TempDir()
	p := copyGolden(t, "nfpcapd_http_lz4.nf", dir, "nfcapd.202401010000")
	now := time.Now()
	fw := mustFollower(t, FollowConfig{Paths: []string{dir}, MinAge: time.Minute})
	fw.now = func() time.Time { return now }
	waits := 0
	fw.wait = func(context.Context, time.Duration) error {
		waits++
		os.Chtimes(p, now.Add(-2*time.Minute), now.Add(-2*time.Minute)) // the file settles
		return nil
	}
	got := perFile(collect(t, fw))
	if waits != 1 || len(got) != 1 || got[0] != "nfcapd.202401010000:17" {
		t.Errorf("waited %d times, read %v; want one wait, then the file", waits, got)
	}
}

func TestNewFollowerRejectsBadPaths(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		cfg  FollowConfig
		want string
	}{
		{"no paths", FollowConfig{}, "no paths"},
		{"missing file", FollowConfig{Paths: []string{filepath.Join(dir, "none")}}, "no such file"},
		{"pattern without match", FollowConfig{Paths: []string{filepath.Join(dir, "*.nf")}}, "matches no file"},
		{"bad pattern", FollowConfig{Paths: []string{filepath.Join(dir, "[")}}, "pattern"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewFollower(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("NewFollower = %v, want an error containing %q", err, tc.want)
			}
		})
	}
	if _, err := NewFollower(FollowConfig{Paths: []string{filepath.Join(dir, "*.nf")}, Follow: true}); err != nil {
		t.Errorf("following a pattern that matches nothing yet: %v", err)
	}
}

// Flush is called after a file's last record, before the state counts the
// file as read, and again before each wait for new files.
func TestFollowerFlushesBeforeSavingAndWaiting(t *testing.T) {
	testdataDir(t, "nfdump")
	dir := t.TempDir()
	copyGolden(t, "nfpcapd_http_lz4.nf", dir, "nfcapd.202401010000")
	state := filepath.Join(t.TempDir(), "state.json")
	var events []string
	fw := mustFollower(t, FollowConfig{Paths: []string{dir}, Follow: true, StateFile: state, Flush: func() {
		_, err := os.Stat(state)
		events = append(events, fmt.Sprintf("flush(state saved: %v)", err == nil))
	}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fw.wait = func(context.Context, time.Duration) error {
		events = append(events, "wait")
		cancel()
		return context.Canceled
	}
	records := 0
	if err := fw.Each(ctx, func(string, *Iterator) error {
		records++
		if len(events) > 0 {
			t.Fatalf("flushed before record %d: %v", records, events)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := "flush(state saved: false) flush(state saved: true) wait"
	if got := strings.Join(events, " "); records != 17 || got != want {
		t.Errorf("%d records, events %q; want 17 records, then %q", records, got, want)
	}
}
