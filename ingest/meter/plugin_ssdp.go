package meter

import (
	"bytes"

	"github.com/flowgate/flowgate/unirec"
)

// ssdpPlugin follows ipfixprobe's ssdp plugin for UDP packets to port 1900:
// NOTIFY messages give SSDP_NT (distinct values joined by ';'),
// SSDP_LOCATION_PORT (the port of the LOCATION URL, 0 when it has none) and
// SSDP_SERVER; M-SEARCH requests give SSDP_ST (distinct values joined by
// ';') and SSDP_USER_AGENT. Header names are matched case-insensitively.
type ssdpPlugin struct {
	noHooks
	st  slotState[ssdpState]
	ids [5]unirec.FieldID
}

const (
	ssdpPort      = 1900
	ssdpMaxList   = 512
	ssdpMaxServer = 255
	ssdpMaxAgent  = 255
)

type ssdpState struct {
	port                  uint16
	nt, st, server, agent text
}

func (s *ssdpState) reset() {
	s.port = 0
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
	x.packet(f, p)
	return Continue
}

func (x *ssdpPlugin) PostUpdate(f *Flow, p *Packet, _ bool) Action {
	x.packet(f, p)
	return Continue
}

func (x *ssdpPlugin) packet(f *Flow, p *Packet) {
	if p.Proto != protoUDP || p.DstPort != ssdpPort {
		return
	}
	s := x.st.get(f.Slot)
	if s == nil {
		s = x.st.fresh(f.Slot)
		s.reset()
	}
	s.parse(p.Payload)
}

var (
	ssdpNotify  = []byte("NOTIFY")
	ssdpMSearch = []byte("M-SEARCH")
)

// parse reads one SSDP message.
func (s *ssdpState) parse(b []byte) {
	notify := bytes.HasPrefix(b, ssdpNotify)
	search := bytes.HasPrefix(b, ssdpMSearch)
	if !notify && !search {
		return
	}
	_, rest := httpLine(b)
	for len(rest) > 0 {
		var line []byte
		line, rest = httpLine(rest)
		if len(line) == 0 {
			break
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			continue
		}
		name, val := line[:colon], bytes.TrimSpace(line[colon+1:])
		switch {
		case notify && bytes.EqualFold(name, []byte("NT")):
			s.nt.add(ssdpMaxList, ';', val)
		case notify && bytes.EqualFold(name, []byte("LOCATION")):
			s.port = urlPort(val)
		case notify && bytes.EqualFold(name, []byte("SERVER")):
			s.server.set(ssdpMaxServer, val)
		case search && bytes.EqualFold(name, []byte("ST")):
			s.st.add(ssdpMaxList, ';', val)
		case search && bytes.EqualFold(name, []byte("USER-AGENT")):
			s.agent.set(ssdpMaxAgent, val)
		}
	}
}

// urlPort returns the explicit port of a URL such as
// http://192.168.1.1:49152/desc.xml or http://[fe80::1]:80/, else 0.
func urlPort(u []byte) uint16 {
	if i := bytes.Index(u, []byte("://")); i >= 0 {
		u = u[i+3:]
	}
	if i := bytes.IndexByte(u, '/'); i >= 0 {
		u = u[:i]
	}
	if len(u) > 0 && u[0] == '[' {
		i := bytes.IndexByte(u, ']')
		if i < 0 {
			return 0
		}
		u = u[i+1:]
	}
	i := bytes.LastIndexByte(u, ':')
	if i < 0 {
		return 0
	}
	var v uint32
	digits := u[i+1:]
	if len(digits) == 0 || len(digits) > 5 {
		return 0
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0
		}
		v = v*10 + uint32(c-'0')
	}
	if v > 65535 {
		return 0
	}
	return uint16(v)
}

func (x *ssdpPlugin) Fill(f *Flow, r *unirec.Record) error {
	s := x.st.get(f.Slot)
	if s == nil {
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
