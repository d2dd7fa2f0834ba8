//! Stage 1: input topics → the events topic, partitioned by correlation scope (the
//! repartition). Stateless; each message is normalised with its topic's format and dated by
//! its Kafka timestamp when it carries no time (deterministic on reprocessing). The events
//! of one partition are gathered into batch records (`wire`), flushed when full and always
//! before the transaction commits. Rejects go to the dead-letter topic with the reason in
//! headers (among them events dated over `limits.max_future_secs` after their record's
//! timestamp: `future_time`); commands from the commands topic go to the events-topic partition that owns
//! their incident (`INC{p}-…` → partition p), after that partition's pending batch, so
//! they are ordered with its events. Consume and produce share one transaction.

use crate::txn::{poll_burst, stage_consumer, Rewind, StageContext, Transactional};
use crate::wire::{self, KIND};
use crate::{KafkaError, KafkaSection, Stop};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{BorrowedMessage, Header, Message, OwnedHeaders};
use rdkafka::producer::BaseRecord;
use sitrep_core::actions::Command;
use sitrep_core::normalise::Rejection;
use sitrep_core::{Config, Event, InputFormat, Normaliser};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Counters for tests and logs.
#[derive(Debug, Default, Clone, Copy)]
pub struct IngestStats {
    pub messages: u64,
    pub events: u64,
    pub dead_letters: u64,
    pub commands: u64,
    /// Commands met in an input topic (`keyed_input`'s, during a replay): not repeated.
    pub skipped_commands: u64,
    pub aborts: u64,
    /// Transactions committed and the milliseconds spent blocked in their commits.
    pub commits: u64,
    pub commit_ms: u64,
}

struct Ingest {
    k: KafkaSection,
    normaliser: Normaliser,
    formats: HashMap<String, InputFormat>,
    txn: Transactional,
    stats: IngestStats,
    /// After an abort: partitions to read again from the committed offset.
    rewind: Rewind,
    /// Partitions of the events topic (read from the broker on start).
    partitions: i32,
    /// Pending batch per events-topic partition: framed events and their count.
    batches: Vec<(Vec<u8>, usize)>,
    /// The scope key of the event at hand (a buffer reused across events).
    scope: String,
}

/// A batch is sent once it holds this many events or bytes (and at every commit).
const BATCH_EVENTS: usize = 2000;
const BATCH_BYTES: usize = 1 << 20;

/// Sends a rejected input record to the dead-letter topic, the reason in its headers.
pub(crate) fn dead_letter<M: Message>(
    txn: &mut Transactional,
    k: &KafkaSection,
    m: &M,
    code: &str,
    reason: &str,
) -> Result<(), KafkaError> {
    let partition = m.partition().to_string();
    let offset = m.offset().to_string();
    let headers = OwnedHeaders::new()
        .insert(Header {
            key: "sitrep-reason",
            value: Some(reason),
        })
        .insert(Header {
            key: "sitrep-code",
            value: Some(code),
        })
        .insert(Header {
            key: "sitrep-topic",
            value: Some(m.topic()),
        })
        .insert(Header {
            key: "sitrep-partition",
            value: Some(&partition),
        })
        .insert(Header {
            key: "sitrep-offset",
            value: Some(&offset),
        });
    let payload = m.payload().unwrap_or(b"");
    txn.send(
        BaseRecord::to(&k.topics.dead_letters)
            .payload(payload)
            .headers(headers),
    )
}

