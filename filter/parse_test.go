package filter

import (
	"errors"
	"strings"
	"testing"
)

// The canonical form shows how the grammar groups: one precedence level
// for AND and OR, left to right; NOT on the next term only.
func TestParseGrouping(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"SRC_PORT == 1 || DST_PORT == 2 && PROTOCOL == 6", "SRC_PORT == 1 || DST_PORT == 2 && PROTOCOL == 6"},
		{"!PROTOCOL == 6 and SRC_PORT > 100", "! ( PROTOCOL == 6 ) && SRC_PORT > 100"},
		{"NOT (true OR false)", "! ( ( TRUE || FALSE ) )"},
		{"PROTOCOL == TCP", "PROTOCOL == 6"},
		{`PROTOCOL != "udp"`, "PROTOCOL != 17"},
		{"SRC_PORT <> 80", "SRC_PORT != 80"},
		{"SRC_PORT < [80, 443]", "SRC_PORT IN [80, 443]"},
		{"DELTA => 0", "DELTA <invalid operator> 0"},
		{"URL ~= 'a.*'", `URL =~ "a.*"`},
		{"", ""},
		{"  \t", ""},
	} {
		e, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if got := e.String(); got != tc.want {
			t.Errorf("Parse(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// A bad expression is an error that points at the offending column.
func TestParseErrorColumn(t *testing.T) {
	for _, tc := range []struct {
		in   string
		col  int
		want string
	}{
		{"PROTOCOL == 6 &&", 17, "end of expression"},
		{"SRC_PORT2 == 80", 9, "field names have no digits"},
		{"SRC_PORT == 80 DST_PORT == 80", 16, "want AND, OR"},
		{"(SRC_PORT == 80", 16, `want ")"`},
		{"SRC_PORT == 80)", 15, "want AND, OR"},
		{"URL > \"abc\"", 7, "cannot follow"},
		{"PROTOCOL > TCP", 12, "cannot follow"},
		{"port == -1", 9, "cannot follow"},
		{"SRC_PORT in []", 13, "unexpected character '['"},
		{"SRC_IP == 10.0.0.0/33", 21, `unexpected number "3"`},
		{"SRC_PORT == 80;", 15, "unexpected character ';'"},
		{`URL =~ "(a|b"`, 8, "regular expression"},
		{"tRUE", 5, "want an operator"},
		{`SRC_IP =~ "10.0.0.1"`, 11, "cannot follow"},
		{"", 0, ""},
	} {
		_, err := Parse(tc.in)
		if tc.want == "" {
			if err != nil {
				t.Errorf("Parse(%q): %v", tc.in, err)
			}
			continue
		}
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q) = %v, want a *SyntaxError", tc.in, err)
			continue
		}
		if se.Col != tc.col || !strings.Contains(se.Error(), tc.want) {
			t.Errorf("Parse(%q) = column %d %q, want column %d containing %q", tc.in, se.Col, se.Error(), tc.col, tc.want)
		}
		if !strings.HasPrefix(se.Error(), "filter: column ") {
			t.Errorf("error %q does not start with the column", se.Error())
		}
	}
}

func TestStrtoll(t *testing.T) {
	for in, want := range map[string]int64{
		"80": 80, "080": 0, "0120": 80, "-5": -5, "-010": -8, "0": 0,
		"18446744073709551615": 9223372036854775807, "-9223372036854775809": -9223372036854775808,
	} {
		if got := strtoll(in); got != want {
			t.Errorf("strtoll(%q) = %d, want %d", in, got, want)
		}
	}
}
