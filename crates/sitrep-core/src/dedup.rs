//! dedup: events with the same signature are one alert. Counts, first/last time, current and
//! highest severity, last description, a bounded severity history; clears and re-raises
//! (occurrences); flapping detection; retention and purge of cleared alerts.
//!
//! The signature is the configured fields' values joined by `::`, with `\` and `:` in values
//! escaped, so `NodeA`+`12` and `NodeA1`+`2` differ and no value can forge a separator. A
//! missing trailing field is omitted; a missing field before a present one is written empty.

use crate::correlate::topology::NodeId;
use crate::engine::{Engine, Timer};
use crate::event::Event;
use crate::intern::Sym;
use crate::severity::Severity;
use crate::time::Millis;
use crate::update::*;
use serde::{Deserialize, Serialize};
use std::hash::BuildHasher;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Alert {
    pub id: u64,
    pub signature: Box<str>,
    pub source: Sym,
    pub check: Sym,
    pub service: Option<Sym>,
    pub manager: Option<Sym>,
    pub labels: Box<[(Sym, Sym)]>,
    /// A `String` so that a changed description reuses its buffer.
    pub description: String,
    pub severity: Severity,
    pub max_severity: Severity,
    pub open: bool,
    pub flapping: bool,
    pub in_maintenance: bool,
    pub occurrence: u32,
    pub count: u64,
    pub first_time: Millis,
    pub last_time: Millis,
    pub last_emit: Millis,
    pub cleared_at: Option<Millis>,
    /// Noise score, taken when the current occurrence started (creation or re-raise).
    pub entropy: f32,
    pub entity: Option<NodeId>,
    /// Severity changes, oldest first, at most `dedup.history`.
    pub history: Vec<SeverityChange>,
    /// Times of the last state changes (raise/clear), at most `dedup.flapping.changes`.
    pub changes: Vec<Millis>,
    /// The cluster (open incident) the current occurrence belongs to.
    pub incident: Option<u64>,
    /// Pending clusters this alert seeds or belongs to (not yet incidents).
    pub pending: Vec<u64>,
    /// Incident numbers of every incident any occurrence joined.
    pub incidents: Vec<u64>,
    pub rule: Option<Box<RuleExplanation>>,
    /// The latest event's unknown fields (the overflow map), when it had any: kept, never
    /// dropped, and boxed so that alerts without them pay one pointer.
    #[serde(default)]
    pub extra: Option<Box<serde_json::Map<String, serde_json::Value>>>,
}

fn extra_of(ev: &Event) -> Option<Box<serde_json::Map<String, serde_json::Value>>> {
    (!ev.extra.is_empty()).then(|| Box::new(ev.extra.iter().cloned().collect()))
}

/// Appends `v` to `out`, escaping `\` and `:`.
fn push_escaped(out: &mut String, v: &str) {
    if !v.as_bytes().iter().any(|b| *b == b':' || *b == b'\\') {
        out.push_str(v);
        return;
    }
    for c in v.chars() {
        if c == ':' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
}

pub fn build_signature(fields: &[String], ev: &Event, out: &mut String) {
    out.clear();
    if let Some(s) = &ev.signature {
        out.push_str(s);
        return;
    }
    let mut pending_seps = 0usize;
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            pending_seps += 1;
        }
        if let Some(v) = ev.field(f) {
            for _ in 0..pending_seps {
                out.push_str("::");
            }
            pending_seps = 0;
            push_escaped(out, v);
        }
    }
}

impl Engine {
    fn find_alert(&self, sig: &str) -> Option<u32> {
        let h = self.hasher.hash_one(sig);
        let alerts = &self.st.alerts;
        self.sig_index
            .find(h, |&s| {
                alerts[s as usize].as_ref().is_some_and(|a| &*a.signature == sig)
            })
            .copied()
    }

    pub(crate) fn alert(&self, slot: u32) -> &Alert {
        self.st.alerts[slot as usize].as_ref().expect("live alert slot")
    }

    pub(crate) fn alert_mut(&mut self, slot: u32) -> &mut Alert {
        self.st.alerts[slot as usize].as_mut().expect("live alert slot")
    }

    /// The alert in `slot` if it is still the one with id `id` (slots are reused after purge).
    pub(crate) fn live_alert(&self, slot: u32, id: u64) -> Option<&Alert> {
        self.st.alerts.get(slot as usize)?.as_ref().filter(|a| a.id == id)
    }

