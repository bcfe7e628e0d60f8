package detmod

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/flowgate/flowgate/detectors"
	"github.com/flowgate/flowgate/detectors/bruteforce"
	"github.com/flowgate/flowgate/trap"
)

// BruteForce is the brute_force_detector module. The module binary adds
// the reloads on SIGUSR1 and SIGUSR2 and the C exit codes; in the daemon
// the configuration and whitelist files are read when the detector is
// built. Time is flow time, as in C: it has no --clock.
func BruteForce() Spec {
	return Spec{
		Module: trap.Module{
			Name: "brute_force_detector",
			Description: "A module used for detecting brute force dictionary attacks on SSH, RDP and Telnet protocols. " +
				"For detection is used window with N last flows and if threshold of a suspicious flows (packet and byte range is checked) " +
				"is reached, alarm is triggered. Time is flow time (TIME_LAST). " +
				"Input fields: " + bruteforce.InputSpec + " (any template holding them). " +
				"Differences from the C module: TIME_FIRST is not required (C requires it and never reads it); " +
				"templates with variable-length fields are accepted; " +
				"a configuration value that is not a number in range, a whitelist prefix or port that is not a number, " +
				"a port above 65535 and a reversed range are reported with file and line and the line is skipped (C reads them as 0 or truncates); " +
				"a whitelist range with an empty upper bound is rejected (C loops forever); " +
				"a configuration reload starts from the built-in defaults (C keeps values of keywords no longer in the file); " +
				"a reload of a file that cannot be read keeps the old settings; " +
				"the per-protocol host tables, the records all hosts hold and the Telnet server-profile table are capped " +
				"(--max-hosts, --max-records, --max-telnet-servers) and evict old entries, counted (C grows without bound; " +
				"the profiles are never deleted). " +
				"The C quirks are kept: the attack-timeout report is gated on the incoming list only, the Telnet profile counter is " +
				"global, overlapping whitelist port ranges are dropped. A message of the wrong size is counted and skipped (C stops); " +
				"the statistics at exit are this module's counters. In the flowgate daemon the files are read when the detector is built " +
				"(at start and on SIGHUP) and bad lines go to stderr.",
			Inputs:  1,
			Outputs: 1,
			Params: []trap.Param{
				{Short: 'S', Long: "SSH", Description: "Set detection mode to SSH."},
				{Short: 'R', Long: "RDP", Description: "Set detection mode to RDP."},
				{Short: 'T', Long: "TELNET", Description: "Set detection mode to TELNET."},
				{Short: 'c', Long: "config", Description: "Specify configuration file. Signal SIGUSR1 can be used for reload configuration file. (not required)", HasArg: true},
				{Short: 'w', Long: "whitelist", Description: "Specify whitelist file. Signal SIGUSR2 can be used for whitelist reload. (not required)", HasArg: true},
				{Short: 'W', Long: "verbose", Description: "Set whitelist parser to verbose mode."},
				{Long: "max-hosts", Description: fmt.Sprintf("Cap of each protocol's attacker table (default %d, about 200 bytes a host besides its records).", bruteforce.DefaultMaxHosts), HasArg: true, ArgType: "uint32"},
				{Long: "max-records", Description: fmt.Sprintf("Cap of the records all hosts hold together (default %d, 32 bytes each); the longest idle hosts are evicted.", bruteforce.DefaultMaxRecords), HasArg: true, ArgType: "uint32"},
				{Long: "max-telnet-servers", Description: fmt.Sprintf("Cap of the Telnet server-profile table (default %d, about 400 bytes each).", bruteforce.DefaultMaxTelnetServers), HasArg: true, ArgType: "uint32"},
			},
		},
		Setup: func(opts []trap.Opt, _ detectors.Clock) (detectors.Detector, error) {
			s, err := ParseBruteForce(opts)
			if err != nil {
				return nil, err
			}
			return s.New(os.Stderr)
		},
		Options: Options{}, // the C module does not forward the end of stream
		BadArgs: 3,
	}
}

