package ingest

import (
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"
)

func cmsg(level, typ int32, data []byte) []byte {
	b := make([]byte, unix.CmsgSpace(len(data)))
	h := (*unix.Cmsghdr)(unsafePointer(&b[0]))
	h.Level, h.Type = level, typ
	h.SetLen(unix.CmsgLen(len(data)))
	copy(b[unix.CmsgLen(0):], data)
	return b
}

func TestSocketDropsFindsTheCounter(t *testing.T) {
	drops := binary.NativeEndian.AppendUint32(nil, 1234)
	other := cmsg(unix.SOL_IP, unix.IP_TTL, []byte{64, 0, 0, 0})
	for _, tc := range []struct {
		name string
		oob  []byte
		want uint32
		ok   bool
	}{
		{"alone", cmsg(unix.SOL_SOCKET, unix.SO_RXQ_OVFL, drops), 1234, true},
		{"after another message", append(other, cmsg(unix.SOL_SOCKET, unix.SO_RXQ_OVFL, drops)...), 1234, true},
		{"absent", other, 0, false},
		{"empty", nil, 0, false},
		{"truncated", cmsg(unix.SOL_SOCKET, unix.SO_RXQ_OVFL, drops)[:10], 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := socketDrops(tc.oob)
			if got != tc.want || ok != tc.ok {
				t.Errorf("socketDrops = %d, %v; want %d, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

// FuzzSocketDrops: control messages of any shape never make the parser
// read out of bounds or loop forever.
func FuzzSocketDrops(f *testing.F) {
	f.Add(cmsg(unix.SOL_SOCKET, unix.SO_RXQ_OVFL, []byte{1, 0, 0, 0}))
	f.Add(append(cmsg(unix.SOL_IP, unix.IP_TTL, []byte{64, 0, 0, 0}), cmsg(unix.SOL_SOCKET, unix.SO_RXQ_OVFL, []byte{9, 0, 0, 0})...))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, oob []byte) {
		// Cmsghdr needs pointer alignment: the kernel's buffer has it.
		buf := make([]uint64, (len(oob)+7)/8)
		b := unsafeBytes(buf, len(oob))
		copy(b, oob)
		socketDrops(b)
	})
}
