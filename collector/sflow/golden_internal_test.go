package sflow

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket/pcapgo"

	"github.com/flowgate/flowgate/packet"
)

// GoldenDir holds sFlow captures made by pmacct's pmacctd + sfprobe from
// the shared pcaps, with sfacctd's and goflow2's decodings of them (see
// testdata/README.md); SFLOW_GOLDEN_DIR points elsewhere. (Exported for
// the external golden tests.)
func GoldenDir() string {
	if d := os.Getenv("SFLOW_GOLDEN_DIR"); d != "" {
		return d
	}
	return "testdata"
}

// ReadDatagrams returns the UDP payloads of an Ethernet pcap, parsed with
// package packet.
func ReadDatagrams(t testing.TB, path string) [][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out [][]byte
	for {
		data, _, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		var p packet.Packet
		if err := packet.Parse(packet.LinkEthernet, data, &p); err != nil || p.Proto != packet.ProtoUDP {
			t.Fatalf("%s: packet %d is not UDP (%v)", path, len(out)+1, err)
		}
		out = append(out, append([]byte(nil), p.Payload...))
	}
}

func goldenPcaps(t *testing.T) []string {
	files, _ := filepath.Glob(filepath.Join(GoldenDir(), "*.pcap"))
	if len(files) == 0 {
		t.Skipf("no sFlow golden captures in %s", GoldenDir())
	}
	return files
}

// goflow2's decoder and producer, run in-process on every datagram of the
// golden captures, agree with our decoding sample by sample.
func TestGoldenGoflow2InProcess(t *testing.T) {
	for _, path := range goldenPcaps(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			n := 0
			for _, msg := range ReadDatagrams(t, path) {
				n += compareGoflow2(t, msg)
			}
			if n == 0 {
				t.Error("no flow samples compared")
			}
		})
	}
}

// sfacctdCounter is one line of sfacctd's counter log (JSON).
type sfacctdCounter struct {
	EventType     string `json:"event_type"`
	PeerIPSrc     string `json:"peer_ip_src"`
	SourceIDIndex uint32 `json:"source_id_index"`
	SflowSeq      uint32 `json:"sflow_seq"`
	SflowCntSeq   uint32 `json:"sflow_cnt_seq"`
	Type          string `json:"sf_cnt_type"`
	sfacctdIf
}

// sfacctdIf are the generic interface counters by their MIB names.
type sfacctdIf struct {
	Index           uint32 `json:"ifIndex"`
	Type            uint32 `json:"ifType"`
	Speed           uint64 `json:"ifSpeed"`
	Direction       uint32 `json:"ifDirection"`
	Status          uint32 `json:"ifStatus"`
	InOctets        uint64 `json:"ifInOctets"`
	InUcast         uint32 `json:"ifInUcastPkts"`
	InMulticast     uint32 `json:"ifInMulticastPkts"`
	InBroadcast     uint32 `json:"ifInBroadcastPkts"`
	InDiscards      uint32 `json:"ifInDiscards"`
	InErrors        uint32 `json:"ifInErrors"`
	InUnknownProtos uint32 `json:"ifInUnknownProtos"`
	OutOctets       uint64 `json:"ifOutOctets"`
	OutUcast        uint32 `json:"ifOutUcastPkts"`
	OutMulticast    uint32 `json:"ifOutMulticastPkts"`
	OutBroadcast    uint32 `json:"ifOutBroadcastPkts"`
	OutDiscards     uint32 `json:"ifOutDiscards"`
	OutErrors       uint32 `json:"ifOutErrors"`
	Promiscuous     uint32 `json:"ifPromiscuousMode"`
}

// Counter samples decode to sfacctd's counter log of the same capture,
// record for record.
func TestGoldenCounterSamples(t *testing.T) {
	logs, _ := filepath.Glob(filepath.Join(GoldenDir(), "*.sfacctd-counters.json"))
	if len(logs) == 0 {
		t.Skipf("no sfacctd counter logs in %s", GoldenDir())
	}
	for _, log := range logs {
		name := filepath.Base(log[:len(log)-len(".sfacctd-counters.json")])
		t.Run(name, func(t *testing.T) {
			var want []sfacctdCounter
			f, err := os.Open(log)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				var c sfacctdCounter
				if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
					t.Fatal(err)
				}
				if c.EventType == "log" {
					want = append(want, c)
				}
			}
			var got []sfacctdCounter
			var dec Decoder
			for _, msg := range ReadDatagrams(t, filepath.Join(GoldenDir(), name+".pcap")) {
				var c collect
				if err := dec.Decode(msg, &c); err != nil {
					t.Fatal(err)
				}
				for _, cs := range c.counters {
					if !cs.HasIf {
						continue
					}
					d := c.dgs[0] // every sample of the datagram has the same header
					got = append(got, sfacctdCounter{EventType: "log", PeerIPSrc: d.Agent.String(), SourceIDIndex: cs.SourceIDIndex,
						SflowSeq: d.Sequence, SflowCntSeq: cs.Sequence, Type: "sflow_cnt_generic", sfacctdIf: sfacctdIf(cs.If)})
				}
			}
			if len(got) != len(want) || len(want) == 0 {
				t.Fatalf("%d counter records, sfacctd %d", len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("counter record %d:\n ours    %+v\n sfacctd %+v", i, got[i], want[i])
				}
			}
		})
	}
}

// The one counter sample of mixed-r4 (datagram 3), which sfacctd's counter
// log does not cover, holds what tshark's dissection shows
// (testdata/README.md).
func TestGoldenCounterSampleMixedR4(t *testing.T) {
	path := filepath.Join(GoldenDir(), "mixed-r4.pcap")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("no %s", path)
	}
	var found []IfCounters
	var dec Decoder
	for _, msg := range ReadDatagrams(t, path) {
		var c collect
		if err := dec.Decode(msg, &c); err != nil {
			t.Fatal(err)
		}
		for _, cs := range c.counters {
			if c.dgs[0].Sequence == 3 && cs.HasIf {
				found = append(found, cs.If)
			}
		}
	}
	if len(found) != 1 || found[0].InOctets != 7806 || found[0].InUcast != 2 || found[0].InMulticast != 8 || found[0].InBroadcast != 19 {
		t.Errorf("counter samples of datagram 3: %+v", found)
	}
}
