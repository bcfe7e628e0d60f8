package collector

import (
	"bytes"
	"errors"
	"io/fs"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowgate/flowgate/unirec"
)

func TestTemplatesSurviveRestart(t *testing.T) {
	d1, _ := newTestDecoder(t, Config{ApplySampling: true})
	v9opts := cat(be16(300), be16(4), be16(4), be16(1), be16(4), be16(34), be16(4))
	setup := v9Msg(3, 0, 1, 0, 5, mkSet(1, v9opts), mkSet(300, be32(0), be32(10)),
		mkSet(0, cat(be16(256), be16(1), be16(2), be16(4))))
	ipfixSetup := ipfixMsg(1, 0, 7, mkSet(2, ipfixTemplate(400, Field{ID: 96, Length: VariableLength}, Field{PEN: PENReverse, ID: 2, Length: 4})))
	for _, m := range [][]byte{setup, ipfixSetup} {
		if err := d1.Decode(exporterA, m); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "templates.json")
	if err := d1.SaveTemplatesFile(path); err != nil {
		t.Fatal(err)
	}

	d2, s2 := newTestDecoder(t, Config{ApplySampling: true})
	if err := d2.LoadTemplatesFile(path); err != nil {
		t.Fatal(err)
	}
	if err := d2.Decode(exporterA, v9Msg(1, 0, 1, 1, 5, mkSet(256, be32(3)))); err != nil {
		t.Fatal(err)
	}
	if err := d2.Decode(exporterA, ipfixMsg(1, 0, 7, mkSet(400, []byte{1, 'x'}, be32(4)))); err != nil {
		t.Fatal(err)
	}
	if len(s2.recs) != 2 {
		t.Fatalf("%d records after reload, want 2", len(s2.recs))
	}
	r := s2.recs[0]
	if got := r.Uint32(field(r, "PACKETS")); got != 30 {
		t.Errorf("PACKETS %d, want 30 (sampling interval 10 restored)", got)
	}
	r = s2.recs[1]
	if got := r.Uint32(field(r, "PACKETS_REV")); got != 4 {
		t.Errorf("PACKETS_REV %d, want 4", got)
	}
	if c := d2.Totals().Snapshot(); c.MissingTemplate != 0 || c.TemplatesAdded != 3 {
		t.Errorf("counters %+v", c)
	}
}

func TestLoadTemplatesRejectsBadState(t *testing.T) {
	tests := []struct{ name, in string }{
		{"not json", "{"},
		{"wrong version", `{"version":2}`},
		{"bad exporter", `{"version":1,"sessions":[{"exporter":"x","version":9}]}`},
		{"bad protocol version", `{"version":1,"sessions":[{"exporter":"10.0.0.1","version":7}]}`},
		{"template id below 256", `{"version":1,"sessions":[{"exporter":"10.0.0.1","version":9,"templates":[{"id":3,"fields":[{"ID":1,"Length":4}]}]}]}`},
		{"no fields", `{"version":1,"sessions":[{"exporter":"10.0.0.1","version":9,"templates":[{"id":300,"fields":[]}]}]}`},
		{"variable length in v9", `{"version":1,"sessions":[{"exporter":"10.0.0.1","version":9,"templates":[{"id":300,"fields":[{"ID":1,"Length":65535}]}]}]}`},
		{"scope count above fields", `{"version":1,"sessions":[{"exporter":"10.0.0.1","version":10,"templates":[{"id":300,"options":true,"scopeCount":3,"fields":[{"ID":1,"Length":4,"Scope":true}]}]}]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, _ := newTestDecoder(t, Config{})
			err := d.LoadTemplates(strings.NewReader(tc.in))
			if !errors.Is(err, ErrState) {
				t.Errorf("error %v does not wrap ErrState", err)
			}
			if c := d.Totals().Snapshot(); c.TemplatesAdded != 0 {
				t.Errorf("installed %d templates from a bad state", c.TemplatesAdded)
			}
		})
	}
	d, _ := newTestDecoder(t, Config{})
	if err := d.LoadTemplatesFile(filepath.Join(t.TempDir(), "absent")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func FuzzLoadTemplates(f *testing.F) {
	d, _ := newTestDecoder(f, Config{})
	_ = d.Decode(exporterA, ipfixMsg(1, 0, 7, mkSet(2, ipfixTemplate(400, Field{ID: 96, Length: VariableLength}))))
	var buf bytes.Buffer
	if err := d.SaveTemplates(&buf); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.String())
	f.Fuzz(func(t *testing.T, in string) {
		d, _ := newTestDecoder(t, Config{})
		if err := d.LoadTemplates(strings.NewReader(in)); err != nil && !errors.Is(err, ErrState) {
			t.Fatalf("error does not wrap ErrState: %v", err)
		}
		// Whatever was installed must decode without panicking.
		_ = d.Decode(exporterA, ipfixMsg(1, 0, 7, mkSet(400, bytes.Repeat([]byte{1}, 64))))
	})
}

// CopyTemplates hands a joining decoder the templates of every session,
// a TCP connection's included, with their age: data that follows decodes
// in both, and a template expires in both at the same time.
func TestCopyTemplatesKeepsStreamsAndAge(t *testing.T) {
	clock := time.Unix(1_700_000_000, 0)
	out, err := unirec.ParseTemplate("uint64 BYTES")
	if err != nil {
		t.Fatal(err)
	}
	newDec := func(n *int) *Decoder {
		d, err := NewDecoder(Config{Output: out, TemplateLifetime: time.Minute, Now: func() time.Time { return clock }},
			SinkFunc(func(Exporter, unirec.Record) { *n++ }))
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	udp, tcp := netip.MustParseAddrPort("192.0.2.1:2055"), netip.MustParseAddrPort("192.0.2.2:40000")
	tmpl := ipfixMsg(1, 0, 1, mkSet(2, ipfixTemplate(300, Field{ID: 1, Length: 8})))
	data := ipfixMsg(1, 0, 1, mkSet(300, be64(7)))
	var na, nb int
	a := newDec(&na)
	if err := a.Decode(udp, tmpl); err != nil {
		t.Fatal(err)
	}
	if err := a.DecodeStream(tcp, tmpl); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(50 * time.Second)
	b := newDec(&nb)
	a.CopyTemplates(b)
	for _, d := range []*Decoder{a, b} {
		d.DecodeStream(tcp, data)
		d.Decode(udp, data)
	}
	if na != 2 || nb != 2 {
		t.Fatalf("records: %d from the first decoder, %d from the one that joined, want 2 each", na, nb)
	}
	clock = clock.Add(20 * time.Second) // 70 s after the templates came
	for _, d := range []*Decoder{a, b} {
		d.Decode(udp, data)
		if got := d.Totals().TemplatesExpired.Load(); got != 1 {
			t.Errorf("%d templates expired, want 1 (the UDP one)", got)
		}
	}
	if na != 2 || nb != 2 {
		t.Errorf("records after the expiry: %d and %d, want 2 each", na, nb)
	}
}
