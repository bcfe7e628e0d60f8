package trap

import (
	_ "embed"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Timeout is an IFC timeout in microseconds, or one of the special values.
type Timeout int64

// Special timeouts (trap.h: TRAP_WAIT, TRAP_NO_WAIT, TRAP_HALFWAIT).
const (
	Wait     Timeout = -1
	NoWait   Timeout = 0
	HalfWait Timeout = -2
)

// Duration converts a positive timeout to a time.Duration.
func (t Timeout) Duration() time.Duration { return time.Duration(t) * time.Microsecond }

func (t Timeout) String() string {
	switch t {
	case Wait:
		return "WAIT"
	case NoWait:
		return "NO_WAIT"
	case HalfWait:
		return "HALF_WAIT"
	}
	return strconv.FormatInt(int64(t), 10)
}

// Defaults of libtrap 1.18.2.
const (
	DefaultAutoflush   = 2 * time.Second // TRAP_IFC_TIMEOUT
	DefaultMaxClients  = 64
	DefaultBufferCount = 50
	DefaultBufferSize  = 100000
)

// IFC kinds, the letters of the IFC_SPEC.
const (
	KindTCP       = 't'
	KindTLS       = 'T'
	KindUNIX      = 'u'
	KindFile      = 'f'
	KindBlackhole = 'b'
	KindGenerator = 'g'
	KindKafka     = 'k' // Flowgate's extension: a Kafka topic (kafka_spec.go)
)

// ifcSpecHelpKafka documents the k: interface; -h trap prints it after
// libtrap's own IFC_SPEC help, which stays byte-exact.
//
//go:embed ifcspec_help_kafka.txt
var ifcSpecHelpKafka string

// IfcSpec is one interface of an IFC_SPEC with libtrap's common setters
// (timeout=, buffer=, autoflush=) already taken out. Params holds the
// remaining colon-separated parameters in order.
type IfcSpec struct {
	Kind   byte
	Raw    string   // the IFC text as given
	Params []string // type-specific parameters, common setters removed

	Timeout    Timeout // default Wait
	TimeoutSet bool    // given in the spec: wins over the module's own default
	Buffer     bool    // output buffering, default on
	// Autoflush is the autoflush interval; 0 means off. Default 2 s.
	Autoflush time.Duration
}

// ParseIFCSpec splits an IFC_SPEC (the argument of -i) into interfaces,
// inputs first, then outputs, as libtrap's trap_parse_params does.
func ParseIFCSpec(s string) ([]IfcSpec, error) {
	if s == "" {
		return nil, fmt.Errorf("%w: empty IFC_SPEC", ErrBadParams)
	}
	var out []IfcSpec
	for i, ifc := range strings.Split(s, ",") {
		sp, err := parseIfc(ifc)
		if err != nil {
			return nil, fmt.Errorf("IFC %d %q: %w", i, ifc, err)
		}
		out = append(out, sp)
	}
	return out, nil
}

func parseIfc(ifc string) (IfcSpec, error) {
	sp := IfcSpec{Raw: ifc, Timeout: Wait, Buffer: true, Autoflush: DefaultAutoflush}
	if ifc == "" {
		return sp, fmt.Errorf("%w: empty interface", ErrBadParams)
	}
	sp.Kind = ifc[0]
	switch sp.Kind {
	case KindTCP, KindTLS, KindUNIX, KindFile, KindBlackhole, KindGenerator, KindKafka:
	default:
		return sp, fmt.Errorf("%w: unknown interface type %q (want one of t T u f b k)", ErrBadParams, ifc[0])
	}
	if len(ifc) == 1 || ifc[1] != ':' {
		// libtrap: no ':' after the letter means an empty parameter string.
		return sp, nil
	}
	for _, p := range strings.Split(ifc[2:], ":") {
		key, val, hasEq := strings.Cut(p, "=")
		switch {
		case hasEq && key == "timeout":
			t, err := parseTimeout(val)
			if err != nil {
				return sp, err
			}
			sp.Timeout, sp.TimeoutSet = t, true
		case hasEq && key == "buffer":
			switch strings.ToLower(val) {
			case "on":
				sp.Buffer = true
			case "off":
				sp.Buffer = false
			default:
				return sp, fmt.Errorf("%w: buffer=%q (want on or off)", ErrBadParams, val)
			}
		case hasEq && key == "autoflush":
			if strings.EqualFold(val, "off") {
				sp.Autoflush = 0
				break
			}
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil || n < 0 {
				return sp, fmt.Errorf("%w: autoflush=%q (want off or microseconds)", ErrBadParams, val)
			}
			sp.Autoflush = time.Duration(n) * time.Microsecond
		default:
			sp.Params = append(sp.Params, p)
		}
	}
	if sp.Kind == KindKafka {
		// Checked here so that a configuration is refused when it is read.
		if _, err := parseKafkaSpec(sp); err != nil {
			return sp, err
		}
	}
	return sp, nil
}

func parseTimeout(v string) (Timeout, error) {
	switch v {
	case "WAIT":
		return Wait, nil
	case "NO_WAIT":
		return NoWait, nil
	case "HALF_WAIT":
		return HalfWait, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%w: timeout=%q (want WAIT, NO_WAIT, HALF_WAIT or microseconds)", ErrBadParams, v)
	}
	return Timeout(n), nil
}

// SocketOptions are the optional output parameters of t, T and u IFCs.
type SocketOptions struct {
	MaxClients  int
	BufferCount int
	BufferSize  int
}

// parseSocketOptions reads max_clients=, buffer_count= and buffer_size= items,
// returning the positional parameters that remain.
func parseSocketOptions(params []string) (SocketOptions, []string, error) {
	o := SocketOptions{MaxClients: DefaultMaxClients, BufferCount: DefaultBufferCount, BufferSize: DefaultBufferSize}
	var rest []string
	for _, p := range params {
		key, val, ok := strings.Cut(p, "=")
		if !ok {
			rest = append(rest, p)
			continue
		}
		n, err := strconv.Atoi(val)
		if err != nil || n <= 0 {
			return o, nil, fmt.Errorf("%w: %s=%q (want a positive integer)", ErrBadParams, key, val)
		}
		switch key {
		case "max_clients":
			o.MaxClients = min(n, DefaultMaxClients) // libtrap caps at 64
		case "buffer_count":
			o.BufferCount = n
		case "buffer_size":
			if n < ContainerHeaderSize+3 {
				return o, nil, fmt.Errorf("%w: buffer_size=%d is too small", ErrBadParams, n)
			}
			o.BufferSize = n
		default:
			return o, nil, fmt.Errorf("%w: unknown parameter %q (want max_clients, buffer_count or buffer_size)", ErrBadParams, key)
		}
	}
	return o, rest, nil
}

// IFCSpecHelp returns the IFC_SPEC help that "-h trap" prints, for
// programs that parse their own command line (the flowgate daemon).
func IFCSpecHelp() string { return trapHelpText() }
