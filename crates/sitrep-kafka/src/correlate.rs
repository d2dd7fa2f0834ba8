//! Stage 2: the events topic's partitions, one engine each. For every message: apply it to
//! its partition's engine, send the resulting alert and incident changes to the output
//! tables (and routes), all inside the open transaction; every `commit_interval_ms` the
//! consumed offsets join the transaction and it commits. Every `snapshot_every` events a
//! partition's state goes to the changelog in the same transaction, with the offset it
//! covers.
//!
//! Restoring partition p (first message after it is assigned, or after an abort): the
//! latest changelog snapshot for p, then the events of p from the snapshot's offset up to
//! the group's committed offset are replayed with their outputs discarded — those outputs
//! were committed already. The core is deterministic, so the state is exactly the one the
//! previous owner had at its last commit.
//!
//! With `keyed_input` the stage reads the input topic itself (already partitioned by
//! scope): each record is normalised here ([`KeyedInput`]), rejects and misrouted events go
//! to the dead-letter topic in the same transaction, and a restore replays the input topic.

use crate::ingest::{dead_letter, normalise_record};
use crate::tables::{kafka_error, Tables};
use crate::txn::{poll_burst, stage_consumer, Rewind, StageContext, Transactional};
use crate::wire::{self, SnapshotRecord};
use crate::{client_config, KafkaError, KafkaSection, Stop};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::producer::BaseRecord;
use rdkafka::{Offset, TopicPartitionList};
use sitrep_core::actions::Command;
use sitrep_core::matcher::CompiledMatcher;
use sitrep_core::{Config, Engine, EngineOptions, Event, Input, InputFormat, Normaliser, Rejection};
use sitrep_publish::Sink;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(30);
/// A restore's replay that reads nothing for this long is given up (see `restore`).
const REPLAY_STALL: Duration = Duration::from_secs(60);

#[derive(Debug, Default, Clone, Copy)]
pub struct CorrelateStats {
    pub events: u64,
    pub commands: u64,
    /// With `keyed_input`: input records or events refused here (dead-lettered).
    pub dead_letters: u64,
    pub unreadable: u64,
    pub updates: u64,
    pub snapshots: u64,
    pub restores: u64,
    pub replayed: u64,
    pub aborts: u64,
    pub restore_ms: u64,
    /// Transactions committed and the milliseconds spent blocked in their commits.
    pub commits: u64,
    pub commit_ms: u64,
}

struct Partition {
    engine: Engine,
    /// Next offset of the events partition after what the engine has seen.
    next_offset: i64,
    since_snapshot: u64,
    /// Just restored: the consumer's position may be past `next_offset` (it fetched input
    /// of an aborted transaction); the first record after a gap seeks back once.
    fresh: bool,
}

