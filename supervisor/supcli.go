package supervisor

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
)

// supcli exit codes (spec §3.1).
const (
	ExitOK       = 0
	ExitError    = 1
	ExitUsage    = 2
	ExitConnect  = 3
	ExitRejected = 4
)

const supcliUsage = `Usage: supcli [-s SOCKET] [-x | -i | -r]
       supcli [-s SOCKET] COMMAND [ARGS]

Legacy options (the C supervisor_cli's):
  -s SOCKET  control socket (default ` + DefaultSocket + `)
  -x         print the statistics JSON of running modules (munin, nemea_status)
  -i         print the info JSON of every loaded module
  -r         reload the configuration; prints the report on stderr, exit 4 if rejected
  -h         this help

Commands:
  status [-l] [--json]          brief status table; -l detailed; --json the API objects
  info                          supervisor info
  config [--rendered]           loaded configuration; --rendered as merged YAML
  enable|disable NAME...        set module switches (profile:NAME for a profile)
  start|stop NAME...            the same as enable|disable
  restart NAME...               restart running modules (does not count toward the limit)
  reload [--dry-run]            reload and print the report (exit 4 if rejected)
  logs NAME [--stderr] [-n N] [-f]
  logs --supervisor|--events|--stats [-n N] [-f]
  stats [--json|--prom]         -x statistics, or Prometheus text
  events [-f]                   module events as JSON lines
`

