package nfdump

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// DefaultPoll is the interval between directory scans of a following
// Follower. nfcapd rotates files every few minutes, so a few seconds of
// latency cost nothing and keep the scans cheap.
const DefaultPoll = 2 * time.Second

// FollowConfig configures a Follower.
type FollowConfig struct {
	// Paths are nfdump files, glob patterns (with *, ? or [) and
	// directories. A directory stands for the completed nfdump files in it
	// and in its subdirectories (nfcapd -S layouts): every regular file
	// except dot files and nfcapd's open file nfcapd.current.*. Named files
	// are taken as they are.
	Paths []string
	// Follow keeps scanning directories and patterns for new files after
	// the existing ones are read, as nfcapd rotates them in.
	Follow bool
	// Poll is the interval between scans when there is nothing to read
	// (DefaultPoll when 0).
	Poll time.Duration
	// MinAge holds a file back until its modification time is at least
	// this old. nfcapd renames a file only once it is complete, so 0 suits
	// nfcapd; set it when files are copied into the directory in place.
	MinAge time.Duration
	// StateFile, when set, records the files read completely (and how far
	// into the current file reading got when it stopped), written
	// atomically, so that after a restart every file is still read once.
	StateFile string
	// Workers is File.SetWorkers for every file read: 0 picks the default
	// pool, 1 reads serially.
	Workers int
	// OnError is told about a file that cannot be opened or is corrupt;
	// the records before the fault were delivered and the file counts as
	// read. When nil, Each returns such errors.
	OnError func(path string, err error)
	// Flush, when set, is called before the follower counts records as
	// delivered (Done, Checkpoint: the state file) and before it waits for
	// new files. A consumer that holds records back to hand them on in
	// batches hands on what it holds, so that the state never counts a
	// record still held and nothing sits in a batch while the follower
	// idles.
	Flush func()
}

// Follower hands out the nfdump files of a set of paths in order, each
// exactly once, optionally waiting for new files (FollowConfig.Follow) and
// remembering what was read across restarts (FollowConfig.StateFile).
// Polling, not file-system notifications, finds new files: it works on
// every file system, network mounts included, and nfcapd's rotation
// interval makes the delay irrelevant.
//
// Files are handed out in name order per path (nfcapd names files by
// time: nfcapd.YYYYMMDDhhmm), paths in the order given. A Follower is used
// by one goroutine.
type Follower struct {
	cfg  FollowConfig
	now  func() time.Time
	wait func(ctx context.Context, d time.Duration) error

	stateFile string
	completed map[string]bool
	partial   *followCursor

	pending  []string        // found by the last scan, not yet handed out
	lastSeen map[string]bool // every candidate of the last scan
	timer    *time.Timer
}

// NewFollower checks the paths and loads the state file. Named files and
// directories must exist; a pattern must match something unless following.
func NewFollower(cfg FollowConfig) (*Follower, error) {
	if len(cfg.Paths) == 0 {
		return nil, errors.New("nfdump follower: no paths")
	}
	if cfg.Poll <= 0 {
		cfg.Poll = DefaultPoll
	}
	fw := &Follower{cfg: cfg, now: time.Now, completed: map[string]bool{}}
	fw.wait = fw.sleep
	for _, p := range cfg.Paths {
		if isPattern(p) {
			m, err := filepath.Glob(p)
			if err != nil {
				return nil, fmt.Errorf("nfdump follower: pattern %q: %w", p, err)
			}
			if len(m) == 0 && !cfg.Follow {
				return nil, fmt.Errorf("nfdump follower: pattern %q matches no file", p)
			}
			continue
		}
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("nfdump follower: %w", err)
		}
	}
	if cfg.StateFile != "" {
		abs, err := filepath.Abs(cfg.StateFile)
		if err != nil {
			return nil, fmt.Errorf("nfdump follower: state file: %w", err)
		}
		fw.stateFile = abs
		st, err := loadFollowState(abs)
		if err != nil {
			return nil, err
		}
		for _, c := range st.Completed {
			fw.completed[c] = true
		}
		fw.partial = st.Partial
	}
	return fw, nil
}