impl Ingest {
    fn handle(&mut self, m: &BorrowedMessage<'_>) -> Result<(), KafkaError> {
        self.txn.begin()?;
        self.stats.messages += 1;
        let k = &self.k;
        let payload = m.payload().unwrap_or(b"");
        if m.topic() == k.topics.commands {
            let parsed: Result<Command, String> = serde_json::from_slice(payload).map_err(|e| e.to_string());
            let partitions = self.partitions;
            let partition = parsed.as_ref().ok().and_then(|c| {
                let id: sitrep_core::IncidentId = c.incident.parse().ok()?;
                i32::try_from(id.partition).ok().filter(|p| *p < partitions)
            });
            match (parsed, partition) {
                (Ok(c), Some(p)) => {
                    self.flush(p)?;
                    let k = &self.k;
                    let json = serde_json::to_vec(&c).expect("command serialises");
                    let headers = OwnedHeaders::new().insert(Header {
                        key: KIND,
                        value: Some("command"),
                    });
                    self.txn.send(
                        BaseRecord::to(&k.topics.events)
                            .key(c.incident.as_str())
                            .partition(p)
                            .payload(&json[..])
                            .headers(headers),
                    )?;
                    self.stats.commands += 1;
                }
                (Err(e), _) => {
                    self.stats.dead_letters += 1;
                    dead_letter(&mut self.txn, k, m, "bad_command", &e)?
                }
                (Ok(c), None) => {
                    self.stats.dead_letters += 1;
                    let reason = format!(
                        "incident id `{}` names no partition of {}",
                        c.incident, k.topics.events
                    );
                    dead_letter(&mut self.txn, k, m, "bad_command", &reason)?
                }
            }
        } else if wire::is_command(m) {
            // an operator command written into a keyed input topic by a live worker with
            // `keyed_input`: this is a replay of it, which never repeats live commands
            self.stats.skipped_commands += 1;
        } else {
            let format = self
                .formats
                .get(m.topic())
                .cloned()
                .unwrap_or(InputFormat::Native);
            let mut out = Vec::new();
            normalise_record(&self.normaliser, &format, m, &mut out);
            for r in out {
                match r {
                    Ok(e) => {
                        self.k.scope_key_into(&e, &mut self.scope);
                        let p = wire::partition_of(&self.scope, self.partitions);
                        let batch = &mut self.batches[p as usize];
                        wire::push_event(&mut batch.0, &e);
                        batch.1 += 1;
                        self.stats.events += 1;
                        if batch.1 >= BATCH_EVENTS || batch.0.len() >= BATCH_BYTES {
                            self.flush(p)?;
                        }
                    }
                    Err(rej) => {
                        self.stats.dead_letters += 1;
                        dead_letter(&mut self.txn, &self.k, m, rej.code(), &rej.to_string())?
                    }
                }
            }
        }
        self.txn.consumed(m.topic(), m.partition(), m.offset());
        Ok(())
    }

    /// Sends partition p's pending batch into the open transaction.
    fn flush(&mut self, p: i32) -> Result<(), KafkaError> {
        let (bytes, n) = &mut self.batches[p as usize];
        if *n == 0 {
            return Ok(());
        }
        let headers = OwnedHeaders::new().insert(Header {
            key: KIND,
            value: Some(wire::BATCH),
        });
        self.txn.send(
            BaseRecord::<str, [u8]>::to(&self.k.topics.events)
                .partition(p)
                .payload(&bytes[..])
                .headers(headers),
        )?;
        bytes.clear();
        *n = 0;
        Ok(())
    }

    /// Flushes every batch and commits. On failure the transaction was aborted.
    fn commit(&mut self, consumer: &BaseConsumer<StageContext>) -> Result<(), KafkaError> {
        let flushed = (0..self.partitions).try_for_each(|p| self.flush(p));
        for b in &mut self.batches {
            b.0.clear();
            b.1 = 0;
        }
        match flushed {
            Ok(()) => self.txn.commit(consumer),
            Err(e) => {
                // nothing of this transaction may commit: abort through a failed commit
                let _ = self.txn.abort_open();
                Err(e)
            }
        }
    }
}

/// Normalises one input record with its topic's format. An event without a time is dated
/// by the record's Kafka timestamp; one dated over `limits.max_future_secs` after it is
/// refused (`future_time`): it would move its partition's clock for good. Judged against
/// the record's timestamp, not the wall clock, so reprocessing judges it the same way.
pub(crate) fn normalise_record<M: Message>(
    normaliser: &Normaliser,
    format: &InputFormat,
    m: &M,
    out: &mut Vec<Result<Event, Rejection>>,
) {
    let stamp = m.timestamp().to_millis().unwrap_or(0);
    let from = out.len();
    normaliser.normalise(format, m.payload().unwrap_or(b""), stamp, out);
    for r in &mut out[from..] {
        if let Ok(e) = r {
            if stamp != 0 {
                if let Err(rej) = normaliser.check_time_range(e, stamp) {
                    *r = Err(rej);
                    continue;
                }
            }
            e.time.get_or_insert(stamp);
        }
    }
}

