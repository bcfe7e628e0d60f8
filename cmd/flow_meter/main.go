// Command flow_meter meters packets from a pcap/pcapng file or a network
// interface into bidirectional flow records and sends them as UniRec on
// TRAP outputs, with the classic NEMEA flow_meter options
// (spec/nemea-modules.md §2.4) and ipfixprobe's flow semantics and
// templates (package ingest/meter):
//
//		flow_meter -i IFC_SPEC (-r FILE | -I IFACE) [-p PLUGINS] [-t ACTIVE:INACTIVE]
//		           [-s EXP] [-F BPF] [-c COUNT] [-l SNAPLEN] [-L LINK] [-D DIR] [-W N] [-R KB:BLOCKS] [-A] [-S] [-n] [-v]
//
//	  - -p takes a comma list of plugin groups, one per output IFC (basic,
//	    http, dns, tls, vlan, ssdp; several plugins on one IFC joined by
//	    '+', e.g. http+tls; default basic; tls:ja4=standard gives FoxIO's
//	    JA4). Output IFC k gets group k: its template is the basic biflow
//	    fields plus the group's fields, so -i needs exactly one output per
//	    group. Flows are routed as ipfixprobe routes them: the basic output
//	    gets every flow, a plugin output only the flows that carry a record
//	    of one of its plugins (a QUIC flow under -p tls, a non-HTTP flow
//	    under -p http are not sent there). -A sends every flow to every
//	    output (fields a plugin found nothing for are empty), flow_meter's
//	    earlier behaviour.
//	  - -S splits biflows into uniflows (each direction a flow of its own,
//	    ipfixprobe's cache split option).
//	  - -s is the legacy exponent: the cache holds 2^EXP flows (default 17,
//	    ipfixprobe's 2^17), EXP from 4 to 26.
//	  - -t takes seconds, fractions allowed (default 300:30); the cache
//	    compares whole seconds as ipfixprobe does.
//	  - -I captures with AF_PACKET (pure Go, Linux) in promiscuous mode
//	    through a TPACKET_V3 memory-mapped ring (-R BLOCK_KB:BLOCKS); -W N
//	    runs N workers whose sockets share the traffic by flow hash
//	    (PACKET_FANOUT_HASH), each with its own flow cache; -v reports the
//	    kernel's received and dropped frame counts;
//	    -F needs libpcap and is therefore only available in a build with
//	    -tags pcap, where -I -F captures through libpcap.
//	  - -c stops after COUNT packets; -n does not send the end-of-stream
//	    message at the end (legacy flow_meter sends it by default).
//	  - Progress (packets, flows, packets/s) goes to stderr every few
//	    seconds during file runs when stderr is a terminal, and with -v for
//	    every run; -v also prints a summary at the end.
//
// SIGINT and SIGTERM stop the capture; the flows in the cache are still
// exported. Exit codes: 0 success, 2 bad parameters, 3 capture or send
// error, 4 TRAP initialisation error.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/metrics"
	"sync"
	"time"

	"github.com/flowgate/flowgate/ingest/meter"
	"github.com/flowgate/flowgate/trap"
)