func isPattern(p string) bool { return strings.ContainsAny(p, "*?[") }

// Next returns the next file to read and the number of its flow records
// that were already delivered before a restart (skip them). It waits for
// new files when following; otherwise it returns io.EOF once every file
// was handed out. Call Done when the file is read, or Checkpoint when
// stopping in the middle of it.
func (fw *Follower) Next(ctx context.Context) (path string, skip int64, err error) {
	for {
		for len(fw.pending) > 0 {
			p := fw.pending[0]
			fw.pending = fw.pending[1:]
			if fw.completed[p] {
				continue
			}
			if fw.partial != nil && fw.partial.File == p {
				skip = fw.partial.Records
			}
			return p, skip, nil
		}
		young, err := fw.scan()
		if err != nil {
			return "", 0, err
		}
		if len(fw.pending) > 0 {
			continue
		}
		if !fw.cfg.Follow && young == 0 {
			return "", 0, io.EOF
		}
		fw.flush()
		if err := fw.wait(ctx, fw.cfg.Poll); err != nil {
			return "", 0, err
		}
	}
}

// Done marks path as read completely and saves the state.
func (fw *Follower) Done(path string) error {
	fw.flush()
	fw.completed[path] = true
	if fw.partial != nil && fw.partial.File == path {
		fw.partial = nil
	}
	return fw.save()
}

// Checkpoint records that the first records flow records of path were
// delivered, so that after a restart Next hands path out again with
// skip = records.
func (fw *Follower) Checkpoint(path string, records int64) error {
	fw.flush()
	fw.partial = &followCursor{File: path, Records: records}
	return fw.save()
}

// Each reads the followed files in order and calls fn for every flow
// record (it.Record(), it.Exporter()) of each, skipping the records a
// previous run delivered. It returns nil when ctx ends (after saving how
// far it got) or, when not following, after the last file; it returns
// fn's error after saving the position before that record.
func (fw *Follower) Each(ctx context.Context, fn func(path string, it *Iterator) error) error {
	for {
		path, skip, err := fw.Next(ctx)
		if errors.Is(err, io.EOF) || (err != nil && ctx.Err() != nil) {
			return nil
		}
		if err != nil {
			return err
		}
		n, ferr, err := fw.readFile(ctx, path, skip, fn)
		switch {
		case ferr != nil:
			if cerr := fw.Checkpoint(path, n); cerr != nil {
				return errors.Join(ferr, cerr)
			}
			return ferr
		case ctx.Err() != nil:
			return fw.Checkpoint(path, n)
		case err != nil:
			if derr := fw.Done(path); derr != nil {
				return errors.Join(err, derr)
			}
			if fw.cfg.OnError == nil {
				return err
			}
			fw.cfg.OnError(path, err)
		default:
			if err := fw.Done(path); err != nil {
				return err
			}
		}
	}
}

// readFile delivers the records of path after the first skip. n is the
// position reached (records delivered, skipped ones included); ferr is
// fn's error, err a fault of the file.
func (fw *Follower) readFile(ctx context.Context, path string, skip int64, fn func(string, *Iterator) error) (n int64, ferr, err error) {
	f, err := Open(path)
	if err != nil {
		return 0, nil, err
	}
	defer f.Close()
	f.SetWorkers(fw.cfg.Workers)
	it := f.Records(ctx)
	defer it.Close()
	done := ctx.Done() // the iterator notices cancellation only between blocks
	for it.Next() {
		select {
		case <-done:
			return n, nil, nil
		default:
		}
		if n < skip {
			n++
			continue
		}
		if err := fn(path, it); err != nil {
			return n, err, nil
		}
		n++
	}
	if ctx.Err() != nil {
		return n, nil, nil
	}
	return n, nil, it.Err()
}

