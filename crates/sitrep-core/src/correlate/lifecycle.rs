//! correlate::lifecycle: windows ending, severity as members change, resolve, reraise and
//! reopen, close and purge, the timeline.

use super::*;

/// How long past its latest member an incident whose alerts keep firing stays open to
/// alerts on its sources, in windows (`Correlator::member_fired`). Chosen on the tuning
/// sets: 2 still split long web scans, 5 and 10 let more in (docs/correlation.md, "An
/// incident whose alerts keep firing stays open to its hosts").
pub(crate) const FIRING_WINDOWS: i64 = 3;

impl Correlator {
    pub(crate) fn on_window_end(&mut self, env: &mut Env, cid: u64) {
        let Some(c) = self.clusters.get(&cid) else {
            return;
        };
        // a later timer is set for whichever end is later
        if env.now < c.open_until() {
            return;
        }
        if c.state == ClusterState::Pending {
            self.dissolve(env, cid);
        } else {
            self.unindex_cluster(env, cid);
        }
    }

    /// A current member of incident `cid` fired again at `t` (a duplicate or a change of
    /// severity): an incident whose alerts keep firing is still happening, so it stays open
    /// past its window — `window_secs` after this sign of life, at most
    /// [`FIRING_WINDOWS`] windows after its latest member and `max_window_secs` after its
    /// first — to alerts on a source it already holds (`kept_open_for`): a scan that reaches
    /// new rules on a host a minute or two apart stays one incident. Alerts elsewhere keep to
    /// the window (a later fault downstream is not this one because this one's alerts are
    /// still up). Only an informative member's repeats count (chatter taken along would hold
    /// an incident open, as it may not extend it by joining either), and the time moves on
    /// in steps of half a window: a member firing every second costs a timer per half
    /// window, not one per duplicate.
    pub(crate) fn member_fired(&mut self, env: &mut Env, cid: u64, slot: u32, t: Millis) {
        let Some(c) = self.clusters.get(&cid) else {
            return;
        };
        let r = &env.c.recipes[c.recipe as usize];
        if r.kind != RecipeKind::Learned
            || !matches!(c.state, ClusterState::Open | ClusterState::Acknowledged)
            || !c.indexed
        {
            return;
        }
        let open_until = c.open_until();
        let source = env.store.interner.resolve(env.store.alert(slot).source);
        let mine = c.firing.iter().position(|f| *f.source == *source);
        let until = mine.map_or(c.window_end, |i| c.firing[i].until.max(c.window_end));
        if t > open_until || until - t > r.window / 2 {
            return;
        }
        let end = (t + r.window)
            .min(c.last_time + FIRING_WINDOWS * r.window)
            .min(c.first_time + r.max_window);
        if end <= until || !self.informative(env, env.store.alert(slot)) {
            return;
        }
        let source: Box<str> = source.into();
        let c = self.clusters.get_mut(&cid).expect("cluster");
        match mine {
            Some(i) => c.firing[i].until = end,
            None => c.firing.push(KeptOpen { source, until: end }),
        }
        if end > open_until {
            env.schedule(end, Timer::ClusterWindow(cid));
        }
    }

    /// The members whose current occurrence belongs to this incident.
    pub(super) fn current_members<'a>(&'a self, env: &'a Env, cid: u64) -> impl Iterator<Item = &'a Alert> {
        self.current_entries(env, cid)
            .filter_map(move |m| env.store.live_alert(m.slot, m.alert))
    }

    /// The member entries whose alert's current occurrence belongs to this incident (an
    /// alert re-raised into it has an entry per occurrence).
    pub(crate) fn current_entries<'a>(&'a self, env: &'a Env, cid: u64) -> impl Iterator<Item = &'a Member> {
        self.clusters[&cid].members.iter().filter(move |m| {
            env.store
                .live_alert(m.slot, m.alert)
                .is_some_and(|a| a.incident() == Some(cid))
        })
    }

    pub(crate) fn refresh_severity(&mut self, env: &mut Env, cid: u64) -> bool {
        let sev = self
            .current_members(env, cid)
            .filter(|a| a.open)
            .map(|a| a.severity)
            .max()
            .unwrap_or(Severity::Clear);
        let c = self.clusters.get_mut(&cid).expect("cluster");
        c.max_severity = c.max_severity.max(sev);
        let changed = c.severity != sev;
        c.severity = sev;
        changed
    }

    /// A member's severity moved from `old` to `new` while open: O(1) unless the incident's
    /// severity was the old one and may fall.
    pub(crate) fn member_severity_changed(
        &mut self,
        env: &mut Env,
        cid: u64,
        old: Severity,
        new: Severity,
        t: Millis,
    ) {
        let Some(c) = self.clusters.get_mut(&cid) else {
            return;
        };
        if c.incident.is_none() {
            return;
        }
        if new > c.severity {
            c.severity = new;
            c.max_severity = c.max_severity.max(new);
            self.emit_incident(env, cid, IncidentChange::SeverityChanged, t, Vec::new());
        } else if old == c.severity && new < old {
            self.refresh_incident_severity(env, cid, t);
        }
    }

