//! engine: the deterministic state machine that runs the pipeline on one partition's state.
//! Feed it inputs with [`Engine::apply`] (or events with [`Engine::process`], time with
//! [`Engine::advance`]); take the resulting [`Update`]s with [`Engine::drain_updates`].
//!
//! The engine owns its components and hands each event from one to the next:
//!
//! ```text
//! event ─ template miner ─ rules ─ alert store (dedup) ─ scorer ─ correlator ─ emitter
//!                            │            │                           │
//!                            └────────────┴────── timers ─────────────┘
//! ```
//!
//! - [`AlertStore`](crate::dedup::AlertStore): signature → alert; counts, clears, re-raises,
//!   flapping, retention. It reports what changed; the engine decides what follows.
//! - [`TokenStats`]: the noise score of a new (or re-raised) alert.
//! - [`RuleEngine`]: count and heartbeat rules raising synthetic events.
//! - [`Correlator`]: clusters alerts into incidents; operator commands on incidents.
//! - [`Timers`](crate::timers::Timers) and [`Emitter`](crate::emit::Emitter): shared by the
//!   components through [`Env`], with the config, the clock and the alert store.
//!
//! Time is event time. The engine's clock (its watermark) is the greatest event time seen,
//! or whatever `advance` was given; timers (window ends, flapping settles, incident closes,
//! purges, rule deadlines) fire when the watermark passes them, before the event that moved
//! it. Nothing depends on how events are batched, so the output is the same for any split.

mod env;
mod snapshot;

pub(crate) use env::{compile, Compiled, Env};
pub use snapshot::{SnapshotView, SNAPSHOT_FORMAT};

use crate::compact::AlertUpdateForm;
use crate::config::{Config, ConfigError};
use crate::correlate::Correlator;
use crate::dedup::{AlertStore, Described, Flap, Repeat};
use crate::emit::Emitter;
use crate::event::Event;
use crate::rules::RuleEngine;
use crate::score::TokenStats;
use crate::template::TemplateMiner;
use crate::time::Millis;
use crate::timers::{Timer, Timers};
use crate::update::*;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Options that are not behaviour config: who this engine is.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct EngineOptions {
    /// Partition number; part of every alert and incident id so that ids from different
    /// partitions never collide.
    pub partition: u32,
}

pub struct Engine {
    /// Config, clock, alert store, timers, emitter and counters: what every component uses.
    pub(crate) env: Env,
    pub(crate) templates: TemplateMiner,
    pub(crate) rules: RuleEngine,
    pub(crate) scorer: TokenStats,
    pub(crate) correlator: Correlator,
}

impl Engine {
    pub fn new(cfg: &Config, options: EngineOptions) -> Result<Engine, ConfigError> {
        let c = Arc::new(compile(cfg)?);
        Ok(Engine {
            correlator: Correlator::new(c.recipes.len()),
            env: Env {
                now: 0,
                options,
                store: AlertStore::new(),
                timers: Timers::default(),
                emitter: Emitter::new(0),
                stats: EngineStats::default(),
                c,
            },
            templates: TemplateMiner::new(cfg.templates.clone()),
            rules: RuleEngine::new(cfg.rules.len()),
            scorer: TokenStats::with_reference_range(
                cfg.noise.max_tokens,
                cfg.noise.warmup_alerts,
                cfg.noise.min_reference_alerts,
                cfg.noise.reference_alerts,
            ),
        })
    }

    /// The state as bytes (JSON), to be restored with [`Engine::restore`] under the same config.
    pub fn snapshot(&self) -> Vec<u8> {
        serde_json::to_vec(&self.state_ref()).expect("engine state serialises")
    }

    /// A copy of the state to encode later, away from the engine (see [`SnapshotView`]).
    pub fn snapshot_view(&self) -> SnapshotView {
        SnapshotView::new(self.state_ref())
    }

