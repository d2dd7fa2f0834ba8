#!/usr/bin/env bash
# Server benchmarks of issue #3, in one run (results: docs/performance.md):
#   1. HTTP ingest of native events, batches of 1000, durability on (fsync per group commit);
#   2. event → incident update latency on the live feed at 20,000 events/s;
#   3. Prometheus Alertmanager (Debian `prometheus-alertmanager`, clustering off) ingesting
#      the same alerts in its own API format (POST /api/v2/alerts), beside sitrep;
#   4. OTLP/HTTP logs ingest (POST /v1/logs, protobuf) beside native JSON: the same events,
#      alternated three times in this run, ratio pair by pair.
# Usage: scripts/bench-http.sh [EVENTS=1000000]
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-1000000}
cargo build --release --bin sitrep -q
bin=target/release/sitrep
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

start_sitrep() {
  rm -rf "$work/sitrep"
  $bin run --data "$work/sitrep" --listen 127.0.0.1:18080 >"$work/sitrep.log" 2>&1 &
  for _ in $(seq 100); do curl -sf 127.0.0.1:18080/healthz >/dev/null && return; sleep 0.1; done
  echo "sitrep did not start" >&2; exit 1
}
stop_sitrep() { kill %1 2>/dev/null || true; wait %1 2>/dev/null || true; }

echo "== 1. sitrep HTTP ingest, $events events, batches of 1000, 4 connections, fsync on"
start_sitrep
$bin loadgen --url http://127.0.0.1:18080 --events "$events" --batch 1000 --connections 4 | tee "$work/ingest.txt"
curl -s 127.0.0.1:18080/api/v1/stats | python3 -c "import json,sys; e=json.load(sys.stdin)['engine']; print(f\"   server counted {e['events']} events, {e['alerts_created']} alerts\")"
stop_sitrep

echo "== 2. event → incident update latency at 20,000 events/s (batches of 100)"
start_sitrep
$bin loadgen --url http://127.0.0.1:18080 --events 400000 --batch 100 --connections 4 --rate 20000 --incident-latency
stop_sitrep

if command -v prometheus-alertmanager >/dev/null; then
  echo "== 3. side by side: the same alerts into Alertmanager ($(prometheus-alertmanager --version 2>&1 | head -1 | cut -d' ' -f3)) and sitrep"
  cat >"$work/am.yml" <<'YML'
route:
  receiver: "null"
  group_by: ["alertname"]
receivers:
  - name: "null"
YML
  prometheus-alertmanager --config.file="$work/am.yml" --storage.path="$work/am" \
    --web.listen-address=127.0.0.1:19093 --cluster.listen-address= >"$work/am.log" 2>&1 &
  am_pid=$!
  for _ in $(seq 100); do curl -sf 127.0.0.1:19093/-/ready >/dev/null && break; sleep 0.1; done
  am=$($bin loadgen --url http://127.0.0.1:19093 --format alertmanager-v2 --events "$events" --batch 1000 --connections 4 --json)
  kill $am_pid; wait $am_pid 2>/dev/null || true
  start_sitrep
  st=$($bin loadgen --url http://127.0.0.1:18080 --events "$events" --batch 1000 --connections 4 --json)
  stop_sitrep
  python3 - "$am" "$st" <<'PY'
import json, sys
am, st = json.loads(sys.argv[1]), json.loads(sys.argv[2])
a, s = am["events_per_second"], st["events_per_second"]
print(f"   Alertmanager /api/v2/alerts: {a:,.0f} alerts/s (request p99 {am['request_ms']['p99']:.1f} ms; in memory, no fsync)")
print(f"   sitrep /api/v1/events:       {s:,.0f} events/s (request p99 {st['request_ms']['p99']:.1f} ms; journalled, fsync)")
print(f"   ratio sitrep / Alertmanager: {s / a:.2f}")
PY
else
  echo "== 3. skipped: prometheus-alertmanager is not installed (apt-get install prometheus-alertmanager)"
fi

echo "== 4. OTLP/HTTP (POST /v1/logs, protobuf) beside native JSON, the same $events events, alternated"
rows=()
for _ in 1 2 3; do
  start_sitrep
  n=$($bin loadgen --url http://127.0.0.1:18080 --events "$events" --batch 1000 --connections 4 --json)
  stop_sitrep
  start_sitrep
  o=$($bin loadgen --url http://127.0.0.1:18080 --events "$events" --batch 1000 --connections 4 --format otlp --json)
  stop_sitrep
  rows+=("$n" "$o")
done
python3 - "${rows[@]}" <<'PY'
import json, statistics as st, sys
runs = [json.loads(x) for x in sys.argv[1:]]
native = [r["events_per_second"] for r in runs[0::2]]
otlp = [r["events_per_second"] for r in runs[1::2]]
ratios = [o / n for n, o in zip(native, otlp)]
print(f"   native /api/v1/events (JSON lines): {st.median(native):,.0f} events/s (median of 3)")
print(f"   OTLP /v1/logs (protobuf):           {st.median(otlp):,.0f} records/s (median of 3)")
print(f"   ratio OTLP / native: {st.median(ratios):.2f} (median of pairs; {', '.join(f'{r:.2f}' for r in ratios)})")
PY
