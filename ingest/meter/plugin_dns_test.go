package meter

import (
	"encoding/binary"
	"encoding/hex"
	"strings"
	"testing"
	"time"
)

// One test per rule of spec/ipfixprobe-plugins.md §3.

type dnsRR struct {
	name  string // owner; "" is the root
	typ   uint16
	class uint16
	ttl   uint32
	data  []byte
}

// dnsMessage builds a message: header, one question per qname (type A),
// then the answer, authority and additional records.
func dnsMessage(id, flags uint16, qnames []string, an, ns, ar []dnsRR) []byte {
	b := binary.BigEndian.AppendUint16(nil, id)
	b = binary.BigEndian.AppendUint16(b, flags)
	for _, n := range []int{len(qnames), len(an), len(ns), len(ar)} {
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	}
	for _, q := range qnames {
		b = append(b, dnsName2wire(q)...)
		b = append(b, 0, 1, 0, 1)
	}
	for _, rrs := range [][]dnsRR{an, ns, ar} {
		for _, rr := range rrs {
			if rr.name == "" {
				b = append(b, 0)
			} else {
				b = append(b, dnsName2wire(rr.name)...)
			}
			b = binary.BigEndian.AppendUint16(b, rr.typ)
			b = binary.BigEndian.AppendUint16(b, rr.class)
			b = binary.BigEndian.AppendUint32(b, rr.ttl)
			b = binary.BigEndian.AppendUint16(b, uint16(len(rr.data)))
			b = append(b, rr.data...)
		}
	}
	return b
}

func dnsA(owner string, ip ...byte) dnsRR { return dnsRR{owner, 1, 1, 60, ip} }

func TestDNSQueryAndResponseAreTwoOnePacketFlows(t *testing.T) {
	m := newTestMeter(t, Config{Plugins: []string{"dns"}})
	m.packet(t0, udp(true, 40000, 53, dnsMsg(0x1234, false)))
	m.packet(t0.Add(10*time.Millisecond), udp(false, 53, 40000, dnsMsg(0x1234, true)))
	recs := m.flush()
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2", len(recs))
	}
	checkFields(t, recs[0].rec, map[string]string{"PACKETS": "1", "PACKETS_REV": "0", "SRC_PORT": "40000", "DNS_ID": "4660"})
	// The response's flow starts with it: the server is its source.
	checkFields(t, recs[1].rec, map[string]string{"PACKETS": "1", "PACKETS_REV": "0", "SRC_PORT": "53", "DST_PORT": "40000",
		"DNS_RCODE": "3", "DNS_ANSWERS": "1", "DNS_RR_TTL": "300", "DNS_PSIZE": "4096", "DNS_DO": "1",
		"DNS_NAME": `"example.com"`, "DNS_RDATA": hex.EncodeToString([]byte("93.184.216.34")), "DNS_RLENGTH": "13"})
}

func TestDNSOverTCPFlushesWithTheEarlierPackets(t *testing.T) {
	q := dnsMsg(7, false)
	framed := append(binary.BigEndian.AppendUint16(nil, uint16(len(q))), q...)
	bad := append(binary.BigEndian.AppendUint16(nil, uint16(len(q)+5)), q...) // prefix != rest: not parsed
	m := newTestMeter(t, Config{Plugins: []string{"dns"}})
	m.packet(t0, tcp(true, 40000, 53, 0x02, nil))
	m.packet(t0, tcp(false, 53, 40000, 0x12, nil))
	m.packet(t0, tcp(true, 40000, 53, 0x10, nil))
	m.packet(t0, tcp(true, 40000, 53, 0x18, bad))
	m.packet(t0, tcp(true, 40000, 53, 0x18, framed))
	recs := m.flush()
	if len(recs) != 1 || recs[0].ext == 0 {
		t.Fatalf("records %+v", recs)
	}
	checkFields(t, recs[0].rec, map[string]string{"PACKETS": "4", "PACKETS_REV": "1", "DNS_ID": "7"})
}

