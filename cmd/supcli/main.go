// Command supcli is the client of the supervisor: the C supervisor_cli's
// -x, -i and -r, and commands for status, enable/disable/restart, reload,
// logs, stats and events (spec/supervisor.md §3).
package main

import (
	"os"

	"golang.org/x/sys/unix"

	"github.com/flowgate/flowgate/supervisor"
)

func main() {
	_, err := unix.IoctlGetTermios(int(os.Stdout.Fd()), unix.TCGETS)
	os.Exit(supervisor.RunCLI(os.Args[1:], os.Stdout, os.Stderr, err == nil))
}
