#!/usr/bin/env bash
# Short quiet streams (docs/evaluation.md, "Short quiet streams"): each built-in scenario at
# 10,000 events with no routine noise and no topology — the size of a test stream, where the
# learned model has least to go on — scored beside the naive place + 60 s gap baseline.
# Seeds 1, 2 and 11–18 are tuning sets; 3–5 are held out.
# Usage: scripts/evaluate-short.sh [SEEDS...]   (default: 1 2 3 4 5)
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${*:-1 2 3 4 5}
cargo build --release -q
bin=target/release/sitrep
work=${WORK:-out/evaluate-short}
printf "| scenario | seed | alerts | incidents | precision | recall | F1 | naive place + 60 s gap F1 |\n"
printf "|---|---|---|---|---|---|---|---|\n"
for s in telco micro storm; do
  for seed in $seeds; do
    d=$work/$s-$seed
    if [ ! -f "$d/data/events.jsonl" ]; then
      $bin gen --scenario "$s" --seed "$seed" --events 10000 --no-routine-noise --out "$d/data" 2>/dev/null
    fi
    grep -v '^\[topology\]$\|^file = ' "$d/data/sitrep.toml" > "$d/data/no-topology.toml"
    $bin replay --input "$d/data/events.jsonl" --config "$d/data/no-topology.toml" --out "$d/out" --quiet
    $bin eval --truth "$d/data/truth.json" --out "$d/out" --quiet
    python3 scripts/baseline_place_gap.py "$d/data" > "$d/out/baseline.json"
    python3 - "$d/out/eval.json" "$d/out/baseline.json" "$s" "$seed" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
print(f"| {sys.argv[3]} | {sys.argv[4]} | {r['alerts']} | {r['incidents']} | {r['precision']:.3f} | {r['recall']:.3f} | {r['f1']:.3f} | {b['f1']:.3f} |")
PY
  done
done
