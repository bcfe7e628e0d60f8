package main

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/flowgate/flowgate/ingest/meter"
)

// options are flow_meter's own command-line options.
type options struct {
	file, iface, filter string
	plugins             []string
	active, inactive    time.Duration
	cacheExp            int
	count               uint64 // 0: no limit
	snaplen             int
	linkBits            uint64
	dirBits             uint8
	noEOF               bool
	allFlows            bool // -A: every output gets every flow
	uniflow             bool // -S: one flow per direction
	workers             int  // -W: capture workers in a fanout group
	ringKB, ringBlocks  int  // -R: AF_PACKET ring block size (KiB) and count
}

// Defaults of legacy flow_meter and ipfixprobe.
const (
	defaultCacheExp = 17
	minCacheExp     = 4
	maxCacheExp     = 26 // the meter's cache limit
	minSnaplen      = 120
	maxSnaplen      = 65535
)

func parseOptions(args []string) (options, error) {
	o := options{
		plugins:  []string{"basic"},
		active:   meter.DefaultActive,
		inactive: meter.DefaultInactive,
		cacheExp: defaultCacheExp,
	}
	opts, positional, err := module.Getopt(args)
	if err != nil {
		return o, err
	}
	if len(positional) > 0 {
		return o, fmt.Errorf("unexpected argument %q", positional[0])
	}
	for _, op := range opts {
		var err error
		switch op.Short {
		case 'r':
			o.file = op.Value
		case 'I':
			o.iface = op.Value
		case 'p':
			o.plugins, err = parsePlugins(op.Value)
		case 't':
			o.active, o.inactive, err = parseTimeouts(op.Value)
		case 's':
			o.cacheExp, err = parseInt(op.Value, "-s", minCacheExp, maxCacheExp)
		case 'F':
			o.filter = op.Value
		case 'c':
			o.count, err = strconv.ParseUint(op.Value, 10, 64)
			if err == nil && o.count == 0 {
				err = errors.New("-c must be at least 1")
			}
		case 'l':
			o.snaplen, err = parseInt(op.Value, "-l", minSnaplen, maxSnaplen)
		case 'L':
			o.linkBits, err = strconv.ParseUint(op.Value, 0, 64)
		case 'D':
			var v int
			v, err = parseInt(op.Value, "-D", 0, math.MaxUint8)
			o.dirBits = uint8(v)
		case 'n':
			o.noEOF = true
		case 'A':
			o.allFlows = true
		case 'S':
			o.uniflow = true
		case 'W':
			o.workers, err = parseInt(op.Value, "-W", 1, 64)
		case 'R':
			o.ringKB, o.ringBlocks, err = parseRing(op.Value)
		}
		if err != nil {
			return o, fmt.Errorf("-%c %q: %w", op.Short, op.Value, err)
		}
	}
	switch {
	case o.file == "" && o.iface == "":
		return o, errors.New("no packet source: give -r FILE or -I IFACE")
	case o.file != "" && o.iface != "":
		return o, errors.New("-r and -I exclude each other")
	case o.file != "" && o.filter != "":
		return o, errors.New("-F filters a live capture (-I) only")
	case o.file != "" && o.snaplen != 0:
		return o, errors.New("-l sets the snapshot length of a live capture (-I) only")
	case o.workers > 1 && o.iface == "":
		return o, errors.New("-W runs several workers on a live capture (-I) only")
	case o.workers > 1 && o.filter != "":
		return o, errors.New("-W needs the AF_PACKET capture, which has no -F filter")
	case o.workers > 1 && o.count != 0:
		return o, errors.New("-c counts the packets of one capture; it does not combine with -W")
	case o.ringKB != 0 && o.iface == "":
		return o, errors.New("-R sizes the ring of a live capture (-I) only")
	}
	if o.workers == 0 {
		o.workers = 1
	}
	return o, nil
}

// parsePlugins splits a -p list of plugin groups (one per output; the
// plugins of a group joined by '+') and checks every plugin. A plugin may
// appear in one group only.
func parsePlugins(s string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for group := range strings.SplitSeq(s, ",") {
		group = strings.TrimSpace(group)
		for _, name := range groupPlugins(group) {
			if name == "" {
				return nil, errors.New("empty plugin name")
			}
			if _, err := meter.NewPlugin(name); err != nil {
				return nil, err
			}
			base := meter.PluginName(name)
			if seen[base] && base != "basic" {
				return nil, fmt.Errorf("plugin %s in more than one output group", base)
			}
			if base == "basic" && group != "basic" {
				return nil, fmt.Errorf("basic is an output of its own, not part of group %q", group)
			}
			seen[base] = true
		}
		out = append(out, group)
	}
	return out, nil
}

// parseRing reads BLOCK_KB:BLOCKS, the AF_PACKET ring's block size in KiB
// (a power of two, 4 KiB to 64 MiB) and block count.
func parseRing(s string) (kb, blocks int, err error) {
	a, b, ok := strings.Cut(s, ":")
	if !ok {
		return 0, 0, errors.New("want BLOCK_KB:BLOCKS, e.g. 1024:64")
	}
	if kb, err = parseInt(a, "block size", 4, 65536); err != nil {
		return 0, 0, err
	}
	if kb&(kb-1) != 0 {
		return 0, 0, fmt.Errorf("block size %d KiB is not a power of two", kb)
	}
	if blocks, err = parseInt(b, "blocks", 1, 4096); err != nil {
		return 0, 0, err
	}
	return kb, blocks, nil
}

// parseTimeouts reads ACTIVE:INACTIVE in seconds (fractions allowed).
func parseTimeouts(s string) (active, inactive time.Duration, err error) {
	a, i, ok := strings.Cut(s, ":")
	if !ok {
		return 0, 0, errors.New("want ACTIVE:INACTIVE in seconds, e.g. 300:30")
	}
	if active, err = parseSeconds(a); err != nil {
		return 0, 0, fmt.Errorf("active timeout: %w", err)
	}
	if inactive, err = parseSeconds(i); err != nil {
		return 0, 0, fmt.Errorf("inactive timeout: %w", err)
	}
	return active, inactive, nil
}

func parseSeconds(s string) (time.Duration, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return 0, err
	}
	// The cache compares whole seconds, so it needs at least one.
	if math.IsNaN(v) || v < 1 || v > 1e9 {
		return 0, fmt.Errorf("%v s out of range 1..1e9", v)
	}
	return time.Duration(v * float64(time.Second)), nil
}

func parseInt(s, flag string, lo, hi int) (int, error) {
	v, err := strconv.Atoi(s)
	if err != nil {
		return 0, err
	}
	if v < lo || v > hi {
		return 0, fmt.Errorf("%s %d out of range %d..%d", flag, v, lo, hi)
	}
	return v, nil
}

// errBadSource marks a source that the options make impossible.
var errBadSource = errors.New("bad capture source")

// openSource opens the file or interface the options name; a live capture
// joins the fanout group when not 0.
func openSource(o options, fanout uint16) (meter.PacketSource, error) {
	if o.file != "" {
		return meter.OpenFile(o.file)
	}
	src, err := meter.OpenInterface(meter.LiveOptions{
		Interface: o.iface, Snaplen: o.snaplen, Promisc: true, Filter: o.filter,
		RingBlockSize: o.ringKB << 10, RingBlocks: o.ringBlocks, FanoutGroup: fanout,
	})
	if errors.Is(err, meter.ErrNoLibpcap) {
		return nil, fmt.Errorf("%w: %w", errBadSource, err)
	}
	return src, err
}
