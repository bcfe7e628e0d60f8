package bruteforce

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
)

// Protocol is one of the login services the detector watches.
type Protocol int

// The protocols, in the order the C module runs their blocks.
const (
	SSH Protocol = iota
	RDP
	Telnet
	numProtocols
)

var protoNames = [numProtocols]string{"SSH", "RDP", "TELNET"}
var protoPorts = [numProtocols]uint16{22, 3389, 23}

func (p Protocol) String() string { return protoNames[p] }

// Port is the protocol's service port (the alert's DST_PORT).
func (p Protocol) Port() uint16 { return protoPorts[p] }

// ProtoConfig holds one protocol's thresholds. Times are seconds.
type ProtoConfig struct {
	ListSize      uint32 // records kept per direction list (changes apply to new hosts)
	ListThreshold uint32 // matched records that start an attack; EVENT_SCALE of a first report
	RecordTimeout uint32
	HostTimeout   uint32
	ReportTimeout uint32
	AttackTimeout uint32

	// Signature of a failed login, inclusive ranges. Telnet has no OUT
	// limits: its outgoing flows are judged by the server profile.
	IncMinPackets, IncMaxPackets uint16
	IncMinBytes, IncMaxBytes     uint16
	OutMinPackets, OutMaxPackets uint16
	OutMinBytes                  uint16
	OutMaxBytes                  uint32 // uint32 for RDP (180000); uint16 range elsewhere
}

// Config is the configuration file's content (the C module's Config
// singleton).
type Config struct {
	CheckReportTimeout uint32 // seconds between attack-timeout checks (start-up only)
	CheckDeleteTimeout uint32 // seconds between record/host expiry checks (start-up only)
	MinEventsToReport  uint32
	MinRatioToKeep     float64 // percent
	IgnoreFirstSend    uint32
	Proto              [numProtocols]ProtoConfig
}

// listBottom is X_LIST_SIZE_BOTTOM_TRESHOLD, not configurable in C.
const listBottom = 50

// DefaultConfig returns the C module's built-in defaults (config.cpp, not
// the stale comments of the shipped config.conf).
func DefaultConfig() Config {
	base := ProtoConfig{ListSize: 1000, ListThreshold: 30, RecordTimeout: 1800, HostTimeout: 4200, ReportTimeout: 300, AttackTimeout: 600}
	ssh, rdp, tel := base, base, base
	ssh.IncMinPackets, ssh.IncMaxPackets, ssh.IncMinBytes, ssh.IncMaxBytes = 11, 30, 1000, 5000
	ssh.OutMinPackets, ssh.OutMaxPackets, ssh.OutMinBytes, ssh.OutMaxBytes = 11, 50, 1000, 11000
	rdp.IncMinPackets, rdp.IncMaxPackets, rdp.IncMinBytes, rdp.IncMaxBytes = 20, 100, 2200, 8001
	rdp.OutMinPackets, rdp.OutMaxPackets, rdp.OutMinBytes, rdp.OutMaxBytes = 30, 190, 3000, 180000
	tel.IncMinPackets, tel.IncMaxPackets, tel.IncMinBytes, tel.IncMaxBytes = 9, 50, 450, 3000
	return Config{
		CheckReportTimeout: 60,
		CheckDeleteTimeout: 60,
		MinEventsToReport:  10,
		MinRatioToKeep:     10.0,
		Proto:              [numProtocols]ProtoConfig{ssh, rdp, tel},
	}
}

// LineError is a bad line of a configuration, whitelist or blacklist file.
type LineError struct {
	File string
	Line int
	Text string // the line as read
	Err  error
}

func (e *LineError) Error() string {
	return fmt.Sprintf("%s:%d: %v: %q", e.File, e.Line, e.Err, e.Text)
}

func (e *LineError) Unwrap() error { return e.Err }

// Errors of the configuration parser.
var (
	ErrNoEquals       = errors.New("no '=' (want KEYWORD = value)")
	ErrUnknownKeyword = errors.New("unknown keyword")
	ErrBadNumber      = errors.New("bad number")
)

// keyword describes one configuration keyword: where its value goes.
type keyword struct {
	u16   func(*Config) *uint16
	u32   func(*Config) *uint32
	ratio bool
	max   uint64 // for u32 fields narrower than 32 bits; 0: MaxUint32
}

