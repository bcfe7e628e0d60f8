package dettest

import (
	"testing"

	"github.com/flowgate/flowgate/internal/flowgen"
	"github.com/flowgate/flowgate/unirec"
)

// Records is flowgen.Records failing the test on error.
func Records(t testing.TB, spec string, flows []flowgen.Flow) []unirec.Record {
	t.Helper()
	recs, err := flowgen.Records(spec, flows)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}
