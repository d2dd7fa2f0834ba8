//! engine: the deterministic state machine that ties the stages together. One `Engine` holds
//! one partition's state. Feed it events with [`Engine::process`] and move time with
//! [`Engine::advance`]; take the resulting [`Update`]s with [`Engine::drain_updates`].
//!
//! Time is event time. The engine's clock (its watermark) is the greatest event time seen,
//! or whatever `advance` was given; timers (window ends, flapping settles, incident closes,
//! purges, heartbeats) fire when the watermark passes them, before the event that moved it.
//! Nothing depends on how events are batched, so the output is the same for any split.

use crate::config::{Config, ConfigError, RuleConfig};
use crate::correlate::topology::Topology;
use crate::correlate::{Cluster, ClusterIndex, Recipe};
use crate::dedup::Alert;
use crate::event::Event;
use crate::intern::Interner;
use crate::matcher::CompiledMatcher;
use crate::rules::RuleState;
use crate::score::TokenStats;
use crate::time::{parse_rfc3339, Millis};
use crate::update::*;
use hashbrown::HashTable;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::hash::BuildHasher;
use std::sync::Arc;

/// Options that are not behaviour config: who this engine is.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct EngineOptions {
    /// Partition number; part of every alert and incident id so that ids from different
    /// partitions never collide.
    pub partition: u32,
}

/// The config compiled for evaluation; shared, immutable.
pub(crate) struct Compiled {
    pub cfg: Config,
    pub recipes: Vec<Recipe>,
    pub maintenance: Vec<(String, Millis, Millis, CompiledMatcher)>,
    pub rules: Vec<(RuleConfig, CompiledMatcher)>,
    pub topology: Topology,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) enum Timer {
    ClusterWindow(u64),
    IncidentClose(u64),
    IncidentPurge(u64),
    FlapSettle { slot: u32, alert: u64 },
    AlertPurge { slot: u32, alert: u64 },
    Rule { rule: u16, key: Box<str> },
}

/// The snapshot format this build writes. Format 1 had no `format` field; fields added
/// since carry serde defaults, so every older format still loads. Raise it when a change
/// cannot be read by older builds: they then refuse it by number instead of misreading it.
pub const SNAPSHOT_FORMAT: u32 = 2;

fn format_one() -> u32 {
    1
}

/// Everything that a snapshot must carry; indexes are rebuilt from it on restore.
#[derive(Serialize, Deserialize)]
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
    pub alerts: Vec<Option<Alert>>,
    pub free_slots: Vec<u32>,
    pub interner: Interner,
    pub tokens: TokenStats,
    pub clusters: BTreeMap<u64, Cluster>,
    pub timers: BTreeSet<(Millis, u64, Timer)>,
    pub timer_seq: u64,
    pub rules: RuleState,
    pub templates: crate::template::TemplateMiner,
    pub stats: EngineStats,
    /// What learned recipes have learned (absent in snapshots from before it existed).
    #[serde(default)]
    pub learned: crate::correlate::learned::LearnedStats,
}

pub struct Engine {
    pub(crate) c: Arc<Compiled>,
    pub(crate) st: State,
    pub(crate) sig_index: HashTable<u32>,
    pub(crate) hasher: rustc_hash::FxBuildHasher,
    pub(crate) index: ClusterIndex,
    pub(crate) out: Vec<Update>,
    /// JSON-lines output mode (see [`Engine::set_json_output`]).
    pub(crate) json_output: bool,
    pub(crate) json_out: Vec<u8>,
    pub(crate) scratch: String,
}

impl Engine {
    pub fn new(cfg: &Config, options: EngineOptions) -> Result<Engine, ConfigError> {
        let c = Arc::new(compile(cfg)?);
        let st = State {
            format: SNAPSHOT_FORMAT,
            options,
            now: 0,
            seq: 0,
            next_alert: 1,
            next_incident: 1,
            next_cluster: 1,
            alerts: Vec::new(),
            free_slots: Vec::new(),
            interner: Interner::default(),
            tokens: TokenStats::with_reference_range(
                cfg.noise.max_tokens,
                cfg.noise.warmup_alerts,
                cfg.noise.min_reference_alerts,
                cfg.noise.reference_alerts,
            ),
            clusters: BTreeMap::new(),
            timers: BTreeSet::new(),
            timer_seq: 0,
            rules: RuleState::new(cfg.rules.len()),
            templates: crate::template::TemplateMiner::new(cfg.templates.clone()),
            stats: EngineStats::default(),
            learned: Default::default(),
        };
        Ok(Engine::from_state(c, st))
    }

