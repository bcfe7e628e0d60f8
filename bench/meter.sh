#!/usr/bin/env bash
# Packets/s of Flowgate's flow_meter (basic plugin, blackhole output b:, one
# core: GOMAXPROCS=1 and taskset) side by side with Debian's nfpcapd and
# softflowd on the same synthetic pcap (bench/cmd/pcapgen), in one run;
# then, as root, live capture on a veth pair against nfpcapd (see the end).
#
#   bench/meter.sh                      # N=2000000 packets over F=50000 flows
#   N=4000000 F=100000 bench/meter.sh
#
# Each meter reads the file once from the page cache (it is read once
# before the first run). Rates are packets over wall-clock time of the whole
# process, start-up included. nfpcapd writes nfdump files (-w); softflowd
# exports NetFlow to a closed local UDP port (-c none: softflowd 1.1.0 may
# otherwise hang on its control socket when reading a file). flow_meter's
# allocations are the process's heap allocations from its -v summary.
set -euo pipefail
N=${N:-2000000}
F=${F:-50000}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cd "$root"
go build -o "$work/" ./bench/cmd/pcapgen ./cmd/flow_meter
pcap="$work/bench.pcap"
"$work/pcapgen" -n "$N" -f "$F" -o "$pcap"
cat "$pcap" >/dev/null
echo "capture: $N packets over $F flows, $(du -h "$pcap" | cut -f1)"

now() { date +%s.%N; }
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.0f", n / (b - a) }'; }
pin=()
if command -v taskset >/dev/null; then pin=(taskset -c 0); fi

results="$work/results"
: >"$results"

t0=$(now)
GOMAXPROCS=1 "${pin[@]}" "$work/flow_meter" -v -i b: -r "$pcap" -p basic 2>"$work/fm.log"
t1=$(now)
summary=$(tail -n 1 "$work/fm.log")
allocs=$(sed -n 's/.*, \([0-9]*\) heap allocations.*/\1/p' <<<"$summary")
echo "flowgate_flow_meter $(rate "$N" "$t0" "$t1")" >>"$results"
echo "$summary"
awk -v a="$allocs" -v n="$N" 'BEGIN { printf "flow_meter: %.6f heap allocations per packet (whole process)\n", a / n }'

if command -v nfpcapd >/dev/null; then
	mkdir -p "$work/nfpcapd"
	t0=$(now)
	nfpcapd -r "$pcap" -w "$work/nfpcapd" >"$work/nfpcapd.log" 2>&1
	t1=$(now)
	echo "nfpcapd $(rate "$N" "$t0" "$t1")" >>"$results"
	echo "nfpcapd: $(grep -m1 'Total: Processed' "$work/nfpcapd.log" || tail -n 1 "$work/nfpcapd.log")"
else
	echo "nfpcapd not installed: skipped"
fi

if command -v softflowd >/dev/null; then
	port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null || echo 39999)
	t0=$(now)
	softflowd -d -r "$pcap" -m 100000 -n "127.0.0.1:$port" -c none -p "$work/softflowd.pid" >"$work/softflowd.log" 2>&1
	t1=$(now)
	echo "softflowd $(rate "$N" "$t0" "$t1")" >>"$results"
	echo "softflowd: $(grep -m1 -i 'flushed' "$work/softflowd.log" | xargs || true) flows flushed"
else
	echo "softflowd not installed: skipped"
fi

echo
awk '
	{ name[NR] = $1; r[NR] = $2; if ($1 == "flowgate_flow_meter") ours = $2 }
	END {
		printf "%-22s %14s %18s\n", "meter", "packets/s", "flowgate / meter"
		for (i = 1; i <= NR; i++)
			printf "%-22s %14d %17.2fx\n", name[i], r[i], ours / r[i]
	}' "$results"

# --- live capture ------------------------------------------------------------
# tcpreplay sends a generated capture into one end of a veth pair this script
# creates; flow_meter (AF_PACKET TPACKET_V3 ring, W workers) and then
# nfpcapd (libpcap) capture the other end, at each rate of RATES packets/s
# (0: tcpreplay --topspeed). Reported per meter: frames the kernel gave it,
# frames it dropped (ring or buffer full), and packets per CPU-second of the
# meter process. Needs root (veth) and tcpreplay; LIVE=0 skips it.
LIVE=${LIVE:-1}
LIVE_N=${LIVE_N:-200000}
RATES=${RATES:-"50000 100000 200000 0"}
W=${W:-1}
if [ "$LIVE" != 1 ]; then exit 0; fi
if [ "$(id -u)" != 0 ] || ! command -v tcpreplay >/dev/null || ! command -v ip >/dev/null; then
	echo "live capture: skipped (needs root, ip and tcpreplay)"
	exit 0
