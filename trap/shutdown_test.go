package trap

import (
	"context"
	"testing"
	"time"
)

func TestShutdownContext(t *testing.T) {
	t.Run("stays alive while the parent does", func(t *testing.T) {
		parent, stop := context.WithCancel(context.Background())
		defer stop()
		ctx, cancel := ShutdownContext(parent, time.Millisecond)
		defer cancel()
		select {
		case <-ctx.Done():
			t.Fatal("ended although the parent is alive")
		case <-time.After(20 * time.Millisecond):
		}
	})
	t.Run("ends after the grace once the parent ends", func(t *testing.T) {
		parent, stop := context.WithCancel(context.Background())
		ctx, cancel := ShutdownContext(parent, time.Millisecond)
		defer cancel()
		stop()
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("still alive long after the parent ended")
		}
	})
	t.Run("cancel ends it", func(t *testing.T) {
		ctx, cancel := ShutdownContext(context.Background(), time.Hour)
		cancel()
		if ctx.Err() == nil {
			t.Fatal("alive after cancel")
		}
	})
}
