package meter_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"

	"github.com/flowgate/flowgate/ingest/meter"
	"github.com/flowgate/flowgate/unirec"
)

// A one-packet pcap (UDP 10.0.0.1:5353 -> 10.0.0.2:53) metered with the
// basic plugin and printed like NEMEA's logger.
func Example() {
	var pcap bytes.Buffer
	le := binary.LittleEndian
	binary.Write(&pcap, le, []uint32{0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1})
	frame := []byte{
		2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00, // Ethernet
		0x45, 0, 0, 29, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, // IPv4
		0x14, 0xe9, 0, 53, 0, 9, 0, 0, 'x', // UDP
	}
	binary.Write(&pcap, le, []uint32{1700000000, 250000, uint32(len(frame)), uint32(len(frame))})
	pcap.Write(frame)

	m, err := meter.New(meter.Config{Plugins: []string{"basic"}}, func(r unirec.Record) error {
		fmt.Println(string(r.AppendText(nil, ',')))
		return nil
	})
	if err != nil {
		panic(err)
	}
	src, err := meter.NewFileSource(&pcap)
	if err != nil {
		panic(err)
	}
	if err := m.Run(context.Background(), src); err != nil {
		panic(err)
	}
	fmt.Println(string(m.Template().AppendHeader(nil, ',')))
	// Output:
	// 10.0.0.2,10.0.0.1,29,0,0,2023-11-14T22:13:20.250000,2023-11-14T22:13:20.250000,02:00:00:00:00:02,02:00:00:00:00:01,1,0,53,5353,0,17,0,0
	// ipaddr DST_IP,ipaddr SRC_IP,uint64 BYTES,uint64 BYTES_REV,uint64 LINK_BIT_FIELD,time TIME_FIRST,time TIME_LAST,macaddr DST_MAC,macaddr SRC_MAC,uint32 PACKETS,uint32 PACKETS_REV,uint16 DST_PORT,uint16 SRC_PORT,uint8 DIR_BIT_FIELD,uint8 PROTOCOL,uint8 TCP_FLAGS,uint8 TCP_FLAGS_REV
}
