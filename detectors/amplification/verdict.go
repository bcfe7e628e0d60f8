package amplification

import (
	"cmp"
	"slices"
)

type verdict int

const (
	verdictNone    verdict = iota
	verdictBig             // packet-ratio branch: C only logs it
	verdictComplex         // histogram branch: an alert
)

// bin is one histogram bin: its label (upper bound) and count.
type bin struct{ label, count uint32 }

// histScratch holds the buffers of one evaluation, reused.
type histScratch struct {
	vals             []uint32
	full, qb, rb, rp []bin
}

// verdict applies the C decision (detectors.md §3.6) to a pair, with its
// integer divisions; a zero divisor, which crashes C, gives no verdict.
func (d *Detector) verdict(p *pair) verdict {
	if p.flows[query] == 0 || p.flows[response] == 0 {
		return verdictNone
	}
	q, r := p.vec[query], p.vec[response]
	if p.packets[query] >= 30 && p.packets[response]/p.packets[query] >= 5 {
		var maxPq uint32
		var maxBq, maxBr uint64
		for _, it := range q {
			maxPq, maxBq = max(maxPq, it.packets), max(maxBq, it.bytes)
		}
		for _, it := range r {
			maxBr = max(maxBr, it.bytes)
		}
		if (maxPq > maxQueryFlowPackets || maxBr > maxRespFlowBytes) && len(r) > 0 && len(q) > 0 && maxBq != 0 && maxBr/maxBq > uint64(d.cfg.MinAmpf) {
			return verdictBig
		}
		return verdictNone
	}
	h := &d.h
	h.full = d.histogram(r, false, h.full[:0])
	h.rb = d.topN(h.full, h.rb[:0])
	// Shares of the top-N bins in the whole response-bytes histogram.
	var total float32
	for _, b := range h.full {
		total += float32(b.count)
	}
	var share float32
	var flows uint64
	for _, b := range h.rb {
		share += float32(b.count) / total
		flows += uint64(b.count)
	}
	if !(share > d.cfg.MinCount && flows > uint64(d.cfg.MinFlows)) {
		return verdictNone
	}
	h.full = d.histogram(r, true, h.full[:0])
	h.rp = d.topN(h.full, h.rp[:0])
	h.full = d.histogram(q, false, h.full[:0])
	h.qb = d.topN(h.full, h.qb[:0])
	if !(avg(h.rp) > uint64(d.cfg.MinRespPkts) && avg(h.rb) > uint64(d.cfg.MinRespBytes) && avg(h.qb) < uint64(d.cfg.MaxQueryB)) {
		return verdictNone
	}
	var qFlows uint64
	for _, b := range h.qb {
		qFlows += uint64(b.count)
	}
	if qFlows == 0 || len(h.rb) == 0 {
		return verdictNone
	}
	rLabel, qLabel := sumK(h.rb)/uint32(len(h.rb)), sumK(h.qb)/uint32(len(h.qb))
	if qLabel == 0 || rLabel/qLabel <= d.cfg.MinAmpf {
		return verdictNone
	}
	return verdictComplex
}

// histogram bins the bytes (or packets) of items with width Step over
// [0, 5000): a bin's label is its upper bound. As in C, a bin holds the
// count of its largest distinct value, unless FixHistogram; values are
// truncated to 32 bits. Bins come out by ascending label.
func (d *Detector) histogram(items []item, packets bool, out []bin) []bin {
	step := uint64(d.cfg.Step)
	vals := d.h.vals[:0]
	for _, it := range items {
		v := uint32(it.bytes)
		if packets {
			v = it.packets
		}
		if uint64(v)/step*step < bytesMax {
			vals = append(vals, v)
		}
	}
	slices.Sort(vals)
	d.h.vals = vals
	for i := 0; i < len(vals); {
		j := i + 1
		for j < len(vals) && vals[j] == vals[i] {
			j++
		}
		label := uint32(uint64(vals[i])/step*step + step)
		n := uint32(j - i)
		if k := len(out) - 1; k >= 0 && out[k].label == label {
			if d.cfg.FixHistogram {
				out[k].count += n
			} else {
				out[k].count = n // C assigns: the largest value's count wins
			}
		} else {
			out = append(out, bin{label, n})
		}
		i = j
	}
	return out
}

// topN appends to dst the N bins of h with the largest counts (ties:
// larger label first), by ascending label.
func (d *Detector) topN(h []bin, dst []bin) []bin {
	sorted := append(dst, h...)
	slices.SortFunc(sorted, func(a, b bin) int {
		if c := cmp.Compare(b.count, a.count); c != 0 {
			return c
		}
		return cmp.Compare(b.label, a.label)
	})
	sorted = sorted[:min(len(sorted), d.cfg.TopN)]
	slices.SortFunc(sorted, func(a, b bin) int { return cmp.Compare(a.label, b.label) })
	return sorted
}

// avg is floor(Σ label·count / Σ count), 0 for no bins.
func avg(h []bin) uint64 {
	var num, den uint64
	for _, b := range h {
		num += uint64(b.label) * uint64(b.count)
		den += uint64(b.count)
	}
	if den == 0 {
		return 0
	}
	return num / den
}

// sumK is the sum of the labels as C's unsigned int.
func sumK(h []bin) uint32 {
	var s uint32
	for _, b := range h {
		s += b.label
	}
	return s
}
