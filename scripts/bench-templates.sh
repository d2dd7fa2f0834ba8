#!/usr/bin/env bash
# Template mining side by side with Drain3 on the same LogHub lines, in one run:
# accuracy (GA) and single-thread lines/s of both. Needs python3 with `pip install drain3`.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data/loghub2k}
cargo build --release -q
echo "## sitrep (default config)"
target/release/sitrep templates --data "$data" --rounds 20
echo
echo "## Drain3 (default config)"
python3 scripts/drain3_compare.py "$data" 3