var module = trap.Module{
	Name:        "flow_meter",
	Description: "Flow exporter: meters packets from a pcap/pcapng file or a network interface into bidirectional flow records (ipfixprobe semantics) and sends them in UniRec format. Output interface k carries the records of process plugin k (-p).",
	Inputs:      0,
	Outputs:     -1,
	Params: []trap.Param{
		{Short: 'r', Long: "file", Description: "Pcap or pcapng file to read, - for standard input.", HasArg: true, ArgType: "string"},
		{Short: 'I', Long: "interface", Description: "Capture from this network interface.", HasArg: true, ArgType: "string"},
		{Short: 'p', Long: "plugins", Description: "Comma-separated process plugin groups, one per output interface: basic, http, dns, tls, vlan, ssdp; plugins sharing an interface joined by + (http+tls); tls:ja4=standard for FoxIO's JA4 (default basic). The basic interface gets every flow, a plugin interface the flows carrying that plugin's record.", HasArg: true, ArgType: "string"},
		{Short: 't', Long: "timeout", Description: "Active and inactive flow timeouts in seconds, ACTIVE:INACTIVE (default 300.0:30.0).", HasArg: true, ArgType: "string"},
		{Short: 's', Long: "cache_size", Description: "Flow cache size as an exponent: 2^EXP flows, 4..26 (default 17).", HasArg: true, ArgType: "uint32"},
		{Short: 'F', Long: "filter", Description: "BPF filter expression for the capture (libpcap builds, -tags pcap).", HasArg: true, ArgType: "string"},
		{Short: 'c', Long: "count", Description: "Stop after COUNT packets.", HasArg: true, ArgType: "uint64"},
		{Short: 'l', Long: "snapshot_len", Description: "Snapshot length of a live capture, 120..65535 (default 65535).", HasArg: true, ArgType: "uint32"},
		{Short: 'L', Long: "link_bit_field", Description: "LINK_BIT_FIELD of every record (default 0).", HasArg: true, ArgType: "uint64"},
		{Short: 'D', Long: "dir_bit_field", Description: "DIR_BIT_FIELD of every record (default 0).", HasArg: true, ArgType: "uint8"},
		{Short: 'n', Long: "no_eof", Description: "Don't send the end-of-stream message at the end.", ArgType: "none"},
		{Short: 'W', Long: "workers", Description: "Live capture (-I) with this many workers, each with its own AF_PACKET ring and flow cache, sharing the traffic by flow hash (PACKET_FANOUT_HASH; default 1).", HasArg: true, ArgType: "uint32"},
		{Short: 'R', Long: "ring", Description: "AF_PACKET TPACKET_V3 receive ring per worker: BLOCK_KB:BLOCKS (default 1024:64).", HasArg: true, ArgType: "string"},
		{Short: 'S', Long: "split_biflow", Description: "Meter each direction as a flow of its own (uniflows; ipfixprobe's cache split option). The *_REV counters stay 0.", ArgType: "none"},
		{Short: 'A', Long: "all_flows", Description: "Send every flow to every output, also plugin outputs for flows that carry none of their plugins' records (by default a plugin output gets only those that do, as in ipfixprobe).", ArgType: "none"},
	},
}

// Exit codes, those of the other flow sources (nfreader).
const (
	exitOK        = 0
	exitBadParams = 2
	exitRead      = 3
	exitTrapInit  = 4
)

func main() { trap.Main(module, body, trap.WithInitExitCode(exitTrapInit)) }

// run is main with explicit arguments and streams; tests call it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return trap.Run(ctx, module, args, stdout, stderr, body, trap.WithInitExitCode(exitTrapInit))
}