    fn state_ref(&self) -> snapshot::StateRef<'_> {
        let (env, corr) = (&self.env, &self.correlator);
        snapshot::StateRef {
            format: SNAPSHOT_FORMAT,
            options: env.options,
            now: env.now,
            seq: env.emitter.seq,
            next_alert: env.store.next_alert,
            next_incident: corr.next_incident,
            next_cluster: corr.next_cluster,
            alerts: &env.store.alerts,
            free_slots: &env.store.free_slots,
            interner: &env.store.interner,
            tokens: &self.scorer,
            clusters: &corr.clusters,
            timers: &env.timers.due,
            timer_seq: env.timers.seq,
            rules: &self.rules,
            templates: &self.templates,
            stats: env.stats,
            learned: &corr.learned,
            past: &corr.past,
        }
    }

    /// Fails, saying why, on a snapshot this build cannot read: one written by a newer
    /// format, or one that does not parse.
    pub fn restore(cfg: &Config, snapshot: &[u8]) -> Result<Engine, ConfigError> {
        let c = Arc::new(compile(cfg)?);
        let mut st = snapshot::decode(snapshot)?;
        // snapshots from before `alerts_held` kept the held count under `alerts_active`
        if st.stats.alerts_held == 0 {
            st.stats.alerts_held = st.stats.alerts_active;
        }
        st.stats.alerts_active = 0;
        let env = Env {
            now: st.now,
            options: st.options,
            store: AlertStore::restore(st.alerts, st.free_slots, st.interner, st.next_alert),
            timers: Timers {
                due: st.timers,
                seq: st.timer_seq,
            },
            emitter: Emitter::new(st.seq),
            stats: st.stats,
            c,
        };
        let correlator = Correlator::restore(
            &env,
            st.clusters,
            st.learned,
            st.past,
            st.next_cluster,
            st.next_incident,
        );
        Ok(Engine {
            env,
            templates: st.templates,
            rules: st.rules,
            scorer: st.tokens,
            correlator,
        })
    }

    pub fn options(&self) -> EngineOptions {
        self.env.options
    }

    /// The engine's clock: the greatest event time (or `advance` time) seen.
    pub fn now(&self) -> Millis {
        self.env.now
    }

    /// The counters, with the counts of the current state (one pass over alerts and
    /// incidents: call it per tick or per request, not per event).
    pub fn stats(&self) -> EngineStats {
        let mut s = self.env.stats;
        let c = self.state_counts();
        s.alerts_active = c.alerts_open as u64;
        s.incidents_active = (c.incidents_open + c.incidents_acknowledged) as u64;
        s.incidents_resolved = c.incidents_resolved as u64;
        s.incidents_closed = c.incidents_closed as u64;
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
    /// events by reference: replay's decoded chunks, a request body's events). Its time
    /// defaults to the engine's clock; a later time first moves the clock (firing due timers).
    ///
    /// The pipeline: template mining (when asked) → rules → alert store → score →
    /// correlate → emit, each step handed what the one before produced.
    pub fn process(&mut self, ev: &Event) {
        if ev.mine_template {
            let mined = self.mine(ev);
            return self.process(&mined);
        }
        let t = ev.time.unwrap_or(self.env.now);
        if t > self.env.now {
            self.advance(t);
        }
        self.env.stats.events += 1;
        let maintenance = self.in_maintenance(ev, t);
        if maintenance {
            self.env.stats.maintenance_events += 1;
        }
        let synthetic = if self.env.c.rules.is_empty() {
            Vec::new()
        } else {
            self.rules.apply(&mut self.env, ev, t)
        };
        self.ingest(ev, t, maintenance, None);
        for (sev, why) in synthetic {
            self.env.stats.synthetic_events += 1;
            self.ingest(&sev, t, false, Some(why));
        }
    }

    /// Applies an operator command. A command naming no known incident changes nothing;
    /// one for a known incident first moves the clock to its time (firing due timers, as
    /// any input does), so it is judged against the incident's state at that time and a
    /// refusal can still have let timers fire.
    pub fn command(&mut self, cmd: &crate::actions::Command) -> Result<(), crate::actions::CommandError> {
        self.correlator.cluster_of_incident(&self.env, &cmd.incident)?;
        if cmd.time > self.env.now {
            self.advance(cmd.time);
        }
        self.correlator.command(&mut self.env, cmd)
    }

    /// The event with its check replaced by the mined template of its description and the
    /// template's variables as labels `p1`, `p2`… (within the label limit).
    fn mine(&mut self, ev: &Event) -> Event {
        let m = self.templates.mine(&ev.description);
        let mut out = ev.clone();
        out.mine_template = false;
        let limit = self.env.c.cfg.limits.max_field_bytes;
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
        let room = self.env.c.cfg.limits.max_labels.saturating_sub(out.labels.len());
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
        while let Some((t, timer)) = self.env.timers.pop_due(now) {
            self.env.now = self.env.now.max(t);
            self.fire(timer);
        }
        self.env.now = self.env.now.max(now);
    }

    fn fire(&mut self, timer: Timer) {
        let env = &mut self.env;
        match timer {
            Timer::ClusterWindow(id) => self.correlator.on_window_end(env, id),
            Timer::IncidentClose(id) => self.correlator.on_incident_close(env, id),
            Timer::IncidentPurge(id) => self.correlator.on_incident_purge(env, id),
            Timer::FlapSettle { slot, alert } => {
                let now = env.now;
                if env.store.settle(&env.c.cfg, slot, alert, now) {
                    env.emit_alert(&self.correlator.clusters, slot, AlertChange::Settled, now);
                }
            }
            Timer::AlertPurge { slot, alert } => {
                let now = env.now;
                if env.store.purgeable(&env.c.cfg, slot, alert, now) {
                    env.emit_alert(&self.correlator.clusters, slot, AlertChange::Purged, now);
                    env.store.remove(slot);
                    env.stats.alerts_held = env.stats.alerts_held.saturating_sub(1);
                    env.stats.alerts_purged += 1;
                }
            }
            Timer::Rule { rule, key } => {
                let now = env.now;
                if let Some((ev, why)) = self.rules.on_timer(&env.c, now, rule, &key) {
                    self.env.stats.synthetic_events += 1;
                    self.ingest(&ev, now, false, Some(why));
                }
            }
        }
    }

    fn in_maintenance(&self, ev: &Event, t: Millis) -> bool {
        self.env
            .c
            .maintenance
            .iter()
            .any(|(_, s, e, m)| *s <= t && t < *e && m.matches(ev))
    }

    /// The alert step: the event becomes a new alert or changes an existing one, and what
    /// changed is handed on (scored, emitted, correlated, timed).
    fn ingest(&mut self, ev: &Event, t: Millis, maintenance: bool, rule: Option<RuleExplanation>) {
        let Engine {
            env,
            scorer,
            correlator,
            ..
        } = self;
        let sig = env.store.signature_of(&env.c.cfg.dedup.signature, ev);
        let found = env.store.find(&sig);
        let Some(slot) = found else {
            let entropy = if rule.is_some() {
                1.0
            } else {
                scorer.observe_and_score(&ev.description, &env.c.cfg.noise.priority_words)
            };
            let topology = &env.c.topology;
            let entity = if topology.is_empty() {
                None
            } else {
                topology
                    .entity_fields
                    .iter()
                    .find_map(|f| ev.field(f).and_then(|v| topology.lookup(v)))
            };
            let open = !ev.severity.is_clear();
            let slot = env.store.insert(ev, t, maintenance, rule, &sig, entropy, entity);
            env.store.return_scratch(sig);
            env.stats.alerts_created += 1;
            env.stats.alerts_held += 1;
            env.emit_alert(&correlator.clusters, slot, AlertChange::Created, t);
            if open {
                if !maintenance {
                    correlator.correlate(env, slot, t);
                }
            } else {
                env.schedule_purge(slot, t);
            }
            return;
        };
        env.store.return_scratch(sig);
        match env.store.repeat(&env.c.cfg, slot, ev, t, maintenance, scorer) {
            Repeat::Cleared {
                pending,
                incident,
                flap,
            } => {
                Self::flap_step(env, correlator, slot, t, flap);
                env.emit_alert(&correlator.clusters, slot, AlertChange::Cleared, t);
                correlator.alert_cleared(env, slot);
                for c in pending {
                    correlator.leave_pending(env, c);
                }
                if let Some(c) = incident {
                    correlator.member_cleared(env, c, t);
                }
                env.schedule_purge(slot, t);
            }
            Repeat::Reraised { flap } => {
                Self::flap_step(env, correlator, slot, t, flap);
                env.emit_alert(&correlator.clusters, slot, AlertChange::Reraised, t);
                let a = env.store.alert(slot);
                if a.flapping || maintenance {
                    return;
                }
                if let Some(c) = a.incident() {
                    if correlator.rejoin_incident(env, c, slot, t) {
                        return;
                    }
                    env.store.alert_mut(slot).set_incident(None);
                }
                correlator.correlate(env, slot, t);
            }
            Repeat::SeverityChanged {
                old,
                incident,
                described,
            } => {
                env.emit_alert(&correlator.clusters, slot, AlertChange::SeverityChanged, t);
                if let Some(c) = incident {
                    correlator.member_severity_changed(env, c, old, ev.severity, t);
                    if !maintenance {
                        correlator.member_fired(env, c, slot, t);
                    }
                }
                if described != Described::Same && !maintenance {
                    correlator.described_anew(env, slot, t, described == Described::Words);
                }
            }
            Repeat::Duplicate { due, described } => {
                if due {
                    env.emit_alert(&correlator.clusters, slot, AlertChange::Deduplicated, t);
                }
                if let Some(c) = env.store.alert(slot).incident() {
                    correlator.member_repeated(env, c, slot, t);
                    if !maintenance {
                        correlator.member_fired(env, c, slot, t);
                    }
                }
                if described != Described::Same && !maintenance {
                    correlator.described_anew(env, slot, t, described == Described::Words);
                }
            }
        }
    }

    /// A clear or re-raise may have made the alert flapping (emitted), and a flapping alert
    /// is checked again a window later to see whether it settled.
    fn flap_step(env: &mut Env, correlator: &Correlator, slot: u32, t: Millis, flap: Flap) {
        if flap.became {
            env.emit_alert(&correlator.clusters, slot, AlertChange::Flapping, t);
        }
        if flap.flapping {
            let w = env.c.cfg.dedup.flapping.window_secs as i64 * 1000;
            let alert = env.store.alert(slot).id;
            env.schedule(t + w, Timer::FlapSettle { slot, alert });
        }
    }

    /// Takes the updates produced since the last call, in order.
    pub fn drain_updates(&mut self) -> std::vec::Drain<'_, Update> {
        self.env.emitter.drain()
    }

    /// Switches the output to JSON lines: each update is serialised when it happens, from
    /// borrowed state, into a buffer taken with [`Engine::take_json_updates`]; nothing goes
    /// to [`Engine::drain_updates`]. The bytes are exactly `serde_json` of each [`Update`]
    /// followed by a newline. This is the replay's mode (see [`crate::emit`]).
    pub fn set_json_output(&mut self, on: bool) {
        self.set_json_output_form(on.then_some(AlertUpdateForm::Full));
    }

    /// JSON-lines output with alert updates in the given form (`None`: owned updates, as
    /// [`Engine::drain_updates`] gives them). The compact form writes most alert changes as
    /// partial records, which [`crate::compact::AlertStates`] turns back into full ones.
    pub fn set_json_output_form(&mut self, form: Option<AlertUpdateForm>) {
        self.env.emitter.set_json_lines(form);
    }

    /// Appends the JSON lines produced since the last call to `out`.
    pub fn take_json_updates(&mut self, out: &mut Vec<u8>) {
        self.env.emitter.take_json_lines(out);
    }

    /// Appends the updates produced since the last call to `out` in their encoded form,
    /// which [`crate::emit::render_json_lines`] turns into exactly the lines
    /// [`Engine::take_json_updates`] gives — on any thread: the engine goes on meanwhile.
    pub fn take_encoded_updates(&mut self, out: &mut Vec<u8>) {
        self.env.emitter.take_encoded(out);
    }

    /// Final state of every alert still held, in creation order.
    pub fn alerts(&self) -> Vec<AlertView> {
        self.env
            .store
            .slots_in_order()
            .into_iter()
            .map(|slot| self.alert_view(slot))
            .collect()
    }

    /// Writes the final state of every alert as JSON lines (the same bytes as serialising
    /// [`Engine::alerts`], without building owned views).
    pub fn write_alerts_jsonl(&self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        for slot in self.env.store.slots_in_order() {
            serde_json::to_writer(&mut *w, &self.env.alert_view_ref(&self.correlator.clusters, slot))?;
            w.write_all(b"\n")?;
        }
        Ok(())
    }

    /// Every incident opened and not yet purged, in opening order.
    pub fn incidents(&self) -> Vec<IncidentView> {
        self.correlator
            .incident_clusters_in_order()
            .into_iter()
            .map(|id| self.correlator.incident_view(&self.env, id))
            .collect()
    }

    pub(crate) fn alert_view(&self, slot: u32) -> AlertView {
        self.env
            .alert_view_ref(&self.correlator.clusters, slot)
            .to_owned_view()
    }
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

    /// The embedded server encodes a view after releasing the engine: whatever the engine
    /// does meanwhile (repeats, clears, new alerts across many chunks, purges), the view
    /// encodes the state of the instant it was taken, byte for byte.
    #[test]
    fn a_snapshot_view_encodes_its_instant_while_the_engine_goes_on() {
        let mut e = Engine::new(&Config::default(), EngineOptions::default()).unwrap();
        let ev = |i: u64, t: i64, severity| Event {
            source: format!("h{i}").into(),
            check: "cpu".into(),
            service: Some(format!("s{}", i % 7).into()),
            severity,
            time: Some(t),
            ..Event::default()
        };
        for i in 0..3000 {
            e.process(&ev(i, 1_000 + i as i64, Severity::Major));
        }
        e.drain_updates().for_each(drop);
        let expected = e.snapshot();
        let view = e.snapshot_view();
        for i in 0..3000 {
            let severity = if i % 2 == 0 {
                Severity::Clear
            } else {
                Severity::Critical
            };
            e.process(&ev(i, 10_000 + i as i64, severity));
        }
        for i in 3000..5000 {
            e.process(&ev(i, 20_000 + i as i64, Severity::Minor));
        }
        // a day later: the cleared alerts are purged and their slots reused
        e.advance(90_000_000);
        e.process(&ev(9999, 90_000_001, Severity::Major));
        assert_ne!(e.snapshot(), expected, "the engine moved on");
        assert_eq!(view.encode(), expected);
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

    /// Format 3 writes the alerts as base64 of their binary form; snapshots of formats 1
    /// and 2 (alerts as a JSON array, each alert an array or an object) still load, and
    /// every field survives the binary form, the rare ones (rule, unknown fields) included.
    #[test]
    fn alerts_travel_in_binary_and_older_json_alerts_still_load() {
        let cfg = Config::from_toml(
            r#"
[[rules]]
name = "auth-storm"
kind = "count"
match = { check = "auth_fail" }
key = ["source"]
threshold = 2
window_secs = 60
"#,
        )
        .unwrap();
        let mut e = Engine::new(&cfg, EngineOptions::default()).unwrap();
        for i in 0..3 {
            e.process(&Event {
                source: "h1".into(),
                check: "auth_fail".into(),
                severity: Severity::Major,
                description: "login \"failed\" for ünïcode".into(),
                labels: vec![("dc".into(), "par1".into())],
                extra: vec![("ticket".into(), serde_json::json!({"n": i, "tags": ["a", null]}))],
                time: Some(1_000 + i),
                ..Event::default()
            });
        }
        e.process(&Event {
            source: "h2".into(),
            check: "cpu".into(),
            severity: Severity::Clear,
            time: Some(2_000),
            ..Event::default()
        });
        let snap = e.snapshot();
        let v: serde_json::Value = serde_json::from_slice(&snap).unwrap();
        assert!(v["alerts"].is_string(), "format 3: binary alerts");
        let restored = Engine::restore(&cfg, &snap).unwrap();
        assert_eq!(restored.alerts(), e.alerts());
        assert!(
            e.alerts().iter().any(|a| a.rule.is_some()),
            "a rule alert is in the test"
        );
        assert_eq!(restored.snapshot(), snap);

        // the same state as format 2 wrote it: alerts as a JSON array
        let mut old = v.clone();
        old["format"] = 2.into();
        old["alerts"] = serde_json::to_value(&e.env.store.alerts).unwrap();
        assert!(old["alerts"].is_array());
        let from_old = Engine::restore(&cfg, &serde_json::to_vec(&old).unwrap()).unwrap();
        assert_eq!(from_old.alerts(), e.alerts());
        assert_eq!(from_old.snapshot(), snap, "written back in format 3");

        // damaged binary: refused, saying where
        let mut bad = v;
        bad["alerts"] = "AAAA!!".into();
        let err = Engine::restore(&cfg, &serde_json::to_vec(&bad).unwrap())
            .err()
            .unwrap();
        assert!(err.to_string().contains("alerts"), "{err}");
    }

    #[test]
    fn a_snapshot_keeps_its_layout_and_restores_to_the_same_bytes() {
        let e = engine_with_an_alert();
        let snap = e.snapshot();
        let v: serde_json::Value = serde_json::from_slice(&snap).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        // the layout since format 2 (format 3 changed how `alerts` is encoded, not the
        // fields), written from the components' borrowed parts
        let mut expected = vec![
            "format",
            "options",
            "now",
            "seq",
            "next_alert",
            "next_incident",
            "next_cluster",
            "alerts",
            "free_slots",
            "interner",
            "tokens",
            "clusters",
            "timers",
            "timer_seq",
            "rules",
            "templates",
            "stats",
            "learned",
            "past",
        ];
        expected.sort_unstable();
        let mut keys = keys;
        keys.sort_unstable();
        assert_eq!(keys, expected);
        let restored = Engine::restore(&Config::default(), &snap).unwrap();
        assert_eq!(restored.snapshot(), snap);
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
