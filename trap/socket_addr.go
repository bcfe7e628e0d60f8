package trap

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"
)

// fallbackSocketDir is used when the context gives no socket directory: the
// directory packaged NEMEA builds use (trap-wire.md §3).
const fallbackSocketDir = "/var/run/libtrap"

// unixSocketPath is libtrap's "<DIR>/trap-<NAME>.sock" (ifc_tcpip.h).
func unixSocketPath(dir, name string) string {
	if dir == "" {
		dir = fallbackSocketDir
	}
	return filepath.Join(dir, "trap-"+name+".sock")
}

// checkPort validates a TCP port parameter (check_portrange). allowZero
// lets an output ask the kernel for a free port, which tests use.
func checkPort(p string, allowZero bool) error {
	n, err := strconv.Atoi(p)
	if err != nil || n < 0 || n > 65535 || (n == 0 && !allowZero) {
		return fmt.Errorf("%w: port %q (want 1-65535)", ErrBadParams, p)
	}
	return nil
}

// socketEndpoint is a parsed socket IFC address: where an output listens
// or an input connects, plus the TLS material of a T: interface.
type socketEndpoint struct {
	kind    byte
	network string // "unix" or "tcp"
	address string // socket path or host:port
	id      string // NAME or PORT, as libtrap reports it in the service IFC
	tls     *tls.Config
}

// parseOutputEndpoint reads u:NAME, t:PORT and T:PORT:KEY:CERT:CA
// (positional parameters only: socket options are already removed).
func parseOutputEndpoint(kind byte, params []string, socketDir string) (socketEndpoint, error) {
	ep := socketEndpoint{kind: kind}
	switch kind {
	case KindUNIX:
		if len(params) != 1 || params[0] == "" {
			return ep, fmt.Errorf("%w: u: output wants u:NAME, got %d parameter(s)", ErrBadParams, len(params))
		}
		if strings.ContainsRune(params[0], '/') {
			return ep, fmt.Errorf("%w: socket name %q must not contain '/'", ErrBadParams, params[0])
		}
		ep.network, ep.address, ep.id = "unix", unixSocketPath(socketDir, params[0]), params[0]
	case KindTCP:
		if len(params) != 1 {
			return ep, fmt.Errorf("%w: t: output wants t:PORT, got %d parameter(s)", ErrBadParams, len(params))
		}
		if err := checkPort(params[0], true); err != nil {
			return ep, err
		}
		ep.network, ep.address, ep.id = "tcp", net.JoinHostPort("", params[0]), params[0]
	case KindTLS:
		if len(params) != 4 {
			return ep, fmt.Errorf("%w: T: output wants T:PORT:KEY:CERT:CA, got %d parameter(s)", ErrBadParams, len(params))
		}
		if err := checkPort(params[0], true); err != nil {
			return ep, err
		}
		conf, err := serverTLSConfig(params[1], params[2], params[3])
		if err != nil {
			return ep, err
		}
		ep.network, ep.address, ep.id, ep.tls = "tcp", net.JoinHostPort("", params[0]), params[0], conf
	default:
		return ep, fmt.Errorf("%w: %q is not a socket interface", ErrBadParams, kind)
	}
	return ep, nil
}

// parseInputEndpoint reads u:NAME, t:[HOST:]PORT and T:[HOST:]PORT:KEY:CERT:CA.
func parseInputEndpoint(kind byte, params []string, socketDir string) (socketEndpoint, error) {
	ep := socketEndpoint{kind: kind}
	hostPort := func(p []string) (string, string, error) {
		host, port := "localhost", p[0]
		if len(p) == 2 {
			host, port = p[0], p[1]
		}
		return host, port, checkPort(port, false)
	}
	switch kind {
	case KindUNIX:
		if len(params) != 1 || params[0] == "" {
			return ep, fmt.Errorf("%w: u: input wants u:NAME, got %d parameter(s)", ErrBadParams, len(params))
		}
		ep.network, ep.address, ep.id = "unix", unixSocketPath(socketDir, params[0]), params[0]
	case KindTCP:
		if len(params) != 1 && len(params) != 2 {
			return ep, fmt.Errorf("%w: t: input wants t:[HOST:]PORT, got %d parameter(s)", ErrBadParams, len(params))
		}
		host, port, err := hostPort(params)
		if err != nil {
			return ep, err
		}
		ep.network, ep.address, ep.id = "tcp", net.JoinHostPort(host, port), port
	case KindTLS:
		if len(params) != 4 && len(params) != 5 {
			return ep, fmt.Errorf("%w: T: input wants T:[HOST:]PORT:KEY:CERT:CA, got %d parameter(s)", ErrBadParams, len(params))
		}
		files := params[len(params)-3:]
		host, port, err := hostPort(params[:len(params)-3])
		if err != nil {
			return ep, err
		}
		conf, err := clientTLSConfig(files[0], files[1], files[2])
		if err != nil {
			return ep, err
		}
		ep.network, ep.address, ep.id, ep.tls = "tcp", net.JoinHostPort(host, port), port, conf
	default:
		return ep, fmt.Errorf("%w: %q is not a socket interface", ErrBadParams, kind)
	}
	return ep, nil
}

