package e2e

import (
	"os"
	"testing"

	"github.com/flowgate/flowgate/internal/testutil"
)

// Every test of the package gets its own TRAP_SOCKET_DIR (a temporary
// directory): none depends on /var/run/libtrap. The binaries the tests
// build once (their temporary folders) are removed at the end, so a run
// leaves nothing behind in the temporary directory.
func TestMain(m *testing.M) {
	code := testutil.SocketDirMain(m)
	for _, d := range []string{binDir, detBinDir, fgBinDir, meterBinDir, supBinDir} {
		if d != "" {
			os.RemoveAll(d)
		}
	}
	os.Exit(code)
}
