package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowgate/flowgate/converters"
	"github.com/flowgate/flowgate/internal/testutil"
	"github.com/flowgate/flowgate/unirec"
)

// sendAndRead runs nfreader into a fresh .trapcap with extra args before
// the files, and reads the output back.
func sendAndRead(t *testing.T, args []string, files ...string) (capture, int, string, string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out.trapcap")
	code, stdout, stderr := runNfreader(t, append(append([]string{"-i", "f:" + out}, args...), files...)...)
	if code == exitBadParams || code == exitTrapInit {
		return capture{}, code, stdout, stderr
	}
	return readTrapcap(t, out), code, stdout, stderr
}

func TestNfreaderOptions(t *testing.T) {
	dir := testutil.SharedTestdata(t, "nfdump")
	v9 := filepath.Join(dir, "gen_v9_v4v6_none.nf")
	g := readGoldenCSV(t, dir, "gen_v9_v4v6_none")
	col := func(row int, name string) string { return strings.TrimSpace(g.rows[row][g.col[name]]) }

	t.Run("filter sends only matching records", func(t *testing.T) {
		got, code, stdout, stderr := sendAndRead(t, []string{"-f", "proto udp and dst port 53"}, v9)
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var want []string
		for i := range g.rows {
			if col(i, "pr") == "UDP" && col(i, "dp") == "53" {
				want = append(want, col(i, "sa"))
			}
		}
		if len(want) == 0 || len(got.Records) != len(want) {
			t.Fatalf("sent %d records, golden has %d matching", len(got.Records), len(want))
		}
		id := lookup(t, got.Tmpl)
		for i, rec := range got.Records {
			if sa := rec.IP(id("SRC_IP")).String(); sa != want[i] {
				t.Errorf("record %d SRC_IP %s, want %s", i, sa, want[i])
			}
		}
		if stdout != strconv.Itoa(len(want))+" flow records sent\n" {
			t.Errorf("stdout %q", stdout)
		}
	})
	t.Run("unsupported filter is a filter error naming the word", func(t *testing.T) {
		_, code, _, stderr := sendAndRead(t, []string{"-f", "proto udp and flags S"}, v9)
		if code != exitRead || !strings.Contains(stderr, "flags") {
			t.Errorf("exit %d, stderr %q; want %d naming \"flags\"", code, stderr, exitRead)
		}
	})
	t.Run("count limits the records sent", func(t *testing.T) {
		got, code, stdout, _ := sendAndRead(t, []string{"-c", "7"}, v9, v9)
		if code != exitOK || len(got.Records) != 7 || stdout != "7 flow records sent\n" || got.EOSLen != 1 {
			t.Errorf("exit %d, %d records, eos %d, stdout %q; want 7 records and the end of stream", code, len(got.Records), got.EOSLen, stdout)
		}
	})
	t.Run("count spans files", func(t *testing.T) {
		got, _, _, _ := sendAndRead(t, []string{"-c", "250"}, v9, v9)
		if len(got.Records) != 250 {
			t.Errorf("%d records, want 250", len(got.Records))
		}
	})
	t.Run("no EOF", func(t *testing.T) {
		got, code, _, _ := sendAndRead(t, []string{"-n"}, v9)
		if code != exitOK || len(got.Records) != len(g.rows) || got.EOSLen != 0 {
			t.Errorf("exit %d, %d records, final message of %d bytes; want %d records and no end-of-stream message", code, len(got.Records), got.EOSLen, len(g.rows))
		}
	})
	t.Run("rate limit still sends every record", func(t *testing.T) {
		got, code, _, stderr := sendAndRead(t, []string{"-r", "1000000"}, v9)
		if code != exitOK || len(got.Records) != len(g.rows) {
			t.Errorf("exit %d, %d records (%s); want all %d", code, len(got.Records), stderr, len(g.rows))
		}
	})
	t.Run("progress dots", func(t *testing.T) {
		_, _, stdout, _ := sendAndRead(t, []string{"-p", "50"}, v9)
		if stdout != "....\n200 flow records sent\n" {
			t.Errorf("stdout %q", stdout)
		}
	})
	t.Run("link mask", func(t *testing.T) {
		for _, tc := range []struct {
			arg  string
			want uint64
		}{{"ff", 0xff}, {"0x30", 0x30}, {"C", 0xc}} {
			got, code, _, stderr := sendAndRead(t, []string{"-l", tc.arg, "-c", "3"}, v9)
			if code != exitOK {
				t.Fatalf("-l %s: exit %d: %s", tc.arg, code, stderr)
			}
			id := lookup(t, got.Tmpl)
			for _, rec := range got.Records {
				if v := rec.Uint64(id("LINK_BIT_FIELD")); v != tc.want {
					t.Errorf("-l %s: LINK_BIT_FIELD %#x, want %#x", tc.arg, v, tc.want)
				}
			}
		}
	})
	t.Run("direction bits from the input interface", func(t *testing.T) {
		got, _, _, _ := sendAndRead(t, []string{"-D"}, v9)
		id := lookup(t, got.Tmpl)
		seen := map[uint8]bool{}
		for i, rec := range got.Records {
			in, _ := strconv.Atoi(col(i, "in"))
			var want uint8
			if in > 0 && in < 8 {
				want = 1 << in
			}
			v := rec.Uint8(id("DIR_BIT_FIELD"))
			if v != want {
				t.Errorf("record %d (input %d): DIR_BIT_FIELD %d, want %d", i, in, v, want)
			}
			seen[v] = true
		}
		if len(seen) < 8 {
			t.Errorf("only %d distinct DIR_BIT_FIELD values", len(seen))
		}
	})
	t.Run("actual timestamps keep the duration", func(t *testing.T) {
		firsts, durs := goldenTimes(t, dir, "gen_v9_v4v6_none")
		before := time.Now().Unix()
		got, _, _, _ := sendAndRead(t, []string{"-T"}, v9)
		after := time.Now().Unix()
		id := lookup(t, got.Tmpl)
		for i, rec := range got.Records {
			first, last := rec.Time(id("TIME_FIRST")), rec.Time(id("TIME_LAST"))
			if s := int64(last.Sec()); s < before || s > after {
				t.Fatalf("record %d TIME_LAST %d s, not between %d and %d", i, s, before, after)
			}
			wantLast := firsts[i] + durs[i]
			if int64(last.Msec()) != wantLast%1000 || int64(first.Msec()) != firsts[i]%1000 {
				t.Errorf("record %d: milliseconds %d/%d, want the original %d/%d", i, first.Msec(), last.Msec(), firsts[i]%1000, wantLast%1000)
			}
			if d := millis(last) - millis(first); d != durs[i] {
				t.Errorf("record %d: duration %d ms, want %d", i, d, durs[i])
			}
		}
	})
	t.Run("rich template", func(t *testing.T) {
		got, code, _, stderr := sendAndRead(t, []string{"-F", "rich"}, v9)
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		want, _ := unirec.ParseTemplate(converters.NfdumpRichTemplate)
		if got.Spec != want.Spec() {
			t.Fatalf("template %q, want the rich template", got.Spec)
		}
		id := lookup(t, got.Tmpl)
		for i, rec := range got.Records {
			for name, c := range map[string]string{"SRC_AS": "sas", "DST_AS": "das", "INPUT_INTERFACE": "in", "OUTPUT_INTERFACE": "out"} {
				if v := strconv.FormatUint(uint64(rec.Uint32(id(name))), 10); v != col(i, c) {
					t.Errorf("record %d %s = %s, golden %s %s", i, name, v, c, col(i, c))
				}
			}
		}
	})
}

