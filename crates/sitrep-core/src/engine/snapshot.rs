//! engine::snapshot: the engine's state as bytes, and back. The layout is one JSON object
//! whose fields are the components' state side by side (format 2 since the snapshot was
//! versioned; the components are laid out in memory differently from this, which is why it
//! is written from borrowed parts and read into an owned whole that the engine then hands
//! out to its components).
//!
//! Indexes (signature lookup, candidate indexes) are not in it: they are rebuilt on restore.

use super::EngineOptions;
use crate::config::ConfigError;
use crate::correlate::learned::LearnedStats;
use crate::correlate::past::PastIncidents;
use crate::correlate::Clusters;
use crate::dedup::Alert;
use crate::intern::Interner;
use crate::rules::RuleEngine;
use crate::score::TokenStats;
use crate::slots::Slots;
use crate::template::TemplateMiner;
use crate::time::Millis;
use crate::timers::Timer;
use crate::update::EngineStats;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The snapshot format this build writes. Format 1 had no `format` field; fields added
/// since carry serde defaults, so every older format still loads. Raise it when a change
/// cannot be read by older builds: they then refuse it by number instead of misreading it.
///
/// Format 3 (2026-12-05): the alerts are one base64 string of their binary encoding
/// ([`write_alerts`]); formats 1 and 2 hold them as a JSON array, and still load.
pub const SNAPSHOT_FORMAT: u32 = 3;

fn format_one() -> u32 {
    1
}

/// Everything a snapshot carries, owned (what restore reads).
#[derive(Deserialize)]
pub(crate) struct State {
    /// [`SNAPSHOT_FORMAT`] when written.
    #[serde(default = "format_one")]
    pub format: u32,
    pub options: EngineOptions,
    pub now: Millis,
    pub seq: u64,
    pub next_alert: u64,
    pub next_incident: u64,
    pub next_cluster: u64,
    #[serde(deserialize_with = "read_alerts")]
    pub alerts: Slots<Alert>,
    pub free_slots: Vec<u32>,
    pub interner: Interner,
    pub tokens: TokenStats,
    pub clusters: Clusters,
    pub timers: BTreeSet<(Millis, u64, Timer)>,
    pub timer_seq: u64,
    pub rules: RuleEngine,
    pub templates: TemplateMiner,
    pub stats: EngineStats,
    /// What learned recipes have learned (absent in snapshots from before it existed).
    #[serde(default)]
    pub learned: LearnedStats,
    /// Purged incidents' fingerprints (absent in snapshots from before they were kept).
    #[serde(default)]
    pub past: PastIncidents,
}

/// The same fields, borrowed from the components (what snapshot writes). Field for field
/// the layout of [`State`]; a test checks they stay in step.
#[derive(Serialize)]
pub(crate) struct StateRef<'a> {
    pub format: u32,
    pub options: EngineOptions,
    pub now: Millis,
    pub seq: u64,
    pub next_alert: u64,
    pub next_incident: u64,
    pub next_cluster: u64,
    #[serde(serialize_with = "write_alerts")]
    pub alerts: &'a Slots<Alert>,
    pub free_slots: &'a [u32],
    pub interner: &'a Interner,
    pub tokens: &'a TokenStats,
    pub clusters: &'a Clusters,
    pub timers: &'a BTreeSet<(Millis, u64, Timer)>,
    pub timer_seq: u64,
    pub rules: &'a RuleEngine,
    pub templates: &'a TemplateMiner,
    pub stats: EngineStats,
    pub learned: &'a LearnedStats,
    pub past: &'a PastIncidents,
}

/// The alerts are nearly all of a large state (≈ 335 bytes each as JSON arrays): as JSON
/// they took most of a restart's time in number and string parsing. Written instead as one
/// string, base64 of their positional binary encoding (postcard: varints, length-prefixed
/// strings), which the enclosing JSON — the server's snapshot file, the Kafka changelog
/// record — carries unchanged. Base64 rather than a second file or a binary envelope so
/// that every place that stores or ships a snapshot stays as it is.
fn write_alerts<S: serde::Serializer>(alerts: &&Slots<Alert>, s: S) -> Result<S::Ok, S::Error> {
    use base64::Engine as _;
    if !s.is_human_readable() {
        return alerts.serialize(s);
    }
    let bin = postcard::to_allocvec(*alerts).map_err(serde::ser::Error::custom)?;
    s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bin))
}

