//! sitrep-kafka: sitrep on Apache Kafka. Many `sitrep run` workers in one consumer group
//! share the work by partition; each partition's engine state lives in memory, backed by a
//! compacted changelog topic; consume → process → produce → commit offsets happen in one
//! Kafka transaction, so a read_committed consumer of the outputs sees every update once.
//!
//! Map of the modules, in pipeline order:
//! - [`config`]: the `[kafka]` section (brokers, inputs and formats, scope, topics, routes).
//! - [`admin`]: creating missing topics with partitions, replication and compaction.
//! - [`ingest`]: stage 1, stateless. Input topics (any format) → normalised native events
//!   keyed by correlation scope on the internal events topic (the repartition), rejects to
//!   the dead-letter topic, operator commands to their incident's partition.
//! - [`correlate`]: stage 2, stateful. The events topic's partitions, one engine each,
//!   restored from the changelog (snapshot + replay of the tail with outputs suppressed)
//!   before processing; outputs to the alerts and incidents tables and routes.
//! - [`tables`]: the output tables (alerts, incidents, routes, dead letters) as a
//!   [`Sink`](sitrep_publish::Sink) writing into the open transaction.
//! - [`replay`]: reprocessing past input from an offset or a time into a fresh group and
//!   separate output topics (new recipes on past data).
//! - [`txn`]: the transaction loop both stages share (commit before revocation, rewind
//!   after an abort, a fenced producer re-created).
//! - [`wire`]: message formats shared by the stages: batches of binary-framed events,
//!   commands, snapshot records; the Kafka-compatible (murmur2) partitioner.
//! - [`worker`]: one `sitrep run` worker (both stages), and the command sender the API uses.
//!
//! The core is reused unchanged: a partition's engine is `Engine` with its partition number
//! in every id. Time is event time only (no wall-clock ticks): the same input partition
//! gives the same outputs on any worker, in any run.

pub mod admin;
pub mod config;
pub mod correlate;
pub mod ingest;
pub mod replay;
pub mod tables;
pub mod txn;
pub mod wire;
pub mod worker;

pub use config::KafkaSection;

#[derive(Debug, thiserror::Error)]
pub enum KafkaError {
    #[error("kafka: {0}")]
    Client(#[from] rdkafka::error::KafkaError),
    #[error("config: {0}")]
    Config(String),
    #[error("engine config: {0}")]
    Engine(#[from] sitrep_core::config::ConfigError),
    /// The producer cannot go on (fenced, or a transaction that will not abort): the
    /// worker stops and its partitions move to the others.
    #[error("fatal: {0}")]
    Fatal(String),
    /// A client call that did not return in time: the transaction is given up and its
    /// producer re-created (see `txn::Transactional::send_offsets`).
    #[error("kafka call hung: {0}")]
    Hung(String),
    #[error("state of partition {partition}: {reason}")]
    State { partition: i32, reason: String },
}

/// librdkafka settings every client gets: the brokers and the pass-through `[kafka.client]`.
pub fn client_config(k: &KafkaSection) -> rdkafka::ClientConfig {
    let mut c = rdkafka::ClientConfig::new();
    c.set("bootstrap.servers", &k.brokers);
    for (key, value) in &k.client {
        c.set(key, value);
    }
    c
}

/// Stops the stage loops: set it, and each returns after finishing its transaction.
pub type Stop = std::sync::Arc<std::sync::atomic::AtomicBool>;

/// When a stage first and last handled a record (benchmarks and idle detection).
#[derive(Debug, Default, Clone)]
pub struct Activity(
    std::sync::Arc<std::sync::Mutex<(Option<std::time::Instant>, Option<std::time::Instant>)>>,
);

impl Activity {
    pub fn touch(&self) {
        let now = std::time::Instant::now();
        let mut a = self.0.lock().expect("activity lock");
        a.0.get_or_insert(now);
        a.1 = Some(now);
    }

    pub fn span(&self) -> (Option<std::time::Instant>, Option<std::time::Instant>) {
        *self.0.lock().expect("activity lock")
    }
}
