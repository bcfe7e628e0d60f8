package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/flowgate/flowgate/config"
	"github.com/flowgate/flowgate/internal/testutil"
)

func freeTCP(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// /metrics carries the collector's counters labelled by source and
// exporter, and the outputs' delivery counters.
func TestMetricsLabelCountersByExporter(t *testing.T) {
	dir := t.TempDir()
	maddr := freeTCP(t)
	cfgFile := filepath.Join(dir, "flowgate.yaml")
	os.WriteFile(cfgFile, []byte("metrics: {listen: '"+maddr+"'}\nsources: [{type: collector, name: nf, listen: ['udp://127.0.0.1:0']}]\noutputs: [{ifc: 'f:"+filepath.Join(dir, "out")+"'}]\n"), 0o644)
	o := options{configFile: cfgFile}
	cfg, err := loadConfig(o)
	if err != nil {
		t.Fatal(err)
	}
	d := &daemon{log: zap.NewNop(), reload: func() (config.Configuration, error) { return loadConfig(o) }}
	sigs := make(chan os.Signal, 1)
	done := make(chan error, 1)
	go func() { done <- d.serve(context.Background(), cfg, sigs) }()
	defer func() {
		sigs <- syscall.SIGTERM
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	dgrams := v5Datagrams(t)
	sendTo(t, d, dgrams)
	sendTo(t, d, [][]byte{[]byte("garbage")})
	want := []string{
		// The two v5 datagrams (engine 0/3) and the garbage one, whose
		// header names no version, are separate series.
		`flowgate_packets_total{domain="3",exporter="127.0.0.1",source="nf",version="5"} 2`,
		`flowgate_records_total{domain="3",exporter="127.0.0.1",source="nf",version="5"} 60`,
		`flowgate_decode_errors_total{domain="0",exporter="127.0.0.1",source="nf",version="0"} 1`,
		`flowgate_output_records_total{output="f:` + filepath.Join(dir, "out") + `"} 60`,
		`flowgate_output_ifc_dropped_total{output="f:` + filepath.Join(dir, "out") + `"} 0`,
		`flowgate_socket_drops_total{source="nf"} 0`,
		`flowgate_sequence_lost_total{domain="3",exporter="127.0.0.1",source="nf",version="5"} 0`,
	}
	var body string
	deadline := time.Now().Add(testutil.WaitTimeout)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + maddr + "/metrics")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
			if strings.Contains(body, want[0]) && strings.Contains(body, want[2]) && strings.Contains(body, want[1]) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("metrics lack %s; got:\n%s", w, body)
		}
	}
}