// listen opens the output's listening socket. A UNIX socket file that a
// live process still serves is an error naming it (a second module or
// daemon must not take over the first one's socket); a stale one, left by
// a process that died, is replaced; anything else that is not a socket is
// left alone. The socket is made world-writable, as libtrap does
// (server_socket_open). Go listeners set SO_REUSEADDR, and ":PORT" is the
// IPv6/IPv4 wildcard.
func (ep socketEndpoint) listen() (net.Listener, error) {
	if ep.network == "unix" {
		if err := claimSocketPath(ep.address); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen(ep.network, ep.address)
	if err != nil {
		return nil, fmt.Errorf("listening on %s %s: %w", ep.network, ep.address, err)
	}
	if ul, ok := ln.(*net.UnixListener); ok {
		// The file is removed by removeSocketFile, after the last client
		// left, and only while it is still ours.
		ul.SetUnlinkOnClose(false)
		if err := os.Chmod(ep.address, 0o666); err != nil {
			ln.Close()
			os.Remove(ep.address)
			return nil, fmt.Errorf("chmod socket %s: %w", ep.address, err)
		}
		info, err := os.Stat(ep.address)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("socket %s: %w", ep.address, err)
		}
		return &ownedUnixListener{UnixListener: ul, path: ep.address, info: info}, nil
	}
	return ln, nil
}

// ErrSocketInUse reports a UNIX socket that another live process serves.
var ErrSocketInUse = errors.New("socket in use")

// claimSocketPath makes path free for a new socket: nothing there, or a
// stale socket (nobody accepts on it), which it removes.
func claimSocketPath(path string) error {
	st, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("socket %s: %w", path, err)
	}
	if st.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("socket %s: the path exists and is not a socket; not replacing it", path)
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close()
		return fmt.Errorf("%w: %s is served by another live process (another module or flowgate with the same output name?)", ErrSocketInUse, path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("socket %s: cannot tell whether it is stale: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing stale socket %s: %w", path, err)
	}
	return nil
}

// ownedUnixListener remembers which file its socket is, so that closing
// never removes a file that another process put at the path since.
type ownedUnixListener struct {
	*net.UnixListener
	path string
	info os.FileInfo
}

// removeSocketFile removes the socket file of ln if ln made it and it is
// still there (not replaced by another process's socket).
func removeSocketFile(ln net.Listener, log *zap.Logger) {
	ol, ok := ln.(*ownedUnixListener)
	if !ok {
		return
	}
	st, err := os.Lstat(ol.path)
	if err != nil || !os.SameFile(st, ol.info) {
		if err == nil {
			log.Warn("socket file replaced by another process; leaving it", zap.String("socket", ol.path))
		}
		return
	}
	if err := os.Remove(ol.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		log.Warn("removing socket file", zap.String("socket", ol.path), zap.Error(err))
	}
}

// dial connects an input to its output, with the TLS handshake for T:.
func (ep socketEndpoint) dial(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, ep.network, ep.address)
	if err != nil {
		return nil, err
	}
	if ep.tls == nil {
		return c, nil
	}
	tc := tls.Client(c, ep.tls)
	if err := tc.HandshakeContext(ctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("TLS handshake with %s: %w", ep.address, err)
	}
	return tc, nil
}
