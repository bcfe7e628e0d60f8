package collector

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowgate/flowgate/converters"
	"github.com/flowgate/flowgate/unirec"
)

func TestTimeEncodingsBecomeAbsoluteUniRecTime(t *testing.T) {
	const exportSecs = 1700000100
	const wantMs = 1700000000250 // 2023-11-14 22:13:20.250
	ntp := func(frac uint32) []byte { return cat(be32(1700000000+ntpEpochOffset), be32(frac)) }
	tests := []struct {
		name   string
		fields []Field
		data   []byte
		want   unirec.Time
	}{
		{"flowStartSeconds(150)", []Field{{ID: 150, Length: 4}}, be32(1700000000), unirec.TimeFromSecNsec(1700000000, 0)},
		{"flowStartMilliseconds(152)", []Field{{ID: 152, Length: 8}}, be64(wantMs), unirec.TimeFromUnixMilli(wantMs)},
		{"flowStartMicroseconds(154) ignores low 11 fraction bits", []Field{{ID: 154, Length: 8}}, ntp(1<<30 | 0x7FF), unirec.Time(uint64(1700000000)<<32 | 1<<30)},
		{"flowStartNanoseconds(156)", []Field{{ID: 156, Length: 8}}, ntp(1<<30 | 0x7FF), unirec.Time(uint64(1700000000)<<32 | 1<<30 | 0x7FF)},
		{"flowStartSysUpTime(22) with systemInitTimeMilliseconds(160) in the record",
			[]Field{{ID: 22, Length: 4}, {ID: 160, Length: 8}}, cat(be32(250), be64(1700000000000)), unirec.TimeFromUnixMilli(wantMs)},
		{"flowStartDeltaMicroseconds(158) before export time", []Field{{ID: 158, Length: 4}}, be32(99_750_000), unirec.TimeFromUnixMilli(wantMs)},
		{"reduced-size milliseconds", []Field{{ID: 152, Length: 6}}, be64(wantMs)[2:], unirec.TimeFromUnixMilli(wantMs)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, s := newTestDecoder(t, Config{})
			msg := ipfixMsg(exportSecs, 0, 1,
				mkSet(2, ipfixTemplate(300, tc.fields...)),
				mkSet(300, tc.data))
			if err := d.Decode(exporterA, msg); err != nil {
				t.Fatal(err)
			}
			if len(s.recs) != 1 {
				t.Fatalf("%d records, want 1", len(s.recs))
			}
			r := s.recs[0]
			if got := r.Time(field(r, "TIME_FIRST")); got != tc.want {
				t.Errorf("TIME_FIRST %v (%#x), want %v (%#x)", got, uint64(got), tc.want, uint64(tc.want))
			}
		})
	}
}

func TestFlowDurationGivesTimeLast(t *testing.T) {
	tests := []struct {
		name  string
		field Field
		data  []byte
	}{
		{"flowDurationMilliseconds(161)", Field{ID: 161, Length: 4}, be32(1500)},
		{"flowDurationMicroseconds(162)", Field{ID: 162, Length: 4}, be32(1_500_000)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, s := newTestDecoder(t, Config{})
			msg := ipfixMsg(1, 0, 1, mkSet(2, ipfixTemplate(300, tc.field, Field{ID: 150, Length: 4})), mkSet(300, tc.data, be32(1700000000)))
			if err := d.Decode(exporterA, msg); err != nil {
				t.Fatal(err)
			}
			r := s.recs[0]
			if got, want := r.Time(field(r, "TIME_LAST")), unirec.TimeFromUnixMilli(1700000001500); got != want {
				t.Errorf("TIME_LAST %v, want %v", got, want)
			}
		})
	}
}

