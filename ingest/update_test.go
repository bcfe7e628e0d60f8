package ingest

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/flowgate/flowgate/collector"
	"github.com/flowgate/flowgate/internal/testutil"
)

// chanSource emits n records into every target for each n received, and
// counts how often it was started.
type chanSource struct {
	c    chan int
	ack  chan struct{}
	runs int
}

// emit has the source emit n records per target and waits until it did.
func (s *chanSource) emit(n int) {
	s.c <- n
	<-s.ack
}

func (s *chanSource) Name() string { return "chan" }
func (s *chanSource) Run(ctx context.Context, targets []*Target) error {
	s.runs++
	for {
		select {
		case <-ctx.Done():
			return nil
		case n := <-s.c:
			for _, tg := range targets {
				rec := tg.Template().NewRecord()
				for range n {
					tg.Emit(ctx, rec.Data)
				}
			}
			s.ack <- struct{}{}
		}
	}
}

// Update keeps the source running and the outputs it keeps, with their
// counters; a removed output gets nothing once Update returns, an added
// one everything after.
func TestPipelineUpdateKeepsSourcesAndOutputs(t *testing.T) {
	kept := newMemOutput(t, "kept", "uint32 PACKETS")
	removed := newMemOutput(t, "removed", "uint32 PACKETS")
	added := newMemOutput(t, "added", "uint64 BYTES")
	src := &chanSource{c: make(chan int), ack: make(chan struct{})}
	p, err := NewPipeline([]Source{src}, []Output{kept, removed}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	src.emit(5)
	// Same sources and outputs: nothing changes.
	if err := p.Update([]Source{src}, []Output{kept, removed}); err != nil {
		t.Fatal(err)
	}
	src.emit(5)
	// One output removed, one of another template added: the source is
	// restarted (it cannot retarget), the kept output goes on.
	if err := p.Update([]Source{src}, []Output{kept, added}); err != nil {
		t.Fatal(err)
	}
	src.emit(5)
	if st := p.OutputStats(); len(st) != 2 || st[0].Name != "kept" || st[0].Sent != 15 {
		t.Errorf("stats %+v: the kept output's counter must go on", st)
	}
	// Everything removed for a moment, then back: Run does not end.
	if err := p.Update(nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := p.Update([]Source{src}, []Output{kept, added}); err != nil {
		t.Fatal(err)
	}
	src.emit(5)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if kept.count() != 20 || removed.count() != 10 || added.count() != 10 {
		t.Errorf("kept %d (want 20), removed %d (want 10), added %d (want 10)", kept.count(), removed.count(), added.count())
	}
	if src.runs != 3 {
		t.Errorf("source started %d times, want 3 (once, again for the new template, again after being removed)", src.runs)
	}
}

// A running collector switches to a new output template in place: the
// same socket, and the new output decodes data whose templates came before
// the switch.
func TestCollectorRetargetKeepsSocketAndTemplates(t *testing.T) {
	dir := sharedTestdata(t, "netflow")
	dgrams, _ := capturePayloads(t, filepath.Join(dir, "flowgen_v9_v4v6_sampled.pcap"), false)
	rc := startCollector(t, CollectorConfig{UDP: []string{"127.0.0.1:0"}, TCP: []string{}}, nil, biflowSpec)
	addr := rc.src.UDPAddrs()[0]
	c, err := net.Dial("udp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, d := range dgrams {
		c.Write(d)
	}
	// nfcapd 1.7.1 stores this many flows of the capture; flowgate as many.
	want, _, _, _, _ := nfcapdTotals(t, filepath.Join(dir, "nfcapd171", "flowgen_v9_v4v6_sampled.csv"))
	waitFor(t, func() bool { return rc.outs[0].count() == want })
	before, recBefore := rc.outs[0].count(), int(rc.src.Totals().Records.Load())
	p := rc.pipeline
	extra := newMemOutput(t, "extra", "ipaddr SRC_IP,uint64 BYTES")
	if err := p.Update([]Source{rc.src}, []Output{rc.outs[0], extra}); err != nil {
		t.Fatal(err)
	}
	if got := rc.src.UDPAddrs(); len(got) != 1 || got[0] != addr {
		t.Fatalf("collector sockets %v after the update, want %v", got, addr)
	}
	data := dataOnly(dgrams)
	for _, d := range data {
		c.Write(d)
	}
	// Every record decoded from the data-only datagrams reaches both
	// outputs (a wait that ends at the bound fails below).
	testutil.Eventually(testutil.WaitTimeout, func() bool {
		tot := rc.src.Totals()
		n := int(tot.Records.Load()) - recBefore
		return tot.Packets.Load() >= uint64(len(dgrams)+len(data)) && rc.outs[0].count()-before == n && extra.count() == n
	})
	if extra.count() == 0 || extra.count() != rc.outs[0].count()-before {
		t.Errorf("new output got %d records of the data-only datagrams, the kept one %d", extra.count(), rc.outs[0].count()-before)
	}
}

// A reload that removes the collector's first output target drops that
// target's decoder: the decoders of the remaining targets go on with their
// templates (data-only datagrams still decode), the removed target gets
// nothing more, and the exporter counters go on from where they were even
// though the decoder they were read from is gone.
func TestCollectorRetargetDropsRemovedTargetsDecoder(t *testing.T) {
	dir := sharedTestdata(t, "netflow")
	dgrams, _ := capturePayloads(t, filepath.Join(dir, "flowgen_v9_v4v6_sampled.pcap"), false)
	data := dataOnly(dgrams)
	rc := startCollector(t, CollectorConfig{UDP: []string{"127.0.0.1:0"}, TCP: []string{}}, nil, biflowSpec)
	c, err := net.Dial("udp", rc.src.UDPAddrs()[0].String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	send := func(ds [][]byte) {
		for _, d := range ds {
			c.Write(d)
		}
	}
	sent := 0
	// flushed waits until the collector counted every datagram sent.
	flushed := func(want int) {
		t.Helper()
		waitFor(t, func() bool { tot := rc.src.Totals(); return tot != nil && tot.Packets.Load() == uint64(want) })
	}
	first := rc.outs[0]
	send(dgrams)
	sent += len(dgrams)
	flushed(sent)
	firstTarget := rc.src.decs.Load().targets[0]

	// A second output (another template) joins: its decoder starts later,
	// with the templates learnt so far.
	second := newMemOutput(t, "second", "ipaddr SRC_IP,uint64 BYTES")
	if err := rc.pipeline.Update([]Source{rc.src}, []Output{first, second}); err != nil {
		t.Fatal(err)
	}
	send(data)
	sent += len(data)
	flushed(sent)
	waitFor(t, func() bool { return second.count() > 0 })
	perSeries := func() (n uint64) {
		rc.src.ExporterSeries(func(_ collector.ExporterKey, cnt *collector.Counters) { n += cnt.Packets.Load() })
		return n
	}
	before := rc.src.Totals().Snapshot()
	if perSeries() != uint64(sent) {
		t.Fatalf("series count %d datagrams, want %d", perSeries(), sent)
	}

	// The first output goes: its decoder must go with it.
	if err := rc.pipeline.Update([]Source{rc.src}, []Output{second}); err != nil {
		t.Fatal(err)
	}
	set := rc.src.decs.Load()
	if len(set.decs) != 1 || set.targets[0] == firstTarget {
		t.Fatalf("%d decoders after the retarget (first target kept: %v), want 1, the second target's", len(set.decs), set.targets[0] == firstTarget)
	}
	if tot := rc.src.Totals().Snapshot(); tot != before {
		t.Errorf("counters changed by the retarget alone:\n%+v\nwant\n%+v", tot, before)
	}
	firstRecords, secondBefore := firstTarget.Records(), second.count()
	send(data)
	sent += len(data)
	flushed(sent)
	waitFor(t, func() bool {
		return rc.src.Totals().Records.Load() == before.Records+uint64(second.count()-secondBefore)
	})
	if got := firstTarget.Records(); got != firstRecords {
		t.Errorf("the removed target got %d records after the retarget", got-firstRecords)
	}
	if second.count() == secondBefore {
		t.Error("the remaining target decoded nothing of the data-only datagrams: its templates were lost")
	}
	if perSeries() != uint64(sent) {
		t.Errorf("series count %d datagrams, want %d", perSeries(), sent)
	}
	var perExporter uint64
	rc.src.Exporters(func(_ netip.Addr, cnt *collector.Counters) { perExporter += cnt.Packets.Load() })
	if perExporter != uint64(sent) {
		t.Errorf("exporters count %d datagrams, want %d", perExporter, sent)
	}
}

// A reload during a TCP session: the templates of a stream (sent once, at
// the start of the connection) reach the decoders of the new targets too,
// so that data arriving later on the same connection reaches the new
// outputs, whether they join the kept ones or replace them all.
func TestCollectorRetargetKeepsStreamTemplates(t *testing.T) {
	dir := sharedTestdata(t, "netflow")
	_, stream := capturePayloads(t, filepath.Join(dir, "flowgen_ipfix_tcp.pcap"), true)
	var msgs [][]byte
	for r := bytes.NewReader(stream); ; {
		m, err := collector.ReadMessage(r, nil)
		if err != nil {
			break
		}
		msgs = append(msgs, bytes.Clone(m))
	}
	data := dataOnly(msgs)
	if len(data) == 0 {
		t.Fatal("the capture has no data-only message")
	}
	rc := startCollector(t, CollectorConfig{UDP: []string{}, TCP: []string{"127.0.0.1:0"}}, nil, biflowSpec)
	c, err := net.Dial("tcp", rc.src.TCPAddrs()[0].String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sent := 0
	send := func(ms [][]byte) {
		t.Helper()
		for _, m := range ms {
			if _, err := c.Write(m); err != nil {
				t.Fatal(err)
			}
		}
		sent += len(ms)
		waitFor(t, func() bool { tot := rc.src.Totals(); return tot != nil && tot.Packets.Load() == uint64(sent) })
	}
	first := rc.outs[0]
	send(msgs)
	before := first.count()

	// A second output joins while the connection stays open.
	second := newMemOutput(t, "second", "ipaddr SRC_IP,uint64 BYTES")
	if err := rc.pipeline.Update([]Source{rc.src}, []Output{first, second}); err != nil {
		t.Fatal(err)
	}
	send(data)
	n := first.count() - before
	if n == 0 {
		t.Fatal("the kept output got nothing of the data-only messages")
	}
	waitFor(t, func() bool { return second.count() >= n })
	if got := second.count(); got != n {
		t.Fatalf("the joining output got %d records of the data-only messages, the kept one %d", got, n)
	}

	// A third replaces both.
	third := newMemOutput(t, "third", "ipaddr DST_IP,uint64 PACKETS")
	if err := rc.pipeline.Update([]Source{rc.src}, []Output{third}); err != nil {
		t.Fatal(err)
	}
	missing := rc.src.Totals().MissingTemplate.Load()
	send(data)
	waitFor(t, func() bool { return third.count() >= n })
	if got := third.count(); got != n {
		t.Errorf("the replacing output got %d records of the data-only messages, want %d", got, n)
	}
	if got := rc.src.Totals().MissingTemplate.Load(); got != missing {
		t.Errorf("%d data sets without their template after the reload", got-missing)
	}
}
