//! dedup: events with the same signature are one alert. Counts, first/last time, current and
//! highest severity, last description, a bounded severity history; clears and re-raises
//! (occurrences); flapping detection; retention and purge of cleared alerts.
//!
//! The signature is the configured fields' values joined by `::`, with `\` and `:` in values
//! escaped, so `NodeA`+`12` and `NodeA1`+`2` differ and no value can forge a separator. A
//! missing trailing field is omitted; a missing field before a present one is written empty.

use crate::config::Config;
use crate::correlate::topology::NodeId;
use crate::correlate::Clusters;
use crate::event::Event;
use crate::intern::{Hash32, Interner, Sym};
use crate::score::TokenStats;
use crate::severity::Severity;
use crate::slots::Slots;
use crate::time::Millis;
use crate::update::*;
use hashbrown::HashTable;
use serde::{Deserialize, Serialize};
use std::num::NonZeroU64;
use thin_vec::ThinVec;

/// One alert. Its in-memory layout is packed for the number of them held (issue 16: ≤ 400
/// bytes per active alert, `--example memory`); its snapshot form is [`AlertRepr`], the
/// same JSON as before the packing, so snapshots of either read the same.
#[derive(Debug, Clone)]
pub(crate) struct Alert {
    pub id: u64,
    pub signature: Box<str>,
    pub source: Sym,
    pub check: Sym,
    pub service: Option<Sym>,
    pub manager: Option<Sym>,
    pub labels: Box<[(Sym, Sym)]>,
    pub description: Box<str>,
    pub severity: Severity,
    /// The severity of its first event (or of its current occurrence's first raise).
    pub first_severity: Severity,
    pub max_severity: Severity,
    pub open: bool,
    pub flapping: bool,
    pub in_maintenance: bool,
    pub occurrence: u32,
    pub count: u64,
    pub first_time: Millis,
    pub last_time: Millis,
    pub last_emit: Millis,
    /// When it cleared; [`NOT_CLEARED`] while raised (see [`Alert::cleared_at`]).
    cleared: Millis,
    /// Noise score, taken when the current occurrence started (creation or re-raise).
    pub entropy: f32,
    pub entity: Option<NodeId>,
    /// Severity changes, oldest first, at most `dedup.history`.
    pub history: Vec<SeverityChange>,
    /// Times of the last state changes (raise/clear), at most `dedup.flapping.changes`.
    /// These three lists are empty for most alerts most of the time: a `ThinVec` is one
    /// pointer inline (a `Vec` three) and allocates nothing while empty.
    pub changes: ThinVec<Millis>,
    /// The cluster (open incident) the current occurrence belongs to. Cluster ids start at 1,
    /// so the niche keeps this at 8 bytes (see [`Alert::incident`]).
    incident: Option<NonZeroU64>,
    /// Pending clusters this alert seeds or belongs to (not yet incidents).
    pub pending: ThinVec<u64>,
    /// Incident numbers of every incident any occurrence joined.
    pub incidents: ThinVec<u64>,
    /// What few alerts have, behind one pointer (`None` when none of it is set).
    rare: Option<Box<Rare>>,
}

/// Whether two texts are the same but for their numbers — runs of digits not glued to a
/// letter, each taken as one digit: "Backhaul packet loss 310% exceeds threshold" and
/// "… 98% …" are, so are two addresses; "link to sw0520" and "link to sw0478" are not
/// (a name with a number in it is still a name).
pub(crate) fn same_but_numbers(a: &str, b: &str) -> bool {
    let (mut x, mut y) = (a.as_bytes().iter().peekable(), b.as_bytes().iter().peekable());
    let mut after_letter = false;
    loop {
        match (x.next(), y.next()) {
            (None, None) => return true,
            (Some(p), Some(q)) if !after_letter && p.is_ascii_digit() && q.is_ascii_digit() => {
                while x.next_if(|c| c.is_ascii_digit()).is_some() {}
                while y.next_if(|c| c.is_ascii_digit()).is_some() {}
                after_letter = false;
            }
            (Some(p), Some(q)) if p == q => {
                after_letter = p.is_ascii_alphanumeric() && after_letter || p.is_ascii_alphabetic()
            }
            _ => return false,
        }
    }
}

/// `cleared` of an alert that is raised.
const NOT_CLEARED: Millis = Millis::MIN;