/// Reads the alerts either way: a base64 string (format 3) or a JSON array (1 and 2).
fn read_alerts<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Slots<Alert>, D::Error> {
    struct Either;
    impl<'de> serde::de::Visitor<'de> for Either {
        type Value = Slots<Alert>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("the alerts: a base64 string of their binary encoding, or an array")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Slots<Alert>, A::Error> {
            Slots::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))
        }
        fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Slots<Alert>, E> {
            use base64::Engine as _;
            let bin = base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|e| E::custom(format!("alerts: {e}")))?;
            postcard::from_bytes(&bin).map_err(|e| E::custom(format!("alerts: {e}")))
        }
    }
    d.deserialize_any(Either)
}

impl StateRef<'_> {
    /// An owned copy: what a host that must not hold the engine for long encodes later.
    pub(crate) fn to_owned_state(&self) -> State {
        State {
            format: self.format,
            options: self.options,
            now: self.now,
            seq: self.seq,
            next_alert: self.next_alert,
            next_incident: self.next_incident,
            next_cluster: self.next_cluster,
            alerts: self.alerts.clone(),
            free_slots: self.free_slots.to_vec(),
            interner: self.interner.clone(),
            tokens: self.tokens.clone(),
            clusters: self.clusters.clone(),
            timers: self.timers.clone(),
            timer_seq: self.timer_seq,
            rules: self.rules.clone(),
            templates: self.templates.clone(),
            stats: self.stats,
            learned: self.learned.clone(),
            past: self.past.clone(),
        }
    }
}

impl State {
    fn as_ref(&self) -> StateRef<'_> {
        StateRef {
            format: self.format,
            options: self.options,
            now: self.now,
            seq: self.seq,
            next_alert: self.next_alert,
            next_incident: self.next_incident,
            next_cluster: self.next_cluster,
            alerts: &self.alerts,
            free_slots: &self.free_slots,
            interner: &self.interner,
            tokens: &self.tokens,
            clusters: &self.clusters,
            timers: &self.timers,
            timer_seq: self.timer_seq,
            rules: &self.rules,
            templates: &self.templates,
            stats: self.stats,
            learned: &self.learned,
            past: &self.past,
        }
    }
}

/// A copy of the engine's state, taken while the engine is held and encoded after it is
/// released: the embedded server's snapshots pause ingest for the copy (mostly one copy of
/// the alert slot array) rather than for the encoding, which is several times longer.
/// Encodes to exactly the bytes [`Engine::snapshot`](super::Engine::snapshot) gives at the
/// moment of the copy.
pub struct SnapshotView(State);

impl SnapshotView {
    pub(crate) fn new(st: StateRef<'_>) -> SnapshotView {
        SnapshotView(st.to_owned_state())
    }

    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(&self.0.as_ref()).expect("engine state serialises")
    }
}

/// Reads a snapshot. Fails, saying why, on one this build cannot read: written by a newer
/// format, or not parsing.
pub(crate) fn decode(snapshot: &[u8]) -> Result<State, ConfigError> {
    #[derive(Deserialize)]
    struct Probe {
        #[serde(default = "format_one")]
        format: u32,
    }
    let newer = |format: u32| {
        ConfigError::Invalid(format!(
            "snapshot format {format} was written by a newer sitrep (this build reads formats 1 to {SNAPSHOT_FORMAT}): run that version, or start from an empty state"
        ))
    };
    let mut st: State = match serde_json::from_slice(snapshot) {
        Ok(st) => st,
        Err(e) => {
            return Err(match serde_json::from_slice::<Probe>(snapshot) {
                Ok(p) if p.format > SNAPSHOT_FORMAT => newer(p.format),
                Ok(p) => ConfigError::Invalid(format!("snapshot (format {}) does not parse: {e}", p.format)),
                Err(_) => ConfigError::Invalid(format!("snapshot is not an engine state: {e}")),
            })
        }
    };
    if st.format > SNAPSHOT_FORMAT {
        return Err(newer(st.format));
    }
    // what it holds is now this build's format (defaults filled in)
    st.format = SNAPSHOT_FORMAT;
    Ok(st)
}
