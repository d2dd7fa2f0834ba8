#!/usr/bin/env bash
# Runs the broker-failure test (crates/sitrep-cli/tests/kafka_failover.rs) N times in a row
# and stops at the first failure: one green run proves little about a race, N in a row
# does more. With --stress, two busy loops per core run beside it, so that librdkafka's
# timers, the brokers and the workers all run late (the timing a loaded host gives).
#   scripts/failover-soak.sh [N=5] [--stress]
# Starts the single reference broker when SITREP_KAFKA_BOOTSTRAP is unset; the test starts
# and stops its own 3-broker cluster. Each run's output: target/failover-soak/run-K.log.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
stress=${2:-}
mkdir -p target/failover-soak
# run copies of the test and of sitrep, so that the tree can be edited and rebuilt meanwhile
cargo build --release -p sitrep -q
exe=$(cargo test --release -p sitrep --test kafka_failover --no-run 2>&1 | sed -n 's/.*Executable .*(\(.*\)).*/\1/p' | tail -1)
mkdir -p target/failover-soak/bin
cp "$exe" target/failover-soak/bin/kafka_failover
cp target/release/sitrep target/failover-soak/bin/sitrep
export SITREP_TEST_BIN=$PWD/target/failover-soak/bin/sitrep
burners=()
started=""
cleanup() {
  [ ${#burners[@]} -eq 0 ] || kill "${burners[@]}" 2>/dev/null || true
  [ -z "$started" ] || scripts/kafka.sh stop 1 >/dev/null 2>&1 || true
}
trap cleanup EXIT
if [ -z "${SITREP_KAFKA_BOOTSTRAP:-}" ]; then
  scripts/kafka.sh fetch
  SITREP_KAFKA_BOOTSTRAP=$(scripts/kafka.sh start 1 2>/dev/null | tail -1)
  export SITREP_KAFKA_BOOTSTRAP
  started=1
fi
if [ "$stress" = "--stress" ]; then
  for _ in $(seq $((2 * $(nproc)))); do
    (while :; do :; done) &
    burners+=($!)
  done
  echo "== $((2 * $(nproc))) busy loops running beside the test"
fi
for k in $(seq "$runs"); do
  start=$(date +%s)
  if (cd crates/sitrep-cli && timeout 1500 ../../target/failover-soak/bin/kafka_failover --nocapture) \
      > "target/failover-soak/run-$k.log" 2>&1; then
    echo "run $k of $runs: ok in $(( $(date +%s) - start )) s"
  else
    echo "run $k of $runs: FAILED after $(( $(date +%s) - start )) s (target/failover-soak/run-$k.log)"
    exit 1
  fi
done
echo "all $runs runs passed${stress:+ (under $stress)}"