func TestSystemInitTimeFromOptionsAppliesToSysUpTimeFields(t *testing.T) {
	d, s := newTestDecoder(t, Config{})
	msg := ipfixMsg(1700000100, 0, 1,
		mkSet(3, ipfixOptionsTemplate(400, 1, Field{ID: 149, Length: 4}, Field{ID: 160, Length: 8})),
		mkSet(400, be32(1), be64(1700000000000)),
		mkSet(2, ipfixTemplate(300, Field{ID: 22, Length: 4}, Field{ID: 21, Length: 4})),
		mkSet(300, be32(250), be32(1250)))
	if err := d.Decode(exporterA, msg); err != nil {
		t.Fatal(err)
	}
	r := s.recs[0]
	if got, want := r.Time(field(r, "TIME_LAST")), unirec.TimeFromUnixMilli(1700000001250); got != want {
		t.Errorf("TIME_LAST %v, want %v", got, want)
	}
}

func TestVariableLengthAndEnterpriseElements(t *testing.T) {
	tbl, err := converters.ParseTable(strings.NewReader("APP_NAME string e0id96\nAPP_ID bytes e0id95\nSRC_MAC macaddr e0id56\nPACKETS uint32 e0id2\n"))
	if err != nil {
		t.Fatal(err)
	}
	d, s := newTestDecoder(t, Config{Table: tbl})
	long := strings.Repeat("x", 300)
	tmpl := ipfixTemplate(300,
		Field{ID: 96, Length: VariableLength},
		Field{PEN: 9999, ID: 7, Length: 4}, // unknown enterprise element: skipped
		Field{ID: 95, Length: VariableLength},
		Field{ID: 56, Length: 6},
		Field{ID: 2, Length: 4})
	rec1 := cat([]byte{5}, []byte("hello"), be32(0xdeadbeef), []byte{2, 0xAB, 0xCD}, []byte{1, 2, 3, 4, 5, 6}, be32(7))
	rec2 := cat([]byte{255}, be16(300), []byte(long), be32(0), []byte{0}, make([]byte, 6), be32(8))
	msg := ipfixMsg(1, 0, 1, mkSet(2, tmpl), mkSet(300, rec1, rec2, []byte{0, 0})) // 2 bytes of padding
	if err := d.Decode(exporterA, msg); err != nil {
		t.Fatal(err)
	}
	if len(s.recs) != 2 {
		t.Fatalf("%d records, want 2", len(s.recs))
	}
	r := s.recs[0]
	if got := string(r.Var(field(r, "APP_NAME"))); got != "hello" {
		t.Errorf("APP_NAME %q", got)
	}
	if got := r.Var(field(r, "APP_ID")); string(got) != "\xab\xcd" {
		t.Errorf("APP_ID %x", got)
	}
	if got := r.MAC(field(r, "SRC_MAC")); got != (unirec.MAC{1, 2, 3, 4, 5, 6}) {
		t.Errorf("SRC_MAC %v", got)
	}
	if got := r.Uint32(field(r, "PACKETS")); got != 7 {
		t.Errorf("PACKETS %d, want 7", got)
	}
	r = s.recs[1]
	if got := string(r.Var(field(r, "APP_NAME"))); got != long {
		t.Errorf("long APP_NAME has %d bytes, want 300", len(got))
	}
	if got := r.Uint32(field(r, "PACKETS")); got != 8 {
		t.Errorf("PACKETS %d, want 8", got)
	}
}

// Fixed-length strings into variable-length UniRec fields: a fixed
// template whose records still need one at a time (their variable part).
func TestFixedLengthStringsIntoVariableFields(t *testing.T) {
	tbl, err := converters.ParseTable(strings.NewReader("APP_NAME string e0id96\nPACKETS uint32 e0id2\n"))
	if err != nil {
		t.Fatal(err)
	}
	d, s := newTestDecoder(t, Config{Table: tbl})
	msg := ipfixMsg(1, 0, 1, mkSet(2, ipfixTemplate(300, Field{ID: 96, Length: 5}, Field{ID: 2, Length: 4})),
		mkSet(300, cat([]byte("hello"), be32(7)), cat([]byte("world"), be32(8))))
	if err := d.Decode(exporterA, msg); err != nil {
		t.Fatal(err)
	}
	if len(s.recs) != 2 {
		t.Fatalf("%d records, want 2", len(s.recs))
	}
	for i, want := range []string{"hello", "world"} {
		r := s.recs[i]
		if got := string(r.Var(field(r, "APP_NAME"))); got != want || r.Uint32(field(r, "PACKETS")) != uint32(7+i) {
			t.Errorf("record %d: APP_NAME %q, PACKETS %d; want %q, %d", i, got, r.Uint32(field(r, "PACKETS")), want, 7+i)
		}
	}
}

