//! engine::env: what the engine's components share while they work on one input — the
//! compiled config, the clock, the alert store, the timers, the emitter and the counters.
//! A component takes `&mut Env` beside its own state, so that what it may touch is written
//! in its signature rather than reached for through one shared struct.

use super::EngineOptions;
use crate::config::{Config, ConfigError, RuleConfig};
use crate::correlate::topology::Topology;
use crate::correlate::{Clusters, Recipe};
use crate::dedup::AlertStore;
use crate::emit::Emitter;
use crate::matcher::CompiledMatcher;
use crate::time::{parse_rfc3339, Millis};
use crate::timers::{Timer, Timers};
use crate::update::{AlertChange, AlertViewRef, EngineStats, IncidentUpdate};
use std::sync::Arc;

/// The config compiled for evaluation; shared, immutable.
pub(crate) struct Compiled {
    pub cfg: Config,
    pub recipes: Vec<Recipe>,
    pub maintenance: Vec<(String, Millis, Millis, CompiledMatcher)>,
    pub rules: Vec<(RuleConfig, CompiledMatcher)>,
    pub topology: Topology,
}

pub(crate) struct Env {
    pub c: Arc<Compiled>,
    /// The engine's clock (event time).
    pub now: Millis,
    pub options: EngineOptions,
    pub store: AlertStore,
    pub timers: Timers,
    pub emitter: Emitter,
    pub stats: EngineStats,
}

impl Env {
    pub fn schedule(&mut self, at: Millis, timer: Timer) {
        self.timers.schedule(at, timer);
    }

    /// A cleared (or born-clear) alert is purged `retention_secs` later unless it re-raises.
    pub fn schedule_purge(&mut self, slot: u32, t: Millis) {
        let alert = self.store.alert(slot).id;
        let at = t + self.c.cfg.dedup.retention_secs as i64 * 1000;
        self.schedule(at, Timer::AlertPurge { slot, alert });
    }

    pub fn alert_id(&self, n: u64) -> crate::id::AlertId {
        crate::id::AlertId {
            partition: self.options.partition,
            number: n,
        }
    }

    pub fn incident_id(&self, n: u64) -> crate::id::IncidentId {
        crate::id::IncidentId {
            partition: self.options.partition,
            number: n,
        }
    }

    /// The alert as the outside sees it; `clusters` name its incident.
    pub fn alert_view_ref<'a>(&'a self, clusters: &Clusters, slot: u32) -> AlertViewRef<'a> {
        self.store.view(slot, self.options.partition, clusters)
    }

    /// Emits the alert's current state as a change.
    pub fn emit_alert(&mut self, clusters: &Clusters, slot: u32, change: AlertChange, t: Millis) {
        let previous = std::mem::replace(&mut self.store.alert_mut(slot).last_emit, t);
        self.stats.updates += 1;
        let view = self.store.view(slot, self.options.partition, clusters);
        self.emitter.alert(t, change, view, previous);
    }

    pub fn emit_incident(&mut self, u: IncidentUpdate) {
        self.stats.updates += 1;
        self.emitter.incident(u);
    }
}

pub(crate) fn compile(cfg: &Config) -> Result<Compiled, ConfigError> {
    cfg.validate()?;
    let bad = |e: String| ConfigError::Invalid(e);
    let topology = Topology::compile(&cfg.topology)?;
    let recipes = crate::correlate::compile_recipes(cfg, &topology)?;
    let mut maintenance = Vec::new();
    for (i, m) in cfg.maintenance.iter().enumerate() {
        let matcher =
            CompiledMatcher::compile(&m.matcher).map_err(|e| bad(format!("maintenance[{i}]: {e}")))?;
        let s = parse_rfc3339(&m.start).expect("validated");
        let e = parse_rfc3339(&m.end).expect("validated");
        maintenance.push((m.name.clone(), s, e, matcher));
    }
    let mut rules = Vec::new();
    for (i, r) in cfg.rules.iter().enumerate() {
        let matcher = CompiledMatcher::compile(&r.matcher).map_err(|e| bad(format!("rules[{i}]: {e}")))?;
        rules.push((r.clone(), matcher));
    }
    Ok(Compiled {
        cfg: cfg.clone(),
        recipes,
        maintenance,
        rules,
        topology,
    })
}
