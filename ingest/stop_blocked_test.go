package ingest

import (
	"context"
	"net/netip"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowgate/flowgate/converters"
	"github.com/flowgate/flowgate/internal/testutil"
	"github.com/flowgate/flowgate/unirec"
)

// waitOutput is an output that never takes a record, as a u: output with
// timeout=WAIT and no client: each send waits until its context ends.
type waitOutput struct {
	tmpl    *unirec.Template
	waiting atomic.Int32
	refused atomic.Int32
}

func (o *waitOutput) Name() string               { return "wait" }
func (o *waitOutput) Template() *unirec.Template { return o.tmpl }
func (o *waitOutput) Send(ctx context.Context, _ []byte) error {
	o.waiting.Add(1)
	defer o.waiting.Add(-1)
	<-ctx.Done()
	o.refused.Add(1)
	return ctx.Err()
}
func (o *waitOutput) Flush(context.Context) error { return nil }
func (o *waitOutput) Close(context.Context) error { return nil }

// A stop while an output blocks every send ends after the longest drain
// (maxDrainFactor × Drain) instead of never: the waiting send is given up
// and counted as dropped by that output, and the source ends. Both UDP
// sources (collector and sFlow) are checked.
func TestUDPSourcesStopWhileAnOutputBlocks(t *testing.T) {
	const drain = 20 * time.Millisecond
	for _, tc := range []struct {
		name   string
		source func(t *testing.T) (udpSource, [][]byte, string)
		read   func(src udpSource) uint64 // datagrams the source read
	}{
		{"collector", func(t *testing.T) (udpSource, [][]byte, string) {
			dgrams, _ := capturePayloads(t, filepath.Join(sharedTestdata(t, "netflow"), "flowgen_v9_v4v6_sampled.pcap"), false)
			src, err := NewCollector(CollectorConfig{Name: "test", UDP: []string{"127.0.0.1:0"}, TCP: []string{}, Drain: drain}, nil)
			if err != nil {
				t.Fatal(err)
			}
			// More datagrams than one read takes (sockBatch), so that
			// some are still queued behind the blocked one.
			var all [][]byte
			for len(all) < 3*sockBatch {
				all = append(all, dgrams...)
			}
			return src, all, biflowSpec
		}, func(src udpSource) uint64 { return src.(*CollectorSource).Totals().Packets.Load() }},
		{"sflow", func(t *testing.T) (udpSource, [][]byte, string) {
			src, err := NewSflow(SflowConfig{Name: "test", UDP: []string{"127.0.0.1:0"}, Drain: drain}, nil)
			if err != nil {
				t.Fatal(err)
			}
			var all [][]byte
			for i := range 3 * sockBatch {
				all = append(all, sflowTestDatagram(uint32(i+1), 3))
			}
			return src, all, converters.SflowTemplate
		}, func(src udpSource) uint64 { return src.(*SflowSource).Totals().Datagrams }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, dgrams, spec := tc.source(t)
			tmpl, err := unirec.ParseTemplate(spec)
			if err != nil {
				t.Fatal(err)
			}
			out := &waitOutput{tmpl: tmpl}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if err := src.Listen(ctx); err != nil {
				t.Fatal(err)
			}
			p, err := NewPipeline([]Source{src}, []Output{out}, nil)
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- p.Run(ctx) }()
			sendUDP(t, src.UDPAddrs()[0].String(), dgrams)
			waitFor(t, func() bool { return out.waiting.Load() > 0 })

			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("pipeline: %v", err)
				}
			case <-time.After(testutil.WaitTimeout):
				t.Fatal("the source did not stop while its output blocked")
			}
			var failed uint64
			for _, s := range p.OutputStats() {
				failed += s.Failed
			}
			if failed == 0 || out.refused.Load() == 0 {
				t.Errorf("the record the output never took is not counted as dropped (failed %d, refused %d)", failed, out.refused.Load())
			}
			// The datagrams behind the blocked one were never read: they
			// are lost at the socket, and counted there.
			read, drops := tc.read(src), src.SocketDrops()
			if read+drops != uint64(len(dgrams)) || drops == 0 {
				t.Errorf("%d datagrams read and %d counted as socket drops, want %d in all (some dropped)", read, drops, len(dgrams))
			}
		})
	}
}

// udpSource is what the test needs of a UDP source.
type udpSource interface {
	Source
	Listen(ctx context.Context) error
	UDPAddrs() []netip.AddrPort
	SocketDrops() uint64
}