func TestBiflowReverseElementsFillRevFields(t *testing.T) {
	d, s := newTestDecoder(t, Config{})
	tmpl := ipfixTemplate(300,
		Field{ID: 1, Length: 8}, Field{ID: 2, Length: 4}, Field{ID: 6, Length: 1},
		Field{PEN: PENReverse, ID: 1, Length: 8}, Field{PEN: PENReverse, ID: 2, Length: 4}, Field{PEN: PENReverse, ID: 6, Length: 1})
	msg := ipfixMsg(1, 0, 1, mkSet(2, tmpl), mkSet(300, be64(1000), be32(10), []byte{0x12}, be64(2000), be32(20), []byte{0x18}))
	if err := d.Decode(exporterA, msg); err != nil {
		t.Fatal(err)
	}
	r := s.recs[0]
	for name, want := range map[string]uint64{"BYTES": 1000, "BYTES_REV": 2000} {
		if got := r.Uint64(field(r, name)); got != want {
			t.Errorf("%s %d, want %d", name, got, want)
		}
	}
	for name, want := range map[string]uint32{"PACKETS": 10, "PACKETS_REV": 20} {
		if got := r.Uint32(field(r, name)); got != want {
			t.Errorf("%s %d, want %d", name, got, want)
		}
	}
	if r.Uint8(field(r, "TCP_FLAGS")) != 0x12 || r.Uint8(field(r, "TCP_FLAGS_REV")) != 0x18 {
		t.Errorf("TCP flags %#x / %#x", r.Uint8(field(r, "TCP_FLAGS")), r.Uint8(field(r, "TCP_FLAGS_REV")))
	}
}

// fakeClock is a settable Config.Now.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestTemplateLifecycle(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1700000000, 0)}
	d, s := newTestDecoder(t, Config{Now: clock.now, TemplateLifetime: time.Minute})
	tmpl := mkSet(2, ipfixTemplate(300, Field{ID: 2, Length: 4}))
	data := mkSet(300, be32(1))
	step := func(name string, msg []byte, wantRecs int, check func(c CountersSnapshot) bool) {
		t.Helper()
		before := len(s.recs)
		if err := d.Decode(exporterA, msg); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		c := d.Totals().Snapshot()
		if got := len(s.recs) - before; got != wantRecs || !check(c) {
			t.Errorf("%s: %d records (want %d), counters %+v", name, got, wantRecs, c)
		}
	}
	step("data before its template is counted, not decoded", ipfixMsg(1, 0, 1, data), 0,
		func(c CountersSnapshot) bool { return c.MissingTemplate == 1 })
	step("template then data", ipfixMsg(1, 0, 1, tmpl, data), 1,
		func(c CountersSnapshot) bool { return c.TemplatesAdded == 1 })
	step("identical template is a refresh", ipfixMsg(1, 1, 1, tmpl), 0,
		func(c CountersSnapshot) bool { return c.TemplateRefreshes == 1 && c.TemplatesAdded == 1 })
	step("other domain has its own templates", ipfixMsg(1, 0, 2, data), 0,
		func(c CountersSnapshot) bool { return c.MissingTemplate == 2 })
	clock.t = clock.t.Add(2 * time.Minute)
	step("UDP template expires after its lifetime", ipfixMsg(1, 1, 1, data), 0,
		func(c CountersSnapshot) bool { return c.TemplatesExpired == 1 && c.MissingTemplate == 3 })
	step("template is re-learnt", ipfixMsg(1, 1, 1, tmpl, data), 1,
		func(c CountersSnapshot) bool { return c.TemplatesAdded == 2 })
	step("withdrawal removes it", ipfixMsg(1, 2, 1, mkSet(2, be16(300), be16(0)), data), 0,
		func(c CountersSnapshot) bool { return c.TemplatesWithdrawn == 1 && c.MissingTemplate == 4 })
	step("changed template replaces the old layout", ipfixMsg(1, 2, 1,
		mkSet(2, ipfixTemplate(300, Field{ID: 2, Length: 2})), mkSet(300, be16(5), be16(6))), 2,
		func(c CountersSnapshot) bool { return c.TemplatesAdded == 3 })
	step("withdraw-all (id 2)", ipfixMsg(1, 4, 1, mkSet(2, be16(2), be16(0)), data), 0,
		func(c CountersSnapshot) bool { return c.TemplatesWithdrawn == 2 })
	if c := d.Totals().Snapshot(); c.DecodeErrors != 0 {
		t.Errorf("decode errors %d", c.DecodeErrors)
	}
}

