//! Helpers for the tests on a real Apache Kafka broker: per-test topics and groups, sitrep
//! workers as child processes, kcat as the third-party producer and reader.
#![allow(dead_code)] // each test binary uses a part

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn bootstrap() -> Option<String> {
    match std::env::var("SITREP_KAFKA_BOOTSTRAP") {
        Ok(b) if !b.is_empty() => Some(b),
        _ => {
            // CI must run every test: a missing broker there is a failure, not a skip
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "SITREP_KAFKA_BOOTSTRAP is not set under CI (scripts/test starts a broker)"
            );
            eprintln!("SKIPPED: SITREP_KAFKA_BOOTSTRAP is not set (scripts/test starts a broker with scripts/kafka.sh)");
            None
        }
    }
}

pub fn unique(name: &str) -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    format!("{name}-{}-{t}", std::process::id())
}

pub struct Setup {
    pub brokers: String,
    pub prefix: String,
    pub config: PathBuf,
    /// Replication factor of the topics the test creates itself.
    pub replication: i32,
    /// `.NAME` for replay NAME (its group and the topics it writes), else empty.
    pub suffix: String,
}

impl Setup {
    pub fn new(dir: &Path, brokers: &str, name: &str, input_partitions_one: bool) -> Setup {
        Setup::with(dir, brokers, name, input_partitions_one, 1, "")
    }

    /// `kafka_settings`: extra lines for the `[kafka]` table (replication, min ISR, …);
    /// `{prefix}` in them is the test's topic prefix (for an extra `[[kafka.inputs]]`).
    pub fn with(
        dir: &Path,
        brokers: &str,
        name: &str,
        input_partitions_one: bool,
        replication: i32,
        kafka_settings: &str,
    ) -> Setup {
        let prefix = unique(name);
        let config = dir.join(format!("{prefix}.toml"));
        let kafka_settings = kafka_settings.replace("{prefix}", &prefix);
        std::fs::write(
            &config,
            format!(
                r#"
[kafka]
brokers = "{brokers}"
group = "{prefix}"
scope = ["labels.region"]
partitions = 6
snapshot_every = 5000
commit_interval_ms = 100
{kafka_settings}
[kafka.topics]
events = "{prefix}.events"
changelog = "{prefix}.changelog"
alerts = "{prefix}.alerts"
incidents = "{prefix}.incidents"
dead_letters = "{prefix}.dlq"
commands = "{prefix}.commands"
[[kafka.routes]]
topic = "{prefix}.critical"
match = {{ min_severity = "critical" }}
[[kafka.inputs]]
topic = "{prefix}.raw"
format = "native"
"#
            ),
        )
        .unwrap();
        let s = Setup {
            brokers: brokers.to_string(),
            prefix,
            config,
            replication,
            suffix: String::new(),
        };
        if input_partitions_one {
            // one input partition: the events topic then receives each scope's events in
            // input order whichever worker ingests, so runs are comparable exactly
            s.create_topic(&format!("{}.raw", s.prefix), 1);
        }
        s
    }

    /// The same setup seen as replay `name` (`sitrep run --replay name`).
    pub fn replay(&self, name: &str) -> Setup {
        Setup {
            brokers: self.brokers.clone(),
            prefix: self.prefix.clone(),
            config: self.config.clone(),
            replication: self.replication,
            suffix: format!(".{name}"),
        }
    }

    /// The correlate stage's group (the ingest stage's is `{group}-ingest`).
    pub fn group(&self) -> String {
        format!("{}{}", self.prefix, self.suffix)
    }

    /// A topic of this setup: the input `raw` is shared by replays; the others are theirs.
    pub fn topic(&self, t: &str) -> String {
        match t {
            "raw" => format!("{}.raw", self.prefix),
            _ => format!("{}.{t}{}", self.prefix, self.suffix),
        }
    }

    pub fn create_topic(&self, name: &str, partitions: i32) {
        use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
        let admin: AdminClient<_> = ClientConfig::new()
            .set("bootstrap.servers", &self.brokers)
            .create()
            .unwrap();
        let t = NewTopic::new(name, partitions, TopicReplication::Fixed(self.replication));
        futures_executor::block_on(admin.create_topics([&t], &AdminOptions::new())).unwrap();
    }

    pub fn worker(&self, instance: &str) -> Worker {
        self.worker_with(instance, &[])
    }