struct Correlate {
    k: KafkaSection,
    cfg: Config,
    tables: Tables,
    txn: Transactional,
    partitions: HashMap<i32, Partition>,
    stats: CorrelateStats,
    /// After an abort: partitions to read again from the committed offset.
    rewind: Rewind,
    /// The records of the message in hand (buffer reused).
    records: Vec<Input>,
    /// With `keyed_input`: how this stage reads the input topic itself.
    keyed: Option<KeyedInput>,
    /// Refusals of the message in hand: (code, reason).
    rejects: Vec<(&'static str, String)>,
    /// The consumer restores read with, made at the first restore and kept: a new client's
    /// connection and metadata took ≈ 110 ms of every partition's restore.
    restorer: Option<BaseConsumer>,
    /// Committed offsets of assigned partitions not restored yet, fetched in one request
    /// with the first of them; dropped on every abort and revocation. Only this stage
    /// commits a partition it holds, and it commits none it has not restored, so they stay
    /// true until then.
    committed: HashMap<i32, i64>,
}

/// The one-hop path (`keyed_input`): an input record becomes engine inputs in this stage,
/// as the ingest stage would have made them, plus a check that the producer keyed it by
/// scope — an event on another partition than its scope's would start a second copy of
/// its alert on the wrong engine, so it is refused, not correlated.
struct KeyedInput {
    normaliser: Normaliser,
    format: InputFormat,
    /// Partitions of the input topic (the scope key's partition is taken modulo these).
    partitions: i32,
    scope: String,
    normalised: Vec<Result<Event, Rejection>>,
}

impl KeyedInput {
    fn decode<M: Message>(
        &mut self,
        k: &KafkaSection,
        m: &M,
        out: &mut Vec<Input>,
        rejects: &mut Vec<(&'static str, String)>,
    ) {
        if wire::is_command(m) {
            match serde_json::from_slice::<Command>(m.payload().unwrap_or(b"")) {
                Ok(c) => out.push(Input::Command(c)),
                Err(e) => rejects.push(("bad_command", e.to_string())),
            }
            return;
        }
        self.normalised.clear();
        normalise_record(&self.normaliser, &self.format, m, &mut self.normalised);
        for r in self.normalised.drain(..) {
            match r {
                Ok(e) => {
                    k.scope_key_into(&e, &mut self.scope);
                    let p = wire::partition_of(&self.scope, self.partitions);
                    if p == m.partition() {
                        out.push(Input::Event(e));
                    } else {
                        rejects.push((
                            "wrong_partition",
                            format!(
                                "scope key `{}` belongs on partition {p} of {}, found on partition {} \
                                 (keyed_input: key each event by its scope with Kafka's default partitioner)",
                                self.scope,
                                m.topic(),
                                m.partition()
                            ),
                        ));
                    }
                }
                Err(rej) => rejects.push((rej.code(), rej.to_string())),
            }
        }
    }
}

/// One record of the state topic as engine inputs; returns how many entries could not be
/// read (events-topic records only: refusals of keyed input land in `rejects`).
fn decode_record<M: Message>(
    keyed: &mut Option<KeyedInput>,
    k: &KafkaSection,
    m: &M,
    out: &mut Vec<Input>,
    rejects: &mut Vec<(&'static str, String)>,
) -> u64 {
    match keyed {
        Some(keyed) => {
            keyed.decode(k, m, out, rejects);
            0
        }
        None => wire::decode(m, out),
    }
}

/// A restore reader's poll result: the message, or `None` for an error librdkafka reports
/// while it reconnects on its own (a broker gone, as in a failover). Those once failed the
/// restore, which abandoned the open transaction and every partition's state with it; now
/// the reader waits, and a read that stops moving is still given up after `REPLAY_STALL`
/// (the snapshot read after its `TIMEOUT`).
fn passing<M>(polled: Result<M, rdkafka::error::KafkaError>) -> Result<Option<M>, KafkaError> {
    match polled {
        Ok(m) => Ok(Some(m)),
        Err(e) if transient(&e) => {
            tracing::debug!(error = %e, "correlate: restore reader waits out a broker error");
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// A partition's watermarks, asked again for up to 10 s while the partition has no leader
/// (moments after its broker died, metadata says "unknown partition"): failing at once
/// would abandon the open transaction and every partition's state with it.
fn watermarks_when_led(c: &BaseConsumer, topic: &str, p: i32) -> Result<(i64, i64), KafkaError> {
    use rdkafka::error::KafkaError as Rd;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match c.fetch_watermarks(topic, p, TIMEOUT) {
            Err(Rd::MetadataFetch(code)) if settles_by_itself(code) && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(200));
            }
            other => return Ok(other?),
        }
    }
}

/// Consumer errors librdkafka recovers from by itself (reconnecting, finding the new
/// leader); anything else — an offset out of range, an authorisation error, a fatal
/// error — is not waited out.
fn transient(e: &rdkafka::error::KafkaError) -> bool {
    matches!(e, rdkafka::error::KafkaError::MessageConsumption(code) if settles_by_itself(*code))
}

/// Error codes of a cluster in the middle of a failover: a broker unreachable, a partition
/// without a leader yet (metadata calls it unknown meanwhile), a request timed out.
fn settles_by_itself(code: rdkafka::types::RDKafkaErrorCode) -> bool {
    use rdkafka::types::RDKafkaErrorCode as Code;
    matches!(
        code,
        Code::BrokerTransportFailure
            | Code::AllBrokersDown
            | Code::RequestTimedOut
            | Code::OperationTimedOut
            | Code::NetworkException
            | Code::NotLeaderForPartition
            | Code::LeaderNotAvailable
            | Code::UnknownPartition
    )
}

/// A command that does not apply (closed incident, unknown alert) changes nothing but the
/// clock; its refusal is deterministic, so every replay agrees.
fn apply(engine: &mut Engine, input: &Input) {
    let _ = engine.apply(input);
}

impl Correlate {
    /// A consumer for restoring: assigned by hand (its group only names it; nothing is
    /// committed), read_committed so aborted records are never replayed.
    fn restore_consumer(&self) -> Result<BaseConsumer, KafkaError> {
        Ok(client_config(&self.k)
            .set("group.id", format!("{}-restore", self.k.group))
            .set("isolation.level", "read_committed")
            .set("enable.auto.commit", "false")
            .set("fetch.max.bytes", "67108864")
            .set("max.partition.fetch.bytes", "67108864")
            .create()?)
    }

    /// The latest snapshot of partition p on the changelog, if any.
    fn latest_snapshot(&self, c: &BaseConsumer, p: i32) -> Result<Option<(i64, Engine)>, KafkaError> {
        let topic = &self.k.topics.changelog;
        let (low, high) = watermarks_when_led(c, topic, p)?;
        if high <= low {
            return Ok(None);
        }
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, p, Offset::Offset(low))?;
        c.assign(&tpl)?;
        let key = wire::changelog_key(p);
        let mut latest: Option<Vec<u8>> = None;
        let deadline = Instant::now() + TIMEOUT;
        loop {
            // a broker error passes as no message: the deadline below still applies
            if let Some(m) = c
                .poll(Duration::from_millis(100))
                .map(passing)
                .transpose()?
                .flatten()
            {
                // the reader is reused: skip anything of an earlier assignment
                if m.topic() != topic.as_str() || m.partition() != p {
                    continue;
                }
                if m.key() == Some(key.as_bytes()) {
                    latest = m.payload().map(|v| v.to_vec());
                }
            }
            // the position passes transaction markers too: done once it reaches the end
            let pos = c
                .position()?
                .find_partition(topic, p)
                .and_then(|e| e.offset().to_raw());
            if pos.is_some_and(|o| o >= high) || Instant::now() > deadline {
                break;
            }
        }
        let Some(bytes) = latest else { return Ok(None) };
        if let Some((offset, engine)) = wire::split_snapshot_record(&bytes) {
            return Ok(Some((offset, Engine::restore(&self.cfg, engine)?)));
        }
        let snap: SnapshotRecord = serde_json::from_slice(&bytes).map_err(|e| KafkaError::State {
            partition: p,
            reason: format!("changelog snapshot: {e}"),
        })?;
        let engine = Engine::restore(&self.cfg, snap.engine.get().as_bytes())?;
        Ok(Some((snap.offset, engine)))
    }

    /// Rebuilds partition p's state as of the group's committed offset.
    fn restore(&mut self, p: i32, committed: i64) -> Result<(), KafkaError> {
        let started = Instant::now();
        // taken out while in use (the replay borrows `self` mutably); a failed restore
        // drops it and the next makes a new one
        let c = match self.restorer.take() {
            Some(c) => c,
            None => self.restore_consumer()?,
        };
        let (from, mut engine) = match self.latest_snapshot(&c, p)? {
            Some((o, e)) => (o, e),
            None => (0, Engine::new(&self.cfg, EngineOptions { partition: p as u32 })?),
        };
        let mut replayed = 0u64;
        if from < committed {
            let topic = self.k.state_topic().to_string();
            let topic = &topic;
            let mut tpl = TopicPartitionList::new();
            tpl.add_partition_offset(topic, p, Offset::Offset(from))?;
            c.assign(&tpl)?;
            // a replay may be long, but one that stops moving (the partition's leader
            // gone) is given up well before the group's poll interval runs out; the stage
            // then starts the partition over
            let mut moved = Instant::now();
            loop {
                // a broker error passes as no message: the stall check below still applies
                if let Some(m) = c
                    .poll(Duration::from_millis(100))
                    .map(passing)
                    .transpose()?
                    .flatten()
                {
                    if m.topic() != topic.as_str() || m.partition() != p || m.offset() < from {
                        continue;
                    }
                    moved = Instant::now();
                    if m.offset() >= committed {
                        break;
                    }
                    let mut records = Vec::new();
                    // refusals were dead-lettered when the input was first read
                    let mut rejects = Vec::new();
                    self.stats.unreadable +=
                        decode_record(&mut self.keyed, &self.k, &m, &mut records, &mut rejects);
                    for r in &records {
                        apply(&mut engine, r);
                    }
                    replayed += records.len() as u64;
                    // outputs of committed input were published already
                    engine.drain_updates().for_each(drop);
                }
                let pos = c
                    .position()?
                    .find_partition(topic, p)
                    .and_then(|e| e.offset().to_raw());
                if pos.is_some_and(|o| o >= committed) {
                    break;
                }
                if moved.elapsed() > REPLAY_STALL {
                    return Err(KafkaError::State {
                        partition: p,
                        reason: format!(
                            "replay from {from} stalled for {} s before the committed offset {committed}",
                            REPLAY_STALL.as_secs()
                        ),
                    });
                }
            }
        }
        self.restorer = Some(c);
        self.stats.restores += 1;
        self.stats.replayed += replayed;
        self.stats.restore_ms += started.elapsed().as_millis() as u64;
        self.partitions.insert(
            p,
            Partition {
                engine,
                next_offset: committed.max(from),
                since_snapshot: 0,
                fresh: true,
            },
        );
        Ok(())
    }

    /// Where partition p's state must resume: the group's committed offset, or the start of
    /// the partition when nothing was committed. One request asks for every assigned
    /// partition not restored yet (each was a round trip to the coordinator, up to ≈ 110 ms
    /// on a busy broker).
    fn committed_offset(&mut self, consumer: &BaseConsumer<StageContext>, p: i32) -> Result<i64, KafkaError> {
        let topic = self.k.state_topic().to_string();
        if !self.committed.contains_key(&p) {
            let mut tpl = TopicPartitionList::new();
            tpl.add_partition(&topic, p);
            for e in consumer.assignment()?.elements_for_topic(&topic) {
                let q = e.partition();
                if q != p && !self.partitions.contains_key(&q) {
                    tpl.add_partition(&topic, q);
                }
            }
            for e in consumer
                .committed_offsets(tpl, TIMEOUT)?
                .elements_for_topic(&topic)
            {
                if let Offset::Offset(o) = e.offset() {
                    self.committed.insert(e.partition(), o);
                }
            }
        }
        match self.committed.remove(&p) {
            Some(o) => Ok(o),
            None => Ok(consumer.fetch_watermarks(&topic, p, TIMEOUT)?.0),
        }
    }

    fn handle(
        &mut self,
        consumer: &BaseConsumer<StageContext>,
        m: &BorrowedMessage<'_>,
    ) -> Result<(), KafkaError> {
        let p = m.partition();
        if self.rewind.skips(m.topic(), p) {
            return Ok(());
        }
        if !self.partitions.contains_key(&p) {
            let committed = self.committed_offset(consumer, p)?;
            self.restore(p, committed)?;
        }
        let part = self.partitions.get_mut(&p).expect("restored");
        if m.offset() < part.next_offset {
            // already in the restored state (a fetch that raced the restore)
            return Ok(());
        }
        if std::mem::take(&mut part.fresh) && m.offset() > part.next_offset {
            // possibly past input the state has not seen: go back to it (the same record
            // comes again if the gap was only transaction markers)
            let to = Offset::Offset(part.next_offset);
            if let Err(e) = consumer.seek(m.topic(), p, to, TIMEOUT) {
                tracing::warn!(partition = p, error = %e, "correlate: seek failed; restoring again");
                self.partitions.remove(&p);
            }
            return Ok(());
        }
        self.txn.begin()?;
        self.records.clear();
        self.rejects.clear();
        self.stats.unreadable +=
            decode_record(&mut self.keyed, &self.k, m, &mut self.records, &mut self.rejects);
        for (code, reason) in &self.rejects {
            self.stats.dead_letters += 1;
            dead_letter(&mut self.txn, &self.k, m, code, reason)?;
        }
        for r in &self.records {
            match r {
                Input::Event(_) => self.stats.events += 1,
                Input::Command(_) => self.stats.commands += 1,
                Input::Tick(_) => {}
            }
            apply(&mut part.engine, r);
        }
        part.next_offset = m.offset() + 1;
        part.since_snapshot += self.records.len() as u64;
        let mut sink = self.tables.sink(&mut self.txn);
        sink.write_updates(&mut part.engine.drain_updates())
            .map_err(kafka_error)?;
        self.stats.updates += sink.written;
        self.txn.consumed(m.topic(), p, m.offset());
        Ok(())
    }

    /// Sends the snapshots of the partitions that are due into the open transaction.
    fn send_due_snapshots(&mut self) -> Result<(), KafkaError> {
        let every = self.k.snapshot_every.max(1);
        let due: Vec<i32> = self
            .partitions
            .iter()
            .filter(|(_, s)| s.since_snapshot >= every)
            .map(|(p, _)| *p)
            .collect();
        for p in due {
            let s = self.partitions.get_mut(&p).expect("listed");
            let record = wire::snapshot_record(s.next_offset, &s.engine.snapshot());
            s.since_snapshot = 0;
            let key = wire::changelog_key(p);
            let topic = self.k.topics.changelog.clone();
            self.txn.send(
                BaseRecord::to(&topic)
                    .key(key.as_str())
                    .partition(p)
                    .payload(&record[..]),
            )?;
            self.stats.snapshots += 1;
        }
        Ok(())
    }

    /// Snapshots due partitions into the transaction, then commits it.
    fn commit(&mut self, consumer: &BaseConsumer<StageContext>) -> Result<(), KafkaError> {
        if !self.txn.is_open() {
            return Ok(());
        }
        if let Err(e) = self.send_due_snapshots() {
            if matches!(e, KafkaError::Fatal(_)) {
                return Err(e);
            }
            // A send refused mid-transaction (librdkafka's "Erroneous state" once a delivery
            // in this transaction failed, as while a broker is down): the transaction cannot
            // commit. Abort it and rebuild the state from the changelog, as after any abort,
            // rather than let the stage die.
            self.txn.abort_open()?;
            self.abandon();
            tracing::warn!(error = %e, "correlate: snapshot not sent; transaction aborted, partitions will be restored");
            return Ok(());
        }
        match self.txn.commit(consumer) {
            Ok(()) => Ok(()),
            Err(e @ KafkaError::Fatal(_)) => Err(e),
            Err(e) => {
                self.abandon();
                tracing::warn!(error = %e, "correlate: transaction aborted; partitions will be restored");
                Ok(())
            }
        }
    }

    /// After an abort the state includes input whose outputs were thrown away: every
    /// partition is read again from its committed offset and restored on its first record.
    fn abandon(&mut self) {
        self.stats.aborts += 1;
        self.partitions.clear();
        self.committed.clear();
        self.rewind.everything();
    }
}

/// Runs stage 2 until `stop` is set.
pub fn run(
    k: &KafkaSection,
    engine_cfg: &Config,
    instance: &str,
    stop: Stop,
    activity: crate::Activity,
) -> Result<CorrelateStats, KafkaError> {
    let mut routes = Vec::new();
    for r in &k.routes {
        let m = CompiledMatcher::compile(&r.matcher)
            .map_err(|e| KafkaError::Config(format!("route {}: {e}", r.topic)))?;
        routes.push((r.topic.clone(), m));
    }
    let keyed = match k.keyed_input {
        false => None,
        true => {
            let input = &k.inputs[0];
            let partitions = crate::admin::partitions(k, &input.topic)?;
            let changelog = crate::admin::partitions(k, &k.topics.changelog)?;
            if changelog < partitions {
                return Err(KafkaError::Config(format!(
                    "keyed_input: the changelog {} has {changelog} partitions, fewer than the input topic {} ({partitions}): one per engine is needed",
                    k.topics.changelog, input.topic
                )));
            }
            Some(KeyedInput {
                normaliser: Normaliser::new(engine_cfg)?,
                format: input
                    .format
                    .parse()
                    .map_err(|e: sitrep_core::normalise::UnknownFormat| KafkaError::Config(e.to_string()))?,
                partitions,
                scope: String::new(),
                normalised: Vec::new(),
            })
        }
    };
    let state = Arc::new(Mutex::new(Correlate {
        k: k.clone(),
        cfg: engine_cfg.clone(),
        tables: Tables::new(k, routes),
        txn: Transactional::new(k, &format!("{}-correlate-{instance}", k.group))?,
        partitions: HashMap::new(),
        stats: CorrelateStats::default(),
        rewind: Rewind::default(),
        records: Vec::new(),
        keyed,
        rejects: Vec::new(),
        restorer: None,
        committed: HashMap::new(),
    }));
    let ctx = StageContext::default();
    let hook_state = state.clone();
    *ctx.on_revoke.lock().expect("hook lock") =
        Some(Box::new(move |consumer: &BaseConsumer<StageContext>, revoked| {
            let mut s = hook_state.lock().expect("stage lock");
            let _ = s.commit(consumer);
            for (_, p) in revoked {
                s.partitions.remove(p);
            }
            s.committed.clear();
        }));
    let consumer = stage_consumer(k, &k.group, ctx)?;
    consumer.subscribe(&[k.state_topic()])?;
    let interval = Duration::from_millis(k.commit_interval_ms);
    while !stop.load(Ordering::Relaxed) {
        let handled = poll_burst(&consumer, |result| {
            let mut s = state.lock().expect("stage lock");
            match result {
                Ok(m) => match s.handle(&consumer, &m) {
                    Ok(()) => {}
                    Err(e @ KafkaError::Fatal(_)) => return Err(e),
                    Err(e) => {
                        // a failed restore or send: nothing of this transaction may commit
                        // (a send may have gone halfway); start the partitions over from
                        // their committed offsets rather than die
                        tracing::warn!(error = %e, "correlate: transaction abandoned; restoring");
                        s.txn.abort_open()?;
                        s.abandon();
                    }
                },
                Err(e) => tracing::error!(error = %e, "correlate"),
            }
            Ok(())
        })?;
        if handled > 0 {
            activity.touch();
        }
        let mut s = state.lock().expect("stage lock");
        if s.txn.due(interval, handled == 0) {
            s.commit(&consumer)?;
        }
        s.rewind.run(&consumer);
    }
    let mut s = state.lock().expect("stage lock");
    s.commit(&consumer)?;
    s.stats.commits = s.txn.commits;
    s.stats.commit_ms = s.txn.commit_time.as_millis() as u64;
    Ok(s.stats)
}

#[cfg(test)]
mod tests {
    use super::{passing, transient};
    use rdkafka::error::KafkaError as Rd;
    use rdkafka::types::RDKafkaErrorCode as Code;

    #[test]
    fn a_restore_waits_out_a_lost_broker_but_not_a_lost_offset() {
        let gone = Rd::MessageConsumption(Code::BrokerTransportFailure);
        assert!(transient(&gone));
        assert!(transient(&Rd::MessageConsumption(Code::AllBrokersDown)));
        assert!(!transient(&Rd::MessageConsumptionFatal(
            Code::BrokerTransportFailure
        )));
        assert!(matches!(passing::<u8>(Err(gone)), Ok(None)));
        let lost = Rd::MessageConsumption(Code::OffsetOutOfRange);
        assert!(!transient(&lost));
        assert!(passing::<u8>(Err(lost)).is_err());
        assert!(matches!(passing(Ok(7u8)), Ok(Some(7))));
    }
}