fi
lpcap="$work/live.pcap"
"$work/pcapgen" -n "$LIVE_N" -f "$((F / 10 + 1))" -o "$lpcap"
va="fgb$$a" vb="fgb$$b"
ip link add "$va" type veth peer name "$vb"
trap 'ip link del "$va" 2>/dev/null; rm -rf "$work"' EXIT
for i in "$va" "$vb"; do
	echo 1 >"/proc/sys/net/ipv6/conf/$i/disable_ipv6"
	ip link set "$i" mtu 65535 up
done

# cpu PID: user+system seconds the process used so far.
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }
# replay RATE: sends the capture, prints tcpreplay's achieved packets/s.
replay() {
	local how=(--topspeed)
	if [ "$1" != 0 ]; then how=(--pps="$1"); fi
	tcpreplay -i "$va" "${how[@]}" "$lpcap" 2>&1 | awk '/Rated:/ { printf "%.0f", $(NF - 1) }'
}

echo
echo "live capture on veth, $LIVE_N packets per run, flow_meter with $W worker(s):"
printf "%-10s %12s | %-36s | %-36s\n" "" "" "flow_meter" "nfpcapd"
printf "%-10s %12s | %10s %8s %16s | %10s %8s %16s\n" "rate" "sent pps" "received" "dropped" "packets/cpu-s" "received" "dropped" "packets/cpu-s"
best_fm=0 best_nf=0
for rate in $RATES; do
	GOMAXPROCS=$W "$work/flow_meter" -v -i b: -I "$vb" -W "$W" 2>"$work/live_fm.log" &
	fm=$!
	sleep 0.5
	sent=$(replay "$rate")
	sleep 0.5
	c_fm=$(cpu "$fm")
	kill -INT "$fm"
	wait "$fm" || true
	read -r r_fm d_fm < <(sed -n 's/.*kernel: \([0-9]*\) frames received, \([0-9]*\) dropped.*/\1 \2/p' "$work/live_fm.log")

	rm -rf "$work/nflive" && mkdir -p "$work/nflive"
	nfpcapd -i "$vb" -w "$work/nflive" >"$work/live_nf.log" 2>&1 &
	nf=$!
	sleep 1
	sent2=$(replay "$rate")
	sleep 0.5
	c_nf=$(cpu "$nf")
	kill -TERM "$nf"
	wait "$nf" || true
	read -r r_nf d_nf < <(sed -n 's/.*Stat: received: \([0-9]*\), dropped by OS\/Buffer: \([0-9]*\).*/\1 \2/p' "$work/live_nf.log")

	awk -v rate="$rate" -v s="$sent" -v s2="$sent2" -v rf="${r_fm:-0}" -v df="${d_fm:-?}" -v cf="$c_fm" -v rn="${r_nf:-0}" -v dn="${d_nf:-?}" -v cn="$c_nf" 'BEGIN {
		printf "%-10s %12s | %10d %8s %16.0f | %10d %8s %16.0f\n", (rate == 0) ? "topspeed" : rate, s "/" s2, rf, df, (cf > 0) ? rf / cf : 0, rn, dn, (cn > 0) ? rn / cn : 0
	}'
	if [ "${d_fm:-1}" = 0 ] && [ "$sent" -gt "$best_fm" ]; then best_fm=$sent; fi
	if [ "${d_nf:-1}" = 0 ] && [ "$sent2" -gt "$best_nf" ]; then best_nf=$sent2; fi
done
awk -v a="$best_fm" -v b="$best_nf" 'BEGIN {
	printf "highest rate with 0 kernel drops: flow_meter %d pps, nfpcapd %d pps, ratio %.2fx", a, b, (b > 0) ? a / b : 0
	print " (both at the sender'"'"'s ceiling when neither drops: compare packets/cpu-s)"
}'
