//! sitrep on a real Apache Kafka broker (started by `scripts/kafka.sh`; the address comes
//! in `SITREP_KAFKA_BOOTSTRAP`, and each test skips, saying so, without it). Third-party
//! clients on both sides: kcat produces the raw events and reads sitrep's outputs, as
//! other applications would.
//!
//! Each test uses its own topics and groups, so they can share one broker.

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn bootstrap() -> Option<String> {
    match std::env::var("SITREP_KAFKA_BOOTSTRAP") {
        Ok(b) if !b.is_empty() => Some(b),
        _ => {
            eprintln!("SKIPPED: SITREP_KAFKA_BOOTSTRAP is not set (scripts/test starts a broker with scripts/kafka.sh)");
            None
        }
    }
}

fn unique(name: &str) -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    format!("{name}-{}-{t}", std::process::id())
}

struct Setup {
    brokers: String,
    prefix: String,
    config: PathBuf,
}

impl Setup {
    fn new(dir: &Path, brokers: &str, name: &str, input_partitions_one: bool) -> Setup {
        let prefix = unique(name);
        let config = dir.join(format!("{prefix}.toml"));
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
        };
        if input_partitions_one {
            // one input partition: the events topic then receives each scope's events in
            // input order whichever worker ingests, so runs are comparable exactly
            s.create_topic(&format!("{}.raw", s.prefix), 1);
        }
        s
    }

    fn topic(&self, t: &str) -> String {
        format!("{}.{t}", self.prefix)
    }

    fn create_topic(&self, name: &str, partitions: i32) {
        use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
        let admin: AdminClient<_> = ClientConfig::new()
            .set("bootstrap.servers", &self.brokers)
            .create()
            .unwrap();
        let t = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
        futures_executor::block_on(admin.create_topics([&t], &AdminOptions::new())).unwrap();
    }

    fn worker(&self, instance: &str) -> Child {
        self.worker_with(instance, &[])
    }

    fn worker_with(&self, instance: &str, extra: &[&str]) -> Child {
        let log = std::env::temp_dir().join(format!("{}-{instance}.log", self.prefix));
        let mut child = Command::new(env!("CARGO_BIN_EXE_sitrep"))
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
        // keep reading so the worker never writes into a closed pipe
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        child
    }

    fn api_addr(&self, instance: &str) -> String {
        std::fs::read_to_string(std::env::temp_dir().join(format!("{}-{instance}.addr", self.prefix)))
            .unwrap()
    }

    fn produce(&self, file: &Path) {
        let st = Command::new("kcat")
            .args([
                "-b",
                &self.brokers,
                "-t",
                &self.topic("raw"),
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
    fn read(&self, topic: &str) -> Vec<(String, Option<String>)> {
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

    /// Latest value per key: the table a compacted topic stands for.
    fn table(&self, topic: &str) -> BTreeMap<String, String> {
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
    fn progress(&self, group: &str, topic: &str) -> (i64, i64) {
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
    fn pending(&self, group: &str, topic: &str) -> bool {
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
        let deadline = Instant::now() + Duration::from_millis(1500);
        while Instant::now() < deadline {
            if let Some(Ok(_)) = c.poll(Duration::from_millis(100)) {
                return true;
            }
        }
        false
    }

    /// Waits until both stages have committed everything there is.
    fn wait_drained(&self, input_records: i64, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let (ingested, _) = self.progress(&format!("{}-ingest", self.prefix), &self.topic("raw"));
            if ingested >= input_records && !self.pending(&self.prefix, &self.topic("events")) {
                return;
            }
            let (correlated, events_end) = self.progress(&self.prefix, &self.topic("events"));
            assert!(
                Instant::now() < deadline,
                "not drained: ingested {ingested}/{input_records}, correlated {correlated}/{events_end}"
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

fn gen(dir: &Path, events: usize) -> PathBuf {
    let out = dir.join(format!("gen-{events}"));
    if !out.join("events.jsonl").exists() {
        let st = Command::new(env!("CARGO_BIN_EXE_sitrep"))
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

fn stop(mut c: Child) {
    unsafe {
        libc_kill(c.id() as i32, 15);
    }
    let deadline = Instant::now() + Duration::from_secs(20);
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

#[test]
fn interop_with_kcat_and_dead_letters() {
    let Some(brokers) = bootstrap() else { return };
    let d = tempfile::tempdir().unwrap();
    let s = Setup::new(d.path(), &brokers, "interop", false);
    let w = s.worker_with("w1", &["--listen", "127.0.0.1:0"]);
    let mut lines = std::fs::read_to_string(gen(d.path(), 5000)).unwrap();
    lines.push_str("this is not json\n");
    lines.push_str("{\"source\":\"x\",\"check\":\"y\",\"severity\":\"banana\"}\n");
    lines.push_str(&format!(
        "{{\"source\":\"x\",\"check\":\"y\",\"description\":\"{}\"}}\n",
        "z".repeat(100_000)
    ));
    let input = d.path().join("input.jsonl");
    std::fs::write(&input, &lines).unwrap();
    s.produce(&input);
    s.wait_drained(lines.lines().count() as i64, Duration::from_secs(120));

    let alerts = s.table("alerts");
    let incidents = s.table("incidents");
    assert!(alerts.len() > 50, "{} alerts", alerts.len());
    assert!(!incidents.is_empty());
    for v in alerts.values().take(20) {
        let u: serde_json::Value = serde_json::from_str(v).unwrap();
        assert_eq!(
            (u["v"].as_u64(), u["type"].as_str()),
            (Some(1), Some("alert")),
            "{u}"
        );
    }
    for (k, v) in incidents.iter().take(20) {
        let u: serde_json::Value = serde_json::from_str(v).unwrap();
        assert_eq!(
            u["incident"]["id"].as_str(),
            Some(k.as_str()),
            "keyed by incident id"
        );
    }
    // the route got every critical alert update and only those
    let routed = s.read("critical");
    assert!(!routed.is_empty());
    assert!(routed
        .iter()
        .all(|(_, v)| v.as_deref().unwrap().contains("\"severity\":\"critical\"")));
    // bad records: the dead-letter topic, reason in headers; the worker kept going
    let out = Command::new("kcat")
        .args([
            "-b",
            &brokers,
            "-C",
            "-t",
            &s.topic("dlq"),
            "-e",
            "-q",
            "-f",
            "%h\n",
        ])
        .output()
        .unwrap();
    let headers = String::from_utf8_lossy(&out.stdout);
    for code in [
        "sitrep-code=not_json",
        "sitrep-code=unknown_severity",
        "sitrep-code=too_large",
    ] {
        assert!(headers.contains(code), "{code} in {headers}");
    }
    assert!(headers.contains("sitrep-reason="));

    // an operator action through the worker's API reaches the partition owning the
    // incident (via the commands topic) and lands in its timeline
    let id = incidents
        .iter()
        .find(|(_, v)| v.contains("\"state\":\"open\""))
        .map(|(k, _)| k.clone())
        .expect("an open incident");
    let body = r#"{"action":"acknowledge","by":"ann"}"#;
    let out = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-XPOST",
            "-H",
            "content-type: application/json",
        ])
        .args([
            "-d",
            body,
            &format!("http://{}/api/v1/incidents/{id}/actions", s.api_addr("w1")),
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "202");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now = s.table("incidents");
        let v: serde_json::Value = serde_json::from_str(&now[&id]).unwrap();
        if v["change"] == "acknowledged" {
            assert_eq!(v["incident"]["state"], "acknowledged");
            break;
        }
        assert!(Instant::now() < deadline, "the command was applied: {v}");
        std::thread::sleep(Duration::from_millis(300));
    }
    stop(w);
}

/// Two workers, one killed with SIGKILL mid-stream, a third joining later (a rebalance):
/// the final tables equal a clean single-worker run's, and a read_committed consumer sees
/// no update twice.
#[test]
fn crash_and_rebalance_give_the_clean_run_exactly_once() {
    let Some(brokers) = bootstrap() else { return };
    let events: usize = std::env::var("SITREP_KAFKA_TEST_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let d = tempfile::tempdir().unwrap();
    let input = gen(d.path(), events);
    let records = std::fs::read_to_string(&input).unwrap().lines().count() as i64;

    let clean = Setup::new(d.path(), &brokers, "clean", true);
    let w = clean.worker("c1");
    clean.produce(&input);
    clean.wait_drained(records, Duration::from_secs(600));
    stop(w);

    let crash = Setup::new(d.path(), &brokers, "crash", true);
    let mut w1 = crash.worker("w1");
    let w2 = crash.worker("w2");
    crash.produce(&input);
    // kill w1 once about a third of the stream is correlated
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let (done, end) = crash.progress(&crash.prefix, &crash.topic("events"));
        if end > 0 && done * 3 >= records {
            break;
        }
        assert!(Instant::now() < deadline, "no progress");
        std::thread::sleep(Duration::from_millis(100));
    }
    w1.kill().unwrap(); // SIGKILL
    w1.wait().unwrap();
    let killed = Instant::now();
    let (at_kill, _) = crash.progress(&crash.prefix, &crash.topic("events"));
    // a third worker joins once two thirds are done
    loop {
        let (done, _) = crash.progress(&crash.prefix, &crash.topic("events"));
        if done * 3 >= records * 2 {
            break;
        }
        assert!(Instant::now() < deadline, "no progress after the kill");
        std::thread::sleep(Duration::from_millis(100));
    }
    let w3 = crash.worker("w3");
    // w1's open transactions hold back read_committed readers until the broker aborts them
    // (transaction_timeout_ms 10 s + the broker's 1 s sweep): only then is "drained" true
    while killed.elapsed() < Duration::from_secs(13) {
        std::thread::sleep(Duration::from_millis(200));
    }
    crash.wait_drained(records, Duration::from_secs(600));
    eprintln!("killed w1 at {at_kill} of {records} correlated");
    stop(w2);
    stop(w3);

    for topic in ["alerts", "incidents"] {
        let a = clean.table(topic);
        let b = crash.table(topic);
        assert!(!a.is_empty());
        assert_eq!(a.len(), b.len(), "{topic}: same keys");
        for (k, v) in &a {
            assert_eq!(Some(v), b.get(k), "{topic} {k}");
        }
        // exactly once: every (entity, seq) appears once to a read_committed reader
        let mut seen = HashSet::new();
        for (k, v) in crash.read(topic) {
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
