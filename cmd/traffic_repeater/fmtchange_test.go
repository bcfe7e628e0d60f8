package main

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/flowgate/flowgate/internal/testutil"
	"github.com/flowgate/flowgate/trap"
	"github.com/flowgate/flowgate/unirec"
)

// writeTrapcap writes records of spec (one uint16 value each, the other
// fields zero) to a .trapcap, with the end-of-stream message when eos.
func writeTrapcap(t *testing.T, path, spec string, vals []uint16, eos bool) {
	t.Helper()
	sp, err := trap.ParseIFCSpec("f:" + path)
	if err != nil {
		t.Fatal(err)
	}
	out, err := trap.OpenOutput(sp[0], "", nil)
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := unirec.ParseTemplate(spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := out.SetDataFormat(trap.FormatUniRec, tmpl.Spec()); err != nil {
		t.Fatal(err)
	}
	port, _ := tmpl.Lookup("SRC_PORT")
	rec := tmpl.NewRecord()
	ctx := context.Background()
	for _, v := range vals {
		rec.SetUint16(port, v)
		if err := out.Send(ctx, rec.Data); err != nil {
			t.Fatal(err)
		}
	}
	if eos {
		out.SendEOS(ctx)
	}
	if err := out.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// A format change mid-stream passes through the real module: the repeater
// reads two files of different templates, copies the new format to its
// UNIX output, which disconnects its client; the client reconnects and
// gets FORMAT_CHANGED with the first record of the new template.
func TestRepeaterForwardsFormatChange(t *testing.T) {
	dir := testutil.ShortDir(t)
	t.Setenv("TRAP_SOCKET_DIR", dir)
	const specA = "ipaddr SRC_IP,uint16 SRC_PORT"
	const specB = "ipaddr SRC_IP,uint16 SRC_PORT,uint8 PROTOCOL"
	a, b := filepath.Join(dir, "a.trapcap"), filepath.Join(dir, "b.trapcap")
	writeTrapcap(t, a, specA, []uint16{1, 2, 3}, false)
	writeTrapcap(t, b, specB, []uint16{4, 5}, true)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan int, 1)
	var out bytes.Buffer
	go func() {
		done <- run(ctx, []string{"traffic_repeater", "-i", "f:" + a + " " + b + ",u:fc"}, &out, &out)
	}()
	sp, _ := trap.ParseIFCSpec("u:fc")
	in, err := trap.OpenInput(sp[0], dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	in.SetRequiredFormat(trap.FormatUniRec, "")
	type got struct {
		spec    string
		changed bool
		port    uint16
	}
	want := []got{{specA, true, 1}, {specA, false, 2}, {specA, false, 3}, {specB, true, 4}, {specB, false, 5}}
	for i, w := range want {
		msg, changed, err := in.Recv(ctx)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		_, spec := in.DataFormat()
		tmpl, err := unirec.ParseTemplate(spec)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := tmpl.Wrap(msg)
		if err != nil {
			t.Fatalf("message %d under %q: %v", i, spec, err)
		}
		port, _ := tmpl.Lookup("SRC_PORT")
		if g := (got{spec, changed, rec.Uint16(port)}); g != w {
			t.Errorf("message %d: %+v, want %+v", i, g, w)
		}
	}
	if msg, _, err := in.Recv(ctx); err != nil || !trap.IsEOS(msg) {
		t.Errorf("after the records: %q, %v; want the forwarded end of stream", msg, err)
	}
	if code := <-done; code != 0 {
		t.Errorf("exit %d: %s", code, out.String())
	}
}
