//! `sitrep loadgen`: the HTTP load generator behind the server benchmarks
//! (docs/performance.md). It builds request bodies up front from a generated scenario (the
//! events undated, so the server dates them on arrival like a live feed), then posts them
//! over keep-alive connections, as fast as possible or at a fixed rate.
//!
//! - Throughput: events/s over the whole run, and request latency percentiles.
//! - `--incident-latency`: subscribes to the live feed (SSE) first and measures, for every
//!   incident update, the time from posting the event that caused it (the latest raise or
//!   severity change of the newest alert it adds: see [`RaisedAt`]) to receiving it.
//! - `--format alertmanager-v2`: the same alerts in Prometheus Alertmanager's own API
//!   format (`POST /api/v2/alerts`), for the side-by-side comparison.
//! - `--format otlp`: the same events as OpenTelemetry log records, one protobuf
//!   `ExportLogsServiceRequest` per batch (`POST /v1/logs`), as an SDK or Collector sends.

use anyhow::{bail, Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use sitrep_core::{Config, Event, InputFormat, Normaliser, Severity};
use sitrep_scenario::{generate, Scenario};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Args)]
pub struct LoadgenArgs {
    /// Base URL of the target (sitrep, or Alertmanager with --format alertmanager-v2).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    #[arg(long, default_value = "telco")]
    pub scenario: String,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[arg(long, default_value_t = 1_000_000)]
    pub events: usize,
    /// Events per request.
    #[arg(long, default_value_t = 1000)]
    pub batch: usize,
    /// Concurrent connections.
    #[arg(long, default_value_t = 4)]
    pub connections: usize,
    /// Target events/s (0: as fast as the server takes them).
    #[arg(long, default_value_t = 0.0)]
    pub rate: f64,
    /// `native` (POST /api/v1/events, JSON lines), `alertmanager-v2` (POST /api/v2/alerts)
    /// or `otlp` (POST /v1/logs, protobuf).
    #[arg(long, default_value = "native")]
    pub format: String,
    /// Measure event → incident update latency through the live feed.
    #[arg(long)]
    pub incident_latency: bool,
    /// Bearer token, if the server needs one.
    #[arg(long)]
    pub token: Option<String>,
    /// Print the result as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Kafka instead of HTTP: produce the events to `--topic` on these brokers and measure
    /// produce → incident update on `--incidents-topic` (read_committed), as a subscriber
    /// sees it (src/kafka_latency.rs).
    #[arg(long)]
    pub kafka: Option<String>,
    #[arg(long, requires = "kafka")]
    pub topic: Option<String>,
    #[arg(long, requires = "kafka")]
    pub incidents_topic: Option<String>,
    /// Key each record by this field of its event (e.g. `labels.region`) and partition by
    /// murmur2 of the key, as a Java producer keying by the workers' scope does (for
    /// `keyed_input`). Without it records are unkeyed.
    #[arg(long, requires = "kafka")]
    pub key_field: Option<String>,
}

pub(crate) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// An alert in Alertmanager's API v2 form: the check as alertname, the source as instance.
fn alertmanager_alert(e: &Event) -> serde_json::Value {
    let mut labels = serde_json::Map::new();
    labels.insert("alertname".into(), e.check.as_str().into());
    labels.insert("instance".into(), e.source.as_str().into());
    labels.insert("severity".into(), e.severity.as_str().into());
    if let Some(s) = &e.service {
        labels.insert("service".into(), s.as_str().into());
    }
    serde_json::json!({ "labels": labels, "annotations": { "description": e.description } })
}