// -w changes how many goroutines decode, not what is sent: the records,
// their order and the count are the same for 1, 2 and 4 workers, with and
// without a filter (filtering and converting run in the workers).
func TestNfreaderWorkersSendTheSame(t *testing.T) {
	dir := testutil.SharedTestdata(t, "nfdump")
	files := []string{filepath.Join(dir, "gen_ipfix_multiblock_lz4.nf"), filepath.Join(dir, "recomp_v9_lzo.nf")}
	for _, args := range [][]string{nil, {"-f", "proto tcp"}, {"-F", "rich"}} {
		var want capture
		var wantOut string
		for _, w := range []string{"1", "2", "4"} {
			got, code, stdout, stderr := sendAndRead(t, append([]string{"-w", w}, args...), files...)
			if code != exitOK {
				t.Fatalf("%v -w %s: exit %d: %s", args, w, code, stderr)
			}
			if w == "1" {
				want, wantOut = got, stdout
				if len(want.Records) == 0 {
					t.Fatalf("%v: nothing sent", args)
				}
				continue
			}
			if stdout != wantOut || len(got.Records) != len(want.Records) {
				t.Fatalf("%v -w %s: %q, %d records; -w 1: %q, %d", args, w, stdout, len(got.Records), wantOut, len(want.Records))
			}
			for i := range got.Records {
				if !bytes.Equal(got.Records[i].Data, want.Records[i].Data) {
					t.Fatalf("%v -w %s: record %d differs from -w 1", args, w, i)
				}
			}
		}
	}
}

