package trap

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
)

// Closing a file input from another goroutine (a signal handler, a
// supervisor) while Recv runs is safe: Recv ends with an error, no panic,
// no data race (run with -race).
func TestFileInputCloseWhileReceiving(t *testing.T) {
	path := filepath.Join(t.TempDir(), "many.trapcap")
	out, err := OpenOutput(mustSpec(t, "f:"+path), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	out.SetDataFormat(FormatRaw, "")
	ctx := context.Background()
	for i := 0; i < 50000; i++ {
		out.Send(ctx, testMessage(i, 60))
	}
	out.Close(ctx)

	in, err := OpenInput(mustSpec(t, "f:"+path), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	in.SetRequiredFormat(FormatRaw, "")
	done := make(chan error, 1)
	started := make(chan struct{})
	go func() {
		n := 0
		for {
			msg, _, err := in.Recv(ctx)
			if n++; n == 10 {
				close(started)
			}
			if err != nil {
				done <- err
				return
			}
			if IsEOS(msg) {
				done <- nil
				return
			}
		}
	}()
	<-started
	if err := in.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil && !errors.Is(err, ErrIO) && !errors.Is(err, ErrTerminated) {
		t.Errorf("Recv after Close: %v, want end of stream, ErrIO or ErrTerminated", err)
	}
}
