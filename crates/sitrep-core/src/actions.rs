//! actions: what operators do to incidents — acknowledge, assign, resolve, close, reopen,
//! comment, merge two incidents, split alerts out, move an alert. A [`Command`] is an input
//! like an event: it carries its time, is applied by [`Engine::apply`] in order, lands in
//! the incident's timeline with who and when, emits incident updates, and is part of the
//! state a snapshot carries. The server (issue #3) journals commands like events; on Kafka
//! (issue #4) they travel on a commands topic to the partition that owns the incident.

use crate::correlate::Correlator;
use crate::correlate::{ClusterState, Member};
use crate::engine::Env;
use crate::time::Millis;
use crate::timers::Timer;
use crate::update::{Explanation, IncidentChange};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    Acknowledge,
    Assign {
        to: String,
    },
    Resolve,
    Close,
    Reopen,
    Comment {
        text: String,
    },
    /// Merge incident `from` into the command's incident; `from` is closed.
    Merge {
        from: String,
    },
    /// Take these alerts (ids) out of the incident into a new incident.
    Split {
        alerts: Vec<String>,
    },
    /// Move one alert from the command's incident to incident `to`.
    MoveAlert {
        alert: String,
        to: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Command {
    /// Incident id, e.g. `INC0-12`.
    pub incident: String,
    /// Who: a user or an integration.
    pub by: String,
    /// When (ms); moves the engine's clock like an event's time.
    pub time: Millis,
    #[serde(flatten)]
    pub action: Action,
}

/// The body of an operator's action request (`POST /api/v1/incidents/{id}/actions`), the
/// same for the server and the Kafka worker: the action, and who (default `api`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ActionRequest {
    #[serde(default)]
    pub by: Option<String>,
    #[serde(flatten)]
    pub action: Action,
}

impl ActionRequest {
    /// What the request's action asks, as a command on `incident` at `time`.
    pub fn into_command(self, incident: String, time: Millis) -> Command {
        Command {
            incident,
            by: self.by.filter(|b| !b.is_empty()).unwrap_or_else(|| "api".into()),
            time,
            action: self.action,
        }
    }

    /// What a request body that does not parse is told: the actions and their fields.
    pub const HELP: &'static str = "acknowledge, assign{to}, resolve, close, reopen, comment{text}, merge{from}, split{alerts}, move_alert{alert,to}";
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CommandError {
    #[error("no incident `{0}`")]
    UnknownIncident(String),
    #[error("alert `{alert}` is not a current member of `{incident}`")]
    NotAMember { alert: String, incident: String },
    #[error("incident `{incident}` is {state}: cannot {action}")]
    InvalidState {
        incident: String,
        state: &'static str,
        action: &'static str,
    },
    #[error("{0}")]
    Invalid(String),
}

fn state_name(s: ClusterState) -> &'static str {
    match s {
        ClusterState::Pending => "pending",
        ClusterState::Open => "open",
        ClusterState::Acknowledged => "acknowledged",
        ClusterState::Resolved => "resolved",
        ClusterState::Closed => "closed",
    }
}

impl Correlator {
    pub(crate) fn cluster_of_incident(&self, env: &Env, id: &str) -> Result<u64, CommandError> {
        let unknown = || CommandError::UnknownIncident(id.to_string());
        let parsed: crate::id::IncidentId = id.parse().map_err(|_| unknown())?;
        if parsed.partition != env.options.partition {
            return Err(unknown());
        }
        let n = parsed.number;
        self.clusters
            .iter()
            .find(|(_, c)| c.incident == Some(n))
            .map(|(id, _)| *id)
            .ok_or_else(unknown)
    }

    fn alert_number(&self, env: &Env, id: &str) -> Option<u64> {
        let parsed: crate::id::AlertId = id.parse().ok()?;
        (parsed.partition == env.options.partition).then_some(parsed.number)
    }

    fn note(&mut self, cid: u64, t: Millis, what: String, by: &str) {
        self.timeline(cid, t, what, None);
        if let Some(e) = self.clusters.get_mut(&cid).and_then(|c| c.timeline.last_mut()) {
            e.by = Some(by.to_string());
        }
    }

