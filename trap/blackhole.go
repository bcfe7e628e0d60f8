package trap

import (
	"context"
	"sync/atomic"
)

// blackhole is the b: output: every send succeeds and the data is dropped
// (libtrap ifc_dummy.c).
type blackhole struct {
	sent atomic.Uint64
}

func newBlackholeOutput(IfcSpec) *blackhole { return &blackhole{} }

func (b *blackhole) setFormat(Hello) error { return nil }
func (b *blackhole) send(_ context.Context, _ []byte) error {
	b.sent.Add(1)
	return nil
}
func (b *blackhole) sendFixed(_ context.Context, data []byte, size int) (int, error) {
	n := len(data) / size
	b.sent.Add(uint64(n))
	return n, nil
}
func (b *blackhole) sendBatch(_ context.Context, _ []byte, n int) error {
	b.sent.Add(uint64(n))
	return nil
}
func (b *blackhole) flush(context.Context) error { return nil }
func (b *blackhole) close(context.Context) error { return nil }
func (b *blackhole) stats() OutputStats {
	return OutputStats{Kind: KindBlackhole, ID: "blackhole", SentMessages: b.sent.Load()}
}
