#!/usr/bin/env bash
# nfdump file replay: Flowgate's nfreader side by side with nfdump 1.7.1 in
# one run (issue 4, acceptance 3).
#
# 1. Makes a multi-million-flow nfdump file: bench/cmd/nfgen sends NetFlow v9
#    to Debian's nfcapd on loopback; the run stops if nfcapd dropped flows.
# 2. Decode only:  nfreader -i b: FILE            vs  nfdump -r FILE -q -o null
# 3. Text output:  nfreader -i u:X FILE | logger  vs  nfdump -r FILE -o csv
#    (both to /dev/null; the UniRec path goes over a UNIX-socket TRAP IFC).
# Each command runs RUNS times (nfdump -o csv CSV_RUNS times); the best wall
# time counts, which filters out noise from other work on the machine.
#
#   bench/nfdump.sh                    # N=2000000 flows, LZ4 compressed
#   N=5000000 COMPRESS=none bench/nfdump.sh
#   KEEP=/tmp/big.nf bench/nfdump.sh   # keep (or reuse) the generated file
#
# Targets: decoding no slower than nfdump, text at least 3x faster than
# nfdump -o csv.
set -euo pipefail
N=${N:-2000000}
COMPRESS=${COMPRESS:-lz4} # none, lzo, lz4 or bz2
RUNS=${RUNS:-5}
CSV_RUNS=${CSV_RUNS:-1} # nfdump -o csv takes minutes for millions of flows
PPS=${PPS:-20000} # nfgen packets/s (24 flows each); lower it if nfcapd drops
KEEP=${KEEP:-}

for tool in nfcapd nfdump go; do
  command -v "$tool" >/dev/null || { echo "bench/nfdump.sh: $tool not found (apt-get install nfdump)" >&2; exit 1; }
done
if [ "$RUNS" -lt 1 ] || [ "$CSV_RUNS" -lt 1 ]; then echo "RUNS and CSV_RUNS must be at least 1" >&2; exit 1; fi
case $COMPRESS in
  none) zflag= ;; lzo) zflag=-z ;; lz4) zflag=-y ;; bz2) zflag=-j ;;
  *) echo "COMPRESS must be none, lzo, lz4 or bz2" >&2; exit 1 ;;
esac

root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
cleanup() { kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
cd "$root"
go build -o "$work/bin/" ./cmd/nfreader ./cmd/logger ./bench/cmd/nfgen
bin=$work/bin

# --- 1. the nfdump file -------------------------------------------------------
file=
if [ -n "$KEEP" ] && [ -f "$KEEP" ]; then
  file=$KEEP
  N=$(nfdump -I -r "$file" | awk '$1 == "Flows:" { print $2 }')
  echo "reusing $file ($N flows)"
else
  mkdir -p "$work/nf"
  port=$((20000 + RANDOM % 20000))
  t0=$(date +%s.%N)
  # shellcheck disable=SC2086
  nfcapd -b 127.0.0.1 -p "$port" -w "$work/nf" -t 3600 $zflag -B 33554432 -P "$work/nfcapd.pid" >"$work/nfcapd.log" 2>&1 &
  for _ in $(seq 50); do [ -s "$work/nfcapd.pid" ] && break; sleep 0.1; done
  sleep 0.3
  "$bin/nfgen" -addr "127.0.0.1:$port" -n "$N" -pps "$PPS"
  sleep 0.5
  kill -TERM "$(cat "$work/nfcapd.pid")"
  wait
  file=$(ls "$work"/nf/nfcapd.2*)
  got=$(nfdump -I -r "$file" | awk '$1 == "Flows:" { print $2 }')
  t1=$(date +%s.%N)
  if [ "$got" != "$N" ]; then
    echo "nfcapd stored $got of $N flows (UDP drops): rerun with a lower PPS" >&2
    exit 1
  fi
  echo "generated $N flows ($COMPRESS, $(du -h "$file" | cut -f1)) in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"
  if [ -n "$KEEP" ]; then cp "$file" "$KEEP"; fi
fi

# --- 2./3. timings ---------------------------------------------------------------
now() { date +%s.%N; }
# best RUNS CMD...: the best wall time of RUNS runs of CMD, in seconds.
best() {
  local runs=$1 b= t0 t1 d
  shift
  for _ in $(seq "$runs"); do
    t0=$(now); "$@"; t1=$(now)
    d=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')
    if [ -z "$b" ] || awk -v d="$d" -v b="$b" 'BEGIN { exit !(d < b) }'; then b=$d; fi
  done
  echo "$b"
}

nfdump_null() { nfdump -r "$file" -q -o null >/dev/null; }
nfreader_null() { "$bin/nfreader" -i b: "$file" >/dev/null; }
nfdump_csv() { nfdump -r "$file" -o csv >/dev/null; }
export TRAP_SOCKET_DIR="$work/sock"
mkdir -p "$TRAP_SOCKET_DIR"
nfreader_logger() {
  # nfreader waits (TRAP WAIT timeout) until logger connects; the clock
  # covers both processes from nfreader's start to logger's exit.
  rm -f "$TRAP_SOCKET_DIR/trap-nfbench.sock"
  "$bin/nfreader" -i u:nfbench "$file" >/dev/null &
  local send=$!
  for _ in $(seq 500); do [ -S "$TRAP_SOCKET_DIR/trap-nfbench.sock" ] && break; sleep 0.01; done
  "$bin/logger" -i u:nfbench >/dev/null
  wait "$send"
}

echo "best of $RUNS runs ($CSV_RUNS for nfdump -o csv), $N flows:"
d_c=$(best "$RUNS" nfdump_null)
d_go=$(best "$RUNS" nfreader_null)
t_c=$(best "$CSV_RUNS" nfdump_csv)
t_go=$(best "$RUNS" nfreader_logger)

awk -v n="$N" -v dc="$d_c" -v dg="$d_go" -v tc="$t_c" -v tg="$t_go" 'BEGIN {
  printf "%-44s %8.3f s %12.0f records/s\n", "decode: nfdump -r FILE -q -o null", dc, n / dc
  printf "%-44s %8.3f s %12.0f records/s\n", "decode: nfreader -i b: FILE", dg, n / dg
  printf "%-44s %8.3f s %12.0f records/s\n", "text:   nfdump -r FILE -o csv", tc, n / tc
  printf "%-44s %8.3f s %12.0f records/s\n", "text:   nfreader -i u:X FILE -> logger -i u:X", tg, n / tg
  printf "decode speed nfreader/nfdump = %.2f (target >= 1.00: %s)\n", dc / dg, (dc / dg >= 1) ? "met" : "MISSED"
  printf "text speed   nfreader+logger/nfdump csv = %.2f (target >= 3.00: %s)\n", tc / tg, (tc / tg >= 3) ? "met" : "MISSED"
}'