    pub fn worker_with(&self, instance: &str, extra: &[&str]) -> Worker {
        let log = std::env::temp_dir().join(format!("{}-{instance}.log", self.prefix));
        let mut child = Command::new(sitrep_bin())
            .args([
                "run",
                "--config",
                self.config.to_str().unwrap(),
                "--instance",
                instance,
            ])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        loop {
            line.clear();
            out.read_line(&mut line).unwrap();
            match line.strip_prefix("actions on http://") {
                Some(addr) => {
                    let file = std::env::temp_dir().join(format!("{}-{instance}.addr", self.prefix));
                    std::fs::write(file, addr.trim()).unwrap();
                }
                None => break,
            }
        }
        assert!(line.starts_with("kafka worker"), "{line}");
        // keep reading so the worker never writes into a closed pipe; what it says is kept
        let mut said = std::fs::File::create(self.output_path(instance)).unwrap();
        std::thread::spawn(move || std::io::copy(&mut out, &mut said));
        Worker(child)
    }

    fn output_path(&self, instance: &str) -> PathBuf {
        std::env::temp_dir().join(format!("{}{}-{instance}.out", self.prefix, self.suffix))
    }

    /// Waits for a line of a worker's stdout (after its first) that contains `text`.
    pub fn wait_for_output(&self, instance: &str, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let said = std::fs::read_to_string(self.output_path(instance)).unwrap_or_default();
            if let Some(l) = said.lines().find(|l| l.contains(text)) {
                return l.to_string();
            }
            assert!(
                Instant::now() < deadline,
                "{instance} did not say `{text}`: {said}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn api_addr(&self, instance: &str) -> String {
        std::fs::read_to_string(std::env::temp_dir().join(format!("{}-{instance}.addr", self.prefix)))
            .unwrap()
    }

    /// Writes `file`'s lines to the input topic in order. Idempotent, as every producer
    /// of sitrep's input should be: without it librdkafka may retry a batch after a later
    /// one through a broker failure, and the topic then holds the input in another order
    /// (which sitrep correlates as it finds it, so the failover test's tables differed
    /// from the clean run's; docs/operations.md).
    pub fn produce(&self, file: &Path) {
        let st = Command::new("kcat")
            .args([
                "-b",
                &self.brokers,
                "-t",
                &self.topic("raw"),
                "-X",
                "acks=all",
                "-X",
                "enable.idempotence=true",
                "-P",
                "-l",
                file.to_str().unwrap(),
            ])
            .status()
            .expect("kcat");
        assert!(st.success());
    }

    /// Every record of a topic as a read_committed third party sees it: (key, value or
    /// None for a tombstone), in partition order.
    pub fn read(&self, topic: &str) -> Vec<(String, Option<String>)> {
        let out = Command::new("kcat")
            .args([
                "-b",
                &self.brokers,
                "-C",
                "-t",
                &self.topic(topic),
                "-e",
                "-q",
                "-X",
                "isolation.level=read_committed",
            ])
            .args(["-f", "%k\t%S\t%s\n"])
            .output()
            .expect("kcat");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| {
                let mut it = l.splitn(3, '\t');
                let (k, size, v) = (it.next()?, it.next()?, it.next().unwrap_or(""));
                Some((k.to_string(), (size != "-1").then(|| v.to_string())))
            })
            .collect()
    }

    /// Events on the internal events topic as a read_committed reader sees them: the
    /// frames of every batch record (src/wire.rs of sitrep-kafka), commands not counted.
    pub fn events_in(&self, topic: &str) -> usize {
        self.events_by_partition(topic).iter().map(Vec::len).sum()
    }

