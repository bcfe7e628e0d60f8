package lzo

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// genStream writes a valid LZO1X stream of about size output bytes from
// random instructions of every kind: literal runs short and extended, M1
// (near, and far after a literal run), M2, M3 and M4 matches at short,
// overlapping and long distances, short and extended lengths, 0-3 trailing
// literals, then the end-of-stream marker. It returns the stream and the
// output the instructions describe, built independently of both decoders.
func genStream(r *rand.Rand, size int) (src, want []byte) {
	lit := func(n int) {
		for range n {
			b := byte(r.IntN(256))
			src = append(src, b)
			want = append(want, b)
		}
	}
	ext := func(v int) { // v >= 1
		for v > 255 {
			src = append(src, 0)
			v -= 255
		}
		src = append(src, byte(v))
	}
	// length writes a match instruction byte op with the length n-2 in
	// its low bits, or an extended length where it exceeds max.
	length := func(op byte, n, max int) {
		if n-2 <= max {
			src = append(src, op|byte(n-2))
			return
		}
		src = append(src, op)
		ext(n - 2 - max)
	}
	match := func(dist, n int) {
		for range n {
			want = append(want, want[len(want)-dist])
		}
	}
	// dist picks a distance of at most max (and the output so far).
	dist := func(lo, hi int) (int, bool) {
		hi = min(hi, len(want))
		if hi < lo {
			return 0, false
		}
		switch r.IntN(4) {
		case 0: // overlapping: the copy repeats its own output
			return lo + r.IntN(min(hi-lo+1, 8)), true
		case 1:
			return lo + r.IntN(min(hi-lo+1, 40)), true
		default:
			return lo + r.IntN(hi-lo+1), true
		}
	}
	// The first byte: an initial literal run of 1-238 bytes.
	n := 1 + r.IntN(40)
	if r.IntN(4) == 0 {
		n = 1 + r.IntN(3)
	}
	src = append(src, byte(17+n))
	lit(n)
	mode := lowFarM1
	if n < 4 {
		mode = lowNearM1
	}
	for len(want) < size {
		low := 0
		switch k := r.IntN(10); {
		case k == 0 && mode == lowLiterals: // literal run
			n := 4 + r.IntN(15)
			if r.IntN(5) == 0 {
				n = 19 + r.IntN(600)
			}
			if n <= 18 {
				src = append(src, byte(n-3))
			} else {
				src = append(src, 0)
				ext(n - 18)
			}
			lit(n)
			mode = lowFarM1
			continue
		case k == 1 && mode != lowLiterals:
			// M1: 2 bytes at 1-1024 after trailing literals, 3 bytes
			// at 2049-3072 after a literal run.
			base, n := 1, 2
			if mode == lowFarM1 {
				base, n = 2049, 3
			}
			d, ok := dist(base, base+1023)
			if !ok {
				continue
			}
			low = r.IntN(4)
			src = append(src, byte((d-base)&3<<2|low), byte((d-base)>>2))
			match(d, n)
		case k < 6: // M2: 3-8 bytes at 1-2048
			d, ok := dist(1, 2048)
			if !ok {
				continue
			}
			n, low = 3+r.IntN(6), r.IntN(4)
			src = append(src, byte((n-1)<<5|(d-1)&7<<2|low), byte((d-1)>>3))
			match(d, n)
		default: // M3 (k 6-8) at 1-16384, M4 (k 9) at 16385-49151
			op, lo, hi, off, max := byte(32), 1, 16384, 1, 31
			if k == 9 {
				op, lo, hi, off, max = 16, 16385, 49151, 16384, 7
			}
			d, ok := dist(lo, hi)
			if !ok {
				continue
			}
			n, low = 3+r.IntN(max), r.IntN(4)
			if r.IntN(5) == 0 {
				n = max + 3 + r.IntN(600)
			}
			e := d - off
			length(op|byte(e>>14&1<<3), n, max)
			src = append(src, byte(e&63<<2|low), byte(e>>6))
			match(d, n)
		}
		lit(low)
		mode = lowLiterals
		if low > 0 {
			mode = lowNearM1
		}
	}
	return append(src, eof...), want
}

// Random valid streams that use every instruction in the fast loop and at
// the buffers' ends decode to what they describe, with the fast and the
// reference decoder, into buffers of exactly the output size and larger.
func TestDecompressRandomStreams(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		src, want := genStream(r, 1+r.IntN(60000))
		for _, extra := range []int{0, 1, 7, 40, 1000} {
			dst := make([]byte, len(want)+extra)
			n, err := Decompress(dst, src)
			if err != nil || !bytes.Equal(dst[:n], want) {
				t.Fatalf("stream %d (+%d): %d bytes, %v; want %d bytes", i, extra, n, err, len(want))
			}
			ref := make([]byte, len(want)+extra)
			if rn, err := refDecompress(ref, src); err != nil || !bytes.Equal(ref[:rn], want) {
				t.Fatalf("stream %d (+%d): reference %d bytes, %v; want %d bytes", i, extra, rn, err, len(want))
			}
		}
		// One byte short: both fail with an output overrun.
		same(t, src, len(want)-1)
	}
}
