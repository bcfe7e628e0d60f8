package collector

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowgate/flowgate/converters"
	"github.com/flowgate/flowgate/unirec"
)

// The differential fuzz target: the fuzz input is read as a little program
// that builds a stream of v9 and IPFIX messages (templates, options
// templates, withdrawals, redefinitions, data sets with padding and
// truncated records, raw sets) from several exporters, domains and source
// ports. The stream is decoded by decoders with the fast plans (set-wise
// decoding) and with the general plan only (generalOnly), into several
// output templates, with BatchSink and plain Record sinks: every decoder
// must give the same records in the same order, the same errors and the
// same counters as the general plan with a Record sink.

// dfField is an element the generator puts in templates, with its natural
// length (0xFFFF: variable-length in IPFIX).
type dfField struct {
	pen uint32
	id  uint16
	n   uint16
}

// dfCatalog is what data templates are made of: the elements of the
// default table in every kind (addresses, ports, counters, MACs, sysUpTime
// and absolute times of each resolution, durations), sampling and system
// init elements, variable-length ones, enterprise elements (reverse
// counters, signed test elements), padding and elements no output maps.
var dfCatalog = []dfField{
	{0, 8, 4}, {0, 12, 4}, {0, 27, 16}, {0, 28, 16}, {0, 7, 2}, {0, 11, 2}, {0, 32, 2}, {0, 139, 2},
	{0, 4, 1}, {0, 6, 1}, {0, 5, 1}, {0, 1, 8}, {0, 2, 8}, {0, 1, 4}, {0, 2, 4},
	{0, 22, 4}, {0, 21, 4}, {0, 150, 4}, {0, 151, 4}, {0, 152, 8}, {0, 153, 8}, {0, 154, 8}, {0, 155, 8},
	{0, 156, 8}, {0, 157, 8}, {0, 158, 4}, {0, 159, 4}, {0, 161, 4}, {0, 162, 4},
	{0, 56, 6}, {0, 80, 6}, {0, 10, 2}, {0, 14, 4}, {0, 48, 1}, {0, 302, 4}, {0, 34, 4}, {0, 305, 4}, {0, 306, 4},
	{0, 160, 8}, {0, 82, 0xFFFF}, {0, 95, 0xFFFF}, {0, 96, 0xFFFF}, {0, 192, 1}, {0, 186, 2}, {0, 209, 8},
	{0, 136, 1}, {0, 197, 1}, {0, 210, 4}, {0, 3, 8}, {0, 999, 2}, {0, 311, 8},
	{29305, 1, 8}, {29305, 2, 4}, {29305, 6, 1}, {29305, 192, 1}, {16982, 405, 1}, {8057, 1000, 4},
	{dfPEN, 1, 1}, {dfPEN, 2, 2}, {dfPEN, 3, 4}, {dfPEN, 4, 8},
}

// dfOptCatalog is what options templates carry besides their scope.
var dfOptCatalog = []dfField{
	{0, 34, 4}, {0, 305, 4}, {0, 306, 4}, {0, 48, 1}, {0, 48, 2}, {0, 302, 8}, {0, 302, 4},
	{0, 160, 8}, {0, 35, 1}, {0, 49, 1}, {0, 50, 4}, {0, 210, 2}, {0, 999, 4},
}

// dfPEN is the enterprise of the test's signed elements (dfRegistry).
const dfPEN = 4242424

// dfLength maps a length selector to a field length: the natural one,
// reduced (or enlarged) sizes, variable length, zero.
func dfLength(sel byte, natural uint16, ipfix bool) uint16 {
	var n uint16
	switch sel % 16 {
	case 1, 2, 3, 4, 5, 6, 7, 8:
		n = uint16(sel % 16)
	case 9:
		n = 0xFFFF
	case 10:
		n = 16
	case 11:
		n = 0
	default:
		n = natural
	}
	if n == 0xFFFF && !ipfix {
		n = 8 // v9 has no variable-length fields
	}
	return n
}

// dfReader hands out the fuzz input; zeros once it is used up.
type dfReader struct{ b []byte }

