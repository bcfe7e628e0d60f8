package config

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// TypeSflow is a source receiving sFlow v5 datagrams.
const TypeSflow = "sflow"

// DefaultSflowPort is used when an sflow:// address names no port.
const DefaultSflowPort = 6343

// sflowKeys are the keys of an sflow source besides the common ones.
var sflowKeys = []string{"listen", "sockets", "receive_buffer", "element_table", "max_agents"}

// ParseSflowListen turns "sflow://HOST:PORT" or "sflow://HOST" (port 6343)
// into a UDP address. An empty HOST ("sflow://:6343", "sflow://") listens
// on every address, IPv4 and IPv6.
func ParseSflowListen(s string) (string, error) {
	rest, ok := strings.CutPrefix(s, "sflow://")
	if !ok {
		return "", fmt.Errorf("%q: want sflow://HOST:PORT (port %d when omitted)", s, DefaultSflowPort)
	}
	if _, _, err := net.SplitHostPort(rest); err != nil {
		host := strings.TrimSuffix(strings.TrimPrefix(rest, "["), "]")
		rest = net.JoinHostPort(host, strconv.Itoa(DefaultSflowPort))
	}
	if err := checkHostPort(rest); err != nil {
		return "", fmt.Errorf("%q: %w", s, err)
	}
	return rest, nil
}

// IsSflowListen reports whether a listen address is an sflow:// one.
func IsSflowListen(s string) bool { return strings.HasPrefix(s, "sflow://") }

func (s *SourceConfig) validateSflow(key string) []error {
	var errs []error
	if len(s.Listen) == 0 {
		errs = append(errs, fmt.Errorf("%s.listen: an sflow source needs at least one sflow://HOST:PORT", key))
	}
	for j, l := range s.Listen {
		if _, err := ParseSflowListen(l); err != nil {
			errs = append(errs, fmt.Errorf("%s.listen[%d]: %w", key, j, err))
		}
	}
	errs = append(errs, s.validateSockets(key)...)
	if s.MaxAgents < 0 {
		errs = append(errs, fmt.Errorf("%s.max_agents: %d is negative (0 = the default, 4096)", key, s.MaxAgents))
	}
	errs = append(errs, checkElementTable(key, s.ElementTable)...)
	return errs
}
