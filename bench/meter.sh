#!/usr/bin/env bash
# Packets/s of Flowgate's flow_meter (basic plugin, blackhole output b:, one
# core: GOMAXPROCS=1 and taskset) side by side with Debian's nfpcapd and
# softflowd on the same synthetic pcap (bench/cmd/pcapgen), in one run.
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
