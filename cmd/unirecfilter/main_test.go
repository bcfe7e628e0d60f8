package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowgate/flowgate/internal/testutil"
	"github.com/flowgate/flowgate/internal/testutil/trapcap"
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
