package trap

import (
	"net"
	"strconv"
	"syscall"
)

// unixPeerID returns the peer's PID of a UNIX socket client, which libtrap
// reports as the client id in the service IFC (SO_PEERCRED).
func unixPeerID(conn net.Conn) (string, bool) {
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return "", false
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return "", false
	}
	var cred *syscall.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil || credErr != nil {
		return "", false
	}
	return strconv.Itoa(int(cred.Pid)), true
}