    /// Applies an operator command, the clock already moved to its time by the engine
    /// (see [`crate::Engine::command`]).
    pub(crate) fn command(&mut self, env: &mut Env, cmd: &Command) -> Result<(), CommandError> {
        let t = cmd.time;
        // the timers just fired may have purged it
        let cid = self.cluster_of_incident(env, &cmd.incident)?;
        let state = self.clusters[&cid].state;
        let invalid = |action| CommandError::InvalidState {
            incident: cmd.incident.clone(),
            state: state_name(state),
            action,
        };
        let by = cmd.by.as_str();
        match &cmd.action {
            Action::Acknowledge => {
                if state != ClusterState::Open {
                    return Err(invalid("acknowledge"));
                }
                self.clusters.get_mut(&cid).expect("cluster").state = ClusterState::Acknowledged;
                self.note(cid, t, "acknowledged".into(), by);
                self.emit_incident(env, cid, IncidentChange::Acknowledged, t, Vec::new());
            }
            Action::Assign { to } => {
                if state == ClusterState::Closed {
                    return Err(invalid("assign"));
                }
                self.clusters.get_mut(&cid).expect("cluster").assignee = Some(to.clone());
                self.note(cid, t, format!("assigned to {to}"), by);
                self.emit_incident(env, cid, IncidentChange::Assigned, t, Vec::new());
            }
            Action::Comment { text } => {
                self.note(cid, t, format!("comment: {text}"), by);
                self.emit_incident(env, cid, IncidentChange::Commented, t, Vec::new());
            }
            Action::Resolve => {
                if !matches!(state, ClusterState::Open | ClusterState::Acknowledged) {
                    return Err(invalid("resolve"));
                }
                let c = self.clusters.get_mut(&cid).expect("cluster");
                c.state = ClusterState::Resolved;
                c.resolved_at = Some(t);
                self.unindex_cluster(env, cid);
                self.note(cid, t, "resolved by operator".into(), by);
                self.emit_incident(env, cid, IncidentChange::Resolved, t, Vec::new());
                let grace = env.c.cfg.correlation.reopen_grace_secs as i64 * 1000;
                env.schedule(t + grace, Timer::IncidentClose(cid));
            }
            Action::Close => {
                if state == ClusterState::Closed {
                    return Err(invalid("close"));
                }
                self.close_now(env, cid, t, "closed by operator".into(), by);
            }
            Action::Reopen => {
                // a withdrawn incident released its alerts: reopened it would be an empty
                // open incident that nothing can resolve
                if !matches!(state, ClusterState::Resolved | ClusterState::Closed)
                    || self.clusters[&cid].withdrawn.is_some()
                {
                    return Err(invalid("reopen"));
                }
                let c = self.clusters.get_mut(&cid).expect("cluster");
                c.state = ClusterState::Open;
                c.resolved_at = None;
                c.reopen_count += 1;
                self.note(cid, t, "reopened by operator".into(), by);
                self.emit_incident(env, cid, IncidentChange::Reopened, t, Vec::new());
            }
            Action::Merge { from } => {
                let other = self.cluster_of_incident(env, from)?;
                if other == cid {
                    return Err(CommandError::Invalid(
                        "cannot merge an incident into itself".into(),
                    ));
                }
                if state == ClusterState::Closed {
                    return Err(invalid("merge into"));
                }
                let lesson = format!("the merge of {from} into {} on {}", cmd.incident, day(t));
                let (ours, theirs) = (self.classes_of(cid, &[]), self.classes_of(other, &[]));
                self.teach(env, &ours, &theirs, true, &lesson);
                let moved: Vec<Member> = self.clusters[&other].members.clone();
                let slots: Vec<(u32, u64)> = moved.iter().map(|m| (m.slot, m.alert)).collect();
                self.take_members(env, cid, other, &slots, t, "merged", by, false)?;
                self.note(cid, t, format!("merged {from} into this incident"), by);
                let into_id = cmd.incident.clone();
                self.close_now(env, other, t, format!("merged into {into_id}"), by);
                self.emit_incident(env, cid, IncidentChange::Merged, t, Vec::new());
            }
            Action::Split { alerts } => {
                if alerts.is_empty() {
                    return Err(CommandError::Invalid("split needs at least one alert".into()));
                }
                let slots = self.current_member_slots(env, cid, &cmd.incident, alerts)?;
                if slots.len() == self.current_member_count(env, cid) {
                    return Err(CommandError::Invalid(
                        "split would take every alert: nothing would remain".into(),
                    ));
                }
                let out: Vec<u64> = slots.iter().map(|(_, id)| *id).collect();
                let staying = self.classes_of(cid, &out);
                let leaving = self.classes_of_alerts(cid, &out);
                let lesson = format!("the split of {} on {}", cmd.incident, day(t));
                self.teach(env, &leaving, &staying, false, &lesson);
                let new_cid = self.new_incident_like(env, cid, t);
                self.take_members(env, new_cid, cid, &slots, t, "split", by, true)?;
                let new_id = env.incident_id(self.clusters[&new_cid].incident.expect("numbered"));
                self.note(
                    cid,
                    t,
                    format!("{} alert(s) split out into {new_id}", slots.len()),
                    by,
                );
                self.note(new_cid, t, format!("split out of {}", cmd.incident), by);
                self.emit_incident(env, cid, IncidentChange::Split, t, Vec::new());
                let added = self.clusters[&new_cid]
                    .members
                    .iter()
                    .map(|m| self.member_view(env, m))
                    .collect();
                self.emit_incident(env, new_cid, IncidentChange::Opened, t, added);
            }
            Action::MoveAlert { alert, to } => {
                let target = self.cluster_of_incident(env, to)?;
                if target == cid {
                    return Err(CommandError::Invalid("the alert is already there".into()));
                }
                if self.clusters[&target].state == ClusterState::Closed {
                    return Err(CommandError::InvalidState {
                        incident: to.clone(),
                        state: "closed",
                        action: "move into",
                    });
                }
                let slots =
                    self.current_member_slots(env, cid, &cmd.incident, std::slice::from_ref(alert))?;
                if self.clusters[&cid].members.iter().all(|m| m.alert == slots[0].1) {
                    return Err(CommandError::Invalid(
                        "moving its only alert would leave the incident empty: merge it instead".into(),
                    ));
                }
                let out = [slots[0].1];
                let (staying, moving) = (self.classes_of(cid, &out), self.classes_of_alerts(cid, &out));
                let joining = self.classes_of(target, &[]);
                let lesson = format!("the move of {alert} from {} to {to} on {}", cmd.incident, day(t));
                self.teach(env, &moving, &staying, false, &lesson);
                self.teach(env, &moving, &joining, true, &lesson);
                self.take_members(env, target, cid, &slots, t, "moved", by, true)?;
                self.note(cid, t, format!("{alert} moved to {to}"), by);
                self.note(target, t, format!("{alert} moved here from {}", cmd.incident), by);
                self.emit_incident(env, cid, IncidentChange::AlertMoved, t, Vec::new());
                self.emit_incident(env, target, IncidentChange::AlertMoved, t, Vec::new());
            }
        }
        Ok(())
    }

