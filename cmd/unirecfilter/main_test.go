package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowgate/flowgate/filter"
	"github.com/flowgate/flowgate/internal/testutil"
	"github.com/flowgate/flowgate/internal/testutil/trapcap"
	"github.com/flowgate/flowgate/trap"
)

// Bad options fail at start, before any record, with the column.
func TestBadInputErrorsAtStart(t *testing.T) {
	testutil.SocketDir(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "f.txt")
	os.WriteFile(file, []byte("uint16 SRC_PORT:SRC_PORT == 22;\n:PROTOCOL == 6 &&\n DST_PORT >;\n"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-F", "PROTOCOL == 6 &&& SRC_PORT2 == 1"}, "column 17"},
		{[]string{"-F", "SRC_PORT2 == 1"}, "column 9: unexpected number"},
		{[]string{"-O", "uint16 SRC_PORT,DST_PORT"}, `column 17: "DST_PORT" is not "type NAME"`},
		{[]string{"-O", "uint16 SRC_PORT,bogus X"}, `column 17: unknown field type "bogus"`},
		{[]string{"-O", "uint16 SRC_PORT,uint16 X=abc"}, "column 26: default of X"},
		{[]string{"-f", file}, "line 3, column 12"},
		{[]string{"-F", "true"}, "use parameter -f FILE"},
	} {
		ifc := "f:/nonexistent/in.trapcap,b:"
		if tc.args[0] == "-f" || tc.args[1] == "true" {
			ifc += ",b:"
		}
		args := append([]string{"unirecfilter", "-i", ifc}, tc.args...)
		var out bytes.Buffer
		if code := run(context.Background(), args, &out, &out); code == 0 || !strings.Contains(out.String(), tc.want) {
			t.Errorf("%q: exit %d, output %q; want an error containing %q", tc.args, code, out.String(), tc.want)
		}
	}
}

// The golden basic flows through a filter and a projection, end of
// stream forwarded.
func TestFilterGoldenFlows(t *testing.T) {
	testutil.SocketDir(t)
	in := filepath.Join(testutil.SharedTestdata(t, "trap"), "basic_flows.trapcap")
	out := filepath.Join(t.TempDir(), "out.trapcap")
	var o bytes.Buffer
	args := []string{"unirecfilter", "-i", "f:" + in + ",f:" + out, "-O", "uint16 DST_PORT,uint8 PROTOCOL,uint32 MARK=7", "-F", "PROTOCOL == TCP"}
	if code := run(context.Background(), args, &o, &o); code != 0 {
		t.Fatalf("exit %d: %s", code, o.String())
	}
	c := trapcap.Read(t, out)
	if c.Spec != "uint32 MARK,uint16 DST_PORT,uint8 PROTOCOL" || c.EOSLen != 1 || len(c.Records) == 0 {
		t.Fatalf("spec %q, %d records, EOS %d", c.Spec, len(c.Records), c.EOSLen)
	}
	mark, _ := c.Tmpl.Lookup("MARK")
	proto, _ := c.Tmpl.Lookup("PROTOCOL")
	for _, r := range c.Records {
		if r.Uint8(proto) != 6 || r.Uint32(mark) != 7 {
			t.Errorf("record %s passed PROTOCOL == TCP with MARK=7", r.AppendText(nil, ','))
		}
	}
}

// A reload (SIGUSR1 with -f) takes effect from the next record on: here
// the filter file changes after the 10th record of the golden flows.
func TestReloadSwitchesFiltersMidStream(t *testing.T) {
	in := filepath.Join(testutil.SharedTestdata(t, "trap"), "basic_flows.trapcap")
	out := filepath.Join(t.TempDir(), "out.trapcap")
	inSp, err := trap.ParseIFCSpec("f:" + in)
	if err != nil {
		t.Fatal(err)
	}
	inIfc, err := trap.OpenInput(inSp[0], "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer inIfc.Close()
	outSp, err := trap.ParseIFCSpec("f:" + out)
	if err != nil {
		t.Fatal(err)
	}
	outIfc, err := trap.OpenOutput(outSp[0], "", nil)
	if err != nil {
		t.Fatal(err)
	}
	specsFor := func(expr string) []filter.OutputSpec {
		s, err := filter.ParseFilterFile(":" + expr + ";")
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	calls := 0
	f := &filterer{
		in: inIfc, outs: []*trap.Output{outIfc}, specs: specsFor("PROTOCOL == 6"), verbose: -1,
		stdout: io.Discard, stderr: io.Discard, cut: -1,
		reload: func() ([]filter.OutputSpec, error) {
			calls++
			if calls == 11 { // before the 11th record
				return specsFor("PROTOCOL == 17"), nil
			}
			return nil, nil
		},
	}
	ctx := context.Background()
	if err := f.run(ctx); err != nil {
		t.Fatal(err)
	}
	if err := outIfc.Close(ctx); err != nil {
		t.Fatal(err)
	}
	all := trapcap.Read(t, in)
	got := trapcap.Read(t, out)
	proto, _ := all.Tmpl.Lookup("PROTOCOL")
	var want []string
	for i, r := range all.Records {
		if p := r.Uint8(proto); i < 10 && p == 6 || i >= 10 && p == 17 {
			want = append(want, string(r.AppendText(nil, ',')))
		}
	}
	var have []string
	for _, r := range got.Records {
		have = append(have, string(r.AppendText(nil, ',')))
	}
	if strings.Join(have, "\n") != strings.Join(want, "\n") || len(want) == 0 {
		t.Errorf("records after the reload:\n%s\nwant\n%s", strings.Join(have, "\n"), strings.Join(want, "\n"))
	}
}
