package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowgate/flowgate/internal/testutil"
)

// The repeater prints each record as the logger does and resends it; like
// the Python example it does not forward the end of stream, so its output
// is the input trapcap less the final EOS message.
func TestRepeaterPrintsAndResends(t *testing.T) {
	dir := testutil.SharedTestdata(t, "trap")
	for _, set := range []string{"basic_flows", "strings", "arrays"} {
		t.Run(set, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.trapcap")
			var stdout, stderr bytes.Buffer
			args := []string{"repeater", "-i", "f:" + filepath.Join(dir, set+".trapcap") + ",f:" + out}
			if code := run(context.Background(), args, &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			golden, _ := os.ReadFile(filepath.Join(dir, set+".logger.txt"))
			lines := strings.SplitAfterN(string(golden), "\n", 2)
			if stdout.String() != lines[1] {
				t.Errorf("printed\n%s\nwant\n%s", stdout.String(), lines[1])
			}
			got, _ := os.ReadFile(out)
			in, _ := os.ReadFile(filepath.Join(dir, set+".trapcap"))
			// One buffer in both: the payload length shrinks by the 3-byte EOS message.
			if len(got) != len(in)-3 || !bytes.Equal(got[len(got)-10:], in[len(in)-13:len(in)-3]) {
				t.Errorf("output %d bytes, input %d: want the input without its EOS", len(got), len(in))
			}
		})
	}
}