func TestDNSUnparsedPacketLeavesTheFlow(t *testing.T) {
	m := newTestMeter(t, Config{Plugins: []string{"dns"}})
	m.packet(t0, udp(true, 40000, 53, []byte("short")))
	m.packet(t0, udp(false, 53, 40000, []byte("also not dns")))
	recs := m.flush()
	if len(recs) != 1 || recs[0].ext != 0 {
		t.Fatalf("records %+v, want one flow without a DNS record", recs)
	}
	checkFields(t, recs[0].rec, map[string]string{"PACKETS": "1", "PACKETS_REV": "1"})
}

// dnsParse parses msg with a fresh state.
func dnsParse(msg []byte) (*dnsState, bool) {
	var d dnsPlugin
	s := &dnsState{}
	s.reset()
	ok := d.parse(s, msg, false)
	return s, ok
}

func TestDNSHeaderFieldsAndTruncationStops(t *testing.T) {
	msg := dnsMessage(9, 0x8185, []string{"a.example"}, []dnsRR{dnsA("a.example", 1, 2, 3, 4), dnsA("a.example", 5, 6, 7, 8)}, nil, nil)
	s, ok := dnsParse(msg[:len(msg)-3]) // second answer cut: parse stops, still success
	if !ok || s.id != 9 || s.rcode != 5 || s.answers != 2 || string(s.rdata.bytes()) != "1.2.3.4" {
		t.Errorf("ok %v, state %+v", ok, s)
	}
	q := dnsMessage(9, 0x0100, []string{"a.example"}, nil, nil, nil)
	s, ok = dnsParse(q[:len(q)-2]) // question type/class cut: stop, no name
	if !ok || s.name.n != 0 || s.id != 9 {
		t.Errorf("cut question: ok %v, state %+v", ok, s)
	}
}

func TestDNSNameRules(t *testing.T) {
	long := strings.Repeat("abcdefghij.", 14) + "x" // 155 bytes
	s, ok := dnsParse(dnsMessage(1, 0x0100, []string{long}, nil, nil, nil))
	if !ok || string(s.name.bytes()) != long[:127] {
		t.Errorf("long name: ok %v, %q", ok, s.name.bytes())
	}
	s, ok = dnsParse(dnsMessage(1, 0x8100, []string{"x"}, []dnsRR{{"", 2, 1, 1, []byte{0}}}, nil, nil))
	if !ok || s.rdata.n != 0 {
		t.Errorf("root name: ok %v, %q", ok, s.rdata.bytes())
	}
	hdr := dnsMessage(1, 0x0100, nil, nil, nil, nil)
	binary.BigEndian.PutUint16(hdr[4:], 1)
	bad := map[string][]byte{
		"pointer loop":                  append(append([]byte{}, hdr...), 0xc0, 12, 0, 1, 0, 1),
		"label length 64":               append(append([]byte{}, hdr...), append([]byte{64}, make([]byte, 70)...)...),
		"pointer past the end":          append(append([]byte{}, hdr...), 0xc0, 200, 0, 1, 0, 1),
		"label without a byte after it": append(append([]byte{}, hdr...), 3, 'a', 'b', 'c'),
	}
	for name, msg := range bad {
		if _, ok := dnsParse(msg); ok {
			t.Errorf("%s: parsed", name)
		}
	}
	// A bad name in RDATA fails the whole packet.
	if _, ok := dnsParse(dnsMessage(1, 0x8100, []string{"x"}, []dnsRR{{"x", 5, 1, 1, []byte{0xc0, 200}}}, nil, nil)); ok {
		t.Error("bad CNAME target parsed")
	}
}

