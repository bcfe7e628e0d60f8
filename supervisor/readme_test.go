package supervisor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestREADMEExampleLoads keeps the README's example configuration valid.
func TestREADMEExampleLoads(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Skipf("README.md: %v", err)
	}
	text := string(b)
	start := strings.Index(text, "# supervisor.yaml:")
	if start < 0 {
		t.Fatal("the README has no supervisor.yaml example")
	}
	end := strings.Index(text[start:], "```")
	p := filepath.Join(t.TempDir(), "supervisor.yaml")
	os.WriteFile(p, []byte(text[start:start+end]), 0o644)
	c, err := LoadYAML(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Modules) != 6 || c.Module("vportscan_detector").IfcSpec() != "u:flow_data_source,t:12006" {
		t.Errorf("README example: %d modules, vportscan -i %q", len(c.Modules), c.Module("vportscan_detector").IfcSpec())
	}
}
