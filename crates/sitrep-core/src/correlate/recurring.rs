//! correlate::recurring: an incident whose alerts keep firing together again after quiet
//! spells is a routine pattern, not a fault, and is withdrawn.
//!
//! Why: an estate's scheduled jobs (a backup, an antivirus update, a log rotation, a scan by
//! its own tools) raise a fixed set of alerts within seconds, every so many minutes. Their
//! first run is new to the engine and looks like the start of a failure, so it forms an
//! incident. Alerts that never clear (IDS alerts, most log-derived events) bring every later
//! run as duplicates of the same alerts, which placing new alerts never sees. A failure's
//! alerts repeat without pause while it lasts (polls, re-sends) or clear; an incident *every*
//! one of whose alerts goes quiet, then fires again within a minute, and does so again, with
//! nothing new joining meanwhile, is the estate's routine — if every alert it ever held is
//! still raised and in it (at least two): one whose failure cleared, or that gave an alert
//! to another incident, is not one pattern repeating. Nobody has to have taken it up: an
//! acknowledged or assigned incident is an operator's to close.
//!
//! Withdrawing closes the incident with the reason (`IncidentSummary::withdrawn`,
//! `IncidentChange::Withdrawn`), releases its alerts (`AlertChange::Released`) and teaches
//! its checks apart, as an operator's split would, so that the same job starting on another
//! host is not grouped again on time alone.
//!
//! **Background released.** One alert of an incident that keeps firing, without a pause of
//! `release_after_secs` (30 min), for that long after every other went quiet — a host's
//! routine rule that happened to start beside an attack step — is taken out of it and
//! taught apart from the rest, if its check has never been seen to clear: a polled
//! device's alert repeats while the device is down, which is the failure itself, not
//! background to it. An alert that comes back after a long silence is no background: the
//! same rule on the same host hit again by a later attack step.
//!
//! Bounded: one small record per incident (the alerts seen in the episode under way, at
//! most the incident's size; the episodes' start times, at most `episodes`).

use super::*;

/// Repeats of an incident's alerts after quiet spells (`Cluster::recurrence`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Recurrence {
    /// The latest repeat of a current member.
    pub last_repeat: Millis,
    /// The episode under way: the time of its first repeat …
    pub episode: Option<Millis>,
    /// … and the alerts (ids) that have repeated since.
    pub seen: Vec<u64>,
    /// Start times of the episodes in which every current member repeated.
    pub episodes: Vec<Millis>,
    /// The alert that repeated last, and the latest repeat of any other alert: how long
    /// the rest of the incident has been quiet while one alert goes on firing.
    #[serde(default)]
    pub last_repeater: u64,
    #[serde(default)]
    pub other_repeat: Millis,
    /// Since when the incident's alerts have fired with no pause of `release_after_secs`
    /// (its joins count as firing).
    #[serde(default)]
    pub firing_since: Millis,
}

