package nfdump

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var (
	exporterLine = regexp.MustCompile(`SysID: (\d+), IP: +(\S+), version: (?:[a-z]+ v)?(\d+), ID: +(\d+)(?:, Sequence failures: (\d+), packets: (\d+), flows: (\d+))?`)
	samplerLine  = regexp.MustCompile(`Sampler: .*algorithm: (\d+), packet interval: (\d+), packet space: (\d+)`)
)

type goldenInfo struct {
	stats     map[string]uint64 // "-I" keys of the first (1.7.x) block
	exporters []goldenExporter
}

type goldenExporter struct {
	m        []string
	sampler  []string
	hasStats bool
}

func readInfo(t *testing.T, path string) goldenInfo {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatalf("golden info: %v", err)
	}
	defer fh.Close()
	info := goldenInfo{stats: map[string]uint64{}}
	section := ""
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "## ") {
			switch {
			case strings.Contains(line, "1.6.25"):
				section = "" // the writer's own view; the first -I block is used
			case strings.Contains(line, " -I "):
				if len(info.stats) == 0 {
					section = "I"
				} else {
					section = ""
				}
			case strings.Contains(line, " -E "):
				section = "E"
			default:
				section = ""
			}
			continue
		}
		switch section {
		case "I":
			k, v, ok := strings.Cut(line, ": ")
			if n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64); ok && err == nil {
				info.stats[k] = n
			}
		case "E":
			if m := exporterLine.FindStringSubmatch(line); m != nil {
				info.exporters = append(info.exporters, goldenExporter{m: m, hasStats: m[5] != ""})
			} else if m := samplerLine.FindStringSubmatch(line); m != nil && len(info.exporters) > 0 {
				info.exporters[len(info.exporters)-1].sampler = m
			}
		}
	}
	return info
}

func TestStatsAndExportersMatchNfdumpInfo(t *testing.T) {
	dirs := []string{testdataDir(t, "nfdump")}
	for _, dir := range dirs {
		files, _ := filepath.Glob(filepath.Join(dir, "*.nf"))
		for _, path := range files {
			name := strings.TrimSuffix(filepath.Base(path), ".nf")
			t.Run(name, func(t *testing.T) {
				info := readInfo(t, filepath.Join(dir, "golden", name+".info.txt"))
				if len(info.exporters) == 0 && !strings.HasPrefix(name, "nfpcapd") && name != "latest178_recomp_v9_none" {
					t.Fatalf("golden info lists no exporters (parser out of date?)")
				}
				f, err := Open(path)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				st := f.Stats()
				for key, got := range map[string]uint64{
					"Flows": st.Flows, "Packets": st.Packets, "Bytes": st.Bytes,
					"Flows_tcp": st.FlowsTCP, "Flows_udp": st.FlowsUDP, "Flows_icmp": st.FlowsICMP, "Flows_other": st.FlowsOther,
					"Bytes_tcp": st.BytesTCP, "Packets_udp": st.PacketsUDP,
					"First": st.FirstMs / 1000, "Last": st.LastMs / 1000,
					"msec_first": st.FirstMs % 1000, "msec_last": st.LastMs % 1000,
					"Sequence failures": st.SequenceFailures,
				} {
					want, ok := info.stats[key]
					if !ok {
						t.Errorf("golden -I has no %q", key)
						continue
					}
					if got != want {
						t.Errorf("stat %s: got %d, want %d", key, got, want)
					}
				}
				if f.Ident() != "none" {
					t.Errorf("ident %q, want \"none\"", f.Ident())
				}
				it := f.Records(context.Background())
				for it.Next() {
				}
				if err := it.Err(); err != nil {
					t.Fatal(err)
				}
				for _, ge := range info.exporters {
					m := ge.m
					id, _ := strconv.Atoi(m[1])
					e, ok := it.Exporter(uint16(id))
					if !ok {
						t.Errorf("exporter sysid %d missing", id)
						continue
					}
					for _, c := range []struct {
						what string
						got  string
						want string
					}{
						{"ip", e.IP.String(), m[2]},
						{"version", strconv.Itoa(int(e.Version)), m[3]},
						{"id", strconv.Itoa(int(e.ID)), m[4]},
					} {
						if c.got != c.want {
							t.Errorf("exporter %d %s: got %s, want %s", id, c.what, c.got, c.want)
						}
					}
					if ge.hasStats {
						got := []uint64{e.SequenceFailures, e.Packets, e.Flows}
						for i, g := range got {
							if w, _ := strconv.ParseUint(m[5+i], 10, 64); g != w {
								t.Errorf("exporter %d stat %d: got %d, want %d", id, i, g, w)
							}
						}
					}
					if ge.sampler != nil {
						s := e.Sampler
						if s == nil {
							t.Errorf("exporter %d: sampler missing", id)
							continue
						}
						got := []uint32{uint32(s.Algorithm), s.PacketInterval, s.SpaceInterval}
						for i, g := range got {
							if w, _ := strconv.ParseUint(ge.sampler[1+i], 10, 32); g != uint32(w) {
								t.Errorf("exporter %d sampler field %d: got %d, want %d", id, i, g, w)
							}
						}
					} else if e.Sampler != nil {
						t.Errorf("exporter %d: unexpected sampler %+v", id, *e.Sampler)
					}
				}
			})
		}
	}
}

// latest178_recomp_v9_none.nf carries nfdump 1.7.8's exporter layout, which
// 1.7.1 cannot print ("Exporter IP version unknown"); 1.7.8's own raw output
// shows the exporter 127.0.0.1 that the record elements also carry.
func TestNewExporterLayoutIsDecoded(t *testing.T) {
	path := filepath.Join(testdataDir(t, "nfdump"), "latest178_recomp_v9_none.nf")
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	it := f.Records(context.Background())
	defer it.Close()
	if !it.Next() {
		t.Fatalf("no record: %v", it.Err())
	}
	e, ok := it.Exporter(it.Record().ExporterID)
	if !ok {
		t.Fatalf("exporter %d unknown", it.Record().ExporterID)
	}
	if e.IP.String() != "127.0.0.1" || e.Version != 9 {
		t.Errorf("exporter = %v version %d, want 127.0.0.1 version 9", e.IP, e.Version)
	}
}
