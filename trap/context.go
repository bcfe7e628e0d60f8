package trap

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"go.uber.org/zap"
)

// DefaultSocketDir is where UNIX sockets live unless TRAP_SOCKET_DIR says
// otherwise: packaged NEMEA's /var/run/libtrap. (libtrap's configure
// default, and the one our golden -h output prints, is /tmp; see
// WithDefaultSocketDir.)
const DefaultSocketDir = "/var/run/libtrap"

// Param is one of a module's own command-line options, as libtrap's
// module_info describes it for -h and the JSON module info.
type Param struct {
	Short       byte // 0 for an option with only a long name
	Long        string
	Description string
	HasArg      bool
	// ArgType is the argument type as libtrap prints it: "string",
	// "int32", "uint64", ... Empty means "string".
	ArgType string
}

func (p Param) argType() string {
	if p.ArgType == "" {
		return "string"
	}
	return p.ArgType
}

// Module describes a module: name, description, interface counts (-1 for
// a variable count, taken from the IFC_SPEC) and options.
type Module struct {
	Name, Description string
	Inputs, Outputs   int
	Params            []Param
}

// Option configures Init.
type Option func(*options)

type options struct {
	log          *zap.Logger
	stdout       io.Writer
	stderr       io.Writer
	socketDir    string
	defaultDir   string
	noService    bool
	getenv       func(string) string
	helpWidthSet bool
	helpWidth    int
	initExit     int // Run's exit code when TRAP cannot be set up; 0: 1
}

// WithInitExitCode sets the exit code Run returns when TRAP cannot be set
// up (1 unless set): NEMEA modules differ, nfdump_reader returns 4.
func WithInitExitCode(code int) Option { return func(o *options) { o.initExit = code } }

// WithLogger sets the logger of the context and every interface. Without
// it, messages go to stderr (see WithStderr) filtered by -v/-vv/-vvv as
// libtrap filters them: warnings and errors by default, more with each v.
func WithLogger(l *zap.Logger) Option { return func(o *options) { o.log = l } }

// WithStdout sets where help is printed (default os.Stdout).
func WithStdout(w io.Writer) Option { return func(o *options) { o.stdout = w } }

// WithStderr sets where the default logger writes (default os.Stderr).
func WithStderr(w io.Writer) Option { return func(o *options) { o.stderr = w } }

// WithSocketDir sets the socket directory, overriding TRAP_SOCKET_DIR.
func WithSocketDir(dir string) Option { return func(o *options) { o.socketDir = dir } }

// WithDefaultSocketDir sets the directory used when TRAP_SOCKET_DIR is not
// set, which -h prints as the default (DefaultSocketDir otherwise).
func WithDefaultSocketDir(dir string) Option { return func(o *options) { o.defaultDir = dir } }

// WithoutService disables the service IFC (supervisor statistics socket).
func WithoutService() Option { return func(o *options) { o.noService = true } }

// WithEnv replaces os.Getenv for LIBTRAP_OUTPUT_FORMAT and TRAP_SOCKET_DIR.
func WithEnv(getenv func(string) string) Option { return func(o *options) { o.getenv = getenv } }

// WithHelpWidth fixes the help text width instead of asking the terminal.
func WithHelpWidth(n int) Option {
	return func(o *options) { o.helpWidth, o.helpWidthSet = n, true }
}

// Context is an initialised module: its interfaces, verbosity and
// service IFC. Finalize releases it.
type Context struct {
	mod       Module
	prog      string
	log       *zap.Logger
	socketDir string
	verbosity int
	inputs    []*Input
	outputs   []*Output
	svc       *service

	finOnce sync.Once
	finErr  error
}

// ProgramName is the module name libtrap derives from argv[0]: the
// basename, without a libtool "lt-" prefix.
func ProgramName(argv0 string) string {
	return strings.TrimPrefix(filepath.Base(argv0), "lt-")
}

// commonArgs are the options libtrap takes out of argv.
type commonArgs struct {
	help, helpTrap bool
	spec           string
	haveSpec       bool
	verbosity      int
	rest           []string
}

