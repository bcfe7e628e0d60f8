package meter

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/flowgate/flowgate/unirec"
)

func TestMeterCountsAndSkipsDamagedFrames(t *testing.T) {
	good := udp(true, 1, 2, []byte("x"))
	badIHL := append([]byte{}, good...)
	badIHL[14] = 0x41
	frames := []capturedFrame{
		{t0, good},
		{t0, good[:20]}, // IPv4 header cut
		{t0, badIHL},    // IHL 4
		{t0, append(make([]byte, 12), 0x08, 0x06, 0, 1)}, // ARP
		{t0, good},
	}
	var recs int
	m, err := New(Config{}, func(unirec.Record) error { recs++; return nil })
	if err != nil {
		t.Fatal(err)
	}
	src, err := NewFileSource(bytes.NewReader(pcapBytes(frames)))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	st := m.Stats()
	want := Stats{Packets: 5, IP: 2, NotIP: 1, Truncated: 1, BadLength: 1, Records: 1,
		Cache: CacheStats{Created: 1, Exported: 1}}
	if st != want || recs != 1 {
		t.Errorf("stats %+v (records %d), want %+v", st, recs, want)
	}
}

func TestMeterRunOnCorruptCaptureExportsWhatItHas(t *testing.T) {
	dir := pcapTestdata(t)
	data, err := os.ReadFile(filepath.Join(dir, "http.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	cut := data[:len(data)/2] // ends inside a record
	var recs int
	m, err := New(Config{Plugins: []string{"http"}}, func(unirec.Record) error { recs++; return nil })
	if err != nil {
		t.Fatal(err)
	}
	src, err := NewFileSource(bytes.NewReader(cut))
	if err != nil {
		t.Fatal(err)
	}
	err = m.Run(context.Background(), src)
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Run error %v, want ErrCorrupt", err)
	}
	st := m.Stats()
	if st.Corrupt != 1 || recs == 0 || st.Records != uint64(recs) || m.cache.Len() != 0 {
		t.Errorf("corrupt %d, records %d (stats %d), cache %d: want 1 corrupt and the flows so far exported",
			st.Corrupt, recs, st.Records, m.cache.Len())
	}
}

func TestMeterRunStopsOnCancel(t *testing.T) {
	m, err := New(Config{}, func(unirec.Record) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	src, err := NewFileSource(bytes.NewReader(pcapBytes([]capturedFrame{{t0, udp(true, 1, 2, nil)}})))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := m.Run(ctx, src); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run error %v, want context.Canceled", err)
	}
}

func TestMeterStopsOnSinkError(t *testing.T) {
	boom := errors.New("downstream closed")
	m, err := New(Config{}, func(unirec.Record) error { return boom })
	if err != nil {
		t.Fatal(err)
	}
	src, err := NewFileSource(bytes.NewReader(pcapBytes([]capturedFrame{
		{t0, udp(true, 1, 2, nil)}, {t0, udp(true, 3, 4, nil)}})))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background(), src); !errors.Is(err, boom) {
		t.Fatalf("Run error %v, want the sink's error", err)
	}
}

func TestNewRejectsUnknownPlugin(t *testing.T) {
	if _, err := New(Config{Plugins: []string{"basic", "nosuch"}}, func(unirec.Record) error { return nil }); err == nil {
		t.Fatal("unknown plugin accepted")
	}
}

func TestTemplatesMatchIpfixprobeHeaders(t *testing.T) {
	// Header lines from the pcap README (ipfixprobe's templates).
	dns := "ipaddr DST_IP,ipaddr SRC_IP,uint64 BYTES,uint64 BYTES_REV,uint64 LINK_BIT_FIELD,time TIME_FIRST,time TIME_LAST,macaddr DST_MAC,macaddr SRC_MAC,uint32 DNS_RR_TTL,uint32 PACKETS,uint32 PACKETS_REV,uint16 DNS_ANSWERS,uint16 DNS_CLASS,uint16 DNS_ID,uint16 DNS_PSIZE,uint16 DNS_QTYPE,uint16 DNS_RLENGTH,uint16 DST_PORT,uint16 SRC_PORT,uint8 DIR_BIT_FIELD,uint8 DNS_DO,uint8 DNS_RCODE,uint8 PROTOCOL,uint8 TCP_FLAGS,uint8 TCP_FLAGS_REV,string DNS_NAME,bytes DNS_RDATA"
	tls := "ipaddr DST_IP,ipaddr SRC_IP,uint64 BYTES,uint64 BYTES_REV,uint64 LINK_BIT_FIELD,time TIME_FIRST,time TIME_LAST,macaddr DST_MAC,macaddr SRC_MAC,uint32 PACKETS,uint32 PACKETS_REV,uint16 DST_PORT,uint16 SRC_PORT,uint16 TLS_VERSION,uint8 DIR_BIT_FIELD,uint8 PROTOCOL,uint8 TCP_FLAGS,uint8 TCP_FLAGS_REV,string TLS_ALPN,bytes TLS_JA3,string TLS_JA4,string TLS_SNI,uint16* TLS_EXT_LEN,uint16* TLS_EXT_TYPE"
	ssdp := "ipaddr DST_IP,ipaddr SRC_IP,uint64 BYTES,uint64 BYTES_REV,uint64 LINK_BIT_FIELD,time TIME_FIRST,time TIME_LAST,macaddr DST_MAC,macaddr SRC_MAC,uint32 PACKETS,uint32 PACKETS_REV,uint16 DST_PORT,uint16 SRC_PORT,uint16 SSDP_LOCATION_PORT,uint8 DIR_BIT_FIELD,uint8 PROTOCOL,uint8 TCP_FLAGS,uint8 TCP_FLAGS_REV,string SSDP_NT,string SSDP_SERVER,string SSDP_ST,string SSDP_USER_AGENT"
	for plugin, want := range map[string]string{"dns": dns, "tls": tls, "ssdp": ssdp, "basic": BasicSpec} {
		m, err := New(Config{Plugins: []string{plugin}}, func(unirec.Record) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		if got := string(m.Template().AppendHeader(nil, ',')); got != want {
			t.Errorf("%s header\n got %s\nwant %s", plugin, got, want)
		}
	}
}