// scan lists the completed, unread files of every path into fw.pending and
// returns how many are held back by MinAge.
func (fw *Follower) scan() (young int, err error) {
	seen := map[string]bool{}
	var cutoff time.Time
	if fw.cfg.MinAge > 0 {
		cutoff = fw.now().Add(-fw.cfg.MinAge)
	}
	add := func(path string, info fs.FileInfo) {
		abs, err := filepath.Abs(path)
		if err != nil || seen[abs] || abs == fw.stateFile {
			return
		}
		seen[abs] = true
		if fw.completed[abs] {
			return
		}
		if !cutoff.IsZero() && info.ModTime().After(cutoff) {
			young++
			return
		}
		fw.pending = append(fw.pending, abs)
	}
	for _, p := range fw.cfg.Paths {
		if isPattern(p) {
			m, err := filepath.Glob(p)
			if err != nil {
				return 0, fmt.Errorf("nfdump follower: pattern %q: %w", p, err)
			}
			sort.Strings(m)
			for _, name := range m {
				if err := fw.scanPath(name, false, add); err != nil {
					return 0, err
				}
			}
			continue
		}
		if err := fw.scanPath(p, true, add); err != nil {
			return 0, err
		}
	}
	fw.lastSeen = seen
	return young, nil
}

// scanPath adds a file, or the completed files below a directory. A named
// path that vanished is skipped.
func (fw *Follower) scanPath(p string, named bool, add func(string, fs.FileInfo)) error {
	info, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("nfdump follower: %w", err)
	}
	if !info.IsDir() {
		if named || completedName(filepath.Base(p)) {
			add(p, info)
		}
		return nil
	}
	type found struct {
		path string
		info fs.FileInfo
	}
	var files []found
	err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path != p && errors.Is(err, fs.ErrNotExist) {
				return nil // removed during the walk (nfexpire)
			}
			return err
		}
		if d.IsDir() {
			if path != p && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !completedName(d.Name()) {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil // removed since listed
		}
		files = append(files, found{path, fi})
		return nil
	})
	if err != nil {
		return fmt.Errorf("nfdump follower: scanning %s: %w", p, err)
	}
	// WalkDir visits in lexical order per directory; sort the whole list
	// so that names order the files across subdirectories too.
	sort.Slice(files, func(a, b int) bool { return files[a].path < files[b].path })
	for _, f := range files {
		add(f.path, f.info)
	}
	return nil
}

// completedName reports whether a file name found in a directory is a
// finished nfdump file: not a dot file (nfcapd's .nfstat, our state
// file's temporaries) and not nfcapd's file in progress,
// nfcapd.current.PID, which is renamed to nfcapd.YYYYMMDDhhmm when done.
func completedName(name string) bool {
	return !strings.HasPrefix(name, ".") && !strings.Contains(name, ".current.")
}

// save writes the state file, dropping completed files that were deleted
// (nfexpire) so that the state stays small. A file is dropped only when
// its directory still exists, so an unmounted archive is not forgotten.
func (fw *Follower) save() error {
	if fw.stateFile == "" {
		return nil
	}
	st := followState{Version: followStateVersion, Partial: fw.partial}
	for p := range fw.completed {
		if !fw.lastSeen[p] && gone(p) {
			delete(fw.completed, p)
			continue
		}
		st.Completed = append(st.Completed, p)
	}
	return saveFollowState(fw.stateFile, st)
}

// gone reports whether path was deleted from a directory that still exists.
func gone(path string) bool {
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		return false
	}
	_, err := os.Stat(filepath.Dir(path))
	return err == nil
}

// flush calls FollowConfig.Flush when set.
func (fw *Follower) flush() {
	if fw.cfg.Flush != nil {
		fw.cfg.Flush()
	}
}

// sleep waits d on a reusable timer, or until ctx ends.
func (fw *Follower) sleep(ctx context.Context, d time.Duration) error {
	if fw.timer == nil {
		fw.timer = time.NewTimer(d)
	} else {
		fw.timer.Reset(d)
	}
	select {
	case <-fw.timer.C:
		return nil
	case <-ctx.Done():
		fw.timer.Stop()
		return ctx.Err()
	}
}
