package detmod

import (
	"strings"
	"testing"
)

// Every detector module's options build its detector, and a bad value
// stops the setup with an error that names the option.
func TestSpecOptions(t *testing.T) {
	tests := []struct {
		module string
		args   []string
		err    string // "" for success
	}{
		{"amplification_detection", []string{"-p", "123", "-n", "3", "-w", "60", "--min-count", "0.5", "--fix-histogram", "--max-pairs", "10"}, ""},
		{"amplification_detection", []string{"-p", "70000"}, "option -p"},
		{"amplification_detection", []string{"-n", "3", "-q", "x"}, "option -q"},
		{"amplification_detection", []string{"-d", "/tmp"}, "-d: per-pair log files are not supported"},
		{"amplification_detection", []string{"--min-count", "lots"}, "--min-count"},
		{"amplification_detection", []string{"--max-items", "-1"}, "option --max-items"},
		{"ddos_detector", []string{"-m", "500", "-s", "16", "--max-records", "100"}, ""},
		{"ddos_detector", []string{"-s", "300"}, "option -s"},
		{"ddos_detector", []string{"--max-records", "many"}, "option --max-records"},
		{"haddrscan_detector", []string{"-n", "20", "-d", "30", "-p", "5", "--max-keys", "100", "--empty-trailing"}, ""},
		{"haddrscan_detector", []string{"-d", "70000"}, "option -d"},
		{"haddrscan_detector", []string{"--max-keys", "x"}, "option --max-keys"},
		{"vportscan_detector", []string{"--max-pairs", "100"}, ""},
		{"vportscan_detector", []string{"--max-pairs", "x"}, "option --max-pairs"},
	}
	for _, tc := range tests {
		t.Run(tc.module+" "+strings.Join(tc.args, " "), func(t *testing.T) {
			s, ok := Lookup(tc.module)
			if !ok {
				t.Fatalf("no module %s", tc.module)
			}
			det, _, err := s.New(tc.args)
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("error %v", err)
			case tc.err == "" && det == nil:
				t.Fatal("no detector")
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("error %v, want one containing %q", err, tc.err)
			}
		})
	}
}