/// The parts of an alert that most alerts do not have.
#[derive(Debug, Clone, Default)]
struct Rare {
    /// The description it was raised with, kept when a clear arrives with another text
    /// ("link up" after "link down"): what an operator needs to read about a cleared member.
    raised_description: Option<Box<str>>,
    rule: Option<RuleExplanation>,
    /// The latest event's unknown fields (the overflow map), when it had any: kept, never
    /// dropped.
    extra: Option<serde_json::Map<String, serde_json::Value>>,
}

impl Alert {
    /// When the current occurrence cleared (`None` while raised).
    pub fn cleared_at(&self) -> Option<Millis> {
        (self.cleared != NOT_CLEARED).then_some(self.cleared)
    }

    pub fn set_cleared_at(&mut self, t: Option<Millis>) {
        self.cleared = t.unwrap_or(NOT_CLEARED);
    }

    /// The cluster (open incident) the current occurrence belongs to.
    pub fn incident(&self) -> Option<u64> {
        self.incident.map(NonZeroU64::get)
    }

    /// Cluster ids are counted from 1; a 0 would be a bug upstream and reads as "none".
    pub fn set_incident(&mut self, cid: Option<u64>) {
        self.incident = cid.and_then(NonZeroU64::new);
    }

    pub fn raised_description(&self) -> Option<&str> {
        self.rare.as_ref()?.raised_description.as_deref()
    }

    pub fn rule(&self) -> Option<&RuleExplanation> {
        self.rare.as_ref()?.rule.as_ref()
    }

    pub fn extra(&self) -> Option<&serde_json::Map<String, serde_json::Value>> {
        self.rare.as_ref()?.extra.as_ref()
    }

    pub fn set_raised_description(&mut self, d: Option<Box<str>>) {
        self.edit_rare(|r| r.raised_description = d);
    }

    pub fn set_extra(&mut self, extra: Option<serde_json::Map<String, serde_json::Value>>) {
        self.edit_rare(|r| r.extra = extra);
    }

    /// Changes the rare parts, allocating them on first use and freeing them when empty.
    fn edit_rare(&mut self, f: impl FnOnce(&mut Rare)) {
        let mut rare = self.rare.take().unwrap_or_default();
        f(&mut rare);
        if rare.raised_description.is_some() || rare.rule.is_some() || rare.extra.is_some() {
            self.rare = Some(rare);
        }
    }
}

/// An alert as snapshots hold it (the fields and names of the unpacked alert).
#[derive(Deserialize)]
struct AlertRepr {
    id: u64,
    signature: Box<str>,
    source: Sym,
    check: Sym,
    service: Option<Sym>,
    manager: Option<Sym>,
    labels: Box<[(Sym, Sym)]>,
    description: Box<str>,
    #[serde(default)]
    raised_description: Option<Box<str>>,
    severity: Severity,
    #[serde(default)]
    first_severity: Severity,
    max_severity: Severity,
    open: bool,
    flapping: bool,
    in_maintenance: bool,
    occurrence: u32,
    count: u64,
    first_time: Millis,
    last_time: Millis,
    last_emit: Millis,
    cleared_at: Option<Millis>,
    entropy: f32,
    entity: Option<NodeId>,
    history: Vec<SeverityChange>,
    changes: ThinVec<Millis>,
    incident: Option<u64>,
    pending: ThinVec<u64>,
    incidents: ThinVec<u64>,
    rule: Option<RuleExplanation>,
    #[serde(default)]
    extra: Option<Extra>,
}

/// An alert's unknown fields: a JSON object in JSON snapshots; in binary ones (format 3,
/// whose encoding is not self-describing and cannot carry a free-form value) the same
/// object as JSON text.
struct Extra(serde_json::Map<String, serde_json::Value>);

struct ExtraRef<'a>(&'a serde_json::Map<String, serde_json::Value>);

impl Serialize for ExtraRef<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            self.0.serialize(s)
        } else {
            s.serialize_str(&serde_json::to_string(self.0).map_err(serde::ser::Error::custom)?)
        }
    }
}

impl<'de> Deserialize<'de> for Extra {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Extra, D::Error> {
        if d.is_human_readable() {
            serde_json::Map::deserialize(d).map(Extra)
        } else {
            let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
            serde_json::from_str(&text)
                .map(Extra)
                .map_err(serde::de::Error::custom)
        }
    }
}

