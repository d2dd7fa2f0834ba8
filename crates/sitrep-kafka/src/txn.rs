//! The transaction loop both stages share: a transactional producer, the offsets consumed
//! in the open transaction, and a consumer context that commits before partitions are
//! revoked (cooperative rebalancing), so a rebalance does not abort the work in flight.

use crate::{client_config, KafkaError, KafkaSection};
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaResult;
use rdkafka::message::BorrowedMessage;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use std::collections::HashSet;
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(30);
/// How long past its own timeout a librdkafka call that is known to ignore it may block
/// before the producer is given up (see [`Transactional::send_offsets`]).
const HUNG_GRACE: Duration = Duration::from_secs(5);
/// Re-creations of a fenced producer tolerated in [`FENCED_WINDOW`] (see `abort`).
const MAX_FENCED: usize = 5;
const FENCED_WINDOW: Duration = Duration::from_secs(300);

/// librdkafka needs its delivery reports served while a commit or abort flushes: the
/// threaded producer polls on its own thread.
pub type TxnProducer = ThreadedProducer<DefaultProducerContext>;

pub struct Transactional {
    /// Shared with the helper thread of [`Transactional::send_offsets`].
    pub producer: Arc<TxnProducer>,
    k: KafkaSection,
    id: String,
    /// When the producer was last re-created after being fenced (see [`Transactional::abort`]).
    fenced_at: Vec<Instant>,
    /// Why the producer must be re-created before its next transaction: it could not be
    /// re-created when it failed (the coordinator unreachable while a broker is down).
    stale: Option<String>,
    /// Why the producer cannot be aborted: a call on it never returned (it is still
    /// blocked on its helper thread), so it is re-created without trying.
    hung: Option<String>,
    open: bool,
    started: Instant,
    /// Transactions committed, and the time the stage spent blocked committing them.
    pub commits: u64,
    pub commit_time: Duration,
    /// Next offset to commit per (topic, partition) consumed in the open transaction: a
    /// short list searched in place, because it is updated once per record.
    offsets: Vec<(String, i32, i64)>,
}

impl Transactional {
    /// A producer with `transactional.id` = `id` (one per worker and stage: a restarted
    /// worker with the same id fences its zombie).
    pub fn new(k: &KafkaSection, id: &str) -> Result<Transactional, KafkaError> {
        Ok(Transactional {
            producer: Self::producer(k, id)?,
            k: k.clone(),
            id: id.to_string(),
            fenced_at: Vec::new(),
            stale: None,
            hung: None,
            open: false,
            started: Instant::now(),
            commits: 0,
            commit_time: Duration::ZERO,
            offsets: Vec::new(),
        })
    }

