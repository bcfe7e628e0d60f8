package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowgate/flowgate/trap"
	"github.com/flowgate/flowgate/unirec"
)

// writeFlows writes basic-flow records (SRC_IP, DST_PORT) to a trapcap file.
func writeFlows(t *testing.T, path string, flows [][2]string) {
	t.Helper()
	sp, err := trap.ParseIFCSpec("f:" + path)
	if err != nil {
		t.Fatal(err)
	}
	out, err := trap.OpenOutput(sp[0], "", nil)
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := unirec.ParseTemplate(flowSpec)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := out.SetDataFormat(trap.FormatUniRec, tmpl.Spec()); err != nil {
		t.Fatal(err)
	}
	rec := tmpl.NewRecord()
	src, _ := tmpl.Lookup("SRC_IP")
	dst, _ := tmpl.Lookup("DST_IP")
	dport, _ := tmpl.Lookup("DST_PORT")
	first, _ := tmpl.Lookup("TIME_FIRST")
	for i, f := range flows {
		if err := rec.SetFromString(src, f[0]); err != nil {
			t.Fatal(err)
		}
		if err := rec.SetFromString(dport, f[1]); err != nil {
			t.Fatal(err)
		}
		rec.SetIP(dst, unirec.IPv4([4]byte{10, 0, 0, byte(i)}))
		rec.SetTime(first, unirec.TimeFromSecMsec(1700000000+uint32(i), 0))
		if err := out.Send(ctx, rec.Data); err != nil {
			t.Fatal(err)
		}
	}
	if err := out.SendEOS(ctx); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestDetectionAlertsOnPortAndAddress(t *testing.T) {
	dir := t.TempDir()
	in, alerts := filepath.Join(dir, "flows.trapcap"), filepath.Join(dir, "alerts.trapcap")
	writeFlows(t, in, [][2]string{
		{"10.1.1.1", "80"},
		{"10.1.1.2", "6666"},    // alert: port
		{"192.168.1.1", "443"},  // alert: address
		{"192.168.1.2", "6667"}, // no alert
	})
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"detection", "-i", "f:" + in + ",f:" + alerts}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if n := strings.Count(stdout.String(), "\n"); n != 2 {
		t.Errorf("printed %d flows, want 2:\n%s", n, stdout.String())
	}

	// Read the alerts back through a TRAP input.
	sp, _ := trap.ParseIFCSpec("f:" + alerts)
	ain, err := trap.OpenInput(sp[0], "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ain.Close()
	ain.SetRequiredFormat(trap.FormatUniRec, alertSpec)
	at, _ := unirec.ParseTemplate(alertSpec)
	var got []string
	for {
		msg, _, err := ain.Recv(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if trap.IsEOS(msg) {
			break
		}
		rec, err := at.Wrap(msg)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(rec.AppendText(nil, ',')))
	}
	want := []string{
		// Canonical order: DST_IP, SRC_IP, EVENT_TIME, DST_PORT, SRC_PORT.
		"10.0.0.1,10.1.1.2,2023-11-14T22:13:21.000000,6666,0",
		"10.0.0.2,192.168.1.1,2023-11-14T22:13:22.000000,443,0",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("alerts\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