// parseCommonArgs takes -h/--help [trap|1], the first -i SPEC and the
// first -v/-vv/-vvv out of args (argv without argv[0]), as
// trap_parse_params does, and returns the rest in order.
func parseCommonArgs(args []string) (commonArgs, error) {
	ca := commonArgs{verbosity: -1}
	vSeen := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-h" || a == "--help":
			ca.help = true
			if i+1 < len(args) && (args[i+1] == "trap" || args[i+1] == "1") {
				ca.helpTrap = true
				i++
			}
		case a == "-i" && !ca.haveSpec:
			if i+1 >= len(args) {
				return ca, fmt.Errorf("%w: option -i requires an argument (IFC_SPEC)", ErrBadParams)
			}
			ca.spec, ca.haveSpec = args[i+1], true
			i++
		case !vSeen && (a == "-v" || a == "-vv" || a == "-vvv"):
			vSeen = true
			ca.verbosity = len(a) - 2
		default:
			ca.rest = append(ca.rest, a)
		}
	}
	return ca, nil
}

// Init initialises a module the NEMEA way. args is the whole argv,
// program name first. It removes -h/--help [trap|1], -i IFC_SPEC
// (mandatory) and the first -v/-vv/-vvv, and returns the remaining
// arguments (without argv[0]) for the module's own options (see Getopt).
//
// With -h it prints the help (or, when LIBTRAP_OUTPUT_FORMAT=json, the
// module info as one JSON line) and returns ErrHelp. Otherwise it opens
// every interface of the IFC_SPEC, inputs first, and the service IFC
// unless WithoutService is given. TRAP_SOCKET_DIR is read once, here.
func Init(ctx context.Context, m Module, args []string, opts ...Option) (*Context, []string, error) {
	o := options{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, defaultDir: DefaultSocketDir}
	for _, opt := range opts {
		opt(&o)
	}
	prog := ""
	if len(args) > 0 {
		prog = ProgramName(args[0])
		args = args[1:]
	}
	if m.Name == "" {
		m.Name = prog
	}
	ca, err := parseCommonArgs(args)
	if err != nil {
		return nil, nil, err
	}
	if o.log == nil {
		o.log = verbosityLogger(o.stderr, ca.verbosity)
	}
	if ca.help {
		if err := printHelp(o, m, prog, ca.helpTrap); err != nil {
			return nil, nil, err
		}
		return nil, ca.rest, ErrHelp
	}
	if !ca.haveSpec {
		return nil, nil, fmt.Errorf("%w: Interface specifier (option -i) not found.", ErrBadParams)
	}
	sps, err := ParseIFCSpec(ca.spec)
	if err != nil {
		return nil, nil, err
	}
	nIn, _, err := ifcCounts(m, len(sps))
	if err != nil {
		return nil, nil, err
	}
	c := &Context{mod: m, prog: prog, log: o.log, verbosity: ca.verbosity}
	c.socketDir = o.socketDir
	if c.socketDir == "" {
		c.socketDir = o.getenv("TRAP_SOCKET_DIR")
	}
	if c.socketDir == "" {
		c.socketDir = o.defaultDir
	}
	e := env{socketDir: c.socketDir, log: o.log}
	for i, sp := range sps {
		if i < nIn {
			ifc, err := newInputIFC(sp, e)
			if err != nil {
				c.abort(ctx)
				return nil, nil, fmt.Errorf("input IFC %d: %w", i, err)
			}
			c.inputs = append(c.inputs, newInput(ifc, sp))
			continue
		}
		ifc, err := newOutputIFC(sp, e)
		if err != nil {
			c.abort(ctx)
			return nil, nil, fmt.Errorf("output IFC %d: %w", i-nIn, err)
		}
		c.outputs = append(c.outputs, newOutput(ifc, sp))
	}
	if !o.noService {
		svc, err := startService(c, c.socketDir)
		if err != nil {
			// libtrap goes on without statistics when the socket cannot be made.
			o.log.Warn("trap: service IFC not started", zap.Error(err))
		} else {
			c.svc = svc
		}
	}
	return c, ca.rest, nil
}

