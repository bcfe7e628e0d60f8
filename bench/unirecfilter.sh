#!/usr/bin/env bash
# unirecfilter throughput, Flowgate's side by side with NEMEA's C module:
# N basic-flow records (default 5 M, 66-byte records) from a file IFC
# through a 3-term filter into a blackhole, RUNS runs each, alternating,
# median wall time and CPU time (user+sys), and the ratio C/Go.
# Before timing, both outputs on the first 200000 records are compared
# (C logger text) so that the figures are for the same work.
#
#   NEMEA_BIN=../shared/nemea-c/bin bench/unirecfilter.sh
#   N=1000000 RUNS=3 FILTER='PROTOCOL == 17' bench/unirecfilter.sh
set -euo pipefail
N=${N:-5000000}
RUNS=${RUNS:-5}
FILTER=${FILTER:-'PROTOCOL == TCP && BYTES > 1000 && DST_IP == 10.0.0.0/8'}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$root"
go build -o "$work/go/" ./cmd/unirecfilter ./cmd/logreplay ./cmd/logger
NEMEA_BIN=${NEMEA_BIN:-/usr/bin/nemea}
have_c=0
if [ -x "$NEMEA_BIN/unirecfilter" ]; then
	have_c=1
	# The shared C build may have its library symlinks flattened into small
	# text files naming the target: link them in a private folder.
	lib="$NEMEA_BIN/../lib"
	if [ -d "$lib" ]; then
		mkdir -p "$work/clib"
		for f in "$lib"/*.so.*; do
			if [ ! -L "$f" ] && [ "$(stat -c %s "$f")" -lt 256 ] && [ -f "$lib/$(cat "$f")" ]; then
				ln -s "$(cd "$lib" && pwd)/$(cat "$f")" "$work/clib/$(basename "$f")"
			fi
		done
		export LD_LIBRARY_PATH="$work/clib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
	fi
fi
export TRAP_SOCKET_DIR=$work

gen() {
	awk -v n="$1" 'BEGIN {
	  print "ipaddr DST_IP,ipaddr SRC_IP,uint64 BYTES,time TIME_FIRST,time TIME_LAST,uint32 PACKETS,uint16 DST_PORT,uint16 SRC_PORT,uint8 PROTOCOL,uint8 TCP_FLAGS"
	  for (i = 0; i < n; i++)
	    printf "%d.%d.%d.%d,192.168.%d.%d,%d,2024-01-15T10:%02d:%02d.%03d,2024-01-15T10:%02d:%02d.%03d,%d,%d,%d,%d,%d\n",
	      (i%5==0)?11:10, (i/65536)%256, (i/256)%256, i%256, (i/256)%256, i%256, 40+(i*37)%3000, (i/60)%60, i%60, i%1000, (i/60)%60, i%60, (i+7)%1000,
	      1+i%100, (i*7)%65536, 1024+i%60000, (i%3==0)?17:6, i%64
	}'
}
gen "$N" >"$work/flows.csv"
"$work/go/logreplay" -i "f:$work/in.trapcap" -f "$work/flows.csv" >/dev/null
rm "$work/flows.csv"
echo "records: $N basic flows ($(du -h "$work/in.trapcap" | cut -f1) trapcap); filter: $FILTER; $RUNS runs each, medians"

impls=(go)
[ "$have_c" = 1 ] && impls+=(c)
bin_of() { if [ "$1" = go ]; then echo "$work/go"; else echo "$NEMEA_BIN"; fi; }

# Same records out of both on a prefix of the input.
gen 200000 >"$work/check.csv"
"$work/go/logreplay" -i "f:$work/check.trapcap" -f "$work/check.csv" >/dev/null
for impl in "${impls[@]}"; do
	"$(bin_of "$impl")/unirecfilter" -i "f:$work/check.trapcap,f:$work/out-$impl.trapcap" -F "$FILTER" >/dev/null 2>&1
	"$work/go/logger" -i "f:$work/out-$impl.trapcap" >"$work/out-$impl.txt"
done
matched=$(wc -l <"$work/out-go.txt")
if [ "$have_c" = 1 ] && ! cmp -s "$work/out-go.txt" "$work/out-c.txt"; then
	echo "error: the outputs differ on the first 200000 records" >&2
	exit 1
fi
echo "check: $matched of 200000 records pass, outputs identical"

: >"$work/results"
for run in $(seq "$RUNS"); do
	for impl in "${impls[@]}"; do
		bin=$(bin_of "$impl")
		/usr/bin/time -o "$work/cpu" -f "%e %U %S" "$bin/unirecfilter" -i "f:$work/in.trapcap,b:" -F "$FILTER" >/dev/null 2>&1
		echo "$impl $(awk '{ printf "%s %.2f", $1, $2 + $3 }' "$work/cpu")" >>"$work/results"
	done
done
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo
printf '%4s %10s %14s %10s\n' impl seconds records/s cpu_s
for impl in "${impls[@]}"; do
	s=$(awk -v i="$impl" '$1 == i { print $2 }' "$work/results" | median)
	c=$(awk -v i="$impl" '$1 == i { print $3 }' "$work/results" | median)
	printf '%4s %10.3f %14.0f %10.2f\n' "$impl" "$s" "$(awk -v n="$N" -v s="$s" 'BEGIN { print n / s }')" "$c"
	echo "$impl $s $c" >>"$work/medians"
done
if [ "$have_c" = 1 ]; then
	awk '{ s[$1] = $2; c[$1] = $3 } END { printf "\nratio go/c records/s = %.2f (wall), %.2f (cpu)\n", s["c"] / s["go"], c["c"] / c["go"] }' "$work/medians"
else
	echo "C unirecfilter not found in $NEMEA_BIN: no ratio. Set NEMEA_BIN to run both in the same run."
fi
