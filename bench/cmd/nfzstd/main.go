// Command nfzstd rewrites an uncompressed nfdump 1.7 file (LAYOUT_VERSION_2)
// with every block, the appendix included, compressed as one zstd frame, the
// format nfdump's HEAD writes with -z=zstd (compression code 4). Debian's
// nfdump 1.7.1 cannot write (or read) such files; bench/nfdump.sh makes its
// ZSTD file with this.
//
//	nfzstd IN.nf OUT.nf
package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"

	"github.com/klauspost/compress/zstd"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: nfzstd IN.nf OUT.nf")
		os.Exit(2)
	}
	if err := convert(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "nfzstd:", err)
		os.Exit(1)
	}
}

const (
	headerLen      = 40
	blockHeaderLen = 12
)

func convert(in, out string) error {
	b, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	dst, err := recompress(b)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	return os.WriteFile(out, dst, 0o644)
}

// recompress returns the file b with its blocks zstd-compressed.
func recompress(b []byte) ([]byte, error) {
	if len(b) < headerLen || binary.LittleEndian.Uint16(b) != 0xA50C || binary.LittleEndian.Uint16(b[2:]) != 2 {
		return nil, errors.New("not an nfdump LAYOUT_VERSION_2 file")
	}
	if b[16] != 0 {
		return nil, fmt.Errorf("compression %d: want an uncompressed file (nfdump -J 0)", b[16])
	}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault))
	if err != nil {
		return nil, err
	}
	defer enc.Close()
	appendix := int(binary.LittleEndian.Uint64(b[24:]))
	out := append([]byte{}, b[:headerLen]...)
	out[16] = 4
	for off := headerLen; off < len(b); {
		if len(b)-off < blockHeaderLen {
			return nil, fmt.Errorf("block header cut at offset %d", off)
		}
		size := int(binary.LittleEndian.Uint32(b[off+4:]))
		end := off + blockHeaderLen + size
		if end > len(b) {
			return nil, fmt.Errorf("block at offset %d runs past the end", off)
		}
		if off == appendix {
			binary.LittleEndian.PutUint64(out[24:], uint64(len(out)))
		}
		hdr := len(out)
		out = append(out, b[off:off+blockHeaderLen]...)
		out = enc.EncodeAll(b[off+blockHeaderLen:end], out)
		binary.LittleEndian.PutUint32(out[hdr+4:], uint32(len(out)-hdr-blockHeaderLen))
		off = end
	}
	return out, nil
}
