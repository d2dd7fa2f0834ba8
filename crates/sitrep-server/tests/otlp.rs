//! OTLP/HTTP logs (`POST /v1/logs`) against a real socket: the OpenTelemetry Python SDK's
//! own exporter (protobuf, plain and gzip) and its encoder's logs sent as OTLP/JSON become
//! alerts with the mapped fields, and survive a restart (the journal replays the bodies);
//! the error answers are the ones the OTLP/HTTP specification prescribes.
//!
//! The SDK comes from PyPI (`scripts/test` installs it); without it the SDK test skips,
//! saying so — and fails under `CI=true`.

mod common;

use common::section;
use opentelemetry_proto::tonic::collector::logs::v1::{ExportLogsServiceRequest, ExportLogsServiceResponse};
use opentelemetry_proto::tonic::common::v1::{any_value::Value, AnyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use prost::Message;
use serde_json::Value as Json;
use sitrep_core::Config;
use sitrep_server::start;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// `python3` with the OpenTelemetry SDK and OTLP/HTTP exporter, or a skip (a failure under CI).
fn python_with_otel_sdk() -> bool {
    let ok = std::process::Command::new("python3")
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
        eprintln!("SKIPPED: python3 with opentelemetry-sdk and opentelemetry-exporter-otlp-proto-http is missing (pip install them)");
    }
    ok
}

async fn run_script(args: Vec<String>) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/otel_logs.py");
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("timeout")
            .arg("60")
            .arg("python3")
            .arg(script)
            .args(args)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "otel_logs.py failed: {text}");
    text
}

async fn alerts_by_check(base: &str) -> BTreeMap<String, Json> {
    let v: Json = reqwest::get(format!("{base}/api/v1/alerts"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["check"].as_str().unwrap().to_string(), a.clone()))
        .collect()
}

fn label<'a>(a: &'a Json, key: &str) -> Option<&'a str> {
    a["labels"][key].as_str()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_sdk_logs_become_alerts_over_protobuf_gzip_and_json() {
    if !python_with_otel_sdk() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let server = start(Config::default(), section(d.path())).await.unwrap();
    let base = format!("http://{}", server.bound.http);
    let said = run_script(vec!["http".into(), base.clone()]).await;
    assert!(said.contains("SUCCESS"), "{said}");
    let said = run_script(vec!["http".into(), base.clone(), "--gzip".into()]).await;
    assert!(said.contains("SUCCESS"), "{said}");
    let said = run_script(vec!["json".into(), base.clone()]).await;
    assert!(said.starts_with("200 {}"), "{said}");

    let alerts = alerts_by_check(&base).await;
    let names: Vec<&str> = alerts.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "connection pool exhausted after <*>",
            "disk.pressure",
            "payment gateway down"
        ],
        "the event name, else the body's template, is the check"
    );
    let pool = &alerts["connection pool exhausted after <*>"];
    assert_eq!(pool["count"], 6, "two records per run, three runs, one alert");
    assert_eq!(pool["severity"], "major", "ERROR");
    assert_eq!(pool["source"], "db-7", "resource host.name");
    assert_eq!(pool["service"], "checkout", "resource service.name");
    assert_eq!(pool["manager"], "otel");
    assert_eq!(label(pool, "deployment.environment"), Some("test"));
    assert_eq!(label(pool, "telemetry.sdk.language"), Some("python"));
    let disk = &alerts["disk.pressure"];
    assert_eq!(disk["severity"], "warning");
    assert_eq!(label(disk, "mount"), Some("/var"), "a record attribute");
    assert_eq!(disk["description"], "disk /var is 93% full");
    assert_eq!(alerts["payment gateway down"]["severity"], "critical");
    assert_eq!(
        alerts["payment gateway down"]["extra"]["otel.severity_text"],
        "FATAL"
    );

    // acknowledged means journalled: a new server on the folder has the same alerts
    server.abort();
    let again = start(Config::default(), section(d.path())).await.unwrap();
    let base = format!("http://{}", again.bound.http);
    let after = alerts_by_check(&base).await;
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        alerts.keys().collect::<Vec<_>>()
    );
    assert_eq!(after["connection pool exhausted after <*>"]["count"], 6);
    again.abort();
}

fn record(body: &str, severity_number: i32, severity_text: &str) -> LogRecord {
    LogRecord {
        severity_number,
        severity_text: severity_text.into(),
        body: Some(AnyValue {
            value: Some(Value::StringValue(body.into())),
        }),
        ..Default::default()
    }
}

fn request(records: Vec<LogRecord>) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: records,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// Status code and body of a POST to /v1/logs.
async fn post(
    base: &str,
    content_type: &str,
    gzip: bool,
    body: Vec<u8>,
    token: Option<&str>,
) -> (u16, Vec<u8>) {
    let mut r = reqwest::Client::new()
        .post(format!("{base}/v1/logs"))
        .header("content-type", content_type)
        .body(body);
    if gzip {
        r = r.header("content-encoding", "gzip");
    }
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let resp = r.send().await.unwrap();
    (resp.status().as_u16(), resp.bytes().await.unwrap().to_vec())
}

