package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/flowgate/flowgate/internal/testutil"
)

// Our logreplay turns each CSV into the very trapcap the C logreplay wrote
// from it, byte for byte, buffered and unbuffered; a C logger therefore
// reads our files exactly as it reads its own.
func TestLogreplayGolden(t *testing.T) {
	dir := testutil.SharedTestdata(t, "trap")
	tests := []struct{ csv, ifcOpts, want string }{
		{"basic_flows.csv", "", "basic_flows.trapcap"},
		{"basic_flows.csv", ":buffer=off", "basic_flows_bufoff.trapcap"},
		{"strings.csv", "", "strings.trapcap"},
		{"arrays.csv", "", "arrays.trapcap"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.trapcap")
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), []string{"logreplay", "-i", "f:" + out + tt.ifcOpts, "-f", filepath.Join(dir, tt.csv)}, &stdout, &stderr)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			got, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join(dir, tt.want))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s: %d bytes, golden %d bytes; first difference at %d", tt.want, len(got), len(want), firstDiff(got, want))
			}
		})
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func TestLogreplayOptionsAndErrors(t *testing.T) {
	dir := testutil.SharedTestdata(t, "trap")
	tmp := t.TempDir()
	badHeader := filepath.Join(tmp, "bad.csv")
	os.WriteFile(badHeader, []byte("uint33 FOO\n1\n"), 0o644)
	badRow := filepath.Join(tmp, "badrow.csv")
	os.WriteFile(badRow, []byte("uint16 PORT,ipaddr IP\n1,10.0.0.1\nnotanumber,10.0.0.2\n3,10.0.0.3\n"), 0o644)
	out := "f:" + filepath.Join(tmp, "o.trapcap")
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"missing -f", []string{"-i", out}, exitBadArgs},
		{"unreadable file", []string{"-i", out, "-f", filepath.Join(tmp, "none.csv")}, exitOpen},
		{"invalid field in header", []string{"-i", out, "-f", badHeader}, exitBadField},
		{"bad row is skipped", []string{"-i", out, "-f", badRow}, exitOK},
		{"cut and no EOF", []string{"-i", out, "-f", filepath.Join(dir, "basic_flows.csv"), "-c", "2", "-n"}, exitOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var o bytes.Buffer
			if code := run(context.Background(), append([]string{"logreplay"}, tt.args...), &o, &o); code != tt.code {
				t.Errorf("exit %d, want %d (%s)", code, tt.code, o.String())
			}
		})
	}
}
