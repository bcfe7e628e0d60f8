package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"go.uber.org/zap"

	"github.com/flowgate/flowgate/config"
	"github.com/flowgate/flowgate/internal/testutil"
	"github.com/flowgate/flowgate/trap"
	"github.com/flowgate/flowgate/unirec"
)

// A flowgate with a trap source consumes a topic and re-keys it onto
// another; /metrics shows the input's and the k: output's figures.
func TestTrapSourceRekeysTopicWithMetrics(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "flows", "bydst"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	broker := c.ListenAddrs()[0]
	const n = 400
	spec := config.DefaultTemplate
	tm, _ := unirec.ParseTemplate(spec)
	sps, _ := trap.ParseIFCSpec("k:flows:" + broker + ":key=SRC_IP")
	o, err := trap.OpenOutput(sps[0], "", nil)
	if err != nil {
		t.Fatal(err)
	}
	o.SetDataFormat(trap.FormatUniRec, spec)
	dst, _ := tm.Lookup("DST_IP")
	for i := range n {
		r := tm.NewRecord()
		r.SetIP(dst, unirec.IPv4([4]byte{10, 9, 0, byte(i % 13)}))
		o.Send(context.Background(), r.Data)
	}
	if err := o.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	maddr := freeTCP(t)
	outIFC := "k:bydst:" + broker + ":key=DST_IP"
	cfgFile := filepath.Join(dir, "flowgate.yaml")
	os.WriteFile(cfgFile, []byte("metrics: {listen: '"+maddr+"'}\nsources: [{type: trap, name: topic, ifc: 'k:flows:"+broker+":group=fg'}]\n"+
		"outputs: [{ifc: '"+outIFC+":autoflush=100000'}]\n"), 0o644)
	opts := options{configFile: cfgFile}
	cfg, err := loadConfig(opts)
	if err != nil {
		t.Fatal(err)
	}
	d := &daemon{log: zap.NewNop(), reload: func() (config.Configuration, error) { return loadConfig(opts) }}
	sigs := make(chan os.Signal, 1)
	done := make(chan error, 1)
	go func() { done <- d.serve(context.Background(), cfg, sigs) }()
	want := []string{
		`flowgate_trap_input_messages_total{source="topic"} 400`,
		`flowgate_kafka_output_delivered_total{output="` + outIFC + `:autoflush=100000"} 400`,
		`flowgate_output_ifc_dropped_total{output="` + outIFC + `:autoflush=100000"} 0`,
		`flowgate_trap_input_bad_records_total{source="topic"} 0`,
		`flowgate_kafka_input_lag{partition="0",source="topic"} 0`,
		`flowgate_kafka_output_retries_total`,
	}
	var body string
	deadline := time.Now().Add(testutil.WaitTimeout)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + maddr + "/metrics"); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
			if strings.Contains(body, want[0]) && strings.Contains(body, want[1]) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	sigs <- syscall.SIGTERM
	if err := <-done; err != nil {
		t.Error(err)
	}
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("metrics lack %s", w)
		}
	}

	// The re-keyed topic holds every record, each DST_IP on one partition.
	isp, _ := trap.ParseIFCSpec("k:bydst:" + broker + ":group=check:eof=on")
	in, err := trap.OpenInput(isp[0], "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	in.SetRequiredFormat(trap.FormatUniRec, "")
	ctx, cancel := context.WithTimeout(context.Background(), testutil.WaitTimeout)
	defer cancel()
	got := 0
	for {
		m, _, err := in.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if trap.IsEOS(m) {
			break
		}
		got++
	}
	if got != n {
		t.Errorf("re-keyed topic holds %d records, want %d", got, n)
	}
}
