package bruteforce

import (
	"errors"
	"strings"
	"testing"
)

func TestParseConfig(t *testing.T) {
	text := strings.Join([]string{
		"# comment",
		"",
		"SSH_LIST_SIZE = 200",
		"  RDP_LIST_THRESHOLD=\t12 ",
		"TELNET_BRUTEFORCE_INC_MAX_BYTES = 4000",
		"RDP_BRUTEFORCE_OUT_MAX_BYTES = 200000",
		"GENERAL_ATTACK_MIN_RATIO_TO_KEEP_TRACKING_HOST = 12.5",
		"GENERAL_IGNORE_FIRST_SEND = 1",
		"SSH_LIST_SIZE 100",                                  // 9: no '='
		"SSH_FOO = 1",                                        // 10: unknown
		"TELNET_BRUTEFORCE_OUT_MIN_BYTES = 1",                // 11: unknown (Telnet has no OUT limits)
		"SSH_BRUTEFORCE_INC_MAX_BYTES = 70000",               // 12: above uint16
		"SSH_BRUTEFORCE_OUT_MAX_BYTES = 70000",               // 13: uint16 outside RDP
		"SSH_REPORT_TIMEOUT = ten",                           // 14: not a number
		"GENERAL_ATTACK_MIN_RATIO_TO_KEEP_TRACKING_HOST = x", // 15
	}, "\n")
	c, errs := ParseConfig(strings.NewReader(text), "bf.conf")
	want := map[int]error{9: ErrNoEquals, 10: ErrUnknownKeyword, 11: ErrUnknownKeyword, 12: ErrBadNumber, 13: ErrBadNumber, 14: ErrBadNumber, 15: ErrBadNumber}
	if len(errs) != len(want) {
		t.Fatalf("%d errors, want %d: %v", len(errs), len(want), errs)
	}
	for _, e := range errs {
		var le *LineError
		if !errors.As(e, &le) || le.File != "bf.conf" || !errors.Is(e, want[le.Line]) {
			t.Errorf("unexpected error %v", e)
		}
	}
	d := DefaultConfig()
	d.Proto[SSH].ListSize = 200
	d.Proto[RDP].ListThreshold = 12
	d.Proto[Telnet].IncMaxBytes = 4000
	d.Proto[RDP].OutMaxBytes = 200000
	d.MinRatioToKeep = 12.5
	d.IgnoreFirstSend = 1
	if c != d {
		t.Fatalf("config\n%+v\nwant\n%+v", c, d)
	}
}

// The defaults are config.cpp's, not the shipped config.conf comments.
func TestDefaultConfig(t *testing.T) {
	c := DefaultConfig()
	if c.Proto[SSH].ListSize != 1000 || c.Proto[SSH].ListThreshold != 30 || c.MinEventsToReport != 10 ||
		c.Proto[RDP].OutMaxBytes != 180000 || c.Proto[Telnet].IncMinPackets != 9 || c.CheckReportTimeout != 60 {
		t.Fatalf("defaults %+v", c)
	}
	// An empty file is the defaults.
	if e, errs := ParseConfig(strings.NewReader(""), "empty"); e != c || len(errs) != 0 {
		t.Fatalf("empty file: %+v %v", e, errs)
	}
}