impl Correlator {
    /// A current member of incident `cid` (the alert at `slot`) repeated at `t`: a
    /// duplicate, not a re-raise.
    pub(crate) fn member_repeated(&mut self, env: &mut Env, cid: u64, slot: u32, t: Millis) {
        let rc = &env.c.cfg.correlation.recurring;
        if !rc.enabled {
            return;
        }
        let Some(c) = self.clusters.get_mut(&cid) else {
            return;
        };
        if c.state != ClusterState::Open || c.assignee.is_some() || c.incident.is_none() {
            return;
        }
        let quiet = (rc.quiet_secs as i64).saturating_mul(1000);
        let within = (rc.within_secs as i64).saturating_mul(1000);
        let alert = env.store.alert(slot).id;
        let last_member = c.last_time;
        let r = c.recurrence.get_or_insert_with(|| {
            Box::new(Recurrence {
                last_repeat: last_member,
                other_repeat: last_member,
                firing_since: last_member,
                ..Default::default()
            })
        });
        let last = r.last_repeat.max(last_member);
        // the latest sign of life of the incident's other alerts: a repeat, or a join
        let others_last = if r.last_repeater == alert {
            r.other_repeat
        } else {
            r.last_repeat
        }
        .max(last_member);
        if r.last_repeater != alert {
            r.other_repeat = r.last_repeat;
            r.last_repeater = alert;
        }
        let release = (rc.release_after_secs as i64).saturating_mul(1000);
        if t - last >= release {
            r.firing_since = t;
        }
        r.last_repeat = r.last_repeat.max(t);
        // background: it has been firing without pause since before the rest went quiet —
        // not an alert that comes back after a long silence (the same rule on the same host
        // hit again by a later attack step)
        if release > 0 && t - others_last >= release && r.firing_since <= others_last {
            if self.background(env, cid, slot) {
                self.release(env, cid, slot, t, t - others_last);
                return;
            }
            // not background, and nothing changes that before a member joins or leaves
            // (which resets this record): not asked again on every later duplicate
            let c = self.clusters.get_mut(&cid).expect("cluster");
            c.recurrence.as_mut().expect("set above").firing_since = t;
        }
        let c = self.clusters.get_mut(&cid).expect("cluster");
        let r = c.recurrence.as_mut().expect("set above");
        match r.episode {
            Some(start) if t - start <= within => {}
            _ if t - last >= quiet => {
                r.episode = Some(t);
                r.seen.clear();
            }
            _ => {
                // still busy, or an episode that did not bring every alert back in time
                r.episode = None;
                r.seen.clear();
                return;
            }
        }
        if r.seen.contains(&alert) {
            return;
        }
        r.seen.push(alert);
        let seen = r.seen.len();
        if seen < c.alert_count {
            // (the count below is at most this: not worth a walk of the members yet)
            return;
        }
        // every alert the incident ever held, still raised and still in it: an incident
        // whose failure cleared, or that lost an alert to another, is not one pattern
        // repeating, whatever its remaining alerts do
        let all = c.alert_count;
        let raised = self.raised_member_count(env, cid);
        if seen < raised {
            return;
        }
        let c = self.clusters.get_mut(&cid).expect("cluster");
        if raised < 2 || raised < all {
            c.recurrence = None;
            return;
        }
        let r = c.recurrence.as_mut().expect("set above");
        let start = r.episode.take().expect("an episode is under way");
        r.seen.clear();
        r.episodes.push(start);
        if r.episodes.len() >= rc.episodes.max(1) as usize {
            self.withdraw(env, cid, t);
        }
    }

    /// The alert at `slot` cleared: its check is a state's (see `background`).
    pub(crate) fn alert_cleared(&mut self, env: &Env, slot: u32) {
        let rc = &env.c.cfg.correlation.recurring;
        if !rc.enabled || rc.release_after_secs == 0 {
            return;
        }
        let class = learned::hash_value(env.store.interner.resolve(env.store.alert(slot).check)) | 1;
        self.learned.class_cleared(&env.c.cfg.correlation.learned, class);
    }

    /// Whether the alert at `slot`, firing on while the rest of `cid` is quiet, is
    /// background to it: its check has never been seen to clear (its repeats are events,
    /// not a state re-asserted, as a polled device's are while it is down), and every
    /// alert the incident held is still raised and in it (nothing cleared, nothing left:
    /// the rest is quiet, not over), two at least.
    fn background(&self, env: &Env, cid: u64, slot: u32) -> bool {
        let a = env.store.alert(slot);
        let class = learned::hash_value(env.store.interner.resolve(a.check)) | 1;
        // once the record of checks that clear is full, a check missing from it may be a
        // state's: nothing is released any more
        if self.learned.cleared_classes.contains(&class)
            || self.learned.cleared_classes.len() >= env.c.cfg.correlation.learned.max_classes
        {
            return false;
        }
        let all = self.clusters[&cid].alert_count;
        all >= 2 && self.raised_member_count(env, cid) == all
    }

