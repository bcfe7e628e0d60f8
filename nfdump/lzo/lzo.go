// Package lzo decompresses raw LZO1X streams, the block compression nfcapd
// uses for files written with -z (miniLZO lzo1x_1_compress output, no header
// and no length prefix).
//
// It is written by hand because no maintained pure-Go LZO1X package is
// available to this module (the known ones are unmaintained forks without
// bounds checking on corrupt input, and cgo bindings to liblzo2 would break the
// pure-Go build). Only decompression is implemented; the decoder follows the
// LZO1X instruction set as documented by the LZO format description and checks
// every read and back-reference against the buffers, so corrupt input yields
// an error instead of a panic, without unsafe. Where both buffers have room
// for it, literals and matches are moved as fixed-size 4, 8 and 16-byte
// blocks within bounds-checked windows of the buffers (flow records compress
// into many short runs, where a call to copy per run would cost more than
// the bytes).
package lzo

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Errors returned by Decompress; they are wrapped with the input offset.
var (
	ErrInputOverrun  = errors.New("lzo: input overrun")
	ErrOutputOverrun = errors.New("lzo: output overrun")
	ErrLookBehind    = errors.New("lzo: match distance before start of output")
	ErrNoEOF         = errors.New("lzo: stream ends without end-of-stream marker")
	ErrTrailing      = errors.New("lzo: data after end-of-stream marker")
)

// Decompress decodes the LZO1X stream src into dst and returns the number of
// bytes written. dst must be large enough for the whole output; a stream that
// would write past len(dst) fails with ErrOutputOverrun.
func Decompress(dst, src []byte) (int, error) {
	ip, op, err := decompress(dst, src)
	if err != nil {
		return op, fmt.Errorf("at input offset %d: %w", ip, err)
	}
	return op, nil
}

// Decoder states between instructions.
const (
	stInstr   = iota // an instruction: a literal run (t < 16) or a match
	stAfterLR        // after a literal run: t < 16 is a 3-byte match at 2049+
	stMatch          // t holds a match instruction
)

// The fast loop works on windows of the buffers: the next inSlack input
// bytes and the next outSlack output bytes, taken once per instruction, in
// which fixed offsets need no bounds checks of their own. An instruction
// without an extended length reads at most 1+18 input bytes and writes at
// most 32 output bytes; 0-3 trailing literals are moved as 4 bytes after a
// check with 3 bytes more slack.
const (
	inSlack  = 40
	outSlack = 40
)

// What an instruction byte below 16 means, by what came before it.
const (
	lowLiterals = iota // a literal run (after a match without trailing literals)
	lowNearM1          // a 2-byte match at distance 1-1024 (after trailing literals)
	lowFarM1           // a 3-byte match at 2049+ (after a literal run)
)

