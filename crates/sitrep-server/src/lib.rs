//! sitrep-server: the embedded service, first part of issue #3. HTTP ingest of native
//! events, acknowledged (202) only once they are durable in an append-only journal; on
//! start the engine's state is rebuilt by replaying the journal.
//!
//! - [`journal`]: length-prefixed records, group commit (one fsync for every append queued
//!   while the previous fsync ran), torn-tail recovery.
//! - [`service`]: the engine behind a lock, the HTTP routes, start-up replay.
//!
//! Not yet here (issue #3): syslog/SNMP listeners, snapshots to bound replay time,
//! retention of the journal, the API's filters and actions, the UI, auth, metrics.

pub mod journal;
pub mod service;

pub use service::{start, Server, ServerConfig};

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("journal {path}: {source}")]
    Journal {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("config: {0}")]
    Config(#[from] sitrep_core::config::ConfigError),
    #[error("listening on {addr}: {source}")]
    Listen {
        addr: String,
        #[source]
        source: std::io::Error,
    },
}