#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

#[tokio::test]
async fn answers_as_the_otlp_http_specification_says() {
    let d = tempfile::tempdir().unwrap();
    let server = start(Config::default(), section(d.path())).await.unwrap();
    let base = format!("http://{}", server.bound.http);
    const PB: &str = "application/x-protobuf";

    // a good request: 200 with an empty ExportLogsServiceResponse
    let good = request(vec![record("fan failure on tray 2", 17, "ERROR")]).encode_to_vec();
    let (status, body) = post(&base, PB, false, good.clone(), None).await;
    assert_eq!(status, 200);
    let reply = ExportLogsServiceResponse::decode(&body[..]).unwrap();
    assert!(reply.partial_success.is_none());

    // one bad record among good ones: 200, partial success counts it, its dead letter
    // holds that record (as OTLP/JSON), not the batch
    let mixed = request(vec![
        record("ok one", 9, ""),
        record("weird", 0, "banana"),
        record("ok two", 13, ""),
    ]);
    let (status, body) = post(&base, PB, false, mixed.encode_to_vec(), None).await;
    assert_eq!(status, 200);
    let partial = ExportLogsServiceResponse::decode(&body[..])
        .unwrap()
        .partial_success
        .expect("partial success");
    assert_eq!(partial.rejected_log_records, 1);
    assert!(
        partial.error_message.contains("banana"),
        "{}",
        partial.error_message
    );
    let dead = std::fs::read_to_string(d.path().join("dead_letters.jsonl")).unwrap();
    let letter: Json = serde_json::from_str(dead.lines().last().unwrap()).unwrap();
    assert_eq!(letter["code"], "unknown_severity");
    assert_eq!(letter["input"], "otlp");
    assert!(
        letter["raw"]
            .as_str()
            .unwrap()
            .contains("\"severityText\":\"banana\""),
        "{letter}"
    );
    assert!(!letter["raw"].as_str().unwrap().contains("ok one"));

    // undecodable: 400 with a google.rpc.Status in the request's encoding
    let (status, body) = post(&base, PB, false, b"\xff\xff garbage".to_vec(), None).await;
    assert_eq!(status, 400);
    let s = RpcStatus::decode(&body[..]).unwrap();
    assert_eq!(s.code, 3, "INVALID_ARGUMENT");
    assert!(s.message.contains("protobuf"), "{}", s.message);
    let (status, body) = post(
        &base,
        "application/json",
        false,
        b"{\"resourceLogs\":7}".to_vec(),
        None,
    )
    .await;
    assert_eq!(status, 400);
    let s: Json = serde_json::from_slice(&body).unwrap();
    assert_eq!(s["code"], 3);

    // gzip: accepted; a small body that inflates past the body limit is 413, not memory
    let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&good).unwrap();
    assert_eq!(post(&base, PB, true, z.finish().unwrap(), None).await.0, 200);
    let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&vec![0u8; 8 << 20]).unwrap();
    let bomb = z.finish().unwrap();
    assert!(bomb.len() < 64 * 1024);
    assert_eq!(post(&base, PB, true, bomb, None).await.0, 413);
    assert_eq!(post(&base, PB, true, b"not gzip".to_vec(), None).await.0, 400);
    assert_eq!(post(&base, PB, false, vec![0x0a; 2 << 20], None).await.0, 413);

    // wrong media type or encoding: 415
    assert_eq!(post(&base, "text/plain", false, good.clone(), None).await.0, 415);
    let r = reqwest::Client::new()
        .post(format!("{base}/v1/logs"))
        .header("content-type", PB)
        .header("content-encoding", "br")
        .body(good.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 415);

    // an empty request is valid OTLP: 200, nothing ingested
    assert_eq!(post(&base, PB, false, Vec::new(), None).await.0, 200);
    let alerts = alerts_by_check(&base).await;
    assert_eq!(alerts.len(), 3, "{:?}", alerts.keys().collect::<Vec<_>>());
    assert_eq!(alerts["fan failure on tray <*>"]["count"], 2);
    server.abort();

    // auth as the rest of the API
    let d = tempfile::tempdir().unwrap();
    let mut sec = section(d.path());
    sec.api_token = Some("s3cret".into());
    let server = start(Config::default(), sec).await.unwrap();
    let base = format!("http://{}", server.bound.http);
    assert_eq!(post(&base, PB, false, good.clone(), None).await.0, 401);
    assert_eq!(post(&base, PB, false, good.clone(), Some("wrong")).await.0, 403);
    assert_eq!(post(&base, PB, false, good, Some("s3cret")).await.0, 200);
    server.abort();
}