    pub(crate) fn ingest(&mut self, ev: &Event, t: Millis, maintenance: bool, rule: Option<RuleExplanation>) {
        let mut sig = std::mem::take(&mut self.scratch);
        build_signature(&self.c.cfg.dedup.signature, ev, &mut sig);
        let found = self.find_alert(&sig);
        match found {
            None => self.create_alert(ev, t, maintenance, rule, &sig),
            Some(slot) => self.update_alert(slot, ev, t, maintenance),
        }
        self.scratch = sig;
    }

    fn create_alert(
        &mut self,
        ev: &Event,
        t: Millis,
        maintenance: bool,
        rule: Option<RuleExplanation>,
        sig: &str,
    ) {
        let st = &mut self.st;
        let open = !ev.severity.is_clear();
        let entropy = if rule.is_some() {
            1.0
        } else {
            st.tokens
                .observe_and_score(&ev.description, &self.c.cfg.noise.priority_words)
        };
        let entity = if self.c.topology.is_empty() {
            None
        } else {
            self.c
                .topology
                .entity_fields
                .iter()
                .find_map(|f| ev.field(f).and_then(|v| self.c.topology.lookup(v)))
        };
        let alert = Alert {
            id: st.next_alert,
            signature: sig.into(),
            source: st.interner.intern(&ev.source),
            check: st.interner.intern(&ev.check),
            service: ev.service.as_deref().map(|s| st.interner.intern(s)),
            manager: ev.manager.as_deref().map(|s| st.interner.intern(s)),
            labels: ev
                .labels
                .iter()
                .map(|(k, v)| (st.interner.intern(k), st.interner.intern(v)))
                .collect(),
            description: ev.description.clone(),
            severity: ev.severity,
            max_severity: ev.severity,
            open,
            flapping: false,
            in_maintenance: maintenance,
            occurrence: open as u32,
            count: 1,
            first_time: t,
            last_time: t,
            last_emit: t,
            cleared_at: (!open).then_some(t),
            entropy,
            entity,
            history: vec![SeverityChange {
                time: t,
                severity: ev.severity,
            }],
            changes: Vec::new(),
            incident: None,
            pending: Vec::new(),
            incidents: Vec::new(),
            rule: rule.map(Box::new),
            extra: extra_of(ev),
        };
        st.next_alert += 1;
        st.stats.alerts_created += 1;
        st.stats.alerts_active += 1;
        let slot = match st.free_slots.pop() {
            Some(s) => {
                st.alerts[s as usize] = Some(alert);
                s
            }
            None => {
                st.alerts.push(Some(alert));
                (st.alerts.len() - 1) as u32
            }
        };
        let h = self.hasher.hash_one(sig);
        let alerts = &self.st.alerts;
        let hasher = &self.hasher;
        self.sig_index.insert_unique(h, slot, |&s| {
            hasher.hash_one(&*alerts[s as usize].as_ref().expect("indexed slot").signature)
        });
        self.emit_alert(slot, AlertChange::Created, t);
        if open {
            if !maintenance {
                self.correlate(slot, t);
            }
        } else {
            self.schedule_purge(slot, t);
        }
    }

    fn update_alert(&mut self, slot: u32, ev: &Event, t: Millis, maintenance: bool) {
        let a = self.alert_mut(slot);
        a.count += 1;
        a.last_time = a.last_time.max(t);
        a.in_maintenance = maintenance;
        if !ev.extra.is_empty() {
            a.extra = extra_of(ev);
        }
        if a.description != ev.description {
            a.description.clear();
            a.description.push_str(&ev.description);
        }
        let was_open = a.open;
        let old = a.severity;
        match (was_open, ev.severity.is_clear()) {
            (true, true) => self.clear_alert(slot, t),
            (false, false) => self.reraise_alert(slot, ev.severity, t, maintenance),
            (true, false) if ev.severity != old => {
                self.set_severity(slot, ev.severity, t);
                self.emit_alert(slot, AlertChange::SeverityChanged, t);
                if let Some(c) = self.alert(slot).incident {
                    self.member_severity_changed(c, old, ev.severity, t);
                }
            }
            _ => {
                let interval = self.c.cfg.dedup.update_interval_secs as i64 * 1000;
                if t - self.alert(slot).last_emit >= interval {
                    self.emit_alert(slot, AlertChange::Deduplicated, t);
                }
            }
        }
    }

