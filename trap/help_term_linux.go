//go:build linux

package trap

import (
	"io"
	"os"
	"syscall"
	"unsafe"
)

// terminalWidth returns the column count of w when it is a terminal
// (libtrap's get_terminal_width uses the same TIOCGWINSZ ioctl).
func terminalWidth(w io.Writer) (int, bool) {
	f, ok := w.(*os.File)
	if !ok {
		return 0, false
	}
	var ws struct{ Row, Col, X, Y uint16 }
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), uintptr(syscall.TIOCGWINSZ), uintptr(unsafe.Pointer(&ws)))
	if errno != 0 || ws.Col == 0 {
		return 0, false
	}
	return int(ws.Col), true
}
