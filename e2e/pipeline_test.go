package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/flowgate/flowgate/internal/testutil"
)

// binaries builds the module commands once per test run.
func binaries(t *testing.T) string {
	t.Helper()
	return commands(t, "logger", "logreplay", "traffic_repeater")
}

// logreplay -> u: -> traffic_repeater -> t: -> logger -t, three processes:
// the text at the end is byte for byte what the C logger printed for the
// same CSV, end of stream included (every process exits by itself).
func TestPipelineOverSockets(t *testing.T) {
	dir := testutil.SharedTestdata(t, "trap")
	bin := binaries(t)
	for _, set := range []string{"basic_flows", "strings", "arrays"} {
		t.Run(set, func(t *testing.T) {
			sockDir := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			env := append(os.Environ(), "TRAP_SOCKET_DIR="+sockDir)
			port := freePort(t)

			logger := exec.CommandContext(ctx, filepath.Join(bin, "logger"), "-i", "t:localhost:"+port, "-t")
			var out, lerr bytes.Buffer
			logger.Stdout, logger.Stderr, logger.Env = &out, &lerr, env
			repeater := exec.CommandContext(ctx, filepath.Join(bin, "traffic_repeater"), "-i", "u:e2e_in,t:"+port)
			var rerr bytes.Buffer
			repeater.Stderr, repeater.Env = &rerr, env
			replay := exec.CommandContext(ctx, filepath.Join(bin, "logreplay"), "-i", "u:e2e_in", "-f", filepath.Join(dir, set+".csv"))
			var perr bytes.Buffer
			replay.Stderr, replay.Env = &perr, env

			for _, c := range []*exec.Cmd{replay, repeater, logger} {
				if err := c.Start(); err != nil {
					t.Fatal(err)
				}
			}
			for name, c := range map[string]*exec.Cmd{"logreplay": replay, "traffic_repeater": repeater, "logger": logger} {
				if err := c.Wait(); err != nil {
					t.Errorf("%s: %v (logreplay: %s; repeater: %s; logger: %s)", name, err, perr.String(), rerr.String(), lerr.String())
				}
			}
			want, err := os.ReadFile(filepath.Join(dir, set+".logger.txt"))
			if err != nil {
				t.Fatal(err)
			}
			if out.String() != string(want) {
				t.Errorf("logger printed\n%s\nwant\n%s", out.String(), want)
			}
		})
	}
}
