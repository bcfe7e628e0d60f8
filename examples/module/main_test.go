package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/flowgate/flowgate/internal/testutil"
	"github.com/flowgate/flowgate/internal/testutil/nemeac"
)

// C logreplay -> our example module -> C logger over UNIX sockets: the
// records come out with BAZ = FOO + BAR, extra input fields dropped, and
// the end of stream passed on (the logger exits by itself).
func TestExampleModuleBetweenCModules(t *testing.T) {
	c := nemeac.Find(t)
	dir := t.TempDir()
	t.Setenv("TRAP_SOCKET_DIR", dir)
	c.Env = append(c.Env, "TRAP_SOCKET_DIR="+dir) // the last one wins
	csv := filepath.Join(dir, "in.csv")
	os.WriteFile(csv, []byte("uint32 FOO,uint32 BAR,string NOTE\n1,2,\"a\"\n40,2,\"b\"\n4294967295,1,\"wraps\"\n0,0,\"\"\n"), 0o644)

	ctx, cancel := context.WithTimeout(context.Background(), testutil.WaitTimeout)
	defer cancel()
	replay := c.Command(ctx, "logreplay", "-i", "u:ex_in", "-f", csv)
	if err := replay.Start(); err != nil {
		t.Fatal(err)
	}
	defer replay.Wait()
	var out bytes.Buffer
	logger := c.Command(ctx, "logger", "-t", "-i", "u:ex_out")
	logger.Stdout = &out
	done := make(chan int, 1)
	var modOut bytes.Buffer
	go func() { done <- run(ctx, []string{"module", "-i", "u:ex_in,u:ex_out"}, &modOut, &modOut) }()
	testutil.WaitFor(t, "the module's output socket", func() bool {
		return testutil.UnixListening(filepath.Join(dir, "trap-ex_out.sock"))
	})
	if err := logger.Start(); err != nil {
		t.Fatal(err)
	}
	if err := logger.Wait(); err != nil {
		t.Fatalf("logger: %v; module: %s", err, modOut.String())
	}
	if code := <-done; code != 0 {
		t.Fatalf("module exit %d: %s", code, modOut.String())
	}
	want := "uint32 BAR,uint32 BAZ,uint32 FOO\n2,3,1\n2,42,40\n1,0,4294967295\n0,0,0\n"
	if out.String() != want {
		t.Errorf("C logger printed\n%s\nwant\n%s", out.String(), want)
	}
}