func TestTemplatesOverTCPLiveAsLongAsTheConnection(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1700000000, 0)}
	d, s := newTestDecoder(t, Config{Now: clock.now, TemplateLifetime: time.Minute})
	if err := d.DecodeStream(exporterA, ipfixMsg(1, 0, 1, mkSet(2, ipfixTemplate(300, Field{ID: 2, Length: 4})))); err != nil {
		t.Fatal(err)
	}
	clock.t = clock.t.Add(time.Hour)
	if err := d.DecodeStream(exporterA, ipfixMsg(1, 0, 1, mkSet(300, be32(1)))); err != nil {
		t.Fatal(err)
	}
	if len(s.recs) != 1 {
		t.Errorf("%d records after an hour on TCP, want 1", len(s.recs))
	}
	other := netip.AddrPortFrom(exporterA.Addr(), exporterA.Port()+1)
	if err := d.DecodeStream(other, ipfixMsg(1, 0, 1, mkSet(300, be32(1)))); err != nil {
		t.Fatal(err)
	}
	if c := d.Totals().Snapshot(); c.MissingTemplate != 1 {
		t.Errorf("another connection of the same exporter saw the template (missing %d, want 1)", c.MissingTemplate)
	}
	d.EndStream(exporterA)
	if err := d.DecodeStream(exporterA, ipfixMsg(1, 1, 1, mkSet(300, be32(1)))); err != nil {
		t.Fatal(err)
	}
	if c := d.Totals().Snapshot(); c.MissingTemplate != 2 || len(s.recs) != 1 {
		t.Errorf("template survived the end of its connection (missing %d, records %d)", c.MissingTemplate, len(s.recs))
	}
}

func TestSequenceGapsCountLostRecords(t *testing.T) {
	d, _ := newTestDecoder(t, Config{})
	tmpl := mkSet(2, ipfixTemplate(300, Field{ID: 2, Length: 4}))
	two := mkSet(300, be32(1), be32(2))
	msgs := [][]byte{
		ipfixMsg(1, 100, 1, tmpl, two), // next expected 102
		ipfixMsg(1, 102, 1, two),       // in order
		ipfixMsg(1, 109, 1, two),       // 5 records lost
		ipfixMsg(1, 50, 1, two),        // exporter restart: error, no loss
	}
	for _, m := range msgs {
		if err := d.Decode(exporterA, m); err != nil {
			t.Fatal(err)
		}
	}
	c := d.Totals().Snapshot()
	if c.SequenceErrors != 2 || c.SequenceLost != 5 {
		t.Errorf("sequence errors %d (want 2), lost %d (want 5)", c.SequenceErrors, c.SequenceLost)
	}
}

