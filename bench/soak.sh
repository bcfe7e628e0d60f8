#!/usr/bin/env bash
# Soak test of the flowgate daemon: DUR seconds (default 600) of NetFlow v9
# at RATE flows/s (default 500000) from EXPORTERS exporters (default 100,
# each its own 127.0.1.X source address, template and sequence numbers),
# with a SIGHUP reload every RELOAD seconds (default 30) that alternately
# changes one output's template (that output is drained and replaced) and
# keeps the other (it must go on untouched).
#
#   bench/soak.sh
#   DUR=120 RATE=200000 bench/soak.sh
#
# It prints records in (flows sent) against records out (what the kept
# output accepted, from flowgate_output_records_total), every loss counter
# (kernel socket drops, decode errors, missing templates, output drops),
# RSS and goroutines at start and end, and exits 1 when records in and out
# differ or RSS ends above 200 MB. The outputs are blackholes (b:), so
# the disk does not bound the rate. The machine is shared and has 2
# cores: the sender competes with the daemon for them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
DUR=${DUR:-600}
RATE=${RATE:-500000}
EXPORTERS=${EXPORTERS:-100}
RELOAD=${RELOAD:-30}
BUF=33554432
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

rmem=$(sysctl -n net.core.rmem_max)
if [ "$rmem" -lt "$BUF" ] && [ "$(id -u)" = 0 ]; then
  old_rmem=$rmem
  sysctl -q -w net.core.rmem_max=$BUF
fi

free_port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
free_tcp() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port); mport=$(free_tcp)

config() { # config TEMPLATE_OF_THE_CHANGING_OUTPUT
  cat >"$work/flowgate.yaml" <<YAML
metrics: {listen: '127.0.0.1:$mport'}
socket_dir: '$work'
sources:
  - {type: collector, name: soak, listen: ['udp://127.0.0.1:$port'], sockets: 2, receive_buffer: $BUF}
outputs:
  - {ifc: 'b:'}
  - {ifc: 'b::buffer=on', template: '$1'}
YAML
}
config "ipaddr SRC_IP,ipaddr DST_IP,uint64 BYTES,uint32 PACKETS"

metric() { # metric NAME [LABEL_FILTER] -> sum
  curl -s "http://127.0.0.1:$mport/metrics" | awk -v n="$1" -v f="${2:-}" '$1 ~ "^"n"({|$)" && index($1, f) { s += $2 } END { printf "%.0f\n", s }'
}
rss_mb() { awk '/^VmRSS/ { printf "%.1f\n", $2/1024 }' "/proc/$1/status"; }

TRAP_SOCKET_DIR=$work "$work/bin/flowgate" -c "$work/flowgate.yaml" 2>"$work/flowgate.log" &
pid=$!
for _ in $(seq 200); do curl -sf "http://127.0.0.1:$mport/metrics" >/dev/null && break; sleep 0.05; done
rss0=$(rss_mb $pid); gor0=$(metric go_goroutines)

"$work/bin/flowsend" -v 9 -exporters "$EXPORTERS" -rate "$RATE" -d "${DUR}s" "127.0.0.1:$port" >"$work/sent.txt" &
spid=$!
reloads=0; t=0
while kill -0 $spid 2>/dev/null; do
  sleep 1; t=$((t + 1))
  if [ $((t % RELOAD)) = 0 ]; then
    if [ $((reloads % 2)) = 0 ]; then config "ipaddr SRC_IP,uint64 BYTES"; else config "ipaddr SRC_IP,ipaddr DST_IP,uint64 BYTES,uint32 PACKETS"; fi
    kill -HUP $pid; reloads=$((reloads + 1))
    echo "t=${t}s reload $reloads: rss $(rss_mb $pid) MB, goroutines $(metric go_goroutines), kept output $(metric flowgate_output_records_total 'output="b:"') records"
  fi
done
wait $spid
sent=$(awk '{ print $2 }' "$work/sent.txt")
# Wait until the daemon has worked off its socket buffers.
got=$(metric flowgate_output_records_total 'output="b:"'); prev=-1
while [ "$got" != "$prev" ]; do sleep 1; prev=$got; got=$(metric flowgate_output_records_total 'output="b:"'); done
rss1=$(rss_mb $pid); gor1=$(metric go_goroutines)
decoded=$(metric flowgate_records_total)
drops=$(metric flowgate_socket_drops_total)
errs=$(metric flowgate_decode_errors_total)
missing=$(metric flowgate_missing_template_drops_total)
outdrops=$(metric flowgate_output_drops_total 'output="b:"')
ifcdrops=$(metric flowgate_output_ifc_dropped_total 'output="b:"')
kill -TERM $pid; wait $pid || true

echo "flowgate soak: ${DUR} s at ${RATE} flows/s from ${EXPORTERS} exporters, ${reloads} reloads"
cat "$work/sent.txt"
echo "records in (sent):        $sent"
echo "records decoded:          $decoded"
echo "records out (kept b:):    $got"
echo "losses: socket drops $drops datagrams, decode errors $errs, missing-template drops $missing, output drops $outdrops, ifc drops $ifcdrops"
echo "RSS: start $rss0 MB, end $rss1 MB; goroutines: start $gor0, end $gor1"
grep -c 'reloaded' "$work/flowgate.log" | sed 's/^/reloads applied: /'
status=0
if [ "$sent" != "$got" ]; then echo "FAIL: records in != records out (lost $((sent - got)))"; status=1; fi
if awk -v r="$rss1" 'BEGIN { exit !(r > 200) }'; then echo "FAIL: RSS above 200 MB"; status=1; fi
exit $status