func TestNfreaderBadParameters(t *testing.T) {
	dir := testutil.SharedTestdata(t, "nfdump")
	v9 := filepath.Join(dir, "gen_v9_v4v6_none.nf")
	out := "f:" + filepath.Join(t.TempDir(), "o.trapcap")
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"no file", []string{"-i", out}, exitBadParams},
		{"rate below 100", []string{"-i", out, "-r", "99", v9}, exitBadParams},
		{"rate not a number", []string{"-i", out, "-r", "fast", v9}, exitBadParams},
		{"rate and real time", []string{"-i", out, "-r", "1000", "-R", v9}, exitBadParams},
		{"count zero", []string{"-i", out, "-c", "0", v9}, exitBadParams},
		{"count negative", []string{"-i", out, "-c", "-3", v9}, exitBadParams},
		{"link mask not hex", []string{"-i", out, "-l", "zz", v9}, exitBadParams},
		{"progress zero", []string{"-i", out, "-p", "0", v9}, exitBadParams},
		{"unknown template", []string{"-i", out, "-F", "full", v9}, exitBadParams},
		{"workers above 32", []string{"-i", out, "-w", "33", v9}, exitBadParams},
		{"workers not a number", []string{"-i", out, "-w", "many", v9}, exitBadParams},
		{"unknown option", []string{"-i", out, "-x", v9}, exitBadParams},
		{"missing interface", []string{v9}, exitTrapInit},
		{"bad interface", []string{"-i", "x:nothing", v9}, exitTrapInit},
		{"help", []string{"-h"}, exitOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runNfreader(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d (stdout %q, stderr %q)", code, tc.code, stdout, stderr)
			}
			if tc.code != exitOK && stderr == "" {
				t.Error("no message on stderr")
			}
		})
	}
}

// A truncated file delivers its leading records, is reported with its name
// and the offset of the fault, and the next file is still read.
func TestNfreaderCorruptFileThenNextFile(t *testing.T) {
	dir := testutil.SharedTestdata(t, "nfdump")
	multi, err := os.ReadFile(filepath.Join(dir, "gen_ipfix_multiblock_lz4.nf"))
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	cut := filepath.Join(tmp, "cut.nf")
	if err := os.WriteFile(cut, multi[:600000], 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(tmp, "missing.nf")
	v9 := filepath.Join(dir, "gen_v9_v4v6_none.nf")

	got, code, stdout, stderr := sendAndRead(t, nil, cut, missing, v9)
	if code != exitRead {
		t.Errorf("exit %d, want %d", code, exitRead)
	}
	if !strings.Contains(stderr, cut) || !strings.Contains(stderr, "offset") || !strings.Contains(stderr, missing) {
		t.Errorf("stderr does not name the files and the offset: %q", stderr)
	}
	if got.EOSLen != 1 {
		t.Errorf("no end of stream after the last file")
	}
	leading := len(got.Records) - 200
	if leading <= 0 || leading >= 21000 {
		t.Fatalf("%d records from the truncated file, want some but not all", leading)
	}
	if !strings.HasPrefix(stdout, strconv.Itoa(len(got.Records))+" flow records sent") {
		t.Errorf("stdout %q", stdout)
	}
	id := lookup(t, got.Tmpl)
	firsts, _ := goldenTimes(t, dir, "gen_ipfix_multiblock_lz4")
	for i := 0; i < leading; i++ {
		if f := millis(got.Records[i].Time(id("TIME_FIRST"))); f != firsts[i] {
			t.Fatalf("truncated file record %d: TIME_FIRST %d, golden %d", i, f, firsts[i])
		}
	}
	g := readGoldenCSV(t, dir, "gen_v9_v4v6_none")
	for i, rec := range got.Records[leading:] {
		if sa := rec.IP(id("SRC_IP")).String(); sa != strings.TrimSpace(g.rows[i][g.col["sa"]]) {
			t.Fatalf("next file record %d: SRC_IP %s, golden %s", i, sa, g.rows[i][g.col["sa"]])
		}
	}
}