func TestDNSRDataFormats(t *testing.T) {
	name := func(n string) []byte { return dnsName2wire(n) }
	cat := func(parts ...[]byte) []byte {
		var b []byte
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	u32 := func(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
	tests := []struct {
		name  string
		owner string
		typ   uint16
		data  []byte
		want  string
	}{
		{"A", "x", 1, []byte{10, 0, 0, 1}, "10.0.0.1"},
		{"AAAA", "x", 28, []byte{0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, "2001:db8::1"},
		{"AAAA v4-mapped", "x", 28, []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4}, "::ffff:1.2.3.4"},
		{"AAAA v4-compatible", "x", 28, []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}, "::1.2.3.4"},
		{"AAAA trailing zeros", "x", 28, []byte{0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, "fe80::"},
		{"CNAME", "x", 5, name("target.example"), "target.example"},
		{"NS", "x", 2, name("ns1.example"), "ns1.example"},
		{"PTR", "x", 12, name("host.example"), "host.example"},
		{"DNAME", "x", 39, name("d.example"), "d.example"},
		{"SOA", "x", 6, cat(name("ns.example"), name("admin.example"), u32(1), u32(2), u32(3), u32(4), u32(5)),
			"ns.example admin.example 1 2 3 4 5"},
		{"MX", "x", 15, cat([]byte{0, 10}, name("mail.example")), "10 mail.example"},
		{"SRV", "_sip._tcp.example.com", 33, cat([]byte{0, 10, 0, 5, 0x13, 0xc4}, name("sip.example.com")),
			"sip tcp example.com sip.example.com 10 5 5060"},
		{"TXT", "x", 16, []byte{3, 'a', 'b', 'c', 0, 2, 'd', 'e'}, "abc  de"},
		{"MINFO", "x", 14, cat(name("r.example"), name("e.example")), "r.examplee.example"},
		{"HINFO", "x", 13, []byte{3, 'C', 'P', 'U', 2, 'O', 'S'}, "\x03CPU\x02OS"},
		// ipfixprobe prints "4660 13330 2 <key>": its key tag unswapped
		// where the algorithm (8) belongs; we print the algorithm.
		{"DS", "x", 43, []byte{0x12, 0x34, 8, 2, 0xaa}, "4660 8 2 <key>"},
		{"RRSIG", "x", 46, cat([]byte{0, 1, 8, 2}, u32(300), u32(2000), u32(1000), []byte{0x12, 0x34}, name("signer.example"), []byte{1, 2}),
			"1 8 2 300 2000 1000 4660 <key>"},
		{"DNSKEY", "x", 48, []byte{1, 1, 3, 8, 0xaa}, "257 3 8 <key>"},
		{"HTTPS", "x", 65, []byte{0, 1, 0}, "(not_impl)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, ok := dnsParse(dnsMessage(1, 0x8180, []string{"q"}, []dnsRR{{tc.owner, tc.typ, 1, 77, tc.data}}, nil, nil))
			if !ok {
				t.Fatal("not parsed")
			}
			if got := string(s.rdata.bytes()); got != tc.want || int(s.rlength) != len(tc.want) || s.ttl != 77 {
				t.Errorf("RDATA %q (RLENGTH %d, TTL %d), want %q", got, s.rlength, s.ttl, tc.want)
			}
		})
	}
	long := strings.Repeat("t", 200)
	s, _ := dnsParse(dnsMessage(1, 0x8180, nil, []dnsRR{{"x", 16, 1, 1, append([]byte{200}, long...)}}, nil, nil))
	if s.rdata.n != 159 || s.rlength != 159 {
		t.Errorf("long TXT: %d bytes, RLENGTH %d, want 159", s.rdata.n, s.rlength)
	}
}

func TestDNSOnlyFirstQuestionAndAnswer(t *testing.T) {
	s, ok := dnsParse(dnsMessage(1, 0x8180, []string{"first.example", "second.example"},
		[]dnsRR{dnsA("first.example", 1, 1, 1, 1), dnsA("first.example", 2, 2, 2, 2)}, nil, nil))
	if !ok || string(s.name.bytes()) != "first.example" || string(s.rdata.bytes()) != "1.1.1.1" {
		t.Errorf("ok %v, name %q, rdata %q", ok, s.name.bytes(), s.rdata.bytes())
	}
}

func TestDNSOPTRecord(t *testing.T) {
	opt := func(size uint16, ttl uint32) dnsRR { return dnsRR{"", 41, size, ttl, nil} }
	s, ok := dnsParse(dnsMessage(1, 0x0100, []string{"x"}, nil, []dnsRR{{"", 41, 999, 0x8000, nil}},
		[]dnsRR{opt(1232, 0), opt(4096, 0x8000)}))
	// OPT in authority is ignored; the last additional OPT wins.
	if !ok || s.psize != 4096 || s.do != 1 {
		t.Errorf("ok %v, psize %d, do %d", ok, s.psize, s.do)
	}
}

// TestDNSWhichPackets: only packets from or to port 53, UDP or TCP.
func TestDNSWhichPackets(t *testing.T) {
	q := dnsMsg(1, false)
	tests := []struct {
		name   string
		frame  []byte
		record bool
	}{
		{"UDP to 53", udp(true, 40000, 53, q), true},
		{"UDP from 53", udp(true, 53, 40000, q), true},
		{"UDP 5353 (mDNS)", udp(true, 5353, 5353, q), false},
		{"TCP to 53 with the length prefix", tcp(true, 40000, 53, 0x18, append(binary.BigEndian.AppendUint16(nil, uint16(len(q))), q...)), true},
		{"TCP to 53 without the length prefix", tcp(true, 40000, 53, 0x18, q), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newTestMeter(t, Config{Plugins: []string{"dns"}})
			m.packet(t0, tc.frame)
			if got := m.flush()[0].ext != 0; got != tc.record {
				t.Errorf("record %v, want %v", got, tc.record)
			}
		})
	}
}