func (r *dfReader) u8() byte {
	if len(r.b) == 0 {
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *dfReader) u16() uint16 { return uint16(r.u8())<<8 | uint16(r.u8()) }
func (r *dfReader) u32() uint32 { return uint32(r.u16())<<16 | uint32(r.u16()) }

func (r *dfReader) bytes(n int) []byte {
	out := make([]byte, n)
	copy(out, r.b)
	r.b = r.b[min(n, len(r.b)):]
	return out
}

type dfMsg struct {
	from    netip.AddrPort
	payload []byte
	now     time.Time
	// stream: over TCP (DecodeStream), after ending the previous
	// connection from that address and port when end is set.
	stream, end bool
}

var dfExporters = []netip.AddrPort{
	netip.MustParseAddrPort("192.0.2.1:2055"),
	netip.MustParseAddrPort("192.0.2.1:4739"), // the same exporter from another port
	netip.MustParseAddrPort("[2001:db8::7]:9995"),
	netip.MustParseAddrPort("198.51.100.5:2055"), // over TCP
}

// dfStream is the index of the exporter whose messages come over TCP.
const dfStream = 3

var dfDomains = []uint32{0, 1, 7}

// dfSteps are the times between messages: some expire templates (the
// decoders' lifetime is 10 minutes).
var dfSteps = []time.Duration{0, time.Millisecond, time.Second, 30 * time.Second, time.Minute, 5 * time.Minute, 11 * time.Minute, 0}

// dfT0 is the fixed clock's start.
var dfT0 = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

type dfTmplKey struct {
	ver, exp, dom int
	id            uint16
}

type dfTmpl struct {
	fields  []dfField // lengths as announced
	options bool
}

// dfBuild turns fuzz input into messages. The input is read as:
//
//	message: m uptime(4) nsets, then nsets sets; v9 with nsets>>2 == 15:
//	  a v5 message: count, nsec(4), sampling(2), count records
//	  m: bit 0 IPFIX, bits 1-2 exporter (3: over TCP, a new connection
//	     when the time step is 7), bits 3-4 domain, bits 5-7 time step
//	set: op, then by op%8:
//	  0,1 template id 256+(op>>3)%6: nf, nf x (element, length selector)
//	  2   options template: nf, nf x (element, length selector)
//	  3   withdrawal (IPFIX; v9: a template without fields)
//	  4-6 data set of template 256+(op>>3)%6: nrec, shape, then record bytes
//	      (shape: pad bytes | bytes cut off the end<<2 | 1000 times nrec<<5)
//	  7   raw set: id(2), len, bytes
func dfBuild(data []byte) []dfMsg {
	r := &dfReader{b: data}
	known := map[dfTmplKey]*dfTmpl{}
	seqs := map[[3]int]uint32{}
	now := dfT0
	var msgs []dfMsg
	for len(r.b) > 0 && len(msgs) < 32 {
		m := r.u8()
		ipfix := m&1 == 1
		ver := 9
		if ipfix {
			ver = 10
		}
		ei, di := int(m>>1&3)%len(dfExporters), int(m>>3&3)%len(dfDomains)
		now = now.Add(dfSteps[m>>5])
		uptime := r.u32()
		nb := r.u8()
		nsets := int(nb%4) + 1
		if !ipfix && nb>>2&15 == 15 {
			// NetFlow v5: the fixed record through the same plans (and
			// the late sysUpTime wrap of nfcapd).
			count := int(r.u8() % 12)
			nsec := r.u32() % 1e9
			sampling := r.u16()
			payload := cat(be16(5), be16(uint16(count)), be32(uptime), be32(uint32(now.Unix())), be32(nsec),
				be32(uint32(len(msgs))), []byte{byte(di), byte(ei)}, be16(sampling), r.bytes(count*v5RecordLen))
			msgs = append(msgs, dfMsg{from: dfExporters[ei], payload: payload, now: now, stream: ei == dfStream, end: m>>5 == 7})
			continue
		}
		var sets [][]byte
		records := 0
		for range nsets {
			op := r.u8()
			id := 256 + uint16(op>>3)%6
			key := dfTmplKey{ver, ei, di, id}
			switch op % 8 {
			case 0, 1:
				nf := int(r.u8() % 16)
				t := &dfTmpl{}
				var body []byte
				for range nf {
					f := dfCatalog[int(r.u8())%len(dfCatalog)]
					f.n = dfLength(r.u8(), f.n, ipfix)
					if !ipfix {
						f.pen = 0
					}
					t.fields = append(t.fields, f)
				}
				if ipfix {
					body = ipfixTemplate(id, dfFields(t.fields)...)
					sets = append(sets, mkSet(2, body))
				} else {
					sets = append(sets, mkSet(0, be16(id), be16(uint16(nf)), cat(fieldList(dfFields(t.fields))...)))
				}
				known[key] = t
			case 2:
				nf := int(r.u8()%5) + 1
				t := &dfTmpl{options: true}
				for range nf {
					f := dfOptCatalog[int(r.u8())%len(dfOptCatalog)]
					f.n = dfLength(r.u8(), f.n, false)
					t.fields = append(t.fields, f)
				}
				if ipfix {
					scope := dfField{0, 149, 4}
					sets = append(sets, mkSet(3, ipfixOptionsTemplate(id, 1, dfFields(append([]dfField{scope}, t.fields...))...)))
				} else {
					sets = append(sets, mkSet(1, be16(id), be16(4), be16(uint16(4*nf)), be16(1), be16(4), cat(fieldList(dfFields(t.fields))...)))
				}
				t.fields = append([]dfField{{0, 149, 4}}, t.fields...)
				known[key] = t
			case 3:
				wid := id
				switch (op >> 3) % 8 {
				case 6:
					wid = 2
				case 7:
					wid = 3
				}
				if ipfix {
					setID := uint16(2)
					if op&0x80 != 0 || wid == 3 {
						setID = 3
					}
					if wid == 3 {
						wid = 3
					}
					sets = append(sets, mkSet(setID, be16(wid), be16(0)))
					for k, t := range known {
						if k.ver == ver && k.exp == ei && k.dom == di && (k.id == wid || (wid == 2 && !t.options) || (wid == 3 && t.options)) {
							delete(known, k)
						}
					}
				} else {
					sets = append(sets, mkSet(0, be16(id), be16(0)))
				}
			case 4, 5, 6:
				nrec := int(r.u8() % 10)
				shape := r.u8()
				t := known[key]
				var body []byte
				if shape&0x20 != 0 {
					nrec *= 1000 // a set of more records than a batch holds
				}
				for range nrec {
					body = append(body, dfRecord(r, t, ipfix)...)
					if len(body) > 60000 {
						break
					}
				}
				if cut := int(shape >> 2 & 7); cut > 0 && cut <= len(body) {
					body = body[:len(body)-cut]
				}
				body = append(body, make([]byte, shape&3)...)
				sets = append(sets, mkSet(id, body))
				records += nrec
			case 7:
				sid := r.u16()
				sets = append(sets, mkSet(sid, r.bytes(int(r.u8()%40))))
			}
		}
		sk := [3]int{ver, ei, di}
		seq := seqs[sk]
		secs := uint32(now.Unix())
		var payload []byte
		if ipfix {
			payload = ipfixMsg(secs, seq, dfDomains[di], sets...)
			seqs[sk] = seq + uint32(records)
		} else {
			payload = v9Msg(uint16(len(sets)), uptime, secs, seq, dfDomains[di], sets...)
			seqs[sk] = seq + 1
		}
		msgs = append(msgs, dfMsg{from: dfExporters[ei], payload: payload, now: now, stream: ei == dfStream, end: m>>5 == 7})
	}
	return msgs
}

func dfFields(fs []dfField) []Field {
	out := make([]Field, len(fs))
	for i, f := range fs {
		out[i] = Field{ID: f.id, Length: f.n, PEN: f.pen}
	}
	return out
}

// dfRecord is one data record of t (random bytes of the template's
// length when the generator knows no template).
func dfRecord(r *dfReader, t *dfTmpl, ipfix bool) []byte {
	if t == nil {
		return r.bytes(int(r.u8() % 48))
	}
	var out []byte
	for _, f := range t.fields {
		if f.n == 0xFFFF && ipfix {
			l := r.u8()
			n := int(l % 16)
			if l%16 == 15 {
				n = int(r.u16() % 300)
				out = append(out, 255)
				out = append(out, be16(uint16(n))...)
			} else {
				out = append(out, byte(n))
			}
			out = append(out, r.bytes(n)...)
			continue
		}
		out = append(out, dfValue(r, f)...)
	}
	return out
}

// dfValue is a fixed-length field's value: random bytes, except that
// sampler ids are small (so that they name the samplers options data
// announced) and system init times are zero or recent.
func dfValue(r *dfReader, f dfField) []byte {
	n := int(f.n)
	var v []byte
	switch {
	case f.pen == 0 && (f.id == 48 || f.id == 302):
		v = []byte{r.u8() % 4}
	case f.pen == 0 && f.id == 160:
		if b := r.u8(); b&1 == 1 {
			v = be64(1709290000000 + uint64(b)<<20)
		} else {
			v = []byte{0}
		}
	default:
		return r.bytes(n)
	}
	out := make([]byte, n)
	if len(v) > n {
		v = v[len(v)-n:]
	}
	copy(out[n-len(v):], v)
	return out
}

// dfTable is dfTableText with variable-length and signed targets.
func dfTable(t testing.TB) *converters.Table {
	var b strings.Builder
	b.WriteString(dfTableText)
	b.WriteString(fmt.Sprintf("IF_NAME string e0id82\nAPP_NAME string e0id96\nS8 int8 e%did1\nS16 int16 e%did2\nS32 int32 e%did3\nS64 int64 e%did4\nSAMPLER uint32 e0id48\nDURATION uint64 e0id161\n", dfPEN, dfPEN, dfPEN, dfPEN))
	tab, err := converters.ParseTable(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

// dfTableText maps what the outputs with variable-length and signed
// fields need: the basic flow fields as the default table maps them (the
// times from every kind of element), the collector's own fields, and the
// test's extras.
const dfTableText = `
TIME_FIRST time e0id150,e0id152,e0id154,e0id156,e0id22,e0id158
TIME_LAST time e0id151,e0id153,e0id155,e0id157,e0id21,e0id159
SRC_IP ipaddr e0id8,e0id27
DST_IP ipaddr e0id12,e0id28
PACKETS uint32 e0id2
BYTES uint64 e0id1
DIR_BIT_FIELD uint8 _internal_dbf_
SRC_PORT uint16 e0id7
DST_PORT uint16 e0id11,e0id32,e0id139
LINK_BIT_FIELD uint64 _internal_lbf_
PROTOCOL uint8 e0id4
ODID uint32 _internal_odid_
TCP_FLAGS uint8 e0id6
EXPORTER_IP ipaddr _internal_exporter_ip_
APP_ID bytes e0id95
`

// dfOutput is one output template of the comparison and its table.
type dfOutput struct {
	spec   string
	custom bool // dfTable, else the default table
}

var dfOutputs = []dfOutput{
	{converters.BiflowTemplate + ",uint32 ODID,ipaddr EXPORTER_IP,macaddr SRC_MAC,macaddr DST_MAC,uint8 DIR_BIT_FIELD,uint8 TTL,uint8 TOS,uint8 FLOW_END_REASON,uint16 L4_TCP_WIN", false},
	{converters.BasicFlowTemplate + ",string IF_NAME,bytes APP_ID,string APP_NAME,int32 S32,uint32 ODID", true},
	{"uint16 SRC_PORT,time TIME_FIRST", false},
	{"int8 S8,int16 S16,int32 S32,int64 S64,uint8 PACKETS,uint16 BYTES,uint32 SRC_PORT,uint64 DST_PORT,time TIME_FIRST,time TIME_LAST,uint32 ODID,ipaddr SRC_IP,ipaddr EXPORTER_IP,uint32 SAMPLER,uint64 DURATION,uint8 DIR_BIT_FIELD", true},
}

// dfConfigs are the decoder settings every mode is compared in:
// sampling off and on, an interval configured for some exporters, one
// that overrides theirs, and a table of two exporters (refusals and
// evictions).
var dfConfigs = []Config{
	{},
	{ApplySampling: true},
	{ApplySampling: true, MaxExporters: 2, Sampling: Sampling{Exporters: map[netip.Prefix]uint64{netip.MustParsePrefix("2001:db8::/32"): 7}}},
	{ApplySampling: true, Sampling: Sampling{Default: 3, Override: true}},
}

// dfRegistry is the IANA registry with the signed test elements.
func dfRegistry() *Registry {
	r := NewRegistry()
	for i, typ := range []DataType{TypeSigned8, TypeSigned16, TypeSigned32, TypeSigned64} {
		r.Add(InfoElement{PEN: dfPEN, ID: uint16(i + 1), Name: fmt.Sprintf("testSigned%d", i), Type: typ})
	}
	return r
}

// dfSink keeps every record (length-prefixed) and its exporter, whether
// records come one by one or in batches.
type dfSink struct {
	data  []byte
	exps  []Exporter
	calls int
}

func (s *dfSink) Record(e Exporter, r unirec.Record) {
	s.data = binary.BigEndian.AppendUint32(s.data, uint32(len(r.Data)))
	s.data = append(s.data, r.Data...)
	s.exps = append(s.exps, e)
}

type dfBatchSink struct{ *dfSink }

func (s dfBatchSink) Records(e Exporter, data []byte, size int) {
	if size <= 0 || len(data)%size != 0 {
		panic(fmt.Sprintf("Records: %d bytes in records of %d", len(data), size))
	}
	s.calls++
	for len(data) > 0 {
		s.Record(e, unirec.Record{Data: data[:size]})
		data = data[size:]
	}
}

// dfResult is everything a decoder produced.
type dfResult struct {
	sink   *dfSink
	errs   []string
	total  CountersSnapshot
	series map[ExporterKey]CountersSnapshot
	perExp map[netip.Addr]CountersSnapshot
	d      *Decoder
}

func dfRun(t testing.TB, cfg Config, general, batch, flush bool, msgs []dfMsg) dfResult {
	t.Helper()
	s := &dfSink{}
	var sink Sink = s
	if batch {
		sink = dfBatchSink{s}
	}
	cfg.TemplateLifetime, cfg.Now = 10*time.Minute, func() time.Time { return dfT0 }
	d, err := NewDecoder(cfg, sink)
	if err != nil {
		t.Fatal(err)
	}
	d.generalOnly = general
	if batch && d.batchSink == nil {
		t.Fatalf("%s: no batch sink", cfg.Output)
	}
	res := dfResult{sink: s, series: map[ExporterKey]CountersSnapshot{}, perExp: map[netip.Addr]CountersSnapshot{}, d: d}
	for _, m := range msgs {
		if flush {
			// What the decoder remembers of the previous messages to
			// save map lookups (the last exporter and session, each
			// session's recent templates) is forgotten.
			d.lastStats, d.lastSess = nil, nil
			for _, s := range d.sessions {
				clear(s.recent[:])
			}
		}
		var err error
		switch {
		case m.stream:
			if m.end {
				d.EndStream(m.from)
			}
			err = d.DecodeStream(m.from, m.payload)
		default:
			err = d.DecodeAt(m.from, m.payload, m.now)
		}
		e := ""
		if err != nil {
			e = err.Error()
		}
		res.errs = append(res.errs, e)
	}
	res.total = d.Totals().Snapshot()
	d.ExporterSeries(func(k ExporterKey, c *Counters) { res.series[k] = c.Snapshot() })
	d.Exporters(func(a netip.Addr, c *Counters) { res.perExp[a] = c.Snapshot() })
	return res
}

// dfCompare decodes msgs in every mode and fails on any difference from
// the general plan with a Record sink (and the general plan without the
// decoder's caches must agree with it too). It returns the fast decoders (with
// a Record sink) for coverage checks.
func dfCompare(t testing.TB, msgs []dfMsg) []*Decoder {
	t.Helper()
	tab, reg := dfTable(t), dfRegistry()
	var fast []*Decoder
	for _, o := range dfOutputs {
		out, err := unirec.ParseTemplate(o.spec)
		if err != nil {
			t.Fatal(err)
		}
		tb := converters.DefaultTable()
		if o.custom {
			tb = tab
		}
		fixed := out.StaticSize() > 0 && out.StaticSize() == out.FixedSize()
		for ci, cfg := range dfConfigs {
			cfg.Output, cfg.Table, cfg.Registry = out, tb, reg
			want := dfRun(t, cfg, true, false, false, msgs)
			type mode struct{ general, batch, flush bool }
			modes := []mode{{false, false, false}, {true, false, true}}
			if fixed {
				modes = append(modes, mode{false, true, false}, mode{true, true, false})
			}
			for _, md := range modes {
				got := dfRun(t, cfg, md.general, md.batch, md.flush, msgs)
				if !md.general && !md.batch {
					fast = append(fast, got.d)
				}
				name := fmt.Sprintf("output %q, config %d, general %v, batch %v, caches flushed %v", o.spec, ci, md.general, md.batch, md.flush)
				if !bytes.Equal(got.sink.data, want.sink.data) {
					t.Errorf("%s: records differ from the general plan's: %s", name, dfFirstDiff(got.sink.data, want.sink.data))
				}
				if !reflect.DeepEqual(got.sink.exps, want.sink.exps) {
					t.Errorf("%s: exporters of the records differ", name)
				}
				if !reflect.DeepEqual(got.errs, want.errs) {
					t.Errorf("%s: errors differ:\n got %q\nwant %q", name, got.errs, want.errs)
				}
				if got.total != want.total {
					t.Errorf("%s: totals differ:\n got %+v\nwant %+v", name, got.total, want.total)
				}
				if !reflect.DeepEqual(got.series, want.series) || !reflect.DeepEqual(got.perExp, want.perExp) {
					t.Errorf("%s: exporter counters differ:\n got %+v %+v\nwant %+v %+v", name, got.series, got.perExp, want.series, want.perExp)
				}
			}
		}
	}
	return fast
}

// dfSeed writes fuzz inputs in dfBuild's format.
type dfSeed struct{ b []byte }

func dfCat(pen uint32, id, n uint16) byte {
	for i, f := range dfCatalog {
		if f.pen == pen && f.id == id && (f.n == n || n == 0) {
			return byte(i)
		}
	}
	panic(fmt.Sprintf("no catalog entry e%did%d/%d", pen, id, n))
}

func dfOptCat(id, n uint16) byte {
	for i, f := range dfOptCatalog {
		if f.id == id && f.n == n {
			return byte(i)
		}
	}
	panic(fmt.Sprintf("no options catalog entry %d/%d", id, n))
}

// msg starts a message: IPFIX or v9, exporter, domain, step (indexes).
func (s *dfSeed) msg(ipfix bool, exp, dom, step int, uptime uint32, nsets int) {
	m := byte(exp<<1 | dom<<3 | step<<5)
	if ipfix {
		m |= 1
	}
	s.b = append(s.b, m)
	s.b = binary.BigEndian.AppendUint32(s.b, uptime)
	s.b = append(s.b, byte(nsets-1))
}

// tmpl announces template 256+idx: pairs of catalog index and length selector.
func (s *dfSeed) tmpl(idx int, fields ...byte) {
	s.b = append(s.b, byte(idx<<3), byte(len(fields)/2))
	s.b = append(s.b, fields...)
}

func (s *dfSeed) opts(idx int, fields ...byte) {
	s.b = append(s.b, byte(idx<<3|2), byte(len(fields)/2-1))
	s.b = append(s.b, fields...)
}

func (s *dfSeed) withdraw(idx int) { s.b = append(s.b, byte(idx<<3|3)) }

// data starts a data set of n records; shape: pad | cut<<2.
func (s *dfSeed) data(idx, n int, shape byte, recs ...[]byte) {
	s.b = append(s.b, byte(idx<<3|4), byte(n), shape)
	s.b = append(s.b, cat(recs...)...)
}

func (s *dfSeed) raw(id uint16, body []byte) {
	s.b = append(s.b, 7)
	s.b = binary.BigEndian.AppendUint16(s.b, id)
	s.b = append(s.b, byte(len(body)))
	s.b = append(s.b, body...)
}

const nat = 0 // the natural length selector

// dfSeeds are structured cases covering each feature, and random inputs.
func dfSeeds() map[string][]byte {
	seeds := map[string][]byte{}
	flowRec := func(i byte, first, last uint32) []byte {
		return cat([]byte{10, 0, 0, i}, []byte{10, 1, 0, i}, be16(1000+uint16(i)), be16(443), []byte{6},
			be64(uint64(1500)*uint64(i+1)), be64(uint64(i)+3), be32(first), be32(last))
	}
	basic := []byte{
		dfCat(0, 8, 4), nat, dfCat(0, 12, 4), nat, dfCat(0, 7, 2), nat, dfCat(0, 11, 2), nat, dfCat(0, 4, 1), nat,
		dfCat(0, 1, 8), nat, dfCat(0, 2, 8), nat, dfCat(0, 22, 4), nat, dfCat(0, 21, 4), nat,
	}
	// v9 with sysUpTime near the 2^32 wrap, FIRST/LAST on both sides.
	var s dfSeed
	s.msg(false, 0, 0, 1, 1<<32-2000, 2)
	s.tmpl(0, basic...)
	s.data(0, 4, 0, flowRec(1, 1<<32-5000, 1<<32-2500), flowRec(2, 1<<32-1000, 500), flowRec(3, 100, 200), flowRec(4, 1<<32-100, 1<<32-50))
	s.msg(false, 0, 0, 1, 3000, 1)
	// The last one ends long after the export (v9 does not take that for
	// a wrap; v5 does, as nfcapd).
	s.data(0, 4, 2|3<<2, flowRec(5, 1<<32-1000, 2500), flowRec(6, 1000, 2000), flowRec(8, 1000, 500000), flowRec(7, 1<<32-10, 5))
	seeds["v9-uptime-wrap"] = s.b

	// IPFIX: absolute times of every resolution, reduced-size counters,
	// IPv6, MACs, reverse and signed enterprise fields, padding, unmapped.
	s = dfSeed{}
	s.msg(true, 2, 1, 2, 0, 4)
	s.tmpl(1, dfCat(0, 27, 16), nat, dfCat(0, 28, 16), nat, dfCat(0, 7, 2), nat, dfCat(0, 1, 4), nat, dfCat(0, 2, 4), 2,
		dfCat(0, 152, 8), nat, dfCat(0, 153, 8), nat, dfCat(0, 56, 6), nat, dfCat(0, 210, 4), 3, dfCat(0, 999, 2), nat,
		dfCat(29305, 1, 8), nat, dfCat(dfPEN, 1, 1), nat, dfCat(dfPEN, 3, 4), 2, dfCat(dfPEN, 4, 8), 3)
	s.tmpl(2, dfCat(0, 8, 4), nat, dfCat(0, 150, 4), nat, dfCat(0, 151, 4), nat, dfCat(0, 154, 8), nat, dfCat(0, 155, 8), nat,
		dfCat(0, 156, 8), nat, dfCat(0, 157, 8), nat, dfCat(0, 10, 2), nat, dfCat(0, 14, 4), nat, dfCat(0, 1, 8), 3, dfCat(0, 11, 2), 1)
	rnd := rand.New(rand.NewPCG(1, 2))
	rb := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rnd.Uint32())
		}
		return b
	}
	s.data(1, 5, 1|2<<2, rb(5*(16+16+2+4+2+8+8+6+3+2+8+1+2+3)))
	s.data(2, 6, 3, rb(6*(4+4+4+8+8+8+8+2+4+3+1)))
	s.msg(true, 2, 1, 1, 0, 1)
	s.data(2, 9, 0, rb(9*(4+4+4+8+8+8+8+2+4+3+1)))
	seeds["ipfix-times-sizes"] = s.b

	// Options carrying sampling (session-wide and per sampler) and the
	// system init time, then data whose records name their sampler, and
	// uptimes relative to the init time.
	s = dfSeed{}
	s.msg(true, 0, 2, 1, 0, 4)
	s.opts(5, dfOptCat(48, 1), nat, dfOptCat(305, 4), nat, dfOptCat(306, 4), nat)
	s.opts(4, dfOptCat(34, 4), nat, dfOptCat(160, 8), nat)
	s.tmpl(0, dfCat(0, 8, 4), nat, dfCat(0, 48, 1), nat, dfCat(0, 2, 4), nat, dfCat(0, 1, 4), nat, dfCat(0, 22, 4), nat, dfCat(0, 21, 4), nat)
	s.tmpl(1, dfCat(0, 8, 4), nat, dfCat(0, 1, 8), nat, dfCat(0, 160, 8), nat, dfCat(0, 22, 4), nat, dfCat(0, 21, 4), nat)
	s.msg(true, 0, 2, 1, 0, 4)
	s.data(5, 3, 0, cat(be32(0), []byte{3}, be32(9), be32(1)), cat(be32(0), []byte{1}, be32(1), be32(99)), cat(be32(0), []byte{2}, be32(0), be32(0)))
	s.data(4, 1, 0, cat(be32(0), be32(10), []byte{1}))
	// Sampler 3 (1 in 10), 1 (1 in 100), 2 (interval 0: the session's), 0 (unknown).
	s.data(0, 5, 0, cat([]byte{1, 2, 3, 4, 3}, be32(0xFFFFFFF0), be32(7), be32(1000), be32(2000)),
		cat([]byte{1, 2, 3, 5, 3}, be32(1), be32(2), be32(5), be32(9)),
		cat([]byte{1, 2, 3, 6, 1}, be32(1), be32(2), be32(5), be32(9)),
		cat([]byte{1, 2, 3, 7, 2}, be32(1<<31), be32(3), be32(5), be32(9)),
		cat([]byte{1, 2, 3, 8, 0}, be32(5), be32(6), be32(7), be32(8)))
	s.data(1, 2, 0, cat([]byte{1, 1, 1, 1}, be64(77), []byte{1}, be32(10), be32(20)),
		cat([]byte{1, 1, 1, 2}, be64(78), []byte{0}, be32(10), be32(20)))
	// v9: selectorId, sampling interval 34, system init time.
	s.msg(false, 1, 2, 1, 5000, 3)
	s.opts(3, dfOptCat(302, 4), nat, dfOptCat(34, 4), nat, dfOptCat(160, 8), nat)
	s.tmpl(2, dfCat(0, 12, 4), nat, dfCat(0, 302, 4), nat, dfCat(0, 2, 8), nat, dfCat(0, 1, 8), 4, dfCat(0, 21, 4), nat)
	s.data(3, 2, 0, cat(be32(1), []byte{2}, be32(50), []byte{0}), cat(be32(1), []byte{3}, be32(0), []byte{1}))
	s.msg(false, 1, 2, 1, 5000, 1)
	s.data(2, 4, 2, cat(be32(9), []byte{2}, be64(3), be32(4), be32(10)), cat(be32(9), []byte{3}, be64(3), be32(4), be32(11)),
		cat(be32(9), []byte{1}, be64(3), be32(4), be32(12)), cat(be32(9), []byte{2}, be64(1<<40), be32(1<<31), be32(13)))
	seeds["sampling-sysinit"] = s.b

	// Withdrawals and redefinitions of one id with another layout,
	// interleaved exporters, domains and ports; a missing template;
	// template expiry; variable-length fields; raw and reserved sets.
	s = dfSeed{}
	s.msg(true, 0, 0, 1, 0, 2)
	s.tmpl(0, basic...)
	s.data(0, 2, 0, flowRec(1, 10, 20), flowRec(2, 30, 40))
	s.msg(true, 1, 0, 1, 0, 3)
	s.tmpl(0, dfCat(0, 8, 4), nat, dfCat(0, 82, 0xFFFF), nat, dfCat(0, 96, 0xFFFF), nat, dfCat(0, 95, 0xFFFF), nat, dfCat(0, 7, 2), nat)
	s.data(0, 3, 1, cat([]byte{10, 9, 9, 9}, []byte{3}, []byte("eth"), []byte{15}, be16(260), rb(260), []byte{0}, []byte{2, 1, 2}, be16(80)))
	s.withdraw(0)
	s.msg(true, 2, 1, 2, 0, 2)
	s.data(0, 1, 0, flowRec(3, 1, 2))
	s.tmpl(0, dfCat(0, 8, 4), nat, dfCat(0, 1, 4), nat)
	s.msg(false, 0, 0, 1, 100000, 2)
	s.tmpl(0, dfCat(0, 12, 4), nat, dfCat(0, 2, 4), nat, dfCat(0, 6, 1), nat)
	s.data(0, 3, 1, rb(27))
	s.msg(true, 0, 0, 6, 0, 2) // 11 minutes later: expired
	s.data(0, 2, 0, flowRec(4, 1, 2), flowRec(5, 1, 2))
	s.raw(1, rb(8))
	s.msg(true, 2, 1, 1, 0, 2)
	s.withdraw(6)
	s.raw(300, rb(20))
	// Over TCP: templates never expire, and end with the connection.
	s.msg(true, dfStream, 0, 1, 0, 2)
	s.tmpl(1, basic...)
	s.data(1, 2, 0, flowRec(8, 1, 2), flowRec(9, 1, 2))
	s.msg(true, dfStream, 0, 6, 0, 1)
	s.data(1, 1, 0, flowRec(10, 1, 2))
	s.msg(true, dfStream, 0, 7, 0, 1)
	s.data(1, 1, 0, flowRec(11, 1, 2))
	seeds["withdraw-redefine-interleave"] = s.b

	// Zero-length and oversized fields, a template of padding only.
	s = dfSeed{}
	s.msg(true, 0, 0, 1, 0, 2)
	s.tmpl(3, dfCat(0, 210, 4), 11, dfCat(0, 8, 4), 10, dfCat(0, 22, 4), 8, dfCat(0, 7, 2), 1)
	s.data(3, 3, 0, rb(3*(0+16+8+1)))
	s.msg(true, 0, 0, 1, 0, 2)
	s.tmpl(4, dfCat(0, 210, 4), 11)
	s.data(4, 2, 1, nil)
	s.msg(false, 0, 0, 1, 0, 2)
	s.tmpl(4, dfCat(0, 7, 2), 11, dfCat(0, 8, 4), 3)
	s.data(4, 2, 1, rb(6))
	seeds["odd-lengths"] = s.b

	// A data set larger than a batch (in pieces) and NetFlow v5 messages
	// around the sysUpTime wrap.
	s = dfSeed{}
	s.msg(true, 0, 0, 1, 0, 2)
	s.tmpl(5, dfCat(0, 7, 2), nat, dfCat(0, 4, 1), nat)
	s.data(5, 9, 0x20, rb(3*9000))
	for i, up := range []uint32{1<<32 - 3000, 5000} {
		s.b = append(s.b, byte(0<<1|1<<3|1<<5))
		s.b = binary.BigEndian.AppendUint32(s.b, up)
		s.b = append(s.b, 15<<2, 3)
		s.b = binary.BigEndian.AppendUint32(s.b, 123456789)
		s.b = binary.BigEndian.AppendUint16(s.b, 0x4000|uint16(10*i))
		for j := range 3 {
			rec := rb(v5RecordLen)
			binary.BigEndian.PutUint32(rec[24:], up-uint32(1000*(j+1)))
			binary.BigEndian.PutUint32(rec[28:], up+uint32(200000*j))
			s.b = append(s.b, rec...)
		}
	}
	seeds["big-set-v5"] = s.b

	for i := range 8 {
		seeds[fmt.Sprintf("random-%d", i)] = rb(64 + 96*i)
	}
	return seeds
}

