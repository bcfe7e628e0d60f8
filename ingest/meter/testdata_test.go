package meter

import (
	"testing"

	"github.com/flowgate/flowgate/internal/testutil"
)

// pcapTestdata is ../shared/testdata/pcap (skipped when absent).
func pcapTestdata(t testing.TB) string { return testutil.SharedTestdata(t, "pcap") }