// ErrNoMode is brute_force_detector's error without -S, -R or -T.
var ErrNoMode = errors.New("Detection mode is not set.")

// ErrNoFile marks a configuration or whitelist file that cannot be read
// (the C module exits with 5).
var ErrNoFile = errors.New("cannot read")

// BruteForceSettings are brute_force_detector's options.
type BruteForceSettings struct {
	Options          bruteforce.Options
	Config, Wlist    string // file names, "" for none
	VerboseWhitelist bool
}

// ParseBruteForce reads the module's options.
func ParseBruteForce(opts []trap.Opt) (BruteForceSettings, error) {
	s := BruteForceSettings{Options: bruteforce.DefaultOptions()}
	for _, o := range opts {
		var v uint64
		var err error
		switch {
		case o.Short == 'S':
			s.Options.Protocols[bruteforce.SSH] = true
		case o.Short == 'R':
			s.Options.Protocols[bruteforce.RDP] = true
		case o.Short == 'T':
			s.Options.Protocols[bruteforce.Telnet] = true
		case o.Short == 'c':
			s.Config = o.Value
		case o.Short == 'w':
			s.Wlist = o.Value
		case o.Short == 'W':
			s.VerboseWhitelist = true
		case o.Long == "max-hosts":
			v, err = Uint(o, 31)
			s.Options.MaxHosts = int(v)
		case o.Long == "max-records":
			v, err = Uint(o, 31)
			s.Options.MaxRecords = int(v)
		case o.Long == "max-telnet-servers":
			v, err = Uint(o, 31)
			s.Options.MaxTelnetServers = int(v)
		default:
			continue
		}
		if err != nil {
			return s, err
		}
		if v == 0 && o.Short == 0 {
			return s, fmt.Errorf("--%s must be at least 1", o.Long)
		}
	}
	if !s.Options.Protocols[bruteforce.SSH] && !s.Options.Protocols[bruteforce.RDP] && !s.Options.Protocols[bruteforce.Telnet] {
		return s, ErrNoMode
	}
	return s, nil
}

// New reads the files and builds the detector; bad lines are written to
// warn with their file and line.
func (s BruteForceSettings) New(warn io.Writer) (*bruteforce.Detector, error) {
	cfg, err := s.LoadConfig(warn)
	if err != nil {
		return nil, err
	}
	wl, err := s.LoadWhitelist(warn)
	if err != nil {
		return nil, err
	}
	return bruteforce.New(cfg, s.Options, wl)
}

func warnAll(w io.Writer, errs []error) {
	for _, e := range errs {
		fmt.Fprintf(w, "Warning: %v\n", e)
	}
}

// LoadConfig reads the configuration file (the built-in defaults without
// one).
func (s BruteForceSettings) LoadConfig(warn io.Writer) (bruteforce.Config, error) {
	if s.Config == "" {
		return bruteforce.DefaultConfig(), nil
	}
	f, err := os.Open(s.Config)
	if err != nil {
		return bruteforce.Config{}, fmt.Errorf("configuration file: %w: %w", ErrNoFile, err)
	}
	defer f.Close()
	cfg, errs := bruteforce.ParseConfig(f, s.Config)
	warnAll(warn, errs)
	return cfg, nil
}

// LoadWhitelist reads the whitelist file (nil without one).
func (s BruteForceSettings) LoadWhitelist(warn io.Writer) (*bruteforce.Whitelist, error) {
	if s.Wlist == "" {
		return nil, nil
	}
	f, err := os.Open(s.Wlist)
	if err != nil {
		return nil, fmt.Errorf("whitelist file: %w: %w", ErrNoFile, err)
	}
	defer f.Close()
	var verbose io.Writer
	if s.VerboseWhitelist {
		verbose = warn
	}
	wl, errs := bruteforce.ParseWhitelist(f, s.Wlist, verbose)
	warnAll(warn, errs)
	return wl, nil
}
