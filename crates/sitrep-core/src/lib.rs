//! sitrep-core: the pure, deterministic heart of sitrep. Events and time in; alert and
//! incident updates out. No I/O, no threads, no wall clock, no async: the same input gives
//! byte-identical output whatever the batching, so the same core runs embedded, on Kafka,
//! in tests, benchmarks and replays.
//!
//! Map of the modules, in pipeline order:
//! - [`time`], [`severity`], [`event`]: the native event model.
//! - [`config`]: serde + TOML config with `deny_unknown_fields`.
//! - [`input`]: the one input contract ([`Input`]: event, operator command or tick) that
//!   every host hands to [`Engine::apply`].
//! - [`normalise`]: native JSON, Alertmanager, syslog and mapped JSON → [`Event`]s, or a
//!   [`normalise::Rejection`] for the dead-letter output.
//! - [`engine`]: the state machine ([`Engine`]) that runs the stages below on one
//!   partition's state, driven by event time, with snapshot and restore.
//! - `dedup`: the alert store — signature → alert; counts, clears, re-raises, flapping,
//!   retention. `slots`: its slot array, chunks shared copy-on-write with snapshots.
//! - [`score`]: the noise score (entropy) of an alert's description.
//! - `rules`: per-key sliding-window count and heartbeat rules raising synthetic alerts.
//! - [`correlate`]: recipes (attribute, topology) clustering alerts into incidents, with
//!   the reasons for every grouping.
//! - [`template`]: online log-template mining (Drain-style) for free-text messages.
//! - `timers`: what is due when, in event time (windows, closes, purges, rule deadlines).
//! - [`emit`]: the ordered output, as owned updates or JSON lines.
//! - [`compact`]: compact alert updates (changes only between full states) and
//!   [`compact::AlertStates`], which rebuilds full states from them.
//! - [`actions`]: operator commands on incidents (ack, assign, resolve, merge, split…).
//! - [`update`]: the versioned output schema (alert and incident updates, final views).
//! - [`query`]: filtered, paginated reads of alerts and incidents (for APIs and UIs).
//! - [`id`]: typed alert and incident ids (`A3-17`, `INC3-5`).
//! - [`matcher`], `intern`: glob matchers and the string interner.

pub mod actions;
pub mod compact;
pub mod config;
pub mod correlate;
mod dedup;
pub mod emit;
pub mod engine;
pub mod event;
pub mod id;
pub mod input;
mod intern;
pub mod matcher;
pub mod normalise;
pub mod query;
mod rules;
pub mod score;
pub mod severity;
mod slots;
pub mod template;
pub mod time;
mod timers;
pub mod update;

pub use config::Config;
pub use dedup::build_signature;
pub use engine::{Engine, EngineOptions};
pub use event::Event;
pub use id::{AlertId, IncidentId};
pub use input::Input;
pub use normalise::{DeadLetter, InputFormat, Normaliser, Rejection};
pub use severity::Severity;
pub use update::Update;