    /// Takes the alert at `slot` out of `cid` as background: it kept firing `quiet_for`
    /// after every other alert of the incident went quiet. Its check is taught apart from
    /// the incident's others, as an operator's move out would.
    fn release(&mut self, env: &mut Env, cid: u64, slot: u32, t: Millis, quiet_for: Millis) {
        let alert = env.store.alert(slot).id;
        let alert_id = env.alert_id(alert);
        let number = self.clusters[&cid].incident.expect("an incident");
        let leaving = self.classes_where(cid, |id| id == alert);
        let staying = self.classes_where(cid, |id| id != alert);
        let lesson = format!(
            "the release of {alert_id} from {} as background on {}",
            env.incident_id(number),
            crate::actions::day(t)
        );
        self.teach(env, &leaving, &staying, false, &lesson);
        let c = self.clusters.get_mut(&cid).expect("cluster");
        let check = c
            .members
            .iter()
            .find(|m| m.alert == alert)
            .map(|m| format!("`{}` on {}", m.check, m.source))
            .unwrap_or_default();
        let root = c.members.get(c.root).map(|m| m.alert);
        c.members.retain(|m| m.alert != alert);
        c.recount();
        let root_changed = match root.and_then(|r| c.members.iter().position(|m| m.alert == r)) {
            Some(i) => {
                c.root = i;
                false
            }
            None => {
                c.root = 0;
                c.root_reason = format!("earliest alert left once {alert_id} was released as background");
                true
            }
        };
        // a topology recipe finds the cluster by its root's entity too (as `join` does)
        let reindex = root_changed
            && c.indexed
            && env.c.recipes[c.recipe as usize].kind == crate::config::RecipeKind::Topology;
        if reindex {
            self.unindex_cluster(env, cid);
            self.index_cluster(env, cid);
        }
        env.store.alert_mut(slot).set_incident(None);
        env.emit_alert(&self.clusters, slot, AlertChange::Released, t);
        self.refresh_severity(env, cid);
        self.timeline(
            cid,
            t,
            format!(
                "released {alert_id} ({check}) as background: it kept firing for {} min after \
                 every other alert of this incident went quiet",
                quiet_for / 60_000
            ),
            Some(alert_id),
        );
        self.emit_incident(env, cid, IncidentChange::AlertMoved, t, Vec::new());
    }

    /// Distinct alerts of `cid` whose current occurrence is in it and raised.
    fn raised_member_count(&self, env: &Env, cid: u64) -> usize {
        let mut ids: Vec<u64> = self
            .current_members(env, cid)
            .filter(|a| a.open)
            .map(|a| a.id)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
    }

    /// Closes `cid` as a routine pattern, releases its alerts and teaches its checks apart.
    fn withdraw(&mut self, env: &mut Env, cid: u64, t: Millis) {
        let rc = &env.c.cfg.correlation.recurring;
        let c = &self.clusters[&cid];
        let episodes: Vec<String> = c
            .recurrence
            .as_ref()
            .map(|r| r.episodes.iter().map(|&e| clock(e)).collect())
            .unwrap_or_default();
        let n = self.raised_member_count(env, cid);
        let reason = format!(
            "withdrawn as routine: all {n} of its alerts fired together again at {}, each time \
             after {} min or more with none of them firing, and nothing new joined — a \
             recurring pattern (a scheduled job, say), not a fault",
            join_words(&episodes),
            rc.quiet_secs / 60
        );
        let number = c.incident.expect("an incident");
        let lesson = format!(
            "the withdrawal of {} as routine on {}",
            env.incident_id(number),
            crate::actions::day(t)
        );
        let classes = self.classes_of(cid, &[]);
        for (i, &x) in classes.iter().enumerate() {
            self.teach(env, &[x], &classes[i + 1..], false, &lesson);
        }
        let slots: Vec<u32> = self.current_entries(env, cid).map(|m| m.slot).collect();
        let c = self.clusters.get_mut(&cid).expect("cluster");
        c.state = ClusterState::Closed;
        c.withdrawn = Some(reason.clone());
        self.unindex_cluster(env, cid);
        for &slot in &slots {
            if env.store.alert(slot).incident() == Some(cid) {
                env.store.alert_mut(slot).set_incident(None);
                env.emit_alert(&self.clusters, slot, AlertChange::Released, t);
            }
        }
        self.timeline(cid, t, reason, None);
        self.emit_incident(env, cid, IncidentChange::Withdrawn, t, Vec::new());
        let retention = env.c.cfg.dedup.retention_secs as i64 * 1000;
        env.schedule(t + retention, Timer::IncidentPurge(cid));
    }
}

/// `HH:MM:SS` of an event time (UTC), as an operator reads it beside the incident's day.
fn clock(t: Millis) -> String {
    crate::time::format_rfc3339(t).chars().skip(11).take(8).collect()
}

