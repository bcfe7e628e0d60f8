#!/usr/bin/env bash
# Highest loss-free NetFlow v9 and IPFIX rate over loopback UDP, for
# flowgate and for Debian's nfcapd 1.7.1 in the same run, with a 16 MB
# receive buffer, and the ratio between them.
#
#   bench/collector.sh
#   RATES_V9="1000000 2000000" RATES_IPFIX="2000000 3000000" DUR=3 bench/collector.sh
#   SEARCH=0 CPU_RATE=1000000 CPU_REPS=5 bench/collector.sh   # CPU per flow only
#
# Then, at the fixed rate CPU_RATE, CPU_REPS alternating runs of each
# collector measure the CPU seconds (user + system) it spent from just
# before the send until it had exited (after storing everything sent and
# flushing its file at SIGTERM), per million flows: its lifetime CPU
# (wait4 rusage) less what it had used before the send (/proc/PID/stat),
# so start-up is not counted and the work done at exit is, for both. The
# medians of the loss-free runs and the ratio nfcapd/flowgate are printed
# (above 1: flowgate needs less CPU per flow), each run with the load
# average at its end: on a shared machine, compare runs of similar load.
#
# What each stores: flowgate an f: trapcap of UniRec records in its default
# biflow template (90 bytes + 2 of framing per flow, 92 B), nfcapd its
# usual uncompressed nfcapd.* file (about 104 B per flow); both fsync-free
# writes to the same file system.
#
# Each step starts the collector afresh, sends DUR seconds of synthetic
# export at a fixed rate with bench/cmd/flowsend (30 IPv4 records of a
# 13-field template per message), stops the collector and counts what it
# stored: flowgate writes an f: trapcap and is counted from its Prometheus
# counter of records the output accepted (flowgate_output_records_total);
# nfcapd writes its usual nfcapd.* file, counted with nfdump -I. A step
# passes when every flow sent was stored; rates are tried upwards and the
# search stops at the first loss. Both collectors write
# uncompressed files to the same disk, so they do comparable work per flow.
#
# The kernel caps SO_RCVBUF at net.core.rmem_max; when that is below 16 MB
# and we are root it is raised for the run and restored afterwards.
# The machine is shared and has 2 cores: the sender competes with the
# collector for them, so figures are lower bounds and vary between runs.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
RATES_V9=${RATES_V9:-"500000 1000000 1500000 2000000 2500000 3000000 4000000"}
RATES_IPFIX=${RATES_IPFIX:-"500000 1000000 1500000 2000000 2500000 3000000 4000000"}
DUR=${DUR:-2}
SEARCH=${SEARCH:-1}
CPU_RATE=${CPU_RATE:-1000000}
CPU_REPS=${CPU_REPS:-3}
CLK_TCK=$(getconf CLK_TCK)
BUF=16777216
work=$(mktemp -d)
old_rmem=""
cleanup() {
  kill $(jobs -p) 2>/dev/null || true
  wait 2>/dev/null || true
  if [ -n "$old_rmem" ]; then sysctl -q -w net.core.rmem_max="$old_rmem" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

cd "$root"
go build -o "$work/bin/" ./cmd/flowgate ./bench/cmd/flowsend
have_nfcapd=1
command -v nfcapd >/dev/null && command -v nfdump >/dev/null || have_nfcapd=0

rmem=$(sysctl -n net.core.rmem_max)
if [ "$rmem" -lt "$BUF" ]; then
  if [ "$(id -u)" = 0 ]; then
    old_rmem=$rmem
    sysctl -q -w net.core.rmem_max=$BUF
    echo "net.core.rmem_max raised from $rmem to $BUF for this run"
  else
    echo "warning: net.core.rmem_max is $rmem: receive buffers are capped below 16 MB (run as root to raise it)"
  fi
fi

free_port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
free_tcp() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# send VERSION RATE PORT -> prints flows sent
send() {
  "$work/bin/flowsend" -v "$1" -rate "$2" -d "${DUR}s" "127.0.0.1:$3" | awk '{ print $2 }'
}

# cpu_ticks PID -> user + system clock ticks of the process so far
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# measured OUT CMD... runs CMD (in the background, with the caller's
# redirections) and, once it has exited, writes its lifetime user + system
# CPU in clock ticks to OUT; CMD's pid is in OUT.pid as soon as it runs.
# The caller removes OUT and OUT.pid before (child_pid waits for OUT.pid).
measured() {
  python3 -c '
import os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(pid))
os.rename(sys.argv[1] + ".tmp", sys.argv[1] + ".pid")
_, _, ru = os.wait4(pid, 0)
with open(sys.argv[1], "w") as f:
    f.write("%d\n" % round((ru.ru_utime + ru.ru_stime) * os.sysconf("SC_CLK_TCK")))
' "$@"
}