/// [`AlertRepr`] borrowed, for writing a snapshot without copying the alert. Written as a
/// JSON array in [`AlertRepr`]'s field order (serde's derived struct reader takes an array
/// as well as an object, so snapshots written with field names still read): the names were
/// most of a snapshot's bytes and much of its time (docs/performance.md).
#[derive(Serialize)]
struct AlertReprRef<'a>(
    u64,
    &'a str,
    Sym,
    Sym,
    Option<Sym>,
    Option<Sym>,
    &'a [(Sym, Sym)],
    &'a str,
    Option<&'a str>,
    Severity,
    Severity,
    Severity,
    bool,
    bool,
    bool,
    u32,
    u64,
    Millis,
    Millis,
    Millis,
    Option<Millis>,
    f32,
    Option<NodeId>,
    &'a [SeverityChange],
    &'a [Millis],
    Option<u64>,
    &'a [u64],
    &'a [u64],
    Option<&'a RuleExplanation>,
    Option<ExtraRef<'a>>,
);

impl Serialize for Alert {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        AlertReprRef(
            self.id,
            &self.signature,
            self.source,
            self.check,
            self.service,
            self.manager,
            &self.labels,
            &self.description,
            self.raised_description(),
            self.severity,
            self.first_severity,
            self.max_severity,
            self.open,
            self.flapping,
            self.in_maintenance,
            self.occurrence,
            self.count,
            self.first_time,
            self.last_time,
            self.last_emit,
            self.cleared_at(),
            self.entropy,
            self.entity,
            &self.history,
            &self.changes,
            self.incident(),
            &self.pending,
            &self.incidents,
            self.rule(),
            self.extra().map(ExtraRef),
        )
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Alert {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Alert, D::Error> {
        let r = AlertRepr::deserialize(d)?;
        let mut a = Alert {
            id: r.id,
            signature: r.signature,
            source: r.source,
            check: r.check,
            service: r.service,
            manager: r.manager,
            labels: r.labels,
            description: r.description,
            severity: r.severity,
            first_severity: r.first_severity,
            max_severity: r.max_severity,
            open: r.open,
            flapping: r.flapping,
            in_maintenance: r.in_maintenance,
            occurrence: r.occurrence,
            count: r.count,
            first_time: r.first_time,
            last_time: r.last_time,
            last_emit: r.last_emit,
            cleared: NOT_CLEARED,
            entropy: r.entropy,
            entity: r.entity,
            history: r.history,
            changes: r.changes,
            incident: r.incident.and_then(NonZeroU64::new),
            pending: r.pending,
            incidents: r.incidents,
            rare: None,
        };
        a.set_cleared_at(r.cleared_at);
        let (raised_description, rule, extra) = (r.raised_description, r.rule, r.extra.map(|e| e.0));
        a.edit_rare(|x| {
            x.raised_description = raised_description;
            x.rule = rule;
            x.extra = extra;
        });
        Ok(a)
    }
}

fn extra_of(ev: &Event) -> Option<serde_json::Map<String, serde_json::Value>> {
    (!ev.extra.is_empty()).then(|| ev.extra.iter().cloned().collect())
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

/// What a repeat of an existing alert's signature changed, for the engine to hand on.
pub(crate) enum Repeat {
    /// Open → clear: it leaves the pending clusters it was in and tells its incident.
    Cleared {
        pending: ThinVec<u64>,
        incident: Option<u64>,
        flap: Flap,
    },
    /// Clear → open: a new occurrence, scored again, to correlate (or rejoin its incident).
    Reraised { flap: Flap },
    /// Still open, another severity; `described`: how its description changed.
    SeverityChanged {
        old: Severity,
        incident: Option<u64>,
        described: Described,
    },
    /// Nothing but a count; `due` when the periodic deduplicated update is owed;
    /// `described`: how its description changed.
    Duplicate { due: bool, described: Described },
}

/// How a repeat's description differs from the alert's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Described {
    Same,
    /// Only in its numbers ([`same_but_numbers`]).
    Numbers,
    /// In its words.
    Words,
}

/// Flapping after a state change: whether it just began, and whether the alert flaps now
/// (then it must be checked again once a window has passed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Flap {
    pub became: bool,
    pub flapping: bool,
}