    pub(crate) fn refresh_incident_severity(&mut self, env: &mut Env, cid: u64, t: Millis) {
        if self.clusters.get(&cid).is_some_and(|c| c.incident.is_some()) && self.refresh_severity(env, cid) {
            self.emit_incident(env, cid, IncidentChange::SeverityChanged, t, Vec::new());
        }
    }

    /// A member's current occurrence cleared: resolve when every member not flapping is clear.
    pub(crate) fn member_cleared(&mut self, env: &mut Env, cid: u64, t: Millis) {
        let Some(c) = self.clusters.get(&cid) else {
            return;
        };
        if !matches!(c.state, ClusterState::Open | ClusterState::Acknowledged) {
            return;
        }
        let all_clear = self
            .current_members(env, cid)
            .filter(|a| !a.flapping)
            .all(|a| !a.open);
        if !all_clear {
            self.refresh_incident_severity(env, cid, t);
            return;
        }
        self.refresh_severity(env, cid);
        let c = self.clusters.get_mut(&cid).expect("cluster");
        c.state = ClusterState::Resolved;
        c.resolved_at = Some(t);
        self.unindex_cluster(env, cid);
        self.timeline(cid, t, "resolved: all alerts clear".into(), None);
        self.emit_incident(env, cid, IncidentChange::Resolved, t, Vec::new());
        let grace = env.c.cfg.correlation.reopen_grace_secs as i64 * 1000;
        env.schedule(t + grace, Timer::IncidentClose(cid));
    }

    /// A member raised again: it rejoins its incident if that is still active, or reopens it
    /// within the grace period. Returns false when the incident is gone or closed.
    pub(crate) fn rejoin_incident(&mut self, env: &mut Env, cid: u64, slot: u32, t: Millis) -> bool {
        let grace = env.c.cfg.correlation.reopen_grace_secs as i64 * 1000;
        let Some(c) = self.clusters.get(&cid) else {
            return false;
        };
        let reopen = match c.state {
            ClusterState::Open | ClusterState::Acknowledged if t <= c.window_end => false,
            ClusterState::Resolved if c.resolved_at.is_some_and(|r| t <= r + grace) => true,
            _ => return false,
        };
        let recipe = env.c.recipes[c.recipe as usize].name.clone();
        let gap = (t - c.last_time).max(0);
        let n = c.incident.expect("incident");
        let member = self.member_for(
            env,
            slot,
            t,
            Explanation {
                gap_ms: gap,
                ..Explanation::new(recipe, "reraised")
            },
        );
        let c = self.clusters.get_mut(&cid).expect("cluster");
        c.add_member(member);
        c.last_time = c.last_time.max(t);
        let size = c.members.len();
        let window_open = t <= c.window_end;
        if reopen {
            c.state = ClusterState::Open;
            c.resolved_at = None;
            c.reopen_count += 1;
        }
        let a = env.store.alert_mut(slot);
        a.set_incident(Some(cid));
        if a.incidents.last() != Some(&n) {
            a.incidents.push(n);
        }
        let alert_id = env.alert_id(env.store.alert(slot).id);
        self.refresh_severity(env, cid);
        let added = vec![self.member_view(env, &self.clusters[&cid].members[size - 1])];
        if reopen {
            if window_open {
                self.index_cluster(env, cid);
            }
            self.timeline(
                cid,
                t,
                "reopened: a member was raised again".into(),
                Some(alert_id),
            );
            self.emit_incident(env, cid, IncidentChange::Reopened, t, added);
        } else {
            self.timeline(cid, t, "member raised again".into(), Some(alert_id));
            self.emit_incident(env, cid, IncidentChange::AlertAdded, t, added);
        }
        env.emit_alert(&self.clusters, slot, AlertChange::Correlated, t);
        true
    }

    pub(crate) fn on_incident_close(&mut self, env: &mut Env, cid: u64) {
        let grace = env.c.cfg.correlation.reopen_grace_secs as i64 * 1000;
        let now = env.now;
        let Some(c) = self.clusters.get_mut(&cid) else {
            return;
        };
        if c.state != ClusterState::Resolved || c.resolved_at.is_none_or(|r| r + grace > now) {
            return;
        }
        c.state = ClusterState::Closed;
        self.timeline(cid, now, "closed".into(), None);
        self.emit_incident(env, cid, IncidentChange::Closed, now, Vec::new());
        let retention = env.c.cfg.dedup.retention_secs as i64 * 1000;
        env.schedule(now + retention, Timer::IncidentPurge(cid));
    }

    pub(crate) fn on_incident_purge(&mut self, env: &mut Env, cid: u64) {
        let now = env.now;
        if self
            .clusters
            .get(&cid)
            .is_none_or(|c| c.state != ClusterState::Closed)
        {
            return;
        }
        self.emit_incident(env, cid, IncidentChange::Purged, now, Vec::new());
        self.remember(env, cid);
        self.clusters.remove(&cid);
    }

    pub(crate) fn timeline(&mut self, cid: u64, t: Millis, what: String, alert_id: Option<AlertId>) {
        let c = self.clusters.get_mut(&cid).expect("cluster");
        if c.timeline.len() >= TIMELINE_CAP {
            // keep the opening entry; drop the oldest after it
            c.timeline.remove(1);
        }
        c.timeline.push(TimelineEntry {
            time: t,
            what,
            alert_id,
            by: None,
        });
    }
}
