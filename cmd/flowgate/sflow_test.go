package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/flowgate/flowgate/config"
	"github.com/flowgate/flowgate/converters"
	"github.com/flowgate/flowgate/ingest"
	"github.com/flowgate/flowgate/internal/sflowgen"
)

func TestCLISourcesSplitSflow(t *testing.T) {
	got := cliSources([]string{"udp://:2055", "sflow://:6343", "tcp://:4739"})
	if len(got) != 2 || got[0].Type != config.TypeCollector || strings.Join(got[0].Listen, " ") != "udp://:2055 tcp://:4739" ||
		got[1].Type != config.TypeSflow || got[1].Name != "cli-sflow" || got[1].Listen[0] != "sflow://:6343" {
		t.Errorf("got %+v", got)
	}
	if got := cliSources([]string{"sflow://127.0.0.1"}); len(got) != 1 || got[0].Type != config.TypeSflow {
		t.Errorf("got %+v", got)
	}
}

// An sflow source in the daemon: records reach the output, and /metrics
// carries the per-agent counters and the agents' interface counters.
func TestSflowSourceInTheDaemon(t *testing.T) {
	dir := t.TempDir()
	maddr := freeTCP(t)
	out := "f:" + filepath.Join(dir, "out")
	cfgFile := filepath.Join(dir, "flowgate.yaml")
	os.WriteFile(cfgFile, []byte("metrics: {listen: '"+maddr+"'}\nsources: [{type: sflow, name: sf, listen: ['sflow://127.0.0.1:0']}]\n"+
		"outputs: [{ifc: '"+out+"', template: '"+converters.SflowTemplate+"'}]\n"), 0o644)
	o := options{configFile: cfgFile}
	cfg, err := loadConfig(o)
	if err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zap.InfoLevel)
	d := &daemon{log: zap.New(core), reload: func() (config.Configuration, error) { return loadConfig(o) }}
	sigs := make(chan os.Signal, 1)
	done := make(chan error, 1)
	go func() { done <- d.serve(context.Background(), cfg, sigs) }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			sigs <- syscall.SIGTERM
			if err := <-done; err != nil {
				t.Error(err)
			}
		}
	}
	defer stop()
	var addr string
	for deadline := time.Now().Add(5 * time.Second); addr == "" && time.Now().Before(deadline); {
		if in := d.current.Load(); in != nil {
			addr = in.sources[0].(*ingest.SflowSource).UDPAddrs()[0].String()
		} else {
			time.Sleep(5 * time.Millisecond)
		}
	}
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	agent := netip.MustParseAddr("198.51.100.1")
	fr := sflowgen.Frame(sflowgen.Packet{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"), Proto: 6, SrcPort: 1, DstPort: 2})
	for _, seq := range []uint32{1, 2, 4} {
		dg := sflowgen.Datagram{Agent: agent, Sequence: seq, Samples: []sflowgen.Sample{
			sflowgen.FlowSample{SamplingRate: 64, SourceIDIndex: 7, Drops: 10 * seq}.Flow(sflowgen.RawHeader(1, uint32(len(fr)+4), 4, fr)),
			sflowgen.Counters(seq, 0, 7, sflowgen.IfCounters{Index: 7, InOctets: 1000 * uint64(seq), InUcast: 5, InMulticast: 2, OutErrors: 9}.Record()),
		}}
		c.Write(dg.Bytes())
	}
	want := []string{
		`flowgate_sflow_datagrams_total{agent="198.51.100.1",source="sf",sub_agent="0"} 3`,
		`flowgate_sflow_records_total{agent="198.51.100.1",source="sf",sub_agent="0"} 3`,
		`flowgate_sflow_sequence_lost_total{agent="198.51.100.1",source="sf",sub_agent="0"} 1`,
		`flowgate_sflow_if_in_octets_total{agent="198.51.100.1",ifindex="7",source="sf"} 4000`,
		`flowgate_sflow_if_in_packets_total{agent="198.51.100.1",ifindex="7",source="sf"} 7`,
		`flowgate_sflow_if_out_errors_total{agent="198.51.100.1",ifindex="7",source="sf"} 9`,
		`flowgate_output_records_total{output="` + out + `"} 3`,
		`flowgate_socket_drops_total{source="sf"} 0`,
		`flowgate_sflow_agent_drops_total{agent="198.51.100.1",source="sf",source_id_index="7",source_id_type="0",sub_agent="0"} 40`,
		`flowgate_sflow_agent_reported_drops{agent="198.51.100.1",source="sf",source_id_index="7",source_id_type="0",sub_agent="0"} 40`,
	}
	var body string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get("http://" + maddr + "/metrics")
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body = string(b)
		if strings.Contains(body, want[0]) && strings.Contains(body, want[3]) && strings.Contains(body, want[6]) {
			break
		}
	}
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("metrics lack %s; got:\n%s", w, body)
		}
	}
	// The stop log carries the source's counters.
	stop()
	var fields map[string]any
	for _, e := range logs.FilterMessage("source stopped").All() {
		if m := e.ContextMap(); m["source"] == "sf" {
			fields = m
		}
	}
	if fields == nil || fields["records"] != uint64(3) || fields["datagrams"] != uint64(3) || fields["sequence_lost"] != uint64(1) {
		t.Errorf("stop log fields %v", fields)
	}
}