    fn from_state(c: Arc<Compiled>, st: State) -> Engine {
        let mut e = Engine {
            index: ClusterIndex::new(c.recipes.len()),
            c,
            st,
            sig_index: HashTable::new(),
            hasher: rustc_hash::FxBuildHasher,
            out: Vec::new(),
            json_output: false,
            json_out: Vec::new(),
            scratch: String::with_capacity(128),
        };
        for (slot, a) in e.st.alerts.iter().enumerate() {
            if let Some(a) = a {
                let h = e.hasher.hash_one(&*a.signature);
                let alerts = &e.st.alerts;
                let hasher = &e.hasher;
                e.sig_index.insert_unique(h, slot as u32, |&s| {
                    hasher.hash_one(&*alerts[s as usize].as_ref().expect("indexed slot").signature)
                });
            }
        }
        let ids: Vec<u64> =
            e.st.clusters
                .iter()
                .filter(|(_, c)| c.indexed)
                .map(|(id, _)| *id)
                .collect();
        for id in ids {
            e.index_cluster(id);
        }
        e
    }

    /// The state as bytes (JSON), to be restored with [`Engine::restore`] under the same config.
    pub fn snapshot(&self) -> Vec<u8> {
        serde_json::to_vec(&self.st).expect("engine state serialises")
    }

