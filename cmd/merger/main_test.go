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
	"github.com/flowgate/flowgate/internal/testutil/trapcap"
	"github.com/flowgate/flowgate/trap"
	"github.com/flowgate/flowgate/unirec"
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

// -I reads on past an input's end-of-stream message (here the first of
// two files on one input); without it that input ends there. The output
// gets one end of stream either way.
func TestIgnoreEOF(t *testing.T) {
	testutil.SocketDir(t)
	dir := t.TempDir()
	write := func(name string, ids ...uint32) string {
		p := filepath.Join(dir, name)
		sp, _ := trap.ParseIFCSpec("f:" + p)
		out, err := trap.OpenOutput(sp[0], "", nil)
		if err != nil {
			t.Fatal(err)
		}
		tmpl, _ := unirec.ParseTemplate("uint32 ID")
		out.SetDataFormat(trap.FormatUniRec, tmpl.Spec())
		r := tmpl.NewRecord()
		ctx := context.Background()
		for _, id := range ids {
			r.SetUint32(0, id)
			out.Send(ctx, r.Data)
		}
		out.SendEOS(ctx)
		if err := out.Close(ctx); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a, b, c := write("a.trapcap", 1, 2), write("b.trapcap", 3), write("c.trapcap", 4)
	for _, tc := range []struct {
		args []string
		want int
	}{{nil, 3}, {[]string{"-I"}, 4}} {
		out := filepath.Join(dir, "out.trapcap")
		os.Remove(out)
		var o bytes.Buffer
		args := append([]string{"merger", "-i", "f:" + a + " " + b + ",f:" + c + ",f:" + out}, tc.args...)
		if code := run(context.Background(), args, &o, &o); code != 0 {
			t.Fatalf("%v: exit %d: %s", tc.args, code, o.String())
		}
		got := trapcap.Read(t, out)
		if len(got.Records) != tc.want || got.EOSLen != 1 {
			t.Errorf("%v: %d records, end of stream %d; want %d records and one end of stream", tc.args, len(got.Records), got.EOSLen, tc.want)
		}
	}
}