/// "a", "a and b", "a, b and c".
fn join_words(words: &[String]) -> String {
    match words {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use crate::update::{AlertChange, IncidentChange, IncidentState};
    use crate::{Config, Engine, EngineOptions, Event, Severity, Update};

    /// Two rules on one host whose checks only ever start together: a learned incident.
    fn event(check: &str, secs: i64) -> Event {
        Event {
            source: "ws-01".into(),
            check: check.into(),
            description: format!("{check} on ws-01 at job 42"),
            severity: Severity::Warning,
            time: Some(1_800_000_000_000 + secs * 1000),
            ..Event::default()
        }
    }

    fn config(episodes: u32) -> Config {
        Config::from_toml(&format!(
            r#"
            [[correlation.recipes]]
            name = "same-source"
            kind = "attribute"
            equal = ["source"]
            window_secs = 60
            min_alerts = 2
            [correlation.recurring]
            quiet_secs = 300
            within_secs = 60
            episodes = {episodes}
            "#
        ))
        .expect("config")
    }

    /// Runs the job at each start time (two alerts 2 s apart) and returns the updates.
    fn run(engine: &mut Engine, starts: &[i64]) -> Vec<Update> {
        let mut out = Vec::new();
        for &s in starts {
            engine.process(&event("Backup: archive written", s));
            engine.process(&event("Cron: job started by root", s + 2));
            out.extend(engine.drain_updates());
        }
        out
    }

    fn withdrawn(u: &[Update]) -> Vec<String> {
        u.iter()
            .filter_map(|u| match u {
                Update::Incident(i) if i.change == IncidentChange::Withdrawn => i.incident.withdrawn.clone(),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_job_that_runs_again_twice_after_quiet_spells_is_withdrawn() {
        let mut engine = Engine::new(&config(2), EngineOptions::default()).expect("engine");
        let first = run(&mut engine, &[0]);
        assert!(first
            .iter()
            .any(|u| matches!(u, Update::Incident(i) if i.change == IncidentChange::Opened)));
        // the second run is one episode: not yet
        let second = run(&mut engine, &[1800]);
        assert!(withdrawn(&second).is_empty());
        // the third: withdrawn, the alerts released, the reason in words
        let third = run(&mut engine, &[3600]);
        let why = withdrawn(&third);
        assert_eq!(why.len(), 1, "{third:?}");
        assert!(
            why[0].contains("all 2 of its alerts fired together again at 08:30:00 and 09:00:00"),
            "{}",
            why[0]
        );
        let released = third
            .iter()
            .filter(|u| matches!(u, Update::Alert(a) if a.change == AlertChange::Released && a.alert.incident.is_none()))
            .count();
        assert_eq!(released, 2);
        let inc = &engine.incidents()[0];
        assert_eq!(inc.summary.state, IncidentState::Closed);
        assert!(inc
            .timeline
            .last()
            .is_some_and(|e| e.what.starts_with("withdrawn as routine")));
        assert!(engine.alerts().iter().all(|a| a.incident.is_none()));
        // its alerts are gone from it: reopened, it would be an empty open incident
        let reopen = crate::actions::Command {
            incident: inc.summary.id.to_string(),
            action: crate::actions::Action::Reopen,
            by: "ops".into(),
            time: 1_800_000_000_000 + 3_700_000,
        };
        assert!(engine.command(&reopen).is_err());
    }

    #[test]
    fn alerts_that_never_go_quiet_or_a_new_member_keep_the_incident() {
        // repeats every minute: never a quiet spell, never an episode
        let mut engine = Engine::new(&config(1), EngineOptions::default()).expect("engine");
        let starts: Vec<i64> = (0..60).map(|m| m * 60).collect();
        assert!(withdrawn(&run(&mut engine, &starts)).is_empty());

        // an alert of the incident that does not come back: no episode is complete
        let mut engine = Engine::new(&config(1), EngineOptions::default()).expect("engine");
        run(&mut engine, &[0]);
        engine.process(&event("Integrity checksum changed", 30));
        assert_eq!(engine.incidents()[0].summary.alert_count, 3);
        assert!(withdrawn(&run(&mut engine, &[1800, 3600, 5400])).is_empty());

        // only part of the incident coming back is no episode
        let mut engine = Engine::new(&config(1), EngineOptions::default()).expect("engine");
        run(&mut engine, &[0]);
        engine.process(&event("Backup: archive written", 1800));
        engine.process(&event("Backup: archive written", 3600));
        assert!(withdrawn(&engine.drain_updates().collect::<Vec<_>>()).is_empty());
    }

    #[test]
    fn an_incident_someone_took_up_is_not_withdrawn() {
        let mut engine = Engine::new(&config(1), EngineOptions::default()).expect("engine");
        run(&mut engine, &[0]);
        let id = engine.incidents()[0].summary.id.to_string();
        engine
            .command(&crate::actions::Command {
                incident: id,
                action: crate::actions::Action::Acknowledge,
                by: "ops".into(),
                time: 1_800_000_010_000,
            })
            .expect("ack");
        assert!(withdrawn(&run(&mut engine, &[1800, 3600])).is_empty());
    }

    fn on(host: &str, check: &str, secs: i64, severity: Severity) -> Event {
        Event {
            source: host.into(),
            description: format!("{check} on {host}"),
            severity,
            ..event(check, secs)
        }
    }

    /// An attack step's alert (it stops after two minutes) and a host's routine rule that
    /// started beside it, firing every minute from then on.
    fn attack_with_routine_beside(engine: &mut Engine, routine_pause: Option<(i64, i64)>) -> Vec<Update> {
        let mut out = Vec::new();
        for m in 0..120 {
            let secs = m * 60;
            if m < 3 {
                engine.process(&on("ws-01", "sshd: brute force", secs, Severity::Warning));
            }
            if routine_pause.is_none_or(|(from, to)| !(from..to).contains(&secs)) {
                engine.process(&on(
                    "ws-01",
                    "PAM: login session opened",
                    secs + 5,
                    Severity::Warning,
                ));
            }
            out.extend(engine.drain_updates());
        }
        out
    }

    fn in_incident(engine: &Engine, check: &str) -> bool {
        engine
            .alerts()
            .iter()
            .any(|a| a.check == check && a.incident.is_some())
    }

    #[test]
    fn an_alert_firing_on_long_after_the_rest_went_quiet_is_released_as_background() {
        let mut engine = Engine::new(&config(2), EngineOptions::default()).expect("engine");
        let u = attack_with_routine_beside(&mut engine, None);
        assert!(in_incident(&engine, "sshd: brute force"));
        assert!(!in_incident(&engine, "PAM: login session opened"), "released");
        assert!(u
            .iter()
            .any(|u| matches!(u, Update::Alert(a) if a.change == AlertChange::Released)));
        let inc = &engine.incidents()[0];
        assert_eq!(inc.summary.alert_count, 1);
        assert_eq!(inc.summary.root_cause.check, "sshd: brute force");
        let why = &inc.timeline.last().expect("an entry").what;
        assert!(
            why.contains("(`PAM: login session opened` on ws-01) as background: it kept firing for 30 min"),
            "{why}"
        );
    }

    #[test]
    fn a_state_that_clears_or_an_alert_back_after_a_silence_is_no_background() {
        // the routine check has been seen to clear elsewhere: its repeats re-assert a state
        let mut engine = Engine::new(&config(2), EngineOptions::default()).expect("engine");
        engine.process(&on("db-9", "PAM: login session opened", -600, Severity::Warning));
        engine.process(&on("db-9", "PAM: login session opened", -590, Severity::Clear));
        attack_with_routine_beside(&mut engine, None);
        assert!(in_incident(&engine, "PAM: login session opened"));

        // silent from minute 10 to 50, then firing again: hit anew, not background
        let mut engine = Engine::new(&config(2), EngineOptions::default()).expect("engine");
        attack_with_routine_beside(&mut engine, Some((600, 3000)));
        assert!(in_incident(&engine, "PAM: login session opened"));
    }

    #[test]
    fn the_recurrence_survives_a_snapshot() {
        // taken after one episode and in the middle of the next: both engines withdraw at
        // the same event, with the same words
        let cfg = config(2);
        let mut engine = Engine::new(&cfg, EngineOptions::default()).expect("engine");
        run(&mut engine, &[0, 1800]);
        engine.process(&event("Backup: archive written", 3600));
        engine.drain_updates().for_each(drop);
        let snap = engine.snapshot();
        let mut restored = Engine::restore(&cfg, &snap).expect("restore");
        let cron = event("Cron: job started by root", 3602);
        engine.process(&cron);
        restored.process(&cron);
        let a: Vec<Update> = engine.drain_updates().collect();
        let b: Vec<Update> = restored.drain_updates().collect();
        assert_eq!(a, b);
        assert_eq!(withdrawn(&a).len(), 1, "{a:?}");
    }
}
