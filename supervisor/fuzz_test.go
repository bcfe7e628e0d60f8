package supervisor

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func FuzzSplitParams(f *testing.F) {
	for _, s := range []string{`-o plain "with spaces" 'with "quotes" inside'`, "a  b", "'x", `"it's"`, "a\tb", "''"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		toks, _, err := SplitParams(s)
		if err != nil {
			if !errors.Is(err, ErrParams) {
				t.Fatalf("error %v does not wrap ErrParams", err)
			}
			return
		}
		// Tokens never hold both quote kinds nor are empty, so joinArgs
		// writes them back to a string that tokenises to the same.
		back, _, err := SplitParams(joinArgs(toks))
		if err != nil || strings.Join(back, "\x00") != strings.Join(toks, "\x00") || len(back) != len(toks) {
			t.Fatalf("%q -> %q -> %q (%v)", s, joinArgs(toks), back, err)
		}
	})
}

func FuzzServiceReply(f *testing.F) {
	f.Add([]byte(`{"in_cnt": 1, "out_cnt": 1, "in": [{"ifc_state": 1, "ifc_id": "x", "ifc_type": 117, "messages": 3, "buffers": 1, "delay_last": 0, "delay_total": 0}], "out": [{"ifc_id": "none", "ifc_type": 98, "num_clients": 1, "sent-messages": 0, "dropped-messages": 0, "buffers": 0, "autoflushes": 0, "client_stats_arr": []}]}` + "\x00"))
	f.Add([]byte("{}\x00"))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) == 0 {
			return
		}
		st, err := decodeServiceReply(body)
		if err != nil {
			if !errors.Is(err, ErrServiceReply) {
				t.Fatalf("error %v is not a service IFC error", err)
			}
			return
		}
		if len(st.In) != st.InCnt || len(st.Out) != st.OutCnt {
			t.Fatalf("counts %d/%d, arrays %d/%d", st.InCnt, st.OutCnt, len(st.In), len(st.Out))
		}
	})
}

func FuzzYAMLConfig(f *testing.F) {
	f.Add("version: 1\nprofiles:\n  - name: p\n    modules:\n      - name: m\n        path: /bin/true\n        interfaces: [{dir: out, type: unix, name: x}]\n")
	f.Add("version: 1\nbogus: 1\n")
	f.Add("version: 1\nsupervisor: {stats_interval: 1s, restarts_per_minute: 31}\n")
	f.Fuzz(func(t *testing.T, text string) {
		p := filepath.Join(t.TempDir(), "c.yaml")
		os.WriteFile(p, []byte(text), 0o644)
		c, err := LoadYAML(p)
		if err == nil {
			for _, m := range c.Modules {
				m.Argv()
			}
		}
	})
}

func FuzzXMLConfig(f *testing.F) {
	f.Add("<nemea-supervisor><modules><name>p</name><enabled>true</enabled><module><name>m</name><enabled>true</enabled><path>/bin/true</path><params>-a 'b c'</params><trapinterfaces><interface><type>TCP</type><direction>IN</direction><params>localhost,7600</params></interface></trapinterfaces></module></modules></nemea-supervisor>")
	f.Add("<nemea-supervisor></nemea-supervisor>")
	f.Add("<a><b>")
	f.Fuzz(func(t *testing.T, text string) {
		p := filepath.Join(t.TempDir(), "c.xml")
		os.WriteFile(p, []byte(text), 0o644)
		c, err := LoadXML(p)
		if err == nil {
			for _, m := range c.Modules {
				m.Argv()
			}
		}
	})
}