func keywords() map[string]keyword {
	k := map[string]keyword{
		"GENERAL_CHECK_FOR_REPORT_TIMEOUT":               {u32: func(c *Config) *uint32 { return &c.CheckReportTimeout }},
		"GENERAL_CHECK_FOR_DELETE_TIMEOUT":               {u32: func(c *Config) *uint32 { return &c.CheckDeleteTimeout }},
		"GENERAL_ATTACK_MIN_EVENTS_TO_REPORT":            {u32: func(c *Config) *uint32 { return &c.MinEventsToReport }},
		"GENERAL_ATTACK_MIN_RATIO_TO_KEEP_TRACKING_HOST": {ratio: true},
		"GENERAL_IGNORE_FIRST_SEND":                      {u32: func(c *Config) *uint32 { return &c.IgnoreFirstSend }},
	}
	for p := range numProtocols {
		n := protoNames[p] + "_"
		pc := func(c *Config) *ProtoConfig { return &c.Proto[p] }
		k[n+"LIST_SIZE"] = keyword{u32: func(c *Config) *uint32 { return &pc(c).ListSize }}
		k[n+"LIST_THRESHOLD"] = keyword{u32: func(c *Config) *uint32 { return &pc(c).ListThreshold }}
		k[n+"RECORD_TIMEOUT"] = keyword{u32: func(c *Config) *uint32 { return &pc(c).RecordTimeout }}
		k[n+"HOST_TIMEOUT"] = keyword{u32: func(c *Config) *uint32 { return &pc(c).HostTimeout }}
		k[n+"REPORT_TIMEOUT"] = keyword{u32: func(c *Config) *uint32 { return &pc(c).ReportTimeout }}
		k[n+"ATTACK_TIMEOUT"] = keyword{u32: func(c *Config) *uint32 { return &pc(c).AttackTimeout }}
		k[n+"BRUTEFORCE_INC_MIN_PACKETS"] = keyword{u16: func(c *Config) *uint16 { return &pc(c).IncMinPackets }}
		k[n+"BRUTEFORCE_INC_MAX_PACKETS"] = keyword{u16: func(c *Config) *uint16 { return &pc(c).IncMaxPackets }}
		k[n+"BRUTEFORCE_INC_MIN_BYTES"] = keyword{u16: func(c *Config) *uint16 { return &pc(c).IncMinBytes }}
		k[n+"BRUTEFORCE_INC_MAX_BYTES"] = keyword{u16: func(c *Config) *uint16 { return &pc(c).IncMaxBytes }}
		if Protocol(p) == Telnet {
			continue // outgoing Telnet is judged by the server profile
		}
		k[n+"BRUTEFORCE_OUT_MIN_PACKETS"] = keyword{u16: func(c *Config) *uint16 { return &pc(c).OutMinPackets }}
		k[n+"BRUTEFORCE_OUT_MAX_PACKETS"] = keyword{u16: func(c *Config) *uint16 { return &pc(c).OutMaxPackets }}
		k[n+"BRUTEFORCE_OUT_MIN_BYTES"] = keyword{u16: func(c *Config) *uint16 { return &pc(c).OutMinBytes }}
		maxOut := uint64(0xFFFF)
		if Protocol(p) == RDP {
			maxOut = 0 // stored as uint32 in C
		}
		k[n+"BRUTEFORCE_OUT_MAX_BYTES"] = keyword{u32: func(c *Config) *uint32 { return &pc(c).OutMaxBytes }, max: maxOut}
	}
	return k
}

// ParseConfig reads a configuration file: "KEYWORD = value" lines, all
// whitespace removed, '#' lines and empty lines skipped. Keywords not in
// the file keep their built-in defaults. A bad line (no '=', an unknown
// keyword, a value that is not a number in range) is returned as a
// *LineError and skipped; the rest loads. An error reading r is returned
// as the last error. name labels the errors.
func ParseConfig(r io.Reader, name string) (Config, []error) {
	c := DefaultConfig()
	kw := keywords()
	var errs []error
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		raw := sc.Text()
		line := strings.Map(func(r rune) rune {
			if unicode.IsSpace(r) {
				return -1
			}
			return r
		}, raw)
		if line == "" || line[0] == '#' {
			continue
		}
		bad := func(err error) { errs = append(errs, &LineError{File: name, Line: n, Text: raw, Err: err}) }
		key, val, ok := strings.Cut(line, "=")
		if !ok {
			bad(ErrNoEquals)
			continue
		}
		k, ok := kw[key]
		if !ok {
			bad(fmt.Errorf("%w %s", ErrUnknownKeyword, key))
			continue
		}
		if k.ratio {
			v, err := strconv.ParseFloat(val, 64)
			if err != nil || v != v {
				bad(fmt.Errorf("%w %q for %s", ErrBadNumber, val, key))
				continue
			}
			c.MinRatioToKeep = v
			continue
		}
		limit := uint64(0xFFFFFFFF)
		switch {
		case k.u16 != nil:
			limit = 0xFFFF
		case k.max != 0:
			limit = k.max
		}
		v, err := strconv.ParseUint(val, 10, 64)
		if err != nil || v > limit {
			bad(fmt.Errorf("%w %q for %s (0..%d)", ErrBadNumber, val, key, limit))
			continue
		}
		if k.u16 != nil {
			*k.u16(&c) = uint16(v)
		} else {
			*k.u32(&c) = uint32(v)
		}
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", name, err))
	}
	for p := range numProtocols {
		if c.Proto[p].ListSize == 0 {
			errs = append(errs, fmt.Errorf("%s: %s_LIST_SIZE 0 kept no record; using 1", name, protoNames[p]))
			c.Proto[p].ListSize = 1
		}
	}
	return c, errs
}