// decompress decodes with fixed-size block moves while both buffers have
// slack. The last bytes of each buffer take the checked decompressTail;
// extended lengths, M1, M4 and short-distance matches take checked steps
// (copyLiterals, copyMatch) within the loop. Bytes past the final output
// length may be overwritten.
func decompress(dst, src []byte) (ip, op int, err error) {
	if len(src) == 0 {
		return 0, 0, ErrInputOverrun
	}
	// Capacity equal to length: one register less for each buffer.
	src, dst = src[:len(src):len(src)], dst[:len(dst):len(dst)]
	mode := lowLiterals // what an instruction byte below 16 means
	if src[0] > 17 {
		// The first byte encodes an initial literal run of t-17 bytes.
		n := int(src[0]) - 17
		ip = 1
		if ip+n > len(src) {
			return ip, op, ErrInputOverrun
		}
		if n > len(dst) {
			return ip, op, ErrOutputOverrun
		}
		copy(dst, src[ip:ip+n])
		ip, op = ip+n, n
		// After 4 or more the next byte is an instruction as after any
		// literal run; after fewer it is a match.
		mode = lowFarM1
		if n < 4 {
			mode = lowNearM1
		}
	}
	for {
		// Unsigned compares, as the window conversions make: the
		// compiler drops those bounds checks.
		if uint(ip+inSlack) > uint(len(src)) || uint(op+outSlack) > uint(len(dst)) {
			return tail(dst, src, ip, op, mode)
		}
		in := (*[inSlack]byte)(src[ip : ip+inSlack])
		out := (*[outSlack]byte)(dst[op : op+outSlack])
		t := int(in[0])
		// The two forms nfcapd's blocks are mostly made of, M2 and M3
		// of at most 32 bytes, at distance 8+:
		// 8-byte moves (each load at least 8 bytes behind its store,
		// bytes past n are overwritten later), then the trailing
		// literals as 4 bytes, all within the windows. The rest, and
		// these at shorter distances, below.
		if t >= 64 {
			dist := 1 + (t>>2)&7 + int(in[1])<<3
			n := t>>5 + 1 // 3-8
			if from := op - dist; from >= 0 && dist >= 8 {
				*(*[8]byte)(out[0:8]) = *(*[8]byte)(dst[from : from+8])
				*(*[4]byte)(out[n : n+4]) = *(*[4]byte)(in[2:6])
				ip, op, mode = advance(ip+2, op+n, t&3)
				continue
			}
		} else if t >= 32 && t&31 != 0 {
			b0 := int(in[1])
			dist := 1 + b0>>2 + int(in[2])<<6
			n := t&31 + 2 // 3-33
			if from := op - dist; from >= 0 && dist >= 8 && n <= 32 {
				m := (*[32]byte)(dst[from : from+32])
				*(*[8]byte)(out[0:8]) = *(*[8]byte)(m[:8])
				*(*[8]byte)(out[8:16]) = *(*[8]byte)(m[8:16])
				if n > 16 {
					*(*[8]byte)(out[16:24]) = *(*[8]byte)(m[16:24])
					*(*[8]byte)(out[24:32]) = *(*[8]byte)(m[24:])
				}
				*(*[4]byte)(out[n : n+4]) = *(*[4]byte)(in[3:7])
				ip, op, mode = advance(ip+3, op+n, b0&3)
				continue
			}
		}
		var low int // trailing literals after this instruction
		if t < 16 {
			switch mode {
			case lowLiterals:
				// A literal run of t+3 bytes: 4-18 in one 16-byte
				// move and rarely a 2-byte one; t = 0: an extended
				// length, copied checked.
				if t == 0 {
					var n int
					if n, ip, err = extLength(src, ip+1, 15, len(dst)); err != nil {
						return ip, op, err
					}
					if ip, op, err = copyLiterals(dst, src, ip, op, n+3); err != nil {
						return ip, op, err
					}
				} else {
					n := t + 3
					*(*[16]byte)(out[0:16]) = *(*[16]byte)(in[1:17])
					if n > 16 {
						*(*[2]byte)(out[16:18]) = *(*[2]byte)(in[17:19])
					}
					ip += n + 1
					op += n
				}
				mode = lowFarM1
				continue
			case lowNearM1: // a 2-byte match at distance 1-1024
				dist := 1 + t>>2 + int(in[1])<<2
				ip += 2
				from := op - dist
				if from < 0 {
					return ip, op, ErrLookBehind
				}
				out[0] = dst[from] // byte by byte: at distance 1 the second byte is the first
				out[1] = dst[from+1]
				op += 2
			default: // lowFarM1: a 3-byte match at 2049+, one 4-byte move
				dist := 1 + 0x0800 + t>>2 + int(in[1])<<2
				ip += 2
				from := op - dist
				if from < 0 {
					return ip, op, ErrLookBehind
				}
				*(*[4]byte)(out[0:4]) = *(*[4]byte)(dst[from : from+4])
				op += 3
			}
			low = t & 3
		} else {
			var n, dist int
			switch {
			case t >= 64: // M2: length 3-8, distance up to 2 KiB
				dist = 1 + (t>>2)&7 + int(in[1])<<3
				n = t>>5 + 1
				low = t & 3
				ip += 2
			case t >= 32: // M3: distance up to 16 KiB
				n = t & 31
				if n == 0 {
					if n, ip, err = extLength(src, ip+1, 31, len(dst)); err != nil {
						return ip, op, err
					}
					if ip+2 > len(src) {
						return ip, op, ErrInputOverrun
					}
					dist = 1 + int(src[ip])>>2 + int(src[ip+1])<<6
					low = int(src[ip]) & 3
					ip += 2
				} else {
					dist = 1 + int(in[1])>>2 + int(in[2])<<6
					low = int(in[1]) & 3
					ip += 3
				}
				n += 2
			default: // M4: distance 16-48 KiB, or end of stream
				n = t & 7
				var b0, b1 int
				if n == 0 {
					if n, ip, err = extLength(src, ip+1, 7, len(dst)); err != nil {
						return ip, op, err
					}
					if ip+2 > len(src) {
						return ip, op, ErrInputOverrun
					}
					b0, b1 = int(src[ip]), int(src[ip+1])
					ip += 2
				} else {
					b0, b1 = int(in[1]), int(in[2])
					ip += 3
				}
				n += 2
				dist = (t&8)<<11 + b0>>2 + b1<<6
				low = b0 & 3
				if dist == 0 {
					if ip != len(src) {
						return ip, op, ErrTrailing
					}
					return ip, op, nil
				}
				dist += 0x4000
			}
			if op, err = copyMatch(dst, op, dist, n); err != nil {
				return ip, op, err
			}
		}
		// 0-3 literals follow a match: after none the next byte is an
		// instruction, after some a match.
		if low == 0 {
			mode = lowLiterals
			continue
		}
		if uint(ip+inSlack+3) > uint(len(src)) || uint(op+outSlack+3) > uint(len(dst)) {
			ip, op, state, t, err := trailing(dst, src, ip, op, low)
			if err != nil {
				return ip, op, err
			}
			return decompressTail(dst, src, ip, op, state, t)
		}
		*(*[4]byte)(dst[op : op+4]) = *(*[4]byte)(src[ip : ip+4])
		ip, op, mode = advance(ip, op, low)
	}
}

