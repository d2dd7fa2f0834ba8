//! `sitrep loadgen --kafka`: produce → incident update latency of workers on Kafka, as a
//! third-party subscriber sees it (docs/performance.md). A read_committed consumer of the
//! incidents topic starts at its end; then the scenario's events (undated, so Kafka's
//! timestamp dates them, as in a live feed) are produced at a fixed rate with acks=all.
//! For each incident update the latency is the time since the produce of the latest
//! change (raise or severity) of the newest alert it adds ([`RaisedAt`]), as the HTTP
//! variant in loadgen.rs measures it. It covers both stages and both transactions: a read_committed reader sees
//! nothing before them.

use crate::loadgen::{percentile, RaisedAt};
use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use sitrep_core::{Config, InputFormat, Normaliser};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type SentAt = Arc<Mutex<RaisedAt>>;

pub fn run(
    brokers: &str,
    topic: &str,
    incidents: &str,
    lines: &[String],
    rate: f64,
    json: bool,
    key_field: Option<&str>,
) -> Result<()> {
    let normaliser = Normaliser::new(&Config::default())?;
    let signature_fields = Config::default().dedup.signature;
    // (payload without its time, signature, severity, key)
    let mut events = Vec::with_capacity(lines.len());
    let mut out = Vec::new();
    for l in lines {
        out.clear();
        normaliser.normalise(&InputFormat::Native, l.as_bytes(), 0, &mut out);
        if let Some(Ok(mut e)) = out.pop() {
            e.time = None;
            let mut sig = String::new();
            sitrep_core::build_signature(&signature_fields, &e, &mut sig);
            let key = key_field.map(|f| e.field(f).unwrap_or("").to_string());
            events.push((e.to_native_json(), sig, e.severity, key));
        }
    }
    let sent_at: SentAt = Arc::default();
    let latencies: Arc<Mutex<Vec<f64>>> = Arc::default();
    let done = Arc::new(AtomicBool::new(false));
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", format!("loadgen-{}", std::process::id()))
        .set("isolation.level", "read_committed")
        .set("enable.auto.commit", "false")
        // as the workers' consumers (txn.rs): a read_committed fetch is not answered early
        .set("fetch.wait.max.ms", "10")
        .create()?;
    let md = consumer.fetch_metadata(Some(incidents), Duration::from_secs(30))?;
    let parts = md.topics().first().map(|t| t.partitions().len()).unwrap_or(0);
    anyhow::ensure!(
        parts > 0,
        "topic {incidents} has no partitions (start the workers first)"
    );
    let mut tpl = TopicPartitionList::new();
    for p in 0..parts as i32 {
        tpl.add_partition_offset(incidents, p, Offset::End)?;
    }
    consumer.assign(&tpl)?;
    let reader = {
        let (sent_at, latencies, done) = (sent_at.clone(), latencies.clone(), done.clone());
        std::thread::spawn(move || read_incidents(consumer, sent_at, latencies, done))
    };
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set("linger.ms", "1")
        // Java's default partitioner for keyed records (the workers' `keyed_input` check)
        .set("partitioner", "murmur2_random")
        .create()?;
    // connected, the topic's leaders known and (idempotence) a producer id acquired before
    // the first timed event: otherwise the first events wait for all that and the update
    // they cause is timed with it
    producer
        .client()
        .fetch_metadata(Some(topic), Duration::from_secs(30))
        .context("the input topic's metadata")?;
    // let the reader's assignment settle before the first event
    std::thread::sleep(Duration::from_millis(1000));
    let bar = ProgressBar::new(events.len() as u64);
    bar.set_style(ProgressStyle::with_template("{bar:40} {pos}/{len} events {per_sec}").expect("template"));
    let start = Instant::now();
    for (i, (payload, sig, severity, key)) in events.iter().enumerate() {
        if rate > 0.0 {
            // open loop: event i is due at i / rate
            let due = start + Duration::from_secs_f64(i as f64 / rate);
            let now = Instant::now();
            if due > now {
                producer.poll(due - now);
            }
        }
        let mut record = BaseRecord::<str, str>::to(topic).payload(payload.as_str());
        if let Some(key) = key {
            record = record.key(key.as_str());
        }
        sent_at.lock().expect("lock").sent(sig, *severity, Instant::now());
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((_, r)) => {
                    record = r;
                    producer.poll(Duration::from_millis(1));
                }
            }
        }
        producer.poll(Duration::ZERO);
        if i % 1000 == 0 {
            bar.set_position(i as u64);
        }
    }
    producer
        .flush(Duration::from_secs(30))
        .context("flushing the events")?;
    let produce_secs = start.elapsed().as_secs_f64();
    bar.finish_and_clear();
    // the last updates come after the workers' next commits
    std::thread::sleep(Duration::from_secs(3));
    done.store(true, Ordering::Relaxed);
    reader.join().expect("reader thread")?;
    let mut l = latencies.lock().expect("lock").clone();
    l.sort_by(f64::total_cmp);
    let result = serde_json::json!({
        "events": events.len(),
        "produced_per_s": events.len() as f64 / produce_secs,
        "incident_updates_timed": l.len(),
        "incident_update_ms": {
            "p50": percentile(&l, 0.50),
            "p99": percentile(&l, 0.99),
            "max": l.last().copied().unwrap_or(f64::NAN),
        },
    });
    if json {
        println!("{result}");
    } else {
        println!(
            "{} events produced at {:.0}/s; {} incident updates: produce → update p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            events.len(),
            events.len() as f64 / produce_secs,
            l.len(),
            percentile(&l, 0.50),
            percentile(&l, 0.99),
            l.last().copied().unwrap_or(f64::NAN)
        );
    }
    Ok(())
}

fn read_incidents(
    consumer: BaseConsumer,
    sent_at: SentAt,
    latencies: Arc<Mutex<Vec<f64>>>,
    done: Arc<AtomicBool>,
) -> Result<()> {
    while !done.load(Ordering::Relaxed) {
        let Some(m) = consumer.poll(Duration::from_millis(50)) else {
            continue;
        };
        let now = Instant::now();
        let m = m?;
        let Some(payload) = m.payload() else { continue };
        let Ok(sitrep_core::Update::Incident(u)) = serde_json::from_slice(payload) else {
            continue;
        };
        let caused = sent_at
            .lock()
            .expect("lock")
            .latency_ms(u.added.iter().map(|a| a.signature.as_str()), now);
        if let Some(ms) = caused {
            latencies.lock().expect("lock").push(ms);
            if ms > 300.0 && std::env::var_os("LOADGEN_DEBUG").is_some() {
                let at = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default();
                eprintln!(
                    "slow: {ms:.0} ms, incident {} seq {} at {:.3} (unix s)",
                    u.incident.id,
                    u.seq,
                    at.as_secs_f64()
                );
            }
        }
    }
    Ok(())
}
