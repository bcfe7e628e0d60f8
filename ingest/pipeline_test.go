package ingest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/flowgate/flowgate/unirec"
)

// funcSource emits n records with PACKETS = 1..n into every target, then
// returns err (or blocks until ctx ends when block is set).
type funcSource struct {
	n     int
	err   error
	block bool
	seen  [][]*unirec.Template
}

func (s *funcSource) Name() string { return "func" }
func (s *funcSource) Run(ctx context.Context, targets []*Target) error {
	var tmpls []*unirec.Template
	for _, tg := range targets {
		tmpls = append(tmpls, tg.Template())
		id, _ := tg.Template().Lookup("PACKETS")
		rec := tg.Template().NewRecord()
		for i := 1; i <= s.n; i++ {
			rec.SetUint32(id, uint32(i))
			tg.Emit(ctx, rec.Data)
		}
	}
	s.seen = append(s.seen, tmpls)
	if s.block {
		<-ctx.Done()
	}
	return s.err
}

func TestPipelineGroupsOutputsByTemplate(t *testing.T) {
	a := newMemOutput(t, "a", "uint32 PACKETS,uint64 BYTES")
	b := newMemOutput(t, "b", "uint64 BYTES,uint32 PACKETS") // same template, other order
	c := newMemOutput(t, "c", "uint32 PACKETS")
	src := &funcSource{n: 3}
	p, err := NewPipeline([]Source{src}, []Output{a, b, c}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(p.Targets()); got != 2 {
		t.Fatalf("targets = %d, want 2 (one per distinct template)", got)
	}
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, o := range []*memOutput{a, b, c} {
		if o.count() != 3 {
			t.Errorf("output %s got %d records, want 3", o.name, o.count())
		}
		if totals(t, o.records(), "PACKETS") != 6 {
			t.Errorf("output %s: PACKETS total %d, want 6", o.name, totals(t, o.records(), "PACKETS"))
		}
	}
}

func TestPipelineFlushesEveryOutputWhenStopped(t *testing.T) {
	a := newMemOutput(t, "a", "uint32 PACKETS")
	b := newMemOutput(t, "b", "uint32 PACKETS,uint8 TOS")
	src := &funcSource{n: 1, block: true}
	p, err := NewPipeline([]Source{src}, []Output{a, b}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	time.Sleep(10 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run after cancel: %v, want nil", err)
	}
	if a.flushes != 1 || b.flushes != 1 {
		t.Errorf("flushes = %d, %d; want 1 each", a.flushes, b.flushes)
	}
	if a.closed || b.closed {
		t.Error("pipeline closed outputs it does not own")
	}
}

func TestPipelineCountsRecordsRefusedByAnOutput(t *testing.T) {
	good := newMemOutput(t, "good", "uint32 PACKETS")
	bad := newMemOutput(t, "bad", "uint32 PACKETS")
	bad.fail = errors.New("receiver gone")
	p, err := NewPipeline([]Source{&funcSource{n: 5}}, []Output{good, bad}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := p.OutputStats()
	want := []OutputStats{{Name: "good", Sent: 5}, {Name: "bad", Failed: 5}}
	if len(st) != 2 || st[0] != want[0] || st[1] != want[1] {
		t.Errorf("stats = %+v, want %+v", st, want)
	}
	if good.count() != 5 {
		t.Errorf("a failing output stopped the others: good got %d", good.count())
	}
}

func TestPipelineReturnsSourceFailuresNamed(t *testing.T) {
	o := newMemOutput(t, "o", "uint32 PACKETS")
	p, err := NewPipeline([]Source{&funcSource{n: 1, err: errors.New("disk on fire")}, &funcSource{n: 2}}, []Output{o}, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = p.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "source func: disk on fire") {
		t.Errorf("err = %v, want the failing source named", err)
	}
	if o.count() != 3 || o.flushes != 1 {
		t.Errorf("records %d flushes %d, want 3 and 1", o.count(), o.flushes)
	}
}

func TestNewPipelineRejects(t *testing.T) {
	o := newMemOutput(t, "o", "uint32 PACKETS")
	noTmpl := &memOutput{name: "none"}
	for _, tc := range []struct {
		name    string
		sources []Source
		outputs []Output
		want    string
	}{
		{"no sources", nil, []Output{o}, "no sources"},
		{"no outputs", []Source{&funcSource{}}, nil, "no outputs"},
		{"output without template", []Source{&funcSource{}}, []Output{noTmpl}, `output "none" has no template`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewPipeline(tc.sources, tc.outputs, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestEndStreamsAndCloseAll(t *testing.T) {
	a, b := newMemOutput(t, "a", "uint32 PACKETS"), newMemOutput(t, "b", "uint32 PACKETS")
	outs := []Output{a, b}
	if err := EndStreams(context.Background(), outs); err != nil {
		t.Fatal(err)
	}
	if err := CloseAll(context.Background(), outs); err != nil {
		t.Fatal(err)
	}
	if !a.ended || !b.ended || !a.closed || !b.closed {
		t.Errorf("ended %v %v closed %v %v", a.ended, b.ended, a.closed, b.closed)
	}
}
