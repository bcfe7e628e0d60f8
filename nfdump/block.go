package nfdump

import (
	"bytes"
	"compress/bzip2"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/flowgate/flowgate/nfdump/lzo"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

const (
	blockHeaderSize = 12
	// maxBlockSize is nfdump's BUFFSIZE: the largest block payload a reader
	// accepts, compressed or not (1.7.1 src/lib/nffile.h).
	maxBlockSize = 5 * 1024 * 1024
)

// Block types.
const (
	blockTypeV1    = 2 // 1.6 data block
	blockTypeV3    = 3 // 1.7 data block
	blockTypeArray = 4
)

type blockHeader struct {
	numRecords uint32
	size       uint32
	typ        uint16
	flags      uint16
}

func parseBlockHeader(b []byte) blockHeader {
	return blockHeader{
		numRecords: binary.LittleEndian.Uint32(b),
		size:       binary.LittleEndian.Uint32(b[4:]),
		typ:        binary.LittleEndian.Uint16(b[8:]),
		flags:      binary.LittleEndian.Uint16(b[10:]),
	}
}

func (h blockHeader) check() error {
	if h.size == 0 || h.size > maxBlockSize {
		return fmt.Errorf("%w: block size %d outside 1..%d", ErrFormat, h.size, maxBlockSize)
	}
	return nil
}

// decompressor turns one block payload into records. Each worker owns one,
// so codec state (zstd decoder, buffers) is reused across blocks; close
// hands the zstd decoder to zstdPool for the next iteration.
type decompressor struct {
	method Compression
	zstd   *zstd.Decoder
	bz     bytes.Reader
}

// zstdPool recycles zstd decoders across iterations and files (a decoder
// holds some hundred KiB of tables and history buffers). A decoder used
// only through DecodeAll runs no goroutines, so one the pool drops needs
// no Close.
var zstdPool sync.Pool

// newZstd returns a pooled or new decoder for one block at a time: the
// caller's goroutine decodes (concurrency 1), and a frame may not need
// more than a block's worth of memory.
func newZstd() (*zstd.Decoder, error) {
	if z, _ := zstdPool.Get().(*zstd.Decoder); z != nil {
		return z, nil
	}
	return zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(maxBlockSize))
}

// errBlockTooLarge reports decompressed output beyond maxBlockSize.
var errBlockTooLarge = errors.New("decompressed block larger than 5 MiB")

// maxExpanded bounds the decompressed size of an LZO or LZ4 block of n
// bytes: both formats spend at least one input byte per 255 output bytes of
// a run length, so output never exceeds 255*n plus a small constant; the
// bound is capped at nfdump's 5 MiB buffer.
func maxExpanded(n int) int {
	if n > maxBlockSize/256 {
		return maxBlockSize
	}
	return 256*n + 4096
}

// firstGuess is the output buffer expand tries first for an LZO or LZ4
// block of n bytes: nfcapd flushes a block at about 1 MiB of records and
// both codecs shrink flow records to a third or so, so 6*n fits nearly
// every block without zeroing a 5 MiB buffer for each pipeline slot (which
// dominates start-up for small files and costs two early GC cycles).
func firstGuess(n int) int {
	return min(maxExpanded(n), 6*n+64*1024)
}

// expand decompresses src, reusing buf when it is large enough, and
// returns the payload and the (possibly grown) buffer to keep. LZO and LZ4
// do not store the decompressed size: a block that does not fit the first
// guess (or the buffer kept from earlier blocks) is decoded again into a
// buffer of the format's upper bound, so an error is only reported once
// the full bound was tried.
func (d *decompressor) expand(buf, src []byte) (data, kept []byte, err error) {
	switch d.method {
	case CompressLZO, CompressLZ4:
		if cap(buf) == 0 {
			buf = make([]byte, firstGuess(len(src)))
		}
		data, err = d.decompress(buf, src)
		if err != nil && cap(buf) < maxExpanded(len(src)) {
			buf = make([]byte, maxExpanded(len(src)))
			data, err = d.decompress(buf, src)
		}
		return data, buf, err
	case CompressBZ2, CompressZSTD:
		data, err = d.decompress(buf, src)
		if err == nil {
			buf = data[:0] // keep the grown buffer for reuse
		}
		return data, buf, err
	}
	data, err = d.decompress(buf, src)
	return data, buf, err
}

// decompress decodes src into dst (which must have capacity
// maxExpanded(len(src)) for LZO and LZ4) and returns the decoded payload.
func (d *decompressor) decompress(dst, src []byte) ([]byte, error) {
	switch d.method {
	case CompressNone:
		return src, nil
	case CompressLZO:
		dst = dst[:cap(dst)]
		n, err := lzo.Decompress(dst, src)
		if err != nil {
			return nil, err
		}
		return dst[:n], nil
	case CompressLZ4:
		dst = dst[:cap(dst)]
		n, err := lz4.UncompressBlock(src, dst)
		if err != nil {
			return nil, fmt.Errorf("lz4: %w", err)
		}
		return dst[:n], nil
	case CompressBZ2:
		d.bz.Reset(src)
		r := bzip2.NewReader(&d.bz)
		out := dst[:0]
		for {
			if len(out) == cap(out) {
				if cap(out) >= maxBlockSize {
					return nil, fmt.Errorf("bz2: %w", errBlockTooLarge)
				}
				out = append(out, 0)[:len(out)]
			}
			n, err := r.Read(out[len(out):cap(out)])
			out = out[:len(out)+n]
			if err == io.EOF {
				return out, nil
			}
			if err != nil {
				return nil, fmt.Errorf("bz2: %w", err)
			}
		}
	case CompressZSTD:
		if d.zstd == nil {
			z, err := newZstd()
			if err != nil {
				return nil, fmt.Errorf("zstd: %w", err)
			}
			d.zstd = z
		}
		out, err := d.zstd.DecodeAll(src, dst[:0])
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		if len(out) > maxBlockSize {
			return nil, fmt.Errorf("zstd: %w", errBlockTooLarge)
		}
		return out, nil
	}
	return nil, fmt.Errorf("unsupported compression %v", d.method)
}

func (d *decompressor) close() {
	if d.zstd != nil {
		zstdPool.Put(d.zstd)
		d.zstd = nil
	}
}
