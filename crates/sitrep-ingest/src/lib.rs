//! sitrep-ingest: where events come from. Sources read raw records; decoders turn them into
//! events (or dead letters) with the core's [`Normaliser`](sitrep_core::Normaliser).
//!
//! - [`source`]: the [`Source`] trait (poll, checkpoint) and the file/stdin source
//!   that reads newline-delimited records in large chunks.
//! - [`decode`]: decoding of a chunk, and [`decode::ParallelDecoder`], which decodes chunks
//!   on worker threads and hands them back in input order.
//!
//! Only the file reader (replay) implements [`Source`]: the network listeners live in
//! `sitrep-server` (journalled before they are acknowledged) and the Kafka consumers in
//! `sitrep-kafka` (offsets committed in the output transaction), each with its own
//! durability point (see [`Source`]).

pub mod decode;
pub mod source;

pub use decode::{DecodedChunk, ParallelDecoder};
pub use source::{Chunk, FileSource, Position, Source};

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// A reader or decoder thread panicked: what it held is lost, so the input cannot be
    /// read whole. Never papered over as an early end of input.
    #[error("the {0} thread of the decoder died; the input was not read whole")]
    ThreadDied(&'static str),
    #[error("reading {input}: {source}")]
    Io {
        input: String,
        #[source]
        source: std::io::Error,
    },
}
