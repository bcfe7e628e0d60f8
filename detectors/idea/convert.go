package idea

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/flowgate/flowgate/unirec"
)

func newUUID4() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// jsonSecs is a JSON float epoch as pytrap.UnirecTime prints it: whole seconds.
func jsonSecs(f float64) int64 { return int64(math.Floor(f)) }

func parseIP(s string) (unirec.IP, error) {
	ip, err := unirec.ParseIP(s)
	if err != nil {
		return ip, errf("address %q: %w", s, err)
	}
	return ip, nil
}

// --- vportscan: JSON aggregated_portscan from vportscan_aggregator.py.

func vportscanReporter() *Reporter {
	return &Reporter{Name: "vportscan", ModuleName: "vportscan", Detector: "vportscan_detector", JSONFormat: "aggregated_portscan",
		ConvertJSON: convertVportscan}
}

func convertVportscan(msg []byte, o *Options) (*Object, error) {
	var in struct {
		SrcIP   string          `json:"src_ip"`
		DstIPs  json.RawMessage `json:"dst_ips"`
		TsFirst float64         `json:"ts_first"`
		TsLast  float64         `json:"ts_last"`
	}
	if err := json.Unmarshal(msg, &in); err != nil {
		return nil, errf("aggregated_portscan message: %w", err)
	}
	// dst_ips keeps its JSON key order.
	dec := json.NewDecoder(bytes.NewReader(in.DstIPs))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errf("aggregated_portscan: dst_ips is not an object")
	}
	tgt := &Object{}
	tgt.Set("Proto", []any{"tcp"})
	var flows int64
	n := 0
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, errf("aggregated_portscan dst_ips: %w", err)
		}
		var cnt json.Number
		if err := dec.Decode(&cnt); err != nil {
			return nil, errf("aggregated_portscan dst_ips: %w", err)
		}
		c, err := cnt.Int64()
		if err != nil {
			return nil, errf("aggregated_portscan count %q: %w", cnt, err)
		}
		ip, err := parseIP(tok.(string))
		if err != nil {
			return nil, err
		}
		addAddr(tgt, ip)
		flows += c
		n++
	}
	src, err := parseIP(in.SrcIP)
	if err != nil {
		return nil, err
	}
	obj := head(o)
	setSpan(obj, jsonSecs(in.TsFirst), jsonSecs(in.TsLast))
	obj.Set("Category", []any{"Recon.Scanning"})
	if n > 1 {
		obj.Set("Description", "Block portscan using TCP SYN")
	} else {
		obj.Set("Description", "Vertical scan using TCP SYN")
	}
	s := endpoint([]any{"tcp"}, src)
	obj.Set("Source", []any{s})
	obj.Set("Target", []any{tgt})
	obj.Set("Node", []any{aggrNode("vportscan_detector", o)})
	obj.Set("FlowCount", flows)
	return obj, nil
}

// --- vportscan_detector: the detector's own UniRec alerts, one target
// each (detectors.md §7.5), for pipelines without vportscan_aggregator.

func vportscanDetectorReporter() *Reporter {
	const spec = "ipaddr SRC_IP,ipaddr DST_IP,uint32 PORT_CNT,time TIME_FIRST,time TIME_LAST"
	return &Reporter{Name: "vportscan_detector", ModuleName: "vportscan", Detector: "vportscan_detector", Spec: spec,
		Bind: func(t *unirec.Template) (Converter, error) {
			var src, dst, cnt, tf, tl unirec.FieldID
			if err := fields(t, spec, &src, &dst, &cnt, &tf, &tl); err != nil {
				return nil, err
			}
			return func(r unirec.Record, o *Options) (*Object, error) {
				obj := head(o)
				setSpan(obj, secs(r.Time(tf)), secs(r.Time(tl)))
				obj.Set("Category", []any{"Recon.Scanning"})
				obj.Set("Description", "Vertical scan using TCP SYN")
				s := endpoint([]any{"tcp"}, r.IP(src))
				obj.Set("Source", []any{s})
				tg := endpoint([]any{"tcp"}, r.IP(dst))
				obj.Set("Target", []any{tg})
				obj.Set("Node", []any{aggrNode("vportscan_detector", o)})
				obj.Set("FlowCount", r.Uint32(cnt))
				return obj, nil
			}, nil
		}}
}

