//! The situation room in real headless Chromium, driven by playwright-core (Node): live
//! list, incident page with explanations, actions, and that event text containing
//! `<script>` is shown as text and never runs. Skips, saying why, when Chromium or the
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
    let events: String = (0..5)
        .map(|i| {
            serde_json::json!({
                "source": format!("web-{i}"), "check": "http_5xx", "severity": "critical", "service": "shop",
                "description": "<script>window.__xss=1</script><img src=x onerror=\"window.__xss=2\"> 5xx rate high",
                "time": now + i,
            })
            .to_string()
                + "\n"
        })
        .collect();
    let r = reqwest::Client::new()
        .post(format!("{base}/api/v1/events"))
        .bearer_auth("ui-test-token")
        .body(events)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(dir.join("situation-room.mjs"))
            .args([&base, "ui-test-token"])
            .env("CHROMIUM", chromium)
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
    server.abort();
}
