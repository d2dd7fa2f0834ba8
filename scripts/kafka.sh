#!/usr/bin/env bash
# Apache Kafka for sitrep's tests and benchmarks, from Maven Central (no tarball, no Docker).
#   scripts/kafka.sh fetch         download kafka_2.13 (KRaft) and dependencies into the cache
#   scripts/kafka.sh start [1|3]   format storage and start 1 broker (127.0.0.1:9092) or a
#                                  3-broker cluster (127.0.0.1:9192,9193,9194); waits until ready
#   scripts/kafka.sh stop [1|3]    stop the single broker or the cluster (default: both)
#   scripts/kafka.sh kill N        SIGKILL broker N of the 3-broker cluster (failover tests)
#   scripts/kafka.sh create-topic NAME [PARTITIONS]   (on the single broker)
# Each broker runs in combined mode (broker + controller, static quorum), data in a fresh
# folder per start. The single broker and the cluster use separate ports and folders, so
# both can run at once (the failover test starts the cluster beside the suite's broker).
# Cache: $SITREP_KAFKA_HOME (default: .cache/kafka in the repository).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
home="${SITREP_KAFKA_HOME:-$repo/.cache/kafka}"
lib="$home/lib"
runs="$home"  # run-1/ for the single broker, run-3/ for the cluster

fetch() {
  if [ -f "$lib/.complete" ]; then return; fi
  echo "fetching Apache Kafka from Maven Central into $lib" >&2
  mkdir -p "$lib"
  # to stderr: callers take the bootstrap address from the last line of stdout
  mvn -q -B -f "$repo/scripts/kafka/pom.xml" dependency:copy-dependencies -DoutputDirectory="$lib" >&2
  touch "$lib/.complete"
}

java_cmd() { java -Xms256m -Xmx1g -Dlog4j2.configurationFile="$repo/scripts/kafka/log4j2.properties" -cp "$lib/*" "$@"; }

props() { # id client_port controller_port voters
  cat <<P
process.roles=broker,controller
node.id=$1
controller.quorum.voters=$4
listeners=PLAINTEXT://127.0.0.1:$2,CONTROLLER://127.0.0.1:$3
advertised.listeners=PLAINTEXT://127.0.0.1:$2
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$run/broker-$1/data
num.partitions=4
offsets.topic.replication.factor=$5
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=$5
transaction.state.log.min.isr=$6
transaction.state.log.num.partitions=8
default.replication.factor=$5
min.insync.replicas=$6
group.initial.rebalance.delay.ms=0
# a crashed worker's open transaction is aborted soon after its timeout (default 10 s)
transaction.abort.timed.out.transaction.cleanup.interval.ms=1000
message.max.bytes=67108864
replica.fetch.max.bytes=67108864
auto.create.topics.enable=false
log.segment.bytes=268435456
P
}

wait_ready() { # port
  for _ in $(seq 120); do
    if (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null; then
      if java_cmd org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$1" --list >/dev/null 2>&1; then
        return 0
      fi
    fi
    sleep 1
  done
  echo "broker on port $1 did not become ready; logs in $run" >&2
  return 1
}

start() {
  local n="${1:-1}"
  fetch
  stop "$n" >/dev/null 2>&1 || true
  run="$runs/run-$n"
  rm -rf "$run"; mkdir -p "$run"
  local cluster_id
  cluster_id=$(java_cmd kafka.tools.StorageTool random-uuid)
  local voters="" ids rf isr base cbase
  if [ "$n" = 1 ]; then ids="1"; base=9091; cbase=9092; rf=1; isr=1; voters="1@127.0.0.1:9093"
  else ids="1 2 3"; base=9191; cbase=9291; rf=3; isr=2
    voters="1@127.0.0.1:9292,2@127.0.0.1:9293,3@127.0.0.1:9294"; fi
  for id in $ids; do
    mkdir -p "$run/broker-$id"
    props "$id" $((base + id)) $((cbase + id)) "$voters" "$rf" "$isr" >"$run/broker-$id/server.properties"
    java_cmd kafka.tools.StorageTool format -t "$cluster_id" -c "$run/broker-$id/server.properties" >/dev/null
    nohup java -Xms256m -Xmx1g -Dlog4j2.configurationFile="$repo/scripts/kafka/log4j2.properties" -cp "$lib/*" \
      kafka.Kafka "$run/broker-$id/server.properties" >"$run/broker-$id/out.log" 2>&1 &
    echo $! >"$run/broker-$id/pid"
  done
  for id in $ids; do wait_ready $((base + id)); done
  local servers=""
  for id in $ids; do servers="${servers:+$servers,}127.0.0.1:$((base + id))"; done
  echo "$servers" >"$run/bootstrap"
  echo "$servers"
}

stop() {
  local pids=()
  if [ -z "${1:-}" ]; then pids=("$runs"/run-*/broker-*/pid); else pids=("$runs/run-$1"/broker-*/pid); fi
  for p in "${pids[@]}"; do
    [ -f "$p" ] || continue
    kill "$(cat "$p")" 2>/dev/null || true
  done
  for p in "${pids[@]}"; do
    [ -f "$p" ] || continue
    for _ in $(seq 30); do kill -0 "$(cat "$p")" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$(cat "$p")" 2>/dev/null || true
    rm -f "$p"
  done
}

case "${1:-}" in
  fetch) fetch ;;
  start) start "${2:-1}" ;;
  stop) stop "${2:-}" ;;
  kill) kill -9 "$(cat "$runs/run-3/broker-$2/pid")" ;;
  create-topic) java_cmd org.apache.kafka.tools.TopicCommand --bootstrap-server "$(cat "$runs/run-1/bootstrap")" \
      --create --topic "$2" --partitions "${3:-6}" >/dev/null ;;
  *) sed -n '2,10p' "$0"; exit 2 ;;
esac
