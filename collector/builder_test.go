package collector

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/flowgate/flowgate/unirec"
)

// Small builders for hand-made export messages.

func be16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
func be64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// mkSet wraps a set body with its header.
func mkSet(id uint16, body ...[]byte) []byte {
	b := cat(body...)
	return cat(be16(id), be16(uint16(4+len(b))), b)
}

// ipfixMsg builds an IPFIX message.
func ipfixMsg(exportSecs, seq, domain uint32, sets ...[]byte) []byte {
	b := cat(sets...)
	return cat(be16(10), be16(uint16(16+len(b))), be32(exportSecs), be32(seq), be32(domain), b)
}

// v9Msg builds a NetFlow v9 packet.
func v9Msg(count uint16, uptime, secs, seq, source uint32, sets ...[]byte) []byte {
	return cat(be16(9), be16(count), be32(uptime), be32(secs), be32(seq), be32(source), cat(sets...))
}

// ipfixTemplate encodes one IPFIX template record.
func ipfixTemplate(id uint16, fields ...Field) []byte {
	b := cat(be16(id), be16(uint16(len(fields))))
	for _, f := range fields {
		if f.PEN != 0 {
			b = cat(b, be16(f.ID|0x8000), be16(f.Length), be32(f.PEN))
		} else {
			b = cat(b, be16(f.ID), be16(f.Length))
		}
	}
	return b
}

// ipfixOptionsTemplate encodes one IPFIX options template record.
func ipfixOptionsTemplate(id uint16, scope int, fields ...Field) []byte {
	b := cat(be16(id), be16(uint16(len(fields))), be16(uint16(scope)))
	for _, f := range fields {
		b = cat(b, be16(f.ID), be16(f.Length))
	}
	return b
}

var exporterA = netip.MustParseAddrPort("192.0.2.1:4739")

// fullTemplate has every field the behaviour tests look at.
const fullTemplate = goldenTemplate + ",uint64 BYTES_REV,uint32 PACKETS_REV,uint8 TCP_FLAGS_REV,string APP_NAME,bytes APP_ID,macaddr SRC_MAC,uint8 DIR_BIT_FIELD"

type recSink struct {
	recs []unirec.Record
	exps []Exporter
}

func (s *recSink) Record(exp Exporter, r unirec.Record) {
	c := r
	c.Data = append([]byte(nil), r.Data...)
	s.recs = append(s.recs, c)
	s.exps = append(s.exps, exp)
}

func newTestDecoder(t testing.TB, cfg Config) (*Decoder, *recSink) {
	t.Helper()
	if cfg.Output == nil {
		tmpl, err := unirec.ParseTemplate(fullTemplate)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Output = tmpl
	}
	s := &recSink{}
	d, err := NewDecoder(cfg, s)
	if err != nil {
		t.Fatal(err)
	}
	return d, s
}

func field(r unirec.Record, name string) unirec.FieldID {
	id, ok := r.T.Lookup(name)
	if !ok {
		panic("test template lacks " + name)
	}
	return id
}