// --- haddrscan: UniRec from haddrscan_aggregator.py (DST_IP0..15), or
// the detector's own alerts (DST_IP0..3).

func haddrscanReporter() *Reporter {
	const spec = "ipaddr SRC_IP,uint32 ADDR_CNT,time TIME_FIRST,time TIME_LAST,uint16 DST_PORT"
	return &Reporter{Name: "haddrscan", ModuleName: "haddrscan", Detector: "haddrscan_detector", Spec: spec,
		Bind: func(t *unirec.Template) (Converter, error) {
			var src, cnt, tf, tl, port unirec.FieldID
			if err := fields(t, spec, &src, &cnt, &tf, &tl, &port); err != nil {
				return nil, err
			}
			var dsts []unirec.FieldID
			for i := 0; i < 16; i++ {
				if id, ok := t.Lookup("DST_IP" + strconv.Itoa(i)); ok && t.Field(id).Type == unirec.IPAddr {
					dsts = append(dsts, id)
				}
			}
			return func(r unirec.Record, o *Options) (*Object, error) {
				obj := head(o)
				setSpan(obj, secs(r.Time(tf)), secs(r.Time(tl)))
				obj.Set("Category", []any{"Recon.Scanning"})
				obj.Set("FlowCount", r.Uint32(cnt))
				obj.Set("Description", "Horizontal scan using TCP SYN")
				s := endpoint([]any{"tcp"}, r.IP(src))
				obj.Set("Source", []any{s})
				tg := &Object{}
				tg.Set("Proto", []any{"tcp"})
				tg.Set("Port", []any{r.Uint16(port)})
				tg.Set("Imprecise", true)
				for _, id := range dsts {
					if ip := r.IP(id); !isNull(ip) {
						addAddr(tg, ip)
					}
				}
				obj.Set("Target", []any{tg})
				obj.Set("Node", []any{aggrNode("haddrscan_detector", o)})
				return obj, nil
			}, nil
		}}
}

// isNull is pytrap's isNull: :: or 0.0.0.0.
func isNull(ip unirec.IP) bool {
	return ip == unirec.IP{} || ip == unirec.IPv4([4]byte{})
}

// --- amplificationdetector: the detector's UniRec alerts.

func amplificationReporter() *Reporter {
	const spec = "ipaddr SRC_IP,ipaddr DST_IP,uint16 SRC_PORT,uint32 REQ_FLOWS,uint32 REQ_PACKETS,uint64 REQ_BYTES,uint32 RSP_FLOWS,uint32 RSP_PACKETS,uint64 RSP_BYTES,time TIME_FIRST,time TIME_LAST"
	return &Reporter{Name: "amplificationdetector", ModuleName: "amplificationdetector", Detector: "amplification_detection", Spec: spec,
		Bind: func(t *unirec.Template) (Converter, error) {
			var src, dst, port, qf, qp, qb, rf, rp, rb, tf, tl unirec.FieldID
			if err := fields(t, spec, &src, &dst, &port, &qf, &qp, &qb, &rf, &rp, &rb, &tf, &tl); err != nil {
				return nil, err
			}
			return func(r unirec.Record, o *Options) (*Object, error) {
				obj := head(o)
				setSpan(obj, secs(r.Time(tf)), secs(r.Time(tl)))
				obj.Set("Category", []any{"Availability.DDoS"})
				s := &Object{}
				s.Set("Type", []any{"Backscatter"})
				s.Set("InFlowCount", r.Uint32(qf))
				s.Set("InPacketCount", r.Uint32(qp))
				s.Set("InByteCount", r.Uint64(qb))
				s.Set("OutFlowCount", r.Uint32(rf))
				s.Set("OutPacketCount", r.Uint32(rp))
				s.Set("OutByteCount", r.Uint64(rb))
				addAddr(s, r.IP(src))
				tg := &Object{}
				tg.Set("InFlowCount", r.Uint32(rf))
				tg.Set("InPacketCount", r.Uint32(rp))
				tg.Set("InByteCount", r.Uint64(rb))
				addAddr(tg, r.IP(dst))
				desc, proto := "", ""
				switch r.Uint16(port) {
				case 53:
					desc, proto = "DNS amplification", "domain"
				case 123:
					desc, proto = "NTP amplification", "ntp"
				}
				if proto != "" {
					s.Set("Proto", []any{"udp", proto})
					tg.Set("Proto", []any{"udp", proto})
				}
				obj.Set("Source", []any{s})
				obj.Set("Target", []any{tg})
				obj.Set("FlowCount", r.Uint32(rf))
				obj.Set("ByteCount", r.Uint64(rb))
				obj.Set("PacketCount", r.Uint32(rp))
				obj.Set("Node", []any{node("amplification_detection")})
				if desc != "" {
					obj.Set("Description", desc)
				}
				return obj, nil
			}, nil
		}}
}

