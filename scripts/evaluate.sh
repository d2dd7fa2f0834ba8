#!/usr/bin/env bash
# Reproduces the quality table of docs/evaluation.md: every built-in scenario, several
# seeds, default config. Usage: scripts/evaluate.sh [EVENTS] [SEEDS...]
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-100000}
shift || true
seeds=${*:-1 2 3 4 5}
cargo build --release -q
bin=target/release/sitrep
work=${WORK:-out/evaluate}
printf "| scenario | seed | events | alerts | incidents | precision | recall | F1 | ARI | NMI | noise in incidents | faults detected | time to incident p50 / p95 |\n"
printf "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
for s in telco micro storm; do
  for seed in $seeds; do
    d=$work/$s-$seed
    $bin gen --scenario "$s" --seed "$seed" --events "$events" --out "$d/data" 2>/dev/null
    $bin replay --input "$d/data/events.jsonl" --config "$d/data/sitrep.toml" --out "$d/out" --quiet
    $bin eval --truth "$d/data/truth.json" --out "$d/out" --quiet
    python3 - "$d/out/eval.json" "$s" "$seed" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
t = lambda v: "-" if v is None else f"{v:.0f} s"
print(f"| {sys.argv[2]} | {sys.argv[3]} | {r['events']} | {r['alerts']} | {r['incidents']} | {r['precision']:.3f} | {r['recall']:.3f} | {r['f1']:.3f} | {r['ari']:.3f} | {r['nmi']:.3f} | {100*r['noise_in_incidents']:.1f}% | {r['faults_detected']}/{r['faults']} | {t(r['time_to_incident_median_s'])} / {t(r['time_to_incident_p95_s'])} |")
PY
  done
done