/// A batch of events as one OTLP logs request: each event a record under its own resource
/// (`host.name` = source, `service.name` = service), the check as the event name (so the
/// server mines nothing and the comparison with native JSON is like for like).
fn otlp_request(events: &[Event]) -> Vec<u8> {
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use opentelemetry_proto::tonic::common::v1::{any_value::Value, AnyValue, KeyValue};
    use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use prost::Message;
    use sitrep_core::Severity;
    let kv = |k: &str, v: &str| KeyValue {
        key: k.into(),
        value: Some(AnyValue {
            value: Some(Value::StringValue(v.into())),
        }),
        ..Default::default()
    };
    let resource_logs = events
        .iter()
        .map(|e| {
            let mut attributes = vec![kv("host.name", &e.source)];
            if let Some(s) = &e.service {
                attributes.push(kv("service.name", s));
            }
            // OTel has no number for "cleared": a clear travels as its text alone, which the
            // mapping reads by name (docs/schema.md)
            let severity_number = match e.severity {
                Severity::Clear => 0,
                Severity::Indeterminate => 9,
                Severity::Warning => 13,
                Severity::Minor => 14,
                Severity::Major => 17,
                Severity::Critical => 21,
            };
            let record = LogRecord {
                severity_number,
                severity_text: e.severity.as_str().to_string(),
                event_name: e.check.to_string(),
                body: Some(AnyValue {
                    value: Some(Value::StringValue(e.description.clone())),
                }),
                attributes: e.labels.iter().map(|(k, v)| kv(k, v)).collect(),
                ..Default::default()
            };
            ResourceLogs {
                resource: Some(Resource {
                    attributes,
                    ..Default::default()
                }),
                scope_logs: vec![ScopeLogs {
                    log_records: vec![record],
                    ..Default::default()
                }],
                ..Default::default()
            }
        })
        .collect();
    ExportLogsServiceRequest { resource_logs }.encode_to_vec()
}

#[derive(Clone, Copy, PartialEq)]
enum Wire {
    Native,
    AlertmanagerV2,
    Otlp,
}

/// When each alert last changed state, by signature: the send time of its raising event (its
/// first, or its first after a clear) or of its latest change of severity. An incident
/// update adds an alert because of such a change (a raise, or a severity change that offers
/// it to correlation again), never because of a pure duplicate, so the update was caused by
/// the latest change of the newest alert it adds (an incident opens when its second alert
/// arrives; the first only waited for company). Timing from the *latest event* of an added
/// alert instead, as this tool did before 2026-12-05, measures from whatever duplicate was
/// sent last — on a stream of 95% duplicates often a few ms before the update arrived — and
/// reads far too low.
#[derive(Default)]
pub(crate) struct RaisedAt(HashMap<String, (Instant, Severity)>);

impl RaisedAt {
    pub fn sent(&mut self, signature: &str, severity: Severity, at: Instant) {
        if severity.is_clear() {
            self.0.remove(signature);
            return;
        }
        match self.0.get_mut(signature) {
            Some(last) if last.1 == severity => {}
            Some(last) => *last = (at, severity),
            None => {
                self.0.insert(signature.to_owned(), (at, severity));
            }
        }
    }

    /// Milliseconds from the latest change among `added` (signatures) to `now`; `None` when
    /// none of them was sent by this run.
    pub fn latency_ms<'a>(&self, added: impl Iterator<Item = &'a str>, now: Instant) -> Option<f64> {
        added
            .filter_map(|s| self.0.get(s))
            .map(|(t, _)| now.duration_since(*t).as_secs_f64() * 1000.0)
            .min_by(f64::total_cmp)
    }
}