    fn set_severity(&mut self, slot: u32, sev: Severity, t: Millis) {
        let cap = self.c.cfg.dedup.history.max(1);
        let a = self.alert_mut(slot);
        a.severity = sev;
        a.max_severity = a.max_severity.max(sev);
        if a.history.len() >= cap {
            a.history.remove(0);
        }
        a.history.push(SeverityChange {
            time: t,
            severity: sev,
        });
    }

    fn clear_alert(&mut self, slot: u32, t: Millis) {
        self.set_severity(slot, Severity::Clear, t);
        let a = self.alert_mut(slot);
        a.open = false;
        a.cleared_at = Some(t);
        let pending = std::mem::take(&mut a.pending);
        let incident = a.incident;
        self.record_state_change(slot, t);
        self.emit_alert(slot, AlertChange::Cleared, t);
        for c in pending {
            self.leave_pending(c);
        }
        if let Some(c) = incident {
            self.member_cleared(c, t);
        }
        self.schedule_purge(slot, t);
    }

    fn reraise_alert(&mut self, slot: u32, sev: Severity, t: Millis, maintenance: bool) {
        self.set_severity(slot, sev, t);
        let entropy = if self.alert(slot).rule.is_some() {
            1.0
        } else {
            let desc = &self.st.alerts[slot as usize].as_ref().expect("live").description;
            self.st.tokens.score(desc, &self.c.cfg.noise.priority_words)
        };
        let a = self.alert_mut(slot);
        a.open = true;
        a.cleared_at = None;
        a.occurrence += 1;
        a.entropy = entropy;
        self.record_state_change(slot, t);
        self.emit_alert(slot, AlertChange::Reraised, t);
        let a = self.alert(slot);
        if a.flapping || maintenance {
            return;
        }
        if let Some(c) = a.incident {
            if self.rejoin_incident(c, slot, t) {
                return;
            }
            self.alert_mut(slot).incident = None;
        }
        self.correlate(slot, t);
    }

    /// Flapping: `changes` state changes within `window` mark the alert flapping; it settles
    /// once a whole window passes without a change.
    fn record_state_change(&mut self, slot: u32, t: Millis) {
        let f = &self.c.cfg.dedup.flapping;
        let (n, w) = (f.changes.max(2), f.window_secs as i64 * 1000);
        let a = self.alert_mut(slot);
        if a.changes.len() >= n {
            a.changes.remove(0);
        }
        a.changes.push(t);
        let became = !a.flapping && a.changes.len() >= n && t - a.changes[0] <= w;
        let id = a.id;
        if became {
            a.flapping = true;
            self.emit_alert(slot, AlertChange::Flapping, t);
        }
        if self.alert(slot).flapping {
            self.schedule(t + w, Timer::FlapSettle { slot, alert: id });
        }
    }

    pub(crate) fn on_flap_settle(&mut self, slot: u32, id: u64) {
        let w = self.c.cfg.dedup.flapping.window_secs as i64 * 1000;
        let now = self.st.now;
        let Some(a) = self.live_alert(slot, id) else {
            return;
        };
        if !a.flapping || a.changes.last().is_some_and(|&last| last + w > now) {
            return;
        }
        let a = self.alert_mut(slot);
        a.flapping = false;
        a.changes.clear();
        self.emit_alert(slot, AlertChange::Settled, now);
    }

    fn schedule_purge(&mut self, slot: u32, t: Millis) {
        let id = self.alert(slot).id;
        let at = t + self.c.cfg.dedup.retention_secs as i64 * 1000;
        self.schedule(at, Timer::AlertPurge { slot, alert: id });
    }

    pub(crate) fn on_alert_purge(&mut self, slot: u32, id: u64) {
        let retention = self.c.cfg.dedup.retention_secs as i64 * 1000;
        let now = self.st.now;
        let Some(a) = self.live_alert(slot, id) else {
            return;
        };
        if a.open || a.cleared_at.is_none_or(|c| c + retention > now) {
            return;
        }
        self.emit_alert(slot, AlertChange::Purged, now);
        let sig = self.alert(slot).signature.clone();
        let h = self.hasher.hash_one(&*sig);
        if let Ok(entry) = self.sig_index.find_entry(h, |&s| s == slot) {
            entry.remove();
        }
        self.st.alerts[slot as usize] = None;
        self.st.free_slots.push(slot);
        self.st.stats.alerts_active -= 1;
        self.st.stats.alerts_purged += 1;
    }

