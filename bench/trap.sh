#!/usr/bin/env bash
# TRAP throughput of Flowgate's modules side by side with the C libtrap
# modules, basic-flow template (66-byte records):
#
#   file       logreplay CSV -> f:, and traffic_repeater f: -> b:
#   hop u:     traffic_repeater f: -> u:  feeding  traffic_repeater u: -> b:
#   hop t:     the same over TCP (t:)
#   hop T:     the same over TLS (T:), when openssl can make certificates
#   fan-out    one f: -> u: sender, 4 receivers u: -> b:
#
# Each socket setup runs RUNS times per implementation, alternating, and the
# median wall time is reported with the sender's CPU time (user+sys). The
# receivers connect first: the sender reads a FIFO holding the hello and the
# first buffer, then the rest of the records from a regular file. The clock
# starts when the FIFO is closed and stops when every process has exited, so
# every receiver gets all N records (checked) and start-up is not timed.
#
# Set NEMEA_BIN to the folder of the C modules (traffic_repeater, logreplay)
# to get the ratios; packaged NEMEA puts them in /usr/bin/nemea.
#
#   NEMEA_BIN=../shared/nemea-c/bin bench/trap.sh
#   N=2000000 RUNS=7 bench/trap.sh
set -euo pipefail
N=${N:-1000000}
RUNS=${RUNS:-5}
CLIENTS=${CLIENTS:-4}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
cleanup() {
	local p
	for p in $(jobs -p); do kill "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

cd "$root"
go build -o "$work/go/" ./cmd/logreplay ./cmd/traffic_repeater
NEMEA_BIN=${NEMEA_BIN:-/usr/bin/nemea}
have_c=0
if [ -x "$NEMEA_BIN/traffic_repeater" ] && [ -x "$NEMEA_BIN/logreplay" ]; then
	have_c=1
	# Some copies of the C build have their library symlinks flattened into
	# small text files naming the target; link them properly in a private
	# folder that the loader searches first.
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

now() { date +%s.%N; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }
be32() { od -An -tu1 -j"$2" -N4 "$1" | awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4 }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# N basic-flow records: a logger CSV, replayed once into a trapcap.
awk -v n="$N" 'BEGIN {
  print "ipaddr DST_IP,ipaddr SRC_IP,uint64 BYTES,time TIME_FIRST,time TIME_LAST,uint32 PACKETS,uint16 DST_PORT,uint16 SRC_PORT,uint8 PROTOCOL,uint8 TCP_FLAGS"
  for (i = 0; i < n; i++)
    printf "10.%d.%d.%d,192.168.%d.%d,%d,2024-01-15T10:%02d:%02d.%03d,2024-01-15T10:%02d:%02d.%03d,%d,%d,%d,%d,%d\n",
      (i/65536)%256, (i/256)%256, i%256, (i/256)%256, i%256, 40+i%1500, (i/60)%60, i%60, i%1000, (i/60)%60, i%60, (i+7)%1000,
      1+i%100, (i*7)%65536, 1024+i%60000, (i%3==0)?17:6, i%64
}' >"$work/flows.csv"
echo "records: $N basic flows ($(du -h "$work/flows.csv" | cut -f1) of CSV), $RUNS runs each, medians"
TRAP_SOCKET_DIR="$work" "$work/go/logreplay" -i "f:$work/all.trapcap" -f "$work/flows.csv" >/dev/null

# Split the capture into the gate (hello and first buffer, fed through a
# FIFO so that the sender has its format before the receivers connect) and
# the rest (hello and the other buffers, read at full speed).
f="$work/all.trapcap"
hl=$((8 + $(be32 "$f" 4)))
first=$((hl + 4 + $(be32 "$f" "$hl")))
head -c "$first" "$f" >"$work/first.trapcap"
{ head -c "$hl" "$f"; tail -c +$((first + 1)) "$f"; } >"$work/rest.trapcap"

# TLS material for T: (mutual TLS, one CA).
have_tls=0
if command -v openssl >/dev/null; then
	(
		cd "$work"
		openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=bench-ca
		openssl req -newkey rsa:2048 -nodes -keyout key.pem -out req.csr -subj /CN=localhost
		printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >ext.cnf
		openssl x509 -req -in req.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out cert.pem -days 2 -extfile ext.cnf
	) >/dev/null 2>&1 && have_tls=1
fi

