//go:build linux && (amd64 || arm64 || 386 || arm || riscv64 || ppc64 || ppc64le || s390x || loong64)

package collector

import "syscall"

// reusePort sets SO_REUSEPORT so several sockets can share one UDP port and
// the kernel spreads exporters over them (by 4-tuple hash, so one exporter
// stays on one socket and its messages stay in order).
func reusePort(network, address string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, soReusePort, 1)
	})
	if err != nil {
		return err
	}
	return serr
}

const reusePortSupported = true

// soReusePort is SO_REUSEPORT on these Linux architectures (the syscall
// package does not export it; golang.org/x/sys is not a direct dependency).
const soReusePort = 0xF
