//! One `sitrep run` worker on Kafka: creates missing topics, then runs the ingest and
//! correlate stages on their own threads until stopped. Start as many workers as there
//! are cores to spare, on as many machines as needed: they share the partitions.

use crate::{admin, client_config, correlate, ingest, KafkaError, KafkaSection, Stop};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use sitrep_core::actions::Command;
use sitrep_core::Config;
use std::time::Duration;

#[derive(Debug, Default, Clone, Copy)]
pub struct WorkerStats {
    pub ingest: ingest::IngestStats,
    pub correlate: correlate::CorrelateStats,
}

/// Runs both stages until `stop` is set; returns their counters.
pub fn run(
    k: &KafkaSection,
    engine_cfg: &Config,
    instance: &str,
    stop: Stop,
) -> Result<WorkerStats, KafkaError> {
    admin::ensure_topics(k)?;
    let (k1, c1, i1, s1) = (k.clone(), engine_cfg.clone(), instance.to_string(), stop.clone());
    let ingest = std::thread::Builder::new()
        .name("ingest".into())
        .spawn(move || ingest::run(&k1, &c1, &i1, s1))
        .expect("thread");
    let (k2, c2, i2, s2) = (k.clone(), engine_cfg.clone(), instance.to_string(), stop.clone());
    let correlate = std::thread::Builder::new()
        .name("correlate".into())
        .spawn(move || correlate::run(&k2, &c2, &i2, s2))
        .expect("thread");
    // a stage that fails stops the worker (its partitions move to the others)
    while !ingest.is_finished() && !correlate.is_finished() {
        std::thread::sleep(Duration::from_millis(100));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let i = ingest.join().expect("ingest thread");
    let c = correlate.join().expect("correlate thread");
    Ok(WorkerStats {
        ingest: i?,
        correlate: c?,
    })
}

/// Sends an operator command to the commands topic; the ingest stage forwards it to the
/// partition that owns the incident, whichever worker that is.
pub struct CommandSender {
    producer: BaseProducer,
    topic: String,
}

impl CommandSender {
    pub fn new(k: &KafkaSection) -> Result<CommandSender, KafkaError> {
        let producer: BaseProducer = client_config(k)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .create()?;
        Ok(CommandSender {
            producer,
            topic: k.topics.commands.clone(),
        })
    }

    /// Returns once the broker has the command.
    pub fn send(&self, c: &Command) -> Result<(), KafkaError> {
        let json = serde_json::to_vec(c).expect("command serialises");
        self.producer
            .send(
                BaseRecord::to(&self.topic)
                    .key(c.incident.as_str())
                    .payload(&json[..]),
            )
            .map_err(|(e, _)| e)?;
        self.producer.flush(Duration::from_secs(30))?;
        Ok(())
    }
}