    /// Fails, saying why, on a snapshot this build cannot read: one written by a newer
    /// format, or one that does not parse.
    pub fn restore(cfg: &Config, snapshot: &[u8]) -> Result<Engine, ConfigError> {
        let c = Arc::new(compile(cfg)?);
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
                    Ok(p) => {
                        ConfigError::Invalid(format!("snapshot (format {}) does not parse: {e}", p.format))
                    }
                    Err(_) => ConfigError::Invalid(format!("snapshot is not an engine state: {e}")),
                })
            }
        };
        if st.format > SNAPSHOT_FORMAT {
            return Err(newer(st.format));
        }
        // what it holds is now this build's format (defaults filled in)
        st.format = SNAPSHOT_FORMAT;
        Ok(Engine::from_state(c, st))
    }

    pub fn options(&self) -> EngineOptions {
        self.st.options
    }

    /// The engine's clock: the greatest event time (or `advance` time) seen.
    pub fn now(&self) -> Millis {
        self.st.now
    }

    pub fn stats(&self) -> EngineStats {
        let mut s = self.st.stats;
        s.incidents_active = self.st.clusters.values().filter(|c| c.incident.is_some()).count() as u64;
        s
    }

    /// Applies one input: what every host calls. An event is processed, a command applied
    /// (a refused command changes nothing but the clock, see [`Engine::command`]), a tick
    /// moves the clock.
    pub fn apply(&mut self, input: &crate::Input) -> Result<(), crate::actions::CommandError> {
        match input {
            crate::Input::Event(e) => self.process(e),
            crate::Input::Command(c) => self.command(c)?,
            crate::Input::Tick(t) => self.advance(*t),
        }
        Ok(())
    }

    /// Processes one event (the event case of [`Engine::apply`], for hosts that hold their
    /// events by reference: replay's decoded chunks, a request body's events). Its time defaults to the engine's clock; a later time first moves
    /// the clock (firing due timers).
    pub fn process(&mut self, ev: &Event) {
        if ev.mine_template {
            let mined = self.mine(ev);
            return self.process(&mined);
        }
        let t = ev.time.unwrap_or(self.st.now);
        if t > self.st.now {
            self.advance(t);
        }
        self.st.stats.events += 1;
        let maintenance = self.in_maintenance(ev, t);
        if maintenance {
            self.st.stats.maintenance_events += 1;
        }
        let synthetic = if self.c.rules.is_empty() {
            Vec::new()
        } else {
            self.apply_rules(ev, t)
        };
        self.ingest(ev, t, maintenance, None);
        for (sev, why) in synthetic {
            self.st.stats.synthetic_events += 1;
            self.ingest(&sev, t, false, Some(why));
        }
    }

    /// The event with its check replaced by the mined template of its description and the
    /// template's variables as labels `p1`, `p2`… (within the label limit).
    fn mine(&mut self, ev: &Event) -> Event {
        let m = self.st.templates.mine(&ev.description);
        let mut out = ev.clone();
        out.mine_template = false;
        let limit = self.c.cfg.limits.max_field_bytes;
        let mut check = m.template;
        if check.is_empty() {
            check = "<empty>".into();
        }
        if check.len() > limit {
            let mut cut = limit;
            while !check.is_char_boundary(cut) {
                cut -= 1;
            }
            check.truncate(cut);
        }
        out.check = check.into();
        let room = self.c.cfg.limits.max_labels.saturating_sub(out.labels.len());
        for (i, p) in m.params.into_iter().take(room).enumerate() {
            let mut v = p;
            if v.len() > limit {
                let mut cut = limit;
                while !v.is_char_boundary(cut) {
                    cut -= 1;
                }
                v.truncate(cut);
            }
            out.labels.push((format!("p{}", i + 1).into(), v.into()));
        }
        out.normalise_labels();
        out
    }

    /// Moves the clock to `now` (never backwards), firing every timer due by then in order.
    pub fn advance(&mut self, now: Millis) {
        while let Some((t, _, _)) = self.st.timers.first() {
            if *t > now {
                break;
            }
            let (t, _, timer) = self.st.timers.pop_first().expect("first exists");
            self.st.now = self.st.now.max(t);
            self.fire(timer);
        }
        self.st.now = self.st.now.max(now);
    }

    pub(crate) fn schedule(&mut self, at: Millis, timer: Timer) {
        self.st.timer_seq += 1;
        self.st.timers.insert((at, self.st.timer_seq, timer));
    }

    fn fire(&mut self, timer: Timer) {
        match timer {
            Timer::ClusterWindow(id) => self.on_window_end(id),
            Timer::IncidentClose(id) => self.on_incident_close(id),
            Timer::IncidentPurge(id) => self.on_incident_purge(id),
            Timer::FlapSettle { slot, alert } => self.on_flap_settle(slot, alert),
            Timer::AlertPurge { slot, alert } => self.on_alert_purge(slot, alert),
            Timer::Rule { rule, key } => self.on_rule_timer(rule, key),
        }
    }

    fn in_maintenance(&self, ev: &Event, t: Millis) -> bool {
        self.c
            .maintenance
            .iter()
            .any(|(_, s, e, m)| *s <= t && t < *e && m.matches(ev))
    }

    /// Takes the updates produced since the last call, in order.
    pub fn drain_updates(&mut self) -> std::vec::Drain<'_, Update> {
        self.out.drain(..)
    }

    /// Switches the output to JSON lines: each update is serialised when it happens, from
    /// borrowed state, into a buffer taken with [`Engine::take_json_updates`]; nothing goes
    /// to [`Engine::drain_updates`]. The bytes are exactly `serde_json` of each [`Update`]
    /// followed by a newline. This is the replay's mode: it saves building an owned view
    /// (a dozen allocations) per update.
    pub fn set_json_output(&mut self, on: bool) {
        self.json_output = on;
    }

    /// Appends the JSON lines produced since the last call to `out`.
    pub fn take_json_updates(&mut self, out: &mut Vec<u8>) {
        out.append(&mut self.json_out);
    }

    pub(crate) fn next_seq(&mut self) -> u64 {
        self.st.seq += 1;
        self.st.stats.updates += 1;
        self.st.seq
    }

    pub(crate) fn alert_id(&self, n: u64) -> String {
        crate::id::AlertId {
            partition: self.st.options.partition,
            number: n,
        }
        .to_string()
    }

    pub(crate) fn incident_id(&self, n: u64) -> String {
        crate::id::IncidentId {
            partition: self.st.options.partition,
            number: n,
        }
        .to_string()
    }

    /// Slots of the alerts still held, in creation order.
    pub(crate) fn slots_in_order(&self) -> Vec<u32> {
        let mut v: Vec<(u64, u32)> = self
            .st
            .alerts
            .iter()
            .enumerate()
            .filter_map(|(i, a)| a.as_ref().map(|a| (a.id, i as u32)))
            .collect();
        v.sort_unstable();
        v.into_iter().map(|(_, slot)| slot).collect()
    }

    /// Final state of every alert still held, in creation order.
    pub fn alerts(&self) -> Vec<AlertView> {
        self.slots_in_order()
            .into_iter()
            .map(|slot| self.alert_view(slot))
            .collect()
    }

    /// Writes the final state of every alert as JSON lines (the same bytes as serialising
    /// [`Engine::alerts`], without building owned views).
    pub fn write_alerts_jsonl(&self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        for slot in self.slots_in_order() {
            serde_json::to_writer(&mut *w, &self.alert_view_ref(slot))?;
            w.write_all(b"\n")?;
        }
        Ok(())
    }

    /// Every incident opened and not yet purged, in opening order.
    pub fn incidents(&self) -> Vec<IncidentView> {
        self.incident_clusters_in_order()
            .into_iter()
            .map(|id| self.incident_view(id))
            .collect()
    }

    /// Clusters that became incidents (and are not purged), in opening order.
    pub(crate) fn incident_clusters_in_order(&self) -> Vec<u64> {
        let mut v: Vec<(u64, u64)> = self
            .st
            .clusters
            .iter()
            .filter_map(|(id, c)| c.incident.map(|n| (n, *id)))
            .collect();
        v.sort_unstable();
        v.into_iter().map(|(_, id)| id).collect()
    }
}