func TestSamplingFromOptionsTemplates(t *testing.T) {
	v9opts := cat(be16(300), be16(4), be16(4), be16(1), be16(4), be16(34), be16(4)) // scope System/4, SAMPLING_INTERVAL/4
	v9tmpl := cat(be16(256), be16(1), be16(2), be16(4))
	tests := []struct {
		name  string
		msg   []byte
		apply bool
		want  uint32
	}{
		{"v9 SAMPLING_INTERVAL(34) scales packets", v9Msg(4, 0, 1, 0, 5,
			mkSet(1, v9opts), mkSet(300, be32(0), be32(100)), mkSet(0, v9tmpl), mkSet(256, be32(3))), true, 300},
		{"sampling not applied unless configured", v9Msg(4, 0, 1, 0, 5,
			mkSet(1, v9opts), mkSet(300, be32(0), be32(100)), mkSet(0, v9tmpl), mkSet(256, be32(3))), false, 3},
		{"IPFIX samplingPacketInterval(305)/Space(306): 1 of 10", ipfixMsg(1, 0, 1,
			mkSet(3, ipfixOptionsTemplate(400, 1, Field{ID: 149, Length: 4}, Field{ID: 305, Length: 4}, Field{ID: 306, Length: 4})),
			mkSet(400, be32(1), be32(1), be32(9)),
			mkSet(2, ipfixTemplate(300, Field{ID: 2, Length: 4})), mkSet(300, be32(3))), true, 30},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, s := newTestDecoder(t, Config{ApplySampling: tc.apply})
			if err := d.Decode(exporterA, tc.msg); err != nil {
				t.Fatal(err)
			}
			r := s.recs[0]
			if got := r.Uint32(field(r, "PACKETS")); got != tc.want {
				t.Errorf("PACKETS %d, want %d", got, tc.want)
			}
			if c := d.Totals().Snapshot(); c.OptionsRecords != 1 {
				t.Errorf("options records %d, want 1", c.OptionsRecords)
			}
		})
	}
}

func TestSamplingPerSamplerID(t *testing.T) {
	// v9 options template: scope System/4; FLOW_SAMPLER_ID(48)/1, SAMPLING_INTERVAL(34)/4.
	opts := cat(be16(300), be16(4), be16(8), be16(1), be16(4), be16(48), be16(1), be16(34), be16(4))
	tmpl := cat(be16(256), be16(2), be16(48), be16(1), be16(2), be16(4))
	msg := v9Msg(6, 0, 1, 0, 5,
		mkSet(1, opts), mkSet(300, be32(0), []byte{2}, be32(10), be32(0), []byte{3}, be32(100), []byte{0, 0}),
		mkSet(0, tmpl), mkSet(256, []byte{2}, be32(1), []byte{3}, be32(1), []byte{9}, be32(1), []byte{0, 0, 0}))
	d, s := newTestDecoder(t, Config{ApplySampling: true})
	if err := d.Decode(exporterA, msg); err != nil {
		t.Fatal(err)
	}
	var got []uint32
	for _, r := range s.recs {
		got = append(got, r.Uint32(field(r, "PACKETS")))
	}
	if want := []uint32{10, 100, 1}; !slices.Equal(got, want) {
		t.Errorf("PACKETS %v, want %v (sampler 2, sampler 3, unknown sampler)", got, want)
	}
}

func TestV5HeaderSampling(t *testing.T) {
	rec := make([]byte, v5RecordLen)
	copy(rec[16:], be32(4)) // dPkts
	msg := cat(be16(5), be16(1), be32(0), be32(1), be32(0), be32(0), []byte{0, 7}, be16(0x4000|50), rec)
	d, s := newTestDecoder(t, Config{ApplySampling: true})
	if err := d.Decode(exporterA, msg); err != nil {
		t.Fatal(err)
	}
	r := s.recs[0]
	if got := r.Uint32(field(r, "PACKETS")); got != 200 {
		t.Errorf("PACKETS %d, want 200 (4 x interval 50)", got)
	}
	if s.exps[0].Domain != 7 || r.Uint32(field(r, "ODID")) != 7 {
		t.Errorf("domain %d / ODID %d, want engine id 7", s.exps[0].Domain, r.Uint32(field(r, "ODID")))
	}
}