# child_pid OUT -> the pid measured wrote, once it is there
child_pid() {
  for _ in $(seq 200); do [ -s "$1.pid" ] && break; sleep 0.01; done
  cat "$1.pid"
}

load() { cut -d' ' -f1 /proc/loadavg; }

records_metric() {
  curl -s "http://127.0.0.1:$1/metrics" | awk '/^flowgate_output_records_total/ { n += $2 } END { printf "%.0f\n", n }'
}

# flowgate_step VERSION RATE -> "sent stored cputicks"
flowgate_step() {
  local port mport pid wpid sent got prev t0
  port=$(free_port); mport=$(free_tcp)
  rm -f "$work"/fg.trapcap* "$work/cpu" "$work/cpu.pid"
  FLOWGATE_METRICS_LISTEN=127.0.0.1:$mport TRAP_SOCKET_DIR=$work \
    measured "$work/cpu" "$work/bin/flowgate" -l "udp://127.0.0.1:$port" -i "f:$work/fg.trapcap" 2>"$work/flowgate.log" &
  wpid=$!
  pid=$(child_pid "$work/cpu")
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$mport/metrics" >/dev/null && break; sleep 0.05; done
  t0=$(cpu_ticks "$pid")
  sent=$(send "$1" "$2" "$port")
  got=$(records_metric "$mport"); prev=-1
  while [ "$got" != "$prev" ]; do sleep 0.3; prev=$got; got=$(records_metric "$mport"); done
  kill -TERM "$pid"; wait "$wpid" || true
  rm -f "$work"/fg.trapcap*
  echo "$sent $got $(($(cat "$work/cpu") - t0))"
}

# nfcapd_step VERSION RATE -> "sent stored cputicks"
nfcapd_step() {
  local port pid wpid sent got t0
  port=$(free_port)
  rm -rf "$work/nf" "$work/cpu" "$work/cpu.pid"; mkdir -p "$work/nf"
  measured "$work/cpu" nfcapd -b 127.0.0.1 -p "$port" -w "$work/nf" -B "$BUF" >"$work/nfcapd.log" 2>&1 &
  wpid=$!
  pid=$(child_pid "$work/cpu")
  sleep 0.5
  t0=$(cpu_ticks "$pid")
  sent=$(send "$1" "$2" "$port")
  sleep 0.5
  kill -TERM "$pid"; wait "$wpid" || true
  got=0
  for f in "$work"/nf/nfcapd.2*; do
    [ -e "$f" ] || continue
    got=$((got + $(nfdump -I -r "$f" | awk '/^Flows:/ { print $2 }')))
  done
  rm -rf "$work/nf"
  echo "$sent $got $(($(cat "$work/cpu") - t0))"
}

# search TOOL VERSION RATES... -> prints steps, sets $best
search() {
  local tool=$1 version=$2 r out sent got
  shift 2
  best=0
  for r in "$@"; do
    read -r sent got _ < <("${tool}_step" "$version" "$r")
    printf "  %-8s v%-2s %8d flows/s: sent %9d stored %9d" "$tool" "$version" "$r" "$sent" "$got"
    if [ "$got" -ge "$sent" ] && [ "$sent" -gt 0 ]; then
      echo "  ok"; best=$r
    else
      echo "  LOSS $((sent - got))"; break
    fi
  done
}

