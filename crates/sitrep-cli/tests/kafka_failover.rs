//! Broker failure: a 3-broker cluster (replication factor 3, min.insync.replicas 2, acks
//! all everywhere), two workers, and the leader of the input partition killed with SIGKILL
//! mid-stream while events are still being produced. Nothing is lost: the final alerts
//! and incidents tables equal a clean run's on the single broker, and a read_committed
//! reader sees no update twice.
//!
//! The cluster is started here with `scripts/kafka.sh start 3` (ports 9192–9194, beside
//! the suite's broker) and stopped at the end. Its own test binary, so cargo runs it after
//! the other Kafka tests rather than beside them on the same two cores.

mod common;

use common::{assert_same_tables_exactly_once, bootstrap, gen, stop, Setup};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::ClientConfig;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn kafka_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/kafka.sh")
}

/// Stops the cluster however the test ends.
struct Cluster;

impl Cluster {
    fn start() -> (Cluster, String) {
        let out = Command::new(kafka_script())
            .args(["start", "3"])
            .stderr(std::process::Stdio::inherit())
            .output()
            .expect("scripts/kafka.sh");
        assert!(out.status.success(), "the 3-broker cluster did not start");
        let servers = String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .unwrap()
            .to_string();
        (Cluster, servers)
    }

    fn kill(&self, broker: i32) {
        let st = Command::new(kafka_script())
            .args(["kill", &broker.to_string()])
            .status()
            .unwrap();
        assert!(st.success());
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new(kafka_script()).args(["stop", "3"]).status();
    }
}

fn leader(brokers: &str, topic: &str) -> i32 {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .unwrap();
    let md = c.fetch_metadata(Some(topic), Duration::from_secs(30)).unwrap();
    md.topics()[0].partitions()[0].leader()
}

#[test]
fn a_broker_killed_mid_stream_loses_nothing() {
    let Some(single) = bootstrap() else { return };
    let events: usize = std::env::var("SITREP_KAFKA_FAILOVER_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300_000);
    let d = tempfile::tempdir().unwrap();
    let input = gen(d.path(), events);
    let text = std::fs::read_to_string(&input).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let records = lines.len() as i64;
    let (first, second) = lines.split_at(lines.len() / 2);
    let halves = [d.path().join("first.jsonl"), d.path().join("second.jsonl")];
    std::fs::write(&halves[0], first.join("\n") + "\n").unwrap();
    std::fs::write(&halves[1], second.join("\n") + "\n").unwrap();

    // the reference: a clean run on the single broker
    let clean = Setup::new(d.path(), &single, "fo-clean", true);
    let w = clean.worker("c1");
    clean.produce(&input);
    clean.wait_drained(records, Duration::from_secs(600));
    stop(w);

    let (cluster, servers) = Cluster::start();
    let settings = "replication_factor = 3\nmin_insync_replicas = 2\ntransaction_timeout_ms = 10000";
    let ha = Setup::with(d.path(), &servers, "failover", true, 3, settings);
    let mut w1 = ha.worker("w1");
    let mut w2 = ha.worker("w2");
    ha.produce(&halves[0]);
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        if ha.ingested() * 4 >= records && ha.correlating() {
            break;
        }
        assert!(Instant::now() < deadline, "no progress on the cluster");
        std::thread::sleep(Duration::from_millis(100));
    }
    // the input partition's leader goes: its partitions move, open transactions may abort
    let victim = leader(&servers, &ha.topic("raw"));
    cluster.kill(victim);
    eprintln!("killed broker {victim}");
    // produced with one broker down: acks=all is still met by the two in-sync replicas
    ha.produce(&halves[1]);
    ha.wait_drained(records, Duration::from_secs(600));
    // both lived through it (a producer fenced by a timed-out transaction is re-created)
    for (name, w) in [("w1", &mut w1), ("w2", &mut w2)] {
        assert!(
            w.try_wait().unwrap().is_none(),
            "{name} exited during the broker failure"
        );
    }
    stop(w1);
    stop(w2);

    assert_same_tables_exactly_once(&clean, &ha);
    drop(cluster);
}
