//go:build !linux

package ingest

import "syscall"

// controlUDP does nothing outside Linux: SO_REUSEPORT's load spreading and
// SO_RXQ_OVFL are Linux behaviour, so one socket per port is used.
func controlUDP(reuse bool) func(network, address string, c syscall.RawConn) error { return nil }

const reusePortSupported = false

func socketDrops(oob []byte) (uint32, bool) { return 0, false }
