package main

import (
	"slices"
	"testing"
	"time"
)

func TestParseOptionsAcceptsClassicFlags(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		check func(options) bool
	}{
		{"defaults are ipfixprobe's", []string{"-r", "x.pcap"}, func(o options) bool {
			return slices.Equal(o.plugins, []string{"basic"}) && o.active == 300*time.Second &&
				o.inactive == 30*time.Second && o.cacheExp == 17 && !o.noEOF && o.count == 0
		}},
		{"groups, parameters and -A", []string{"-r", "x", "-A", "-p", "http+tls:ja4=standard,basic"}, func(o options) bool {
			return slices.Equal(o.plugins, []string{"http+tls:ja4=standard", "basic"}) && o.allFlows
		}},
		{"plugin list keeps its order", []string{"-r", "x", "-p", "http, dns,basic"}, func(o options) bool {
			return slices.Equal(o.plugins, []string{"http", "dns", "basic"})
		}},
		{"fractional timeouts", []string{"-r", "x", "-t", "300.0:1.5"}, func(o options) bool {
			return o.active == 300*time.Second && o.inactive == 1500*time.Millisecond
		}},
		{"cache size is an exponent", []string{"-r", "x", "-s", "20"}, func(o options) bool { return o.cacheExp == 20 }},
		{"bundled count and no EOF", []string{"-r", "x", "-nc", "10"}, func(o options) bool { return o.noEOF && o.count == 10 }},
		{"live capture with snaplen and filter", []string{"-I", "eth0", "-l", "128", "-F", "tcp"}, func(o options) bool {
			return o.iface == "eth0" && o.snaplen == 128 && o.filter == "tcp"
		}},
		{"link and dir bit fields", []string{"-r", "x", "-L", "0x10", "-D", "3"}, func(o options) bool { return o.linkBits == 16 && o.dirBits == 3 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseOptions(tc.args)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(o) {
				t.Errorf("parsed %+v", o)
			}
		})
	}
}

func TestParseOptionsRejects(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"no source", nil},
		{"file and interface", []string{"-r", "x", "-I", "lo"}},
		{"filter on a file", []string{"-r", "x", "-F", "tcp"}},
		{"unknown plugin", []string{"-r", "x", "-p", "basic,nosuch"}},
		{"empty plugin", []string{"-r", "x", "-p", "http,"}},
		{"plugin in two groups", []string{"-r", "x", "-p", "http,http+tls"}},
		{"basic inside a group", []string{"-r", "x", "-p", "basic+tls"}},
		{"unknown plugin parameter", []string{"-r", "x", "-p", "tls:ja4=fancy"}},
		{"parameter on a plugin without any", []string{"-r", "x", "-p", "http:x=1"}},
		{"timeout without inactive", []string{"-r", "x", "-t", "300"}},
		{"timeout below a second", []string{"-r", "x", "-t", "300:0.5"}},
		{"timeout not a number", []string{"-r", "x", "-t", "a:b"}},
		{"cache exponent too large", []string{"-r", "x", "-s", "27"}},
		{"cache exponent too small", []string{"-r", "x", "-s", "3"}},
		{"zero count", []string{"-r", "x", "-c", "0"}},
		{"snaplen too small", []string{"-I", "lo", "-l", "100"}},
		{"dir bit field too large", []string{"-r", "x", "-D", "256"}},
		{"positional argument", []string{"-r", "x", "extra"}},
		{"unknown option", []string{"-r", "x", "-Z"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if o, err := parseOptions(tc.args); err == nil {
				t.Errorf("accepted: %+v", o)
			}
		})
	}
}

// FuzzParseOptions: any argument list is accepted or rejected with an
// error, never a panic, and what is accepted is within the documented
// ranges.
func FuzzParseOptions(f *testing.F) {
	f.Add("-r", "x.pcap", "-t", "300.0:30.0")
	f.Add("-I", "eth0", "-s", "20")
	f.Add("-p", "http,dns", "-c", "10")
	f.Add("-t", "1e308:NaN", "-r", "")
	f.Fuzz(func(t *testing.T, a, b, c, d string) {
		o, err := parseOptions([]string{a, b, c, d})
		if err != nil {
			return
		}
		if (o.file == "") == (o.iface == "") || o.cacheExp < minCacheExp || o.cacheExp > maxCacheExp ||
			o.active < time.Second || o.inactive < time.Second || len(o.plugins) == 0 {
			t.Fatalf("accepted out-of-range options %+v", o)
		}
	})
}
