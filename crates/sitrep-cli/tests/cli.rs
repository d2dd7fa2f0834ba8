//! The `sitrep` binary end to end: gen → replay → eval, determinism across threads and
//! chunk sizes, every input format with its bad-input path, config errors, and the demo.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn sitrep(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_sitrep"))
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("run sitrep");
    out
}

fn ok(args: &[&str]) -> String {
    let out = sitrep(args);
    assert!(
        out.status.success(),
        "sitrep {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn lines(p: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn gen_replay_eval_round_trip() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    let out = d.path().join("out");
    ok(&[
        "gen",
        "--scenario",
        "telco",
        "--seed",
        "5",
        "--events",
        "20000",
        "--out",
        s(&data),
    ]);
    for f in ["events.jsonl", "truth.json", "topology.json", "sitrep.toml"] {
        assert!(data.join(f).exists(), "{f}");
    }
    let events = std::fs::read_to_string(data.join("events.jsonl")).unwrap();
    assert_eq!(events.lines().count(), 20000);
    ok(&[
        "replay",
        "--input",
        s(&data.join("events.jsonl")),
        "--config",
        s(&data.join("sitrep.toml")),
        "--out",
        s(&out),
    ]);
    let alerts = lines(&out.join("alerts.jsonl"));
    let incidents = lines(&out.join("incidents.jsonl"));
    assert!(
        alerts.len() > 100 && alerts.len() < 5000,
        "{} alerts",
        alerts.len()
    );
    assert!(!incidents.is_empty());
    let total: u64 = alerts.iter().map(|a| a["count"].as_u64().unwrap()).sum();
    assert_eq!(total, 20000, "every event is counted in exactly one alert");
    for inc in &incidents {
        let members = inc["members"].as_array().unwrap();
        assert!(members.len() >= 2);
        assert!(members
            .iter()
            .all(|m| m["why"]["recipe"].is_string() && m["signature"].is_string()));
        assert!(inc["root_cause"]["reason"].is_string());
    }
    let summary = ok(&["eval", "--truth", s(&data.join("truth.json")), "--out", s(&out)]);
    assert!(summary.contains("pairwise precision"), "{summary}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("eval.json")).unwrap()).unwrap();
    // the full-size quality figures are in docs/evaluation.md; this is a smoke bar
    assert!(report["f1"].as_f64().unwrap() > 0.8, "{report}");
    assert!(report["ari"].as_f64().unwrap() > 0.8, "{report}");
    assert!(report["alert_compression"].as_f64().unwrap() > 0.9);
}

#[test]
fn replay_output_does_not_depend_on_threads_or_chunking() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    ok(&[
        "gen",
        "--scenario",
        "micro",
        "--seed",
        "3",
        "--events",
        "15000",
        "--out",
        s(&data),
    ]);
    let mut outputs = Vec::new();
    for (threads, chunk) in [("1", "4194304"), ("3", "5000"), ("2", "70000")] {
        let out = d.path().join(format!("out-{threads}-{chunk}"));
        ok(&[
            "replay",
            "--input",
            s(&data.join("events.jsonl")),
            "--config",
            s(&data.join("sitrep.toml")),
            "--out",
            s(&out),
            "--threads",
            threads,
            "--chunk-bytes",
            chunk,
        ]);
        let files: Vec<String> = ["updates.jsonl", "alerts.jsonl", "incidents.jsonl"]
            .iter()
            .map(|f| std::fs::read_to_string(out.join(f)).unwrap())
            .collect();
        outputs.push(files);
    }
    assert!(!outputs[0][0].is_empty());
    assert_eq!(outputs[0], outputs[1]);
    assert_eq!(outputs[0], outputs[2]);
}

#[test]
fn stdin_input_and_bad_lines_go_to_dead_letters() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("out");
    let input = [
        r#"{"source":"a","check":"x","severity":"major","time":1795514400}"#,
        "not json at all",
        r#"{"source":"a","check":"x","severity":"major","time":1795514401}"#,
        r#"{"check":"x","severity":"major"}"#,
        r#"{"source":"a","check":"x","severity":"whatever"}"#,
        &format!(
            r#"{{"source":"a","check":"x","severity":"minor","description":"{}"}}"#,
            "y".repeat(70_000)
        ),
    ]
    .join("\n");
    let mut child = Command::new(env!("CARGO_BIN_EXE_sitrep"))
        .args(["replay", "--input", "-", "--out", s(&out)])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let res = child.wait_with_output().unwrap();
    assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
    let dead = lines(&out.join("dead_letters.jsonl"));
    let codes: Vec<(&str, u64)> = dead
        .iter()
        .map(|d| (d["code"].as_str().unwrap(), d["position"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        codes,
        [
            ("not_json", 2),
            ("missing_field", 4),
            ("unknown_severity", 5),
            ("too_large", 6)
        ]
    );
    assert_eq!(dead[0]["raw"], "not json at all");
    assert!(
        dead[3]["truncated"].as_bool().unwrap(),
        "raw input is cut to the configured bound"
    );
    assert!(dead[3]["raw"].as_str().unwrap().len() <= 2048);
    let alerts = lines(&out.join("alerts.jsonl"));
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0]["count"], 2);
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert!(stderr.contains("4 dead letters"), "{stderr}");
}