    /// Every event on each partition of the internal events topic, as a read_committed
    /// reader sees them, one line each (source, check, time, severity, description).
    pub fn events_by_partition(&self, topic: &str) -> Vec<Vec<String>> {
        use rdkafka::message::Message;
        let topic = self.topic(topic);
        let c: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &self.brokers)
            .set("group.id", unique("diagnose"))
            .set("isolation.level", "read_committed")
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "true")
            .create()
            .unwrap();
        let md = c.fetch_metadata(Some(&topic), Duration::from_secs(10)).unwrap();
        let parts = md.topics()[0].partitions().len();
        let mut tpl = TopicPartitionList::new();
        for p in 0..parts as i32 {
            tpl.add_partition_offset(&topic, p, Offset::Beginning).unwrap();
        }
        c.assign(&tpl).unwrap();
        let mut events = vec![Vec::new(); parts];
        let mut at_end = std::collections::HashSet::new();
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut inputs = Vec::new();
        while at_end.len() < parts {
            assert!(Instant::now() < deadline, "reading {topic} timed out");
            match c.poll(Duration::from_millis(500)) {
                Some(Err(rdkafka::error::KafkaError::PartitionEOF(p))) => {
                    at_end.insert(p);
                }
                Some(Ok(m)) => {
                    inputs.clear();
                    sitrep_kafka::wire::decode(&m, &mut inputs);
                    for i in &inputs {
                        if let sitrep_core::Input::Event(e) = i {
                            // the offset last: it differs between runs (transaction
                            // markers), and comparisons cut it off at "  [@"
                            events[m.partition() as usize].push(format!(
                                "{} {} {:?} {:?} {}  [@{}]",
                                e.source,
                                e.check,
                                e.time,
                                e.severity,
                                e.description,
                                m.offset()
                            ));
                        }
                    }
                }
                Some(Err(e)) => panic!("reading {topic}: {e}"),
                None => {}
            }
        }
        events
    }

    /// Each engine's alert and incident updates in the order it numbered them (`seq`),
    /// keyed by the engine's partition (the number in `A<p>-…` and `INC<p>-…`).
    pub fn updates_by_engine(&self) -> BTreeMap<String, Vec<(u64, String)>> {
        let mut by: BTreeMap<String, Vec<(u64, String)>> = BTreeMap::new();
        for topic in ["alerts", "incidents"] {
            for (k, v) in self.read(topic) {
                let Some(v) = v else { continue };
                let engine: String = k
                    .trim_start_matches("INC")
                    .trim_start_matches('A')
                    .split('-')
                    .next()
                    .unwrap_or("")
                    .to_string();
                let seq = serde_json::from_str::<serde_json::Value>(&v)
                    .ok()
                    .and_then(|u| u["seq"].as_u64())
                    .unwrap_or(0);
                by.entry(engine).or_default().push((seq, v));
            }
        }
        for updates in by.values_mut() {
            updates.sort();
            // the seq itself shifts after an extra update: compare the updates without it
            for (seq, v) in updates.iter_mut() {
                *v = v.replacen(&format!("\"seq\":{seq},"), "", 1);
            }
        }
        by
    }

    /// Latest value per key: the table a compacted topic stands for.
    pub fn table(&self, topic: &str) -> BTreeMap<String, String> {
        let mut t = BTreeMap::new();
        for (k, v) in self.read(topic) {
            match v {
                Some(v) => t.insert(k, v),
                None => t.remove(&k),
            };
        }
        t
    }

    /// Messages a group has committed past, summed over a topic's partitions.
    pub fn progress(&self, group: &str, topic: &str) -> (i64, i64) {
        let c: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &self.brokers)
            .set("group.id", group)
            .create()
            .unwrap();
        // a topic just created may not have leaders yet: count that as no progress
        let Ok(md) = c.fetch_metadata(Some(topic), Duration::from_secs(10)) else {
            return (0, 0);
        };
        let parts = md.topics()[0].partitions().len() as i32;
        let mut tpl = TopicPartitionList::new();
        for p in 0..parts {
            tpl.add_partition(topic, p);
        }
        let Ok(committed) = c.committed_offsets(tpl, Duration::from_secs(10)) else {
            return (0, 0);
        };
        let (mut done, mut end) = (0, 0);
        for p in 0..parts {
            let Ok((_, high)) = c.fetch_watermarks(topic, p, Duration::from_secs(10)) else {
                return (0, 0);
            };
            end += high;
            if let Some(Offset::Offset(o)) = committed.find_partition(topic, p).map(|e| e.offset()) {
                done += o;
            }
        }
        (done, end)
    }

    /// Whether a read_committed reader finds any record past the group's committed
    /// offsets (offsets alone cannot tell: transaction markers take offsets too).
    pub fn pending(&self, group: &str, topic: &str) -> bool {
        let c: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &self.brokers)
            .set("group.id", group)
            .set("isolation.level", "read_committed")
            .set("enable.auto.commit", "false")
            .create()
            .unwrap();
        let md = c.fetch_metadata(Some(topic), Duration::from_secs(10)).unwrap();
        let parts = md.topics()[0].partitions().len() as i32;
        let mut tpl = TopicPartitionList::new();
        for p in 0..parts {
            tpl.add_partition(topic, p);
        }
        let committed = c.committed_offsets(tpl, Duration::from_secs(10)).unwrap();
        let mut from = TopicPartitionList::new();
        for p in 0..parts {
            let o = match committed.find_partition(topic, p).map(|e| e.offset()) {
                Some(Offset::Offset(o)) => Offset::Offset(o),
                _ => Offset::Beginning,
            };
            from.add_partition_offset(topic, p, o).unwrap();
        }
        c.assign(&from).unwrap();
        let mut end = Vec::new();
        for p in 0..parts {
            end.push(c.fetch_watermarks(topic, p, Duration::from_secs(10)).unwrap().1);
        }
        // Nothing pending once the reader's position has passed the end of every partition
        // (it moves past transaction markers too). A fixed listening window was not enough:
        // on a loaded machine the first fetch can take longer than the window, and a stage
        // still behind looked drained (a live table read before it was complete).
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Some(Ok(_)) = c.poll(Duration::from_millis(100)) {
                return true;
            }
            let Ok(pos) = c.position() else { continue };
            let reached = (0..parts).all(|p| {
                let at = pos.find_partition(topic, p).and_then(|e| match e.offset() {
                    Offset::Offset(o) => Some(o),
                    _ => None,
                });
                let from = match from.find_partition(topic, p).map(|e| e.offset()) {
                    Some(Offset::Offset(o)) => o,
                    _ => 0,
                };
                at.unwrap_or(from) >= end[p as usize]
            });
            if reached {
                return false;
            }
        }
        false
    }

    /// Input records the ingest stage has committed past (stage 1's progress).
    pub fn ingested(&self) -> i64 {
        self.progress(&format!("{}-ingest", self.group()), &self.topic("raw"))
            .0
    }

    /// Whether the correlate stage has committed past any batch yet (stage 2 has started).
    pub fn correlating(&self) -> bool {
        self.progress(&self.group(), &self.topic("events")).0 > 0
    }

    /// Produces `lines` (each `key<TAB>value`) to partition `partition` of the input
    /// topic, or by Kafka's default partitioner (murmur2 of the key, as the Java client)
    /// when `None`: a producer keying by scope, as `keyed_input` expects.
    pub fn produce_keyed(&self, lines: &str, partition: Option<i32>) {
        let file = std::env::temp_dir().join(format!("{}-keyed-{}.txt", self.prefix, std::process::id()));
        std::fs::write(&file, lines).unwrap();
        let mut cmd = Command::new("kcat");
        cmd.args(["-b", &self.brokers, "-t", &self.topic("raw"), "-X", "acks=all"])
            .args([
                "-X",
                "enable.idempotence=true",
                "-X",
                "partitioner=murmur2_random",
                "-K",
                "\t",
                "-P",
                "-l",
            ])
            .arg(&file);
        if let Some(p) = partition {
            cmd.args(["-p", &p.to_string()]);
        }
        assert!(cmd.status().expect("kcat").success());
        let _ = std::fs::remove_file(file);
    }

    /// With `keyed_input`: waits until the correlate stage has committed all
    /// `input_records` of the input topic.
    pub fn wait_drained_keyed(&self, input_records: i64, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let (done, end) = self.progress(&self.group(), &self.topic("raw"));
            if done >= input_records && end >= input_records {
                return;
            }
            assert!(Instant::now() < deadline, "not drained: {done}/{input_records}");
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// Waits until both stages have committed everything there is.
    pub fn wait_drained(&self, input_records: i64, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let (ingested, _) = self.progress(&format!("{}-ingest", self.group()), &self.topic("raw"));
            if ingested >= input_records && !self.pending(&self.group(), &self.topic("events")) {
                return;
            }
            let (correlated, events_end) = self.progress(&self.group(), &self.topic("events"));
            assert!(
                Instant::now() < deadline,
                "not drained: ingested {ingested}/{input_records}, correlated {correlated}/{events_end}"
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

/// `python3` with the OpenTelemetry SDK (scripts/test installs it), or a skip that fails
/// under CI.
pub fn python_with_otel_sdk() -> bool {
    let ok = Command::new("python3")
        .args([
            "-c",
            "import opentelemetry.sdk._logs, opentelemetry.exporter.otlp.proto.http",
        ])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "the OpenTelemetry Python SDK is missing under CI (scripts/test installs it)"
        );
        eprintln!("SKIPPED: python3 with opentelemetry-sdk is missing (pip install opentelemetry-sdk opentelemetry-exporter-otlp-proto-http)");
    }
    ok
}

pub fn gen(dir: &Path, events: usize) -> PathBuf {
    let out = dir.join(format!("gen-{events}"));
    if !out.join("events.jsonl").exists() {
        let st = Command::new(sitrep_bin())
            .args([
                "gen",
                "--scenario",
                "telco",
                "--seed",
                "3",
                "--events",
                &events.to_string(),
                "--out",
                out.to_str().unwrap(),
            ])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success());
    }
    out.join("events.jsonl")
}

