#!/usr/bin/env bash
# Reproduces the quality tables of docs/evaluation.md: every built-in scenario × {with,
# without its topology file} × seeds, default config; the same scenarios as quiet estates
# (no routine noise, no topology) beside a naive place + time-gap baseline; the same
# scenarios with their structure only in words (`--names-in-text`); the intrusion-
# detection scenario (`ids`) beside a naive 60 s time gap; then the AIT
# Alert Data Set (real IDS alerts, never tuned on) beside the naive 60 s time-gap baseline.
# Usage: scripts/evaluate.sh [EVENTS] [SEEDS...]
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-100000}
shift || true
seeds=${*:-1 2 3 4 5}
cargo build --release -q
bin=target/release/sitrep
# the scenario's sitrep.toml without its [topology] section, as a user with no topology runs it
no_topology() { grep -v '^\[topology\]$\|^file = ' "$1/sitrep.toml" > "$1/no-topology.toml"; }
work=${WORK:-out/evaluate}
printf "| scenario | topology | seed | alerts | incidents | precision | recall | F1 | ARI | noise in incidents | faults detected | root cause right | largest incident | time to incident p50 / p95 |\n"
printf "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
for s in telco micro storm; do
  for topo in with without; do
    for seed in $seeds; do
      d=$work/$s-$seed
      [ -f "$d/data/events.jsonl" ] || $bin gen --scenario "$s" --seed "$seed" --events "$events" --out "$d/data" 2>/dev/null
      cfg=$d/data/sitrep.toml
      if [ $topo = without ]; then
        no_topology "$d/data"
        cfg=$d/data/no-topology.toml
      fi
      out=$d/out-$topo
      $bin replay --input "$d/data/events.jsonl" --config "$cfg" --out "$out" --quiet
      $bin eval --truth "$d/data/truth.json" --out "$out" --quiet
      python3 - "$out/eval.json" "$s" "$topo" "$seed" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
t = lambda v: "-" if v is None else f"{v:.0f} s"
rc = "-" if r.get('root_cause_accuracy') is None else f"{100*r['root_cause_accuracy']:.1f}%"
print(f"| {sys.argv[2]} | {sys.argv[3]} | {sys.argv[4]} | {r['alerts']} | {r['incidents']} | {r['precision']:.3f} | {r['recall']:.3f} | {r['f1']:.3f} | {r['ari']:.3f} | {100*r['noise_in_incidents']:.1f}% | {r['faults_detected']}/{r['faults']} | {rc} | {r['largest_incident']} | {t(r['time_to_incident_median_s'])} / {t(r['time_to_incident_p95_s'])} |")
PY
    done
  done
done
echo
# A quiet estate: the same scenarios with no routine noise (`gen --no-routine-noise`: no
# one-off, flapping or chatty alerts), without topology, beside the naive baseline (one
# group per place label until a 60 s gap) scored on the same occurrences.
printf "| scenario | routine noise | seed | alerts | incidents | precision | recall | F1 | naive place + 60 s gap F1 | root cause right | largest incident |\n"
printf "|---|---|---|---|---|---|---|---|---|---|---|\n"
for s in telco micro storm; do
  for seed in $seeds; do
    d=$work/$s-$seed-quiet
    [ -f "$d/data/events.jsonl" ] || $bin gen --scenario "$s" --seed "$seed" --events "$events" --no-routine-noise --out "$d/data" 2>/dev/null
    no_topology "$d/data"
    $bin replay --input "$d/data/events.jsonl" --config "$d/data/no-topology.toml" --out "$d/out" --quiet
    $bin eval --truth "$d/data/truth.json" --out "$d/out" --quiet
    python3 scripts/baseline_place_gap.py "$d/data" > "$d/out/baseline.json"
    python3 - "$d/out/eval.json" "$d/out/baseline.json" "$s" "$seed" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
