package unirec

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/flowgate/flowgate/internal/testutil"
)

// findTrapDir is shared/testdata/trap beside the repository, or "".
func findTrapDir() string {
	p, _ := testutil.FindShared("trap")
	return p
}

// trapDir is findTrapDir that skips the test when the golden data is absent.
func trapDir(t testing.TB) string {
	t.Helper()
	d := findTrapDir()
	if d == "" {
		t.Skip("golden data shared/testdata/trap not found above the working directory")
	}
	return d
}

func readGolden(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(trapDir(t), name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// trapcap is a decoded .trapcap file (trap-wire.md §8.1).
type trapcap struct {
	dataType byte
	spec     string
	msgs     [][]byte // all messages, including the 1-byte EOS
}

func parseTrapcap(b []byte) (*trapcap, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("trapcap: %d bytes, want an 8-byte hello", len(b))
	}
	tc := &trapcap{dataType: b[0]}
	l := int(binary.BigEndian.Uint32(b[4:8]))
	if 8+l > len(b) {
		return nil, fmt.Errorf("trapcap: spec length %d past end", l)
	}
	tc.spec = string(b[8 : 8+l])
	b = b[8+l:]
	for len(b) > 0 {
		if len(b) < 4 {
			return nil, fmt.Errorf("trapcap: truncated buffer header")
		}
		p := int(binary.BigEndian.Uint32(b))
		if 4+p > len(b) {
			return nil, fmt.Errorf("trapcap: buffer of %d bytes past end", p)
		}
		buf := b[4 : 4+p]
		b = b[4+p:]
		for len(buf) > 0 {
			if len(buf) < 2 {
				return nil, fmt.Errorf("trapcap: truncated message header")
			}
			m := int(binary.BigEndian.Uint16(buf))
			if 2+m > len(buf) {
				return nil, fmt.Errorf("trapcap: message of %d bytes past buffer end", m)
			}
			tc.msgs = append(tc.msgs, buf[2:2+m])
			buf = buf[2+m:]
		}
	}
	return tc, nil
}

// goldenRecords returns the template and the record messages (EOS dropped)
// of NAME.trapcap.
func goldenRecords(t testing.TB, name string) (*Template, [][]byte) {
	t.Helper()
	tc, err := parseTrapcap(readGolden(t, name+".trapcap"))
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := ParseTemplate(tc.spec)
	if err != nil {
		t.Fatal(err)
	}
	var recs [][]byte
	for _, m := range tc.msgs {
		if len(m) > 1 {
			recs = append(recs, m)
		}
	}
	return tmpl, recs
}