func TestBadInputIsAnErrorNotAPanic(t *testing.T) {
	tmpl := mkSet(2, ipfixTemplate(300, Field{ID: 96, Length: VariableLength}))
	tests := []struct {
		name string
		msg  []byte
		want error
	}{
		{"empty", nil, ErrShort},
		{"unknown version", cat(be16(7), make([]byte, 30)), ErrVersion},
		{"short v9 header", cat(be16(9), make([]byte, 10)), ErrShort},
		{"v5 count beyond data", cat(be16(5), be16(3), make([]byte, 20+48)), ErrLength},
		{"ipfix length beyond datagram", cat(be16(10), be16(100), make([]byte, 12)), ErrLength},
		{"ipfix length below header", cat(be16(10), be16(8), make([]byte, 12)), ErrLength},
		{"set length beyond message", ipfixMsg(1, 0, 1, cat(be16(300), be16(64), be32(0))), ErrLength},
		{"set length below 4", ipfixMsg(1, 0, 1, cat(be16(300), be16(2), be32(0))), ErrLength},
		{"template field count beyond set", ipfixMsg(1, 0, 1, mkSet(2, be16(300), be16(5), be16(1), be16(4))), ErrShort},
		{"template id below 256", ipfixMsg(1, 0, 1, mkSet(2, ipfixTemplate(5, Field{ID: 1, Length: 4}))), ErrTemplate},
		{"options scope count above field count", ipfixMsg(1, 0, 1, mkSet(3, be16(300), be16(1), be16(2), be16(1), be16(4))), ErrTemplate},
		{"variable length beyond record", ipfixMsg(1, 0, 1, tmpl, mkSet(300, []byte{200, 'a'})), ErrLength},
		{"reserved set id", ipfixMsg(1, 0, 1, mkSet(7, be32(0))), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, _ := newTestDecoder(t, Config{})
			err := d.Decode(exporterA, tc.msg)
			if err == nil {
				t.Fatal("no error")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("error %q does not wrap %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), exporterA.String()) {
				t.Errorf("error %q does not name the exporter", err)
			}
			if c := d.Totals().Snapshot(); c.DecodeErrors != 1 {
				t.Errorf("decode errors %d, want 1", c.DecodeErrors)
			}
			n := 0
			d.Exporters(func(_ netip.Addr, c *Counters) { n += int(c.DecodeErrors.Load()) })
			if n != 1 {
				t.Errorf("per-exporter decode errors %d, want 1", n)
			}
		})
	}
}

// DecodeAt ages templates and exporters by the time it is given and does
// not read Config.Now.
func TestDecodeAtAgesTemplatesByTheGivenTime(t *testing.T) {
	d, s := newTestDecoder(t, Config{TemplateLifetime: time.Minute, Now: func() time.Time {
		t.Fatal("DecodeAt read Config.Now")
		return time.Time{}
	}})
	t0 := time.Unix(1700000000, 0)
	data := ipfixMsg(1, 0, 1, mkSet(300, be32(1)))
	for i, step := range []struct {
		msg      []byte
		at       time.Duration
		wantRecs int
	}{
		{ipfixMsg(1, 0, 1, mkSet(2, ipfixTemplate(300, Field{ID: 2, Length: 4}))), 0, 0},
		{data, 59 * time.Second, 1},
		{data, 61 * time.Second, 1}, // expired
	} {
		if err := d.DecodeAt(exporterA, step.msg, t0.Add(step.at)); err != nil {
			t.Fatal(err)
		}
		if len(s.recs) != step.wantRecs {
			t.Fatalf("step %d: %d records, want %d", i, len(s.recs), step.wantRecs)
		}
	}
	if c := d.Totals().Snapshot(); c.TemplatesExpired != 1 || c.MissingTemplate != 1 {
		t.Errorf("counters %+v, want 1 template expired and 1 data set without template", c)
	}
}

