//! The ground truth of a generated stream. The unit of evaluation is an alert *occurrence*
//! `(signature, occurrence)`, exactly as the engine counts them: a new signature or a raise
//! after a clear starts a new occurrence. Each occurrence is labelled with the fault that
//! raised it, or `null` for noise.

use serde::{Deserialize, Serialize};
use sitrep_core::time::Millis;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Truth {
    pub scenario: String,
    pub seed: u64,
    pub events: u64,
    /// Events per kind (`fault`, `oneoff`, `flapping`, `chatty`, `maintenance`).
    pub events_by_kind: std::collections::BTreeMap<String, u64>,
    pub faults: Vec<FaultTruth>,
    pub alerts: Vec<AlertTruth>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FaultTruth {
    pub id: u32,
    pub kind: String,
    pub root: String,
    pub start: Millis,
    pub end: Millis,
    /// Time of the fault's first event in the stream.
    pub first_event: Option<Millis>,
    /// Occurrences labelled with this fault.
    pub alerts: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AlertTruth {
    pub signature: String,
    pub occurrence: u32,
    /// The fault id, or `None` for noise.
    pub fault: Option<u32>,
    /// `fault`, `oneoff`, `flapping`, `chatty`, `maintenance` or (the `ids` scenario) `scheduled`.
    pub kind: String,
    pub first_time: Millis,
}
