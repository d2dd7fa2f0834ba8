//! sitrep-scenario: realistic monitoring streams with ground truth, and the evaluator that
//! scores a replay against that truth.
//!
//! - [`topology`]: builds the estates (telco network, microservices) as nodes + dependencies.
//! - [`gen`]: injects faults that cascade to dependants, plus noise (one-off alerts, flapping
//!   checks, chatty low-information events, maintenance), and writes the stream.
//! - [`truth`]: the ground-truth file format, derived from the labelled stream by replaying
//!   the engine's occurrence rules.
//! - [`bench`]: the fixed throughput stream for benchmarks.
//! - [`loghub`]: template-mining evaluation on the labelled LogHub samples.
//! - [`ait`]: the AIT Alert Data Set (real labelled IDS alerts) scored beside a naive
//!   time-gap baseline, for reporting only (never tuning).
//! - [`eval`]: pairwise precision/recall/F1, ARI, NMI, compression, noise share and time to
//!   incident.

pub mod ait;
pub mod bench;
pub mod eval;
pub mod gen;
pub mod loghub;
pub mod topology;
pub mod truth;

pub use gen::{generate, generate_variant, generate_with, Generated, Scenario, Variant};
