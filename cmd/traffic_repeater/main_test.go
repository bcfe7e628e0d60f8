package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/flowgate/flowgate/internal/testutil"
)

// As with the C traffic_repeater -i f:A,f:B, B comes out identical to A.
func TestRepeaterFileToFileIsIdentity(t *testing.T) {
	dir := testutil.SharedTestdata(t, "trap")
	for _, name := range []string{"basic_flows.trapcap", "strings.trapcap", "arrays.trapcap"} {
		t.Run(name, func(t *testing.T) {
			src := filepath.Join(dir, name)
			dst := filepath.Join(t.TempDir(), "copy.trapcap")
			var o bytes.Buffer
			if code := run(context.Background(), []string{"traffic_repeater", "-i", "f:" + src + ",f:" + dst}, &o, &o); code != 0 {
				t.Fatalf("exit %d: %s", code, o.String())
			}
			got, _ := os.ReadFile(dst)
			want, _ := os.ReadFile(src)
			if !bytes.Equal(got, want) {
				t.Errorf("copy has %d bytes, original %d", len(got), len(want))
			}
		})
	}
}

// Into a blackhole every data message is accepted and counted.
func TestRepeaterIntoBlackhole(t *testing.T) {
	dir := testutil.SharedTestdata(t, "trap")
	var o bytes.Buffer
	args := []string{"traffic_repeater", "-v", "-i", "f:" + filepath.Join(dir, "basic_flows.trapcap") + ",b:"}
	if code := run(context.Background(), args, &o, &o); code != 0 {
		t.Fatalf("exit %d: %s", code, o.String())
	}
	if o.String() != "20 messages forwarded\n" {
		t.Errorf("output %q, want the 20 records of basic_flows counted", o.String())
	}
}