// Messages of exporters, domains and templates in turn each decode with
// their own template (the decoder remembers the last exporter, session and
// template to skip the lookups).
func TestInterleavedExportersDecodeWithTheirTemplates(t *testing.T) {
	d, s := newTestDecoder(t, Config{TemplateLifetime: -1})
	exporterB := netip.MustParseAddrPort("192.0.2.2:4739")
	// Template 300 is PACKETS at A, domain 1, and BYTES elsewhere; 301 is
	// always SRC_PORT, and so is 308 (at A, domain 1; 4 bytes), which
	// shares 300's slot in the session's recent templates.
	for _, m := range []packet{
		{exporterA, ipfixMsg(1, 0, 1, mkSet(2, ipfixTemplate(300, Field{ID: 2, Length: 4}), ipfixTemplate(301, Field{ID: 7, Length: 2}),
			ipfixTemplate(308, Field{ID: 7, Length: 4})))},
		{exporterA, ipfixMsg(1, 0, 2, mkSet(2, ipfixTemplate(300, Field{ID: 1, Length: 4})))},
		{exporterB, ipfixMsg(1, 0, 1, mkSet(2, ipfixTemplate(300, Field{ID: 1, Length: 4})))},
	} {
		if err := d.Decode(m.from, m.payload); err != nil {
			t.Fatal(err)
		}
	}
	type want struct{ packets, bytes, port uint64 }
	cases := []struct {
		from   netip.AddrPort
		domain uint32
		set    []byte
		want   want
	}{
		{exporterA, 1, mkSet(300, be32(10)), want{packets: 10}},
		{exporterA, 2, mkSet(300, be32(20)), want{bytes: 20}},
		{exporterA, 1, mkSet(301, be16(30)), want{port: 30}},
		{exporterB, 1, mkSet(300, be32(40)), want{bytes: 40}},
		{exporterA, 1, mkSet(300, be32(50)), want{packets: 50}},
		{exporterB, 1, mkSet(301, be16(60)), want{}}, // B has no template 301
		{exporterA, 1, mkSet(301, be16(70)), want{port: 70}},
		{exporterA, 1, mkSet(308, be32(85)), want{port: 85}},
		{exporterA, 1, cat(mkSet(300, be32(86)), mkSet(308, be32(87))), want{packets: 86}},
		{exporterA, 1, mkSet(308, be32(88)), want{port: 88}},
		{exporterA, 1, mkSet(300, be32(80)), want{packets: 80}},
		// 300 redefined at A, domain 1, just after its last use.
		{exporterA, 1, cat(mkSet(2, ipfixTemplate(300, Field{ID: 1, Length: 4})), mkSet(300, be32(90))), want{bytes: 90}},
	}
	for i, c := range cases {
		before := len(s.recs)
		if err := d.Decode(c.from, ipfixMsg(1, 0, c.domain, c.set)); err != nil {
			t.Fatal(err)
		}
		if c.want == (want{}) {
			if len(s.recs) != before {
				t.Errorf("case %d: decoded without a template", i)
			}
			continue
		}
		if len(s.recs) < before+1 {
			t.Fatalf("case %d: no record", i)
		}
		r := s.recs[before]
		got := want{uint64(r.Uint32(field(r, "PACKETS"))), r.Uint64(field(r, "BYTES")), uint64(r.Uint16(field(r, "SRC_PORT")))}
		if got != c.want {
			t.Errorf("case %d: %+v, want %+v", i, got, c.want)
		}
	}
}

// An output template without fields still gets one (empty) record per
// flow, from either kind of sink (a BatchSink gets them one by one).
func TestEmptyOutputTemplate(t *testing.T) {
	tmpl, err := unirec.ParseTemplate("")
	if err != nil {
		t.Fatal(err)
	}
	tmplMsg, dataMsg := benchMessages()
	for _, batch := range []bool{false, true} {
		s := &byteSink{}
		var sink Sink = recordOnly{s}
		if batch {
			sink = s
		}
		d, err := NewDecoder(Config{Output: tmpl}, sink)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range [][]byte{tmplMsg, dataMsg} {
			if err := d.Decode(exporterA, m); err != nil {
				t.Fatal(err)
			}
		}
		if s.records != benchRecords || len(s.data) != 0 {
			t.Errorf("BatchSink %v: %d records of %d bytes, want %d empty ones", batch, s.records, len(s.data), benchRecords)
		}
	}
}
