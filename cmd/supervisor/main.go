// Command supervisor runs a graph of NEMEA modules from a YAML
// configuration (-c) or a legacy Nemea-Supervisor XML template (-T):
// it starts, watches and restarts them, polls their service IFCs and
// serves supcli, an HTTP API, Prometheus metrics and a status page
// (spec/supervisor.md).
//
//	supervisor -c supervisor.yaml [-L LOGDIR] [-s SOCKET]
//	supervisor -T supervisor_config_template.xml -L LOGDIR [-s SOCKET] [-C DIR] [-d]
//	supervisor import-xml TEMPLATE.xml > supervisor.yaml
//	supervisor check (-c FILE | -T FILE)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/flowgate/flowgate/supervisor"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "import-xml" {
		if len(args) != 2 {
			fmt.Fprintln(stderr, "usage: supervisor import-xml TEMPLATE.xml")
			return 2
		}
		return importXML(args[1], stdout, stderr)
	}
	check := len(args) > 0 && args[0] == "check"
	if check {
		args = args[1:]
	}
	fs := flag.NewFlagSet("supervisor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var yamlPath, xmlPath, logs, sock, configs string
	var daemon bool
	fs.StringVar(&yamlPath, "c", "", "YAML configuration file")
	fs.StringVar(&xmlPath, "T", "", "legacy XML configuration template")
	fs.StringVar(&xmlPath, "config-template", "", "legacy XML configuration template")
	fs.StringVar(&logs, "L", "", "logs directory (overrides supervisor.logs_dir)")
	fs.StringVar(&logs, "logs-path", "", "logs directory")
	fs.StringVar(&sock, "s", "", "control socket (overrides supervisor.socket)")
	fs.StringVar(&sock, "daemon-socket", "", "control socket")
	fs.StringVar(&configs, "C", "", "directory for the generated XML (supervisor_config_gener.xml)")
	fs.StringVar(&configs, "configs-path", "", "directory for the generated XML")
	fs.BoolVar(&daemon, "d", false, "detach into the background (compatibility; prefer the foreground under systemd)")
	fs.BoolVar(&daemon, "daemon", false, "detach into the background")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if (yamlPath == "") == (xmlPath == "") {
		fmt.Fprintln(stderr, "supervisor: give exactly one of -c FILE.yaml or -T FILE.xml")
		return 2
	}
	path := yamlPath
	if xmlPath != "" {
		path = xmlPath
	}
	cfg, err := supervisor.Load(path, xmlPath != "")
	if err != nil {
		fmt.Fprintf(stderr, "supervisor: configuration rejected:\n%v\n", err)
		return 4
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintf(stderr, "supervisor: warning: %s\n", w)
	}
	if check {
		fmt.Fprintf(stdout, "%s: %d profiles, %d modules: OK\n", path, len(cfg.Profiles), len(cfg.Modules))
		return 0
	}
	if logs != "" {
		cfg.Settings.LogsDir = logs
	}
	if sock != "" {
		cfg.Settings.Socket = sock
	}
	if daemon {
		return detach(args, stdout, stderr)
	}
	if configs != "" && xmlPath != "" {
		if data, _, err := supervisor.ExpandXML(xmlPath); err == nil {
			os.WriteFile(filepath.Join(configs, "supervisor_config_gener.xml"), data, 0o644)
		}
	}
	syscall.Umask(cfg.Settings.Umask)
	if err := os.MkdirAll(cfg.Settings.LogsDir, 0o755); err != nil {
		fmt.Fprintf(stderr, "supervisor: logs directory: %v\n", err)
		return 1
	}
	log, err := newLogger(filepath.Join(cfg.Settings.LogsDir, "supervisor_log"), stderr)
	if err != nil {
		fmt.Fprintf(stderr, "supervisor: %v\n", err)
		return 1
	}
	defer log.Sync()
	if err := serve(cfg, log); err != nil {
		log.Error("supervisor", zap.Error(err))
		return 1
	}
	return 0
}

func serve(cfg *supervisor.Config, log *zap.Logger) error {
	sup, err := supervisor.New(cfg, log)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT)
	defer stop()
	signal.Ignore(syscall.SIGPIPE)
	ctl, err := supervisor.ListenControl(cfg.Settings.Socket, cfg.Settings.SocketMode, cfg.Settings.SocketGroup)
	if err != nil {
		return err
	}
	defer os.Remove(cfg.Settings.Socket)
	srvCtx, srvStop := context.WithCancel(context.Background())
	defer srvStop()
	go func() {
		if err := sup.ServeControl(srvCtx, ctl); err != nil {
			log.Error("supervisor: control socket", zap.Error(err))
		}
	}()
	if cfg.Settings.HTTPListen != "" {
		ln, err := net.Listen("tcp", cfg.Settings.HTTPListen)
		if err != nil {
			return fmt.Errorf("http listen: %w", err)
		}
		log.Info("supervisor: HTTP API", zap.String("listen", ln.Addr().String()))
		go func() {
			if err := sup.ServeHTTP(srvCtx, ln); err != nil {
				log.Error("supervisor: http", zap.Error(err))
			}
		}()
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		for range hup {
			res := sup.Reload(false)
			log.Info("supervisor: reload on SIGHUP", zap.Bool("applied", res.Applied), zap.Strings("errors", res.Errors),
				zap.Strings("inserted", res.Inserted), zap.Strings("removed", res.Removed), zap.Int("modified", len(res.Modified)))
		}
	}()
	log.Info("supervisor: running", zap.String("config", cfg.Source), zap.Int("modules", len(cfg.Modules)),
		zap.String("socket", cfg.Settings.Socket), zap.String("trap_socket_dir", cfg.Settings.TrapSocketDir))
	err = sup.Run(ctx)
	signal.Stop(hup)
	close(hup)
	return err
}

func newLogger(file string, stderr io.Writer) (*zap.Logger, error) {
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("supervisor log: %w", err)
	}
	enc := zap.NewProductionEncoderConfig()
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	core := zapcore.NewTee(
		zapcore.NewCore(zapcore.NewJSONEncoder(enc), zapcore.AddSync(f), zap.InfoLevel),
		zapcore.NewCore(zapcore.NewConsoleEncoder(enc), zapcore.AddSync(stderr), zap.InfoLevel),
	)
	return zap.New(core), nil
}

// detach starts the supervisor again in its own session without -d and
// prints its PID, as the C daemon mode does.
func detach(args []string, stdout, stderr io.Writer) int {
	var rest []string
	for _, a := range args {
		if a != "-d" && a != "--daemon" && a != "-daemon" {
			rest = append(rest, a)
		}
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "supervisor: %v\n", err)
		return 1
	}
	cmd := exec.Command(self, rest...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(stderr, "supervisor: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "[INFO] PID of daemon process: %d.\n", cmd.Process.Pid)
	return 0
}

func importXML(path string, stdout, stderr io.Writer) int {
	cfg, err := supervisor.LoadXML(path)
	if err != nil {
		var ce supervisor.ConfigErrors
		if errors.As(err, &ce) {
			fmt.Fprintf(stderr, "supervisor import-xml: %d errors:\n%v\n", len(ce), err)
		} else {
			fmt.Fprintf(stderr, "supervisor import-xml: %v\n", err)
		}
		return 4
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	out, err := supervisor.RenderYAML(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "supervisor import-xml: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "# Imported from %s by supervisor import-xml.\n", path)
	stdout.Write(out)
	return 0
}