pub fn run(a: LoadgenArgs) -> Result<()> {
    let Some(scenario) = Scenario::parse(&a.scenario) else {
        bail!("unknown scenario `{}`", a.scenario)
    };
    let wire = match a.format.as_str() {
        "native" => Wire::Native,
        "alertmanager-v2" => Wire::AlertmanagerV2,
        "otlp" => Wire::Otlp,
        f => bail!("unknown format `{f}` (native, alertmanager-v2, otlp)"),
    };
    eprintln!(
        "building {} events ({} scenario, seed {})…",
        a.events, a.scenario, a.seed
    );
    let g = generate(scenario, a.seed, a.events);
    if let Some(brokers) = &a.kafka {
        let (Some(topic), Some(incidents)) = (&a.topic, &a.incidents_topic) else {
            bail!("--kafka needs --topic and --incidents-topic")
        };
        return crate::kafka_latency::run(
            brokers,
            topic,
            incidents,
            &g.lines,
            a.rate,
            a.json,
            a.key_field.as_deref(),
        );
    }
    let normaliser = Normaliser::new(&Config::default())?;
    let mut events = Vec::with_capacity(g.lines.len());
    let mut out = Vec::new();
    for l in &g.lines {
        out.clear();
        normaliser.normalise(&InputFormat::Native, l.as_bytes(), 0, &mut out);
        if let Some(Ok(mut e)) = out.pop() {
            e.time = None;
            events.push(e);
        }
    }
    let batch = a.batch.max(1);
    let signature_fields = Config::default().dedup.signature;
    let mut bodies = Vec::new();
    let mut first_in_batch: Vec<Vec<(String, Severity)>> = Vec::new();
    for chunk in events.chunks(batch) {
        let body = match wire {
            Wire::AlertmanagerV2 => {
                serde_json::to_vec(&chunk.iter().map(alertmanager_alert).collect::<Vec<_>>())?
            }
            Wire::Otlp => otlp_request(chunk),
            Wire::Native => {
                let mut b = Vec::new();
                for e in chunk {
                    b.extend_from_slice(e.to_native_json().as_bytes());
                    b.push(b'\n');
                }
                b
            }
        };
        let mut firsts = Vec::new();
        if a.incident_latency {
            for e in chunk {
                let mut sig = String::new();
                sitrep_core::build_signature(&signature_fields, e, &mut sig);
                firsts.push((sig, e.severity));
            }
        }
        bodies.push(bytes_of(body));
        first_in_batch.push(firsts);
    }
    let total_events = events.len();
    drop(events);
    let (path, content_type) = match wire {
        Wire::Native => ("/api/v1/events", "application/json"),
        Wire::AlertmanagerV2 => ("/api/v2/alerts", "application/json"),
        Wire::Otlp => ("/v1/logs", "application/x-protobuf"),
    };
    let url = format!("{}{}", a.url.trim_end_matches('/'), path);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async move {
        let client = reqwest::Client::builder().pool_max_idle_per_host(a.connections).build()?;
        let sent_at: Arc<Mutex<RaisedAt>> = Arc::default();
        let latencies: Arc<Mutex<Vec<f64>>> = Arc::default();
        let feed = if a.incident_latency {
            Some(tokio::spawn(read_feed(
                client.clone(),
                format!("{}/api/v1/live", a.url.trim_end_matches('/')),
                a.token.clone(),
                sent_at.clone(),
                latencies.clone(),
            )))
        } else {
            None
        };
        if feed.is_some() {
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        let bodies = Arc::new(bodies);
        let first_in_batch = Arc::new(first_in_batch);
        let next = Arc::new(AtomicUsize::new(0));
        let request_ms: Arc<Mutex<Vec<f64>>> = Arc::default();
        let bar = ProgressBar::new(total_events as u64);
        bar.set_style(ProgressStyle::with_template("{bar:40} {pos}/{len} events {per_sec}").expect("template"));
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..a.connections.max(1) {
            let (client, url, bodies, firsts, next, request_ms, sent_at, bar, token) = (
                client.clone(),
                url.clone(),
                bodies.clone(),
                first_in_batch.clone(),
                next.clone(),
                request_ms.clone(),
                sent_at.clone(),
                bar.clone(),
                a.token.clone(),
            );
            let rate = a.rate;
            tasks.push(tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= bodies.len() {
                        return anyhow::Ok(());
                    }
                    if rate > 0.0 {
                        // open loop: batch i is due at i × batch / rate
                        let due = start + Duration::from_secs_f64(i as f64 * batch as f64 / rate);
                        tokio::time::sleep_until(due.into()).await;
                    }
                    let sent = Instant::now();
                    if !firsts[i].is_empty() {
                        let mut m = sent_at.lock().expect("lock");
                        for (s, severity) in &firsts[i] {
                            m.sent(s, *severity, sent);
                        }
                    }
                    let mut req = client
                        .post(&url)
                        .header("content-type", content_type)
                        .body(bodies[i].clone());
                    if let Some(t) = &token {
                        req = req.bearer_auth(t);
                    }
                    let resp = req.send().await.context("posting")?;
                    let status = resp.status();
                    let _ = resp.bytes().await;
                    if !status.is_success() {
                        bail!("batch {i}: HTTP {status}");
                    }
                    request_ms.lock().expect("lock").push(sent.elapsed().as_secs_f64() * 1000.0);
                    bar.inc(batch as u64);
                }
            }));
        }
        for t in tasks {
            t.await??;
        }
        let secs = start.elapsed().as_secs_f64();
        bar.finish_and_clear();
        if feed.is_some() {
            // let the last updates arrive
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let mut req = request_ms.lock().expect("lock").clone();
        req.sort_by(f64::total_cmp);
        let mut lat = latencies.lock().expect("lock").clone();
        lat.sort_by(f64::total_cmp);
        let result = serde_json::json!({
            "target": url,
            "format": a.format,
            "events": total_events,
            "batch": batch,
            "connections": a.connections,
            "target_rate": a.rate,
            "seconds": secs,
            "events_per_second": total_events as f64 / secs,
            "request_ms": { "p50": percentile(&req, 0.5), "p99": percentile(&req, 0.99), "max": req.last() },
            "incident_update_ms": if a.incident_latency {
                serde_json::json!({ "samples": lat.len(), "p50": percentile(&lat, 0.5), "p99": percentile(&lat, 0.99), "max": lat.last() })
            } else { serde_json::Value::Null },
        });
        if a.json {
            println!("{result}");
        } else {
            println!(
                "{} events in {:.2} s: {:.0} events/s ({} per request, {} connections); request p50 {:.2} ms, p99 {:.2} ms",
                total_events,
                secs,
                total_events as f64 / secs,
                batch,
                a.connections,
                percentile(&req, 0.5),
                percentile(&req, 0.99)
            );
            if a.incident_latency {
                println!(
                    "event → incident update: {} samples, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
                    lat.len(),
                    percentile(&lat, 0.5),
                    percentile(&lat, 0.99),
                    lat.last().copied().unwrap_or(f64::NAN)
                );
            }
        }
        anyhow::Ok(())
    })
}