// RunCLI is supcli: it runs one command against the supervisor at the
// control socket and returns the exit code.
func RunCLI(args []string, stdout, stderr io.Writer, isTTY bool) int {
	fs := flag.NewFlagSet("supcli", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	sock := fs.String("s", DefaultSocket, "")
	x := fs.Bool("x", false, "")
	i := fs.Bool("i", false, "")
	r := fs.Bool("r", false, "")
	h := fs.Bool("h", false, "")
	if err := fs.Parse(args); err != nil {
		fmt.Fprintf(stderr, "supcli: %v\n%s", err, supcliUsage)
		return ExitUsage
	}
	if *h {
		io.WriteString(stdout, supcliUsage)
		return ExitOK
	}
	n := 0
	for _, b := range []bool{*x, *i, *r} {
		if b {
			n++
		}
	}
	if n > 1 {
		fmt.Fprintln(stdout, "[ERROR] Cannot run client with more than one parameter {x, r, i} at the same time!")
		return ExitError
	}
	c := NewClient(*sock)
	fail := func(err error) int {
		if errors.Is(err, ErrConnect) {
			msg := "[ERROR] Could not connect to supervisor!"
			if isTTY {
				msg = "\x1b[31m" + msg + "\x1b[0m"
			}
			fmt.Fprintln(stderr, msg)
			return ExitConnect
		}
		fmt.Fprintf(stderr, "supcli: %v\n", err)
		return ExitError
	}
	switch {
	case *x || *i:
		code := codeStats
		if *i {
			code = codeInfo
		}
		out, err := c.Legacy(code)
		if err != nil {
			fmt.Fprintln(stderr, colorize("[ERROR] Could not connect to supervisor!", isTTY))
			return ExitError
		}
		stdout.Write(out)
		return ExitOK
	case *r:
		return reloadCmd(c, false, stdout, stderr, fail, true)
	}
	rest := fs.Args()
	if len(rest) == 0 {
		io.WriteString(stderr, supcliUsage)
		return ExitUsage
	}
	cmd, rest := rest[0], rest[1:]
	sub := flag.NewFlagSet("supcli "+cmd, flag.ContinueOnError)
	sub.SetOutput(io.Discard)
	long := sub.Bool("l", false, "")
	asJSON := sub.Bool("json", false, "")
	prom := sub.Bool("prom", false, "")
	rendered := sub.Bool("rendered", false, "")
	dry := sub.Bool("dry-run", false, "")
	errStream := sub.Bool("stderr", false, "")
	tail := sub.Int("n", 0, "")
	follow := sub.Bool("f", false, "")
	supLog := sub.Bool("supervisor", false, "")
	evLog := sub.Bool("events", false, "")
	statLog := sub.Bool("stats", false, "")
	// Flags may follow names: parse them wherever they are.
	var names []string
	for len(rest) > 0 {
		if err := sub.Parse(rest); err != nil {
			fmt.Fprintf(stderr, "supcli %s: %v\n", cmd, err)
			return ExitUsage
		}
		rest = sub.Args()
		if len(rest) > 0 {
			names = append(names, rest[0])
			rest = rest[1:]
		}
	}
	switch cmd {
	case "status":
		var mods []ModuleStatus
		if _, err := c.Do("GET", "/v1/modules", &mods); err != nil {
			return fail(err)
		}
		switch {
		case *asJSON:
			b, _ := json.MarshalIndent(mods, "", " ")
			fmt.Fprintf(stdout, "%s\n", b)
		case *long:
			io.WriteString(stdout, DetailedStatus(mods))
		default:
			io.WriteString(stdout, BriefStatus(mods, isTTY))
		}
	case "info":
		var in Info
		if _, err := c.Do("GET", "/v1/supervisor", &in); err != nil {
			return fail(err)
		}
		io.WriteString(stdout, InfoText(in))
	case "config":
		path := "/v1/config"
		if *rendered {
			path += "?rendered=1"
		}
		if err := c.Stream(path, stdout); err != nil {
			return fail(err)
		}
	case "enable", "disable", "start", "stop", "restart":
		if len(names) == 0 {
			fmt.Fprintf(stderr, "supcli %s: name a module (or profile:NAME)\n", cmd)
			return ExitUsage
		}
		action := map[string]string{"start": "enable", "stop": "disable"}[cmd]
		if action == "" {
			action = cmd
		}
		code := ExitOK
		for _, name := range names {
			path := "/v1/modules/" + url.PathEscape(name) + "/" + action
			if p, ok := strings.CutPrefix(name, "profile:"); ok {
				if action == "restart" {
					fmt.Fprintf(stderr, "supcli restart: profiles cannot be restarted (%s)\n", name)
					code = ExitUsage
					continue
				}
				path = "/v1/profiles/" + url.PathEscape(p) + "/" + action
			}
			if _, err := c.Do("POST", path, nil); err != nil {
				if errors.Is(err, ErrConnect) {
					return fail(err)
				}
				fmt.Fprintf(stderr, "supcli %s %s: %v\n", cmd, name, err)
				code = ExitRejected
				continue
			}
			fmt.Fprintf(stdout, "%s: %s requested\n", name, action)
		}
		return code
	case "reload":
		return reloadCmd(c, *dry, stdout, stderr, fail, false)
	case "logs":
		var path string
		switch {
		case *supLog:
			path = "/v1/logs/supervisor"
		case *evLog:
			path = "/v1/logs/events"
		case *statLog:
			path = "/v1/logs/stats"
		case len(names) == 1:
			stream := "stdout"
			if *errStream {
				stream = "stderr"
			}
			path = "/v1/logs/" + url.PathEscape(names[0]) + "?stream=" + stream
		default:
			fmt.Fprintln(stderr, "supcli logs: name one module, or --supervisor, --events or --stats")
			return ExitUsage
		}
		q := ""
		if *tail > 0 {
			q += "&tail=" + strconv.Itoa(*tail)
		}
		if *follow {
			q += "&follow=1"
		}
		if q != "" {
			if strings.Contains(path, "?") {
				path += q
			} else {
				path += "?" + q[1:]
			}
		}
		if err := c.Stream(path, stdout); err != nil {
			return fail(err)
		}
	case "stats":
		if *prom {
			if err := c.Stream("/metrics", stdout); err != nil {
				return fail(err)
			}
			return ExitOK
		}
		out, err := c.Legacy(codeStats)
		if err != nil {
			return fail(err)
		}
		stdout.Write(out)
		if !*asJSON && len(out) > 0 {
			io.WriteString(stdout, "\n")
		}
	case "events":
		path := "/v1/events"
		if *follow {
			path += "?follow=1"
		}
		if err := c.Stream(path, stdout); err != nil {
			return fail(err)
		}
	default:
		fmt.Fprintf(stderr, "supcli: unknown command %q\n%s", cmd, supcliUsage)
		return ExitUsage
	}
	return ExitOK
}

func colorize(msg string, tty bool) string {
	if !tty {
		return msg
	}
	return "\x1b[31m" + msg + "\x1b[0m"
}

func reloadCmd(c *Client, dry bool, stdout, stderr io.Writer, fail func(error) int, legacy bool) int {
	path := "/v1/reload"
	if dry {
		path += "?dry_run=1"
	}
	var res ReloadResult
	code, err := c.Do("POST", path, &res)
	if err != nil && code == 0 {
		return fail(err)
	}
	out := stdout
	if legacy {
		out = stderr
	}
	io.WriteString(out, res.Report())
	for _, m := range res.Modified {
		fmt.Fprintf(out, "modified %s: %s\n", m.Name, strings.Join(m.Changes, ", "))
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(out, "warning: %s\n", w)
	}
	if !res.Applied && !res.DryRun || len(res.Errors) > 0 {
		return ExitRejected
	}
	return ExitOK
}