// TestDNSMessageBounds: the TCP prefix and the 12-byte header.
func TestDNSMessageBounds(t *testing.T) {
	var d dnsPlugin
	tests := []struct {
		name string
		msg  []byte
		tcp  bool
		ok   bool
	}{
		{"TCP payload of 1 byte (len-2 wraps)", []byte{0}, true, false},
		{"TCP payload of 0 bytes", nil, true, false},
		{"TCP prefix equal to the rest", append([]byte{0, 12}, make([]byte, 12)...), true, true},
		{"TCP prefix one more than the rest", append([]byte{0, 13}, make([]byte, 12)...), true, false},
		{"TCP: two messages in one segment", append(append([]byte{0, 12}, make([]byte, 12)...), append([]byte{0, 12}, make([]byte, 12)...)...), true, false},
		{"11 bytes", make([]byte, 11), false, false},
		{"a bare 12-byte header", make([]byte, 12), false, true},
	}
	for _, tc := range tests {
		s := &dnsState{}
		if got := d.parse(s, tc.msg, tc.tcp); got != tc.ok {
			t.Errorf("%s: parsed %v, want %v", tc.name, got, tc.ok)
		}
	}
}

// TestDNSCompressionAndStepLimit: pointers are followed (offsets from the
// message start, after a TCP prefix), at most 128 labels and pointers.
func TestDNSCompressionAndStepLimit(t *testing.T) {
	// Question "example.com" at 12; the answer's owner is a pointer to it,
	// its CNAME target "www" + a pointer.
	msg := dnsMessage(1, 0x8180, []string{"example.com"}, nil, nil, nil)
	binary.BigEndian.PutUint16(msg[6:], 1)
	msg = append(msg, 0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 6, 3, 'w', 'w', 'w', 0xc0, 12)
	for _, tcp := range []bool{false, true} {
		m := msg
		if tcp {
			m = append(binary.BigEndian.AppendUint16(nil, uint16(len(msg))), msg...)
		}
		var d dnsPlugin
		s := &dnsState{}
		if !d.parse(s, m, tcp) || string(s.rdata.bytes()) != "www.example.com" {
			t.Errorf("tcp %v: rdata %q", tcp, s.rdata.bytes())
		}
	}
	labels := func(n int) string { return strings.TrimSuffix(strings.Repeat("a.", n), ".") }
	if s, ok := dnsParse(dnsMessage(1, 0x0100, []string{labels(128)}, nil, nil, nil)); !ok || s.name.n != 127 {
		t.Errorf("128 labels: ok %v, name %d bytes", ok, s.name.n)
	}
	if _, ok := dnsParse(dnsMessage(1, 0x0100, []string{labels(129)}, nil, nil, nil)); ok {
		t.Error("129 labels parsed")
	}
	hdr := dnsMessage(1, 0x0100, nil, nil, nil, nil)
	binary.BigEndian.PutUint16(hdr[4:], 1)
	if _, ok := dnsParse(append(append([]byte{}, hdr...), 0x80, 0, 0, 1, 0, 1)); ok {
		t.Error("label byte 0x80 (not a pointer, longer than 63) parsed")
	}
}

