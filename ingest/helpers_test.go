package ingest

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/flowgate/flowgate/collector"
	"github.com/flowgate/flowgate/converters"
	"github.com/flowgate/flowgate/ingest/meter"
	"github.com/flowgate/flowgate/internal/testutil"
	"github.com/flowgate/flowgate/unirec"
)

// memOutput keeps copies of the records it is sent.
type memOutput struct {
	name    string
	tmpl    *unirec.Template
	mu      sync.Mutex
	recs    [][]byte
	flushes int
	closed  bool
	fail    error // Send returns it when set
	discard bool  // Send keeps nothing
	ended   bool
}

func newMemOutput(t testing.TB, name, spec string) *memOutput {
	t.Helper()
	tmpl, err := unirec.ParseTemplate(spec)
	if err != nil {
		t.Fatal(err)
	}
	return &memOutput{name: name, tmpl: tmpl}
}

func (o *memOutput) Name() string               { return o.name }
func (o *memOutput) Template() *unirec.Template { return o.tmpl }
func (o *memOutput) Send(_ context.Context, rec []byte) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.fail != nil {
		return o.fail
	}
	if o.discard {
		return nil
	}
	o.recs = append(o.recs, append([]byte(nil), rec...))
	return nil
}

// keepNothing makes Send drop records from now on (its copies would
// allocate); the pipeline may already be sending.
func (o *memOutput) keepNothing() {
	o.mu.Lock()
	o.discard = true
	o.mu.Unlock()
}

func (o *memOutput) Flush(context.Context) error {
	o.mu.Lock()
	o.flushes++
	o.mu.Unlock()
	return nil
}
func (o *memOutput) Close(context.Context) error     { o.closed = true; return nil }
func (o *memOutput) EndStream(context.Context) error { o.ended = true; return nil }

func (o *memOutput) records() []unirec.Record {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]unirec.Record, len(o.recs))
	for i, b := range o.recs {
		out[i] = unirec.Record{T: o.tmpl, Data: b}
	}
	return out
}

func (o *memOutput) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.recs)
}

// totals sums a uint counter field over records.
func totals(t testing.TB, recs []unirec.Record, name string) uint64 {
	t.Helper()
	if len(recs) == 0 {
		return 0
	}
	id, ok := recs[0].T.Lookup(name)
	if !ok {
		t.Fatalf("template has no %s", name)
	}
	var n uint64
	for _, r := range recs {
		switch r.T.Field(id).Type {
		case unirec.Uint64:
			n += r.Uint64(id)
		case unirec.Uint32:
			n += uint64(r.Uint32(id))
		default:
			t.Fatalf("%s is not a counter", name)
		}
	}
	return n
}

// sharedTestdata is ../shared/testdata/<sub> (skipped when absent).
func sharedTestdata(t testing.TB, sub string) string { return testutil.SharedTestdata(t, sub) }

// capturePayloads returns the L4 payloads of a capture's UDP datagrams, or
// of its TCP segments concatenated (the byte stream) when tcp is set.
func capturePayloads(t testing.TB, path string, tcp bool) ([][]byte, []byte) {
	t.Helper()
	src, err := meter.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var dgrams [][]byte
	var stream []byte
	var p meter.Packet
	for {
		frame, _, err := src.ReadPacket()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := meter.Parse(src.LinkType(), frame, &p); err != nil || len(p.Payload) == 0 {
			continue
		}
		switch {
		case tcp && p.Proto == 6:
			stream = append(stream, p.Payload...)
		case !tcp && p.Proto == 17:
			dgrams = append(dgrams, append([]byte(nil), p.Payload...))
		}
	}
	return dgrams, stream
}

// nfcapdTotals reads an `nfdump -o csv` file: flow count and the sums of
// ipkt, ibyt, opkt, obyt.
func nfcapdTotals(t testing.TB, path string) (flows int, pkts, bytes, opkts, obytes uint64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		cols := strings.Split(sc.Text(), ",")
		if len(cols) < 15 {
			break // "Summary" block
		}
		n := func(i int) uint64 {
			v, err := strconv.ParseUint(strings.TrimSpace(cols[i]), 10, 64)
			if err != nil {
				t.Fatalf("%s: column %d: %v", path, i, err)
			}
			return v
		}
		flows++
		pkts += n(11)
		bytes += n(12)
		opkts += n(13)
		obytes += n(14)
	}
	return
}

const biflowSpec = converters.BiflowTemplate

type (
	netipAddr         = netip.Addr
	collectorCounters = collector.Counters
)

// dataOnly keeps the v9 / IPFIX messages that carry no (options) template
// set: the steady state once templates are known.
func dataOnly(dgrams [][]byte) [][]byte {
	var out [][]byte
	for _, d := range dgrams {
		if len(d) < 4 {
			continue
		}
		hdr, tmplIDs := 0, [2]uint16{}
		switch binary.BigEndian.Uint16(d) {
		case 9:
			hdr, tmplIDs = 20, [2]uint16{0, 1}
		case 10:
			hdr, tmplIDs = 16, [2]uint16{2, 3}
		default:
			out = append(out, d)
			continue
		}
		ok := true
		for b := d[min(hdr, len(d)):]; len(b) >= 4; {
			id, l := binary.BigEndian.Uint16(b), int(binary.BigEndian.Uint16(b[2:]))
			if id == tmplIDs[0] || id == tmplIDs[1] {
				ok = false
			}
			if l < 4 || l > len(b) {
				break
			}
			b = b[l:]
		}
		if ok {
			out = append(out, d)
		}
	}
	return out
}