#[test]
fn every_input_format_through_the_binary() {
    let r = repo();
    let d = tempfile::tempdir().unwrap();
    let run = |name: &str, format: &str, input: &str, config: Option<&str>| {
        let out = d.path().join(name);
        let input = r.join(input);
        let mut args = vec![
            "replay",
            "--input",
            s(&input),
            "--out",
            s(&out),
            "--format",
            format,
            "--reference-time",
            "2026-11-24T12:00:00Z",
        ];
        let cfg;
        if let Some(c) = config {
            cfg = r.join(c);
            args.extend(["--config", s(&cfg)]);
        }
        ok(&args);
        (
            lines(&out.join("alerts.jsonl")),
            lines(&out.join("dead_letters.jsonl")),
        )
    };
    let (alerts, dead) = run("am", "alertmanager", "examples/data/alertmanager.jsonl", None);
    assert_eq!(alerts.len(), 2);
    assert_eq!(alerts[0]["signature"], "am:abc123");
    assert!(dead.is_empty());
    let (alerts, dead) = run("syslog", "syslog", "examples/data/syslog.log", None);
    assert_eq!((alerts.len(), dead.len()), (2, 1));
    assert_eq!(alerts[1]["source"], "edge-2");
    assert_eq!(alerts[1]["check"], "kernel");
    assert_eq!(dead[0]["code"], "syslog");
    let (alerts, dead) = run(
        "nagios",
        "mapping:nagios",
        "examples/data/nagios.jsonl",
        Some("examples/mappings/nagios.toml"),
    );
    assert_eq!((alerts.len(), dead.len()), (2, 1));
    assert_eq!(
        alerts[0]["state"], "cleared",
        "the OK notification clears the disk alert"
    );
    let (alerts, _) = run(
        "logstash",
        "mapping:logstash",
        "examples/data/logstash.jsonl",
        Some("examples/mappings/logstash.toml"),
    );
    assert_eq!((alerts.len(), alerts[0]["count"].as_u64()), (1, Some(2)));
    let (alerts, _) = run(
        "apm",
        "mapping:apm",
        "examples/data/apm.jsonl",
        Some("examples/mappings/apm.toml"),
    );
    assert_eq!(alerts.len(), 2);
    assert_eq!(alerts[0]["service"], "checkout");
    assert_eq!(alerts[0]["source"], "web-3");
}

#[test]
fn config_errors_name_the_key() {
    let d = tempfile::tempdir().unwrap();
    let bad = d.path().join("bad.toml");
    std::fs::write(&bad, "[correlation]\nmin_alert = 3\n").unwrap();
    let out = sitrep(&["check-config", "--config", s(&bad)]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("min_alert"), "{err}");
    let good = ok(&[
        "check-config",
        "--config",
        s(&repo().join("examples/sitrep.toml")),
    ]);
    assert!(good.contains("recipe topology"), "{good}");
}

