#!/usr/bin/env bash
# Records/s of Flowgate's TRAP stack for the basic-flow template, in the two
# setups of issue 2, side by side with the C libtrap modules when they are
# installed (set NEMEA_BIN to the folder holding the C traffic_repeater and
# logreplay; packaged NEMEA puts them in /usr/bin/nemea).
#
#   bench/trap.sh            # N=2000000 records
#   N=500000 bench/trap.sh
set -euo pipefail
N=${N:-2000000}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
cleanup() { kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

cd "$root"
go build -o "$work/go/" ./cmd/logreplay ./cmd/traffic_repeater
NEMEA_BIN=${NEMEA_BIN:-/usr/bin/nemea}
have_c=0
if [ -x "$NEMEA_BIN/traffic_repeater" ] && [ -x "$NEMEA_BIN/logreplay" ]; then have_c=1; fi

now() { date +%s.%N; }
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.0f", n / (b - a) }'; }

# N basic-flow records: a logger CSV, replayed once into a trapcap.
awk -v n="$N" 'BEGIN {
  print "ipaddr DST_IP,ipaddr SRC_IP,uint64 BYTES,time TIME_FIRST,time TIME_LAST,uint32 PACKETS,uint16 DST_PORT,uint16 SRC_PORT,uint8 PROTOCOL,uint8 TCP_FLAGS"
  for (i = 0; i < n; i++)
    printf "10.%d.%d.%d,192.168.%d.%d,%d,2024-01-15T10:%02d:%02d.%03d,2024-01-15T10:%02d:%02d.%03d,%d,%d,%d,%d,%d\n",
      (i/65536)%256, (i/256)%256, i%256, (i/256)%256, i%256, 40+i%1500, (i/60)%60, i%60, i%1000, (i/60)%60, i%60, (i+7)%1000,
      1+i%100, (i*7)%65536, 1024+i%60000, (i%3==0)?17:6, i%64
}' > "$work/flows.csv"
echo "records: $N basic flows ($(du -h "$work/flows.csv" | cut -f1) of CSV)"

# run_setups IMPL BIN: prints "impl setup records/s" lines.
run_setups() {
  local impl=$1 bin=$2 f="$work/$1.trapcap" t0 t1
  t0=$(now); "$bin/logreplay" -i "f:$f" -f "$work/flows.csv" >/dev/null; t1=$(now)
  echo "$impl logreplay_csv_to_file $(rate "$N" "$t0" "$t1")"

  t0=$(now); "$bin/traffic_repeater" -i "f:$f,b:" >/dev/null; t1=$(now)
  echo "$impl repeater_file_to_blackhole $(rate "$N" "$t0" "$t1")"

  export TRAP_SOCKET_DIR="$work/sock_$impl"; mkdir -p "$TRAP_SOCKET_DIR"
  # Start upstream first so nobody waits out a reconnect interval; under the
  # default WAIT timeout nothing flows before the receiver is connected, so
  # the clock starts with the receiver.
  "$bin/traffic_repeater" -i "f:$f,u:bench_a" >/dev/null & local send=$!
  sleep 0.3
  "$bin/traffic_repeater" -i "u:bench_a,u:bench_b" >/dev/null & local mid=$!
  sleep 0.3
  t0=$(now)
  "$bin/traffic_repeater" -i "u:bench_b,b:" >/dev/null
  t1=$(now)
  wait "$send" "$mid"
  echo "$impl sender_repeater_receiver_unix $(rate "$N" "$t0" "$t1")"
}

results="$work/results"
run_setups go "$work/go" | tee "$results"
if [ "$have_c" = 1 ]; then
  run_setups c "$NEMEA_BIN" | tee -a "$results"
  echo
  awk '{ r[$1" "$2] = $3 } END {
    split("logreplay_csv_to_file repeater_file_to_blackhole sender_repeater_receiver_unix", s, " ")
    for (i = 1; i <= 3; i++) printf "%-32s go/c = %.2f\n", s[i], r["go " s[i]] / r["c " s[i]]
  }' "$results"
else
  echo
  echo "C libtrap modules not found in $NEMEA_BIN (NEMEA has no Debian package): no ratio printed."
  echo "Install NEMEA and set NEMEA_BIN to run both in the same run."
fi
