package unirec

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
)

// TestCSVGolden replays NAME.csv the way logreplay does and checks every
// record byte for byte against the messages logreplay wrote to NAME.trapcap,
// and the hello spec against Spec().
func TestCSVGolden(t *testing.T) {
	for _, name := range []string{"basic_flows", "strings", "arrays"} {
		t.Run(name, func(t *testing.T) {
			csv := readGolden(t, name+".csv")
			tc, err := parseTrapcap(readGolden(t, name+".trapcap"))
			if err != nil {
				t.Fatal(err)
			}
			if tc.dataType != 2 {
				t.Errorf("hello data type %d, want 2 (UniRec)", tc.dataType)
			}
			lines := strings.Split(strings.TrimSuffix(string(csv), "\n"), "\n")
			h, err := ParseCSVHeader(lines[0])
			if err != nil {
				t.Fatal(err)
			}
			if h.T.Spec() != tc.spec {
				t.Errorf("Spec()\n got %q\nwant %q (trapcap hello)", h.T.Spec(), tc.spec)
			}
			rows := lines[1:]
			if len(tc.msgs) != len(rows)+1 || len(tc.msgs[len(tc.msgs)-1]) != 1 {
				t.Fatalf("%d messages for %d rows; want rows + 1-byte EOS", len(tc.msgs), len(rows))
			}
			rec := h.T.NewRecord()
			for i, row := range rows {
				if _, err := h.ParseRow([]byte(row+"\n"), &rec); err != nil {
					t.Fatalf("row %d: %v", i+1, err)
				}
				if !bytes.Equal(rec.Data, tc.msgs[i]) {
					t.Errorf("row %d %s\n got %s\nwant %s", i+1, row, hex.EncodeToString(rec.Data), hex.EncodeToString(tc.msgs[i]))
				}
			}
		})
	}
}