#[test]
fn check_config_names_bad_keys_in_server_and_kafka() {
    let d = tempfile::tempdir().unwrap();
    let cases = [
        ("[server]\nlissen = \"127.0.0.1:1\"\n", "server.lissen"),
        ("[server.syslog]\nudpp = \"127.0.0.1:1\"\n", "server.syslog.udpp"),
        ("[kafka]\nbrokerz = \"x\"\n", "kafka.brokerz"),
        (
            "[[correlation.recipes]]\nname = \"x\"\nkind = \"attribute\"\nwindw = 1\n",
            "correlation.recipes[0].windw",
        ),
        (
            "[server]\nlisten = \"127.0.0.1:1\"\n[kafka]\nbrokers = \"x\"\n",
            "both set",
        ),
    ];
    for (i, (text, named)) in cases.iter().enumerate() {
        let f = d.path().join(format!("c{i}.toml"));
        std::fs::write(&f, text).unwrap();
        let out = sitrep(&["check-config", "--config", s(&f)]);
        assert!(!out.status.success(), "{text} passed");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(named), "{text}: {err}");
    }
}

#[test]
fn demo_prints_incidents() {
    let d = tempfile::tempdir().unwrap();
    let out = ok(&["demo", "--batch", "--events", "8000", "--out", s(d.path())]);
    assert!(out.contains("largest incidents"), "{out}");
    assert!(out.contains("probable root cause"), "{out}");
    assert!(out.contains("pairwise precision"), "{out}");
}

#[test]
fn syslog_lines_get_their_template_as_check() {
    let d = tempfile::tempdir().unwrap();
    let input = d.path().join("auth.log");
    std::fs::write(
        &input,
        "<38>Nov 24 10:00:01 bastion-1 sshd[11]: Connection from 10.0.0.7 closed after 3 s\n\
         <38>Nov 24 10:00:02 bastion-1 sshd[12]: Connection from 10.1.2.3 closed after 9 s\n",
    )
    .unwrap();
    let cfg = d.path().join("sitrep.toml");
    std::fs::write(&cfg, "[syslog]\ncheck_from = \"template\"\n").unwrap();
    let out = d.path().join("out");
    ok(&[
        "replay",
        "--input",
        s(&input),
        "--format",
        "syslog",
        "--config",
        s(&cfg),
        "--out",
        s(&out),
        "--reference-time",
        "2026-11-24T12:00:00Z",
    ]);
    let alerts = lines(&out.join("alerts.jsonl"));
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0]["check"], "Connection from <*> closed after <*>");
    assert_eq!(alerts[0]["count"], 2);
}

