package meter

import (
	"bytes"
	"math"

	"github.com/flowgate/flowgate/unirec"
)

// ssdpPlugin follows ipfixprobe's ssdp plugin (spec/ipfixprobe-plugins.md
// §2):
//
//   - A flow whose first packet goes to port 1900 gets an SSDP record at
//     once; that packet and every later one to port 1900 is parsed into it
//     (responses from port 1900 are not).
//   - payload[0] decides the message: 'N' (NOTIFY) gives SSDP_NT,
//     SSDP_LOCATION_PORT and SSDP_SERVER, 'M' (M-SEARCH) SSDP_ST and
//     SSDP_USER_AGENT.
//   - Lines end at "\r\n" and their text keeps the "\r"; header names match
//     case-insensitively when ':' follows at once. NT and ST only take
//     "urn:" values, without the prefix.
//   - Each value is appended with a ';' after it (so every entry ends in
//     "\r;") unless it is already in the field as a substring or does not
//     fit (511 bytes for NT and ST, 255 for SERVER and USER_AGENT).
//   - The LOCATION port is C strtol (base 0) of the text after the first
//     ':' that follows the first '.' (IPv4) or ']' (IPv6) of the value; a
//     later valid port wins.
type ssdpPlugin struct {
	noHooks
	st  slotState[ssdpState]
	ids [5]unirec.FieldID
}

const (
	ssdpPort      = 1900
	ssdpMaxList   = 511
	ssdpMaxServer = 255
	ssdpMaxAgent  = 255
)

type ssdpState struct {
	attached              bool
	port                  uint16
	nt, st, server, agent text
}

func (s *ssdpState) reset() {
	s.attached, s.port = false, 0
	s.nt.reset()
	s.st.reset()
	s.server.reset()
	s.agent.reset()
}

var ssdpFieldNames = []string{"SSDP_LOCATION_PORT", "SSDP_NT", "SSDP_SERVER", "SSDP_ST", "SSDP_USER_AGENT"}

func (*ssdpPlugin) Name() string { return "ssdp" }
func (*ssdpPlugin) Spec() string {
	return "uint16 SSDP_LOCATION_PORT,string SSDP_NT,string SSDP_SERVER,string SSDP_ST,string SSDP_USER_AGENT"
}
func (x *ssdpPlugin) Init(n int) { x.st.init(n) }

func (x *ssdpPlugin) Bind(t *unirec.Template) error {
	return lookup(t, "ssdp", ssdpFieldNames, x.ids[:])
}

func (x *ssdpPlugin) Create(f *Flow, p *Packet) Action {
	if p.DstPort != ssdpPort {
		return Continue
	}
	s := x.st.fresh(f.Slot)
	s.reset()
	s.attached = true
	s.parse(p.Payload, p.IPVersion == 6)
	return Continue
}

func (x *ssdpPlugin) PreUpdate(f *Flow, p *Packet, _ bool) Action {
	if p.DstPort != ssdpPort {
		return Continue
	}
	if s := x.st.get(f.Slot); s != nil && s.attached {
		s.parse(p.Payload, p.IPVersion == 6)
	}
	return Continue
}

// Has reports whether the flow carries an SSDP record.
func (x *ssdpPlugin) Has(f *Flow) bool {
	s := x.st.get(f.Slot)
	return s != nil && s.attached
}

var crlf = []byte("\r\n")

// asciiEqualFold compares b with s, ASCII letters in any case.
func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c, d := b[i], s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if 'A' <= d && d <= 'Z' {
			d += 'a' - 'A'
		}
		if c != d {
			return false
		}
	}
	return true
}

func isCSpace(c byte) bool { return c == ' ' || c >= '\t' && c <= '\r' }

// ssdpHeader returns the value of line if it is header name: the text after
// "name:" and any whitespace, to the line end ("\r" included); ok is false
// when the line is another header or the value is empty.
func ssdpHeader(line []byte, name string) (val []byte, ok bool) {
	if len(line) <= len(name) || line[len(name)] != ':' || !asciiEqualFold(line[:len(name)], name) {
		return nil, false
	}
	return trimCSpace(line[len(name)+1:])
}

func trimCSpace(v []byte) ([]byte, bool) {
	i := 0
	for i < len(v) && isCSpace(v[i]) {
		i++
	}
	if i == len(v) {
		return nil, false
	}
	return v[i:], true
}

// ssdpURN strips a leading "urn:" (any case) and whitespace after it.
func ssdpURN(v []byte) ([]byte, bool) {
	if len(v) < 4 || !asciiEqualFold(v[:4], "urn:") {
		return nil, false
	}
	return trimCSpace(v[4:])
}

