//! The situation room in real headless Chromium, driven by playwright-core (Node): live
//! list and counts, the incident page (summary, members' raised text beside their current
//! state, timeline with hosts, buttons by state, links out, similar past incidents, 1024 px),
//! actions, and that event text containing `<script>` is shown as text and never runs.
//! Screenshots of the overview and an incident page go to `target/ui-screenshots/`. Skips, saying why, when Chromium or the
//! npm package is missing; `.ci/run` installs both.

use sitrep_core::Config;
use sitrep_server::{start, ServerSection};
use std::path::Path;
use std::process::Command;

#[tokio::test(flavor = "multi_thread")]
async fn situation_room_in_chromium() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let ci = std::env::var("CI").as_deref() == Ok("true");
    if !Path::new(&chromium).exists() {
        assert!(!ci, "no Chromium at {chromium} under CI");
        eprintln!("SKIPPED: no Chromium at {chromium} (Debian package `chromium`)");
        return;
    }
    if !dir.join("node_modules/playwright-core").exists() {
        assert!(!ci, "playwright-core is not installed under CI");
        eprintln!("SKIPPED: run `npm ci --prefix {}` first", dir.display());
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let cfg = ServerSection {
        data_dir: d.path().to_path_buf(),
        listen: "127.0.0.1:0".parse().unwrap(),
        tick_ms: 200,
        api_token: Some("ui-test-token".into()),
        ..ServerSection::default()
    };
    let server = start(Config::default(), cfg).await.unwrap();
    let base = format!("http://{}", server.bound.http);
    let now = sitrep_server::state::now_ms();
    let ev = |source: &str, severity: &str, description: &str, time: i64| {
        serde_json::json!({
            "source": source, "check": "http_5xx", "severity": severity, "service": "shop",
            "description": description, "time": time,
            // unknown fields are kept in `extra`: the page links the http(s) ones out
            "generatorURL": "http://prometheus.example:9090/graph?g0.expr=rate5xx",
            "annotations": {"runbook_url": "https://runbooks.example/http-5xx", "dashboard": "javascript:window.__xss=3"},
        })
        .to_string()
            + "\n"
    };
    // an hour ago: the same failure, cleared and closed since (a similar past incident)
    let mut events: String = (0..2)
        .map(|i| {
            ev(
                &format!("web-{i}"),
                "critical",
                "5xx rate high",
                now - 3_600_000 + i,
            )
        })
        .collect();
    for i in 0..2 {
        events += &ev(
            &format!("web-{i}"),
            "clear",
            "5xx rate normal again",
            now - 3_500_000 + i,
        );
    }
    // now: five web servers, one of them already recovered
    for i in 0..5 {
        events += &ev(
            &format!("web-{i}"),
            "critical",
            "<script>window.__xss=1</script><img src=x onerror=\"window.__xss=2\"> 5xx rate high",
            now + i,
        );
    }
    events += &ev("web-4", "clear", "5xx rate normal again", now + 10);
    let r = reqwest::Client::new()
        .post(format!("{base}/api/v1/events"))
        .bearer_auth("ui-test-token")
        .body(events)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    // the earlier incident has closed (reopen grace long past) before the browser looks
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/ui-screenshots");
    let _ = std::fs::remove_dir_all(&shots);
    std::fs::create_dir_all(&shots).unwrap();
    let shots2 = shots.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(dir.join("situation-room.mjs"))
            .args([&base, "ui-test-token"])
            .env("CHROMIUM", chromium)
            .env("SCREENSHOTS", &shots2)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stdout}{stderr}");
    assert!(out.status.success(), "browser checks failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("ok a description holding <script> shows as text"));
    assert!(stdout.contains("ok comment lands in the timeline"));
    assert!(stdout.contains("ok the similar past incident is listed"));
    for shot in ["overview.png", "incident.png", "incident-1024.png"] {
        let len = std::fs::metadata(shots.join(shot)).map(|m| m.len()).unwrap_or(0);
        assert!(len > 10_000, "screenshot {shot} written ({len} bytes)");
    }
    server.abort();
}
