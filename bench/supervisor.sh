#!/usr/bin/env bash
# The supervisor with 50 modules polled every second: its own CPU use (% of
# one core, over an idle stretch of SUP_BENCH_IDLE) and the latency of
# GET /v1/modules (p50, p99), as medians of RUNS runs of
# BenchmarkSupervisor50Modules. The modules are Go TRAP modules (the test
# binary), each answering its service IFC; their own CPU is not counted.
#
#   bench/supervisor.sh
#   RUNS=5 SUP_BENCH_IDLE=20s bench/supervisor.sh
#
# There is no reference to run beside it: the C Nemea-Supervisor is not
# among the prebuilt C tools (shared/nemea-c). The issue's targets are
# under 2 % of one core and p99 under 50 ms.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${RUNS:-3}
export SUP_BENCH_IDLE=${SUP_BENCH_IDLE:-10s}
cd "$root"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for i in $(seq "$RUNS"); do
  go test -run '^$' -bench Supervisor50Modules -benchtime 500x -count 1 ./supervisor | grep '^BenchmarkSupervisor50' | tee -a "$out"
done
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
field() { awk -v u="$1" '{for (i=2;i<=NF;i++) if ($i==u) print $(i-1)}' "$out" | median; }
echo "supervisor, 50 modules, stats every 1 s (median of $RUNS runs):"
echo "  CPU:              $(field cpu-%) % of one core (target < 2)"
echo "  /v1/modules p50:  $(field p50-ms) ms"
echo "  /v1/modules p99:  $(field p99-ms) ms (target < 50)"
