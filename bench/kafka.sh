#!/usr/bin/env bash
# End-to-end throughput of the k: interface: flowgate -> Kafka -> consumer,
# basic-flow template (66-byte records), against a kfake broker process
# (franz-go's in-process cluster, bench/cmd/kfakebroker) on loopback.
#
#   produce    flowgate (trap source reading a .trapcap) -> k:flows keyed by
#              SRC_IP; timed until flowgate exits with every container
#              acknowledged (acks=all, idempotent)
#   consume    traffic_repeater -i k:flows:...:eof=on,b: reads the topic to
#              its end (group join included)
#   pipeline   both at once: logger -c N consuming while flowgate produces;
#              timed from flowgate's start to the logger's N-th record
#   reference  the same pipeline over a UNIX socket (u:, timeout=WAIT), timed
#              from the logger's start (flowgate waits for it), so the
#              ratio shows what Kafka costs over a direct TRAP hop
#
# Each is run RUNS times with a fresh broker; medians are printed. The
# machine is shared (2 cores run broker, producer and consumer at once):
# figures are lower bounds and vary between runs. No C tool speaks Kafka;
# the reference is our own u: hop (bench/trap.sh compares that with C).
#
#   bench/kafka.sh
#   N=2000000 RUNS=5 PARTS=8 bench/kafka.sh
set -euo pipefail
N=${N:-1000000}
RUNS=${RUNS:-3}
PARTS=${PARTS:-8}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
broker_pid=""
cleanup() {
	local p
	for p in $(jobs -p); do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
export TRAP_SOCKET_DIR="$work"

cd "$root"
go build -o "$work/bin/" ./cmd/flowgate ./cmd/logreplay ./cmd/traffic_repeater ./cmd/logger ./bench/cmd/kfakebroker
bin=$work/bin

now() { date +%s.%N; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

tmpl="ipaddr DST_IP,ipaddr SRC_IP,uint64 BYTES,time TIME_FIRST,time TIME_LAST,uint32 PACKETS,uint16 DST_PORT,uint16 SRC_PORT,uint8 PROTOCOL,uint8 TCP_FLAGS"
awk -v n="$N" -v t="$tmpl" 'BEGIN {
  print t
  for (i = 0; i < n; i++)
    printf "10.%d.%d.%d,192.168.%d.%d,%d,2024-01-15T10:%02d:%02d.%03d,2024-01-15T10:%02d:%02d.%03d,%d,%d,%d,%d,%d\n",
      (i/65536)%256, (i/256)%256, i%256, (i/256)%256, i%256, 40+i%1500, (i/60)%60, i%60, i%1000, (i/60)%60, i%60, (i+7)%1000,
      1+i%100, (i*7)%65536, 1024+i%60000, (i%3==0)?17:6, i%64
}' >"$work/flows.csv"
"$bin/logreplay" -n -i "f:$work/flows.trapcap" -f "$work/flows.csv" >/dev/null
echo "records: $N basic flows over $PARTS partitions, $RUNS runs each, medians"

start_broker() {
	"$bin/kfakebroker" -partitions "$PARTS" -topic flows >"$work/broker.out" 2>&1 &
	broker_pid=$!
	for _ in $(seq 400); do
		grep -q '^ready' "$work/broker.out" 2>/dev/null && break
		sleep 0.05
	done
	broker=$(awk '/^ready/ { print $2 }' "$work/broker.out")
	[ -n "$broker" ] || { echo "kfakebroker did not start: $(cat "$work/broker.out")" >&2; exit 1; }
}
stop_broker() { kill "$broker_pid"; wait "$broker_pid" 2>/dev/null || true; }

flowgate_cfg() { # $1: output IFC
	cat >"$work/fg.yaml" <<-EOF
	metrics: {listen: ""}
	log: {level: warn}
	sources: [{type: trap, name: replay, ifc: "f:$work/flows.trapcap"}]
	outputs: [{ifc: "$1", template: "$tmpl"}]
	EOF
}

# finish LOGGER_PID FLOWGATE_PID OUT: waits for both, sets t_end when the
# logger is done, and checks that it printed N records.
finish() {
	local got
	wait "$1" || { echo "logger failed: $(cat "$work/lg.err")" >&2; exit 1; }
	t_end=$(now)
	wait "$2" || { echo "flowgate failed: $(cat "$work/fg.err")" >&2; exit 1; }
	got=$(wc -l <"$3")
	[ "$got" -eq "$N" ] || { echo "consumer got $got of $N records" >&2; exit 1; }
}

: >"$work/produce" ; : >"$work/consume" ; : >"$work/pipeline" ; : >"$work/reference"
for run in $(seq "$RUNS"); do
	# produce, then consume the same topic
	start_broker
	flowgate_cfg "k:flows:$broker:key=SRC_IP"
	t0=$(now)
	"$bin/flowgate" -c "$work/fg.yaml" 2>"$work/fg.err" || { echo "flowgate failed: $(cat "$work/fg.err")" >&2; exit 1; }
	t1=$(now)
	echo "$t1 - $t0" | bc >>"$work/produce"
	t0=$(now)
	out=$("$bin/traffic_repeater" -v -i "k:flows:$broker:group=bench:eof=on,b:" 2>"$work/tr.err")
	t1=$(now)
	[ "$out" = "$N messages forwarded" ] || { echo "consume: $out $(cat "$work/tr.err")" >&2; exit 1; }
	echo "$t1 - $t0" | bc >>"$work/consume"
	stop_broker

	# pipeline: the consumer is waiting in its group when flowgate starts
	start_broker
	flowgate_cfg "k:flows:$broker:key=SRC_IP"
	"$bin/logger" -i "k:flows:$broker:group=pipe" -c "$N" >"$work/pipe.txt" 2>"$work/lg.err" &
	lg=$!
	sleep 1
	t0=$(now)
	"$bin/flowgate" -c "$work/fg.yaml" 2>"$work/fg.err" &
	fg=$!
	finish "$lg" "$fg" "$work/pipe.txt"
	echo "$t_end - $t0" | bc >>"$work/pipeline"
	stop_broker

	# reference: the same pipeline over u:. flowgate waits (WAIT) for the
	# logger, which connects at once because the socket exists.
	flowgate_cfg "u:kbench:timeout=WAIT"
	"$bin/flowgate" -c "$work/fg.yaml" 2>"$work/fg.err" &
	fg=$!
	for _ in $(seq 200); do
		[ -S "$work/trap-kbench.sock" ] && break
		sleep 0.05
	done
	t0=$(now)
	"$bin/logger" -i "u:kbench" -c "$N" >"$work/ref.txt" 2>"$work/lg.err" &
	lg=$!
	finish "$lg" "$fg" "$work/ref.txt"
	echo "$t_end - $t0" | bc >>"$work/reference"
done

printf '%-10s %10s %14s\n' stage seconds records/s
for s in produce consume pipeline reference; do
	m=$(median <"$work/$s")
	printf '%-10s %10.3f %14s\n' "$s" "$m" "$(rate "$N" "$m")"
done
p=$(median <"$work/pipeline")
r=$(median <"$work/reference")
awk -v p="$p" -v r="$r" 'BEGIN { printf "k: pipeline / u: pipeline throughput: %.2f\n", r / p }'
