#!/usr/bin/env bash
# End-to-end replay benchmark of docs/performance.md. Generates three 1,000,000-event files
# (a realistic telco stream; the fixed `bench` load, 10% new alerts, mostly pure duplicates;
# the fixed `churn` load, where nearly every event changes its alert), then runs each
# three times, alternating: full replay (reading, parsing, engine, every output file
# written), parse-only (sitrep's own reading and decoding on all cores) and issue 16's
# yardstick (a one-thread parse with sonic-rs into borrowed structs,
# `examples/parse_yardstick.rs`), all measured in the same run. Prints events/s and the
# ratios of the medians: replay / one-thread parse (issue 16's) and replay / parse-only.
#   scripts/bench-replay.sh [STREAMS...]   (default: telco bench churn)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
cargo build --release -q -p sitrep --example parse_yardstick
bin=target/release/sitrep
yardstick=target/release/examples/parse_yardstick
work=${WORK:-out/bench}
streams=("$@")
[ ${#streams[@]} -gt 0 ] || streams=(telco bench churn)
mkdir -p "$work"
rate() { grep -o "[0-9]* events/s" | head -1 | cut -d' ' -f1; }
median() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }
for s in "${streams[@]}"; do
  seed=1
  [ "$s" = telco ] && seed=7
  [ -f "$work/$s/events.jsonl" ] || $bin gen --scenario "$s" --seed $seed --events 1000000 --out "$work/$s" 2>/dev/null
  f=$work/$s/events.jsonl
  cfg=()
  [ -f "$work/$s/sitrep.toml" ] && cfg=(--config "$work/$s/sitrep.toml")
  echo "== $s: $(wc -c < "$f") bytes, $(wc -l < "$f") events"
  replay=(); parse=(); one=()
  for i in 1 2 3; do
    # the previous run's output is written back to disk first: otherwise the kernel's
    # writeback of hundreds of MB lands, at random, inside the next run's time
    sync
    r=$($bin replay --input "$f" "${cfg[@]}" --out "$work/$s/out" 2>&1 | rate)
    sync
    p=$($bin replay --input "$f" --out "$work/$s/parse" --parse-only 2>&1 | rate)
    y=$($yardstick "$f" 2>&1 | rate)
    echo "   replay $r events/s, parse only $p events/s, one-thread parse $y events/s"
    replay+=("$r"); parse+=("$p"); one+=("$y")
  done
  r=$(median "${replay[@]}"); p=$(median "${parse[@]}"); y=$(median "${one[@]}")
  ratio() { awk -v r="$1" -v p="$2" 'BEGIN { printf "%.2f", r / p }'; }
  echo "   median: replay $r, one-thread parse $y, parse only $p; replay / one-thread parse $(ratio "$r" "$y"), replay / parse only $(ratio "$r" "$p")"
  echo "   output: $(du -sb "$work/$s/out/updates.jsonl" | cut -f1) bytes of updates"
done
