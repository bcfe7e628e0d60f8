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
// an error instead of a panic. Literals and matches are copied 8 bytes at a
// time where the buffers leave room (flow records compress into many short
// runs, where a call to copy per run would cost more than the bytes).
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

func decompress(dst, src []byte) (ip, op int, err error) {
	if len(src) == 0 {
		return 0, 0, ErrInputOverrun
	}
	var t int
	state := stInstr
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
		if n < 4 {
			// The next byte is a match.
			if ip >= len(src) {
				return ip, op, ErrInputOverrun
			}
			t, ip, state = int(src[ip]), ip+1, stMatch
		} else {
			state = stAfterLR
		}
	}
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
					n += 3
					if n <= 16 && len(src)-ip >= 16 && len(dst)-op >= 16 {
						s, d := src[ip:ip+16], dst[op:op+16]
						binary.LittleEndian.PutUint64(d[0:8], binary.LittleEndian.Uint64(s[0:8]))
						binary.LittleEndian.PutUint64(d[8:16], binary.LittleEndian.Uint64(s[8:16]))
						ip, op = ip+n, op+n
					} else if ip, op, err = copyLiterals(dst, src, ip, op, n); err != nil {
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
		// Fast path for a match at distance 8 or more with room in both
		// buffers: 8-byte moves (each load at least 8 bytes behind its
		// store, as in copyMatch), then the 0-3 trailing literals in one
		// more move and the next instruction read inline.
		if from := op - dist; dist >= 8 && from >= 0 && len(dst)-op >= n+16 && len(src)-ip >= 8+1 {
			d, s := dst[op:op+16], dst[from:from+16]
			binary.LittleEndian.PutUint64(d[0:8], binary.LittleEndian.Uint64(s[0:8]))
			if n > 8 {
				binary.LittleEndian.PutUint64(d[8:16], binary.LittleEndian.Uint64(s[8:16]))
				for i := 16; i < n; i += 8 {
					binary.LittleEndian.PutUint64(dst[op+i:op+i+8], binary.LittleEndian.Uint64(dst[from+i:from+i+8]))
				}
			}
			op += n
			if low == 0 {
				state = stInstr
				continue
			}
			binary.LittleEndian.PutUint64(dst[op:op+8], binary.LittleEndian.Uint64(src[ip:ip+8]))
			ip += low
			op += low
			t, ip, state = int(src[ip]), ip+1, stMatch
			continue
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