rc = "-" if r.get('root_cause_accuracy') is None else f"{100*r['root_cause_accuracy']:.1f}%"
print(f"| {sys.argv[3]} | none | {sys.argv[4]} | {r['alerts']} | {r['incidents']} | {r['precision']:.3f} | {r['recall']:.3f} | {r['f1']:.3f} | {b['f1']:.3f} | {rc} | {r['largest_incident']} |")
PY
  done
done
echo
# An estate whose structure is only in words (`gen --names-in-text`: opaque host names, no
# labels, dependants' descriptions name the upstream node that took them down), without
# topology. No naive baseline: with no place label it is one 60 s time gap over the whole
# estate, which merges everything in these streams.
printf "| scenario | variant | seed | alerts | incidents | precision | recall | F1 | noise in incidents | root cause right | largest incident |\n"
printf "|---|---|---|---|---|---|---|---|---|---|---|\n"
for s in telco micro storm; do
  for seed in $seeds; do
    d=$work/$s-$seed-named
    [ -f "$d/data/events.jsonl" ] || $bin gen --scenario "$s" --seed "$seed" --events "$events" --names-in-text --out "$d/data" 2>/dev/null
    no_topology "$d/data"
    $bin replay --input "$d/data/events.jsonl" --config "$d/data/no-topology.toml" --out "$d/out" --quiet
    $bin eval --truth "$d/data/truth.json" --out "$d/out" --quiet
    python3 - "$d/out/eval.json" "$s" "$seed" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
rc = "-" if r.get('root_cause_accuracy') is None else f"{100*r['root_cause_accuracy']:.1f}%"
print(f"| {sys.argv[2]} | names in text | {sys.argv[3]} | {r['alerts']} | {r['incidents']} | {r['precision']:.3f} | {r['recall']:.3f} | {r['f1']:.3f} | {100*r['noise_in_incidents']:.1f}% | {rc} | {r['largest_incident']} |")
PY
  done
done
echo
# An intrusion-detection estate (`gen --scenario ids`: host and network IDS alerts that never
# clear, routine false positives, two multi-phase attacks; no topology exists for it) beside
# the naive baseline, which here is a plain 60 s time gap (its alerts carry no place label);
# then the same with people at work (`--people`: users' activities and an administrator's
# rounds, benign alerts that span hosts).
printf "| scenario | seed | alerts | incidents | precision | recall | F1 | naive 60 s gap F1 | noise in incidents | attack phases detected | largest incident | withdrawn as routine (noise ever in an incident) |\n"
printf "|---|---|---|---|---|---|---|---|---|---|---|---|\n"
for people in "" --people; do
for seed in $seeds; do
  d=$work/ids$people-$seed
  [ -f "$d/data/events.jsonl" ] || $bin gen --scenario ids --seed "$seed" --events "$events" --out "$d/data" $people 2>/dev/null
  no_topology "$d/data"
  $bin replay --input "$d/data/events.jsonl" --config "$d/data/no-topology.toml" --out "$d/out" --quiet
  $bin eval --truth "$d/data/truth.json" --out "$d/out" --quiet
  python3 scripts/baseline_place_gap.py "$d/data" > "$d/out/baseline.json"
  python3 - "$d/out/eval.json" "$d/out/baseline.json" "$seed" "ids$people" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
print(f"| {sys.argv[4].replace('--', ' --')} | {sys.argv[3]} | {r['alerts']} | {r['incidents']} | {r['precision']:.3f} | {r['recall']:.3f} | {r['f1']:.3f} | {b['f1']:.3f} | {100*r['noise_in_incidents']:.1f}% | {r['faults_detected']}/{r['faults']} | {r['largest_incident']} | {r.get('withdrawn_incidents', 0)} ({100*r.get('noise_ever_in_incidents', 0):.1f}%) |")
PY
done
done
echo
if [ -d ../shared/data/ait-ads ]; then
  $bin ait --data ../shared/data/ait-ads
else
  echo "(../shared/data/ait-ads is absent: AIT-ADS table skipped)"
fi