func FuzzFastEqualsGeneral(f *testing.F) {
	seeds := dfSeeds()
	for _, name := range slices.Sorted(maps.Keys(seeds)) {
		f.Add(seeds[name])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		msgs := dfBuild(data)
		if len(msgs) == 0 {
			return
		}
		dfCompare(t, msgs)
	})
}

// TestDiffFuzzSeedsReachSetWise runs the structured seeds (the fuzz
// target runs them too): each gives records, and together they reach
// set-wise plans, set-wise plans that pick each record's sampling interval
// and ones that decode FIRST and LAST sysUpTimes as a pair.
func TestDiffFuzzSeedsReachSetWise(t *testing.T) {
	var setWise, perRecordSampling, upPair int
	for name, b := range dfSeeds() {
		if strings.HasPrefix(name, "random") {
			continue
		}
		var records uint64
		for _, d := range dfCompare(t, dfBuild(b)) {
			records += d.Totals().Records.Load()
			for _, s := range d.sessions {
				for _, e := range s.templates {
					if e.plan == nil || !e.plan.setWise() {
						continue
					}
					setWise++
					if len(e.plan.fast.pre) > 0 {
						perRecordSampling++
					}
					if e.plan.fast.upPair != nil {
						upPair++
					}
				}
			}
		}
		if records == 0 {
			t.Errorf("%s: no records", name)
		}
	}
	if setWise == 0 || perRecordSampling == 0 || upPair == 0 {
		t.Errorf("set-wise plans: %d, with per-record sampling: %d, with a FIRST/LAST pair: %d", setWise, perRecordSampling, upPair)
	}
}

// dfFirstDiff describes the first record that differs in two dfSink
// streams (length-prefixed records).
func dfFirstDiff(got, want []byte) string {
	for i := 0; ; i++ {
		g, gr := dfNext(got)
		w, wr := dfNext(want)
		if g == nil || w == nil {
			return fmt.Sprintf("record %d: got %x, want %x (one stream ended)", i, g, w)
		}
		if !bytes.Equal(g, w) {
			return fmt.Sprintf("record %d:\n got %x\nwant %x", i, g, w)
		}
		got, want = gr, wr
	}
}

func dfNext(b []byte) (rec, rest []byte) {
	if len(b) < 4 {
		return nil, nil
	}
	n := int(binary.BigEndian.Uint32(b))
	return b[4 : 4+n], b[4+n:]
}