/// The alerts of one partition: a slot array (slots reused after purge), the signature
/// index over it, and the interner their strings live in.
#[derive(Default)]
pub(crate) struct AlertStore {
    pub alerts: Slots<Alert>,
    pub free_slots: Vec<u32>,
    pub interner: Interner,
    /// The next alert number.
    pub next_alert: u64,
    /// Slot and signature hash (kept so that growing the table never reads the alerts).
    sig_index: HashTable<(u32, Hash32)>,
    /// The signature buffer, reused from one event to the next.
    scratch: String,
}

impl AlertStore {
    pub fn new() -> AlertStore {
        AlertStore {
            next_alert: 1,
            ..AlertStore::default()
        }
    }

    /// A store over restored alerts; the signature index is rebuilt.
    pub fn restore(
        alerts: Slots<Alert>,
        free_slots: Vec<u32>,
        interner: Interner,
        next_alert: u64,
    ) -> AlertStore {
        let mut store = AlertStore {
            alerts,
            free_slots,
            interner,
            next_alert,
            ..AlertStore::default()
        };
        let held = store.alerts.iter().filter(|a| a.is_some()).count();
        store.sig_index.reserve(held, |&(_, h)| h.spread());
        for (slot, a) in store.alerts.iter().enumerate() {
            if let Some(a) = a {
                let h = Hash32::of(&a.signature);
                store
                    .sig_index
                    .insert_unique(h.spread(), (slot as u32, h), |&(_, xh)| xh.spread());
            }
        }
        store
    }

    /// The event's signature, in the store's reused buffer (give it back with
    /// [`AlertStore::return_scratch`]).
    pub fn signature_of(&mut self, fields: &[String], ev: &Event) -> String {
        let mut sig = std::mem::take(&mut self.scratch);
        build_signature(fields, ev, &mut sig);
        sig
    }

    pub fn return_scratch(&mut self, sig: String) {
        self.scratch = sig;
    }

    pub fn find(&self, sig: &str) -> Option<u32> {
        let h = Hash32::of(sig);
        let alerts = &self.alerts;
        self.sig_index
            .find(h.spread(), |&(s, sh)| {
                sh == h && alerts[s as usize].as_ref().is_some_and(|a| &*a.signature == sig)
            })
            .map(|&(s, _)| s)
    }

    pub fn alert(&self, slot: u32) -> &Alert {
        self.alerts[slot as usize].as_ref().expect("live alert slot")
    }

    pub fn alert_mut(&mut self, slot: u32) -> &mut Alert {
        self.alerts[slot as usize].as_mut().expect("live alert slot")
    }

    /// The alert in `slot` if it is still the one with id `id` (slots are reused after purge).
    pub fn live_alert(&self, slot: u32, id: u64) -> Option<&Alert> {
        self.alerts.get(slot as usize)?.as_ref().filter(|a| a.id == id)
    }

    /// Slots of the alerts still held, in creation order.
    pub fn slots_in_order(&self) -> Vec<u32> {
        let mut v: Vec<(u64, u32)> = self
            .alerts
            .iter()
            .enumerate()
            .filter_map(|(i, a)| a.as_ref().map(|a| (a.id, i as u32)))
            .collect();
        v.sort_unstable();
        v.into_iter().map(|(_, slot)| slot).collect()
    }

    /// A new alert from its first event (scored and placed by the caller); returns its slot.
    #[allow(clippy::too_many_arguments)]
    pub fn insert(
        &mut self,
        ev: &Event,
        t: Millis,
        maintenance: bool,
        rule: Option<RuleExplanation>,
        sig: &str,
        entropy: f32,
        entity: Option<NodeId>,
    ) -> u32 {
        let open = !ev.severity.is_clear();
        let i = &mut self.interner;
        let alert = Alert {
            id: self.next_alert,
            signature: sig.into(),
            source: i.intern(&ev.source),
            check: i.intern(&ev.check),
            service: ev.service.as_deref().map(|s| i.intern(s)),
            manager: ev.manager.as_deref().map(|s| i.intern(s)),
            labels: ev
                .labels
                .iter()
                .map(|(k, v)| (i.intern(k), i.intern(v)))
                .collect(),
            description: ev.description.as_str().into(),
            severity: ev.severity,
            first_severity: ev.severity,
            max_severity: ev.severity,
            open,
            flapping: false,
            in_maintenance: maintenance,
            occurrence: open as u32,
            count: 1,
            first_time: t,
            last_time: t,
            last_emit: t,
            cleared: if open { NOT_CLEARED } else { t },
            entropy,
            entity,
            history: vec![SeverityChange {
                time: t,
                severity: ev.severity,
            }],
            changes: ThinVec::new(),
            incident: None,
            pending: ThinVec::new(),
            incidents: ThinVec::new(),
            rare: None,
        };
        let mut alert = alert;
        let extra = extra_of(ev);
        if rule.is_some() || extra.is_some() {
            alert.edit_rare(|r| {
                r.rule = rule;
                r.extra = extra;
            });
        }
        self.next_alert += 1;
        let slot = match self.free_slots.pop() {
            Some(s) => {
                self.alerts[s as usize] = Some(alert);
                s
            }
            None => {
                self.alerts.push(Some(alert));
                (self.alerts.len() - 1) as u32
            }
        };
        let h = Hash32::of(sig);
        self.sig_index
            .insert_unique(h.spread(), (slot, h), |&(_, xh)| xh.spread());
        slot
    }

