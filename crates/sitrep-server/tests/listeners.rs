//! Syslog and SNMP through real clients: util-linux `logger` over UDP and TCP (RFC 5424
//! and 3164, octet-counting and newline framing) and net-snmp's `snmptrap` (v1 and v2c).
//! Each test skips, saying why, when its client is not installed; `.ci/run` installs both.

use serde_json::Value;
use sitrep_core::Config;
use sitrep_server::{start, ServerSection};
use std::process::Command;
use std::time::{Duration, Instant};

fn have(tool: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "`{tool}` is not installed under CI"
        );
        eprintln!("SKIPPED: `{tool}` is not installed (Debian: bsdutils for logger, snmp for snmptrap)");
    }
    found
}

fn section(dir: &std::path::Path) -> ServerSection {
    let mut s = ServerSection {
        data_dir: dir.to_path_buf(),
        listen: "127.0.0.1:0".parse().unwrap(),
        tick_ms: 3_600_000,
        ..ServerSection::default()
    };
    s.syslog.udp = Some("127.0.0.1:0".parse().unwrap());
    s.syslog.tcp = Some("127.0.0.1:0".parse().unwrap());
    s.snmp.listen = Some("127.0.0.1:0".parse().unwrap());
    s
}

async fn alerts(addr: std::net::SocketAddr, query: &str) -> Value {
    reqwest::get(format!("http://{addr}/api/v1/alerts?{query}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Polls until `want` alerts match (the clients give no acknowledgement to wait on).
async fn wait_for(addr: std::net::SocketAddr, query: &str, want: u64) -> Value {
    wait_until(addr, query, |a| a["total"].as_u64() == Some(want)).await
}

/// Polls until the answer satisfies `done`, or 10 s pass (the caller's assertion then shows
/// what was there). Lines on one connection are ingested one by one, so a count has to be
/// waited for, not a first sight of the alert.
async fn wait_until(addr: std::net::SocketAddr, query: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let a = alerts(addr, query).await;
        if done(&a) || Instant::now() > deadline {
            return a;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn syslog_from_logger_over_udp_and_tcp() {
    if !have("logger") {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let server = start(Config::default(), section(d.path())).await.unwrap();
    let b = server.bound.clone();
    let udp = b.syslog_udp.unwrap().port().to_string();
    let tcp = b.syslog_tcp.unwrap().port().to_string();
    let cases: [(&str, &[&str]); 4] = [
        ("udp5424", &["-d", "-P", &udp, "--rfc5424"]),
        ("udp3164", &["-d", "-P", &udp, "--rfc3164"]),
        ("tcpoctet", &["-T", "-P", &tcp, "--rfc5424", "--octet-count"]),
        ("tcpline", &["-T", "-P", &tcp, "--rfc3164"]),
    ];
    for (tag, args) in cases {
        run(Command::new("logger")
            .args(["-n", "127.0.0.1", "-p", "daemon.err", "-t", tag])
            .args(args)
            .arg(format!("disk /var is 97% full ({tag})")));
    }
    let got = wait_for(b.http, "", 4).await;
    assert_eq!(got["total"], 4, "{got}");
    let mut checks: Vec<&str> = got["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["check"].as_str().unwrap())
        .collect();
    checks.sort();
    assert_eq!(checks, ["tcpline", "tcpoctet", "udp3164", "udp5424"]);
    for a in got["items"].as_array().unwrap() {
        assert!(a["description"].as_str().unwrap().contains("97% full"), "{a}");
        assert_eq!(a["severity"], "major", "daemon.err → major: {a}");
    }
    // several messages on one TCP connection, newline framed
    let lines = "line one\nline two\nline three\n";
    run(Command::new("sh").arg("-c").arg(format!(
        "printf '{}' | logger -n 127.0.0.1 -T -P {tcp} --rfc3164 -t multi -p daemon.warning",
        lines.replace('\n', "\\n")
    )));
    let multi = wait_until(b.http, "text=multi", |a| a["items"][0]["count"] == 3).await;
    assert_eq!(multi["items"][0]["count"], 3, "{multi}");
    server.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn snmp_traps_from_snmptrap_v1_and_v2c_and_link_up_clears() {
    if !have("snmptrap") {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let mut cfg = section(d.path());
    // the v1 traps below name agent 10.0.0.9, as a trap forwarder would
    cfg.snmp.trust_agent_address = true;
    let server = start(Config::default(), cfg).await.unwrap();
    let b = server.bound.clone();
    let agent = format!("127.0.0.1:{}", b.snmp.unwrap().port());
    let ifindex = "1.3.6.1.2.1.2.2.1.1.3";
    // v1 linkDown (generic 2) from agent 10.0.0.9, ifIndex 3
    run(Command::new("snmptrap").args([
        "-v", "1", "-c", "public", &agent, "", "10.0.0.9", "2", "0", "", ifindex, "i", "3",
    ]));
    // v2c linkDown from this host (the peer address is the source), ifIndex 7
    run(Command::new("snmptrap").args([
        "-v",
        "2c",
        "-c",
        "public",
        &agent,
        "",
        "1.3.6.1.6.3.1.1.5.3",
        "1.3.6.1.2.1.2.2.1.1.7",
        "i",
        "7",
    ]));
    // v2c enterprise trap nobody mapped: default severity, OID as check
    run(Command::new("snmptrap").args([
        "-v",
        "2c",
        "-c",
        "public",
        &agent,
        "",
        "1.3.6.1.4.1.99999.0.1",
        "1.3.6.1.4.1.99999.1",
        "s",
        "fan failed",
    ]));
    let got = wait_for(b.http, "", 3).await;
    assert_eq!(got["total"], 3, "{got}");
    let down = wait_for(b.http, "source=10.0.0.9", 1).await;
    let a = &down["items"][0];
    assert_eq!(
        (a["check"].as_str(), a["severity"].as_str(), a["state"].as_str()),
        (Some("link_down"), Some("major"), Some("open"))
    );
    assert!(
        a["description"]
            .as_str()
            .unwrap()
            .starts_with("linkDown from 10.0.0.9"),
        "{a}"
    );
    let v2 = wait_for(b.http, "source=127.0.0.1", 2).await["items"].clone();
    assert!(
        v2.as_array().unwrap().iter().any(|a| a["check"] == "link_down"),
        "{v2}"
    );
    assert!(
        v2.as_array()
            .unwrap()
            .iter()
            .any(|a| a["check"] == "1.3.6.1.4.1.99999.0.1" && a["severity"] == "warning"),
        "{v2}"
    );

    // v1 linkUp (generic 3) for the same interface clears it
    run(Command::new("snmptrap").args([
        "-v", "1", "-c", "public", &agent, "", "10.0.0.9", "3", "0", "", ifindex, "i", "3",
    ]));
    let cleared = wait_for(b.http, "source=10.0.0.9&state=cleared", 1).await;
    assert_eq!(cleared["total"], 1, "linkUp clears linkDown: {cleared}");
    // a trap with an unaccepted community is a dead letter, not an alert
    server.abort();
    let d2 = tempfile::tempdir().unwrap();
    let mut s = section(d2.path());
    s.snmp.communities = vec!["private".into()];
    let server = start(Config::default(), s).await.unwrap();
    let agent = format!("127.0.0.1:{}", server.bound.snmp.unwrap().port());
    run(Command::new("snmptrap").args(["-v", "1", "-c", "public", &agent, "", "10.0.0.9", "2", "0", ""]));
    let deadline = Instant::now() + Duration::from_secs(10);
    let path = d2.path().join("dead_letters.jsonl");
    while !std::fs::read_to_string(&path)
        .unwrap_or_default()
        .contains("snmp_community")
    {
        assert!(
            Instant::now() < deadline,
            "the rejected trap reaches the dead letters"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(alerts(server.bound.http, "").await["total"], 0);
    server.abort();
}

/// A hostile or broken TCP syslog client: good messages before a bad frame are kept, the bad
/// frame is a dead letter, and a digit run with no space is not read without bound.
#[tokio::test(flavor = "multi_thread")]
async fn syslog_tcp_keeps_good_messages_before_a_bad_frame() {
    use tokio::io::AsyncWriteExt;
    let d = tempfile::tempdir().unwrap();
    let server = start(Config::default(), section(d.path())).await.unwrap();
    let b = server.bound.clone();
    let msg = "<11>1 2026-11-24T10:00:00Z db1 goodapp - - - disk 97% full";
    let mut c = tokio::net::TcpStream::connect(b.syslog_tcp.unwrap())
        .await
        .unwrap();
    let stream = format!("{msg}\n{} {msg}\n999999999 x", msg.len() + 1);
    c.write_all(stream.as_bytes()).await.unwrap();
    drop(c);
    let got = wait_for(b.http, "text=goodapp", 1).await;
    assert_eq!(got["items"][0]["count"], 2, "both good messages: {got}");
    // a digit run that never ends in a space: the connection is refused after 11 bytes
    let mut c = tokio::net::TcpStream::connect(b.syslog_tcp.unwrap())
        .await
        .unwrap();
    let digits = vec![b'7'; 1 << 20];
    let _ = c.write_all(&digits).await; // the server may close first
    drop(c);
    let dead = d.path().join("dead_letters.jsonl");
    let deadline = Instant::now() + Duration::from_secs(10);
    let codes = loop {
        let text = std::fs::read_to_string(&dead).unwrap_or_default();
        let codes: Vec<String> = text
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["code"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        if codes.len() >= 2 || Instant::now() > deadline {
            break codes;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(codes, ["too_large", "bad_frame"]);
    server.abort();
}

/// Idle syslog senders cannot take every file descriptor: beyond
/// `server.syslog.max_tcp_connections` a connection is closed on accept, the ones inside
/// keep working, and the HTTP API keeps answering.
#[tokio::test(flavor = "multi_thread")]
async fn syslog_tcp_connections_are_bounded() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let d = tempfile::tempdir().unwrap();
    let mut cfg = section(d.path());
    cfg.syslog.max_tcp_connections = Some(2);
    let server = start(Config::default(), cfg).await.unwrap();
    let b = server.bound.clone();
    let tcp = b.syslog_tcp.unwrap();
    let mut held = Vec::new();
    for _ in 0..2 {
        held.push(tokio::net::TcpStream::connect(tcp).await.unwrap());
    }
    // let the listener take both before the third arrives
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut extra = tokio::net::TcpStream::connect(tcp).await.unwrap();
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(5), extra.read(&mut buf))
        .await
        .expect("the connection over the limit is closed at once");
    assert!(matches!(n, Ok(0) | Err(_)), "closed, not served: {n:?}");
    let msg = "<11>1 2026-11-24T10:00:00Z db7 heldapp - - - held connection still served\n";
    held[0].write_all(msg.as_bytes()).await.unwrap();
    drop(held);
    let got = wait_for(b.http, "text=heldapp", 1).await;
    assert_eq!(got["items"][0]["source"], "db7");
    server.abort();
}
