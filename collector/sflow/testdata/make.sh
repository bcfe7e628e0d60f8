#!/bin/sh
# Regenerates the sFlow v5 golden files in this directory (see README.md).
#
# Exporter:   pmacct's pmacctd + sfprobe plugin reading the shared pcaps.
# References: pmacct's sfacctd (print plugin, CSV), goflow2's sFlow decoder and
#             proto producer (JSON lines, via ./gen), tshark -O sflow.
#
# Needs: pmacctd, sfacctd, tshark, go (runs as any user), and for the live
# counter-sample capture (counters-*): root, iproute2 (netns + veth), tcpreplay.
# Usage: sh make.sh            (from anywhere; writes next to this script)
#        PCAPS=/path sh make.sh (folder holding http.pcap, mixed.pcap, vlan.pcap)
# Sampling in pmacctd's sfprobe is random, so every run produces different
# datagrams for sampling rates > 1: the committed files are one such run, and the
# reference decodings are always regenerated from the committed captures with
# `sh make.sh decode` (deterministic).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
PCAPS=${PCAPS:-$(cd "$REPO" && git rev-parse --path-format=absolute --git-common-dir 2>/dev/null | sed 's,/\.git$,,;s,/[^/]*$,,')/shared/testdata/pcap}
[ -d "$PCAPS" ] || PCAPS=/work/shared/testdata/pcap
AGENT=192.0.2.10
TMP=$(mktemp -d)
NS=""
CAP=""
cleanup() {
	[ -n "$CAP" ] && kill -TERM "$CAP" 2>/dev/null
	[ -n "$NS" ] && ip netns del "$NS" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

(cd "$REPO" && go build -o "$TMP/gen" ./collector/sflow/testdata/gen)

# start_capture OUT [NETNS]: runs gen capture in the background, sets CAP and PORT.
start_capture() {
	rm -f "$TMP/port"
	if [ -n "${2:-}" ]; then
		ip netns exec "$2" "$TMP/gen" capture -out "$1" -portfile "$TMP/port" &
	else
		"$TMP/gen" capture -out "$1" -portfile "$TMP/port" &
	fi
	CAP=$!
	i=0
	while [ ! -s "$TMP/port" ]; do
		i=$((i + 1)); [ $i -lt 100 ] || { echo "capture did not start" >&2; exit 1; }
		sleep 0.1
	done
	PORT=$(cat "$TMP/port")
}

stop_capture() {
	sleep 1
	kill -TERM "$CAP"
	wait "$CAP"
	CAP=""
}

# export_savefile NAME INPUT RATE: pmacctd reads INPUT (pcap_savefile) and
# exports sFlow at sampling rate RATE; the datagrams go to NAME.pcap.
export_savefile() {
	start_capture "$HERE/$1.pcap"
	cat > "$TMP/$1.pmacctd.conf" <<CONF
daemonize: false
pcap_savefile: $2
plugins: sfprobe[a]
sfprobe_receiver[a]: 127.0.0.1:$PORT
sfprobe_agentip[a]: $AGENT
sampling_rate[a]: $3
CONF
	# pmacctd's exit status after a savefile is not reliable (the core may exit
	# non-zero when the plugin goes away first); the datagram count is checked below.
	pmacctd -f "$TMP/$1.pmacctd.conf" > "$TMP/$1.pmacctd.log" 2>&1 || true
	stop_capture
}

# export_live NAME INPUT RATE PPS: pmacctd listens on one end of a veth pair in a
# fresh network namespace while tcpreplay sends INPUT into the other end at PPS
# packets/s. Live capture is the only way to get sfprobe's counter samples: its
# poller ticks on wall-clock time (about every 20 s), which a savefile never spans.
export_live() {
	NS=sfgold$$
	ip netns add "$NS"
	ip netns exec "$NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	ip netns exec "$NS" ip link set lo up
	ip netns exec "$NS" ip link add v0 type veth peer name v1
	ip netns exec "$NS" ip link set v0 mtu 9000 up
	ip netns exec "$NS" ip link set v1 mtu 9000 up
	start_capture "$HERE/$1.pcap" "$NS"
	cat > "$TMP/$1.pmacctd.conf" <<CONF
daemonize: false
pcap_interface: v1
plugins: sfprobe[a]
sfprobe_receiver[a]: 127.0.0.1:$PORT
sfprobe_agentip[a]: $AGENT
sampling_rate[a]: $3
CONF
	ip netns exec "$NS" pmacctd -f "$TMP/$1.pmacctd.conf" > "$TMP/$1.pmacctd.log" 2>&1 &
	PM=$!
	sleep 2
	ip netns exec "$NS" tcpreplay -q -i v0 --pps="$4" "$2" > /dev/null
	sleep 25
	kill -INT "$PM"
	wait "$PM" || true
	stop_capture
	ip netns del "$NS"
	NS=""
}

# sfacctd_csv NAME MODE OUT: sfacctd reads NAME.pcap (pcap_savefile) with the
# print plugin; rows sorted (C locale) below the header. MODE:
#   plain      no renormalisation (PACKETS = samples, BYTES = sum of frame_length)
#   renorm     sfacctd_renormalize with a sampling_map that states, for the agent,
#              the sampling rate the samples announce: scaled by that rate
#   estimated  sfacctd_renormalize alone: scaled by sfacctd's own per-sample
#              estimate (see README)
sfacctd_csv() {
	renorm=false
	smap=""
	case $2 in
	renorm)
		renorm=true
		rates=$(tshark -r "$HERE/$1.pcap" -d "udp.port==$port,sflow" -T fields \
			-e sflow.flow_sample.sampling_rate 2>/dev/null | tr ',' '\n' | grep . | sort -u)
		[ "$(echo "$rates" | wc -l)" -eq 1 ] || { echo "$1: several sampling rates: $rates" >&2; exit 1; }
		echo "id=$rates ip=$AGENT" > "$TMP/sampling.map"
		smap="sampling_map: $TMP/sampling.map"
		;;
	estimated) renorm=true ;;
	esac
	cat > "$TMP/$1.sfacctd.conf" <<CONF
