package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/flowgate/flowgate/internal/testutil"
	"github.com/flowgate/flowgate/internal/testutil/nemeac"
)

var inputs = map[string]string{
	"a": "uint32 ID,ipaddr SRC_IP,uint16 SRC_PORT\n1,10.0.0.1,80\n2,::1,443\n6,192.168.0.1,22\n",
	"b": "uint32 ID,ipaddr SRC_IP2,string NOTE\n3,10.0.0.3,\"x\"\n4,::4,\"yy\"\n5,1.1.1.1,\"\"\n",
	"c": "uint16 SRC_PORT,double D,time TIME_FIRST\n7,1.5,2024-01-15T10:00:00.500\n8,-2.25,1970-01-01T00:00:01.000\n",
}

func sortedLines(s string) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	sort.Strings(l)
	return strings.Join(l, "\n")
}

// Two and three inputs of different templates give the C merger's records
// (sorted logger text, as merger/test/compare_output.sh compares them),
// with the union template and with -u.
func TestMergerEqualsC(t *testing.T) {
	testutil.SocketDir(t)
	c := nemeac.Find(t)
	dir := t.TempDir()
	files := map[string]string{}
	for name, csv := range inputs {
		p := filepath.Join(dir, name+".csv")
		os.WriteFile(p, []byte(csv), 0o644)
		files[name] = filepath.Join(dir, name+".trapcap")
		c.Run(t, "logreplay", "-i", "f:"+files[name], "-f", p)
	}
	for _, tc := range []struct {
		name string
		ins  []string
		args []string
	}{
		{"two", []string{"a", "b"}, nil},
		{"three", []string{"a", "b", "c"}, nil},
		{"two -u", []string{"a", "b"}, []string{"-u", "uint32 ID,string NOTE,uint16 SRC_PORT"}},
		{"three -u", []string{"a", "b", "c"}, []string{"-u", "uint16 SRC_PORT,ipaddr SRC_IP,time TIME_FIRST"}},
		{"three -n", []string{"a", "b", "c"}, []string{"-n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var spec []string
			for _, in := range tc.ins {
				spec = append(spec, "f:"+files[in])
			}
			cOut, gOut := filepath.Join(dir, "out-c.trapcap"), filepath.Join(dir, "out-go.trapcap")
			os.Remove(cOut)
			os.Remove(gOut)
			c.Run(t, "merger", append([]string{"-i", strings.Join(append(spec, "f:"+cOut), ",")}, tc.args...)...)
			var o bytes.Buffer
			args := append([]string{"merger", "-i", strings.Join(append(spec, "f:"+gOut), ",")}, tc.args...)
			if code := run(context.Background(), args, &o, &o); code != 0 {
				t.Fatalf("exit %d: %s", code, o.String())
			}
			want, got := sortedLines(c.LoggerText(t, cOut)), sortedLines(c.LoggerText(t, gOut))
			if want != got || strings.Count(want, "\n") < 4 {
				t.Errorf("ours:\n%s\nC merger:\n%s", got, want)
			}
		})
	}
}
