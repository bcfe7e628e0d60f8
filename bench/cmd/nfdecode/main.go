// Command nfdecode decodes every flow record of nfdump files and prints
// their totals: bench/nfdump.sh's like-for-like counterpart of
// `nfdump -r FILE -q -o null`, which expands each record into its master
// record and adds it to the file's statistics (flows, packets and bytes per
// protocol class, first and last seen) without printing anything.
//
//	nfdecode [-w WORKERS] FILE...
//
// Records are decoded in package nfdump's decompression workers
// (File.MapRecords with a Mapper that only counts), as nfreader decodes
// them, minus the conversion to UniRec that nfreader adds. -w is
// File.SetWorkers (0: the default pool, 1: serial).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sync"

	"github.com/flowgate/flowgate/nfdump"
)

func main() {
	// As nfreader: its block buffers are allocated at start, and collecting
	// through that burst at GOGC=100 only costs time (GOGC, when set, wins).
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	workers := flag.Int("w", 0, "decompression workers (0: default, 1: serial)")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: nfdecode [-w WORKERS] FILE...")
		os.Exit(2)
	}
	var total totals
	for _, path := range flag.Args() {
		t, err := decodeFile(context.Background(), path, *workers)
		total.add(&t)
		if err != nil {
			fmt.Fprintln(os.Stderr, "nfdecode:", err)
			total.print(os.Stdout)
			os.Exit(1)
		}
	}
	total.print(os.Stdout)
}

// totals is what nfdump's statistics record sums.
type totals struct {
	flows, packets, bytes [4]uint64 // tcp, udp, icmp, other
	firstMs, lastMs       int64
}

func protoClass(p uint8) int {
	switch p {
	case 6:
		return 0
	case 17:
		return 1
	case 1, 58:
		return 2
	}
	return 3
}

// Map adds r to the totals; it outputs nothing.
func (t *totals) Map(out []byte, r *nfdump.Record) []byte {
	c := protoClass(r.Proto)
	t.flows[c] += r.Flows
	t.packets[c] += r.Packets
	t.bytes[c] += r.Bytes
	if r.FirstMs != 0 && (t.firstMs == 0 || r.FirstMs < t.firstMs) {
		t.firstMs = r.FirstMs
	}
	if r.LastMs > t.lastMs {
		t.lastMs = r.LastMs
	}
	return out
}

func (t *totals) add(o *totals) {
	for c := range t.flows {
		t.flows[c] += o.flows[c]
		t.packets[c] += o.packets[c]
		t.bytes[c] += o.bytes[c]
	}
	if o.firstMs != 0 && (t.firstMs == 0 || o.firstMs < t.firstMs) {
		t.firstMs = o.firstMs
	}
	t.lastMs = max(t.lastMs, o.lastMs)
}

func sum(v [4]uint64) uint64 { return v[0] + v[1] + v[2] + v[3] }

func (t *totals) print(w io.Writer) {
	fmt.Fprintf(w, "flows %d packets %d bytes %d (tcp %d, udp %d, icmp %d, other %d flows) first %d last %d\n",
		sum(t.flows), sum(t.packets), sum(t.bytes), t.flows[0], t.flows[1], t.flows[2], t.flows[3], t.firstMs, t.lastMs)
}

// decodeFile decodes the records of one file and returns their totals (of
// the records before the fault, when it has one).
func decodeFile(ctx context.Context, path string, workers int) (totals, error) {
	var total totals
	f, err := nfdump.Open(path)
	if err != nil {
		return total, err
	}
	defer f.Close()
	f.SetWorkers(workers)
	var mu sync.Mutex
	var mappers []*totals
	bi := f.MapRecords(ctx, func() nfdump.Mapper {
		t := &totals{}
		mu.Lock()
		mappers = append(mappers, t)
		mu.Unlock()
		return t
	})
	for bi.Next() {
	}
	bi.Close() // the workers are done with their totals
	for _, t := range mappers {
		total.add(t)
	}
	return total, bi.Err()
}
