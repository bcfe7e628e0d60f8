package trap

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunHelpSetupErrorAndBody(t *testing.T) {
	m := Module{Name: "m", Description: "test module", Inputs: 0, Outputs: 1}
	out := "f:" + filepath.Join(t.TempDir(), "o.trapcap")
	tests := []struct {
		name     string
		args     []string
		opts     []Option
		code     int
		ran      bool
		inStderr string
	}{
		{"help returns 0 without running the body", []string{"m", "-h"}, nil, 0, false, ""},
		{"missing -i is a setup error", []string{"m"}, nil, 1, false, "ERROR in TRAP initialization"},
		{"a module's own setup error code", []string{"m"}, []Option{WithInitExitCode(4)}, 4, false, "ERROR in TRAP initialization"},
		{"wrong number of IFCs", []string{"m", "-i", out + "," + out}, nil, 1, false, "Bad number of IFCs"},
		{"body's code and arguments", []string{"m", "-i", out, "-x", "7"}, []Option{WithInitExitCode(4)}, 7, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			ran := false
			code := Run(context.Background(), m, tt.args, &stdout, &stderr, func(_ context.Context, c *Context, args []string, _, _ io.Writer) int {
				ran = true
				if c.NumOutputs() != 1 || strings.Join(args, " ") != "-x 7" {
					t.Errorf("outputs %d, args %q", c.NumOutputs(), args)
				}
				return 7
			}, append([]Option{WithoutService()}, tt.opts...)...)
			if code != tt.code || ran != tt.ran || !strings.Contains(stderr.String(), tt.inStderr) {
				t.Errorf("code %d ran %v stderr %q; want %d %v %q", code, ran, stderr.String(), tt.code, tt.ran, tt.inStderr)
			}
		})
	}
}
