package ingest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/flowgate/flowgate/internal/testutil"
	"github.com/flowgate/flowgate/internal/testutil/trapcap"
	"github.com/flowgate/flowgate/unirec"
)

// fill writes a filler file until the file system is full.
func fill(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	block := make([]byte, 4096)
	for {
		if _, err := f.Write(block); err != nil {
			return path
		}
	}
}

// A full disk under an f: output: the records it cannot write are counted
// (refused ones in the pipeline, accepted-then-lost ones by the interface)
// and logged, the other output gets every record, and once space returns
// the output writes again; the file stays readable throughout.
func TestFullDiskOnFileOutput(t *testing.T) {
	for _, buffered := range []bool{false, true} {
		name := "unbuffered"
		if buffered {
			name = "buffered"
		}
		t.Run(name, func(t *testing.T) {
			small := testutil.SmallTmpfs(t, "1m")
			tmpl, err := unirec.ParseTemplate(biflowSpec)
			if err != nil {
				t.Fatal(err)
			}
			spec := "f:" + filepath.Join(small, "out.trapcap") + ":autoflush=off"
			if !buffered {
				spec += ":buffer=off"
			}
			core, logs := observer.New(zap.WarnLevel)
			full, err := NewTrapOutput(TrapOutputConfig{Spec: spec, Template: tmpl}, nil)
			if err != nil {
				t.Fatal(err)
			}
			other := newMemOutput(t, "other", biflowSpec)
			src := &chanSource{c: make(chan int), ack: make(chan struct{})}
			p, err := NewPipeline([]Source{src}, []Output{full, other}, zap.New(core))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- p.Run(ctx) }()

			filler := fill(t, small)
			const n = 3000 // more than one 100 kB buffer
			src.emit(n)
			full.Flush(context.Background()) // fails too: its buffer is lost and counted
			st := p.OutputStats()
			lost := st[0].Failed + full.Stats().DroppedMessages
			if lost == 0 {
				t.Fatalf("no record counted as lost on a full disk: %+v", st)
			}
			if other.count() != n {
				t.Errorf("other output got %d of %d records while the disk was full", other.count(), n)
			}
			if logs.FilterMessageSnippet("output dropped a record").Len() == 0 {
				t.Error("the loss was not logged")
			}
			if e := logs.FilterMessageSnippet("output dropped a record").All(); len(e) > 0 && !strings.Contains(e[0].ContextMap()["error"].(string), "no space") {
				t.Errorf("log %v does not say the disk is full", e[0].ContextMap())
			}

			// Space returns: writing resumes.
			os.Remove(filler)
			src.emit(n)
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if err := full.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			st = p.OutputStats()
			written := len(trapcap.Read(t, filepath.Join(small, "out.trapcap")).Records)
			lost = st[0].Failed + full.Stats().DroppedMessages
			if uint64(written)+lost != 2*n {
				t.Errorf("file holds %d records, %d counted lost: %d, want %d (every record written or counted)", written, lost, uint64(written)+lost, 2*n)
			}
			if written < n {
				t.Errorf("file holds %d records: writing did not resume after space returned", written)
			}
			if other.count() != 2*n {
				t.Errorf("other output got %d of %d", other.count(), 2*n)
			}
		})
	}
}