    fn producer(k: &KafkaSection, id: &str) -> Result<Arc<TxnProducer>, KafkaError> {
        let producer: TxnProducer = client_config(k)
            .set("transactional.id", id)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "5")
            .set("message.max.bytes", "67108864")
            .set("queue.buffering.max.messages", "1000000")
            .set("transaction.timeout.ms", k.transaction_timeout_ms.to_string())
            .create()?;
        producer.init_transactions(TIMEOUT)?;
        Ok(Arc::new(producer))
    }

    pub fn is_open(&self) -> bool {
        self.open
    }

    /// Opens a transaction unless one is open. A producer that failed for good since the
    /// last one (librdkafka's fatal state: fenced, or an idempotence error it cannot
    /// repair, such as skipped sequence numbers after a leader change) is re-created first.
    /// An `Err` that is not [`KafkaError::Fatal`] leaves nothing open: the caller rewinds,
    /// and the next call tries again.
    pub fn begin(&mut self) -> Result<(), KafkaError> {
        if !self.open {
            if let Some(reason) = self.stale.take().or_else(|| self.fatal_state()) {
                if let Err(e) = self.recreate(&reason) {
                    if !matches!(e, KafkaError::Fatal(_)) {
                        // still out of reach: the next call tries again
                        self.stale = Some(reason);
                    }
                    return Err(e);
                }
            }
            self.producer.begin_transaction()?;
            self.open = true;
            self.started = Instant::now();
        }
        Ok(())
    }

    /// Queues a record in the open transaction, waiting for queue space when full.
    pub fn send(&mut self, mut record: BaseRecord<'_, str, [u8]>) -> Result<(), KafkaError> {
        loop {
            match self.producer.send(record) {
                Ok(()) => return Ok(()),
                Err((rdkafka::error::KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                    record = r;
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err((e, _)) => return Err(e.into()),
            }
        }
    }

    pub fn consumed(&mut self, topic: &str, partition: i32, offset: i64) {
        match self
            .offsets
            .iter_mut()
            .find(|(t, p, _)| *p == partition && t == topic)
        {
            Some(entry) => entry.2 = offset + 1,
            None => self.offsets.push((topic.to_string(), partition, offset + 1)),
        }
    }

    /// Whether to commit now: the open transaction is `interval` old, or the input ran dry
    /// (`drained`: a poll found nothing for its whole timeout). Under load the input never
    /// runs dry and commits come every `interval`, as many as the broker is asked for; at a
    /// trickle each burst is committed as soon as it is handled instead of waiting out the
    /// interval. It matters most for the correlate stage, whose read_committed input
    /// arrives in bursts, one per commit of the ingest stage: waiting out its own interval
    /// there took two bursts per transaction and added up to 100 ms to half the updates.
    pub fn due(&self, interval: Duration, drained: bool) -> bool {
        self.open && (drained || self.started.elapsed() >= interval)
    }

    /// Commits the consumed offsets with the outputs. On failure the transaction is
    /// aborted and `Err` returned: the caller must rewind its consumer and drop any state
    /// built from the aborted input.
    pub fn commit<C: ConsumerContext>(&mut self, consumer: &BaseConsumer<C>) -> Result<(), KafkaError> {
        if !self.open {
            return Ok(());
        }
        let t = Instant::now();
        let result = self.try_commit(consumer);
        let took = t.elapsed();
        self.commit_time += took;
        if took >= Duration::from_millis(100) {
            // what a produce → update tail is made of (docs/performance.md)
            tracing::debug!(producer = %self.id, ms = took.as_millis() as u64, "slow commit");
        }
        self.commits += 1;
        self.open = false;
        self.offsets.clear();
        if let Err(e) = result {
            self.abort()?;
            return Err(e);
        }
        Ok(())
    }

    /// Aborts the open transaction, if any (a send failed halfway through a commit).
    pub fn abort_open(&mut self) -> Result<(), KafkaError> {
        if !self.open {
            return Ok(());
        }
        self.open = false;
        self.offsets.clear();
        self.abort()
    }

    /// Aborts the open transaction. librdkafka's abort is resumable: a call that times out
    /// or meets a retriable error is called again, a few times.
    ///
    /// A fatal error means this producer was fenced or lost its idempotence state. Usually
    /// no other worker holds the id: the transaction coordinator bumped the epoch itself,
    /// having timed the transaction out while a broker was down (the broker-failure test
    /// does this). So, as Kafka Streams does, the producer is re-created (`init_transactions`
    /// under the same id, which also aborts whatever it left open on the coordinator) and
    /// the caller rewinds as after any abort. An abort that keeps failing is handled the
    /// same way. A second worker started under the same instance name would make the two
    /// fence each other in turn: more than [`MAX_FENCED`] re-creations in [`FENCED_WINDOW`]
    /// stop the stage instead, the only `Err` this returns.
    fn abort(&mut self) -> Result<(), KafkaError> {
        let mut last = String::new();
        let tries = if let Some(reason) = self.hung.take() {
            last = reason;
            0
        } else {
            3
        };
        for _ in 0..tries {
            match self.producer.abort_transaction(TIMEOUT) {
                Ok(()) => return Ok(()),
                Err(rdkafka::error::KafkaError::Transaction(e)) if e.is_fatal() => {
                    last = e.to_string();
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "abort_transaction failed; retrying");
                    last = e.to_string();
                    if let Some(reason) = self.fatal_state() {
                        last = reason;
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        }
        match self.recreate(&last) {
            Err(e @ KafkaError::Fatal(_)) => Err(e),
            Err(e) => {
                // the coordinator is out of reach: the next `begin` tries again
                tracing::warn!(producer = %self.id, error = %e, "producer not re-created yet");
                self.stale = Some(last);
                Ok(())
            }
            Ok(()) => Ok(()),
        }
    }

    /// librdkafka's fatal error of this producer, if it has one: no call on it succeeds again.
    fn fatal_state(&self) -> Option<String> {
        self.producer
            .client()
            .fatal_error()
            .map(|(code, reason)| format!("{code:?}: {reason}"))
    }

    /// Waits until every record sent is acknowledged. rust-rdkafka's `commit_transaction`
    /// flushes first, but its flush waits in 100 ms polls of the event queue that the
    /// threaded producer's own thread empties first, so it nearly always slept a whole
    /// 100 ms: most of each commit (docs/performance.md). Here the wait is in short sleeps,
    /// and that flush then finds nothing in flight.
    pub fn drain(&self) -> Result<(), KafkaError> {
        let deadline = Instant::now() + TIMEOUT;
        while self.producer.in_flight_count() > 0 {
            // a zero-timeout flush sends what lingers at once; it reports a timeout while
            // records are still in flight, which is what this loop waits out
            let _ = self.producer.flush(Duration::ZERO);
            if Instant::now() > deadline {
                return Err(KafkaError::Client(rdkafka::error::KafkaError::Flush(
                    RDKafkaErrorCode::MessageTimedOut,
                )));
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        Ok(())
    }

    /// Replaces the producer with a new one under the same transactional id, counting the
    /// re-creations (see [`Transactional::abort`]). An `Err` that is not fatal: the new one
    /// could not initialise (the coordinator out of reach); the old one stays, stale.
    fn recreate(&mut self, reason: &str) -> Result<(), KafkaError> {
        let now = Instant::now();
        self.fenced_at.retain(|t| now.duration_since(*t) < FENCED_WINDOW);
        if self.fenced_at.len() >= MAX_FENCED {
            return Err(KafkaError::Fatal(format!(
                "{reason} ({} times in {} s: is another worker running as {}?)",
                self.fenced_at.len() + 1,
                FENCED_WINDOW.as_secs(),
                self.id
            )));
        }
        tracing::warn!(producer = %self.id, reason = %reason, "re-creating the transactional producer");
        self.producer = Self::producer(&self.k, &self.id)?;
        self.fenced_at.push(now);
        Ok(())
    }

    /// `send_offsets_to_transaction`, bounded. librdkafka (2.12) ignores its timeout when
    /// the group coordinator it has cached is down: the call waits until some other broker
    /// changes state (librdkafka issues #5456 and #5511). With the coordinator killed it
    /// blocked both workers of the broker-failure test for ten minutes. So the call runs on
    /// a helper thread; if it has not returned [`HUNG_GRACE`] after its own timeout, the
    /// transaction is given up and the producer re-created under the same id (which fences
    /// the blocked one; its thread ends when the call finally returns).
    fn send_offsets(
        &mut self,
        offsets: TopicPartitionList,
        meta: rdkafka::consumer::ConsumerGroupMetadata,
    ) -> Result<(), KafkaError> {
        let producer = self.producer.clone();
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("send-offsets".into())
            .spawn(move || {
                let _ = tx.send(producer.send_offsets_to_transaction(&offsets, &meta, TIMEOUT));
            })
            .map_err(|e| KafkaError::Config(format!("cannot start a thread: {e}")))?;
        match rx.recv_timeout(TIMEOUT + HUNG_GRACE) {
            Ok(result) => Ok(result?),
            Err(_) => {
                let reason = format!(
                    "send_offsets_to_transaction did not return in {} s (group coordinator down?)",
                    (TIMEOUT + HUNG_GRACE).as_secs()
                );
                tracing::warn!(producer = %self.id, "{reason}; giving the producer up");
                self.hung = Some(reason.clone());
                Err(KafkaError::Hung(reason))
            }
        }
    }

    fn try_commit<C: ConsumerContext>(&mut self, consumer: &BaseConsumer<C>) -> Result<(), KafkaError> {
        self.drain()?;
        if !self.offsets.is_empty() {
            let mut tpl = TopicPartitionList::new();
            for (t, p, o) in &self.offsets {
                tpl.add_partition_offset(t, *p, Offset::Offset(*o))?;
            }
            let meta = consumer
                .group_metadata()
                .ok_or_else(|| KafkaError::Config("consumer has no group metadata".into()))?;
            self.send_offsets(tpl, meta)?;
        }
        self.producer.commit_transaction(TIMEOUT)?;
        Ok(())
    }
}

/// Records a stage handles per pass of its loop (see [`poll_burst`]).
const BURST: usize = 256;

/// One pass of a stage loop: waits up to 20 ms for a record, then takes what is already
/// fetched without waiting, up to [`BURST`], handing each to `handle`; returns how many.
/// The stage reads the clock (activity, commit due) once per pass rather than per record.
/// `handle` takes the stage lock per record: it must not be held across `poll`, where a
/// rebalance runs the revoke hook.
pub fn poll_burst<'c, C: ConsumerContext>(
    consumer: &'c BaseConsumer<C>,
    mut handle: impl FnMut(KafkaResult<BorrowedMessage<'c>>) -> Result<(), KafkaError>,
) -> Result<usize, KafkaError> {
    let mut polled = consumer.poll(Duration::from_millis(20));
    let mut handled = 0;
    while let Some(result) = polled {
        handle(result)?;
        handled += 1;
        polled = if handled < BURST {
            consumer.poll(Duration::ZERO)
        } else {
            None
        };
    }
    Ok(handled)
}

/// What a stage does when partitions are about to be revoked: commit the open transaction
/// (offsets of the revoked partitions included) and drop their state.
pub type RevokeHook = Box<dyn FnMut(&BaseConsumer<StageContext>, &[(String, i32)]) + Send>;

/// Consumer context that runs the stage's [`RevokeHook`] before a revocation.
#[derive(Clone, Default)]
pub struct StageContext {
    pub on_revoke: Arc<Mutex<Option<RevokeHook>>>,
}

impl ClientContext for StageContext {}

impl ConsumerContext for StageContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            let revoked: Vec<(String, i32)> = tpl
                .elements()
                .iter()
                .map(|e| (e.topic().to_string(), e.partition()))
                .collect();
            if let Some(hook) = self.on_revoke.lock().expect("hook lock").as_mut() {
                hook(consumer, &revoked);
            }
        }
    }
}

/// A group consumer for a stage: read_committed, manual offsets (they go into the
/// transaction), cooperative rebalancing.
pub fn stage_consumer(
    k: &KafkaSection,
    group: &str,
    ctx: StageContext,
) -> Result<BaseConsumer<StageContext>, KafkaError> {
    let mut config = client_config(k);
    if !k.client.contains_key("fetch.wait.max.ms") {
        // a read_committed fetch that finds nothing stable waits this long on the broker,
        // which does not answer it early when a commit makes data stable: at librdkafka's
        // 500 ms default that wait showed up as p99 latency on every transactional hop
        config.set("fetch.wait.max.ms", "10");
    }
    // Prefetch: librdkafka stops fetching a partition once `queued.min.messages` of it wait
    // in the local queue (100,000 by default, ~26 MB of telco events), so the stage sat idle
    // while each refill came; the memory stays bounded by `queued.max.messages.kbytes`
    // (64 MiB). One keyed-input worker: 4.5 s → 2.9 s for 1,000,000 events
    // (docs/performance.md). All of them can be set in `[kafka.client]`.
    for (key, value) in [
        ("fetch.max.bytes", "67108864"),
        ("max.partition.fetch.bytes", "67108864"),
        ("queued.min.messages", "1000000"),
    ] {
        if !k.client.contains_key(key) {
            config.set(key, value);
        }
    }
    Ok(config
        .set("group.id", group)
        .set("isolation.level", "read_committed")
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("partition.assignment.strategy", "cooperative-sticky")
        .set("session.timeout.ms", "10000")
        .set("heartbeat.interval.ms", "1000")
        .create_with_context(ctx)?)
}

/// Partitions a stage must read again from the group's committed offset. After an abort
/// that is every assigned partition: the consumer has moved past input whose outputs were
/// thrown away. They are sought back on each pass of the stage loop ([`Rewind::run`]), not
/// when a partition's next record arrives: at the end of the input no record may come, and
/// the stage would sit behind its committed offset for good. Until a partition is sought
/// back its records are skipped ([`Rewind::skips`]); a seek that fails is tried again on
/// the next pass.
#[derive(Debug, Default)]
pub struct Rewind {
    all: bool,
    pending: HashSet<(String, i32)>,
}

impl Rewind {
    /// Every assigned partition goes back (after an abort).
    pub fn everything(&mut self) {
        self.all = true;
    }

    /// Whether records of this partition are to be skipped until it is sought back.
    pub fn skips(&self, topic: &str, partition: i32) -> bool {
        self.all
            || (!self.pending.is_empty() && self.pending.iter().any(|(t, p)| *p == partition && t == topic))
    }

    /// Seeks each pending partition to its committed offset (the beginning when the group
    /// has none). A partition that is no longer assigned, or not fetched yet (its fetch
    /// starts at the committed offset anyway), needs nothing.
    pub fn run<C: ConsumerContext>(&mut self, consumer: &BaseConsumer<C>) {
        if !self.all && self.pending.is_empty() {
            return;
        }
        let positions = match consumer.position() {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "rewind: no positions yet; trying again");
                return;
            }
        };
        let fetched: HashSet<(String, i32)> = positions
            .elements()
            .iter()
            // `Offset::Invalid` until the application has read from the partition
            // (`to_raw` would give it as Some(-1001))
            .filter(|e| matches!(e.offset(), Offset::Offset(_)))
            .map(|e| (e.topic().to_string(), e.partition()))
            .collect();
        if std::mem::take(&mut self.all) {
            self.pending = fetched;
        } else {
            self.pending.retain(|tp| fetched.contains(tp));
        }
        if self.pending.is_empty() {
            return;
        }
        let mut tpl = TopicPartitionList::new();
        for (t, p) in &self.pending {
            tpl.add_partition(t, *p);
        }
        let committed = match consumer.committed_offsets(tpl, TIMEOUT) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "rewind: committed offsets not read; trying again");
                return;
            }
        };
        let pending: Vec<(String, i32)> = self.pending.iter().cloned().collect();
        for (topic, partition) in pending {
            let to = match committed.find_partition(&topic, partition).map(|e| e.offset()) {
                Some(Offset::Offset(o)) => Offset::Offset(o),
                _ => Offset::Beginning,
            };
            match consumer.seek(&topic, partition, to, TIMEOUT) {
                Ok(()) => {
                    self.pending.remove(&(topic, partition));
                }
                Err(e) => {
                    tracing::warn!(%topic, partition, error = %e, "rewind: seek failed; trying again")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Rewind;

    #[test]
    fn after_an_abort_records_are_skipped_until_their_partition_is_sought_back() {
        let mut r = Rewind::default();
        assert!(!r.skips("events", 0), "nothing to rewind");
        r.everything();
        assert!(
            r.skips("events", 0) && r.skips("raw", 5),
            "every partition, before the pass"
        );
        // the pass found one partition it could not seek yet: only that one is skipped
        r.all = false;
        r.pending.insert(("events".to_string(), 1));
        assert!(r.skips("events", 1));
        assert!(!r.skips("events", 0));
        assert!(!r.skips("raw", 1), "same partition number, other topic");
    }
}
