package ingest

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/flowgate/flowgate/converters"
	"github.com/flowgate/flowgate/unirec"
)

func readerStacks() int {
	buf := make([]byte, 1<<20)
	n := runtime.Stack(buf, true)
	return strings.Count(string(buf[:n]), "readSocket")
}

func TestReviewStopPromptly(t *testing.T) {
	for _, mode := range []string{"cancel", "close"} {
		for _, kind := range []string{"collector", "sflow"} {
			t.Run(kind+"/"+mode, func(t *testing.T) {
				base := runtime.NumGoroutine()
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				var run func() error
				var closeFn func()
				switch kind {
				case "collector":
					src, err := NewCollector(CollectorConfig{Name: "x", UDP: []string{"127.0.0.1:0"}, Sockets: 4, Drain: 50 * time.Millisecond}, nil)
					if err != nil {
						t.Fatal(err)
					}
					tg := NewTarget(mustTmpl(t, converters.BasicFlowTemplate), []Output{newMemOutput(t, "o", converters.BasicFlowTemplate)}, nil)
					run = func() error { return src.Run(ctx, []*Target{tg}) }
					closeFn = src.Close
				case "sflow":
					src, err := NewSflow(SflowConfig{Name: "x", UDP: []string{"127.0.0.1:0"}, Sockets: 4, Drain: 50 * time.Millisecond}, nil)
					if err != nil {
						t.Fatal(err)
					}
					tg := NewTarget(mustTmpl(t, converters.SflowTemplate), []Output{newMemOutput(t, "o", converters.SflowTemplate)}, nil)
					run = func() error { return src.Run(ctx, []*Target{tg}) }
					closeFn = src.Close
				}
				done := make(chan error, 1)
				go func() { done <- run() }()
				waitFor(t, func() bool { return readerStacks() >= 4 })
				time.Sleep(300 * time.Millisecond) // readers blocked in the kernel
				start := time.Now()
				if mode == "cancel" {
					cancel()
				} else {
					closeFn()
				}
				select {
				case <-done:
				case <-time.After(3 * time.Second):
					t.Fatalf("Run did not return (%d readers)", readerStacks())
				}
				t.Logf("returned after %v", time.Since(start))
				waitFor(t, func() bool { return runtime.NumGoroutine() <= base })
				if n := readerStacks(); n != 0 {
					t.Fatalf("%d readers left", n)
				}
			})
		}
	}
}

func mustTmpl(t *testing.T, spec string) *unirec.Template {
	tm, err := unirec.ParseTemplate(spec)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}