// advance moves ip and op past low trailing literals (0-3) that have been
// copied, and returns the mode that follows. The count is branched on
// rather than added, so that the address of the next instruction byte does
// not wait for the load of this one.
func advance(ip, op, low int) (int, int, int) {
	switch low {
	case 0:
		return ip, op, lowLiterals
	case 1:
		return ip + 1, op + 1, lowNearM1
	case 2:
		return ip + 2, op + 2, lowNearM1
	}
	return ip + 3, op + 3, lowNearM1
}

// tail hands the last bytes of a stream to decompressTail, in the state
// mode describes.
func tail(dst, src []byte, ip, op, mode int) (int, int, error) {
	switch mode {
	case lowLiterals:
		return decompressTail(dst, src, ip, op, stInstr, 0)
	case lowFarM1:
		return decompressTail(dst, src, ip, op, stAfterLR, 0)
	}
	if ip >= len(src) {
		return ip, op, ErrInputOverrun
	}
	return decompressTail(dst, src, ip+1, op, stMatch, int(src[ip]))
}

// decompressTail decodes the rest of a stream with a check before every
// read and write, from the state the fast loop left (for stMatch, t is the
// instruction byte already read).
func decompressTail(dst, src []byte, ip, op, state, t int) (int, int, error) {
	var err error
	for {
		if state != stMatch {
			if ip >= len(src) {
				return ip, op, ErrInputOverrun
			}
			t = int(src[ip])
			ip++
			if t < 16 {
				if state == stInstr {
					// A literal run of t+3 bytes (t = 0: extended length).
					n := t
					if n == 0 {
						if n, ip, err = extLength(src, ip, 15, len(dst)); err != nil {
							return ip, op, err
						}
					}
					if ip, op, err = copyLiterals(dst, src, ip, op, n+3); err != nil {
						return ip, op, err
					}
					state = stAfterLR
					continue
				}
				// Directly after a literal run of 4 or more bytes a small
				// code is a 3-byte match at distance 2049 and beyond.
				if ip >= len(src) {
					return ip, op, ErrInputOverrun
				}
				dist := 1 + 0x0800 + t>>2 + int(src[ip])<<2
				ip++
				if op, err = copyMatch(dst, op, dist, 3); err != nil {
					return ip, op, err
				}
				if ip, op, state, t, err = trailing(dst, src, ip, op, t&3); err != nil {
					return ip, op, err
				}
				continue
			}
		}
		// t is a match instruction.
		var dist, n, low int
		switch {
		case t >= 64: // M2: length 3-8, distance up to 2 KiB
			if ip >= len(src) {
				return ip, op, ErrInputOverrun
			}
			dist = 1 + (t>>2)&7 + int(src[ip])<<3
			ip++
			n = t>>5 + 1
			low = t & 3
		case t >= 32: // M3: distance up to 16 KiB
			n = t & 31
			if n == 0 {
				if n, ip, err = extLength(src, ip, 31, len(dst)); err != nil {
					return ip, op, err
				}
			}
			n += 2
			if ip+2 > len(src) {
				return ip, op, ErrInputOverrun
			}
			b0, b1 := int(src[ip]), int(src[ip+1])
			ip += 2
			dist = 1 + b0>>2 + b1<<6
			low = b0 & 3
		case t >= 16: // M4: distance 16-48 KiB, or end of stream
			n = t & 7
			if n == 0 {
				if n, ip, err = extLength(src, ip, 7, len(dst)); err != nil {
					return ip, op, err
				}
			}
			n += 2
			if ip+2 > len(src) {
				return ip, op, ErrInputOverrun
			}
			b0, b1 := int(src[ip]), int(src[ip+1])
			ip += 2
			dist = (t&8)<<11 + b0>>2 + b1<<6
			if dist == 0 {
				if ip != len(src) {
					return ip, op, ErrTrailing
				}
				return ip, op, nil
			}
			dist += 0x4000
			low = b0 & 3
		default: // M1: a 2-byte match at a short distance
			if ip >= len(src) {
				return ip, op, ErrInputOverrun
			}
			dist = 1 + t>>2 + int(src[ip])<<2
			ip++
			n = 2
			low = t & 3
		}
		if op, err = copyMatch(dst, op, dist, n); err != nil {
			return ip, op, err
		}
		if ip, op, state, t, err = trailing(dst, src, ip, op, low); err != nil {
			return ip, op, err
		}
	}
}

