//! The HTTP ingest against a real socket: good and bad input, and state rebuilt from the
//! journal by a new server on the same folder.

use sitrep_core::Config;
use sitrep_server::{start, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A minimal HTTP/1.1 client: (status, body).
async fn request(addr: std::net::SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).await.unwrap();
    let text = String::from_utf8_lossy(&resp).into_owned();
    let status = text[9..12].parse().unwrap();
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn config(dir: &std::path::Path) -> ServerConfig {
    ServerConfig {
        engine: Config::default(),
        data_dir: dir.to_path_buf(),
        listen: "127.0.0.1:0".parse().unwrap(),
        max_body_bytes: 1 << 20,
        fsync: true,
        snapshot_every: 1_000_000,
    }
}

#[tokio::test]
async fn ingest_good_and_bad_then_recover_from_the_journal() {
    let d = tempfile::tempdir().unwrap();
    let server = start(config(d.path())).await.unwrap();
    let (status, _) = request(server.addr, "GET", "/healthz", "").await;
    assert_eq!(status, 200);
    let jsonl = concat!(
        r#"{"source":"db-1","check":"disk","severity":"major","description":"disk full","time":"2026-11-24T10:00:00Z"}"#,
        "\n",
        r#"{"source":"db-1","check":"disk","severity":"banana"}"#,
        "\n",
        r#"{"source":"db-1","check":"disk","severity":"critical","description":"disk full","time":"2026-11-24T10:00:05Z"}"#,
        "\n",
    );
    let (status, body) = request(server.addr, "POST", "/api/v1/events", jsonl).await;
    assert_eq!(status, 400, "{body}");
    let reply: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(reply["accepted"], 2);
    assert_eq!(reply["rejected"][0]["index"], 1);
    assert_eq!(reply["rejected"][0]["code"], "unknown_severity");
    let arr = r#"[{"source":"web-1","check":"http","severity":"minor","service":"shop"}]"#;
    let (status, _) = request(server.addr, "POST", "/api/v1/events", arr).await;
    assert_eq!(status, 202);
    let (status, _) = request(server.addr, "POST", "/api/v1/events", &"x".repeat(2 << 20)).await;
    assert_eq!(status, 413);
    let (_, alerts) = request(server.addr, "GET", "/api/v1/alerts", "").await;
    let alerts: serde_json::Value = serde_json::from_str(&alerts).unwrap();
    assert_eq!(alerts.as_array().unwrap().len(), 2);
    assert_eq!(alerts[0]["count"], 2);
    assert_eq!(alerts[0]["severity"], "critical");
    server.abort();

    // a new server on the same folder rebuilds exactly that state
    let again = start(config(d.path())).await.unwrap();
    assert_eq!(again.replayed, 3);
    let (_, alerts2) = request(again.addr, "GET", "/api/v1/alerts", "").await;
    let alerts2: serde_json::Value = serde_json::from_str(&alerts2).unwrap();
    assert_eq!(alerts, alerts2);
    again.abort();
}

#[tokio::test]
async fn snapshots_bound_the_journal_and_restore_exactly() {
    let d = tempfile::tempdir().unwrap();
    let cfg = ServerConfig {
        snapshot_every: 4,
        ..config(d.path())
    };
    let server = start(cfg.clone()).await.unwrap();
    for i in 0..10 {
        let body = format!(
            r#"{{"source":"h{}","check":"c","severity":"major","time":{}}}"#,
            i % 3,
            1_795_514_400 + i
        );
        let (status, _) = request(server.addr, "POST", "/api/v1/events", &body).await;
        assert_eq!(status, 202);
    }
    let (_, before) = request(server.addr, "GET", "/api/v1/alerts", "").await;
    server.abort();
    assert!(d.path().join("snapshot.json").exists());
    let journals: Vec<String> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("journal-"))
        .collect();
    assert_eq!(
        journals.len(),
        1,
        "covered journal generations are deleted: {journals:?}"
    );
    let again = start(cfg).await.unwrap();
    assert_eq!(
        again.replayed, 2,
        "only the records after the last snapshot are replayed"
    );
    let (_, after) = request(again.addr, "GET", "/api/v1/alerts", "").await;
    assert_eq!(before, after);
    let counts: u64 = serde_json::from_str::<serde_json::Value>(&after)
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["count"].as_u64().unwrap())
        .sum();
    assert_eq!(counts, 10);
    again.abort();
}