    /// The distinct classes (checks, as the learned recipe hashes them) of a cluster's
    /// members other than the alerts `except`; at most 16, the first members first.
    pub(crate) fn classes_of(&self, cid: u64, except: &[u64]) -> Vec<u64> {
        self.classes_where(cid, |id| !except.contains(&id))
    }

    /// The distinct classes of the members that are the alerts `only`.
    fn classes_of_alerts(&self, cid: u64, only: &[u64]) -> Vec<u64> {
        self.classes_where(cid, |id| only.contains(&id))
    }

    pub(crate) fn classes_where(&self, cid: u64, keep: impl Fn(u64) -> bool) -> Vec<u64> {
        let mut v: Vec<u64> = Vec::new();
        for m in &self.clusters[&cid].members {
            let class = crate::correlate::learned::hash_value(&m.check) | 1;
            if keep(m.alert) && !v.contains(&class) && v.len() < 16 {
                v.push(class);
            }
        }
        v
    }

    /// An operator's merge, split or move as a lesson for the learned recipe: every class of
    /// `a` with every class of `b`, together or apart (`correlate::cooccur`).
    pub(crate) fn teach(&mut self, env: &Env, a: &[u64], b: &[u64], together: bool, lesson: &str) {
        let cfg = &env.c.cfg.correlation.learned;
        if !cfg.cooccurrence {
            return;
        }
        for &x in a {
            for &y in b {
                self.learned.costarts.teach(cfg, x, y, together, lesson);
            }
        }
    }

