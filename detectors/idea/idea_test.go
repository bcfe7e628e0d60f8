package idea

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowgate/flowgate/internal/testutil"
	"github.com/flowgate/flowgate/unirec"
)

func fixed() *Options {
	return &Options{Now: func() time.Time { return time.Unix(1700000000, 0) }, NewID: func() string { return "id" }}
}

// A ddos_detector alert (no golden data exists): the mapping of §7.4.
func TestDDoSReporter(t *testing.T) {
	tm, _ := unirec.ParseTemplate("ipaddr DST_IP,uint64 AVG_BYTES_CURRENT,uint64 AVG_BYTES_ORIGINAL,uint64 BYTES,uint64 EVENT_ID,time TIME_FIRST,time TIME_LAST,uint32 AVG_IP_CNT_CURRENT,uint32 AVG_IP_CNT_ORIGINAL,uint16 EVENT_SEQ")
	r := tm.NewRecord()
	ip, _ := unirec.ParseIP("192.0.2.0")
	set := func(name string, f func(unirec.FieldID)) { id, _ := tm.Lookup(name); f(id) }
	set("DST_IP", func(id unirec.FieldID) { r.SetIP(id, ip) })
	set("BYTES", func(id unirec.FieldID) { r.SetUint64(id, 123456) })
	set("EVENT_ID", func(id unirec.FieldID) { r.SetUint64(id, 1<<32+42) })
	set("TIME_FIRST", func(id unirec.FieldID) { r.SetTime(id, unirec.TimeFromSecMsec(1699999000, 999)) })
	set("TIME_LAST", func(id unirec.FieldID) { r.SetTime(id, unirec.TimeFromSecMsec(1699999900, 0)) })
	conv, err := Reporters()["ddos"].Bind(tm)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := conv(r, fixed())
	if err != nil {
		t.Fatal(err)
	}
	SetNodeName(obj, "cz.cesnet.nemea.ddos")
	want := `{"Format": "IDEA0", "ID": "id", "CreateTime": "2023-11-14T22:13:20Z", "EventTime": "2023-11-14T21:56:40Z", "DetectTime": "2023-11-14T22:11:40Z", "CeaseTime": "2023-11-14T22:11:40Z", "Category": ["Availability.DoS"], "Target": [{"IP4": ["192.0.2.0"]}], "AltNames": ["4294967338"], "ByteCount": 123456, "Description": "Volume of traffic and number of its sources increased.", "Node": [{"Name": "cz.cesnet.nemea.ddos", "SW": ["Nemea", "ddos_detector"], "Type": ["Flow", "Statistical"]}]}`
	if got := string(AppendJSON(nil, obj)); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	if !ValidTimes(obj) {
		t.Fatal("times within the day before CreateTime rejected")
	}
}

