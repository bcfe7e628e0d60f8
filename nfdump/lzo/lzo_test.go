package lzo

import (
	"bytes"
	"errors"
	"testing"
)

var eof = []byte{0x11, 0x00, 0x00} // M4 with distance 0: end of stream

func stream(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func TestDecompressHandBuiltStreams(t *testing.T) {
	tests := []struct {
		name string
		src  []byte
		want string
	}{
		{"initial literals only", stream([]byte{17 + 3}, []byte("abc"), eof), "abc"},
		{"long initial literal run", stream([]byte{17 + 10}, []byte("0123456789"), eof), "0123456789"},
		// "abc" then an M2 match: length (t>>5)+1 = 6, distance 1+((t>>2)&7)+b*8 = 3.
		{"overlapping M2 match repeats pattern", stream([]byte{17 + 3}, []byte("abc"), []byte{5<<5 | 2<<2, 0}, eof), "abcabcabc"},
		// Literal run via instruction byte: t=0 then extended length 15+b; 3+t literals.
		{"extended literal run", stream([]byte{0, 2}, bytes.Repeat([]byte("x"), 20), eof), string(bytes.Repeat([]byte("x"), 20))},
		// M3 (t>=32): length (t&31)+2 = 4, distance 1+(b0>>2)+(b1<<6) = 1; low 2 bits of b0 = 1 trailing literal.
		{"M3 match with trailing literal", stream([]byte{17 + 1}, []byte("z"), []byte{32 | 2, 0<<2 | 1, 0}, []byte("q"), eof), "zzzzzq"},
		// After a literal run of >= 4, t<16 is a 3-byte match at distance 2049+; use a 2049-byte prefix.
		{"M1 after literal run", stream([]byte{0, 0, 0, 0, 0, 0, 0, 0, 2046 - 7*255 - 15}, bytes.Repeat([]byte("k"), 2049), []byte{0, 0}, eof), string(bytes.Repeat([]byte("k"), 2052))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dst := make([]byte, 8192)
			n, err := Decompress(dst, tc.src)
			if err != nil {
				t.Fatalf("Decompress: %v", err)
			}
			if got := string(dst[:n]); got != tc.want {
				t.Errorf("got %q (%d bytes), want %q (%d bytes)", got, len(got), tc.want, len(tc.want))
			}
		})
	}
}

func TestDecompressRejectsCorruptStreams(t *testing.T) {
	tests := []struct {
		name string
		src  []byte
		dst  int
		want error
	}{
		{"empty input", nil, 16, ErrInputOverrun},
		{"missing end marker", stream([]byte{17 + 3}, []byte("abc")), 16, ErrInputOverrun},
		{"literal run past input", []byte{17 + 9, 'a'}, 16, ErrInputOverrun},
		{"match before output start", stream([]byte{17 + 1}, []byte("a"), []byte{5<<5 | 7<<2, 9}, eof), 64, ErrLookBehind},
		{"output too small", stream([]byte{17 + 3}, []byte("abc"), []byte{5<<5 | 2<<2, 0}, eof), 5, ErrOutputOverrun},
		{"bytes after end marker", stream([]byte{17 + 1}, []byte("a"), eof, []byte{1}), 16, ErrTrailing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decompress(make([]byte, tc.dst), tc.src)
			if !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func FuzzDecompress(f *testing.F) {
	f.Add(stream([]byte{17 + 3}, []byte("abc"), []byte{5<<5 | 2<<2, 0}, eof))
	f.Add(stream([]byte{0, 2}, bytes.Repeat([]byte("x"), 20), eof))
	f.Add(stream([]byte{17 + 1}, []byte("z"), []byte{32 | 2, 1, 0}, []byte("q"), eof))
	f.Fuzz(func(t *testing.T, src []byte) {
		dst := make([]byte, 1<<16)
		n, err := Decompress(dst, src)
		if n < 0 || n > len(dst) {
			t.Fatalf("n = %d out of range (err %v)", n, err)
		}
	})
}
