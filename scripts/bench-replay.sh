#!/usr/bin/env bash
# End-to-end replay benchmark of docs/performance.md. Generates two 1,000,000-event files
# (a realistic telco stream and the fixed `bench` stream with 10% new alerts), then runs
# each three times: full replay (reading, parsing, engine, every output file written) and
# parse-only (the parsing limit). Prints events/s.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
bin=target/release/sitrep
work=${WORK:-out/bench}
mkdir -p "$work"
[ -f "$work/telco/events.jsonl" ] || $bin gen --scenario telco --seed 7 --events 1000000 --out "$work/telco" 2>/dev/null
[ -f "$work/bench/events.jsonl" ] || $bin gen --scenario bench --seed 1 --events 1000000 --out "$work/bench" 2>/dev/null
for s in telco bench; do
  f=$work/$s/events.jsonl
  cfg=()
  [ -f "$work/$s/sitrep.toml" ] && cfg=(--config "$work/$s/sitrep.toml")
  echo "== $s: $(wc -c < "$f") bytes, $(wc -l < "$f") events"
  for i in 1 2 3; do
    $bin replay --input "$f" "${cfg[@]}" --out "$work/$s/out" 2>&1 | grep -o "replayed.*events/s)"
  done
  for i in 1 2 3; do
    $bin replay --input "$f" --out "$work/$s/parse" --parse-only 2>&1 | grep -o "parsed.*"
  done
done