    pub(crate) fn close_now(&mut self, env: &mut Env, cid: u64, t: Millis, what: String, by: &str) {
        let c = self.clusters.get_mut(&cid).expect("cluster");
        c.state = ClusterState::Closed;
        self.unindex_cluster(env, cid);
        self.note(cid, t, what, by);
        self.emit_incident(env, cid, IncidentChange::Closed, t, Vec::new());
        let retention = env.c.cfg.dedup.retention_secs as i64 * 1000;
        env.schedule(t + retention, Timer::IncidentPurge(cid));
    }

    fn current_member_count(&self, env: &Env, cid: u64) -> usize {
        let mut ids: Vec<u64> = self.current_entries(env, cid).map(|m| m.alert).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
    }

    /// The (slot, alert) of each named alert whose current occurrence is in `cid`.
    fn current_member_slots(
        &self,
        env: &Env,
        cid: u64,
        incident: &str,
        alerts: &[String],
    ) -> Result<Vec<(u32, u64)>, CommandError> {
        let mut out = Vec::new();
        for a in alerts {
            let not_member = || CommandError::NotAMember {
                alert: a.clone(),
                incident: incident.to_string(),
            };
            let n = self.alert_number(env, a).ok_or_else(not_member)?;
            let m = self.clusters[&cid]
                .members
                .iter()
                .find(|m| m.alert == n)
                .ok_or_else(not_member)?;
            if env
                .store
                .live_alert(m.slot, n)
                .is_none_or(|al| al.incident() != Some(cid))
            {
                return Err(not_member());
            }
            if !out.contains(&(m.slot, n)) {
                out.push((m.slot, n));
            }
        }
        Ok(out)
    }

    /// A new, empty, open incident of the same recipe (for a split).
    fn new_incident_like(&mut self, env: &mut Env, cid: u64, t: Millis) -> u64 {
        let mut c = self.clusters[&cid].clone();
        let n = self.next_incident;
        self.next_incident += 1;
        env.stats.incidents_opened += 1;
        c.incident = Some(n);
        c.state = ClusterState::Open;
        c.members.clear();
        c.timeline.clear();
        c.reopen_count = 0;
        c.resolved_at = None;
        c.indexed = false;
        c.indexed_entities.clear();
        c.first_time = t;
        c.last_time = t;
        c.root = 0;
        c.root_reason = "chosen by operator split".into();
        c.recount();
        let new_cid = self.next_cluster;
        self.next_cluster += 1;
        self.clusters.insert(new_cid, c);
        new_cid
    }

    /// Moves the current occurrences of `slots` from cluster `from` to cluster `to`; with
    /// `remove`, their member entries leave `from` (a merged-away incident keeps them as
    /// its history).
    #[allow(clippy::too_many_arguments)]
    fn take_members(
        &mut self,
        env: &mut Env,
        to: u64,
        from: u64,
        slots: &[(u32, u64)],
        t: Millis,
        kind: &str,
        by: &str,
        remove: bool,
    ) -> Result<(), CommandError> {
        let n_to = self.clusters[&to].incident.expect("target is an incident");
        let recipe = env.c.recipes[self.clusters[&to].recipe as usize].name.clone();
        for &(slot, id) in slots {
            let Some(a) = env.store.live_alert(slot, id) else {
                continue;
            };
            if a.incident() != Some(from) {
                continue;
            }
            let member = self.member_for(
                env,
                slot,
                t,
                Explanation {
                    compared_with: Some(format!("operator {by}")),
                    ..Explanation::new(recipe.clone(), kind)
                },
            );
            self.move_member(env, to, n_to, slot, member, t);
        }
        if remove {
            let src = self.clusters.get_mut(&from).expect("source");
            let moving: Vec<u64> = slots.iter().map(|(_, id)| *id).collect();
            src.members.retain(|m| !moving.contains(&m.alert));
            src.recount();
        }
        self.refresh_severity(env, from);
        self.refresh_severity(env, to);
        Ok(())
    }
}

/// The day of an event time, as lessons name it (`2026-12-03`).
pub(crate) fn day(t: Millis) -> String {
    crate::time::format_rfc3339(t).chars().take(10).collect()
}
