package trap

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// loggerModule is logger's module info as help_logger.txt shows it.
var loggerModule = Module{
	Name:        "logger",
	Description: "This module logs all incoming UniRec records to standard output or into a specified file. Each record is written as one line containing values of its fields in human-readable format separated by chosen delimiters (CSV format).",
	Inputs:      1,
	Outputs:     0,
	Params: []Param{
		{Short: 'w', Long: "write", Description: "Write output to FILE instead of stdout (rewrite the file).", HasArg: true, ArgType: "string"},
		{Short: 'a', Long: "append", Description: "Write output to FILE instead of stdout (append to the end).", HasArg: true, ArgType: "string"},
		{Short: 'o', Long: "output_fields", Description: `(currently unavailable)Set of fields included in the output (UniRec data format example:"uint32 FOO,time BAR")`, HasArg: true, ArgType: "string"},
		{Short: 't', Long: "title", Description: "Write names of fields on the first line."},
		{Short: 'T', Long: "time", Description: "Add the time when the record was received as the first field."},
		{Short: 'c', Long: "cut", Description: "Quit after N records are received, 0 can be useful in combination with -t to print UniRec.", HasArg: true, ArgType: "uint32"},
		{Short: 'd', Long: "delimiter", Description: "Optionally modifies delimiter to inserted value X (implicitly ','). Delimiter has to be one character, except for printable escape sequences.", HasArg: true, ArgType: "string"},
	},
}

func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestHelpMatchesGolden(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		env    map[string]string
		golden string
	}{
		{"-h prints module help", []string{"/usr/bin/logger", "-h"}, nil, "help_logger.txt"},
		{"--help with libtool prefix", []string{"./lt-logger", "-i", "f:x", "--help"}, nil, "help_logger.txt"},
		{"-h trap prints IFC_SPEC help", []string{"logger", "-h", "trap"}, nil, "help_trap.txt"},
		{"-h 1 prints IFC_SPEC help", []string{"logger", "-h", "1"}, nil, "help_trap.txt"},
		{"json module info", []string{"logger", "-h"}, map[string]string{"LIBTRAP_OUTPUT_FORMAT": "json"}, "help_logger.json"},
		{"json module info for -h trap", []string{"logger", "-h", "trap"}, map[string]string{"LIBTRAP_OUTPUT_FORMAT": "json"}, "help_logger.json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := readGolden(t, tc.golden)
			if tc.golden == "help_trap.txt" {
				// libtrap's text byte for byte, then our k: extension.
				want = append(want, ifcSpecHelpKafka...)
			}
			var out bytes.Buffer
			c, _, err := Init(context.Background(), loggerModule, tc.args,
				WithStdout(&out), WithEnv(envMap(tc.env)), WithDefaultSocketDir("/tmp"), WithoutService())
			if !errors.Is(err, ErrHelp) || c != nil {
				t.Fatalf("Init: %v, want ErrHelp", err)
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Fatalf("help differs from %s:\n%s", tc.golden, firstDiff(out.String(), string(want)))
			}
		})
	}
}

func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) && i < len(w); i++ {
		if g[i] != w[i] {
			return "line " + strconv.Itoa(i+1) + ":\n got: " + g[i] + "\nwant: " + w[i]
		}
	}
	return "line counts " + strconv.Itoa(len(g)) + " vs " + strconv.Itoa(len(w))
}

func TestHelpPrintsDefaultSocketDir(t *testing.T) {
	var out bytes.Buffer
	Init(context.Background(), loggerModule, []string{"logger", "-h"}, WithStdout(&out), WithEnv(envMap(nil)), WithoutService())
	if !strings.Contains(out.String(), "/var/run/libtrap).") {
		t.Errorf("help does not print the default socket dir:\n%s", out.String())
	}
}

func TestHelpWrapsToWidth(t *testing.T) {
	var out bytes.Buffer
	Init(context.Background(), loggerModule, []string{"logger", "-h"}, WithStdout(&out), WithEnv(envMap(nil)), WithHelpWidth(60), WithoutService())
	for _, l := range strings.Split(out.String(), "\n") {
		if len(l) > 60 {
			t.Errorf("line of %d bytes: %q", len(l), l)
		}
	}
}

func TestInitErrors(t *testing.T) {
	tests := []struct {
		name string
		mod  Module
		args []string
		want string
	}{
		{"missing -i", loggerModule, []string{"logger", "-t"}, "Interface specifier (option -i) not found."},
		{"-i without argument", loggerModule, []string{"logger", "-i"}, "requires an argument"},
		{"too many IFCs", loggerModule, []string{"logger", "-i", "f:a,f:b"}, "Bad number of IFCs in IFC_SPEC"},
		{"too few IFCs", Module{Name: "x", Inputs: 1, Outputs: 1}, []string{"x", "-i", "f:a"}, "Bad number of IFCs in IFC_SPEC"},
		{"bad IFC type", loggerModule, []string{"logger", "-i", "z:a"}, "unknown interface type"},
		{"blackhole as input", loggerModule, []string{"logger", "-i", "b:"}, "cannot be an input"},
		{"both counts variable", Module{Inputs: -1, Outputs: -1}, []string{"x", "-i", "b:"}, "variable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Init(context.Background(), tc.mod, tc.args, WithoutService(), WithEnv(envMap(nil)))
			if !errors.Is(err, ErrBadParams) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrBadParams containing %q", err, tc.want)
			}
		})
	}
}

