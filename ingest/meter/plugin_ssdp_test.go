package meter

import (
	"strings"
	"testing"
	"time"
)

// One test per rule of spec/ipfixprobe-plugins.md §2.

// ssdpRecords meters UDP payloads from A:1900 to B:1900 (or the ports
// given) and returns the records.
func ssdpRecords(t *testing.T, payloads ...string) []testRec {
	t.Helper()
	m := newTestMeter(t, Config{Plugins: []string{"ssdp"}})
	for i, p := range payloads {
		m.packet(t0.Add(time.Duration(i)*time.Second), udp(true, 40000, 1900, []byte(p)))
	}
	return m.flush()
}

func ssdpOne(t *testing.T, payloads ...string) map[string]string {
	t.Helper()
	recs := ssdpRecords(t, payloads...)
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	return recs[0].rec
}

func notifyMsg(headers ...string) string {
	return "NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n" + strings.Join(headers, "\r\n") + "\r\n\r\n"
}

func searchMsg(headers ...string) string {
	return "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\n" + strings.Join(headers, "\r\n") + "\r\n\r\n"
}

func TestSSDPRecordOnFirstPacketToPort1900(t *testing.T) {
	m := newTestMeter(t, Config{Plugins: []string{"ssdp"}})
	m.packet(t0, udp(true, 40000, 1900, []byte("garbage")))                        // record, nothing parsed
	m.packet(t0, udp(false, 1900, 40001, []byte(notifyMsg("NT: urn:x"))))          // from 1900: no record
	m.packet(t0, udp(true, 40001, 1900, []byte(notifyMsg("NT: urn:x"))))           // same flow, reverse: no record, ignored
	m.packet(t0, tcp(true, 40002, 1900, 0x18, []byte(notifyMsg("NT: urn:tcp:1")))) // any L4 protocol
	for _, r := range m.flush() {
		switch r.rec["SRC_PORT"] {
		case "40000":
			if r.ext == 0 || r.rec["SSDP_NT"] != `""` || r.rec["SSDP_LOCATION_PORT"] != "0" {
				t.Errorf("flow to 1900 with an unparsable payload: %+v", r)
			}
		case "1900":
			if r.ext != 0 {
				t.Errorf("flow from 1900 carries an SSDP record: %+v", r)
			}
		case "40002":
			checkFields(t, r.rec, map[string]string{"SSDP_NT": `"tcp:1` + "\r" + `;"`})
		}
	}
}

func TestSSDPNTKeepsOnlyURNValuesWithCRAndSemicolon(t *testing.T) {
	rec := ssdpOne(t,
		notifyMsg("NT: upnp:rootdevice"),
		notifyMsg("NT: urn:schemas-upnp-org:device:MediaServer:1"),
		notifyMsg("NT: uuid:1234"),
		notifyMsg("NT: URN:  schemas-upnp-org:service:X:1"), // any case, whitespace after urn: stripped
	)
	checkFields(t, rec, map[string]string{
		"SSDP_NT": `"schemas-upnp-org:device:MediaServer:1` + "\r" + `;schemas-upnp-org:service:X:1` + "\r" + `;"`,
	})
}

func TestSSDPDeduplicatesBySubstring(t *testing.T) {
	rec := ssdpOne(t,
		notifyMsg("NT: urn:abc:device:1"),
		notifyMsg("NT: urn:abc:device:1"), // repeat: dropped
		notifyMsg("NT: urn:device:1"),     // a suffix of an entry: dropped
		notifyMsg("NT: urn:abc"),          // a prefix is not ("abc\r" is not in the field)
	)
	checkFields(t, rec, map[string]string{"SSDP_NT": `"abc:device:1` + "\r;abc\r" + `;"`})
}

func TestSSDPMessageTypeByFirstByte(t *testing.T) {
	rec := ssdpOne(t,
		notifyMsg("NT: urn:n:1", "ST: urn:not-in-notify", "USER-AGENT: no", "SERVER: srv/1", "LOCATION: http://10.0.0.1:80/"),
		searchMsg("ST: urn:s:1", "ST: ssdp:all", "NT: urn:not-in-search", "USER-AGENT: agent/2", "SERVER: no", "LOCATION: http://10.0.0.1:81/"),
		"Xnotify\r\nNT: urn:x\r\n\r\n",
	)
	checkFields(t, rec, map[string]string{
		"SSDP_NT": `"n:1` + "\r" + `;"`, "SSDP_ST": `"s:1` + "\r" + `;"`,
		"SSDP_SERVER": `"srv/1` + "\r" + `;"`, "SSDP_USER_AGENT": `"agent/2` + "\r" + `;"`,
		"SSDP_LOCATION_PORT": "80",
	})
}

func TestSSDPLineAndHeaderMatching(t *testing.T) {
	rec := ssdpOne(t,
		"NOTIFY * HTTP/1.1\r\nNTS: urn:nts\r\nNT : urn:space\r\nnt: urn:lower\r\nSERVER: a\nb\r\nNT: urn:last-without-crlf",
		"NOTIFY * HTTP/1.1\r\nNT: urn:before-nul\r\n\x00NT: urn:after-nul\r\n",
		"NOTIFY * HTTP/1.1\r\nNT:\r\nSERVER: \t \r\n",
	)
	checkFields(t, rec, map[string]string{
		"SSDP_NT":     `"lower` + "\r;before-nul\r" + `;"`,
		"SSDP_SERVER": `"a` + "\nb\r" + `;"`, // a bare \n does not end the line
	})
}

