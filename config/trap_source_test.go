package config

import (
	"strings"
	"testing"
)

func TestTrapSource(t *testing.T) {
	cfg, err := Load(writeFile(t, "sources:\n  - type: trap\n    name: topic\n    ifc: 'k:flows:kafka1:9092:group=fg'\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s := cfg.Sources[0]; s.Type != TypeTrap || s.IFC != "k:flows:kafka1:9092:group=fg" {
		t.Errorf("source = %+v", s)
	}
	for _, tc := range []struct{ name, file, want string }{
		{"without ifc", "sources:\n  - type: trap\n", "sources[0].ifc: required"},
		{"output-only type", "sources:\n  - type: trap\n    ifc: 'b:'\n", "cannot be an input"},
		{"two interfaces", "sources:\n  - type: trap\n    ifc: 'u:a,u:b'\n", "one interface per source"},
		{"bad spec", "sources:\n  - type: trap\n    ifc: 'k:flows'\n", "want k:TOPIC:HOST:PORT"},
		{"key of another type", "sources:\n  - type: trap\n    ifc: 'u:a'\n    paths: [x]\n", "allowed here: type, name, ifc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(writeFile(t, tc.file))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