// haddrscan_detector's own alerts (DST_IP0..3) map straight to IDEA;
// null addresses (:: and 0.0.0.0) are left out.
func TestHaddrscanDetectorAlert(t *testing.T) {
	tm, _ := unirec.ParseTemplate("ipaddr DST_IP0,ipaddr DST_IP1,ipaddr DST_IP2,ipaddr DST_IP3,ipaddr SRC_IP,time TIME_FIRST,time TIME_LAST,uint32 ADDR_CNT,uint32 ADDR_THRSD,uint16 DST_PORT,uint8 EVENT_TYPE,uint8 PROTOCOL")
	r := tm.NewRecord()
	for i, s := range []string{"10.0.0.1", "2001:db8::1", "0.0.0.0", "::"} {
		id, _ := tm.Lookup("DST_IP" + string(rune('0'+i)))
		ip, _ := unirec.ParseIP(s)
		r.SetIP(id, ip)
	}
	conv, err := Reporters()["haddrscan"].Bind(tm)
	if err != nil {
		t.Fatal(err)
	}
	obj, _ := conv(r, fixed())
	got := string(AppendJSON(nil, obj))
	if !strings.Contains(got, `"IP4": ["10.0.0.1"], "IP6": ["2001:db8::1"]}]`) {
		t.Fatalf("target addresses: %s", got)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct{ yaml, want string }{
		{"custom_actions: []", "namespace is required"},
		{"namespace: x\nrules:\n- id: 1\n  condition: Source.IP4 in wl\n  actions: []", `rule 1: condition "Source.IP4 in wl"`},
		{"namespace: x\ncustom_actions:\n- id: w\n  warden: {}", `action "w": only file and trap`},
		{"namespace: x\nrules:\n- id: 2\n  condition: Null\n  actions: [nope]", `rule 2: unknown action "nope"`},
	}
	for _, tt := range tests {
		if _, err := ParseConfig([]byte(tt.yaml)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: got %v, want %q", tt.yaml, err, tt.want)
		}
	}
}

func TestDispatchRules(t *testing.T) {
	dir := t.TempDir()
	cfg, err := ParseConfig([]byte("namespace: x\ncustom_actions:\n- id: out\n  file: {path: '-'}\n- id: f\n  file: {path: " + filepath.Join(dir, "a.idea") + "}\n" +
		"rules:\n- id: 1\n  condition: False\n  actions: [out]\n  elseactions: [f]\n- id: 2\n  condition: True\n  actions: [out, drop]\n- id: 3\n  condition: Null\n  actions: [out]\n"))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	d := &Dispatcher{Config: cfg, Stdout: &out}
	obj := head(fixed())
	if err := d.Dispatch(obj); err != nil {
		t.Fatal(err)
	}
	d.Close()
	line := string(AppendJSON(nil, obj)) + "\n"
	if out.String() != line {
		t.Fatalf("stdout %q: rule 3 ran after a drop, or rule 2 did not", out.String())
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "a.idea")); string(b) != line {
		t.Fatalf("file action of the else branch wrote %q", b)
	}
}

func TestAggrWinMinutes(t *testing.T) {
	for m, want := range map[int64]string{5: "00:05:00", 720: "12:00:00", 1980: "1D09:00:00"} {
		if got := aggrWinMinutes(m); got != want {
			t.Errorf("%d: %q, want %q", m, got, want)
		}
	}
}

func FuzzParseConfig(f *testing.F) {
	if p, ok := testutil.FindShared("idea/harness-config.yml"); ok {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("namespace: a\nrules:\n- {id: 1, condition: True, actions: [drop]}\n"))
	f.Fuzz(func(t *testing.T, b []byte) { ParseConfig(b) })
}

func FuzzParseBlacklistConfig(f *testing.F) {
	if p, ok := testutil.FindShared("idea/blacklist/bl_downloader_config.xml"); ok {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`<configuration><struct><array type="IP"><struct><element name="id">64</element></struct></array></struct></configuration>`))
	f.Fuzz(func(t *testing.T, b []byte) { ParseBlacklistConfig(bytes.NewReader(b), nil) })
}

// FuzzConvertJSON feeds the JSON reporters arbitrary messages: errors,
// never panics.
func FuzzConvertJSON(f *testing.F) {
	for _, p := range []string{"idea/vportscan/in.payloads.jsonl", "idea/blacklist/in.payloads.jsonl"} {
		if path, ok := testutil.FindShared(p); ok {
			b, _ := os.ReadFile(path)
			for _, l := range bytes.Split(b, []byte("\n")) {
				f.Add(l)
			}
		}
	}
	f.Add([]byte(`{"src_ip": "1.2.3.4", "dst_ips": {"5.6.7.8": 3}, "ts_first": 1.5, "ts_last": 2}`))
	bl := &BlacklistConfig{IP: map[uint64]Blacklist{8: {ID: 4, Name: "n", Category: "Intrusion.Botnet", Source: "s"}}, URL: map[uint64]Blacklist{1: {ID: 1, Name: "u", Category: "Fraud.Phishing", Source: "s"}}}
	f.Fuzz(func(t *testing.T, b []byte) {
		o := fixed()
		o.Blacklist = bl
		for _, c := range []func([]byte, *Options) (*Object, error){convertVportscan, convertBlacklist} {
			if obj, err := c(b, o); err == nil {
				AppendJSON(nil, obj)
			}
		}
	})
}
