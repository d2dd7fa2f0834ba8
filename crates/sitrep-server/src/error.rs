//! The server's error type.

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
    #[error("config: {0}")]
    Section(String),
    #[error("listening on {addr}: {source}")]
    Listen {
        addr: String,
        #[source]
        source: std::io::Error,
    },
}
