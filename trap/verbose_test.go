package trap

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Without WithLogger, -v/-vv/-vvv decide what the interfaces report on
// stderr, as libtrap's verbosity does: warnings always, details with -vv.
func TestVerbosityControlsDefaultLogger(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.trapcap")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	const warning = "empty file skipped"     // Warn
	const detail = "trap file output opened" // Debug
	tests := []struct {
		flag          string
		warn, details bool
	}{
		{"", true, false},
		{"-v", true, false},
		{"-vv", true, true},
		{"-vvv", true, true},
	}
	for _, tt := range tests {
		t.Run("flag "+tt.flag, func(t *testing.T) {
			args := []string{"mod", "-i", "f:" + empty + ",f:" + filepath.Join(dir, "out.trapcap")}
			if tt.flag != "" {
				args = append(args, tt.flag)
			}
			var stderr bytes.Buffer
			c, _, err := Init(context.Background(), Module{Inputs: 1, Outputs: 1}, args, WithStderr(&stderr), WithoutService())
			if err != nil {
				t.Fatal(err)
			}
			in := c.Input(0)
			in.SetRequiredFormat(FormatUniRec, "")
			if msg, _, err := in.Recv(context.Background()); err != nil || len(msg) != 0 {
				t.Fatalf("Recv: %q, %v; want the zero-length end of stream", msg, err)
			}
			c.Finalize(context.Background())
			got := stderr.String()
			if strings.Contains(got, warning) != tt.warn || strings.Contains(got, detail) != tt.details {
				t.Errorf("stderr %q: want warning %v, details %v", got, tt.warn, tt.details)
			}
		})
	}
}
