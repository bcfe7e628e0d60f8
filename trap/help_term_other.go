//go:build !linux

package trap

import "io"

// terminalWidth reports no terminal off Linux, so help uses width 85.
func terminalWidth(io.Writer) (int, bool) { return 0, false }
