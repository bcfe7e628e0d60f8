package lzo

import "fmt"

// refDecompress is the first, plain decoder (one method call per step),
// kept as the oracle the fast Decompress is checked against.
func refDecompress(dst, src []byte) (int, error) {
	d := refDecoder{dst: dst, src: src}
	err := d.run()
	if err != nil {
		return d.op, fmt.Errorf("at input offset %d: %w", d.ip, err)
	}
	return d.op, nil
}

type refDecoder struct {
	dst, src []byte
	ip, op   int
}

func (d *refDecoder) byte() (int, error) {
	if d.ip >= len(d.src) {
		return 0, ErrInputOverrun
	}
	b := d.src[d.ip]
	d.ip++
	return int(b), nil
}

// length reads an extended length: a run of zero bytes each worth 255,
// then one non-zero byte, added to base.
func (d *refDecoder) length(base int) (int, error) {
	n := 0
	for {
		if d.ip >= len(d.src) {
			return 0, ErrInputOverrun
		}
		b := d.src[d.ip]
		d.ip++
		if b != 0 {
			n += base + int(b)
			return n, nil
		}
		n += 255
		if n > len(d.dst)+len(d.src) {
			return 0, ErrOutputOverrun
		}
	}
}

func (d *refDecoder) literals(n int) error {
	if d.ip+n > len(d.src) {
		return ErrInputOverrun
	}
	if d.op+n > len(d.dst) {
		return ErrOutputOverrun
	}
	copy(d.dst[d.op:], d.src[d.ip:d.ip+n])
	d.ip += n
	d.op += n
	return nil
}

// match copies n bytes starting dist bytes back; overlapping copies repeat
// the pattern, as LZ77 requires.
func (d *refDecoder) match(dist, n int) error {
	from := d.op - dist
	if dist <= 0 || from < 0 {
		return ErrLookBehind
	}
	if d.op+n > len(d.dst) {
		return ErrOutputOverrun
	}
	if dist >= n {
		copy(d.dst[d.op:d.op+n], d.dst[from:from+n])
		d.op += n
		return nil
	}
	for i := 0; i < n; i++ {
		d.dst[d.op+i] = d.dst[from+i]
	}
	d.op += n
	return nil
}

// state after an instruction: how many trailing literals (0-3) follow
// before the next instruction byte.
func (d *refDecoder) run() error {
	t, err := d.byte()
	if err != nil {
		return err
	}
	var trail int
	afterLiteralRun := false
	if t > 17 {
		// First byte > 17 encodes an initial literal run of t-17 bytes.
		n := t - 17
		if err := d.literals(n); err != nil {
			return err
		}
		if n < 4 {
			trail = -1 // literals already copied; next byte is a match
		} else {
			afterLiteralRun = true
		}
	} else {
		d.ip--
	}
	for {
		if trail == 0 && !afterLiteralRun {
			// Expect a literal run or a match.
			t, err = d.byte()
			if err != nil {
				return err
			}
			if t < 16 {
				n := t
				if n == 0 {
					if n, err = d.length(15); err != nil {
						return err
					}
				}
				if err := d.literals(n + 3); err != nil {
					return err
				}
				afterLiteralRun = true
				continue
			}
			d.ip-- // re-read as a match below
		}
		t, err = d.byte()
		if err != nil {
			return err
		}
		var dist, n, low int
		switch {
		case t >= 64: // M2: length 3-8, distance up to 2 KiB
			b, err := d.byte()
			if err != nil {
				return err
			}
			dist = 1 + (t>>2)&7 + b<<3
			n = (t >> 5) + 1
			low = t & 3
		case t >= 32: // M3: distance up to 16 KiB
			n = t & 31
			if n == 0 {
				if n, err = d.length(31); err != nil {
					return err
				}
			}
			n += 2
			if d.ip+2 > len(d.src) {
				return ErrInputOverrun
			}
			b0, b1 := int(d.src[d.ip]), int(d.src[d.ip+1])
			d.ip += 2
			dist = 1 + b0>>2 + b1<<6
			low = b0 & 3
		case t >= 16: // M4: distance 16-48 KiB, or end of stream
			n = t & 7
			if n == 0 {
				if n, err = d.length(7); err != nil {
					return err
				}
			}
			n += 2
			if d.ip+2 > len(d.src) {
				return ErrInputOverrun
			}
			b0, b1 := int(d.src[d.ip]), int(d.src[d.ip+1])
			d.ip += 2
			dist = (t&8)<<11 + b0>>2 + b1<<6
			if dist == 0 {
				if d.ip != len(d.src) {
					return ErrTrailing
				}
				return nil
			}
			dist += 0x4000
			low = b0 & 3
		default: // M1: 2 or 3 byte match with a short distance
			b, err := d.byte()
			if err != nil {
				return err
			}
			if afterLiteralRun {
				// Directly after a literal run of >= 4 bytes a small code is a
				// 3-byte match at distance 2049+.
				dist = 1 + 0x0800 + t>>2 + b<<2
				n = 3
			} else {
				dist = 1 + t>>2 + b<<2
				n = 2
			}
			low = t & 3
		}
		if err := d.match(dist, n); err != nil {
			return err
		}
		afterLiteralRun = false
		trail = low
		if trail > 0 {
			if err := d.literals(trail); err != nil {
				return err
			}
		}
	}
}
