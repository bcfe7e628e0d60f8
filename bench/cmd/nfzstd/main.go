// Command nfzstd rewrites an uncompressed nfdump 1.7 file (LAYOUT_VERSION_2)
// with every block, the appendix included, compressed as one zstd frame, the
// format nfdump's HEAD writes with -z=zstd (compression code 4). Debian's
// nfdump 1.7.1 cannot write (or read) such files; bench/nfdump.sh makes its
// ZSTD file with this. Like nfdump's writer (ZSTD_compress at the default
// level) the frames carry their content size and no checksum: a reader of
// real nfdump files never verifies one.
//
// With FRAMES, the data blocks' frames are also written there back to back:
// a stream `zstd -d` decodes, which bench/nfdump.sh times as the cost of
// libzstd decompressing the same blocks.
//
//	nfzstd IN.nf OUT.nf [FRAMES.zst]
package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"

	"github.com/klauspost/compress/zstd"
)

func main() {
	if len(os.Args) != 3 && len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: nfzstd IN.nf OUT.nf [FRAMES.zst]")
		os.Exit(2)
	}
	frames := ""
	if len(os.Args) == 4 {
		frames = os.Args[3]
	}
	if err := convert(os.Args[1], os.Args[2], frames); err != nil {
		fmt.Fprintln(os.Stderr, "nfzstd:", err)
		os.Exit(1)
	}
}

const (
	headerLen      = 40
	blockHeaderLen = 12
)

// convert writes in's blocks zstd-compressed to out and, unless frames is
// empty, the data blocks' frames to frames.
func convert(in, out, frames string) error {
	b, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	dst, fr, err := recompress(b)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	if err := os.WriteFile(out, dst, 0o644); err != nil {
		return err
	}
	if frames == "" {
		return nil
	}
	return os.WriteFile(frames, fr, 0o644)
}

// recompress returns the file b with its blocks zstd-compressed, and the
// frames of its data blocks (not the appendix) concatenated.
func recompress(b []byte) (file, frames []byte, err error) {
	if len(b) < headerLen || binary.LittleEndian.Uint16(b) != 0xA50C || binary.LittleEndian.Uint16(b[2:]) != 2 {
		return nil, nil, errors.New("not an nfdump LAYOUT_VERSION_2 file")
	}
	if b[16] != 0 {
		return nil, nil, fmt.Errorf("compression %d: want an uncompressed file (nfdump -J 0)", b[16])
	}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderCRC(false))
	if err != nil {
		return nil, nil, err
	}
	defer enc.Close()
	appendix := int(binary.LittleEndian.Uint64(b[24:]))
	out := append([]byte{}, b[:headerLen]...)
	out[16] = 4
	for off := headerLen; off < len(b); {
		if len(b)-off < blockHeaderLen {
			return nil, nil, fmt.Errorf("block header cut at offset %d", off)
		}
		size := int(binary.LittleEndian.Uint32(b[off+4:]))
		end := off + blockHeaderLen + size
		if end > len(b) {
			return nil, nil, fmt.Errorf("block at offset %d runs past the end", off)
		}
		isAppendix := off >= appendix && appendix > 0
		if off == appendix {
			binary.LittleEndian.PutUint64(out[24:], uint64(len(out)))
		}
		hdr := len(out)
		out = append(out, b[off:off+blockHeaderLen]...)
		out = enc.EncodeAll(b[off+blockHeaderLen:end], out)
		binary.LittleEndian.PutUint32(out[hdr+4:], uint32(len(out)-hdr-blockHeaderLen))
		if !isAppendix {
			frames = append(frames, out[hdr+blockHeaderLen:]...)
		}
		off = end
	}
	return out, frames, nil
}
