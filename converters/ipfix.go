package converters

import (
	"fmt"
	"strings"
)

// defaultElements is the basic, biflow and TCP part of ipfixcol2's
// unirec-elements.txt (same names, types and element ids), plus the
// NetFlow-era sources nfcapd also accepts: flowStart/EndSysUpTime (22/21,
// NetFlow v9 FIRST/LAST_SWITCHED and the v5 first/last fields),
// icmpTypeCodeIPv6 (139) for DST_PORT and the delta-microsecond times
// (158/159). The collector converts every time encoding to UniRec time.
const defaultElements = `
SRC_IP           ipaddr   e0id8,e0id27
DST_IP           ipaddr   e0id12,e0id28
SRC_PORT         uint16   e0id7
DST_PORT         uint16   e0id11,e0id32,e0id139
PROTOCOL         uint8    e0id4
TCP_FLAGS        uint8    e0id6
BYTES            uint64   e0id1
PACKETS          uint32   e0id2
TTL              uint8    e0id192
TTL_REV          uint8    e29305id192
TOS              uint8    e0id5
TIME_FIRST       time     e0id150,e0id152,e0id154,e0id156,e0id22,e0id158
TIME_LAST        time     e0id151,e0id153,e0id155,e0id157,e0id21,e0id159
DIR_BIT_FIELD    uint8    _internal_dbf_
LINK_BIT_FIELD   uint64   _internal_lbf_
ODID             uint32   _internal_odid_
EXPORTER_IP      ipaddr   _internal_exporter_ip_
SRC_MAC          macaddr  e0id56
DST_MAC          macaddr  e0id80
FLOW_END_REASON  uint8    iana:flowEndReason
BYTES_REV        uint64   e29305id1
PACKETS_REV      uint32   e29305id2
TCP_FLAGS_REV    uint8    e29305id6
L4_TCP_WIN       uint16   e0id186
L4_TCP_WIN_REV   uint16   e29305id186
L4_TCP_OPTIONS   uint64   e0id209
L4_TCP_OPTIONS_REV uint64 e29305id209
L3_FLAGS         uint8    e0id197
L3_FLAGS_REV     uint8    e29305id197
IPV6_TUN_TYPE    uint8    e16982id405
APP_ID           bytes    e0id95
`

// DefaultTable returns the built-in IPFIX/NetFlow to UniRec mapping.
func DefaultTable() *Table {
	t, err := ParseTable(strings.NewReader(defaultElements))
	if err != nil { // the constant above is covered by tests
		panic(fmt.Sprintf("converters: built-in element table: %v", err))
	}
	return t
}

// BasicFlowTemplate is the UniRec template of NEMEA's basic flow (what
// ipfixcol2 and flow_meter emit by default), in any order; unirec sorts it.
const BasicFlowTemplate = "ipaddr DST_IP,ipaddr SRC_IP,uint64 BYTES,uint64 LINK_BIT_FIELD," +
	"time TIME_FIRST,time TIME_LAST,uint32 PACKETS,uint16 DST_PORT,uint16 SRC_PORT," +
	"uint8 DIR_BIT_FIELD,uint8 PROTOCOL,uint8 TCP_FLAGS,uint8 TOS,uint8 TTL"

// BiflowTemplate adds the RFC 5103 reverse counters to BasicFlowTemplate.
const BiflowTemplate = BasicFlowTemplate + ",uint64 BYTES_REV,uint32 PACKETS_REV,uint8 TCP_FLAGS_REV"
