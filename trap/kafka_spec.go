package trap

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Defaults of the k: interface.
const (
	// DefaultKafkaInflight is how many finished containers an output lets
	// wait for the brokers' acknowledgement before a send waits (WAIT) or
	// drops (NO_WAIT); buffer_count= overrides it, as on sockets.
	DefaultKafkaInflight = DefaultBufferCount
	// DefaultKafkaSession is the consumer group session timeout: how long
	// the group waits for a silent member before giving its partitions to
	// the others.
	DefaultKafkaSession = 45 * time.Second
)

// kafkaSpec is a parsed k: interface:
//
//	k:TOPIC:HOST:PORT[:group=NAME][:key=FIELD[+FIELD...]][:compression=none|lz4|zstd][:eof=on]
//	   [:brokers=HOST/PORT+HOST/PORT][:buffer_count=N][:session=MS]
type kafkaSpec struct {
	raw         string
	topic       string
	brokers     []string // HOST:PORT, the first from the positional part
	group       string
	key         []string // UniRec field names hashed to pick a partition
	compression kgo.CompressionCodec
	compName    string
	eof         bool
	inflight    int
	session     time.Duration
	setParams   map[string]bool // which name= parameters were given
}

const kafkaGrammar = "k:TOPIC:HOST:PORT[:group=NAME][:key=FIELD[+FIELD...]][:compression=none|lz4|zstd][:eof=on][:brokers=HOST/PORT+...]"

// parseKafkaSpec reads the parameters of a k: interface (common setters
// already taken out by parseIfc).
func parseKafkaSpec(sp IfcSpec) (kafkaSpec, error) {
	ks := kafkaSpec{raw: sp.Raw, compression: kgo.NoCompression(), compName: "none",
		inflight: DefaultKafkaInflight, session: DefaultKafkaSession, setParams: map[string]bool{}}
	var pos []string
	for _, p := range sp.Params {
		key, val, ok := strings.Cut(p, "=")
		if !ok {
			pos = append(pos, p)
			continue
		}
		if ks.setParams[key] {
			return ks, fmt.Errorf("%w: k: interface %q: %s= given twice", ErrBadParams, sp.Raw, key)
		}
		ks.setParams[key] = true
		switch key {
		case "group":
			if val == "" {
				return ks, fmt.Errorf("%w: k: interface %q: empty group name", ErrBadParams, sp.Raw)
			}
			ks.group = val
		case "key":
			for _, f := range strings.Split(val, "+") {
				if f == "" {
					return ks, fmt.Errorf("%w: k: interface %q: key=%q has an empty field name (want FIELD[+FIELD...])", ErrBadParams, sp.Raw, val)
				}
				ks.key = append(ks.key, f)
			}
		case "compression":
			switch strings.ToLower(val) {
			case "none":
				ks.compression = kgo.NoCompression()
			case "lz4":
				ks.compression = kgo.Lz4Compression()
			case "zstd":
				ks.compression = kgo.ZstdCompression()
			default:
				return ks, fmt.Errorf("%w: k: interface %q: compression=%q (want none, lz4 or zstd)", ErrBadParams, sp.Raw, val)
			}
			ks.compName = strings.ToLower(val)
		case "eof":
			switch strings.ToLower(val) {
			case "on":
				ks.eof = true
			case "off":
				ks.eof = false
			default:
				return ks, fmt.Errorf("%w: k: interface %q: eof=%q (want on or off)", ErrBadParams, sp.Raw, val)
			}
		case "brokers":
			for _, hp := range strings.Split(val, "+") {
				host, port, ok := strings.Cut(hp, "/")
				if !ok {
					return ks, fmt.Errorf("%w: k: interface %q: brokers=%q: %q is not HOST/PORT", ErrBadParams, sp.Raw, val, hp)
				}
				addr, err := kafkaAddr(host, port)
				if err != nil {
					return ks, fmt.Errorf("%w: k: interface %q: brokers=: %v", ErrBadParams, sp.Raw, err)
				}
				ks.brokers = append(ks.brokers, addr)
			}
		case "buffer_count":
			n, err := strconv.Atoi(val)
			if err != nil || n <= 0 {
				return ks, fmt.Errorf("%w: k: interface %q: buffer_count=%q (want a positive integer)", ErrBadParams, sp.Raw, val)
			}
			ks.inflight = n
		case "session":
			n, err := strconv.Atoi(val)
			if err != nil || n <= 0 {
				return ks, fmt.Errorf("%w: k: interface %q: session=%q (want milliseconds > 0)", ErrBadParams, sp.Raw, val)
			}
			ks.session = time.Duration(n) * time.Millisecond
		default:
			return ks, fmt.Errorf("%w: k: interface %q: unknown parameter %q (want group, key, compression, eof, brokers, buffer_count or session)", ErrBadParams, sp.Raw, key)
		}
	}
	if len(pos) != 3 || pos[0] == "" {
		return ks, fmt.Errorf("%w: k: interface %q: want %s", ErrBadParams, sp.Raw, kafkaGrammar)
	}
	ks.topic = pos[0]
	addr, err := kafkaAddr(pos[1], pos[2])
	if err != nil {
		return ks, fmt.Errorf("%w: k: interface %q: %v", ErrBadParams, sp.Raw, err)
	}
	ks.brokers = append([]string{addr}, ks.brokers...)
	return ks, nil
}

// only rejects parameters that the direction does not use.
func (ks kafkaSpec) only(dir string, allowed ...string) error {
	for k := range ks.setParams {
		ok := false
		for _, a := range allowed {
			ok = ok || a == k
		}
		if !ok {
			return fmt.Errorf("%w: k: interface %q: %s= is not a parameter of an %s", ErrBadParams, ks.raw, k, dir)
		}
	}
	return nil
}

func kafkaAddr(host, port string) (string, error) {
	if host == "" {
		return "", fmt.Errorf("empty broker host")
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("broker port %q is not in 1-65535", port)
	}
	return net.JoinHostPort(host, port), nil
}

// defaultGroup is the consumer group of an input without group=: the
// module name, as libtrap derives it from argv[0].
func defaultGroup() string {
	if len(os.Args) > 0 {
		if n := ProgramName(os.Args[0]); n != "" && n != "." {
			return n
		}
	}
	return "trap"
}
