package main

import (
	"os"
	"testing"

	"github.com/flowgate/flowgate/internal/testutil"
)

// Every test of the package gets its own TRAP_SOCKET_DIR (a temporary
// directory): none depends on /var/run/libtrap.
func TestMain(m *testing.M) { os.Exit(testutil.SocketDirMain(m)) }
