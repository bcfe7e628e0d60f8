package config

import (
	"strings"
	"testing"
)

func TestParseSflowListen(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{"sflow://:6343", ":6343", ""},
		{"sflow://127.0.0.1:7000", "127.0.0.1:7000", ""},
		{"sflow://127.0.0.1", "127.0.0.1:6343", ""},
		{"sflow://[::1]", "[::1]:6343", ""},
		{"sflow://", ":6343", ""},
		{"udp://:6343", "", "want sflow://HOST:PORT"},
		{"sflow://:70000", "", "0 to 65535"},
	} {
		got, err := ParseSflowListen(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestLoadSflowSource(t *testing.T) {
	c, err := Load(writeFile(t, "sources:\n  - type: sflow\n    listen: ['sflow://127.0.0.1:0']\n    sockets: 2\n    max_agents: 10\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s := c.Sources[0]; s.Type != TypeSflow || s.Name != "sflow-0" || s.Sockets != 2 || s.MaxAgents != 10 || s.Listen[0] != "sflow://127.0.0.1:0" {
		t.Errorf("source %+v", s)
	}
	for _, tc := range []struct{ file, want string }{
		{"sources:\n  - type: sflow\n", "sources[0].listen: an sflow source needs"},
		{"sources:\n  - type: sflow\n    listen: ['udp://:6343']\n", "sources[0].listen[0]"},
		{"sources:\n  - type: sflow\n    listen: ['sflow://:1']\n    template_lifetime: 1m\n", "sources[0].template_lifetime: unknown key"},
		{"sources:\n  - type: sflow\n    listen: ['sflow://:1']\n    max_agents: -1\n", "sources[0].max_agents: -1 is negative"},
	} {
		if _, err := Load(writeFile(t, tc.file)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err %v, want %q", tc.file, err, tc.want)
		}
	}
}