func TestInitTakesCommonArgsAndOpensInterfaces(t *testing.T) {
	dir := t.TempDir()
	golden := filepath.Join(goldenDir(t), "basic_flows.trapcap")
	mod := Module{Name: "repeater", Inputs: 1, Outputs: -1}
	args := []string{"repeater", "-t", "-v", "-i", "f:" + golden + ",f:" + filepath.Join(dir, "o1") + ",b:", "-vv", "-c", "5"}
	c, rest, err := Init(context.Background(), mod, args, WithoutService(), WithEnv(envMap(map[string]string{"TRAP_SOCKET_DIR": dir})))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Finalize(context.Background())
	if !reflect.DeepEqual(rest, []string{"-t", "-vv", "-c", "5"}) {
		t.Errorf("rest %q", rest)
	}
	if c.Verbosity() != 0 || c.NumInputs() != 1 || c.NumOutputs() != 2 || c.SocketDir() != dir {
		t.Errorf("verbosity %d, %d in, %d out, dir %q", c.Verbosity(), c.NumInputs(), c.NumOutputs(), c.SocketDir())
	}
	if c.Input(1) != nil || c.Output(2) != nil || c.Output(-1) != nil {
		t.Error("out-of-range interface is not nil")
	}
	if err := c.Finalize(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "o1")); err != nil {
		t.Errorf("output file: %v", err)
	}
}

func TestVerbosityLevels(t *testing.T) {
	for args, want := range map[string]int{"": -1, "-v": 0, "-vv": 1, "-vvv": 2, "-vvv -v": 2} {
		ca, err := parseCommonArgs(append(strings.Fields(args), "-i", "b:"))
		if err != nil || ca.verbosity != want {
			t.Errorf("%q: verbosity %d (%v), want %d", args, ca.verbosity, err, want)
		}
	}
}

func TestGetoptLongOnly(t *testing.T) {
	m := Module{Params: []Param{{Short: 'n', Long: "num", HasArg: true}, {Long: "clock", HasArg: true}, {Long: "compat"}}}
	opts, _, err := m.Getopt([]string{"--clock", "flow", "-n3", "--compat"})
	want := []Opt{{'\x00', "clock", "flow"}, {'n', "num", "3"}, {'\x00', "compat", ""}}
	if err != nil || !reflect.DeepEqual(opts, want) {
		t.Fatalf("got %v %v, want %v", opts, err, want)
	}
	if _, _, err := m.Getopt([]string{"-\x00"}); err == nil {
		t.Fatal("a NUL letter matched a long-only option")
	}
	if h := helpText(m, "x", "/tmp", 80); !strings.Contains(h, "    --clock <string>") {
		t.Fatalf("help lacks the long-only option:\n%s", h)
	}
}

func TestGetopt(t *testing.T) {
	tests := []struct {
		name    string
		args    string
		opts    []Opt
		pos     []string
		wantErr string
	}{
		{"bundled flags with argument in the next word", "-tc 5", []Opt{{'t', "", ""}, {'c', "", "5"}}, nil, ""},
		{"argument glued to the letter", "-c5 -Tt", []Opt{{'c', "", "5"}, {'T', "", ""}, {'t', "", ""}}, nil, ""},
		{"long with equals and separate value", "--cut=7 --write out.txt --title", []Opt{{'c', "", "7"}, {'w', "", "out.txt"}, {'t', "", ""}}, nil, ""},
		{"positional and double dash", "a -t -- -c", []Opt{{'t', "", ""}}, []string{"a", "-c"}, ""},
		{"unknown short", "-x", nil, nil, "unknown option -x"},
		{"unknown long", "--nope", nil, nil, "unknown option --nope"},
		{"missing argument", "-c", nil, nil, "requires an argument"},
		{"long flag with value", "--title=yes", nil, nil, "takes no argument"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts, pos, err := loggerModule.Getopt(strings.Fields(tc.args))
			for i := range opts {
				opts[i].Long = "" // told apart by Short here; TestGetoptLongOnly checks Long
			}
			if tc.wantErr != "" {
				if !errors.Is(err, ErrBadParams) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(opts, tc.opts) || !reflect.DeepEqual(pos, tc.pos) {
				t.Fatalf("got %v %q %v", opts, pos, err)
			}
		})
	}
}

func TestHelpGoesThroughPager(t *testing.T) {
	var out bytes.Buffer
	_, _, err := Init(context.Background(), loggerModule, []string{"logger", "-h"}, WithStdout(&out),
		WithEnv(envMap(map[string]string{"PAGER": "sed -n 3p"})), WithoutService())
	if !errors.Is(err, ErrHelp) || out.String() != "Name: logger\n" {
		t.Fatalf("got %q, %v; want the pager's output", out.String(), err)
	}
}