// body is flow_meter's work once TRAP is set up (trap.Run).
func body(ctx context.Context, tc *trap.Context, rest []string, stdout, stderr io.Writer) int {
	o, err := parseOptions(rest)
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return exitBadParams
	}
	if n := tc.NumOutputs(); n != len(o.plugins) {
		fmt.Fprintf(stderr, "Error: %d output interfaces for %d plugin groups %v: output IFC k carries group k\n", n, len(o.plugins), o.plugins)
		return exitBadParams
	}
	outs := make([]*trap.Output, tc.NumOutputs())
	for i := range outs {
		outs[i] = tc.Output(i)
	}
	// One exporter (meter and flow cache) per capture worker; with -W the
	// workers' AF_PACKET sockets form a fanout group that hashes each flow
	// to one of them.
	var (
		exs  []*exporter
		srcs []meter.PacketSource
		mu   *sync.Mutex
	)
	if o.workers > 1 {
		mu = &sync.Mutex{}
	}
	defer func() {
		for _, src := range srcs {
			src.Close()
		}
	}()
	group := uint16(0)
	if o.workers > 1 {
		group = uint16(os.Getpid()) | 1
	}
	for range o.workers {
		ex, err := newExporter(o, outs)
		if err != nil {
			fmt.Fprintf(stderr, "Error: %v\n", err)
			return exitBadParams
		}
		ex.sendMu = mu
		src, err := openSource(o, group)
		if err != nil {
			fmt.Fprintf(stderr, "Error: %v\n", err)
			if errors.Is(err, errBadSource) {
				return exitBadParams
			}
			return exitRead
		}
		exs, srcs = append(exs, ex), append(srcs, src)
	}

	p := newProgress(srcs[0], exs[0].meter, o.count, stderr, progressWanted(o, tc.Verbosity() >= 0, stderr))
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(exs))
	var wg sync.WaitGroup
	for w := 1; w < len(exs); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if errs[w] = exs[w].run(runCtx, srcs[w]); errs[w] != nil {
				cancel()
			}
		}()
	}
	errs[0] = exs[0].run(runCtx, p)
	cancel()
	wg.Wait()
	code := exitOK
	for w, err := range errs {
		switch {
		case err == nil:
		case errors.Is(err, context.Canceled) || (ctx.Err() != nil && errors.Is(err, ctx.Err())):
			// Interrupted (or another worker failed): export what the
			// cache holds.
			if err := exs[w].flush(); err != nil {
				fmt.Fprintf(stderr, "Error: %v\n", err)
				code = exitRead
			}
		default:
			fmt.Fprintf(stderr, "Error: %v\n", err)
			code = exitRead
		}
	}
	p.finish()
	if !o.noEOF {
		if err := exs[0].sendEOS(); err != nil {
			fmt.Fprintf(stderr, "Error: sending end of stream: %v\n", err)
			code = exitRead
		}
	}
	if tc.Verbosity() >= 0 { // -v
		var st meter.Stats
		sent := make([]uint64, len(outs))
		for _, ex := range exs {
			st = addStats(st, ex.meter.Stats())
			for i, n := range ex.sent {
				sent[i] += n
			}
		}
		printSummary(stderr, st, p.elapsed())
		for i, n := range sent {
			fmt.Fprintf(stderr, "flow_meter: output %d (%s): %d records\n", i, o.plugins[i], n)
		}
		var rcvd, dropped uint64
		live := false
		for _, src := range srcs {
			if af, ok := src.(*meter.AFPacketSource); ok {
				if r, d, err := af.Drops(); err == nil {
					rcvd, dropped, live = rcvd+r, dropped+d, true
				}
			}
		}
		if live {
			fmt.Fprintf(stderr, "flow_meter: kernel: %d frames received, %d dropped (%d workers)\n", rcvd, dropped, len(srcs))
		}
	}
	return code
}

// addStats sums the counters of two meters.
func addStats(a, b meter.Stats) meter.Stats {
	a.Packets += b.Packets
	a.IP += b.IP
	a.NotIP += b.NotIP
	a.Truncated += b.Truncated
	a.BadLength += b.BadLength
	a.Corrupt += b.Corrupt
	a.Records += b.Records
	a.Cache.Created += b.Cache.Created
	a.Cache.Exported += b.Cache.Exported
	a.Cache.Evicted += b.Cache.Evicted
	return a
}

func printSummary(w io.Writer, s meter.Stats, d time.Duration) {
	// Heap allocations of the whole process, start-up included: divided by
	// the packets they show the per-packet cost (bench/meter.sh prints it).
	sample := []metrics.Sample{{Name: "/gc/heap/allocs:objects"}}
	metrics.Read(sample)
	var allocs uint64
	if sample[0].Value.Kind() == metrics.KindUint64 {
		allocs = sample[0].Value.Uint64()
	}
	fmt.Fprintf(w, "flow_meter: %d packets (%d IP, %d non-IP, %d truncated, %d bad length) in %.2fs, %d flows, %d records sent, %d evicted from a full cache, %d heap allocations",
		s.Packets, s.IP, s.NotIP, s.Truncated, s.BadLength, d.Seconds(), s.Cache.Created, s.Records, s.Cache.Evicted, allocs)
	if s.Corrupt > 0 {
		fmt.Fprintf(w, ", capture file corrupt")
	}
	fmt.Fprintln(w)
}
