//go:build !(linux && (amd64 || arm64 || 386 || arm || riscv64 || ppc64 || ppc64le || s390x || loong64))

package collector

import "syscall"

func reusePort(network, address string, c syscall.RawConn) error { return nil }

const reusePortSupported = false
