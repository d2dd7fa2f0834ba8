//! The HTTP API against a real socket: ingest (good, bad, oversized, overload), queries,
//! actions, auth, OpenAPI, metrics, and state rebuilt from snapshot + journal by a new
//! server on the same folder.

mod common;

use common::section;
use serde_json::{json, Value};
use sitrep_core::Config;
use sitrep_server::{start, ServerSection};
use std::time::Duration;

struct Client {
    base: String,
    http: reqwest::Client,
    token: Option<String>,
}

impl Client {
    fn new(addr: std::net::SocketAddr) -> Client {
        Client {
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
            token: None,
        }
    }
    async fn post(&self, path: &str, body: impl Into<String>) -> (u16, Value) {
        let mut r = self.http.post(format!("{}{path}", self.base)).body(body.into());
        if let Some(t) = &self.token {
            r = r.bearer_auth(t);
        }
        let resp = r.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }
    async fn get(&self, path: &str) -> (u16, Value) {
        let mut r = self.http.get(format!("{}{path}", self.base));
        if let Some(t) = &self.token {
            r = r.bearer_auth(t);
        }
        let resp = r.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }
    async fn text(&self, path: &str) -> String {
        self.http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn ingest_good_and_bad_then_recover_from_the_journal() {
    let d = tempfile::tempdir().unwrap();
    let server = start(Config::default(), section(d.path())).await.unwrap();
    let c = Client::new(server.bound.http);
    assert_eq!(c.text("/healthz").await, "ok");
    assert_eq!(c.text("/readyz").await, "ready");
    let jsonl = concat!(
        r#"{"source":"db-1","check":"disk","severity":"major","description":"disk full","time":"2026-11-24T10:00:00Z"}"#,
        "\n",
        r#"{"source":"db-1","check":"disk","severity":"banana"}"#,
        "\n",
        r#"{"source":"db-1","check":"disk","severity":"critical","description":"disk full","time":"2026-11-24T10:00:05Z"}"#,
        "\n",
    );
    let (status, reply) = c.post("/api/v1/events", jsonl).await;
    assert_eq!(status, 400, "{reply}");
    assert_eq!(reply["accepted"], 2);
    assert_eq!(reply["rejected"][0]["index"], 1);
    assert_eq!(reply["rejected"][0]["code"], "unknown_severity");
    // the bad one is in the dead letters with its reason
    let dead = std::fs::read_to_string(d.path().join("dead_letters.jsonl")).unwrap();
    assert!(
        dead.contains("unknown_severity") && dead.contains("banana"),
        "{dead}"
    );
    let arr = r#"[{"source":"web-1","check":"http","severity":"minor","service":"shop"}]"#;
    assert_eq!(c.post("/api/v1/events", arr).await.0, 202);
    let pretty = "{\n  \"source\": \"web-2\",\n  \"check\": \"http\",\n  \"severity\": \"minor\"\n}\n";
    assert_eq!(
        c.post("/api/v1/events", pretty).await.0,
        202,
        "a pretty-printed object"
    );
    let (status, body) = c.post("/api/v1/events", "x".repeat(2 << 20)).await;
    assert_eq!(status, 413);
    assert!(body["error"].as_str().unwrap().contains("max_body_bytes"));
    let (_, alerts) = c.get("/api/v1/alerts").await;
    assert_eq!(alerts["total"], 3);
    let db = &alerts["items"][2];
    assert_eq!(
        (db["source"].as_str(), db["count"].as_u64()),
        (Some("db-1"), Some(2))
    );
    assert_eq!(db["severity"], "critical");
    server.abort();

    // a new server on the same folder rebuilds exactly that state
    let again = start(Config::default(), section(d.path())).await.unwrap();
    assert_eq!(again.replayed, 3, "one journal record per accepted request body");
    let (_, alerts2) = Client::new(again.bound.http).get("/api/v1/alerts").await;
    assert_eq!(alerts, alerts2);
    again.abort();
}

#[tokio::test]
async fn alertmanager_and_mappings_ingest() {
    let d = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/mappings/nagios.toml"
    ))
    .unwrap();
    let cfg = Config::from_toml(&text).unwrap();
    let server = start(cfg, section(d.path())).await.unwrap();
    let c = Client::new(server.bound.http);
    let am = json!({
        "version": "4", "status": "firing", "receiver": "sitrep", "groupKey": "{}:{}",
        "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://am",
        "alerts": [
            {"status": "firing", "labels": {"alertname": "HighLatency", "instance": "api-1:9100", "severity": "critical", "service": "checkout"},
             "annotations": {"summary": "p99 over 2s"}, "startsAt": "2026-11-24T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z", "fingerprint": "a1"},
            {"status": "firing", "labels": {"alertname": "HighLatency", "instance": "api-2:9100", "severity": "warning"},
             "annotations": {"summary": "p99 over 1s"}, "startsAt": "2026-11-24T10:00:01Z", "endsAt": "0001-01-01T00:00:00Z", "fingerprint": "a2"}
        ]
    });
    let (status, reply) = c.post("/api/v1/alertmanager", am.to_string()).await;
    assert_eq!(status, 202, "{reply}");
    assert_eq!(reply["accepted"], 2);
    let nagios = json!({"host": {"name": "db-1", "address": "10.0.0.5"}, "service": {"description": "Disk /var"},
        "state": "CRITICAL", "output": "DISK CRITICAL - 2% free", "timestamp": 1795514400, "notificationtype": "PROBLEM"});
    let (status, reply) = c.post("/api/v1/ingest/nagios", nagios.to_string()).await;
    assert_eq!(status, 202, "{reply}");
    let (status, reply) = c.post("/api/v1/ingest/zabbix", "{}").await;
    assert_eq!(status, 404);
    assert!(
        reply["error"].as_str().unwrap().contains("nagios"),
        "names the known mappings: {reply}"
    );
    let (_, alerts) = c.get("/api/v1/alerts?source=db-1").await;
    assert_eq!(alerts["total"], 1);
    assert_eq!(alerts["items"][0]["check"], "Disk /var");
    assert_eq!(alerts["items"][0]["severity"], "critical");
    let (_, crit) = c.get("/api/v1/alerts?severity=critical").await;
    assert_eq!(crit["total"], 2, "{crit}");
    let (status, bad) = c.get("/api/v1/alerts?colour=red").await;
    assert_eq!(status, 400);
    assert!(bad["error"].as_str().unwrap().contains("colour"), "{bad}");
    server.abort();
}