// --- bruteforce: brute_force_detector's UniRec alerts.

func bruteforceReporter() *Reporter {
	const spec = "ipaddr SRC_IP,time DETECTION_TIME,uint32 EVENT_SCALE,uint16 DST_PORT,uint8 PROTOCOL,uint8 WARDEN_TYPE"
	return &Reporter{Name: "bruteforce", ModuleName: "bruteforce", Detector: "brute_force_detector", Spec: spec,
		Bind: func(t *unirec.Template) (Converter, error) {
			var src, dt, scale, port, proto, wt unirec.FieldID
			if err := fields(t, spec, &src, &dt, &scale, &port, &proto, &wt); err != nil {
				return nil, err
			}
			return func(r unirec.Record, o *Options) (*Object, error) {
				if r.Uint8(wt) != 2 {
					return nil, nil
				}
				pname := ""
				switch r.Uint8(proto) {
				case 1:
					pname = "icmp"
				case 6:
					pname = "tcp"
				case 17:
					pname = "udp"
				default:
					return nil, errf("bruteforce alert with protocol %d (want 1, 6 or 17)", r.Uint8(proto))
				}
				svc := ""
				switch p := r.Uint16(port); p {
				case 22:
					svc = "SSH"
				case 23:
					svc = "TELNET"
				case 2179:
					svc = "VMRDP"
				case 5900:
					svc = "VNC"
				default:
					svc = strings.ToUpper(o.Services.Lookup(p, pname))
				}
				obj := &Object{}
				obj.Set("Format", "IDEA0")
				obj.Set("ID", o.id())
				obj.Set("DetectTime", ideaTime(secs(r.Time(dt))))
				obj.Set("CreateTime", ideaTime(o.now().Unix()))
				obj.Set("Category", []any{"Attempt.Login"})
				desc := "Multiple unsuccessful login attempts"
				protos := []any{pname}
				if svc != "" {
					desc += " on " + svc
					protos = append(protos, strings.ToLower(svc))
				}
				obj.Set("Description", desc)
				obj.Set("FlowCount", r.Uint32(scale))
				s := endpoint(protos, r.IP(src))
				obj.Set("Source", []any{s})
				tg := &Object{}
				tg.Set("Port", []any{r.Uint16(port)})
				tg.Set("Proto", protos)
				obj.Set("Target", []any{tg})
				obj.Set("Node", []any{node("brute_force_detector")})
				return obj, nil
			}, nil
		}}
}

// --- ddos: ddos_detector's UniRec alerts.

func ddosReporter() *Reporter {
	const spec = "ipaddr DST_IP,uint64 BYTES,time TIME_FIRST,time TIME_LAST,uint64 EVENT_ID"
	return &Reporter{Name: "ddos", ModuleName: "ddos", Detector: "ddos_detector", Spec: spec,
		Bind: func(t *unirec.Template) (Converter, error) {
			var dst, by, tf, tl, id unirec.FieldID
			if err := fields(t, spec, &dst, &by, &tf, &tl, &id); err != nil {
				return nil, err
			}
			return func(r unirec.Record, o *Options) (*Object, error) {
				obj := head(o)
				obj.Set("EventTime", ideaTime(secs(r.Time(tf))))
				obj.Set("DetectTime", ideaTime(secs(r.Time(tl))))
				obj.Set("CeaseTime", ideaTime(secs(r.Time(tl))))
				obj.Set("Category", []any{"Availability.DoS"})
				tg := &Object{}
				addAddr(tg, r.IP(dst))
				obj.Set("Target", []any{tg})
				obj.Set("AltNames", []any{strconv.FormatUint(r.Uint64(id), 10)})
				obj.Set("ByteCount", r.Uint64(by))
				obj.Set("Description", "Volume of traffic and number of its sources increased.")
				obj.Set("Node", []any{node("ddos_detector")})
				return obj, nil
			}, nil
		}}
}
