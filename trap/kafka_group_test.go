package trap

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/flowgate/flowgate/internal/testutil"
)

// groupReader reads an input in the background until stopped, keeping
// every message key it got.
type groupReader struct {
	in   *Input
	mu   sync.Mutex
	keys []string
	stop chan struct{}
	done chan error
}

func startGroupReader(t *testing.T, spec string) *groupReader {
	t.Helper()
	in, err := OpenInput(kSpec(t, spec), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	in.SetRequiredFormat(FormatUniRec, "")
	g := &groupReader{in: in, stop: make(chan struct{}), done: make(chan error, 1)}
	tm := kTmpl(t)
	go func() {
		for {
			select {
			case <-g.stop:
				g.done <- nil
				return
			default:
			}
			m, _, err := in.Recv(context.Background())
			if errors.Is(err, ErrTimeout) {
				continue
			}
			if err != nil {
				g.done <- err
				return
			}
			g.mu.Lock()
			g.keys = append(g.keys, kKey(tm, m))
			g.mu.Unlock()
			time.Sleep(200 * time.Microsecond) // a module that takes its time
		}
	}()
	return g
}

func (g *groupReader) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.keys)
}

func (g *groupReader) finish(t *testing.T) []string {
	t.Helper()
	close(g.stop)
	if err := <-g.done; err != nil {
		t.Fatal(err)
	}
	g.in.Close()
	return g.keys
}

// Two members of one group share the partitions. The second joins while
// the first is reading: the partitions it takes are not delivered twice
// by the first, nothing is lost, and the group as a whole may repeat a
// little (at-least-once).
func TestKafkaGroupRebalanceSplitsPartitions(t *testing.T) {
	_, addr := kCluster(t, 4)
	hp := kHostPort(addr)
	tm := kTmpl(t)
	out := kOutput(t, "k:flows:"+hp+":key=SRC_IP:buffer=off", nil)
	const n = 3000
	ctx := context.Background()
	for i := range n {
		out.Send(ctx, kRecord(t, tm, i, 50))
	}
	if err := out.Close(ctx); err != nil {
		t.Fatal(err)
	}
	spec := "k:flows:" + hp + ":group=g:session=1000:timeout=100000"
	a := startGroupReader(t, spec)
	testutil.WaitFor(t, "the first member to start", func() bool { return a.count() > 200 })
	b := startGroupReader(t, spec)
	testutil.WaitFor(t, "the group to read everything", func() bool {
		seen := map[string]bool{}
		for _, g := range []*groupReader{a, b} {
			g.mu.Lock()
			for _, k := range g.keys {
				seen[k] = true
			}
			g.mu.Unlock()
		}
		return len(seen) == n
	})
	ka, kb := a.finish(t), b.finish(t)
	for name, keys := range map[string][]string{"first": ka, "second": kb} {
		seen := map[string]bool{}
		for _, k := range keys {
			if seen[k] {
				t.Fatalf("%s member delivered record %s twice", name, k)
			}
			seen[k] = true
		}
	}
	if len(kb) == 0 {
		t.Fatal("the second member got no partition")
	}
	t.Logf("first member %d, second %d, repeated across the group %d", len(ka), len(kb), len(ka)+len(kb)-n)
}