    /// Another event with an existing alert's signature: counts it and applies its severity
    /// (clear, re-raise, change); says what changed. A re-raise is scored again by `scorer`.
    pub fn repeat(
        &mut self,
        cfg: &Config,
        slot: u32,
        ev: &Event,
        t: Millis,
        maintenance: bool,
        scorer: &mut TokenStats,
    ) -> Repeat {
        let a = self.alert_mut(slot);
        a.count += 1;
        a.last_time = a.last_time.max(t);
        a.in_maintenance = maintenance;
        if !ev.extra.is_empty() {
            a.set_extra(extra_of(ev));
        }
        let changed = *a.description != *ev.description;
        // what the correlator looks at again (`described_anew`): any new text of an alert
        // it placed, and new words — not new numbers (a counter, a percentage, an address),
        // which most changed texts are — of one it placed nowhere
        let described = match changed {
            false => Described::Same,
            true if same_but_numbers(&a.description, &ev.description) => Described::Numbers,
            true => Described::Words,
        };
        if changed {
            if a.open && ev.severity.is_clear() {
                let raised = std::mem::replace(&mut a.description, ev.description.as_str().into());
                a.set_raised_description(Some(raised));
            } else {
                a.description = ev.description.as_str().into();
            }
        }
        let was_open = a.open;
        let old = a.severity;
        match (was_open, ev.severity.is_clear()) {
            (true, true) => {
                self.set_severity(cfg, slot, Severity::Clear, t);
                let a = self.alert_mut(slot);
                a.open = false;
                a.set_cleared_at(Some(t));
                let pending = std::mem::take(&mut a.pending);
                let incident = a.incident();
                let flap = self.record_state_change(cfg, slot, t);
                Repeat::Cleared {
                    pending,
                    incident,
                    flap,
                }
            }
            (false, false) => {
                self.set_severity(cfg, slot, ev.severity, t);
                let a = self.alert_mut(slot);
                let entropy = if a.rule().is_some() {
                    1.0
                } else {
                    scorer.score(&a.description, &cfg.noise.priority_words)
                };
                a.open = true;
                a.set_cleared_at(None);
                a.occurrence += 1;
                if a.raised_description().is_some() {
                    a.set_raised_description(None);
                }
                a.first_severity = ev.severity;
                a.entropy = entropy;
                let flap = self.record_state_change(cfg, slot, t);
                Repeat::Reraised { flap }
            }
            (true, false) if ev.severity != old => {
                self.set_severity(cfg, slot, ev.severity, t);
                Repeat::SeverityChanged {
                    old,
                    incident: self.alert(slot).incident(),
                    described,
                }
            }
            _ => {
                let interval = cfg.dedup.update_interval_secs as i64 * 1000;
                Repeat::Duplicate {
                    due: t - self.alert(slot).last_emit >= interval,
                    described,
                }
            }
        }
    }