// trailing copies the 0-3 literals a match's low bits announce and returns
// the next state: after some, the next byte is a match (read into t).
func trailing(dst, src []byte, ip, op, low int) (int, int, int, int, error) {
	if low == 0 {
		return ip, op, stInstr, 0, nil
	}
	var err error
	if ip, op, err = copyLiterals(dst, src, ip, op, low); err != nil {
		return ip, op, 0, 0, err
	}
	if ip >= len(src) {
		return ip, op, 0, 0, ErrInputOverrun
	}
	return ip + 1, op, stMatch, int(src[ip]), nil
}

// extLength reads an extended length: a run of zero bytes each worth 255,
// then one non-zero byte, added to base.
func extLength(src []byte, ip, base, limit int) (int, int, error) {
	n := 0
	for {
		if ip >= len(src) {
			return 0, ip, ErrInputOverrun
		}
		b := src[ip]
		ip++
		if b != 0 {
			return n + base + int(b), ip, nil
		}
		n += 255
		if n > limit+len(src) {
			return 0, ip, ErrOutputOverrun
		}
	}
}

// copyLiterals copies n bytes from src[ip:] to dst[op:].
func copyLiterals(dst, src []byte, ip, op, n int) (int, int, error) {
	if n > len(src)-ip {
		return ip, op, ErrInputOverrun
	}
	if n > len(dst)-op {
		return ip, op, ErrOutputOverrun
	}
	if n <= 16 && len(src)-ip >= 16 && len(dst)-op >= 16 {
		// Two 8-byte moves; bytes past n are overwritten later.
		s, d := src[ip:ip+16], dst[op:op+16]
		binary.LittleEndian.PutUint64(d[0:8], binary.LittleEndian.Uint64(s[0:8]))
		binary.LittleEndian.PutUint64(d[8:16], binary.LittleEndian.Uint64(s[8:16]))
	} else {
		copy(dst[op:op+n], src[ip:ip+n])
	}
	return ip + n, op + n, nil
}

// copyMatch copies n bytes starting dist bytes back in dst; overlapping
// copies repeat the pattern, as LZ77 requires.
func copyMatch(dst []byte, op, dist, n int) (int, error) {
	from := op - dist
	if dist <= 0 || from < 0 {
		return op, ErrLookBehind
	}
	if n > len(dst)-op {
		return op, ErrOutputOverrun
	}
	if dist >= 8 && n+8 <= len(dst)-op {
		// 8 bytes at a time: each load is at least 8 bytes behind the
		// store, so it reads bytes already written. Up to 7 bytes past n
		// are written and overwritten later.
		for i := 0; i < n; i += 8 {
			binary.LittleEndian.PutUint64(dst[op+i:op+i+8], binary.LittleEndian.Uint64(dst[from+i:from+i+8]))
		}
		return op + n, nil
	}
	if dist >= n {
		copy(dst[op:op+n], dst[from:from+n])
		return op + n, nil
	}
	for i := 0; i < n; i++ {
		dst[op+i] = dst[from+i]
	}
	return op + n, nil
}
