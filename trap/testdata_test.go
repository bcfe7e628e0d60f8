package trap

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/flowgate/flowgate/internal/testutil"
)

// goldenDir is ../shared/testdata/trap (skipped when absent).
func goldenDir(t testing.TB) string { return testutil.SharedTestdata(t, "trap") }

func readGolden(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(goldenDir(t), name))
	if err != nil {
		if os.IsNotExist(err) {
			t.Skipf("golden file %s is absent", name)
		}
		t.Fatal(err)
	}
	return b
}

// splitTrapcap is an independent, test-only reader of a .trapcap: it
// returns the hello and the messages of every buffer.
func splitTrapcap(t testing.TB, b []byte) (Hello, [][][]byte) {
	t.Helper()
	if len(b) < HelloHeaderSize {
		t.Fatalf("trapcap of %d bytes has no hello", len(b))
	}
	n := int(binary.BigEndian.Uint32(b[4:8]))
	h := Hello{Format: Format(b[0]), Spec: string(b[8 : 8+n])}
	b = b[8+n:]
	var bufs [][][]byte
	for len(b) > 0 {
		p := int(binary.BigEndian.Uint32(b))
		payload := b[4 : 4+p]
		b = b[4+p:]
		var msgs [][]byte
		for len(payload) > 0 {
			m := int(binary.BigEndian.Uint16(payload))
			msgs = append(msgs, payload[2:2+m])
			payload = payload[2+m:]
		}
		bufs = append(bufs, msgs)
	}
	return h, bufs
}
