package ingest

import (
	"context"

	"github.com/flowgate/flowgate/unirec"
)

// Output delivers UniRec records of one template somewhere: a TRAP interface
// today, other transports later. Send may be called from several goroutines
// at once; implementations serialise as they need to.
type Output interface {
	// Name identifies the output in logs and metrics (e.g. its IFC spec).
	Name() string
	// Template is the UniRec template of every record the output carries.
	Template() *unirec.Template
	// Send queues one record (its bytes in Template's layout). rec is only
	// valid during the call; implementations copy what they keep.
	Send(ctx context.Context, rec []byte) error
	// Flush hands everything queued so far on to the receivers.
	Flush(ctx context.Context) error
	// Close delivers what is still queued (waiting at most until ctx ends)
	// and releases the output.
	Close(ctx context.Context) error
}

// FixedSender is implemented by outputs that take many records of one
// size in a call: data holds them back to back, each size bytes long.
// SendFixed sends them in order as Send would one by one and returns how
// many were sent; on error, those before the failing one were.
type FixedSender interface {
	SendFixed(ctx context.Context, data []byte, size int) (int, error)
}

// StreamEnder is implemented by outputs that can tell their receivers the
// stream has ended for good (TRAP's end-of-stream message). The daemon calls
// it on final shutdown, not when it restarts outputs on a reload.
type StreamEnder interface {
	EndStream(ctx context.Context) error
}

// EndStreams ends the stream of every output that supports it and returns
// the first error.
func EndStreams(ctx context.Context, outs []Output) error {
	var first error
	for _, o := range outs {
		if e, ok := o.(StreamEnder); ok {
			if err := e.EndStream(ctx); err != nil && first == nil {
				first = err
			}
		}
	}
	return first
}

// CloseAll closes every output and returns the first error.
func CloseAll(ctx context.Context, outs []Output) error {
	var first error
	for _, o := range outs {
		if err := o.Close(ctx); err != nil && first == nil {
			first = err
		}
	}
	return first
}
