package trap_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/flowgate/flowgate/trap"
)

// A module with one input and one output that copies records from one
// .trapcap file to another, as traffic_repeater does.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "trap-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	in, out := filepath.Join(dir, "in.trapcap"), filepath.Join(dir, "out.trapcap")

	// Produce an input file with a sender module that has no inputs.
	src, _, err := trap.Init(ctx, trap.Module{Name: "producer", Outputs: 1},
		[]string{"producer", "-i", "f:" + in}, trap.WithoutService())
	if err != nil {
		fmt.Println(err)
		return
	}
	o := src.Output(0)
	o.SetDataFormat(trap.FormatUniRec, "uint16 SRC_PORT")
	for _, rec := range [][]byte{{0x50, 0x00}, {0xbb, 0x01}} {
		o.Send(ctx, rec)
	}
	o.SendEOS(ctx)
	src.Finalize(ctx)

	// The repeater.
	mod := trap.Module{Name: "repeater", Description: "Copies records.", Inputs: 1, Outputs: 1}
	c, rest, err := trap.Init(ctx, mod, []string{"repeater", "-i", "f:" + in + ",f:" + out}, trap.WithoutService())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Finalize(ctx)
	if _, _, err := mod.Getopt(rest); err != nil {
		fmt.Println(err)
		return
	}
	input, output := c.Input(0), c.Output(0)
	input.SetRequiredFormat(trap.FormatUniRec, "") // any UniRec sender
	for {
		msg, formatChanged, err := input.Recv(ctx)
		if err != nil {
			fmt.Println(err)
			return
		}
		if formatChanged {
			f, spec := input.DataFormat()
			fmt.Printf("format: %s %q\n", f, spec)
			output.SetDataFormat(f, spec)
		}
		if trap.IsEOS(msg) {
			break
		}
		fmt.Printf("record % x\n", msg)
		output.Send(ctx, msg)
	}
	output.SendEOS(ctx)
	if err := c.Finalize(ctx); err != nil {
		fmt.Println(err)
	}
	a, _ := os.ReadFile(in)
	b, _ := os.ReadFile(out)
	fmt.Println("identical copy:", string(a) == string(b))
	// Output:
	// format: unirec "uint16 SRC_PORT"
	// record 50 00
	// record bb 01
	// identical copy: true
}