declare -A result
[ "$SEARCH" = 1 ] && for v in 9 10; do
  if [ "$v" = 9 ]; then rates=$RATES_V9; else rates=$RATES_IPFIX; fi
  # shellcheck disable=SC2086
  search flowgate "$v" $rates; result[flowgate,$v]=$best
  if [ "$have_nfcapd" = 1 ]; then
    # shellcheck disable=SC2086
    search nfcapd "$v" $rates; result[nfcapd,$v]=$best
  fi
done

if [ "$SEARCH" = 1 ]; then
echo
echo "highest loss-free rate (flows/s, ${DUR}s steps, 16 MB receive buffer, loopback):"
for v in 9 10; do
  name=$([ "$v" = 9 ] && echo "NetFlow v9" || echo "IPFIX")
  fg=${result[flowgate,$v]}
  if [ "$have_nfcapd" = 1 ]; then
    nf=${result[nfcapd,$v]}
    ratio=$(awk -v a="$fg" -v b="$nf" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
    printf "  %-10s flowgate %9d  nfcapd %9d  ratio %s\n" "$name" "$fg" "$nf" "$ratio"
  else
    printf "  %-10s flowgate %9d  (nfcapd not installed)\n" "$name" "$fg"
  fi
done
fi

# CPU seconds per million flows at CPU_RATE, medians of the loss-free runs.
median() { { grep . || true; } | sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print "n/a"; else if (NR % 2) print a[(NR + 1) / 2]; else printf "%.4f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
declare -A cpu
echo
echo "CPU per flow at $CPU_RATE flows/s (${DUR}s runs, $CPU_REPS each, alternating):"
tools=flowgate
[ "$have_nfcapd" = 1 ] && tools="flowgate nfcapd"
for v in 9 10; do
  for tool in $tools; do cpu[$tool,$v]=""; done
  for rep in $(seq "$CPU_REPS"); do
    for tool in $tools; do
      read -r sent got ticks < <("${tool}_step" "$v" "$CPU_RATE")
      per=$(awk -v t="$ticks" -v hz="$CLK_TCK" -v n="$sent" 'BEGIN { printf "%.4f", t / hz / (n / 1e6) }')
      if [ "$got" -ge "$sent" ] && [ "$sent" -gt 0 ]; then
        printf "  %-8s v%-2s run %d: sent %9d stored %9d  %s CPU s per million flows  (load %s)\n" "$tool" "$v" "$rep" "$sent" "$got" "$per" "$(load)"
        cpu[$tool,$v]+="$per "
      else
        printf "  %-8s v%-2s run %d: sent %9d stored %9d  LOSS %d (not counted)  (load %s)\n" "$tool" "$v" "$rep" "$sent" "$got" "$((sent - got))" "$(load)"
      fi
    done
  done
done
echo
echo "CPU seconds per million flows at $CPU_RATE flows/s (median of loss-free runs; load average now $(load)):"
for v in 9 10; do
  name=$([ "$v" = 9 ] && echo "NetFlow v9" || echo "IPFIX")
  fg=$(tr ' ' '\n' <<<"${cpu[flowgate,$v]}" | median)
  if [ "$have_nfcapd" = 1 ]; then
    nf=$(tr ' ' '\n' <<<"${cpu[nfcapd,$v]}" | median)
    ratio=$(awk -v a="$fg" -v b="$nf" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", b / a; else print "n/a" }')
    printf "  %-10s flowgate %s  nfcapd %s  nfcapd/flowgate %s\n" "$name" "$fg" "$nf" "$ratio"
  else
    printf "  %-10s flowgate %s  (nfcapd not installed)\n" "$name" "$fg"
  fi
done