    pub(crate) fn emit_alert(&mut self, slot: u32, change: AlertChange, t: Millis) {
        self.alert_mut(slot).last_emit = t;
        let seq = self.next_seq();
        if self.json_output {
            let mut buf = std::mem::take(&mut self.json_out);
            let u = AlertUpdateRef {
                kind: "alert",
                v: SCHEMA_VERSION,
                seq,
                time: t,
                change,
                alert: self.alert_view_ref(slot),
            };
            serde_json::to_writer(&mut buf, &u).expect("alert update serialises");
            buf.push(b'\n');
            self.json_out = buf;
            return;
        }
        let alert = self.alert_view(slot);
        self.out.push(Update::Alert(AlertUpdate {
            v: SCHEMA_VERSION,
            seq,
            time: t,
            change,
            alert,
        }));
    }

    pub(crate) fn alert_view_ref(&self, slot: u32) -> AlertViewRef<'_> {
        let a = self.alert(slot);
        let i = &self.st.interner;
        AlertViewRef {
            partition: self.st.options.partition,
            id: a.id,
            signature: &a.signature,
            source: i.resolve(a.source),
            check: i.resolve(a.check),
            service: a.service.map(|s| i.resolve(s)),
            manager: a.manager.map(|s| i.resolve(s)),
            labels: a
                .labels
                .iter()
                .map(|(k, v)| (i.resolve(*k), i.resolve(*v)))
                .collect(),
            description: &a.description,
            severity: a.severity,
            max_severity: a.max_severity,
            open: a.open,
            count: a.count,
            occurrence: a.occurrence,
            first_time: a.first_time,
            last_time: a.last_time,
            entropy: (a.entropy * 1000.0).round() / 1000.0,
            flapping: a.flapping,
            in_maintenance: a.in_maintenance,
            incident: a
                .incident
                .and_then(|c| self.st.clusters.get(&c))
                .and_then(|c| c.incident),
            incidents: &a.incidents,
            history: &a.history,
            rule: a.rule.as_deref(),
            extra: a.extra.as_deref(),
        }
    }

    pub(crate) fn alert_view(&self, slot: u32) -> AlertView {
        self.alert_view_ref(slot).to_owned_view()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(source: &str, check: &str, service: Option<&str>) -> Event {
        Event {
            source: source.into(),
            check: check.into(),
            service: service.map(Into::into),
            ..Event::default()
        }
    }

    fn sig(fields: &[&str], e: &Event) -> String {
        let f: Vec<String> = fields.iter().map(|s| s.to_string()).collect();
        let mut out = String::new();
        build_signature(&f, e, &mut out);
        out
    }

    #[test]
    fn signature_is_unambiguous() {
        let f = ["source", "check"];
        assert_ne!(
            sig(&f, &ev("NodeA", "12", None)),
            sig(&f, &ev("NodeA1", "2", None))
        );
        assert_ne!(sig(&f, &ev("a:", ":b", None)), sig(&f, &ev("a::", "b", None)));
        assert_ne!(sig(&f, &ev("a\\", ":b", None)), sig(&f, &ev("a", "\\:b", None)));
        assert_eq!(sig(&["source", "check", "service"], &ev("h", "c", None)), "h::c");
        assert_eq!(
            sig(&["source", "check", "service"], &ev("h", "c", Some("s"))),
            "h::c::s"
        );
        assert_eq!(
            sig(&["source", "labels.x", "check"], &ev("h", "c", None)),
            "h::::c"
        );
        let mut e = ev("h", "c", None);
        e.signature = Some("explicit".into());
        assert_eq!(sig(&f, &e), "explicit");
    }

    proptest::proptest! {
        #[test]
        fn distinct_values_give_distinct_signatures(a in "[a-z:\\\\]{0,6}", b in "[a-z:\\\\]{1,6}", c in "[a-z:\\\\]{0,6}", d in "[a-z:\\\\]{1,6}") {
            let f = ["source", "check"];
            let (x, y) = (sig(&f, &ev(&a, &b, None)), sig(&f, &ev(&c, &d, None)));
            proptest::prop_assert_eq!(x == y, a == c && b == d);
        }
    }
}