func TestSSDPAppendLimits(t *testing.T) {
	long := strings.Repeat("s", 200)
	rec := ssdpOne(t,
		notifyMsg("SERVER: "+long),
		notifyMsg("SERVER: "+strings.Repeat("t", 60)), // 202+61+1 >= 255: dropped
		notifyMsg("SERVER: short"),                    // still fits
	)
	checkFields(t, rec, map[string]string{"SSDP_SERVER": `"` + long + "\r;short\r" + `;"`})
}

func TestSSDPLocationPort(t *testing.T) {
	tests := []struct {
		name, loc string
		v6        bool
		want      string
	}{
		{"IPv4 URL", "http://192.168.1.1:49152/d.xml", false, "49152"},
		{"hex", "http://10.0.0.1:0x1f90/", false, "8080"},
		{"octal", "http://10.0.0.1:017/", false, "15"},
		{"zero is ignored", "http://10.0.0.1:0/", false, "0"},
		{"no port: the next header's colon has no digits", "http://10.0.0.1/d.xml", false, "0"},
		{"truncated to uint16", "http://10.0.0.1:65537/", false, "1"},
		{"IPv6 flow looks after ]", "http://[fe80::1]:8080/", true, "8080"},
		{"IPv6 flow without ]", "http://host.lan:8080/", true, "0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := l4{proto: protoUDP, sport: 40000, dport: 1900, src: ipA, dst: ipB,
				payload: []byte(notifyMsg("LOCATION: "+tc.loc, "SERVER: x"))}
			if tc.v6 {
				d.v6, d.src, d.dst = true, make([]byte, 16), append(make([]byte, 15), 1)
			}
			m := newTestMeter(t, Config{Plugins: []string{"ssdp"}})
			m.packet(t0, frame(d))
			checkFields(t, m.flush()[0].rec, map[string]string{"SSDP_LOCATION_PORT": tc.want})
		})
	}
}

func TestSSDPLocationLastValidPortWins(t *testing.T) {
	rec := ssdpOne(t,
		notifyMsg("LOCATION: http://10.0.0.1:1111/"),
		notifyMsg("LOCATION: http://10.0.0.1:2222/"),
		notifyMsg("LOCATION: http://10.0.0.1:0/"),
	)
	checkFields(t, rec, map[string]string{"SSDP_LOCATION_PORT": "2222"})
}

func TestCStrtol(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"80/", 80, true}, {" \t+42", 42, true}, {"-1", -1, true}, {"0x10", 16, true}, {"0X1f", 31, true},
		{"0x", 0, true}, {"010", 8, true}, {"09", 0, true}, {"", 0, false}, {"abc", 0, false},
		{"99999999999999999999", 1<<63 - 1, true}, {"-99999999999999999999", -1 << 63, true},
	}
	for _, tc := range tests {
		if got, ok := cStrtol([]byte(tc.in)); got != tc.want || ok != tc.ok {
			t.Errorf("cStrtol(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// TestSSDPLocationPortSearchRunsPastTheLine: the ':' is searched for over
// the value's length counted from the '.', into the next header lines.
func TestSSDPLocationPortSearchRunsPastTheLine(t *testing.T) {
	rec := ssdpOne(t, notifyMsg("LOCATION: http://10.0.0.1/d.xml", "X:1234"))
	checkFields(t, rec, map[string]string{"SSDP_LOCATION_PORT": "1234"})
	rec = ssdpOne(t, notifyMsg("LOCATION: http://10.0.0.1/d.xml", "X-LONGER-NAME:1234")) // ':' out of reach
	checkFields(t, rec, map[string]string{"SSDP_LOCATION_PORT": "0"})
}

// TestSSDPMSearchRepeats: M-SEARCH values build up over the flow's packets,
// urn: values only for ST, repeats dropped.
func TestSSDPMSearchRepeats(t *testing.T) {
	rec := ssdpOne(t,
		searchMsg("ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1", "USER-AGENT: Chromium/1 Linux"),
		searchMsg("ST: ssdp:all", "USER-AGENT: Chromium/1 Linux"),
		searchMsg("ST: upnp:rootdevice", "USER-AGENT: other/2"),
		searchMsg("ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1", "USER-AGENT: Chromium/1 Linux"),
		searchMsg("st: urn:dial-multiscreen-org:service:dial:1"),
	)
	checkFields(t, rec, map[string]string{
		"SSDP_ST":         `"schemas-upnp-org:device:InternetGatewayDevice:1` + "\r;dial-multiscreen-org:service:dial:1\r" + `;"`,
		"SSDP_USER_AGENT": `"Chromium/1 Linux` + "\r;other/2\r" + `;"`,
		"SSDP_NT":         `""`,
	})
}
