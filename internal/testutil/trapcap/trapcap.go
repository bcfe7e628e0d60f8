// Package trapcap reads a module's f: output back in tests. It is apart
// from testutil so that testutil imports nothing of the project and every
// package's tests (trap and unirec included) can use it.
package trapcap

import (
	"context"
	"fmt"
	"testing"

	"github.com/flowgate/flowgate/trap"
	"github.com/flowgate/flowgate/unirec"
)

// Capture is what a TRAP file input reads back from a module's f: output.
type Capture struct {
	Spec    string // the UniRec template the file announces
	Tmpl    *unirec.Template
	Records []unirec.Record
	EOSLen  int // length of the end-of-stream message: 1 sent by the module, 0 the file's end
}

// Read reads a .trapcap file through a TRAP file input, up to its
// end-of-stream message or its end, and fails the test on an error.
func Read(t testing.TB, path string) Capture {
	t.Helper()
	tc, err := TryRead(path)
	if err != nil {
		t.Fatal(err)
	}
	return tc
}

// TryRead is Read returning the error, for a file that a running module
// may still be writing (a wait polls it until it holds what it should).
func TryRead(path string) (Capture, error) {
	var tc Capture
	sp, err := trap.ParseIFCSpec("f:" + path)
	if err != nil {
		return tc, err
	}
	in, err := trap.OpenInput(sp[0], "", nil)
	if err != nil {
		return tc, err
	}
	defer in.Close()
	in.SetRequiredFormat(trap.FormatUniRec, "")
	for {
		msg, changed, err := in.Recv(context.Background())
		if err != nil {
			return tc, fmt.Errorf("read back %s: %w", path, err)
		}
		if changed {
			_, tc.Spec = in.DataFormat()
			if tc.Tmpl, err = unirec.ParseTemplate(tc.Spec); err != nil {
				return tc, fmt.Errorf("read back %s: %w", path, err)
			}
		}
		if trap.IsEOS(msg) {
			tc.EOSLen = len(msg)
			return tc, nil
		}
		rec, err := tc.Tmpl.Wrap(msg)
		if err != nil {
			return tc, fmt.Errorf("read back %s: %w", path, err)
		}
		tc.Records = append(tc.Records, rec.Clone())
	}
}
