#!/usr/bin/env bash
# CPU per sFlow flow sample, flowgate's sflow source against pmacct's
# sfacctd, in the same run at a fixed rate over loopback UDP, and the ratio.
#
#   bench/sflow.sh
#   RATE=500000 DUR=3 REPS=5 PER=8 bench/sflow.sh
#
# bench/cmd/sflowsend sends DUR seconds of synthetic sFlow v5 at RATE flow
# samples per second (PER samples per datagram, each a 128-byte raw
# Ethernet/802.1Q/IPv4 header and an extended switch record, sampling rate
# 1 so packets equal samples). REPS alternating runs of each collector
# measure the CPU seconds (user + system from /proc/PID/stat, of every
# process of the collector: sfacctd's core and its print plugin) from just
# before the send until everything sent was stored, per million samples.
#
# flowgate (-l sflow://) writes one UniRec record per sample to an f:
# trapcap file and is counted from flowgate_output_records_total. sfacctd
# runs its print plugin (CSV to a file, appended at a 1 s refresh,
# aggregated on the 5-tuple: pmacct's usual way) and is counted by the sum
# of PACKETS over the file. A run counts only when nothing was lost; the
# medians and sfacctd/flowgate are printed (above 1: flowgate needs less
# CPU per sample). The machine is shared: run it several times.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
RATE=${RATE:-200000}
DUR=${DUR:-2}
REPS=${REPS:-3}
PER=${PER:-8}
CLK_TCK=$(getconf CLK_TCK)
BUF=16777216
work=$(mktemp -d)
cleanup() {
  kill $(jobs -p) 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

cd "$root"
go build -o "$work/bin/" ./cmd/flowgate ./bench/cmd/sflowsend
have_sfacctd=1
command -v sfacctd >/dev/null || have_sfacctd=0

free_port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
free_tcp() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
send() { "$work/bin/sflowsend" -rate "$RATE" -per "$PER" -d "${DUR}s" "127.0.0.1:$1" | awk '{ print $2 }'; }

# cpu_ticks PID... -> user + system clock ticks of the processes and of
# their children already waited for
cpu_ticks() {
  local t=0 p
  for p in "$@"; do
    [ -r "/proc/$p/stat" ] && t=$((t + $(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$p/stat")))
  done
  echo "$t"
}

records_metric() {
  curl -s "http://127.0.0.1:$1/metrics" | awk '/^flowgate_output_records_total/ { n += $2 } END { printf "%.0f\n", n }'
}

# flowgate_step -> "sent stored cputicks"
flowgate_step() {
  local port mport pid sent got prev t0 t1
  port=$(free_port); mport=$(free_tcp)
  rm -f "$work"/fg.trapcap*
  FLOWGATE_METRICS_LISTEN=127.0.0.1:$mport TRAP_SOCKET_DIR=$work \
    "$work/bin/flowgate" -l "sflow://127.0.0.1:$port" -i "f:$work/fg.trapcap" 2>"$work/flowgate.log" &
  pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$mport/metrics" >/dev/null && break; sleep 0.05; done
  t0=$(cpu_ticks "$pid")
  sent=$(send "$port")
  got=$(records_metric "$mport"); prev=-1
  while [ "$got" != "$prev" ]; do sleep 0.3; prev=$got; got=$(records_metric "$mport"); done
  t1=$(cpu_ticks "$pid")
  kill -TERM "$pid"; wait "$pid" || true
  rm -f "$work"/fg.trapcap*
  echo "$sent $got $((t1 - t0))"
}

# sfacctd_step -> "sent stored cputicks"
sfacctd_step() {
  local port pid sent got t0 t1 prev pids
  port=$(free_port)
  rm -f "$work/sf.csv"
  cat >"$work/sfacctd.conf" <<EOF
daemonize: false
sfacctd_ip: 127.0.0.1
sfacctd_port: $port
sfacctd_pipe_size: $BUF
sfacctd_renormalize: false
plugins: print
plugin_pipe_size: 67108864
plugin_buffer_size: 65536
aggregate: src_host, dst_host, src_port, dst_port, proto
print_output: csv
print_output_file: $work/sf.csv
print_output_file_append: true
print_refresh_time: 1
EOF
  sfacctd -f "$work/sfacctd.conf" >"$work/sfacctd.log" 2>&1 &
  pid=$!
  sleep 1
  pids="$pid $(pgrep -P "$pid" | tr '\n' ' ')"
  # shellcheck disable=SC2086
  t0=$(cpu_ticks $pids)
  sent=$(send "$port")
  # Done when the CPU time stops growing over two print refreshes.
  # shellcheck disable=SC2086
  t1=$(cpu_ticks $pids); prev=-1
  while [ "$t1" != "$prev" ]; do
    sleep 2.2; prev=$t1
    # shellcheck disable=SC2086
    t1=$(cpu_ticks $pids)
  done
  kill -INT "$pid"; wait "$pid" || true
  got=$(awk -F, '$1 != "SRC_IP" { n += $(NF - 1) } END { printf "%.0f\n", n }' "$work/sf.csv" 2>/dev/null || echo 0)
  echo "$sent $got $((t1 - t0))"
}

median() { sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print "n/a"; else if (NR % 2) print a[(NR + 1) / 2]; else printf "%.4f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
declare -A cpu
tools=flowgate
[ "$have_sfacctd" = 1 ] && tools="flowgate sfacctd"
echo "CPU per sFlow sample at $RATE samples/s ($PER per datagram, ${DUR}s runs, $REPS each, alternating):"
for tool in $tools; do cpu[$tool]=""; done
for rep in $(seq "$REPS"); do
  for tool in $tools; do
    read -r sent got ticks < <("${tool}_step")
    per=$(awk -v t="$ticks" -v hz="$CLK_TCK" -v n="$sent" 'BEGIN { printf "%.4f", t / hz / (n / 1e6) }')
    if [ "$got" -ge "$sent" ] && [ "$sent" -gt 0 ]; then
      printf "  %-8s run %d: sent %9d stored %9d  %s CPU s per million samples\n" "$tool" "$rep" "$sent" "$got" "$per"
      cpu[$tool]+="$per "
    else
      printf "  %-8s run %d: sent %9d stored %9d  LOSS %d (not counted)\n" "$tool" "$rep" "$sent" "$got" "$((sent - got))"
    fi
  done
done
echo
fg=$(tr ' ' '\n' <<<"${cpu[flowgate]}" | grep . | median)
if [ "$have_sfacctd" = 1 ]; then
  sf=$(tr ' ' '\n' <<<"${cpu[sfacctd]}" | grep . | median)
  ratio=$(awk -v a="$fg" -v b="$sf" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", b / a; else print "n/a" }')
  echo "CPU seconds per million sFlow samples (median of loss-free runs): flowgate $fg  sfacctd $sf  sfacctd/flowgate $ratio"
else
  echo "CPU seconds per million sFlow samples (median of loss-free runs): flowgate $fg  (sfacctd not installed)"
fi
