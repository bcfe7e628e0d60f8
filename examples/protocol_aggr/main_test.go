package main

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/flowgate/flowgate/internal/testutil"
)

// basic_flows.csv has TCP (6), UDP (17) and ICMP (1) flows; the totals are
// sums of its PACKETS column per PROTOCOL, printed in ascending order.
func TestProtocolAggregationOnGoldenFlows(t *testing.T) {
	dir := testutil.SharedTestdata(t, "trap")
	var stdout, stderr bytes.Buffer
	args := []string{"protocol_aggr", "-i", "f:" + filepath.Join(dir, "basic_flows.trapcap"), "-D", "10s"}
	if code := run(context.Background(), args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	want := wantTotals(t, filepath.Join(dir, "basic_flows.csv"))
	if stdout.String() != want {
		t.Errorf("totals\n%s\nwant\n%s", stdout.String(), want)
	}
}