daemonize: false
pcap_savefile: $HERE/$1.pcap
pcap_savefile_delay: 2
sfacctd_renormalize: $renorm
$smap
plugins: print[p]
print_output[p]: csv
print_output_file[p]: $TMP/out.csv
print_refresh_time[p]: 3600
aggregate[p]: export_proto_seqno,peer_src_ip,in_iface,out_iface,src_mac,dst_mac,vlan,etype,src_host,dst_host,src_port,dst_port,proto,tos,tcpflags,sampling_rate
CONF
	rm -f "$TMP/out.csv"
	sfacctd -f "$TMP/$1.sfacctd.conf" > "$TMP/$1.sfacctd.log" 2>&1 || true
	[ -s "$TMP/out.csv" ] || { cat "$TMP/$1.sfacctd.log" >&2; exit 1; }
	{ head -n 1 "$TMP/out.csv"; tail -n +2 "$TMP/out.csv" | LC_ALL=C sort; } > "$HERE/$3"
}

# sfacctd_counters NAME: sfacctd's counter log (sfacctd_counter_file, JSON).
sfacctd_counters() {
	cat > "$TMP/$1.sfacctd-counters.conf" <<CONF
daemonize: false
pcap_savefile: $HERE/$1.pcap
pcap_savefile_delay: 2
sfacctd_counter_file: $TMP/counters.json
sfacctd_counter_output: json
plugins: print[p]
print_output[p]: csv
print_output_file[p]: $TMP/discard.csv
aggregate[p]: none
CONF
	rm -f "$TMP/counters.json"
	sfacctd -f "$TMP/$1.sfacctd-counters.conf" > "$TMP/$1.sfacctd-counters.log" 2>&1 || true
	# timestamp is sfacctd's wall clock at decode time: blank it for reproducibility
	sed 's/"timestamp": *"[^"]*"/"timestamp": ""/' "$TMP/counters.json" > "$HERE/$1.sfacctd-counters.json"
}

decode() {
	name=$1
	port=$(tshark -r "$HERE/$name.pcap" -c 1 -T fields -e udp.dstport 2>/dev/null)
	sfacctd_csv "$name" plain "$name.sfacctd.csv"
	sfacctd_csv "$name" renorm "$name.sfacctd-renorm.csv"
	sfacctd_csv "$name" estimated "$name.sfacctd-renorm-estimated.csv"
	"$TMP/gen" goflow2 -in "$HERE/$name.pcap" -out "$HERE/$name.goflow2.json"
	# tshark's sFlow tree; the dissection of the sampled headers is cut below the
	# one-line summaries (indent >= 20) and the file gzipped (-n: no name/time).
	tshark -r "$HERE/$name.pcap" -d "udp.port==$port,sflow" -O sflow 2>/dev/null |
		awk 'match($0, /^ */) && RLENGTH < 20' | gzip -9n > "$HERE/$name.tshark.txt.gz"
}

CAPTURES="http-r1 mixed-r1 mixed-r4 vlan-r1 counters-http-r2"
if [ "${1:-}" != decode ]; then
	export_savefile http-r1 "$PCAPS/http.pcap" 1
	export_savefile mixed-r1 "$PCAPS/mixed.pcap" 1
	export_savefile mixed-r4 "$PCAPS/mixed.pcap" 4
	export_savefile vlan-r1 "$PCAPS/vlan.pcap" 1
	export_live counters-http-r2 "$PCAPS/http.pcap" 2 2
fi
for c in $CAPTURES; do
	decode "$c"
done
sfacctd_counters counters-http-r2
"$TMP/gen" goflow2raw -in "$HERE/counters-http-r2.pcap" -out "$HERE/counters-http-r2.goflow2raw.json"
echo "pmacctd: $(pmacctd -V 2>&1 | head -n 1)"
echo "tshark:  $(tshark -v 2>/dev/null | head -n 1)"
(cd "$REPO" && echo "goflow2: $(go list -m github.com/netsampler/goflow2/v2)")