/// Six alerts on one service within a minute: one incident.
fn burst(t0: i64) -> String {
    (0..6)
        .map(|i| {
            format!(
                r#"{{"source":"web-{i}","check":"http_5xx","severity":"critical","service":"shop","description":"5xx rate high","time":{}}}"#,
                t0 + i * 1000
            ) + "\n"
        })
        .collect()
}

#[tokio::test]
async fn incidents_queries_and_actions_persist_across_restart() {
    let d = tempfile::tempdir().unwrap();
    let server = start(Config::default(), section(d.path())).await.unwrap();
    let c = Client::new(server.bound.http);
    assert_eq!(c.post("/api/v1/events", burst(1_795_514_400_000)).await.0, 202);
    // a second, unrelated incident
    let other = burst(1_795_514_400_000)
        .replace("web-", "db-")
        .replace("shop", "ledger");
    assert_eq!(c.post("/api/v1/events", other).await.0, 202);
    let (_, page) = c.get("/api/v1/incidents?state=active").await;
    assert_eq!(page["total"], 2, "{page}");
    let (_, shop) = c.get("/api/v1/incidents?service=shop").await;
    assert_eq!(shop["total"], 1);
    let id = shop["items"][0]["id"].as_str().unwrap().to_string();
    let (_, ledger) = c.get("/api/v1/incidents?service=ledger").await;
    let other_id = ledger["items"][0]["id"].as_str().unwrap().to_string();
    let (status, one) = c.get(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(one["alerts"].as_array().unwrap().len(), 6);
    assert_eq!(one["members"].as_array().unwrap().len(), 6);
    assert!(
        one["members"][1]["why"]["recipe"].is_string(),
        "every member says why: {one}"
    );
    assert!(one["root_cause"]["reason"].is_string());

    let act = |body: Value| {
        let c = &c;
        let id = id.clone();
        async move {
            c.post(&format!("/api/v1/incidents/{id}/actions"), body.to_string())
                .await
        }
    };
    let (status, v) = act(json!({"action": "acknowledge", "by": "ann"})).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["state"], "acknowledged");
    assert_eq!(
        act(json!({"action": "assign", "to": "bob", "by": "ann"})).await.0,
        200
    );
    assert_eq!(
        act(json!({"action": "comment", "text": "looking", "by": "bob"}))
            .await
            .0,
        200
    );
    let (status, v) = act(json!({"action": "merge", "from": other_id, "by": "bob"})).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["alert_count"], 12);
    let member = v["members"][11]["alert_id"].as_str().unwrap().to_string();
    let (status, v) = act(json!({"action": "split", "alerts": [member], "by": "bob"})).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(act(json!({"action": "resolve", "by": "bob"})).await.0, 200);
    let (status, v) = act(json!({"action": "acknowledge"})).await;
    assert_eq!(status, 409, "a resolved incident cannot be acknowledged: {v}");
    let (status, _) = c
        .post("/api/v1/incidents/INC0-999/actions", r#"{"action":"close"}"#)
        .await;
    assert_eq!(status, 404);
    let (status, _) = c.get("/api/v1/incidents/INC0-999/similar").await;
    assert_eq!(status, 404, "similar incidents of an unknown incident");
    let (status, v) = c.get(&format!("/api/v1/incidents/{id}/similar?limit=3")).await;
    assert_eq!(status, 200, "{v}");
    assert!(v["items"].is_array(), "{v}");
    let (status, _) = c.get(&format!("/api/v1/incidents/{id}/similar?limit=x")).await;
    assert_eq!(status, 400, "a bad limit is refused");
    let (status, v) = c
        .post(
            &format!("/api/v1/incidents/{id}/actions"),
            r#"{"action":"dance"}"#,
        )
        .await;
    assert_eq!(status, 400, "{v}");
    // an action body is bounded: a megabyte comment is refused whole, nothing journalled
    let huge = json!({"action": "comment", "text": "x".repeat(1 << 20), "by": "eve"});
    let (status, v) = c
        .post(&format!("/api/v1/incidents/{id}/actions"), huge.to_string())
        .await;
    assert_eq!(status, 413, "{v}");

    let (_, before) = c.get(&format!("/api/v1/incidents/{id}")).await;
    let timeline = before["timeline"].as_array().unwrap();
    let by: Vec<&str> = timeline.iter().filter_map(|t| t["by"].as_str()).collect();
    assert_eq!(by, ["ann", "ann", "bob", "bob", "bob", "bob"], "{timeline:?}");
    let (_, all_before) = c.get("/api/v1/incidents").await;
    server.abort();

    let again = start(Config::default(), section(d.path())).await.unwrap();
    let c2 = Client::new(again.bound.http);
    let (_, after) = c2.get(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(before, after, "actions are journalled like events");
    assert_eq!(all_before, c2.get("/api/v1/incidents").await.1);
    again.abort();
}

#[tokio::test]
async fn auth_protects_mutations_and_optionally_reads() {
    let d = tempfile::tempdir().unwrap();
    let cfg = ServerSection {
        api_token: Some("s3cret".into()),
        ..section(d.path())
    };
    let server = start(Config::default(), cfg).await.unwrap();
    let mut c = Client::new(server.bound.http);
    let ev = r#"{"source":"a","check":"b","severity":"minor"}"#;
    let (status, body) = c.post("/api/v1/events", ev).await;
    assert_eq!(status, 401);
    assert!(body["error"].as_str().unwrap().contains("Bearer"), "{body}");
    c.token = Some("wrong".into());
    let (status, body) = c.post("/api/v1/events", ev).await;
    assert_eq!(status, 403, "{body}");
    c.token = Some("s3cret".into());
    assert_eq!(c.post("/api/v1/events", ev).await.0, 202);
    c.token = None;
    assert_eq!(
        c.get("/api/v1/alerts").await.0,
        200,
        "reads are open unless auth_reads"
    );
    server.abort();

    let d = tempfile::tempdir().unwrap();
    let cfg = ServerSection {
        api_token: Some("s3cret".into()),
        auth_reads: true,
        ..section(d.path())
    };
    let server = start(Config::default(), cfg).await.unwrap();
    let c = Client::new(server.bound.http);
    assert_eq!(c.get("/api/v1/alerts").await.0, 401);
    assert_eq!(
        c.get("/api/v1/alerts?token=s3cret").await.0,
        401,
        "a token in the URL is taken by the live feed only (URLs end up in logs)"
    );
    let live = c
        .http
        .get(format!("{}/api/v1/live?token=s3cret", c.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        live.status().as_u16(),
        200,
        "the live feed takes the token as a query parameter"
    );
    drop(live);
    assert_eq!(c.text("/healthz").await, "ok", "health stays open");
    server.abort();
}

#[tokio::test]
async fn overload_answers_503_with_retry_after() {
    use tokio::io::AsyncWriteExt;
    let d = tempfile::tempdir().unwrap();
    let cfg = ServerSection {
        max_inflight_requests: 1,
        ..section(d.path())
    };
    let server = start(Config::default(), cfg).await.unwrap();
    // a slow client holds the only slot: headers sent, body still coming
    let mut slow = tokio::net::TcpStream::connect(server.bound.http).await.unwrap();
    slow.write_all(b"POST /api/v1/events HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n{")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let resp = reqwest::Client::new()
        .post(format!("http://{}/api/v1/events", server.bound.http))
        .body(r#"{"source":"a","check":"b"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 503);
    assert_eq!(resp.headers()["retry-after"], "1");
    drop(slow);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let c = Client::new(server.bound.http);
    assert_eq!(
        c.post(
            "/api/v1/events",
            r#"{"source":"a","check":"b","severity":"minor"}"#
        )
        .await
        .0,
        202
    );
    server.abort();
}

/// A node's alert and a pod's naming it by its `node` label: the learned topology holds the
/// edge, shown by `GET /api/v1/learned` with the field that named it.
#[tokio::test]
async fn the_learned_topology_is_shown() {
    let d = tempfile::tempdir().unwrap();
    let server = start(Config::default(), section(d.path())).await.unwrap();
    let c = Client::new(server.bound.http);
    let (status, _) = c
        .post(
            "/api/v1/events",
            r#"[{"source":"node-6-3","check":"node_not_ready","severity":"critical","time":"2026-12-05T10:00:00Z"},
                {"source":"cart-6-c9f26","check":"crash_loop","severity":"major","time":"2026-12-05T10:00:12Z",
                 "service":"cart-6","labels":{"node":"node-6-3"}}]"#,
        )
        .await;
    assert_eq!(status, 202);
    let (status, learned) = c.get("/api/v1/learned").await;
    assert_eq!(status, 200);
    let edges = learned["edges"].as_array().unwrap();
    assert!(
        edges.iter().any(|e| e["from"] == "cart-6-c9f26"
            && e["to"] == "node-6-3"
            && e["via"] == "labels.node"
            && e["weight"] == 1.0),
        "{learned}"
    );
    assert!(learned["attributes"].is_array(), "{learned}");
    let (status, one) = c.get("/api/v1/learned?limit=1").await;
    assert_eq!(status, 200);
    assert_eq!(one["edges"].as_array().unwrap().len(), 1);
    server.abort();
}

/// A nightly-job-like pair of alerts on one service, run again twice after quiet spells:
/// the API shows the incident withdrawn as routine, with why, and its alerts released.
#[tokio::test]
async fn an_incident_withdrawn_as_routine_says_why() {
    let d = tempfile::tempdir().unwrap();
    let server = start(Config::default(), section(d.path())).await.unwrap();
    let c = Client::new(server.bound.http);
    let run = |t0: i64| {
        format!(
            r#"[{{"source":"bk-1","check":"backup_started","severity":"major","service":"backup","description":"backup job started","time":{t0}}},
                {{"source":"bk-1","check":"archive_written","severity":"major","service":"backup","description":"archive written to /srv","time":{}}}]"#,
            t0 + 2000
        )
    };
    let t0 = 1_795_514_400_000i64;
    assert_eq!(c.post("/api/v1/events", run(t0)).await.0, 202);
    let (_, open) = c.get("/api/v1/incidents?state=active").await;
    assert_eq!(open["total"], 1, "the first run forms an incident: {open}");
    let id = open["items"][0]["id"].as_str().unwrap().to_string();
    for k in 1..=2 {
        assert_eq!(c.post("/api/v1/events", run(t0 + k * 1_800_000)).await.0, 202);
    }
    let (status, one) = c.get(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(one["state"], "closed", "{one}");
    let why = one["withdrawn"].as_str().unwrap_or_default();
    assert!(
        why.starts_with("withdrawn as routine: all 2 of its alerts fired together again"),
        "{one}"
    );
    assert!(
        one["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["incident"].is_null()),
        "{one}"
    );
    let (_, active) = c.get("/api/v1/incidents?state=active").await;
    assert_eq!(active["total"], 0, "{active}");
    server.abort();
}

#[tokio::test]
async fn openapi_and_metrics() {
    let d = tempfile::tempdir().unwrap();
    let cfg = ServerSection {
        tick_ms: 50,
        ..section(d.path())
    };
    let server = start(Config::default(), cfg).await.unwrap();
    let c = Client::new(server.bound.http);
    let (status, doc) = c.get("/api/v1/openapi.json").await;
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.0.3");
    for p in [
        "/api/v1/events",
        "/api/v1/alertmanager",
        "/api/v1/ingest/{mapping}",
        "/api/v1/incidents/{id}/actions",
        "/api/v1/learned",
    ] {
        assert!(doc["paths"][p].is_object(), "{p} documented");
    }
    c.post(
        "/api/v1/events",
        r#"{"source":"a","check":"b","severity":"nope"}"#,
    )
    .await;
    c.post(
        "/api/v1/events",
        r#"{"source":"a","check":"b","severity":"minor"}"#,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await; // a tick sets the gauges
    let m = c.text("/metrics").await;
    for needle in [
        "sitrep_alerts{state=\"open\"} 1",
        "sitrep_incidents{state=\"open\"}",
        "sitrep_requests_in_flight",
        "sitrep_journal_queue_records",
        "sitrep_correlation_candidates_judged_total",
        "sitrep_events_received_total{source=\"http\"}",
        "sitrep_events_rejected_total{source=\"http\",reason=\"unknown_severity\"}",
        "sitrep_journal_fsync_seconds_bucket",
        "sitrep_processing_seconds_bucket",
        // described, for whoever reads /metrics
        "# HELP sitrep_events_received_total Events accepted",
        "# HELP sitrep_journal_fsync_seconds ",
    ] {
        assert!(m.contains(needle), "{needle} in\n{m}");
    }
    server.abort();
}

#[tokio::test]
async fn snapshots_bound_the_journal_and_restore_exactly() {
    let d = tempfile::tempdir().unwrap();
    let cfg = ServerSection {
        snapshot_every: 4,
        ..section(d.path())
    };
    let server = start(Config::default(), cfg.clone()).await.unwrap();
    let c = Client::new(server.bound.http);
    for i in 0..10 {
        let body = format!(
            r#"{{"source":"h{}","check":"c","severity":"major","time":{}}}"#,
            i % 3,
            1_795_514_400 + i
        );
        assert_eq!(c.post("/api/v1/events", body).await.0, 202);
        // snapshots run beside ingest; let each finish so the counts below are exact
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let (_, before) = c.get("/api/v1/alerts").await;
    server.abort();
    assert!(d.path().join("snapshot.json").exists());
    let journals: Vec<String> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("journal-"))
        .collect();
    // snapshots after records 4 and 8: generations 0, 1 (records 5-8) and 2 (9-10); the
    // previous snapshot (snapshot.1.json) is kept with the journals after it, as the
    // fallback if snapshot.json is unreadable; the generation both cover is deleted
    assert!(d.path().join("snapshot.1.json").exists());
    assert_eq!(
        journals.len(),
        2,
        "journal generations covered by both snapshots are deleted: {journals:?}"
    );
    let again = start(Config::default(), cfg).await.unwrap();
    assert_eq!(
        again.replayed, 2,
        "only the records after the last snapshot are replayed"
    );
    let (_, after) = Client::new(again.bound.http).get("/api/v1/alerts").await;
    assert_eq!(before, after);
    let counts: u64 = after["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["count"].as_u64().unwrap())
        .sum();
    assert_eq!(counts, 10);
    again.abort();
}

/// What a web page on another site (or on a rebound DNS name) can do to a server with no
/// token: nothing that changes state. Same-origin pages (the UI) and non-browser clients
/// are unaffected; every response forbids framing and foreign scripts.
#[tokio::test]
async fn cross_origin_posts_are_refused_and_responses_carry_security_headers() {
    let d = tempfile::tempdir().unwrap();
    let server = start(Config::default(), section(d.path())).await.unwrap();
    let addr = server.bound.http;
    let ev = r#"{"source":"a","check":"b","severity":"minor"}"#;
    let post = |origin: Option<String>, host: Option<&'static str>| {
        let mut r = reqwest::Client::new()
            .post(format!("http://{addr}/api/v1/events"))
            .header("content-type", "text/plain")
            .body(ev);
        if let Some(o) = origin {
            r = r.header("origin", o);
        }
        if let Some(h) = host {
            r = r.header("host", h);
        }
        async move { r.send().await.unwrap() }
    };
    // CSRF: a page on another site posting a "simple" request
    let r = post(Some("http://evil.example".into()), None).await;
    assert_eq!(r.status(), 403);
    // DNS rebinding: same origin as far as the browser knows, but not a loopback name
    let r = post(Some("http://evil.example:1234".into()), Some("evil.example:1234")).await;
    assert_eq!(r.status(), 403);
    // the UI itself, and curl (no Origin)
    assert_eq!(post(Some(format!("http://{addr}")), None).await.status(), 202);
    let r = post(None, None).await;
    assert_eq!(r.status(), 202);
    let h = r.headers();
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(h["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("frame-ancestors 'none'"));
    let ui = reqwest::get(format!("http://{addr}/")).await.unwrap();
    assert!(ui.headers().contains_key("content-security-policy"));
    server.abort();
}

/// Every payload the README posts exists in examples/ and is accepted as the README says.
#[tokio::test]
async fn the_readme_payloads_are_accepted() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let cfg =
        Config::from_toml(&std::fs::read_to_string(root.join("examples/mappings/nagios.toml")).unwrap())
            .unwrap();
    let d = tempfile::tempdir().unwrap();
    let server = start(cfg, section(d.path())).await.unwrap();
    let c = Client::new(server.bound.http);
    let mut posted = 0;
    for line in readme
        .lines()
        .filter(|l| l.starts_with("curl -XPOST") && l.contains(" -d @"))
    {
        let path = line.split_whitespace().nth(2).unwrap();
        let path = &path[path.find("/api").unwrap()..];
        let file = line
            .split(" -d @")
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap();
        let body =
            std::fs::read_to_string(root.join(file)).unwrap_or_else(|e| panic!("README posts {file}: {e}"));
        let (status, answer) = c.post(path, body).await;
        assert_eq!(status, 202, "{line}: {answer}");
        assert!(answer["accepted"].as_u64().unwrap() >= 1, "{line}: {answer}");
        posted += 1;
    }
    assert_eq!(posted, 2, "the README's two file payloads");
    server.abort();
}

/// Mistakes are told, not answered with an empty success: an empty body, an unknown state.
#[tokio::test]
async fn empty_bodies_and_unknown_states_are_400() {
    let d = tempfile::tempdir().unwrap();
    let server = start(Config::default(), section(d.path())).await.unwrap();
    let c = Client::new(server.bound.http);
    let (status, body) = c.post("/api/v1/events", "").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(c.post("/api/v1/alertmanager", " \n").await.0, 400);
    let (status, body) = c.get("/api/v1/incidents?state=bogus").await;
    assert_eq!(status, 400);
    assert!(
        body.to_string().contains("acknowledged"),
        "names the known states: {body}"
    );
    assert_eq!(c.get("/api/v1/alerts?state=resolved").await.0, 400);
    assert_eq!(c.get("/api/v1/alerts?state=cleared").await.0, 200);
    assert_eq!(c.get("/api/v1/incidents?state=active").await.0, 200);
    let (status, body) = c.get("/api/v1/incidents/INC0-99").await;
    assert_eq!(status, 404);
    assert!(!body.to_string().contains("partition"), "{body}");
    server.abort();
}

/// Slow clients cannot hold the server: a request head not sent whole within
/// `header_timeout_secs` closes the connection; a body not received within
/// `body_timeout_secs` is answered 408 and frees its in-flight slot.
#[tokio::test]
async fn slow_headers_and_bodies_are_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let d = tempfile::tempdir().unwrap();
    let cfg = ServerSection {
        header_timeout_secs: 1,
        body_timeout_secs: 1,
        max_inflight_requests: 1,
        ..section(d.path())
    };
    let server = start(Config::default(), cfg).await.unwrap();
    let addr = server.bound.http;
    let mut half = tokio::net::TcpStream::connect(addr).await.unwrap();
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), half.read_to_end(&mut buf))
        .await
        .expect("a half-sent head is closed by the server")
        .ok();
    assert!(!String::from_utf8_lossy(&buf).contains("200 OK"), "never served");
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    slow.write_all(
        b"POST /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"source\":",
    )
    .await
    .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), slow.read(&mut buf))
        .await
        .expect("a trickling body is answered")
        .unwrap();
    let answer = String::from_utf8_lossy(&buf[..n]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("body_timeout_secs"), "{answer}");
    // its slot is free again (one in flight at most)
    let c = Client::new(addr);
    assert_eq!(
        c.post(
            "/api/v1/events",
            r#"{"source":"a","check":"b","severity":"minor"}"#
        )
        .await
        .0,
        202
    );
    server.abort();
}
