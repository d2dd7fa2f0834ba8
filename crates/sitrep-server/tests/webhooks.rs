//! Outbound webhooks against a real HTTP receiver that fails the first delivery: the
//! update is retried with the same idempotency key, and subscriptions filter changes.

use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use sitrep_core::Config;
use sitrep_server::config::WebhookConfig;
use sitrep_server::{start, ServerSection};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type Seen = Arc<Mutex<Vec<(String, String, serde_json::Value)>>>;

async fn receiver(fail_first: usize) -> (std::net::SocketAddr, Seen) {
    let seen: Seen = Arc::default();
    let s2 = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: String| {
            let seen = s2.clone();
            async move {
                let mut v = seen.lock().unwrap();
                let key = headers["idempotency-key"].to_str().unwrap().to_string();
                let kind = headers["x-sitrep-event"].to_str().unwrap().to_string();
                v.push((key, kind, serde_json::from_str(&body).unwrap()));
                if v.len() <= fail_first {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::OK
                }
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (addr, seen)
}

#[tokio::test(flavor = "multi_thread")]
async fn incident_updates_are_delivered_with_retry_and_idempotency_keys() {
    let (hook, seen) = receiver(1).await;
    let d = tempfile::tempdir().unwrap();
    let cfg = ServerSection {
        data_dir: d.path().to_path_buf(),
        listen: "127.0.0.1:0".parse().unwrap(),
        tick_ms: 3_600_000,
        webhooks: vec![WebhookConfig {
            url: format!("http://{hook}/hook"),
            on: vec!["opened".into(), "resolved".into()],
            max_attempts: 5,
            backoff_ms: 20,
            token: None,
        }],
        ..ServerSection::default()
    };
    let server = start(Config::default(), cfg).await.unwrap();
    let base = format!("http://{}", server.bound.http);
    let events: String = (0..4)
        .map(|i| {
            format!(
                r#"{{"source":"web-{i}","check":"http_5xx","severity":"critical","service":"shop","time":{}}}"#,
                1_795_514_400_000i64 + i * 1000
            ) + "\n"
        })
        .collect();
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{base}/api/v1/events"))
        .body(events)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    let deadline = Instant::now() + Duration::from_secs(10);
    while seen.lock().unwrap().len() < 2 {
        assert!(Instant::now() < deadline, "the webhook was called and retried");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let id = {
        let v = seen.lock().unwrap();
        assert_eq!(v[0].0, v[1].0, "the retry carries the same idempotency key");
        assert_eq!(v[0].1, "opened");
        assert_eq!(v[1].2["change"], "opened");
        let id = v[1].2["incident"]["id"].as_str().unwrap().to_string();
        assert!(
            v[0].0.starts_with(&format!("{id}:")),
            "key is incident:seq: {}",
            v[0].0
        );
        id
    };
    // an acknowledge is an `updated` change: not subscribed; a resolve is
    for action in ["acknowledge", "resolve"] {
        let r = http
            .post(format!("{base}/api/v1/incidents/{id}/actions"))
            .body(format!(r#"{{"action":"{action}"}}"#))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
    }
    while seen.lock().unwrap().len() < 3 {
        assert!(Instant::now() < deadline, "the resolve was delivered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let v = seen.lock().unwrap();
    assert_eq!(
        v.len(),
        3,
        "nothing else was sent: {:?}",
        v.iter().map(|x| &x.1).collect::<Vec<_>>()
    );
    assert_eq!(v[2].1, "resolved");
    assert_eq!(v[2].2["incident"]["state"], "resolved");
    assert_ne!(v[2].0, v[1].0, "each update has its own key");
    server.abort();
}
