package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/flowgate/flowgate/internal/testutil"
	"github.com/flowgate/flowgate/trap"
)

func runReporter(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var so, se bytes.Buffer
	code := run(context.Background(), append([]string{"report2idea"}, args...), &so, &se)
	return code, so.String(), se.String()
}

func decode(t *testing.T, line string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		t.Fatalf("%v: %s", err, line)
	}
	delete(m, "ID")
	delete(m, "CreateTime")
	return m
}

// Every reporter case of shared/testdata/idea, run as its README says,
// equals the Python reporter's output line by line (ID and CreateTime
// removed; times and everything else compared).
func TestGoldenReporters(t *testing.T) {
	dir := testutil.SharedTestdata(t, "idea")
	for _, name := range []string{"vportscan", "haddrscan", "amplificationdetector", "bruteforce", "blacklist"} {
		t.Run(name, func(t *testing.T) {
			args := []string{"--reporter", name, "-i", "f:" + filepath.Join(dir, name, "in.trapcap"), "--config", filepath.Join(dir, "harness-config.yml"), "-D"}
			if name == "blacklist" {
				args = append(args, "--blacklist-config", filepath.Join(dir, name, "bl_downloader_config.xml"))
			}
			code, out, stderr := runReporter(t, args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			ref, err := os.ReadFile(filepath.Join(dir, name, "reference.idea.jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			got, want := strings.Split(strings.TrimSpace(out), "\n"), strings.Split(strings.TrimSpace(string(ref)), "\n")
			if len(got) != len(want) {
				t.Fatalf("%d alerts, want %d:\n%s", len(got), len(want), out)
			}
			for i := range want {
				if g, w := decode(t, got[i]), decode(t, want[i]); !reflect.DeepEqual(g, w) {
					t.Errorf("alert %d:\n got %s\nwant %s", i, got[i], want[i])
				}
			}
		})
	}
}

// With -T and a trap action the IDEA messages also go to the output IFC
// as JSON "IDEA", followed by the end of stream.
func TestTrapOutput(t *testing.T) {
	dir := testutil.SharedTestdata(t, "idea")
	work := t.TempDir()
	out, cfg := filepath.Join(work, "idea.trapcap"), filepath.Join(work, "config.yaml")
	os.WriteFile(cfg, []byte("namespace: cz.cesnet.nemea\ncustom_actions:\n- id: file\n  file: {path: '-'}\n- id: t\n  trap: {}\n"+
		"rules:\n- id: 1\n  condition: Null\n  actions: [file, t]\n"), 0o644)
	code, stdout, stderr := runReporter(t, "--reporter", "bruteforce", "-i", "f:"+filepath.Join(dir, "bruteforce", "in.trapcap")+",f:"+out,
		"--config", cfg, "-D", "-T")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	sp, _ := trap.ParseIFCSpec("f:" + out)
	in, err := trap.OpenInput(sp[0], "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	in.SetRequiredFormat(trap.FormatJSON, "IDEA")
	var msgs []string
	for {
		msg, _, err := in.Recv(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if trap.IsEOS(msg) {
			break
		}
		msgs = append(msgs, string(msg))
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(msgs) != 4 || len(lines) != 4 {
		t.Fatalf("%d messages on the IFC, %d lines on stdout, want 4 each", len(msgs), len(lines))
	}
	for i := range msgs {
		if msgs[i] != lines[i] {
			t.Fatalf("message %d differs from stdout:\n%s\n%s", i, msgs[i], lines[i])
		}
	}
}

// vportscan_detector's own alerts (the golden scenario's C output) map to
// one IDEA message each, without the Python aggregator.
func TestVportscanDetectorAlerts(t *testing.T) {
	dir := testutil.SharedTestdata(t, "detectors/vportscan_detector")
	idea := testutil.SharedTestdata(t, "idea")
	code, out, stderr := runReporter(t, "--reporter", "vportscan_detector", "-i", "f:"+filepath.Join(dir, "scan_basic.out.trapcap"),
		"--config", filepath.Join(idea, "harness-config.yml"), "-D")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d messages, want 3:\n%s", len(lines), out)
	}
	got := decode(t, lines[0])
	want := decode(t, `{"Format": "IDEA0", "EventTime": "2024-03-14T09:02:00Z", "CeaseTime": "2024-03-14T09:02:02Z", "DetectTime": "2024-03-14T09:02:02Z", "Category": ["Recon.Scanning"], "Description": "Vertical scan using TCP SYN", "Source": [{"Proto": ["tcp"], "IP4": ["203.0.113.50"]}], "Target": [{"Proto": ["tcp"], "IP4": ["192.168.10.20"]}], "Node": [{"Name": "cz.cesnet.nemea.vportscan", "SW": ["Nemea", "vportscan_detector"], "Type": ["Flow", "Statistical"], "AggrWin": "00:05:00"}], "FlowCount": 50}`)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %s", lines[0])
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("no space left on device") }

// IDEA lines that cannot be written are an error, not a silent exit 0, even
// when they all sit in the output buffer until the end (haddrscan: 1.5 kB).
func TestOutputWriteErrorFails(t *testing.T) {
	dir := testutil.SharedTestdata(t, "idea")
	var se strings.Builder
	code := run(context.Background(), []string{"report2idea", "--reporter", "haddrscan", "-i", "f:" + filepath.Join(dir, "haddrscan", "in.trapcap"),
		"--config", filepath.Join(dir, "harness-config.yml"), "-D"}, failingWriter{}, &se)
	if code == 0 || !strings.Contains(se.String(), "no space left on device") {
		t.Fatalf("exit %d, stderr %q; want a failure naming the write error", code, se.String())
	}
}
