#!/usr/bin/env bash
# Kafka benchmark (issue #4; results in docs/performance.md and docs/scaling.md): the
# same 6-partition topic of telco events read in one run by
#   1. a plain librdkafka consumer (kcat, C), as the ceiling of reading the topic here;
#   2. one sitrep worker with exactly-once on (both stages: ingest → events topic →
#      correlate, transactions every 100 ms, changelog snapshots);
#   3. two and three workers sharing the work (same machine: correctness, not speed-up);
#   4. one worker with `keyed_input` on a copy of the topic keyed by region (murmur2, as a
#      Java producer keying by scope writes it): one transactional hop instead of two.
# Usage: scripts/bench-kafka.sh [EVENTS=1000000]   (starts a broker unless
# SITREP_KAFKA_BOOTSTRAP names one)
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-1000000}
cargo build --release --bin sitrep -q
bin=$PWD/target/release/sitrep
work=$(mktemp -d)
if [ -z "${SITREP_KAFKA_BOOTSTRAP:-}" ]; then
  SITREP_KAFKA_BOOTSTRAP=$(scripts/kafka.sh start 1 2>/dev/null | tail -1)
  trap 'scripts/kafka.sh stop; rm -rf "$work"' EXIT
else
  trap 'rm -rf "$work"' EXIT
fi
b=$SITREP_KAFKA_BOOTSTRAP
$bin gen --scenario telco --seed 1 --events "$events" --out "$work/gen" >/dev/null 2>&1
run_id=bench$$
scripts/kafka.sh create-topic "$run_id.raw" 6
kcat -b "$b" -t "$run_id.raw" -P -l "$work/gen/events.jsonl"
echo "== $events events in $run_id.raw (6 partitions)"

# three reads, the median: one read right after the topic was written swung from 283,000
# to 1,030,000 records/s between runs of one session (docs/performance.md)
rates=()
for _ in 1 2 3; do
  t0=$(date +%s.%N)
  n=$(kcat -b "$b" -C -t "$run_id.raw" -e -q -o beginning -X isolation.level=read_committed | wc -l)
  t1=$(date +%s.%N)
  rates+=("$(python3 -c "print(f'{$n / ($t1 - $t0):.0f}')")")
  echo "plain librdkafka consumer (kcat): $n records in $(python3 -c "print(f'{$t1 - $t0:.2f}')") s = ${rates[-1]} records/s"
done
plain=$(printf '%s\n' "${rates[@]}" | sort -n | sed -n 2p)
echo "plain consumer, median of three reads: $plain records/s"
# the same reader with the fetch settings sitrep's stage consumers use (txn.rs): librdkafka's
# defaults wait up to 500 ms per empty fetch and stop prefetching at 100,000 messages
tuned_rates=()
for _ in 1 2 3; do
  t0=$(date +%s.%N)
  n=$(kcat -b "$b" -C -t "$run_id.raw" -e -q -o beginning -X isolation.level=read_committed \
    -X fetch.wait.max.ms=10 -X queued.min.messages=1000000 -X fetch.max.bytes=67108864 \
    -X max.partition.fetch.bytes=67108864 | wc -l)
  t1=$(date +%s.%N)
  tuned_rates+=("$(python3 -c "print(f'{$n / ($t1 - $t0):.0f}')")")
done
tuned=$(printf '%s\n' "${tuned_rates[@]}" | sort -n | sed -n 2p)
echo "plain consumer with sitrep's fetch settings, median of three reads: $tuned records/s (${tuned_rates[*]})"

config() { # group [input topic] [extra [kafka] line]
  cat <<T
[kafka]
brokers = "$b"
group = "$1"
scope = ["labels.region"]
partitions = 6
${3:-}
[kafka.topics]
events = "$1.events"
changelog = "$1.changelog"
alerts = "$1.alerts"
incidents = "$1.incidents"
dead_letters = "$1.dlq"
commands = "$1.commands"
[[kafka.inputs]]
topic = "${2:-$run_id.raw}"
format = "native"
T
}

for workers in ${BENCH_WORKERS:-1 2 3}; do
  g="$run_id-w$workers"
  config "$g" >"$work/$g.toml"
  pids=()
  for i in $(seq "$workers"); do
    $bin run --config "$work/$g.toml" --instance "$g-$i" --exit-when-idle-ms 3000 >"$work/$g-$i.out" 2>"$work/$g-$i.err" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  python3 - "$events" "$workers" "$plain" "$tuned" "$work"/$g-*.out <<'PY'
import re, sys
events, workers, plain, tuned = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
busy, corr, restores = 0.0, 0, 0
for f in sys.argv[5:]:
    line = [l for l in open(f) if l.startswith("stopped:")][0]
    corr += int(re.search(r"correlated (\d+) events", line).group(1))
    busy = max(busy, float(re.search(r"([\d.]+) s from first ingest", line).group(1)))
    restores += int(re.search(r"(\d+) restores", line).group(1))
rate = corr / busy if busy else 0
extra = f" = {rate / plain:.0%} of the plain consumer, {rate / tuned:.0%} of it with sitrep's fetch settings" if workers == 1 else ""
print(f"sitrep, {workers} worker(s), exactly-once: {corr} events correlated in {busy:.2f} s (first ingest → last correlated) = {rate:,.0f} events/s{extra}; {restores} partition restores")
PY
done

if [ "${BENCH_KEYED:-1}" = 1 ]; then
  python3 -c '
import json, sys
with open(sys.argv[2], "w") as out:
    for line in open(sys.argv[1]):
        out.write(json.loads(line).get("labels", {}).get("region", "") + "\t" + line)
' "$work/gen/events.jsonl" "$work/keyed.txt"
  scripts/kafka.sh create-topic "$run_id.keyed" 6
  kcat -b "$b" -t "$run_id.keyed" -X partitioner=murmur2_random -K $'\t' -P -l "$work/keyed.txt"
  g="$run_id-keyed"
  config "$g" "$run_id.keyed" "keyed_input = true" >"$work/$g.toml"
  $bin run --config "$work/$g.toml" --instance "$g-1" --exit-when-idle-ms 3000 >"$work/$g.out" 2>"$work/$g.err"
  python3 - "$events" "$plain" "$tuned" "$work/$g.out" <<'PY'
import re, sys
events, plain, tuned = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
line = [l for l in open(sys.argv[4]) if l.startswith("stopped:")][0]
corr = int(re.search(r"correlated (\d+) events", line).group(1))
busy = float(re.search(r"([\d.]+) s from first ingest", line).group(1))
rate = corr / busy if busy else 0
print(f"sitrep, 1 worker, keyed_input (one hop), exactly-once: {corr} events correlated in {busy:.2f} s = {rate:,.0f} events/s = {rate / plain:.0%} of the plain consumer, {rate / tuned:.0%} of it with sitrep's fetch settings")
PY
fi
