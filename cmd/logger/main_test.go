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

// Every trapcap captured from the C logreplay prints, through our logger
// -t, exactly what the C logger printed.
func TestLoggerGolden(t *testing.T) {
	dir := testutil.SharedTestdata(t, "trap")
	tests := []struct{ trapcap, want string }{
		{"basic_flows.trapcap", "basic_flows.logger.txt"},
		{"basic_flows_bufoff.trapcap", "basic_flows.logger.txt"},
		{"strings.trapcap", "strings.logger.txt"},
		{"arrays.trapcap", "arrays.logger.txt"},
	}
	for _, tt := range tests {
		t.Run(tt.trapcap, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join(dir, tt.want))
			if err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), []string{"logger", "-i", "f:" + filepath.Join(dir, tt.trapcap), "-t"}, &stdout, &stderr)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			if got := stdout.String(); got != string(want) {
				t.Errorf("output differs from the C logger's\n got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestLoggerOptions(t *testing.T) {
	dir := testutil.SharedTestdata(t, "trap")
	in := "f:" + filepath.Join(dir, "basic_flows.trapcap")
	golden, err := os.ReadFile(filepath.Join(dir, "basic_flows.logger.txt"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(golden), "\n")

	t.Run("cut after N records without header", func(t *testing.T) {
		var out bytes.Buffer
		if code := run(context.Background(), []string{"logger", "-i", in, "-c", "3"}, &out, &out); code != 0 {
			t.Fatalf("exit %d: %s", code, out.String())
		}
		if want := strings.Join(lines[1:4], ""); out.String() != want {
			t.Errorf("got %q, want %q", out.String(), want)
		}
	})
	t.Run("cut 0 with title prints only the header", func(t *testing.T) {
		var out bytes.Buffer
		if code := run(context.Background(), []string{"logger", "-i", in, "-t", "-c", "0"}, &out, &out); code != 0 {
			t.Fatalf("exit %d", code)
		}
		if out.String() != lines[0] {
			t.Errorf("got %q, want %q", out.String(), lines[0])
		}
	})
	t.Run("delimiter escape", func(t *testing.T) {
		var out bytes.Buffer
		if code := run(context.Background(), []string{"logger", "-i", in, "-c", "1", "-d", `\t`}, &out, &out); code != 0 {
			t.Fatalf("exit %d", code)
		}
		if want := strings.ReplaceAll(lines[1], ",", "\t"); out.String() != want {
			t.Errorf("got %q, want %q", out.String(), want)
		}
	})
	t.Run("receive time column", func(t *testing.T) {
		var out bytes.Buffer
		if code := run(context.Background(), []string{"logger", "-i", in, "-T", "-t", "-c", "1"}, &out, &out); code != 0 {
			t.Fatalf("exit %d", code)
		}
		got := strings.SplitAfter(out.String(), "\n")
		if got[0] != "time,"+lines[0] {
			t.Errorf("header %q", got[0])
		}
		// 2026-11-22T18:00:00, then the record.
		if len(got[1]) != 20+len(lines[1]) || got[1][19] != ',' || got[1][20:] != lines[1] {
			t.Errorf("row %q does not carry a %%FT%%T receive time prefix", got[1])
		}
	})
	t.Run("write and append to a file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "out.csv")
		var out bytes.Buffer
		for _, args := range [][]string{{"-w", path}, {"-a", path}} {
			if code := run(context.Background(), append([]string{"logger", "-i", in, "-c", "2"}, args...), &out, &out); code != 0 {
				t.Fatalf("exit %d: %s", code, out.String())
			}
		}
		got, _ := os.ReadFile(path)
		if want := strings.Join(lines[1:3], "") + strings.Join(lines[1:3], ""); string(got) != want {
			t.Errorf("file = %q, want %q", got, want)
		}
	})
	for _, bad := range [][]string{{"-w", "a", "-a", "b"}, {"-d", "ab"}, {"-c", "x"}} {
		var out bytes.Buffer
		if code := run(context.Background(), append([]string{"logger", "-i", in}, bad...), &out, &out); code == 0 {
			t.Errorf("logger %q exited 0", bad)
		}
	}
}
