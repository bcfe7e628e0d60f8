package supervisor

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkSupervisor50Modules runs 50 modules (the test binary as Go TRAP
// modules, each with a service IFC) polled every second. It reports the
// supervisor's CPU use over an idle stretch of SUP_BENCH_IDLE (default 10 s)
// as % of one core (cpu-%) and the latency of GET /v1/modules over b.N
// requests (p50-ms, p99-ms). ns/op is one /v1/modules request.
//
//	go test -run '^$' -bench Supervisor50 -benchtime 500x ./supervisor
func BenchmarkSupervisor50Modules(b *testing.B) {
	const n = 50
	idle := 10 * time.Second
	if v := os.Getenv("SUP_BENCH_IDLE"); v != "" {
		if d, err := time.ParseDuration(v); err == nil {
			idle = d
		}
	}
	dir := shortDir(b)
	var mods strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&mods, `      - name: m%02d
        path: %s
        env: { SUPTEST_MODULE: serve }
        interfaces: [{dir: out, type: unix, name: bench%02d}, {dir: out, type: blackhole}]
`, i, selfPath(b), i)
	}
	cfgText := fmt.Sprintf(`version: 1
supervisor:
  logs_dir: %s/logs
  trap_socket_dir: %s
  stats_interval: 1s
  stats_timeout: 500ms
  stop_timeout: 2s
profiles:
  - name: bench
    modules:
%s`, dir, dir, mods.String())
	cfgPath := filepath.Join(dir, "bench.yaml")
	os.WriteFile(cfgPath, []byte(cfgText), 0o644)
	cfg, err := LoadYAML(cfgPath)
	if err != nil {
		b.Fatal(err)
	}
	sup, err := New(cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sup.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	deadline := time.Now().Add(60 * time.Second)
	for {
		polled := 0
		for _, m := range sup.Modules() {
			if m.ServiceIFC.Connected && len(m.Outputs) == 2 {
				polled++
			}
		}
		if polled == n {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d modules polled after 60 s", polled, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// CPU of this process while the supervisor polls and samples the
	// modules and nothing else runs in it.
	var r0, r1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &r0)
	t0 := time.Now()
	time.Sleep(idle)
	syscall.Getrusage(syscall.RUSAGE_SELF, &r1)
	wall := time.Since(t0)
	cpu := time.Duration(r1.Utime.Nano()+r1.Stime.Nano()-r0.Utime.Nano()-r0.Stime.Nano()) * time.Nanosecond
	cpuPct := 100 * cpu.Seconds() / wall.Seconds()

	srv := httptest.NewServer(sup.Handler())
	defer srv.Close()
	client := srv.Client()
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t := time.Now()
		resp, err := client.Get(srv.URL + "/v1/modules")
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
		lat = append(lat, time.Since(t))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(cpuPct, "cpu-%")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(n), "modules")
}
