package testutil

import (
	"context"
	"testing"

	"github.com/flowgate/flowgate/trap"
	"github.com/flowgate/flowgate/unirec"
)

// Trapcap is what a TRAP file input reads back from a module's f: output.
type Trapcap struct {
	Spec    string // the UniRec template the file announces
	Tmpl    *unirec.Template
	Records []unirec.Record
	EOSLen  int // length of the end-of-stream message: 1 sent by the module, 0 the file's end
}

// ReadTrapcap reads a .trapcap file through a TRAP file input, up to its
// end-of-stream message or its end. The package trap and unirec tests
// cannot use it (it imports both).
func ReadTrapcap(t testing.TB, path string) Trapcap {
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
	var tc Trapcap
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
