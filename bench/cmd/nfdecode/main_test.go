package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowgate/flowgate/internal/testutil"
	"github.com/flowgate/flowgate/nfdump"
)

// The totals of every worker count equal those of the records walked one
// by one, and the statistics nfcapd stored in the file.
func TestTotalsMatchRecordsAndFileStats(t *testing.T) {
	dir := testutil.SharedTestdata(t, "nfdump")
	for _, name := range []string{"gen_ipfix_multiblock_lz4.nf", "recomp_v9_lzo.nf", "latest178_gen_v9_sf_ipfix_zstd.nf", "nf16_gen_v9_v4v6_none.nf"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name)
			f, err := nfdump.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var want totals
			it := f.Records(context.Background())
			for it.Next() {
				want.Map(nil, it.Record())
			}
			if it.Err() != nil {
				t.Fatal(it.Err())
			}
			st := f.Stats()
			if sum(want.flows) != st.Flows || sum(want.packets) != st.Packets || sum(want.bytes) != st.Bytes {
				t.Errorf("records sum to %d flows, %d packets, %d bytes; the file's statistics say %d, %d, %d",
					sum(want.flows), sum(want.packets), sum(want.bytes), st.Flows, st.Packets, st.Bytes)
			}
			for _, w := range []int{1, 2, 4} {
				got, err := decodeFile(context.Background(), path, w)
				if err != nil {
					t.Fatal(err)
				}
				if got != want {
					t.Errorf("%d workers: %+v, want %+v", w, got, want)
				}
			}
		})
	}
}

func TestCorruptFileReportsTheFault(t *testing.T) {
	_, err := decodeFile(context.Background(), filepath.Join(t.TempDir(), "missing.nf"), 0)
	if err == nil || !strings.Contains(err.Error(), "missing.nf") {
		t.Errorf("error %v, want one naming the file", err)
	}
}
