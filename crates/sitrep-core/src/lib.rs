//! sitrep-core: the pure, deterministic heart of sitrep. Events and time in; alert and
//! incident updates out. No I/O, no threads, no wall clock, no async: the same input gives
//! byte-identical output whatever the batching, so the same core runs embedded, on Kafka,
//! in tests, benchmarks and replays.
//!
//! Map of the modules, in pipeline order:
//! - [`time`], [`severity`], [`event`]: the native event model.
//! - [`config`]: serde + TOML config with `deny_unknown_fields`.
//! - [`normalise`]: native JSON, Alertmanager, syslog and mapped JSON → [`event::Event`].
pub mod config;
pub mod event;
pub mod normalise;
pub mod severity;
pub mod time;