/// A `sitrep run` child process, killed if the test ends (or panics) while it still runs,
/// so a failed test does not leave workers competing with the next tests for the cores.
pub struct Worker(pub Child);

impl std::ops::Deref for Worker {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Worker {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

pub fn stop(mut c: Worker) {
    unsafe {
        libc_kill(c.id() as i32, 15);
    }
    // a worker finishes its open transactions first: with a broker down and the machine
    // loaded, a commit can take its full 30 s timeout
    let deadline = Instant::now() + Duration::from_secs(60);
    while c.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            c.kill().unwrap();
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

/// The alerts and incidents tables of `run` equal those of `clean`, and a read_committed
/// reader of `run`'s topics sees every (entity, seq) update once.
/// Two tables alike, or a failure that names how many keys differ and shows the first.
pub fn assert_same_table(topic: &str, expected: &BTreeMap<String, String>, got: &BTreeMap<String, String>) {
    if let Err(why) = same_table(topic, expected, got) {
        panic!("{why}");
    }
}

/// Where two tables differ, in one message (`Ok` when they are equal).
fn same_table(
    topic: &str,
    expected: &BTreeMap<String, String>,
    got: &BTreeMap<String, String>,
) -> Result<(), String> {
    assert!(!expected.is_empty(), "{topic}: empty");
    let missing: Vec<&String> = expected.keys().filter(|k| !got.contains_key(*k)).collect();
    let extra: Vec<&String> = got.keys().filter(|k| !expected.contains_key(*k)).collect();
    let changed: Vec<&String> = expected
        .iter()
        .filter(|(k, v)| got.get(*k).is_some_and(|g| g != *v))
        .map(|(k, _)| k)
        .collect();
    if missing.is_empty() && extra.is_empty() && changed.is_empty() {
        return Ok(());
    }
    let first = changed
        .first()
        .map(|k| format!("\n{k} expected {}\n{k} got      {}", expected[*k], got[*k]))
        .unwrap_or_default();
    let without_seq = |v: &str| {
        let mut u: serde_json::Value = serde_json::from_str(v).unwrap_or_default();
        u["seq"] = serde_json::Value::Null;
        u
    };
    let seq_only = changed
        .iter()
        .filter(|k| without_seq(&expected[**k]) == without_seq(&got[**k]))
        .count();
    Err(format!(
        "{topic}: {} of {} keys missing ({:?}…), {} extra ({:?}…), {} changed ({seq_only} only in `seq`){first}",
        missing.len(),
        expected.len(),
        missing.iter().take(3).collect::<Vec<_>>(),
        extra.len(),
        extra.iter().take(3).collect::<Vec<_>>(),
        changed.len(),
    ))
}

/// The tables of `run` equal `clean`'s and no update of `run` was published twice. When
/// the tables differ, the message also says where the two runs first parted: the first
/// event that differs on each partition of the internal events topic (stage 1's output),
/// and the first update that differs in each engine's numbered update stream (stage 2's),
/// so a failure that happens once in many runs is diagnosed from its own message.
pub fn assert_same_tables_exactly_once(clean: &Setup, run: &Setup) {
    for topic in ["alerts", "incidents"] {
        if let Err(why) = same_table(topic, &clean.table(topic), &run.table(topic)) {
            panic!("{why}\n{}", where_runs_part(clean, run));
        }
        let mut seen = std::collections::HashSet::new();
        for (k, v) in run.read(topic) {
            let Some(v) = v else { continue };
            let u: serde_json::Value = serde_json::from_str(&v).unwrap();
            assert!(
                seen.insert((k.clone(), u["seq"].as_u64().unwrap())),
                "{topic}: update {k} seq {} twice",
                u["seq"]
            );
        }
    }
}

/// See [`assert_same_tables_exactly_once`].
fn where_runs_part(clean: &Setup, run: &Setup) -> String {
    let mut out = String::new();
    // the input itself: the run's producer wrote it through the broker failure
    let (a, b) = (clean.read("raw"), run.read("raw"));
    match a.iter().zip(&b).position(|(x, y)| x != y) {
        None if a.len() == b.len() => out.push_str(&format!(
            "input: the same {} records in the same order\n",
            a.len()
        )),
        None => out.push_str(&format!(
            "input: {} / {} records, one a prefix of the other\n",
            a.len(),
            b.len()
        )),
        Some(i) => {
            let (mut x, mut y) = (a.clone(), b.clone());
            x.sort();
            y.sort();
            out.push_str(&format!(
                "input: {} / {} records; record {i} differs ({}):\n  clean {:?}\n  run   {:?}\n",
                a.len(),
                b.len(),
                if x == y {
                    "the same records in another order"
                } else {
                    "not the same records"
                },
                a[i].1,
                b[i].1
            ));
        }
    }
    let (a, b) = (
        clean.events_by_partition("events"),
        run.events_by_partition("events"),
    );
    let plain = |e: &String| e.split("  [@").next().unwrap_or("").to_string();
    for (p, (a, b)) in a.iter().zip(&b).enumerate() {
        match a.iter().zip(b).position(|(x, y)| plain(x) != plain(y)) {
            Some(i) => out.push_str(&format!(
                "events partition {p}: event {i} of {} / {} differs:\n  clean {}\n  run   {}\n",
                a.len(),
                b.len(),
                a[i],
                b[i]
            )),
            None if a.len() != b.len() => out.push_str(&format!(
                "events partition {p}: clean has {} events, run {} (one is a prefix of the other)\n",
                a.len(),
                b.len()
            )),
            None => out.push_str(&format!("events partition {p}: the same {} events\n", a.len())),
        }
    }
    let (a, b) = (clean.updates_by_engine(), run.updates_by_engine());
    for (engine, a) in &a {
        let empty = Vec::new();
        let b = b.get(engine).unwrap_or(&empty);
        out.push_str(&format!("engine {engine}: {} / {} updates\n", a.len(), b.len()));
        out.push_str(&align(a, b));
    }
    out
}

/// The stretches where two update streams (in `seq` order, compared without `seq`) part:
/// each as the updates only the clean run has and those only the run has, in short form.
fn align(a: &[(u64, String)], b: &[(u64, String)]) -> String {
    let short = |(seq, v): &(u64, String)| {
        let u: serde_json::Value = serde_json::from_str(v).unwrap_or_default();
        let body = if u["alert"].is_object() {
            &u["alert"]
        } else {
            &u["incident"]
        };
        format!(
            "seq {seq} {} {} {} t={} count={}",
            body["id"].as_str().unwrap_or("?"),
            u["change"].as_str().unwrap_or("?"),
            body["signature"]
                .as_str()
                .or(body["title"].as_str())
                .unwrap_or(""),
            u["time"],
            body["count"]
        )
    };
    let (mut i, mut j, mut out, mut stretches) = (0, 0, String::new(), 0);
    while i < a.len() && j < b.len() && stretches < 6 {
        if a[i].1 == b[j].1 {
            i += 1;
            j += 1;
            continue;
        }
        // the nearest point where both go on alike: skip k of one side and l of the other
        let window = 400;
        let resync = (1..window)
            .flat_map(|d| (0..=d).map(move |k| (k, d - k)))
            .find(|&(k, l)| i + k < a.len() && j + l < b.len() && a[i + k].1 == b[j + l].1);
        let (k, l) = resync.unwrap_or((a.len() - i, b.len() - j));
        stretches += 1;
        out.push_str(&format!("  only clean ({k}):\n"));
        for u in a[i..i + k].iter().take(8) {
            out.push_str(&format!("    {}\n", short(u)));
        }
        out.push_str(&format!("  only run ({l}):\n"));
        for u in b[j..j + l].iter().take(8) {
            out.push_str(&format!("    {}\n", short(u)));
        }
        i += k;
        j += l;
    }
    if i < a.len() || j < b.len() {
        out.push_str(&format!(
            "  then {} clean and {} run updates not aligned\n",
            a.len() - i,
            b.len() - j
        ));
    }
    out
}

/// The `sitrep` binary the workers run: cargo's, or a copy named by `SITREP_TEST_BIN`
/// (scripts/failover-soak.sh runs copies, so the tree can be rebuilt while it soaks).
fn sitrep_bin() -> std::ffi::OsString {
    std::env::var_os("SITREP_TEST_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_sitrep").into())
}