# hop BIN KIND CLIENTS: one timed run; prints "delivered all_exited sender_cpu":
# seconds until every receiver had the end of stream and exited, seconds
# until the sender had exited too, and the sender's CPU seconds.
hop() {
	local bin=$1 kind=$2 nc=$3 d out in port c s
	d=$(mktemp -d "$work/run.XXXX")
	case $kind in
	u) out="u:hop"; in="u:hop" ;;
	t) port=$(free_port); out="t:$port"; in="t:localhost:$port" ;;
	T) port=$(free_port); out="T:$port:$work/key.pem:$work/cert.pem:$work/ca.pem"; in="T:localhost:$port:$work/key.pem:$work/cert.pem:$work/ca.pem" ;;
	esac
	mkfifo "$d/gate"
	exec 3<>"$d/gate"
	TRAP_SOCKET_DIR=$d /usr/bin/time -o "$d/cpu" -f "%U %S" \
		"$bin/traffic_repeater" -i "f:$d/gate $work/rest.trapcap,$out" >"$d/sender.log" 2>&1 3>&- &
	s=$!
	cat "$work/first.trapcap" >&3
	sleep 0.3
	local pids=()
	for c in $(seq "$nc"); do
		TRAP_SOCKET_DIR=$d "$bin/traffic_repeater" -v -i "$in,b:" >"$d/recv$c.log" 2>&1 3>&- &
		pids+=($!)
	done
	sleep 0.5
	local t0 t1 t2
	t0=$(now)
	exec 3>&-
	wait "${pids[@]}"
	t1=$(now)
	wait "$s"
	t2=$(now)
	for c in $(seq "$nc"); do
		# Ours prints "N messages forwarded", the C module "Flows received: N".
		local got
		got=$(grep -Eo '[0-9]+ messages forwarded|Flows received: *[0-9]+' "$d/recv$c.log" | grep -Eo '[0-9]+' | head -1)
		if [ "${got:-0}" != "$N" ]; then
			echo "warning: $bin $kind receiver $c got ${got:-no} records, want $N" >&2
			echo "$bin $kind $nc" >>"$work/short"
			[ -n "${DEBUG:-}" ] && cat "$d/recv$c.log" "$d/sender.log" >&2
		fi
	done
	awk -v a="$t0" -v b="$t1" -v e="$t2" -v c="$(cat "$d/cpu")" 'BEGIN { split(c, x, " "); printf "%.4f %.4f %.2f\n", b - a, e - a, x[1] + x[2] }'
	rm -rf "$d"
}

impls=(go)
[ "$have_c" = 1 ] && impls+=(c)
bin_of() { if [ "$1" = go ]; then echo "$work/go"; else echo "$NEMEA_BIN"; fi; }

results="$work/results"
: >"$results"
# File setups: one run each.
for impl in "${impls[@]}"; do
	[ -n "${SETUPS:-}" ] && break
	bin=$(bin_of "$impl")
	t0=$(now); TRAP_SOCKET_DIR=$work "$bin/logreplay" -i "f:$work/$impl.trapcap" -f "$work/flows.csv" >/dev/null 2>&1; t1=$(now)
	echo "$impl file_logreplay_csv $(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a, b - a }') 0" >>"$results"
	t0=$(now); TRAP_SOCKET_DIR=$work "$bin/traffic_repeater" -i "f:$work/all.trapcap,b:" >/dev/null 2>&1; t1=$(now)
	echo "$impl file_repeater_blackhole $(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a, b - a }') 0" >>"$results"
done

if [ -n "${SETUPS:-}" ]; then
	IFS=, read -r -a setups <<<"$SETUPS"
else
	setups=("u 1" "t 1" "u $CLIENTS" "t $CLIENTS")
	[ "$have_tls" = 1 ] && setups+=("T 1")
fi
for setup in "${setups[@]}"; do
	read -r kind nc <<<"$setup"
	name="hop_${kind}_${nc}client"
	for run in $(seq "$RUNS"); do
		for impl in "${impls[@]}"; do
			echo "$impl $name $(hop "$(bin_of "$impl")" "$kind" "$nc")" >>"$results"
		done
	done
done

echo
printf '%-24s %4s %10s %12s %10s %10s\n' setup impl delivered records/s all_exited sender_cpu
for name in $(awk '{ print $2 }' "$results" | awk '!seen[$0]++'); do
	for impl in "${impls[@]}"; do
		col() { awk -v i="$impl" -v n="$name" -v k="$1" '$1 == i && $2 == n { print $k }' "$results" | median; }
		sec=$(col 3) all=$(col 4) cpu=$(col 5)
		printf '%-24s %4s %10.4f %12s %10.4f %10.2f\n' "$name" "$impl" "$sec" "$(rate "$N" "$sec")" "$all" "$cpu"
		echo "$impl $name $sec $all" >>"$work/medians"
	done
done
echo
if [ "$have_c" = 1 ]; then
	echo "ratio = C seconds / Go seconds (higher is faster), on delivery and on full exit:"
	awk '{ t[$1" "$2] = $3; e[$1" "$2] = $4; if (!($2 in seen)) { seen[$2] = 1; order[++k] = $2 } }
	END { for (i = 1; i <= k; i++) printf "%-24s go/c = %5.2f   (all exited: %5.2f)\n", order[i], t["c " order[i]] / t["go " order[i]], e["c " order[i]] / e["go " order[i]] }' "$work/medians"
	if [ -s "$work/short" ]; then
		echo
		echo "Runs where a receiver got fewer than $N records (see the warnings above; their times are not comparable):"
		sort "$work/short" | uniq -c | awk '{ printf "  %d x %s %s: with %s client(s)\n", $1, ($2 ~ /\/go$/) ? "go" : "c", $3, $4 }'
	fi
else
	echo "C libtrap modules not found in $NEMEA_BIN: no ratio printed."
	echo "Set NEMEA_BIN to the folder of the C traffic_repeater and logreplay to run both in the same run."
fi
