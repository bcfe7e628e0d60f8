package bruteforce

import (
	"slices"

	"github.com/flowgate/flowgate/detectors"
	"github.com/flowgate/flowgate/unirec"
)

// Telnet server profiles (detectors.md §4.5): a Telnet login prompt has
// no fixed size, so each server's usual outgoing flow is learnt from its
// last 15 flows of 6+ packets, and a failed login is one no bigger than
// the median plus a margin.
const (
	profileSize       = 15
	profileMinPackets = 6
	profileRecompute  = 10 // the global counter value that recomputes a profile
	profileAddPackets = 5
	profileAddBytes   = 500
)

// DefaultMaxTelnetServers caps the profile table (C keeps every server
// forever): about 400 bytes per server.
const DefaultMaxTelnetServers = 1 << 16

type profile struct {
	packets, bytes [profileSize]uint64
	n, next        int // entries filled, FIFO write position
	profiled       bool
	maxPackets     uint64
	maxBytes       uint64
}

type telnetProfiles struct {
	servers *detectors.Table[unirec.IP, profile]
	// counter is C's single counter shared by all servers. It is 16 bits
	// wide: it passes 10 during the first profile's learning and only
	// equals 10 again, recomputing a profile, after it wraps (found by
	// comparing with the C module over a million flows; uint8 and uint32
	// give other alerts).
	counter uint16
	scratch [profileSize]uint64
}

func newTelnetProfiles(max int) *telnetProfiles {
	return &telnetProfiles{servers: detectors.NewTable[unirec.IP, profile](max)}
}

// match feeds an outgoing flow (F ⊇ FIN|SYN|PSH|ACK) to the server's
// profile and judges it.
func (t *telnetProfiles) match(server unirec.IP, packets uint32, bytes uint64) bool {
	p, isNew, _ := t.servers.Upsert(server)
	if isNew {
		*p = profile{}
	}
	if packets < profileMinPackets {
		return false
	}
	t.counter++
	p.packets[p.next], p.bytes[p.next] = uint64(packets), bytes
	p.next = (p.next + 1) % profileSize
	if p.n < profileSize {
		p.n++
		if p.n == profileSize {
			t.compute(p)
			p.profiled = true
		}
	} else if p.profiled && t.counter == profileRecompute {
		t.compute(p)
		t.counter = 0
	}
	if !p.profiled {
		return false
	}
	return uint64(packets) <= p.maxPackets && bytes <= p.maxBytes
}

// compute sets the limits from the medians (the element at len/2 of the
// sorted values, for packets and bytes separately).
func (t *telnetProfiles) compute(p *profile) {
	t.scratch = p.packets
	slices.Sort(t.scratch[:])
	p.maxPackets = t.scratch[profileSize/2] + profileAddPackets
	t.scratch = p.bytes
	slices.Sort(t.scratch[:])
	p.maxBytes = t.scratch[profileSize/2] + profileAddBytes
}
