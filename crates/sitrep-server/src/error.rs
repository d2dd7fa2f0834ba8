//! The server's error type.

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("journal {path}: {source}")]
    Journal {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// Acknowledged records the journal cannot read: starting would lose them silently.
    #[error(
        "journal {path} is damaged at byte {offset}: {bytes} bytes do not read as records, after {records_before} whole records of this file and before {records_after} more. \
         sitrep will not start over acknowledged data it cannot read. Run `sitrep recover --data <data dir>` to keep every readable record (the damaged bytes are copied aside) and report what was lost; see docs/operations.md, \"How to recover\""
    )]
    JournalDamaged {
        path: String,
        offset: u64,
        bytes: u64,
        records_before: usize,
        records_after: usize,
    },
    #[error("config: {0}")]
    Config(#[from] sitrep_core::config::ConfigError),
    #[error("config: {0}")]
    Section(String),
    #[error("listening on {addr}: {source}")]
    Listen {
        addr: String,
        #[source]
        source: std::io::Error,
    },
}
