package e2e

import (
	"os"
	"testing"

	"github.com/flowgate/flowgate/internal/testutil"
)

// Every test of the package gets its own TRAP_SOCKET_DIR (a temporary
// directory): none depends on /var/run/libtrap. The commands the tests
// run are built once (before the first test, see prebuild) and removed
// at the end, so a run leaves nothing behind in the temporary directory.
func TestMain(m *testing.M) {
	prebuild()
	code := testutil.SocketDirMain(m)
	if cmdDir != "" {
		os.RemoveAll(cmdDir)
	}
	os.Exit(code)
}