// parse reads one message to port 1900.
func (s *ssdpState) parse(payload []byte, ipv6 bool) {
	if len(payload) == 0 || (payload[0] != 'N' && payload[0] != 'M') {
		return
	}
	notify := payload[0] == 'N'
	b := payload
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	for start := 0; ; {
		i := bytes.Index(b[start:], crlf)
		if i < 0 {
			return
		}
		end := start + i + 1 // the line keeps its '\r'
		line := b[start:end]
		if notify {
			if v, ok := ssdpHeader(line, "NT"); ok {
				if v, ok := ssdpURN(v); ok {
					ssdpAppend(&s.nt, ssdpMaxList, v)
				}
			} else if v, ok := ssdpHeader(line, "LOCATION"); ok {
				vstart := end - len(v)
				if port, ok := ssdpLocationPort(payload, vstart, len(v), ipv6); ok {
					s.port = port
				}
			} else if v, ok := ssdpHeader(line, "SERVER"); ok {
				ssdpAppend(&s.server, ssdpMaxServer, v)
			}
		} else {
			if v, ok := ssdpHeader(line, "ST"); ok {
				if v, ok := ssdpURN(v); ok {
					ssdpAppend(&s.st, ssdpMaxList, v)
				}
			} else if v, ok := ssdpHeader(line, "USER-AGENT"); ok {
				ssdpAppend(&s.agent, ssdpMaxAgent, v)
			}
		}
		start = end + 1
	}
}

// ssdpAppend is ipfixprobe's append_value: v and a ';' are added if the
// result stays under max and v is not found in the field (at any start
// before its last possible one).
func ssdpAppend(x *text, max int, v []byte) {
	cur := x.bytes()
	if len(cur)+len(v)+1 >= max {
		return
	}
	for i := 0; i <= len(cur)-len(v)-1; i++ {
		if bytes.Equal(cur[i:i+len(v)], v) {
			return
		}
	}
	if x.b == nil {
		x.b = make([]byte, 0, max)
	}
	x.b = append(append(x.b[:x.n], v...), ';')
	x.n = len(x.b)
}

// ssdpLocationPort finds the port of a LOCATION value that starts at
// payload[vstart] and is vlen bytes long, as ipfixprobe does: from the
// first '.' (']' for IPv6) of the value, the first ':' within vlen bytes
// (which may run into the next lines), then strtol base 0 of what follows.
func ssdpLocationPort(payload []byte, vstart, vlen int, ipv6 bool) (uint16, bool) {
	sep := byte('.')
	if ipv6 {
		sep = ']'
	}
	d := bytes.IndexByte(payload[vstart:vstart+vlen], sep)
	if d < 0 {
		return 0, false
	}
	from := vstart + d
	area := payload[from:min(from+vlen, len(payload))]
	c := bytes.IndexByte(area, ':')
	if c < 0 {
		return 0, false
	}
	v, ok := cStrtol(payload[from+c+1:])
	if !ok || uint16(v) == 0 {
		return 0, false
	}
	return uint16(v), true
}

// cStrtol is C strtol(s, &end, 0) over a buffer that ends at a NUL or its
// end: leading whitespace, a sign, then hex (0x), octal (0) or decimal;
// it saturates like strtol. ok is false when no digits were read.
func cStrtol(s []byte) (int64, bool) {
	i := 0
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	base := uint64(10)
	if i < len(s) && s[i] == '0' {
		base = 8
		if i+2 < len(s) && (s[i+1] == 'x' || s[i+1] == 'X') && hexVal(s[i+2]) < 16 {
			base = 16
			i += 2
		}
	}
	const limit = 1 << 63 // |LONG_MIN|
	var v uint64
	digits, over := 0, false
	for ; i < len(s); i++ {
		d := uint64(hexVal(s[i]))
		if d >= base {
			break
		}
		digits++
		if over || v > (limit-d)/base {
			over = true
			continue
		}
		v = v*base + d
	}
	switch {
	case digits == 0:
		return 0, false
	case neg && (over || v == limit):
		return math.MinInt64, true
	case neg:
		return -int64(v), true
	case over || v > math.MaxInt64:
		return math.MaxInt64, true
	}
	return int64(v), true
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return 99
}

func (x *ssdpPlugin) Fill(f *Flow, r *unirec.Record) error {
	s := x.st.get(f.Slot)
	if s == nil || !s.attached {
		return nil
	}
	r.SetUint16(x.ids[0], s.port)
	for i, v := range []*text{&s.nt, &s.server, &s.st, &s.agent} {
		if v.n == 0 {
			continue
		}
		if err := r.SetVar(x.ids[i+1], v.bytes()); err != nil {
			return err
		}
	}
	return nil
}

// Release returns the flow's state to the pool.
func (x *ssdpPlugin) Release(f *Flow) { x.st.drop(f.Slot) }
