package collector

import (
	"net/netip"
	"time"

	"github.com/flowgate/flowgate/unirec"
)

// sessionKey identifies a template session: templates are scoped by the
// exporter address and the observation domain (v9: source id; v5: engine).
// The version is part of the key so that a v9 and an IPFIX exporter on the
// same host with the same domain id do not share templates.
//
// A TCP connection is its own transport session (RFC 7011 §8): its
// templates live exactly as long as the connection, so stream sessions also
// carry the exporter's port; datagram sessions have port 0.
type sessionKey struct {
	addr    netip.Addr
	port    uint16
	version uint16
	domain  uint32
}

// templateEntry is a template with its compiled plan (built on first use).
type templateEntry struct {
	tmpl    *Template
	updated time.Time
	plan    *plan
}

// session is the state of one (exporter, domain).
type session struct {
	key       sessionKey
	stats     *Counters
	series    *Counters // the (address, version, domain) series
	templates map[uint16]*templateEntry
	// sampling is the packet sampling interval learnt from options data
	// (or the v5 header); 0 or 1 means unsampled.
	sampling uint64
	// samplers holds intervals announced for a specific sampler
	// (samplerId 48 / selectorId 302 in the options record); data records
	// that carry that id use it instead of the session-wide interval.
	samplers map[uint64]uint64
	// configured is the interval the configuration gives this exporter
	// (Config.Sampling), 0 when none; set when the session is created.
	configured uint64
	// samplingAlgorithm is the last samplingAlgorithm(35) value seen, for
	// the record; nfcapd 1.7.1 ignores the interval when it is present, we
	// do not (see the golden test).
	samplingAlgorithm uint8
	sysInit           uint64 // systemInitTimeMilliseconds from options data
	seqValid          bool
	nextSeq           uint32
	exporterIP        unirec.IP // key.addr in UniRec form (EXPORTER_IP)
	// recent holds the entries lookup returned lately, one per slot of
	// id%len(recent), so that the few templates an exporter uses in turn
	// (IPv4, IPv6, ...: consecutive ids) are found without the map.
	// Cleared on any change of templates.
	recent [8]*templateEntry
}

func newSession(k sessionKey, stats *Counters) *session {
	return &session{key: k, stats: stats, templates: make(map[uint16]*templateEntry), exporterIP: unirec.IPFromAddr(k.addr)}
}

// checkSequence compares seq with the expected value and counts gaps; next
// is the expected sequence number of the following message.
func (s *session) checkSequence(p pair, seq, next uint32) {
	if s.seqValid && seq != s.nextSeq {
		p.add(ctrSequenceErrors, 1)
		if gap := seq - s.nextSeq; gap < 1<<31 {
			p.add(ctrSequenceLost, uint64(gap))
		}
	}
	s.seqValid, s.nextSeq = true, next
}

// setTemplate installs or refreshes a template.
func (s *session) setTemplate(p pair, t *Template, now time.Time) {
	if e, ok := s.templates[t.ID]; ok && e.tmpl.Equal(t) {
		e.updated = now
		p.add(ctrTemplateRefreshes, 1)
		return
	}
	s.templates[t.ID] = &templateEntry{tmpl: t, updated: now}
	clear(s.recent[:])
	p.add(ctrTemplatesAdded, 1)
}

// withdraw removes template id; id 2 (3) removes every (options) template.
func (s *session) withdraw(p pair, id uint16, options bool) {
	clear(s.recent[:])
	n := 0
	if id == 2 || id == 3 {
		for k, e := range s.templates {
			if e.tmpl.Options == options {
				delete(s.templates, k)
				n++
			}
		}
	} else if _, ok := s.templates[id]; ok {
		delete(s.templates, id)
		n++
	}
	p.add(ctrTemplatesWithdrawn, uint64(n))
}

// lookup returns the live template id, expiring it first when lifetime > 0.
func (s *session) lookup(p pair, id uint16, now time.Time, lifetime time.Duration) *templateEntry {
	slot := &s.recent[id%uint16(len(s.recent))]
	e := *slot
	if e == nil || e.tmpl.ID != id {
		var ok bool
		if e, ok = s.templates[id]; !ok {
			return nil
		}
		*slot = e
	}
	if lifetime > 0 && now.Sub(e.updated) > lifetime {
		delete(s.templates, id)
		*slot = nil
		p.add(ctrTemplatesExpired, 1)
		return nil
	}
	return e
}
