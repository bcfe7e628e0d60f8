package ingest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/flowgate/flowgate/internal/testutil"
)

// copyFile copies a golden file to dst. It appears whole, as nfcapd's
// rename makes its files appear: a follower never sees half of it.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(t.TempDir(), filepath.Base(dst))
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		t.Fatal(err)
	}
}

// waitCount waits until out holds n records or fails the test.
func waitCount(t *testing.T, out *memOutput, n int) {
	t.Helper()
	deadline := time.Now().Add(testutil.WaitTimeout)
	for out.count() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d records after %v, want %d", out.count(), testutil.WaitTimeout, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A followed directory delivers the files nfcapd rotates in (never its open
// nfcapd.current file), and after a restart with the same state file
// nothing is delivered twice.
func TestNfdumpSourceFollowsDirectoryOnceAcrossRestarts(t *testing.T) {
	golden := filepath.Join(sharedTestdata(t, "netflow"), "nfcapd171")
	dir, state := t.TempDir(), filepath.Join(t.TempDir(), "nfdump.state")
	copyFile(t, filepath.Join(golden, "softflowd_v9.nf"), filepath.Join(dir, "nfcapd.202611221900"))
	flowsA, _, _, _, _ := nfcapdTotals(t, filepath.Join(golden, "softflowd_v9.csv"))
	flowsB, _, _, _, _ := nfcapdTotals(t, filepath.Join(golden, "softflowd_v5.csv"))

	run := func(out *memOutput) (stop func()) {
		src, err := NewNfdump(NfdumpConfig{Name: "nf", Paths: []string{dir}, Follow: true, StateFile: state})
		if err != nil {
			t.Fatal(err)
		}
		p, err := NewPipeline([]Source{src}, []Output{out}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- p.Run(ctx) }()
		return func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("pipeline: %v", err)
			}
		}
	}

	out1 := newMemOutput(t, "o1", biflowSpec)
	stop := run(out1)
	waitCount(t, out1, flowsA)
	// nfcapd writes nfcapd.current.PID, then renames it when the slot ends.
	current := filepath.Join(dir, "nfcapd.current.4242")
	copyFile(t, filepath.Join(golden, "softflowd_v5.nf"), current)
	time.Sleep(300 * time.Millisecond)
	if n := out1.count(); n != flowsA {
		t.Fatalf("%d records while the new file is still nfcapd.current, want %d", n, flowsA)
	}
	if err := os.Rename(current, filepath.Join(dir, "nfcapd.202611221905")); err != nil {
		t.Fatal(err)
	}
	waitCount(t, out1, flowsA+flowsB)
	stop()

	// Restart: everything was delivered, so nothing comes again until a
	// new file appears.
	out2 := newMemOutput(t, "o2", biflowSpec)
	stop = run(out2)
	copyFile(t, filepath.Join(golden, "softflowd_v9.nf"), filepath.Join(dir, "nfcapd.202611221910"))
	waitCount(t, out2, flowsA)
	time.Sleep(300 * time.Millisecond)
	stop()
	if n := out2.count(); n != flowsA {
		t.Errorf("after restart %d records, want only the new file's %d", n, flowsA)
	}
}

// A followed file cut short is logged with the number of its records that
// went out before the fault, and the error names the file once, with one
// "nfdump:" prefix. The count does not depend on how many workers
// decompress the blocks.
func TestNfdumpSourceLogsDeliveredRecordsOfACutFile(t *testing.T) {
	src := filepath.Join(sharedTestdata(t, "nfdump"), "gen_ipfix_multiblock_lz4.nf")
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	delivered := map[int]uint64{}
	for _, workers := range []int{1, 2, 4} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			dir := t.TempDir()
			cut := filepath.Join(t.TempDir(), "nfcapd.202611221900")
			os.WriteFile(cut, b[:len(b)*2/3], 0o644)
			os.Rename(cut, filepath.Join(dir, "nfcapd.202611221900"))
			core, logs := observer.New(zap.WarnLevel)
			s, err := NewNfdump(NfdumpConfig{Name: "nf", Paths: []string{dir}, Follow: true, Workers: workers, Log: zap.New(core)})
			if err != nil {
				t.Fatal(err)
			}
			out := newMemOutput(t, "o", biflowSpec)
			p, err := NewPipeline([]Source{s}, []Output{out}, nil)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- p.Run(ctx) }()
			deadline := time.Now().Add(testutil.WaitTimeout)
			for logs.Len() == 0 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if logs.Len() != 1 {
				t.Fatalf("%d warnings, want one for the cut file", logs.Len())
			}
			e := logs.All()[0]
			f := e.ContextMap()
			n, _ := f["records_delivered"].(uint64)
			if n == 0 || int(n) != out.count() {
				t.Errorf("records_delivered %v, output got %d (want equal and above 0)", f["records_delivered"], out.count())
			}
			if msg, _ := f["error"].(string); strings.Count(msg, "nfdump:") != 1 {
				t.Errorf("error %q: want one nfdump: prefix", msg)
			}
			delivered[workers] = n
		})
	}
	if delivered[2] != delivered[1] || delivered[4] != delivered[1] {
		t.Errorf("records_delivered by workers 1, 2, 4: %v", delivered)
	}
}