/// Runs stage 1 until `stop` is set. `instance` makes the transactional id unique per
/// worker (and stable across its restarts, which fences a zombie).
pub fn run(
    k: &KafkaSection,
    engine_cfg: &Config,
    instance: &str,
    stop: Stop,
    activity: crate::Activity,
) -> Result<IngestStats, KafkaError> {
    let mut formats = HashMap::new();
    for i in &k.inputs {
        formats.insert(
            i.topic.clone(),
            i.format
                .parse()
                .map_err(|e: sitrep_core::normalise::UnknownFormat| KafkaError::Config(e.to_string()))?,
        );
    }
    let partitions = crate::admin::partitions(k, &k.topics.events)?;
    let state = Arc::new(Mutex::new(Ingest {
        k: k.clone(),
        normaliser: Normaliser::new(engine_cfg)?,
        formats,
        txn: Transactional::new(k, &format!("{}-ingest-{instance}", k.group))?,
        stats: IngestStats::default(),
        rewind: Rewind::default(),
        partitions,
        batches: vec![(Vec::new(), 0); partitions as usize],
        scope: String::new(),
    }));
    let ctx = StageContext::default();
    let hook_state = state.clone();
    *ctx.on_revoke.lock().expect("hook lock") = Some(Box::new(
        move |consumer: &BaseConsumer<StageContext>, _revoked| {
            let mut s = hook_state.lock().expect("stage lock");
            if s.commit(consumer).is_err() {
                s.stats.aborts += 1;
                s.rewind.everything();
            }
        },
    ));
    let consumer = stage_consumer(k, &k.ingest_group(), ctx)?;
    let mut topics: Vec<&str> = k.inputs.iter().map(|i| i.topic.as_str()).collect();
    topics.push(&k.topics.commands);
    consumer.subscribe(&topics)?;
    let interval = Duration::from_millis(k.commit_interval_ms);
    while !stop.load(Ordering::Relaxed) {
        let handled = poll_burst(&consumer, |result| {
            let mut s = state.lock().expect("stage lock");
            match result {
                Ok(m) if s.rewind.skips(m.topic(), m.partition()) => {}
                Ok(m) => match s.handle(&m) {
                    Ok(()) => {}
                    Err(e @ KafkaError::Fatal(_)) => return Err(e),
                    Err(e) => {
                        // a send refused mid-transaction (librdkafka's "Erroneous state"
                        // once a delivery failed, as while a broker is down) or a
                        // transaction that would not begin: nothing of it may commit. Abort,
                        // and read every assigned partition again from its committed
                        // offset, as after a failed commit.
                        tracing::warn!(error = %e, "ingest: transaction abandoned; rewinding");
                        s.txn.abort_open()?;
                        for b in &mut s.batches {
                            b.0.clear();
                            b.1 = 0;
                        }
                        s.stats.aborts += 1;
                        s.rewind.everything();
                    }
                },
                Err(e) => tracing::error!(error = %e, "ingest"),
            }
            Ok(())
        })?;
        if handled > 0 {
            activity.touch();
        }
        let mut s = state.lock().expect("stage lock");
        if s.txn.due(interval, handled == 0) {
            match s.commit(&consumer) {
                Ok(()) => {}
                Err(e @ KafkaError::Fatal(_)) => return Err(e),
                Err(_) => {
                    s.stats.aborts += 1;
                    s.rewind.everything();
                }
            }
        }
        s.rewind.run(&consumer);
    }
    let mut s = state.lock().expect("stage lock");
    if s.commit(&consumer).is_err() {
        s.stats.aborts += 1;
    }
    s.stats.commits = s.txn.commits;
    s.stats.commit_ms = s.txn.commit_time.as_millis() as u64;
    Ok(s.stats)
}
