//! sitrep on a real Apache Kafka broker (started by `scripts/kafka.sh`; the address comes
//! in `SITREP_KAFKA_BOOTSTRAP`, and each test skips, saying so, without it). Third-party
//! clients on both sides: kcat produces the raw events and reads sitrep's outputs, as
//! other applications would.
//!
//! Each test uses its own topics and groups, so they can share one broker.

mod common;

use common::{assert_same_tables_exactly_once, bootstrap, gen, python_with_otel_sdk, stop, Setup};
use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn interop_with_kcat_and_dead_letters() {
    let Some(brokers) = bootstrap() else { return };
    let d = tempfile::tempdir().unwrap();
    let s = Setup::new(d.path(), &brokers, "interop", false);
    let w = s.worker_with("w1", &["--listen", "127.0.0.1:0"]);
    let mut lines = std::fs::read_to_string(gen(d.path(), 20_000)).unwrap();
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
            (Some(3), Some("alert")),
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
    // the same request from a web page (it carries an Origin) is refused
    let out = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-XPOST"])
        .args([
            "-H",
            "content-type: application/json",
            "-H",
            "origin: http://evil.example",
        ])
        .args([
            "-d",
            body,
            &format!("http://{}/api/v1/incidents/{id}/actions", s.api_addr("w1")),
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "403",
        "a cross-origin action"
    );
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

/// OTLP logs on Kafka as the Collector's kafka exporter writes them (`otlp_proto`: one
/// `ExportLogsServiceRequest` per record), encoded by the OpenTelemetry Python SDK's own
/// encoder and produced by kcat, become alerts; a record that does not decode is
/// dead-lettered with its reason.
#[test]
fn otlp_log_records_on_kafka_become_alerts() {
    let Some(brokers) = bootstrap() else { return };
    if !python_with_otel_sdk() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let extra_input = "[[kafka.inputs]]\ntopic = \"{prefix}.otlp\"\nformat = \"otlp_proto\"\n";
    let s = Setup::with(d.path(), &brokers, "otlp", false, 1, extra_input);
    s.create_topic(&s.topic("otlp"), 1);
    let w = s.worker("w1");
    let records = d.path().join("records");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/otel_logs.py");
    let st = Command::new("python3")
        .args([script, "files", records.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(st.success());
    let mut files: Vec<_> = std::fs::read_dir(&records)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 4, "one request per log record");
    let garbage = d.path().join("garbage.pb");
    std::fs::write(&garbage, b"\xff\xff not a protobuf request").unwrap();
    files.push(garbage);
    // kcat -P with files: each file is one record
    let st = Command::new("kcat")
        .args(["-b", &brokers, "-t", &s.topic("otlp"), "-X", "acks=all", "-P"])
        .args(&files)
        .status()
        .expect("kcat");
    assert!(st.success());

    let deadline = Instant::now() + Duration::from_secs(120);
    let alerts = loop {
        let alerts: Vec<serde_json::Value> = s
            .table("alerts")
            .values()
            .map(|v| serde_json::from_str(v).unwrap())
            .collect();
        if alerts.len() >= 3 {
            break alerts;
        }
        assert!(
            Instant::now() < deadline,
            "three alerts from the OTLP records: {alerts:?}"
        );
        std::thread::sleep(Duration::from_millis(300));
    };
    let by_check: std::collections::BTreeMap<String, serde_json::Value> = alerts
        .into_iter()
        .map(|u| {
            (
                u["alert"]["check"].as_str().unwrap_or_default().to_string(),
                u["alert"].clone(),
            )
        })
        .collect();
    assert_eq!(
        by_check.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "connection pool exhausted after <*>",
            "disk.pressure",
            "payment gateway down"
        ]
    );
    let pool = &by_check["connection pool exhausted after <*>"];
    assert_eq!(
        (
            pool["source"].as_str(),
            pool["service"].as_str(),
            pool["severity"].as_str(),
            pool["count"].as_u64()
        ),
        (Some("db-7"), Some("checkout"), Some("major"), Some(2))
    );
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
    assert!(headers.contains("sitrep-code=not_protobuf"), "{headers}");
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
    let mut w2 = crash.worker("w2");
    crash.produce(&input);
    // kill w1 once about a third of the stream is ingested and correlating has begun
    // (the internal events topic holds batches, so its offsets do not count events)
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        if crash.ingested() * 3 >= records && crash.correlating() {
            break;
        }
        assert!(Instant::now() < deadline, "no progress");
        std::thread::sleep(Duration::from_millis(100));
    }
    w1.kill().unwrap(); // SIGKILL
    w1.wait().unwrap();
    let killed = Instant::now();
    let at_kill = crash.ingested();
    // a third worker joins once two thirds are done
    loop {
        if crash.ingested() * 3 >= records * 2 {
            break;
        }
        assert!(Instant::now() < deadline, "no progress after the kill");
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut w3 = crash.worker("w3");
    // w1's open transactions hold back read_committed readers until the broker aborts them
    // (transaction_timeout_ms 10 s + the broker's 1 s sweep): only then is "drained" true
    while killed.elapsed() < Duration::from_secs(13) {
        std::thread::sleep(Duration::from_millis(200));
    }
    crash.wait_drained(records, Duration::from_secs(600));
    eprintln!("killed w1 at {at_kill} of {records} ingested");
    for (name, w) in [("w2", &mut w2), ("w3", &mut w3)] {
        assert!(w.try_wait().unwrap().is_none(), "{name} exited");
    }
    stop(w2);
    stop(w3);

    assert_same_tables_exactly_once(&clean, &crash);
}

/// Replay: the live pipeline processes two batches produced an hour apart (by Kafka
/// timestamp); replays into their own group and topics then reprocess from the beginning
/// (the same tables as live), from a time (offsets-for-times: the second batch only) and
/// from an offset, and the live topics are left as they were.
#[test]
fn replay_from_an_offset_or_a_time_into_separate_topics() {
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
    let Some(brokers) = bootstrap() else { return };
    let d = tempfile::tempdir().unwrap();
    let s = Setup::new(d.path(), &brokers, "replay", true);
    let text = std::fs::read_to_string(gen(d.path(), 4000)).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let records = lines.len() as i64;
    let half = lines.len() / 2;
    // recent times: the broker deletes records older than its retention (7 days) soon after
    // it starts, which moves the low watermark past them
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let t0 = now_ms - 2 * 3_600_000;
    let t1 = t0 + 3_600_000;
    let producer: BaseProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("acks", "all")
        .create()
        .unwrap();
    let raw = s.topic("raw");
    for (i, line) in lines.iter().enumerate() {
        let ts = if i < half { t0 + i as i64 } else { t1 + i as i64 };
        let mut rec = BaseRecord::<(), str>::to(&raw).payload(*line).timestamp(ts);
        loop {
            match producer.send(rec) {
                Ok(()) => break,
                Err((_, r)) => {
                    producer.poll(Duration::from_millis(10));
                    rec = r;
                }
            }
        }
    }
    producer.flush(Duration::from_secs(30)).unwrap();

    let live = s.worker("live");
    s.wait_drained(records, Duration::from_secs(120));
    stop(live);
    let live_alerts = s.table("alerts");
    let live_records = s.read("alerts").len();
    assert!(live_alerts.len() > 20);

    // from the beginning, same recipes: the same tables, in the replay's own topics
    let r1 = s.replay("r1");
    let w = s.worker_with("r1", &["--replay", "r1", "--from", "earliest"]);
    r1.wait_drained(records, Duration::from_secs(120));
    stop(w);
    common::assert_same_table("alerts", &live_alerts, &r1.table("alerts"));
    common::assert_same_table("incidents", &s.table("incidents"), &r1.table("incidents"));
    assert_eq!(
        s.read("alerts").len(),
        live_records,
        "the live table is untouched"
    );

    // from a time: Kafka's offsets-for-times finds the first record of the second batch
    let r2 = s.replay("r2");
    let w = s.worker_with("r2", &["--replay", "r2", "--from", &(t1 - 1000).to_string()]);
    let said = s.wait_for_output("r2", "replay r2:");
    assert!(said.ends_with(&format!("[0]@{half}")), "{said}");
    r2.wait_drained(records, Duration::from_secs(120));
    stop(w);
    assert_eq!(r2.events_in("events"), lines.len() - half);

    // from an offset, in every partition (the input has one)
    let r3 = s.replay("r3");
    let w = s.worker_with("r3", &["--replay", "r3", "--from", "offset:1000"]);
    r3.wait_drained(records, Duration::from_secs(120));
    stop(w);
    assert_eq!(r3.events_in("events"), lines.len() - 1000);
    let r3_alerts = r3.table("alerts");
    assert!(!r3_alerts.is_empty() && r3_alerts.len() <= live_alerts.len());

    // a second worker of a running replay (or a restart) resumes instead of starting over
    let w = s.worker_with("r3b", &["--replay", "r3", "--from", "earliest"]);
    let said = s.wait_for_output("r3b", "replay r3: group");
    assert!(said.ends_with("resumes from its offsets"), "{said}");
    stop(w);
    s.wait_for_output("r3b", "stopped:");
    assert_eq!(
        r3.events_in("events"),
        lines.len() - 1000,
        "resumed, not restarted"
    );
}

/// `keyed_input`: an input topic already partitioned by scope is read by the correlate
/// stage itself (no ingest stage, no events topic). The tables equal the two-stage run's,
/// across a restart that restores from the changelog and replays the input topic's tail;
/// an event on a partition its scope does not hash to and a record that is not JSON are
/// dead-lettered with their reasons; an operator action reaches its incident's partition.
#[test]
fn keyed_input_correlates_in_one_hop_like_the_two_stages() {
    let Some(brokers) = bootstrap() else { return };
    let d = tempfile::tempdir().unwrap();
    let lines = std::fs::read_to_string(gen(d.path(), 20_000)).unwrap();
    // a probe event: the last one's place and time, a check of its own
    let mut probe: serde_json::Value = serde_json::from_str(lines.lines().last().unwrap()).unwrap();
    probe["check"] = "misrouted_probe".into();
    let region = |v: &serde_json::Value| v["labels"]["region"].as_str().unwrap_or("").to_string();

    let clean = Setup::new(d.path(), &brokers, "keyclean", true);
    let w = clean.worker("c1");
    let clean_input = d.path().join("clean.jsonl");
    std::fs::write(&clean_input, format!("{lines}{probe}\n")).unwrap();
    clean.produce(&clean_input);
    clean.wait_drained(lines.lines().count() as i64 + 1, Duration::from_secs(300));
    stop(w);

    let keyed = Setup::with(d.path(), &brokers, "keyed", false, 1, "keyed_input = true");
    keyed.create_topic(&keyed.topic("raw"), 6);
    let keyed_lines: Vec<String> = lines
        .lines()
        .map(|l| format!("{}\t{l}\n", region(&serde_json::from_str(l).unwrap())))
        .collect();
    let half = keyed_lines.len() / 2;
    keyed.produce_keyed(&keyed_lines[..half].concat(), None);
    let w = keyed.worker("k1");
    keyed.wait_drained_keyed(half as i64, Duration::from_secs(300));
    stop(w);
    // the second worker restores each partition from its last snapshot and the input's
    // tail, then goes on with the second half
    keyed.produce_keyed(&keyed_lines[half..].concat(), None);
    // the probe on every partition: its own is right, the five others are not
    for p in 0..6 {
        keyed.produce_keyed(&format!("{}\t{probe}\n", region(&probe)), Some(p));
    }
    keyed.produce_keyed("x\tthis is not json\n", Some(0));
    let w = keyed.worker_with("k2", &["--listen", "127.0.0.1:0"]);
    keyed.wait_drained_keyed(keyed_lines.len() as i64 + 7, Duration::from_secs(300));
    assert!(
        keyed
            .progress(&format!("{}-ingest", keyed.group()), &keyed.topic("raw"))
            .0
            == 0,
        "no ingest stage ran"
    );
    assert_same_tables_exactly_once(&clean, &keyed);

    let out = Command::new("kcat")
        .args([
            "-b",
            &brokers,
            "-C",
            "-t",
            &keyed.topic("dlq"),
            "-e",
            "-q",
            "-f",
            "%h\n",
        ])
        .output()
        .unwrap();
    let headers = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        headers.matches("sitrep-code=wrong_partition").count(),
        5,
        "{headers}"
    );
    assert!(headers.contains("sitrep-code=not_json"), "{headers}");
    assert!(headers.contains("belongs on partition"), "{headers}");

    // an operator action goes straight to the partition of its incident in the input topic
    let incidents = keyed.table("incidents");
    let id = incidents
        .iter()
        .find(|(_, v)| v.contains("\"state\":\"open\""))
        .map(|(k, _)| k.clone())
        .expect("an open incident");
    let out = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-XPOST"])
        .args(["-H", "content-type: application/json"])
        .args([
            "-d",
            r#"{"action":"acknowledge","by":"ann"}"#,
            &format!("http://{}/api/v1/incidents/{id}/actions", keyed.api_addr("k2")),
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "202");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let v: serde_json::Value = serde_json::from_str(&keyed.table("incidents")[&id]).unwrap();
        if v["change"] == "acknowledged" {
            break;
        }
        assert!(Instant::now() < deadline, "the command was applied: {v}");
        std::thread::sleep(Duration::from_millis(300));
    }
    stop(w);
}
