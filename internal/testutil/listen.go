package testutil

import (
	"fmt"
	"os"
	"strings"
)

// TCPListening reports whether a socket listens on TCP port (IPv4 or
// IPv6), from /proc/net/tcp{,6}, without connecting: a connection would
// be a client of the listener. Linux only.
func TCPListening(port int) bool {
	want := fmt.Sprintf(":%04X", port)
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			// sl local_address rem_address st ...; st 0A is LISTEN
			fs := strings.Fields(line)
			if len(fs) > 3 && strings.HasSuffix(fs[1], want) && fs[3] == "0A" {
				return true
			}
		}
	}
	return false
}

// UnixListening reports whether a UNIX stream socket listens at path, from
// /proc/net/unix, without connecting. The socket file alone is not enough:
// it exists from bind on, a moment before listen. Linux only.
func UnixListening(path string) bool {
	b, err := os.ReadFile("/proc/net/unix")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		// Num RefCount Protocol Flags Type St Inode Path; Flags 00010000
		// is __SO_ACCEPTCON, a listening socket.
		fs := strings.Fields(line)
		if len(fs) >= 8 && fs[7] == path && fs[3] == "00010000" {
			return true
		}
	}
	return false
}