    fn set_severity(&mut self, cfg: &Config, slot: u32, sev: Severity, t: Millis) {
        let cap = cfg.dedup.history.max(1);
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

    /// Flapping: `changes` state changes within `window` mark the alert flapping; it settles
    /// once a whole window passes without a change.
    fn record_state_change(&mut self, cfg: &Config, slot: u32, t: Millis) -> Flap {
        let f = &cfg.dedup.flapping;
        let (n, w) = (f.changes.max(2), f.window_secs as i64 * 1000);
        let a = self.alert_mut(slot);
        if a.changes.len() >= n {
            a.changes.remove(0);
        }
        a.changes.push(t);
        let became = !a.flapping && a.changes.len() >= n && t - a.changes[0] <= w;
        if became {
            a.flapping = true;
        }
        Flap {
            became,
            flapping: a.flapping,
        }
    }

    /// A flapping alert's settle check: true when a whole window passed without a change
    /// (the alert is then no longer flapping).
    pub fn settle(&mut self, cfg: &Config, slot: u32, id: u64, now: Millis) -> bool {
        let w = cfg.dedup.flapping.window_secs as i64 * 1000;
        let Some(a) = self.live_alert(slot, id) else {
            return false;
        };
        if !a.flapping || a.changes.last().is_some_and(|&last| last + w > now) {
            return false;
        }
        let a = self.alert_mut(slot);
        a.flapping = false;
        a.changes.clear();
        true
    }

    /// Whether the alert (still the one with `id`) has been clear for the retention time.
    pub fn purgeable(&self, cfg: &Config, slot: u32, id: u64, now: Millis) -> bool {
        let retention = cfg.dedup.retention_secs as i64 * 1000;
        let Some(a) = self.live_alert(slot, id) else {
            return false;
        };
        !a.open && a.cleared_at().is_some_and(|c| c + retention <= now)
    }

    /// A field of an alert by config name.
    pub fn field<'a>(&'a self, a: &'a Alert, name: &str) -> Option<&'a str> {
        let i = &self.interner;
        match name {
            "source" => Some(i.resolve(a.source)),
            "check" => Some(i.resolve(a.check)),
            "service" => a.service.map(|s| i.resolve(s)),
            "manager" => a.manager.map(|s| i.resolve(s)),
            "description" => Some(&a.description),
            "severity" => Some(a.severity.as_str()),
            _ => {
                let k = name.strip_prefix("labels.")?;
                a.labels
                    .iter()
                    .find(|(lk, _)| i.resolve(*lk) == k)
                    .map(|(_, v)| i.resolve(*v))
            }
        }
    }

    /// Forgets the alert; its slot is reused.
    pub fn remove(&mut self, slot: u32) {
        let h = Hash32::of(&self.alert(slot).signature);
        if let Ok(entry) = self.sig_index.find_entry(h.spread(), |&(s, _)| s == slot) {
            entry.remove();
        }
        self.alerts[slot as usize] = None;
        self.free_slots.push(slot);
    }

    /// The alert as the outside sees it; `clusters` give its incident's number.
    pub fn view<'a>(&'a self, slot: u32, partition: u32, clusters: &Clusters) -> AlertViewRef<'a> {
        let a = self.alert(slot);
        let i = &self.interner;
        AlertViewRef {
            partition,
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
            raised_description: a.raised_description(),
            severity: a.severity,
            first_severity: a.first_severity,
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
                .incident()
                .and_then(|c| clusters.get(&c))
                .and_then(|c| c.incident),
            incidents: &a.incidents,
            history: &a.history,
            rule: a.rule(),
            extra: a.extra(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_that_differ_only_in_numbers_are_the_same_words() {
        assert!(same_but_numbers(
            "Backhaul packet loss 310% exceeds threshold",
            "Backhaul packet loss 98% exceeds threshold"
        ));
        assert!(same_but_numbers(
            "S1 link to MME 10.228.29.224 lost",
            "S1 link to MME 10.1.2.3 lost"
        ));
        assert!(!same_but_numbers(
            "Uplink interface to core down, LACP member lost",
            "Uplink interface to rtr0459 changed state to down"
        ));
        assert!(!same_but_numbers("disk 90% full", "disk 90% full on /var"));
        assert!(!same_but_numbers("a1", "a"));
        assert!(!same_but_numbers(
            "Backhaul link to sw0520 lost",
            "Backhaul link to sw0478 lost"
        ));
        assert!(!same_but_numbers(
            "probe failed on host0012",
            "probe failed on host31"
        ));
        assert!(same_but_numbers("retry 3 of 10", "retry 4 of 10"));
        assert!(same_but_numbers("", ""));
    }

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

    fn raise(store: &mut AlertStore, e: &Event, t: Millis) -> u32 {
        let sig = store.signature_of(&Config::default().dedup.signature, e);
        let slot = store.insert(e, t, false, None, &sig, 0.5, None);
        store.return_scratch(sig);
        slot
    }

    fn with(e: &Event, sev: Severity) -> Event {
        Event {
            severity: sev,
            ..e.clone()
        }
    }

    #[test]
    fn the_alert_stays_packed() {
        // every byte here is a megabyte per million active alerts (docs/performance.md)
        assert!(
            std::mem::size_of::<Alert>() <= 208,
            "{}",
            std::mem::size_of::<Alert>()
        );
    }

    #[test]
    fn the_packed_alert_keeps_the_snapshot_form_of_the_unpacked_one() {
        let cfg = Config::default();
        let mut scorer = TokenStats::with_reference_range(64, 10, 10, 100);
        let mut store = AlertStore::new();
        let down = Event {
            severity: Severity::Major,
            description: "link down".into(),
            extra: vec![("ticket".into(), serde_json::json!("T-1"))],
            ..ev("h1", "link", None)
        };
        let rule = RuleExplanation {
            rule: "r".into(),
            kind: "count".into(),
            key: "h1".into(),
            observed: 3,
            threshold: 2,
            window_secs: 60,
        };
        let sig = store.signature_of(&cfg.dedup.signature, &down);
        let slot = store.insert(&down, 1_000, false, Some(rule), &sig, 0.5, None);
        store.return_scratch(sig);
        let up = Event {
            severity: Severity::Clear,
            description: "link up".into(),
            ..down.clone()
        };
        store.repeat(&cfg, slot, &up, 2_000, false, &mut scorer);
        let a = store.alert(slot);
        assert_eq!(a.raised_description(), Some("link down"));
        assert_eq!(a.cleared_at(), Some(2_000));
        // written as an array in the field order of the unpacked alert
        let json = serde_json::to_value(a).unwrap();
        let back: Alert = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(serde_json::to_value(&back).unwrap(), json);
        assert_eq!(back.rule().map(|r| r.threshold), Some(2));
        assert_eq!(back.raised_description(), Some("link down"));
        assert_eq!(
            back.extra().and_then(|e| e.get("ticket")),
            Some(&serde_json::json!("T-1"))
        );
        // the same alert as snapshots wrote it with field names (before 2026-12-05) reads
        // the same
        let names = [
            "id",
            "signature",
            "source",
            "check",
            "service",
            "manager",
            "labels",
            "description",
            "raised_description",
            "severity",
            "first_severity",
            "max_severity",
            "open",
            "flapping",
            "in_maintenance",
            "occurrence",
            "count",
            "first_time",
            "last_time",
            "last_emit",
            "cleared_at",
            "entropy",
            "entity",
            "history",
            "changes",
            "incident",
            "pending",
            "incidents",
            "rule",
            "extra",
        ];
        let values = json.as_array().expect("an array").clone();
        assert_eq!(values.len(), names.len());
        let mut named: serde_json::Map<String, serde_json::Value> =
            names.iter().map(|n| n.to_string()).zip(values).collect();
        assert_eq!(named["cleared_at"], 2_000);
        assert_eq!(named["description"], "link up");
        let back: Alert = serde_json::from_value(serde_json::Value::Object(named.clone())).unwrap();
        assert_eq!(serde_json::to_value(&back).unwrap(), json);
        // and one written before the rare fields existed: none of them allocated
        for k in ["raised_description", "extra", "first_severity"] {
            named.remove(k);
        }
        named["rule"] = serde_json::Value::Null;
        named["cleared_at"] = serde_json::Value::Null;
        let back: Alert = serde_json::from_value(serde_json::Value::Object(named)).unwrap();
        assert!(back.rare.is_none(), "nothing rare allocated");
        assert_eq!(back.cleared_at(), None);
        // re-raised: the raised text is dropped with the clear
        let mut store2 = AlertStore::new();
        let slot = raise(&mut store2, &down, 1_000);
        store2.repeat(&cfg, slot, &up, 2_000, false, &mut scorer);
        store2.repeat(&cfg, slot, &down, 3_000, false, &mut scorer);
        let a = store2.alert(slot);
        assert_eq!((a.raised_description(), a.cleared_at()), (None, None));
        assert_eq!(
            a.extra().map(|e| e.len()),
            Some(1),
            "the latest event's extra is kept"
        );
    }

    #[test]
    fn the_store_finds_counts_clears_and_reraises_by_signature() {
        let cfg = Config::default();
        let mut scorer = TokenStats::with_reference_range(64, 10, 10, 100);
        let mut store = AlertStore::new();
        let cpu = Event {
            severity: Severity::Major,
            ..ev("h1", "cpu", None)
        };
        let slot = raise(&mut store, &cpu, 1_000);
        assert_eq!(store.alert(slot).id, 1, "numbered from 1");
        assert_eq!(store.find("h1::cpu"), Some(slot));
        assert_eq!(store.find("h2::cpu"), None);
        let dup = store.repeat(&cfg, slot, &cpu, 2_000, false, &mut scorer);
        assert!(matches!(
            dup,
            Repeat::Duplicate {
                described: Described::Same,
                ..
            }
        ));
        assert_eq!(store.alert(slot).count, 2);
        let worse = store.repeat(
            &cfg,
            slot,
            &with(&cpu, Severity::Critical),
            3_000,
            false,
            &mut scorer,
        );
        assert!(matches!(
            worse,
            Repeat::SeverityChanged {
                old: Severity::Major,
                incident: None,
                described: Described::Same
            }
        ));
        store.alert_mut(slot).pending = thin_vec::thin_vec![7];
        let cleared = store.repeat(
            &cfg,
            slot,
            &with(&cpu, Severity::Clear),
            4_000,
            false,
            &mut scorer,
        );
        let Repeat::Cleared {
            pending,
            incident,
            flap,
        } = cleared
        else {
            panic!("a clear of an open alert clears it")
        };
        assert_eq!(
            (pending, incident),
            (thin_vec::thin_vec![7], None),
            "it leaves its pending clusters"
        );
        assert!(!flap.became);
        assert!(!store.alert(slot).open && store.alert(slot).cleared_at() == Some(4_000));
        let again = store.repeat(&cfg, slot, &cpu, 5_000, false, &mut scorer);
        assert!(matches!(again, Repeat::Reraised { .. }));
        assert_eq!(store.alert(slot).occurrence, 2, "a re-raise is a new occurrence");
        assert_eq!(store.alert(slot).max_severity, Severity::Critical);
    }

    #[test]
    fn state_changes_within_a_window_mark_flapping_until_a_quiet_window_passes() {
        let cfg = Config::default();
        let f = &cfg.dedup.flapping;
        let w = f.window_secs as i64 * 1000;
        let mut scorer = TokenStats::with_reference_range(64, 10, 10, 100);
        let mut store = AlertStore::new();
        let link = Event {
            severity: Severity::Major,
            ..ev("r1", "link", None)
        };
        let slot = raise(&mut store, &link, 0);
        let mut became = 0;
        for i in 1..=f.changes.max(2) as i64 {
            let sev = if i % 2 == 1 {
                Severity::Clear
            } else {
                Severity::Major
            };
            let r = store.repeat(&cfg, slot, &with(&link, sev), i, false, &mut scorer);
            let flap = match r {
                Repeat::Cleared { flap, .. } | Repeat::Reraised { flap } => flap,
                _ => panic!("every repeat changes state"),
            };
            became += flap.became as usize;
        }
        assert_eq!(became, 1, "it becomes flapping once");
        assert!(store.alert(slot).flapping);
        let id = store.alert(slot).id;
        let last = *store.alert(slot).changes.last().unwrap();
        assert!(
            !store.settle(&cfg, slot, id, last + w - 1),
            "not before a whole quiet window"
        );
        assert!(store.settle(&cfg, slot, id, last + w));
        assert!(!store.alert(slot).flapping);
    }

    #[test]
    fn a_purged_slot_is_reused_and_its_old_id_no_longer_answers() {
        let cfg = Config::default();
        let retention = cfg.dedup.retention_secs as i64 * 1000;
        let mut store = AlertStore::new();
        let gone = Event {
            severity: Severity::Clear,
            ..ev("h1", "disk", None)
        };
        let slot = raise(&mut store, &gone, 0);
        let id = store.alert(slot).id;
        assert!(!store.purgeable(&cfg, slot, id, retention - 1));
        assert!(store.purgeable(&cfg, slot, id, retention));
        store.remove(slot);
        assert_eq!(store.find("h1::disk"), None);
        let next = raise(&mut store, &ev("h2", "disk", None), retention);
        assert_eq!(next, slot, "the freed slot is reused");
        assert!(
            store.live_alert(slot, id).is_none(),
            "a timer for the old alert finds nothing"
        );
        assert!(!store.purgeable(&cfg, slot, id, i64::MAX));
        assert_eq!(store.slots_in_order(), vec![slot]);
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
