package nfdump

import (
	"bytes"
	"testing"

	"github.com/pierrec/lz4/v4"
)

// LZ4 does not store the decompressed size. A block that compresses far
// better than flow records do overflows the first guess and is decoded
// again into a buffer of the format's bound; the grown buffer is kept.
func TestExpandGrowsPastFirstGuess(t *testing.T) {
	plain := bytes.Repeat([]byte("flowgate nfdump block "), 40000) // 880 kB
	src := make([]byte, lz4.CompressBlockBound(len(plain)))
	var c lz4.Compressor
	n, err := c.CompressBlock(plain, src)
	if err != nil || n == 0 {
		t.Fatalf("compress: %d, %v", n, err)
	}
	src = src[:n]
	if firstGuess(len(src)) >= len(plain) {
		t.Fatalf("test block too weakly compressed: %d -> %d bytes", len(plain), len(src))
	}
	d := decompressor{method: CompressLZ4}
	data, buf, err := d.expand(nil, src)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, plain) {
		t.Fatalf("decoded %d bytes, want the %d-byte original", len(data), len(plain))
	}
	if cap(buf) < maxExpanded(len(src)) {
		t.Errorf("kept buffer of %d bytes, want the grown one (%d)", cap(buf), maxExpanded(len(src)))
	}
	// A corrupt block fails even with the largest buffer.
	bad := append([]byte(nil), src...)
	bad[len(bad)-1] ^= 0xff
	bad = append(bad, 0xf0, 1, 2, 3)
	if _, _, err := d.expand(nil, bad); err == nil {
		t.Error("corrupt LZ4 block decoded without error")
	}
	// Other methods pass their buffer through.
	d = decompressor{method: CompressNone}
	if data, _, err := d.expand(nil, src); err != nil || !bytes.Equal(data, src) {
		t.Errorf("uncompressed block: %v", err)
	}
}
