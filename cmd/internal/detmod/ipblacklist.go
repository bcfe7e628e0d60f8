package detmod

import (
	"fmt"
	"os"

	"github.com/flowgate/flowgate/detectors"
	"github.com/flowgate/flowgate/detectors/ipblacklist"
	"github.com/flowgate/flowgate/trap"
)

// Defaults of the C module's shipped configuration.
const (
	defaultV4 = "/tmp/blacklistfilter/ip4.blist"
	defaultV6 = "/tmp/blacklistfilter/ip6.blist"
)

// IPBlacklist is the ipblacklistfilter module. The module binary adds the
// reload on file change and -n; in the daemon the lists are read when the
// filter is built. It keeps no state, so it has no --clock.
func IPBlacklist() Spec {
	return Spec{
		Module: trap.Module{
			Name: "ipblacklistfilter",
			Description: "Module receives the UniRec record and checks if the source address or destination address is present in any " +
				"blacklist that are available. If any of the addresses is blacklisted the record is changed by adding an index of the " +
				"blacklist(s) which blacklisted the address. The lists are files in the bl_downloader format " +
				"(ADDRESS[/PREFIX],BITMAP[;ID:PORT,...]..., adaptive entries ADDRESS,999,IDS), reloaded when a file changes " +
				"(watch_blacklists in the XML configuration, or --watch). Flows from or to port 53 are ignored. " +
				"Input fields: " + ipblacklist.InputSpec + " (any template holding them). " +
				"Differences from the C module: addresses are found by longest-prefix match (C's binary search can miss a containing " +
				"prefix; --c-search restores it); the bitmap of the side that did not match is always 0 (C leaves a stale value from an " +
				"earlier flow); every ;ID:PORTS group of a line is honoured (C reads only the first) and a line without groups has none " +
				"(C inherits the previous line's); IPv6 prefixes that are not a multiple of 8 are masked correctly; each address is " +
				"looked up in its own family's list (C uses the source's family for both); a bad list line is reported with file and " +
				"line and skipped (C adds what it parsed), and the same prefix on a later line is ignored; a reload that cannot read " +
				"the IPv4 file keeps the lists in force; without -c no XML file is read (the files default to the C module's shipped " +
				"values); templates with variable-length fields are accepted. As in C, an entry whose address has bits set after its " +
				"prefix never matches. A message of the wrong size is counted and skipped (C stops). In the flowgate daemon the lists are " +
				"read when the detector is built (at start and on SIGHUP), bad lines go to stderr, and -n does not apply.",
			Inputs:  1,
			Outputs: 1,
			Params: []trap.Param{
				{Short: 'c', Description: "Specify user configuration file for IPBlacklistFilter (ipdetect_config.xml). [Default: none]", HasArg: true},
				{Short: '4', Description: "Specify IPv4 blacklist file (overrides config file). [Default: " + defaultV4 + "]", HasArg: true},
				{Short: '6', Description: "Specify IPv6 blacklist file (overrides config file). [Default: " + defaultV6 + "]", HasArg: true},
				{Short: 'n', Description: "Do not send terminating Unirec when exiting program."},
				{Long: "watch", Description: "Reload the lists when a file changes: true or false (overrides watch_blacklists; default true).", HasArg: true},
				{Long: "c-search", Description: "Use the C module's binary search instead of longest-prefix match."},
			},
		},
		Setup: func(opts []trap.Opt, _ detectors.Clock) (detectors.Detector, error) {
			s, err := ParseIPBlacklist(opts)
			if err != nil {
				return nil, err
			}
			lists, warns, err := s.Config.Load()
			for _, w := range warns {
				fmt.Fprintf(os.Stderr, "Warning: %v\n", w)
			}
			if err != nil {
				return nil, err
			}
			return ipblacklist.New(lists, ipblacklist.Options{CSearch: s.CSearch})
		},
		Options: Options{ForwardEOS: true},
		BadArgs: 1,
	}
}

// IPBlacklistSettings are ipblacklistfilter's options.
type IPBlacklistSettings struct {
	Config  ipblacklist.Config
	NoEOS   bool // -n
	CSearch bool
}

// ParseIPBlacklist reads the module's options; -c reads the XML
// configuration, which -4, -6 and --watch override.
func ParseIPBlacklist(opts []trap.Opt) (IPBlacklistSettings, error) {
	s := IPBlacklistSettings{Config: ipblacklist.Config{Files: ipblacklist.Files{V4: defaultV4, V6: defaultV6}, Watch: true}}
	var v4, v6, watch *string
	for _, o := range opts {
		switch {
		case o.Short == 'c':
			f, err := os.Open(o.Value)
			if err != nil {
				return s, fmt.Errorf("configuration: %w", err)
			}
			s.Config, err = ipblacklist.ParseXMLConfig(f)
			f.Close()
			if err != nil {
				return s, fmt.Errorf("%s: %w", o.Value, err)
			}
		case o.Short == '4':
			v4 = &o.Value
		case o.Short == '6':
			v6 = &o.Value
		case o.Short == 'n':
			s.NoEOS = true
		case o.Long == "watch":
			watch = &o.Value
		case o.Long == "c-search":
			s.CSearch = true
		}
	}
	if v4 != nil {
		s.Config.V4 = *v4
	}
	if v6 != nil {
		s.Config.V6 = *v6
	}
	if watch != nil {
		switch *watch {
		case "true":
			s.Config.Watch = true
		case "false":
			s.Config.Watch = false
		default:
			return s, fmt.Errorf("--watch %q: want true or false", *watch)
		}
	}
	return s, nil
}