/// Each incident as (id, sorted member signatures, root-cause signature).
fn incident_shapes(p: &Path) -> Vec<(String, Vec<String>, String)> {
    lines(p)
        .iter()
        .map(|i| {
            let mut members: Vec<String> = i["members"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["signature"].as_str().unwrap().to_string())
                .collect();
            members.sort();
            (
                i["id"].as_str().unwrap().to_string(),
                members,
                i["root_cause"]["signature"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn http_get(addr: &str, path: &str) -> serde_json::Value {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    serde_json::from_str(resp.split_once("\r\n\r\n").unwrap().1).unwrap()
}

/// The live demo plays the scenario in its own time: the incidents it has formed when the
/// feed ends are exactly `demo --batch`'s for the same scenario and seed (ids, members,
/// root causes), and the API says the feed has ended.
#[test]
fn live_demo_forms_the_incidents_of_the_batch_demo() {
    use std::io::BufRead;
    let d = tempfile::tempdir().unwrap();
    let common = ["--scenario", "micro", "--events", "20000", "--seed", "3"];
    let batch = d.path().join("batch");
    ok(&[&["demo", "--batch", "--out", s(&batch)][..], &common].concat());
    let live = d.path().join("live");
    // 9 h of scenario in ~2 s: many feeder rounds and engine ticks in between
    let mut child = Command::new(env!("CARGO_BIN_EXE_sitrep"))
        .args([
            "demo",
            "--speed",
            "20000",
            "--listen",
            "127.0.0.1:0",
            "--out",
            s(&live),
        ])
        .args(common)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut said = Vec::new();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let ended = loop {
        let mut line = String::new();
        if out.read_line(&mut line).unwrap() == 0 {
            panic!("the demo stopped early: {said:?}");
        }
        said.push(line.clone());
        if line.starts_with("feed ended: ") {
            break line;
        }
    };
    let addr = said[0]
        .split("http://")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let stats = http_get(&addr, "/api/v1/stats");
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(stats["feed"]["ended"], true, "{stats}");
    assert_eq!(stats["feed"]["fed"], 20000, "{stats}");
    assert!(ended.contains("20000 events fed"), "{ended}");

    let from_batch = incident_shapes(&batch.join("replay/incidents.jsonl"));
    let from_live = incident_shapes(&live.join("live/incidents.jsonl"));
    assert!(
        from_batch.len() >= 10,
        "the scenario forms incidents: {}",
        from_batch.len()
    );
    assert_eq!(from_live, from_batch, "live and batch incidents differ");
}

/// `updates.jsonl` is compact by default (partial records between full states) and full with
/// `--updates full`; rebuilt with `AlertStates`, the compact file is the full one, line for
/// line, and smaller.
#[test]
fn compact_updates_file_rebuilds_to_the_full_one() {
    use sitrep_core::compact::{AlertStates, UpdateRecord};
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    ok(&[
        "gen",
        "--scenario",
        "churn",
        "--seed",
        "2",
        "--events",
        "20000",
        "--out",
        s(&data),
    ]);
    let run = |form: &str| {
        let out = d.path().join(form);
        ok(&[
            "replay",
            "--input",
            s(&data.join("events.jsonl")),
            "--out",
            s(&out),
            "--updates",
            form,
            "--full-state-secs",
            "20",
        ]);
        std::fs::read_to_string(out.join("updates.jsonl")).unwrap()
    };
    let (compact, full) = (run("compact"), run("full"));
    assert!(!full.contains("\"partial\":true"));
    let partial = compact.lines().filter(|l| l.contains("\"partial\":true")).count();
    assert!(partial * 2 > compact.lines().count(), "{partial} partial records");
    assert!(
        compact.len() * 4 < full.len() * 3,
        "{} vs {} bytes",
        compact.len(),
        full.len()
    );
    // the command does the same rebuild
    let compact_file = d.path().join("compact/updates.jsonl");
    let expanded = d.path().join("expanded.jsonl");
    ok(&[
        "expand-updates",
        "--input",
        s(&compact_file),
        "--out",
        s(&expanded),
    ]);
    assert_eq!(std::fs::read_to_string(&expanded).unwrap(), full);
    // a partial record without the full state before it is refused, by line
    let first_partial = compact.lines().find(|l| l.contains("\"partial\":true")).unwrap();
    let cut = d.path().join("cut.jsonl");
    std::fs::write(&cut, format!("\n{first_partial}\n")).unwrap();
    let refused = sitrep(&["expand-updates", "--input", s(&cut), "--out", s(&expanded)]);
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("line 2") && err.contains("not seen before"), "{err}");
    let mut states = AlertStates::new();
    assert_eq!(compact.lines().count(), full.lines().count());
    for (i, (c, f)) in compact.lines().zip(full.lines()).enumerate() {
        let rebuilt = states
            .apply(serde_json::from_str::<UpdateRecord>(c).unwrap())
            .unwrap_or_else(|e| panic!("line {}: {e}", i + 1));
        assert_eq!(serde_json::to_string(&rebuilt).unwrap(), f, "line {}", i + 1);
    }
}
