package collector

import "fmt"

// v5Template describes the fixed 48-byte NetFlow v5 record with the IPFIX
// elements of the same meaning, so v5 goes through the same compiled plans
// as v9 and IPFIX. Element 210 (paddingOctets) covers the pad bytes.
func v5Template() *Template {
	t := &Template{ID: 0, Fields: []Field{
		{ID: 8, Length: 4}, {ID: 12, Length: 4}, {ID: 15, Length: 4},
		{ID: 10, Length: 2}, {ID: 14, Length: 2},
		{ID: 2, Length: 4}, {ID: 1, Length: 4},
		{ID: 22, Length: 4}, {ID: 21, Length: 4},
		{ID: 7, Length: 2}, {ID: 11, Length: 2},
		{ID: 210, Length: 1}, {ID: 6, Length: 1}, {ID: 4, Length: 1}, {ID: 5, Length: 1},
		{ID: 16, Length: 2}, {ID: 17, Length: 2},
		{ID: 9, Length: 1}, {ID: 13, Length: 1}, {ID: 210, Length: 2},
	}}
	if err := t.finish(); err != nil || t.MinLen != v5RecordLen {
		panic(fmt.Sprintf("collector: v5 template is %d bytes: %v", t.MinLen, err))
	}
	return t
}

func (d *Decoder) decodeV5(p pair, s *session, h header, msg []byte, ctx *msgCtx, exp Exporter) error {
	ctx.uptimeBase = int64(h.exportSecs)*1000 + int64(h.exportNsec/1e6) - int64(h.sysUptime)
	ctx.netflowTime, ctx.lateWrap, ctx.sysUptime = true, true, h.sysUptime
	s.checkSequence(p, h.sequence, h.sequence+uint32(h.count))
	// Sampling interval: the low 14 bits of the header field (the top two are the mode).
	s.sampling = uint64(h.sampling & 0x3FFF)
	d.applySampling(s, ctx)
	e := s.templates[0]
	if e == nil {
		e = &templateEntry{tmpl: d.v5tmpl}
		s.templates[0] = e
	}
	if e.plan == nil || e.plan.out != d.cfg.Output {
		e.plan = d.compile(e.tmpl)
	}
	body := msg[v5HeaderLen : v5HeaderLen+int(h.count)*v5RecordLen]
	return d.emit(p, e.plan, body, ctx, exp)
}
