// Package trapcap reads a module's f: output back in tests. It is apart
// from testutil so that testutil imports nothing of the project and every
// package's tests (trap and unirec included) can use it.
package trapcap

import (
	"context"
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
// end-of-stream message or its end.
func Read(t testing.TB, path string) Capture {
	t.Helper()
	sp, err := trap.ParseIFCSpec("f:" + path)
	if err != nil {
		t.Fatal(err)
	}
	in, err := trap.OpenInput(sp[0], "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	in.SetRequiredFormat(trap.FormatUniRec, "")
	var tc Capture
	for {
		msg, changed, err := in.Recv(context.Background())
		if err != nil {
			t.Fatalf("read back %s: %v", path, err)
		}
		if changed {
			_, tc.Spec = in.DataFormat()
			if tc.Tmpl, err = unirec.ParseTemplate(tc.Spec); err != nil {
				t.Fatal(err)
			}
		}
		if trap.IsEOS(msg) {
			tc.EOSLen = len(msg)
			return tc
		}
		rec, err := tc.Tmpl.Wrap(msg)
		if err != nil {
			t.Fatal(err)
		}
		tc.Records = append(tc.Records, rec.Clone())
	}
}
