package trap

import (
	"context"
	"time"
)

// DefaultShutdownGrace is how long Finalize may still try to deliver after
// a module was told to stop (SIGTERM, SIGINT).
const DefaultShutdownGrace = time.Second

// ShutdownContext returns the context a module passes to Finalize. It
// stays alive as long as parent does, so a module that ends on its own
// (end of stream, -c) delivers everything to its clients, as libtrap's
// finalize does. Once parent ends (the module got SIGTERM), it ends grace
// later: a client that stopped reading, or a WAIT output nobody connected
// to, cannot keep the module from exiting (the C modules hang there,
// trap-wire.md §5.3). Call cancel when Finalize returns.
func ShutdownContext(parent context.Context, grace time.Duration) (ctx context.Context, cancel context.CancelFunc) {
	ctx, cancel = context.WithCancel(context.WithoutCancel(parent))
	go func() {
		select {
		case <-parent.Done():
		case <-ctx.Done():
			return
		}
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-t.C:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// FinalizeAfter finalizes c with ShutdownContext(parent, grace): the usual
// deferred call of a module whose ctx ends on SIGTERM.
func (c *Context) FinalizeAfter(parent context.Context, grace time.Duration) error {
	ctx, cancel := ShutdownContext(parent, grace)
	defer cancel()
	return c.Finalize(ctx)
}
