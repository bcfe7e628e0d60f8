package trap

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestParseIFCSpec(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []IfcSpec
	}{
		{"unix output with defaults", "u:flows", []IfcSpec{{Kind: 'u', Raw: "u:flows", Params: []string{"flows"}, Timeout: Wait, Buffer: true, Autoflush: DefaultAutoflush}}},
		{"common setters are taken out anywhere", "t:7600:timeout=NO_WAIT:max_clients=4:buffer=off:autoflush=500000",
			[]IfcSpec{{Kind: 't', Raw: "t:7600:timeout=NO_WAIT:max_clients=4:buffer=off:autoflush=500000", Params: []string{"7600", "max_clients=4"},
				Timeout: NoWait, TimeoutSet: true, Buffer: false, Autoflush: 500 * time.Millisecond}}},
		{"numeric timeout in microseconds and autoflush off", "f:/tmp/x.trapcap:timeout=1500:autoflush=off",
			[]IfcSpec{{Kind: 'f', Raw: "f:/tmp/x.trapcap:timeout=1500:autoflush=off", Params: []string{"/tmp/x.trapcap"}, Timeout: 1500, TimeoutSet: true, Buffer: true}}},
		{"inputs then outputs, blackhole without colon", "t:localhost:7600,b",
			[]IfcSpec{
				{Kind: 't', Raw: "t:localhost:7600", Params: []string{"localhost", "7600"}, Timeout: Wait, Buffer: true, Autoflush: DefaultAutoflush},
				{Kind: 'b', Raw: "b", Timeout: Wait, Buffer: true, Autoflush: DefaultAutoflush},
			}},
		{"half wait", "u:a:timeout=HALF_WAIT", []IfcSpec{{Kind: 'u', Raw: "u:a:timeout=HALF_WAIT", Params: []string{"a"}, Timeout: HalfWait, TimeoutSet: true, Buffer: true, Autoflush: DefaultAutoflush}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseIFCSpec(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseIFCSpec(%q)\n got %+v\nwant %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseIFCSpecErrors(t *testing.T) {
	for _, in := range []string{"", "x:foo", "u:a,", "u:a:timeout=SOMETIMES", "u:a:timeout=-5", "u:a:buffer=maybe", "u:a:autoflush=soon"} {
		if _, err := ParseIFCSpec(in); !errors.Is(err, ErrBadParams) {
			t.Errorf("ParseIFCSpec(%q) error = %v, want ErrBadParams", in, err)
		}
	}
}

func TestParseSocketOptions(t *testing.T) {
	o, rest, err := parseSocketOptions([]string{"7600", "max_clients=100", "buffer_count=10", "buffer_size=5000"})
	if err != nil {
		t.Fatal(err)
	}
	if want := (SocketOptions{MaxClients: 64, BufferCount: 10, BufferSize: 5000}); o != want {
		t.Errorf("options = %+v, want %+v (max_clients is capped at 64)", o, want)
	}
	if !reflect.DeepEqual(rest, []string{"7600"}) {
		t.Errorf("rest = %q", rest)
	}
	for _, bad := range [][]string{{"max_clients=0"}, {"buffer_size=abc"}, {"colour=blue"}, {"buffer_size=3"}} {
		if _, _, err := parseSocketOptions(bad); !errors.Is(err, ErrBadParams) {
			t.Errorf("parseSocketOptions(%q) error = %v, want ErrBadParams", bad, err)
		}
	}
}