fn bytes_of(v: Vec<u8>) -> bytes::Bytes {
    bytes::Bytes::from(v)
}

/// Reads the SSE feed; for each member an incident update adds, records the time since its
/// alert's first event was posted.
async fn read_feed(
    client: reqwest::Client,
    url: String,
    token: Option<String>,
    sent_at: Arc<Mutex<RaisedAt>>,
    latencies: Arc<Mutex<Vec<f64>>>,
) -> Result<()> {
    let mut req = client.get(&url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let mut resp = req.send().await?;
    let mut buf = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        let now = Instant::now();
        buf.extend_from_slice(&chunk);
        while let Some(end) = buf.windows(2).position(|w| w == b"\n\n") {
            let frame: Vec<u8> = buf.drain(..end + 2).collect();
            let text = String::from_utf8_lossy(&frame);
            if !text.contains("event: incident") {
                continue;
            }
            let Some(data) = text.lines().find_map(|l| l.strip_prefix("data: ")) else {
                continue;
            };
            let Ok(u) = serde_json::from_str::<sitrep_core::update::IncidentUpdate>(data) else {
                continue;
            };
            let caused = sent_at
                .lock()
                .expect("lock")
                .latency_ms(u.added.iter().map(|m| m.signature.as_str()), now);
            if let Some(ms) = caused {
                latencies.lock().expect("lock").push(ms);
                if ms > 1000.0 && std::env::var_os("LOADGEN_DEBUG").is_some() {
                    let wall = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap_or_default()
                        .as_millis();
                    eprintln!("slow {ms:.0} ms, received at {wall} (unix ms): {data}");
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::RaisedAt;
    use std::time::{Duration, Instant};

    #[test]
    fn an_update_is_timed_from_the_latest_change_of_the_newest_alert_it_adds_not_a_duplicate() {
        use sitrep_core::Severity::{Clear, Critical, Major};
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut r = RaisedAt::default();
        r.sent("a", Major, ms(0));
        r.sent("b", Major, ms(100));
        // duplicates (same severity) after the raises do not move them
        r.sent("a", Major, ms(150));
        r.sent("b", Major, ms(190));
        let at = ms(200);
        assert_eq!(r.latency_ms(["a", "b"].into_iter(), at), Some(100.0));
        assert_eq!(r.latency_ms(["a"].into_iter(), at), Some(200.0));
        assert_eq!(r.latency_ms(["unknown"].into_iter(), at), None);
        // a change of severity does
        r.sent("a", Critical, ms(250));
        assert_eq!(r.latency_ms(["a"].into_iter(), ms(260)), Some(10.0));
        // a clear ends the episode: the next event raises it again
        r.sent("a", Clear, ms(300));
        assert_eq!(r.latency_ms(["a"].into_iter(), ms(400)), None);
        r.sent("a", Critical, ms(350));
        assert_eq!(r.latency_ms(["a"].into_iter(), ms(400)), Some(50.0));
    }
}
