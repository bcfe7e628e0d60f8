package nfdump

import (
	"fmt"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/flowgate/flowgate/internal/testutil"
)

// testdataDir is ../shared/testdata/<sub> (skipped when absent).
func testdataDir(t testing.TB, sub string) string { return testutil.SharedTestdata(t, sub) }

// findTestdata is testdataDir for callers that can do without the data.
func findTestdata(sub string) (string, bool) { return testutil.FindShared(sub) }

// The helpers below render a Record the way nfdump 1.7.1 prints it, so the
// golden text can be compared field by field.

func protoName(p uint8) string {
	switch p {
	case 1:
		return "ICMP"
	case 2:
		return "IGMP"
	case 6:
		return "TCP"
	case 17:
		return "UDP"
	case 58:
		return "ICMP6"
	}
	return strconv.Itoa(int(p))
}

func tcpFlags(f uint8) string {
	const names = "CEUAPRSF"
	b := []byte("........")
	for i := 0; i < 8; i++ {
		if f&(0x80>>uint(i)) != 0 {
			b[i] = names[i]
		}
	}
	return string(b)
}

func addrText(a netip.Addr) string {
	if !a.IsValid() {
		return "0.0.0.0"
	}
	return a.String()
}

func macText(m [6]byte) string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5])
}

func mplsText(v uint32) string {
	return fmt.Sprintf("%d-%d-%d", v>>4, (v>>1)&7, v&1)
}

func utcSeconds(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02 15:04:05")
}

func u(v uint64) string   { return strconv.FormatUint(v, 10) }
func u32(v uint32) string { return strconv.FormatUint(uint64(v), 10) }
func u8(v uint8) string   { return strconv.FormatUint(uint64(v), 10) }
