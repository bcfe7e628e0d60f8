package collector

import "fmt"

// decodeOptions reads options data records for what the collector itself
// needs: the sampling interval and the exporter's system init time.
// Scope values are skipped: one sampling configuration per (exporter,
// domain) is kept, the last one announced.
func (d *Decoder) decodeOptions(p pair, s *session, t *Template, set []byte, ctx *msgCtx) error {
	for len(set) >= t.MinLen && len(set) > 0 {
		var interval, space, random, sampler uint64
		var haveSpace, haveSampler bool
		pos := 0
		for _, f := range t.Fields {
			n, pre, err := fieldLen(f, set[pos:])
			if err != nil {
				return fmt.Errorf("options template %d record: %w", t.ID, err)
			}
			v := set[pos+pre : pos+pre+n]
			pos += pre + n
			if f.PEN != 0 || n > 8 {
				continue
			}
			if (f.ID == 48 || f.ID == 302) && (!f.Scope || s.key.version == 10) {
				// samplerId / selectorId, as option (v9) or scope (IPFIX)
				sampler, haveSampler = uintBE(v), true
				continue
			}
			if f.Scope {
				continue
			}
			switch f.ID {
			case 34, 305: // samplingInterval, samplingPacketInterval
				interval = uintBE(v)
			case 306: // samplingPacketSpace
				space, haveSpace = uintBE(v), true
			case 50: // samplerRandomInterval (v9 FLOW_SAMPLER_RANDOM_INTERVAL)
				random = uintBE(v)
			case 35: // samplingAlgorithm
				s.samplingAlgorithm = uint8(uintBE(v))
			case 160: // systemInitTimeMilliseconds
				s.sysInit = uintBE(v)
				ctx.sysInit = s.sysInit
			}
		}
		set = set[pos:]
		var rate uint64
		switch {
		case haveSpace && interval > 0:
			// RFC 5477: interval packets selected, then space packets skipped.
			rate = (interval + space) / interval
		case interval > 0:
			rate = interval
		case random > 0:
			rate = random
		}
		switch {
		case rate == 0:
		case haveSampler:
			if s.samplers == nil {
				s.samplers = make(map[uint64]uint64)
			}
			s.samplers[sampler] = rate
		default:
			s.sampling = rate
		}
		p.add(ctrOptionsRecords, 1)
	}
	return nil
}