// TestDNSRecordBoundsStopTheParse: a record of any section that passes the
// message end stops the parse (success, what was read stays).
func TestDNSRecordBoundsStopTheParse(t *testing.T) {
	ns := dnsRR{"x", 2, 1, 1, dnsName2wire("ns.example")}
	msg := dnsMessage(1, 0x8180, []string{"x"}, []dnsRR{dnsA("x", 1, 2, 3, 4)}, []dnsRR{ns}, []dnsRR{{"", 41, 4096, 0x8000, nil}})
	s, ok := dnsParse(msg[:len(msg)-11-3]) // the OPT record gone, the authority record's data cut
	if !ok || string(s.rdata.bytes()) != "1.2.3.4" || s.psize != 0 {
		t.Errorf("ok %v, rdata %q, psize %d", ok, s.rdata.bytes(), s.psize)
	}
	// An A answer with 2 data bytes at the end: the 4 bytes are read
	// without a length check, but only the captured ones (the rest is 0).
	s, ok = dnsParse(dnsMessage(1, 0x8180, nil, []dnsRR{dnsA("x", 10, 9)}, nil, nil))
	if !ok || string(s.rdata.bytes()) != "10.9.0.0" || s.rlength != 8 {
		t.Errorf("short A: ok %v, rdata %q, rlength %d", ok, s.rdata.bytes(), s.rlength)
	}
}

// TestDNSNameIsACString: labels are copied raw, but DNS_NAME is exported
// with strlen, so a NUL byte in a label ends it.
func TestDNSNameIsACString(t *testing.T) {
	msg := dnsMessage(1, 0x0100, []string{"ab.example"}, nil, nil, nil)
	msg[12+2] = 0 // "a\x00.example"
	s, ok := dnsParse(msg)
	if !ok || string(s.name.bytes()) != "a" {
		t.Errorf("ok %v, name %q", ok, s.name.bytes())
	}
}

// TestDNSRecordOwnerNamesAreSkipped: a record's owner is skipped, not
// decoded (a pointer is not followed, a length byte of 64..191 is just a
// length); only an SRV answer's owner is decoded, for its text.
func TestDNSRecordOwnerNamesAreSkipped(t *testing.T) {
	rr := func(owner []byte, typ uint16, data []byte) []byte {
		b := append(append([]byte{}, owner...), 0, byte(typ), 0, 1, 0, 0, 0, 60, 0, byte(len(data)))
		return append(b, data...)
	}
	msg := func(answer []byte) []byte {
		m := dnsMessage(1, 0x8180, nil, nil, nil, nil)
		binary.BigEndian.PutUint16(m[6:], 1)
		return append(m, answer...)
	}
	tests := []struct {
		name  string
		msg   []byte
		ok    bool
		rdata string
	}{
		{"owner pointer past the message", msg(rr([]byte{0xc0, 0xff}, 1, []byte{1, 2, 3, 4})), true, "1.2.3.4"},
		{"owner label length 0x41", msg(rr(append([]byte{0x41}, append(make([]byte, 0x41), 0)...), 1, []byte{5, 6, 7, 8})), true, "5.6.7.8"},
		{"owner running past the message", msg([]byte{0x30, 'a'}), false, ""},
		{"SRV owner pointer past the message", msg(rr([]byte{0xc0, 0xff}, 33, append([]byte{0, 1, 0, 2, 0, 3}, 0))), false, ""},
	}
	for _, tc := range tests {
		s, ok := dnsParse(tc.msg)
		if ok != tc.ok || ok && string(s.rdata.bytes()) != tc.rdata {
			t.Errorf("%s: ok %v, rdata %q; want %v, %q", tc.name, ok, s.rdata.bytes(), tc.ok, tc.rdata)
		}
	}
}
