//! One `sitrep run` worker on Kafka: creates missing topics, then runs the ingest and
//! correlate stages on their own threads until stopped (the correlate stage alone with
//! `keyed_input`). Start as many workers as there
//! are cores to spare, on as many machines as needed: they share the partitions.

use crate::{admin, client_config, correlate, ingest, KafkaError, KafkaSection, Stop};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use sitrep_core::actions::Command;
use sitrep_core::Config;
use std::time::Duration;

#[derive(Debug, Default, Clone)]
pub struct WorkerStats {
    pub ingest: ingest::IngestStats,
    pub correlate: correlate::CorrelateStats,
    /// First record ingested to last record correlated (seconds).
    pub busy_secs: f64,
    /// First to last record correlated (seconds).
    pub correlate_secs: f64,
}

/// Runs both stages until `stop` is set (or, with `idle_exit`, until both have been idle
/// that long after some work: for benchmarks); returns their counters.
pub fn run(
    k: &KafkaSection,
    engine_cfg: &Config,
    instance: &str,
    stop: Stop,
    idle_exit: Option<Duration>,
) -> Result<WorkerStats, KafkaError> {
    admin::ensure_topics(k)?;
    let ingest_activity = crate::Activity::default();
    let correlate_activity = crate::Activity::default();
    let (k1, c1, i1, s1, a1) = (
        k.clone(),
        engine_cfg.clone(),
        instance.to_string(),
        stop.clone(),
        ingest_activity.clone(),
    );
    // keyed input needs no repartition: the correlate stage reads it itself
    let ingest = (!k.keyed_input).then(|| {
        std::thread::Builder::new()
            .name("ingest".into())
            .spawn(move || ingest::run(&k1, &c1, &i1, s1, a1))
            .expect("thread")
    });
    let (k2, c2, i2, s2, a2) = (
        k.clone(),
        engine_cfg.clone(),
        instance.to_string(),
        stop.clone(),
        correlate_activity.clone(),
    );
    let correlate = std::thread::Builder::new()
        .name("correlate".into())
        .spawn(move || correlate::run(&k2, &c2, &i2, s2, a2))
        .expect("thread");
    // a stage that fails stops the worker (its partitions move to the others)
    while !ingest.as_ref().is_some_and(|i| i.is_finished()) && !correlate.is_finished() {
        std::thread::sleep(Duration::from_millis(100));
        if let Some(idle) = idle_exit {
            // idle: some work was done, and none for `idle` (a worker may own partitions of
            // one stage only)
            let last = [ingest_activity.span().1, correlate_activity.span().1];
            if last.iter().any(Option::is_some) && last.iter().flatten().all(|t| t.elapsed() > idle) {
                break;
            }
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let i = match ingest {
        Some(i) => i.join().expect("ingest thread")?,
        None => ingest::IngestStats::default(),
    };
    let c = correlate.join().expect("correlate thread");
    let (first_out, last_out) = correlate_activity.span();
    let first_in = ingest_activity.span().0.or(first_out);
    let secs = |a: Option<std::time::Instant>, b: Option<std::time::Instant>| match (a, b) {
        (Some(a), Some(b)) => b.duration_since(a).as_secs_f64(),
        _ => 0.0,
    };
    Ok(WorkerStats {
        ingest: i,
        correlate: c?,
        busy_secs: secs(first_in, last_out),
        correlate_secs: secs(first_out, last_out),
    })
}

/// Sends an operator command to the commands topic; the ingest stage forwards it to the
/// partition that owns the incident, whichever worker that is. With `keyed_input` there is
/// no ingest stage: the command goes straight to the owning partition of the input topic,
/// marked `sitrep-kind: command`, in line with that partition's events.
pub struct CommandSender {
    producer: BaseProducer,
    topic: String,
    keyed_input: bool,
}

impl CommandSender {
    pub fn new(k: &KafkaSection) -> Result<CommandSender, KafkaError> {
        let producer: BaseProducer = client_config(k)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .create()?;
        Ok(CommandSender {
            producer,
            topic: match k.keyed_input {
                true => k.state_topic().to_string(),
                false => k.topics.commands.clone(),
            },
            keyed_input: k.keyed_input,
        })
    }

    /// Returns once the broker has the command.
    pub fn send(&self, c: &Command) -> Result<(), KafkaError> {
        let json = serde_json::to_vec(c).expect("command serialises");
        let mut record = BaseRecord::to(&self.topic)
            .key(c.incident.as_str())
            .payload(&json[..]);
        if self.keyed_input {
            let id: sitrep_core::IncidentId = c
                .incident
                .parse()
                .map_err(|_| KafkaError::Config(format!("`{}` is not an incident id", c.incident)))?;
            let p = i32::try_from(id.partition)
                .map_err(|_| KafkaError::Config(format!("`{}` names no partition", c.incident)))?;
            record = record.partition(p).headers(OwnedHeaders::new().insert(Header {
                key: crate::wire::KIND,
                value: Some("command"),
            }));
        }
        self.producer.send(record).map_err(|(e, _)| e)?;
        self.producer.flush(Duration::from_secs(30))?;
        Ok(())
    }
}