fn compile(cfg: &Config) -> Result<Compiled, ConfigError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Severity;

    fn engine_with_an_alert() -> Engine {
        let mut e = Engine::new(&Config::default(), EngineOptions::default()).unwrap();
        e.process(&Event {
            source: "h1".into(),
            check: "cpu".into(),
            severity: Severity::Major,
            time: Some(1_000),
            ..Event::default()
        });
        e
    }

    fn with_format(snapshot: &[u8], format: Option<u32>) -> Vec<u8> {
        let mut v: serde_json::Value = serde_json::from_slice(snapshot).unwrap();
        match format {
            Some(f) => v["format"] = f.into(),
            None => drop(v.as_object_mut().unwrap().remove("format")),
        }
        serde_json::to_vec(&v).unwrap()
    }

    #[test]
    fn snapshots_carry_their_format_and_older_ones_load() {
        let e = engine_with_an_alert();
        let snap = e.snapshot();
        let v: serde_json::Value = serde_json::from_slice(&snap).unwrap();
        assert_eq!(v["format"], SNAPSHOT_FORMAT);
        // format 1 had no field: it loads, and is written back in this build's format
        let old = Engine::restore(&Config::default(), &with_format(&snap, None)).unwrap();
        assert_eq!(old.alerts(), e.alerts());
        let v: serde_json::Value = serde_json::from_slice(&old.snapshot()).unwrap();
        assert_eq!(v["format"], SNAPSHOT_FORMAT);
    }

    #[test]
    fn a_newer_or_unreadable_snapshot_is_refused_saying_why() {
        let snap = engine_with_an_alert().snapshot();
        let newer = with_format(&snap, Some(SNAPSHOT_FORMAT + 1));
        let err = Engine::restore(&Config::default(), &newer)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("newer sitrep"), "{err}");
        // a newer format whose layout changed too: still named by its number
        let mut v: serde_json::Value = serde_json::from_slice(&newer).unwrap();
        v["alerts"] = "a new layout".into();
        let err = Engine::restore(&Config::default(), &serde_json::to_vec(&v).unwrap())
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains(&format!("format {}", SNAPSHOT_FORMAT + 1)), "{err}");
        let err = Engine::restore(&Config::default(), b"[1,2]")
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("not an engine state"), "{err}");
    }
}
