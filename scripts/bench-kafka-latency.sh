#!/usr/bin/env bash
# Kafka latency benchmark (issue #4; results in docs/performance.md): one sitrep worker
# with exactly-once on, events produced at a fixed rate to a 6-partition input topic, and
# produce → incident update measured by a read_committed subscriber of the incidents
# topic (`sitrep loadgen --kafka`, src/kafka_latency.rs).
# Usage: scripts/bench-kafka-latency.sh [EVENTS=200000] [RATE=20000]
#   (starts a broker unless SITREP_KAFKA_BOOTSTRAP names one; COMMIT_MS sets the commit
#   interval, default 100; KEYED=1 keys the events by region and runs the worker with
#   `keyed_input`: one transactional hop instead of two)
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-200000}
rate=${2:-20000}
cargo build --release --bin sitrep -q
bin=$PWD/target/release/sitrep
work=$(mktemp -d)
if [ -z "${SITREP_KAFKA_BOOTSTRAP:-}" ]; then
  SITREP_KAFKA_BOOTSTRAP=$(scripts/kafka.sh start 1 2>/dev/null | tail -1)
  trap 'kill $worker 2>/dev/null; scripts/kafka.sh stop; rm -rf "$work"' EXIT
else
  trap 'kill $worker 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
fi
g=lat$$
scripts/kafka.sh create-topic "$g.raw" 6
cat >"$work/w.toml" <<T
[kafka]
brokers = "$SITREP_KAFKA_BOOTSTRAP"
group = "$g"
scope = ["labels.region"]
partitions = 6
commit_interval_ms = ${COMMIT_MS:-100}
keyed_input = $([ "${KEYED:-0}" = 1 ] && echo true || echo false)
[kafka.topics]
events = "$g.events"
changelog = "$g.changelog"
alerts = "$g.alerts"
incidents = "$g.incidents"
dead_letters = "$g.dlq"
commands = "$g.commands"
[[kafka.inputs]]
topic = "$g.raw"
format = "native"
T
$bin run --config "$work/w.toml" --instance "$g-1" >"$work/w.out" 2>"$work/w.err" &
worker=$!
# the worker creates its topics on start
for _ in $(seq 100); do grep -q "kafka worker" "$work/w.out" 2>/dev/null && break; sleep 0.1; done
sleep 5  # the group forms (the broker delays the first rebalance 3 s)
# warm-up: partitions assigned and restored, topics' leaders known, before measuring
key=()
[ "${KEYED:-0}" = 1 ] && key=(--key-field labels.region)
$bin loadgen --kafka "$SITREP_KAFKA_BOOTSTRAP" --topic "$g.raw" --incidents-topic "$g.incidents" \
  --events 40000 --rate "$rate" --seed 2 "${key[@]}" >/dev/null
echo "== $events events at $rate/s into $g.raw (6 partitions), one worker, commit every ${COMMIT_MS:-100} ms, keyed_input ${KEYED:-0}"
$bin loadgen --kafka "$SITREP_KAFKA_BOOTSTRAP" --topic "$g.raw" --incidents-topic "$g.incidents" \
  --events "$events" --rate "$rate" "${key[@]}"