// ifcCounts splits n interfaces into inputs and outputs; a count of -1 is
// variable and takes what the other leaves.
func ifcCounts(m Module, n int) (int, int, error) {
	in, out := m.Inputs, m.Outputs
	switch {
	case in < 0 && out < 0:
		return 0, 0, fmt.Errorf("%w: module with variable input and output counts cannot split the IFC_SPEC", ErrBadParams)
	case in < 0:
		in = n - out
	case out < 0:
		out = n - in
	}
	if in < 0 || out < 0 || in+out != n {
		return 0, 0, fmt.Errorf("%w: Bad number of IFCs in IFC_SPEC: got %d, module has %d input(s) and %d output(s)",
			ErrBadParams, n, m.Inputs, m.Outputs)
	}
	return in, out, nil
}

func printHelp(o options, m Module, prog string, trapHelp bool) error {
	var text string
	switch {
	case o.getenv("LIBTRAP_OUTPUT_FORMAT") == "json":
		text = moduleInfoJSON(m)
	case trapHelp:
		text = trapHelpText()
	default:
		width := defaultHelpWidth
		if o.helpWidthSet {
			width = o.helpWidth
		} else if w, ok := terminalWidth(o.stdout); ok {
			width = w - 1
		}
		text = helpText(m, prog, o.defaultDir, width)
	}
	if pager := o.getenv("PAGER"); pager != "" {
		// libtrap popen()s $PAGER and writes the help into it.
		cmd := exec.Command("/bin/sh", "-c", pager)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(text), o.stdout, os.Stderr
		err := cmd.Run()
		if err == nil {
			return nil
		}
		o.log.Warn("trap: PAGER failed, printing help directly", zap.String("pager", pager), zap.Error(err))
	}
	if _, err := io.WriteString(o.stdout, text); err != nil {
		return fmt.Errorf("trap: printing help: %w", err)
	}
	return nil
}

// abort releases what Init had opened before it failed.
func (c *Context) abort(ctx context.Context) {
	for _, out := range c.outputs {
		out.Close(ctx)
	}
	for _, in := range c.inputs {
		in.Close()
	}
}

// Input returns input interface i, or nil when there is no such interface.
func (c *Context) Input(i int) *Input {
	if i < 0 || i >= len(c.inputs) {
		return nil
	}
	return c.inputs[i]
}

// Output returns output interface i, or nil when there is no such interface.
func (c *Context) Output(i int) *Output {
	if i < 0 || i >= len(c.outputs) {
		return nil
	}
	return c.outputs[i]
}

// NumInputs returns the number of input interfaces.
func (c *Context) NumInputs() int { return len(c.inputs) }

// NumOutputs returns the number of output interfaces.
func (c *Context) NumOutputs() int { return len(c.outputs) }

// Verbosity is libtrap's verbosity: -1 without -v, 0, 1 or 2 for -v,
// -vv, -vvv.
func (c *Context) Verbosity() int { return c.verbosity }

// SocketDir is the directory of UNIX sockets in use.
func (c *Context) SocketDir() string { return c.socketDir }

// Module returns the module description given to Init.
func (c *Context) Module() Module { return c.mod }

// Finalize flushes and closes every output (delivering everything it
// can before ctx ends), closes the inputs and stops the service IFC.
// Calling it again returns the first result.
func (c *Context) Finalize(ctx context.Context) error {
	c.finOnce.Do(func() {
		var errs []error
		for i, out := range c.outputs {
			if err := out.Close(ctx); err != nil {
				errs = append(errs, fmt.Errorf("closing output %d: %w", i, err))
			}
		}
		for i, in := range c.inputs {
			if err := in.Close(); err != nil {
				errs = append(errs, fmt.Errorf("closing input %d: %w", i, err))
			}
		}
		if c.svc != nil {
			if err := c.svc.stop(); err != nil {
				errs = append(errs, err)
			}
		}
		c.finErr = errors.Join(errs...)
	})
	return c.finErr
}
