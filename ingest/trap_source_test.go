package ingest

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/flowgate/flowgate/internal/testutil"
	"github.com/flowgate/flowgate/trap"
	"github.com/flowgate/flowgate/unirec"
)

// runTrapSource runs a trap source on ifc into an output of template spec
// until its input ends.
func runTrapSource(t *testing.T, ifc, spec string) (*TrapSource, *memOutput) {
	t.Helper()
	src, err := NewTrap(TrapConfig{Name: "in", IFC: ifc, SocketDir: t.TempDir()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := newMemOutput(t, "out", spec)
	ctx, cancel := context.WithTimeout(context.Background(), testutil.WaitTimeout)
	defer cancel()
	if err := src.Run(ctx, []*Target{NewTarget(out.Template(), []Output{out}, nil)}); err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Fatal("the source did not end at its input's end of stream")
	}
	return src, out
}

// A .trapcap written by the C logreplay is read record for record and
// converted into the output's template.
func TestTrapSourceReadsCTrapcap(t *testing.T) {
	dir := sharedTestdata(t, "trap")
	src, out := runTrapSource(t, "f:"+filepath.Join(dir, "basic_flows.trapcap"), "ipaddr SRC_IP,uint64 BYTES,uint32 PACKETS")
	// The reference: the CSV the same records were replayed from.
	f, err := os.Open(filepath.Join(dir, "basic_flows.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan()
	var n int
	var bytes uint64
	for sc.Scan() {
		cols := strings.Split(sc.Text(), ",")
		v, _ := strconv.ParseUint(cols[2], 10, 64)
		bytes += v
		n++
	}
	if got := len(out.records()); got != n || src.Records() != uint64(n) {
		t.Fatalf("%d records (source counted %d), want %d", got, src.Records(), n)
	}
	if got := totals(t, out.records(), "BYTES"); got != bytes {
		t.Errorf("BYTES total %d, want %d", got, bytes)
	}
	if st := src.Stats(); st.Kind != trap.KindFile || st.Messages != uint64(n)+1 {
		t.Errorf("input stats %+v", st)
	}
}

// A topic written by two producers with different templates is consumed
// (eof=on ends it) and every record converted to the output's template.
func TestTrapSourceConsumesKafkaTopic(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, "flows"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	broker := c.ListenAddrs()[0]
	ctx := context.Background()
	specs := []string{"ipaddr SRC_IP,uint64 BYTES", "ipaddr SRC_IP,uint64 BYTES,uint16 DST_PORT"}
	for k, spec := range specs {
		tm, _ := unirec.ParseTemplate(spec)
		sps, err := trap.ParseIFCSpec("k:flows:" + broker + ":key=SRC_IP")
		if err != nil {
			t.Fatal(err)
		}
		o, err := trap.OpenOutput(sps[0], "", nil)
		if err != nil {
			t.Fatal(err)
		}
		o.SetDataFormat(trap.FormatUniRec, spec)
		src, _ := tm.Lookup("SRC_IP")
		by, _ := tm.Lookup("BYTES")
		for i := range 500 {
			r := tm.NewRecord()
			r.SetIP(src, unirec.IPv4([4]byte{10, 0, byte(k), byte(i % 9)}))
			r.SetUint64(by, 1)
			o.Send(ctx, r.Data)
		}
		o.SendEOS(ctx) // not written into the topic: it must not end the reader
		if err := o.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	src, out := runTrapSource(t, "k:flows:"+broker+":group=fg:eof=on", "ipaddr SRC_IP,uint64 BYTES")
	if got := totals(t, out.records(), "BYTES"); got != 1000 || src.BadRecords() != 0 {
		t.Fatalf("BYTES total %d, want 1000 (bad %d)", got, src.BadRecords())
	}
	if st := src.Stats(); st.Kind != trap.KindKafka || st.Kafka == nil || st.Kafka.Group != "fg" {
		t.Errorf("input stats %+v", st)
	}
}

func TestTrapSourceRejectsOutputOnlyTypes(t *testing.T) {
	for _, ifc := range []string{"b:", "u:a,u:b", "k:flows", "x:1"} {
		if _, err := NewTrap(TrapConfig{Name: "s", IFC: ifc}, nil); err == nil {
			t.Errorf("NewTrap(%q) accepted", ifc)
		}
	}
}
