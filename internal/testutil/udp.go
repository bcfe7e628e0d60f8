package testutil

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// UDPSocket is an IPv4 UDP socket as the kernel lists it in /proc/net/udp.
type UDPSocket struct {
	Port    int
	RxQueue uint64 // bytes received and not yet read by the owner
	Drops   uint64 // datagrams dropped for a full receive buffer
	Inode   uint64
}

// UDPSockets lists the IPv4 UDP sockets bound to port (any local address)
// in the test's network namespace. Linux only.
func UDPSockets(port int) ([]UDPSocket, error) {
	f, err := os.Open("/proc/net/udp")
	if err != nil {
		return nil, fmt.Errorf("listing UDP sockets: %w", err)
	}
	defer f.Close()
	var out []UDPSocket
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		// sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
		fs := strings.Fields(sc.Text())
		if len(fs) < 13 {
			continue
		}
		_, hexPort, ok := strings.Cut(fs[1], ":")
		if !ok {
			continue
		}
		if p, err := strconv.ParseUint(hexPort, 16, 16); err != nil || int(p) != port {
			continue
		}
		_, rx, _ := strings.Cut(fs[4], ":")
		s := UDPSocket{Port: port}
		s.RxQueue, _ = strconv.ParseUint(rx, 16, 64)
		s.Inode, _ = strconv.ParseUint(fs[9], 10, 64)
		s.Drops, _ = strconv.ParseUint(fs[12], 10, 64)
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading /proc/net/udp: %w", err)
	}
	return out, nil
}

// OwnsSocket reports whether process pid holds the socket with inode open.
func OwnsSocket(pid int, inode uint64) bool {
	fds, _ := filepath.Glob(fmt.Sprintf("/proc/%d/fd/*", pid))
	want := fmt.Sprintf("socket:[%d]", inode)
	for _, fd := range fds {
		if l, err := os.Readlink(fd); err == nil && l == want {
			return true
		}
	}
	return false
}

// OwnedUDPSocket returns the IPv4 UDP socket on port that process pid
// holds, if there is one.
func OwnedUDPSocket(pid, port int) (UDPSocket, bool, error) {
	socks, err := UDPSockets(port)
	if err != nil {
		return UDPSocket{}, false, err
	}
	for _, s := range socks {
		if OwnsSocket(pid, s.Inode) {
			return s, true, nil
		}
	}
	return UDPSocket{}, false, nil
}
