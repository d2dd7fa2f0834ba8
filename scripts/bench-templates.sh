#!/usr/bin/env bash
# Template mining side by side with Drain3 on the same LogHub lines: accuracy (GA) and
# single-thread lines/s of both. The two run system by system, one right after the other,
# ROUNDS times, so that this machine's drifting speed hits both alike; the ratio is taken
# pair by pair. Needs python3 with `pip install drain3`.
# Usage: scripts/bench-templates.sh [DATA_DIR] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
data=$(realpath "${1:-../shared/data/loghub2k}")
rounds=${2:-3}
cargo build --release -q
echo "## sitrep (default config): accuracy"
target/release/sitrep templates --data "$data" --rounds 0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo
echo "## speed, system by system, sitrep then Drain3 (default configs), $rounds rounds"
echo "| system | sitrep lines/s (median) | Drain3 lines/s (median) | ratio (median of pairs) |"
echo "|---|---|---|---|"
for dir in "$data"/*/; do
  sys=$(basename "$dir")
  mkdir -p "$work/$sys"
  ln -sfn "$dir" "$work/$sys/$sys"
  ratios=() ; ours=() ; theirs=()
  for _ in $(seq "$rounds"); do
    target/release/sitrep templates --data "$work/$sys" --rounds 100 --json "$work/s.json" >/dev/null 2>&1 || continue
    a=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['systems'][0]['lines_per_sec'])" "$work/s.json")
    b=$(python3 scripts/drain3_compare.py "$work/$sys" 10 | awk -F'|' -v s="$sys" '$2 ~ s {gsub(/ /,"",$4); print $4}')
    ours+=("$a"); theirs+=("$b")
    ratios+=("$(python3 -c "print($a/$b)")")
  done
  [ ${#ratios[@]} -gt 0 ] || continue
  python3 - "$sys" "${ours[*]}" "${theirs[*]}" "${ratios[*]}" <<'PY' | tee -a "$work/rows"
import sys, statistics as st
name, a, b, r = sys.argv[1], *[list(map(float, x.split())) for x in sys.argv[2:5]]
print(f"| {name} | {st.median(a):,.0f} | {st.median(b):,.0f} | {st.median(r):.1f}× |")
PY
done
python3 - "$work/rows" <<'PY'
import sys
rows = [l.split("|") for l in open(sys.argv[1])]
a = [float(r[2].replace(",", "")) for r in rows]
b = [float(r[3].replace(",", "")) for r in rows]
r = [float(x[4].strip(" ×")) for x in rows]
print(f"| **mean** | **{sum(a)/len(a):,.0f}** | **{sum(b)/len(b):,.0f}** | **{sum(r)/len(r):.1f}×** (mean of ratios; {sum(a)/sum(b):.1f}× of means) |")
PY
