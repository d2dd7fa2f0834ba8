//! Compact alert updates (schema 3): most alert changes written as the alert's *changing*
//! fields only, and [`AlertStates`], which rebuilds the full state from them.
//!
//! Why: on a churn-heavy stream nearly every event changes its alert, and a full alert state
//! (~880 bytes: signature, source, labels, the whole severity history…) for every change made
//! `updates.jsonl` three times the size of the input and its encoding a third of the replay's
//! time (docs/performance.md). Of those bytes only a few fields ever change after creation.
//!
//! The rule, in one place so that a reader can rely on it:
//! - A record is **full** (`alert` is the whole [`AlertView`]) when the alert is created, and
//!   at its first change in every period of event time (`full_state_every`, default one
//!   hour: `time / period` differs from that of the alert's previous update). A reader that
//!   starts anywhere therefore holds the full state of every alert that changes, one period
//!   after it started.
//! - Otherwise it is **partial** (`"partial":true`): `alert` holds the id and every field
//!   that can change after creation ([`AlertChanges`]); the fields fixed at creation
//!   (`signature`, `source`, `check`, `service`, `manager`, `labels`, `first_time`, `rule`)
//!   are those of the last full record. `history` is given as the entry added at the
//!   record's time (`history_add`, when the severity changed then) and the length after it
//!   (`history_len`): append it unless it equals the last entry held (one event can emit
//!   two records, `flapping` then `reraised`, both carrying it), then drop the oldest down
//!   to that length.
//!
//! The owned updates of [`crate::Engine::drain_updates`] (the server's feed, the Kafka
//! tables, which are compacted topics and must hold whole states) are always full.

use crate::id::{AlertId, IncidentId};
use crate::severity::Severity;
use crate::time::Millis;
use crate::update::{
    AlertChange, AlertUpdate, AlertView, AlertViewRef, Ids, IncidentUpdate, SeverityChange, Update,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// How the JSON-lines output writes alert updates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertUpdateForm {
    /// Every record a full alert state (schema 2's form).
    Full,
    /// Partial records between full ones; a full state on creation and at the first change
    /// in every `full_state_every` ms of event time (see the module's rule).
    Compact { full_state_every: Millis },
}

impl AlertUpdateForm {
    /// One hour: a reader starting anywhere has every changing alert's full state within
    /// an hour of event time, and an alert updated at most once a minute
    /// (`dedup.update_interval_secs`) writes one full record in sixty.
    pub const DEFAULT_FULL_STATE_EVERY: Millis = 3_600_000;

    /// Whether a change at `t` of an alert last updated at `previous` is written whole.
    pub fn full(self, change: AlertChange, previous: Millis, t: Millis) -> bool {
        match self {
            AlertUpdateForm::Full => true,
            AlertUpdateForm::Compact { full_state_every } => {
                change == AlertChange::Created
                    || full_state_every <= 0
                    || previous.div_euclid(full_state_every) != t.div_euclid(full_state_every)
            }
        }
    }
}

/// The partial record's `alert`, borrowed from the engine's state.
pub(crate) struct AlertChangesRef<'v, 'a> {
    pub view: &'v AlertViewRef<'a>,
    /// The record's event time.
    pub time: Millis,
}

impl Serialize for AlertChangesRef<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let v = self.view;
        let mut m = s.serialize_struct("AlertChanges", 18)?;
        m.serialize_field(
            "id",
            &AlertId {
                partition: v.partition,
                number: v.id,
            },
        )?;
        m.serialize_field("description", v.description)?;
        if let Some(d) = v.raised_description {
            m.serialize_field("raised_description", d)?;
        }
        m.serialize_field("severity", &v.severity)?;
        m.serialize_field("first_severity", &v.first_severity)?;
        m.serialize_field("max_severity", &v.max_severity)?;
        m.serialize_field("state", if v.open { "open" } else { "cleared" })?;
        m.serialize_field("count", &v.count)?;
        m.serialize_field("occurrence", &v.occurrence)?;
        m.serialize_field("last_time", &v.last_time)?;
        m.serialize_field("entropy", &v.entropy)?;
        m.serialize_field("flapping", &v.flapping)?;
        m.serialize_field("in_maintenance", &v.in_maintenance)?;
        if let Some(n) = v.incident {
            m.serialize_field(
                "incident",
                &IncidentId {
                    partition: v.partition,
                    number: n,
                },
            )?;
        }
        m.serialize_field("incidents", &Ids(v.partition, v.incidents))?;
        // An entry is added at the time of the event that changed the severity, and the
        // same event may emit more than one record (`flapping`, then `reraised`): each
        // carries it, and a reader appends it once.
        if let Some(last) = v.history.last().filter(|h| h.time == self.time) {
            m.serialize_field("history_add", last)?;
        }
        m.serialize_field("history_len", &v.history.len())?;
        if let Some(x) = v.extra {
            m.serialize_field("extra", x)?;
        }
        m.end()
    }
}

/// `{"type":"alert", …, "partial":true, "alert":{…changes…}}`.
#[derive(Serialize)]
pub(crate) struct AlertChangesUpdateRef<'v, 'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub v: u32,
    pub seq: u64,
    pub time: Millis,
    pub change: AlertChange,
    pub partial: bool,
    pub alert: AlertChangesRef<'v, 'a>,
}

/// A partial record's `alert`: the fields an alert can change after its creation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertChanges {
    pub id: AlertId,
    pub description: String,
    #[serde(default)]
    pub raised_description: Option<String>,
    pub severity: Severity,
    pub first_severity: Severity,
    pub max_severity: Severity,
    pub state: String,
    pub count: u64,
    pub occurrence: u32,
    pub last_time: Millis,
    pub entropy: f32,
    pub flapping: bool,
    pub in_maintenance: bool,
    #[serde(default)]
    pub incident: Option<IncidentId>,
    pub incidents: Vec<IncidentId>,
    #[serde(default)]
    pub history_add: Option<SeverityChange>,
    pub history_len: usize,
    #[serde(default)]
    pub extra: Option<serde_json::Map<String, serde_json::Value>>,
}

impl AlertChanges {
    /// The full state after this change, given the full state before it.
    pub fn apply_to(self, mut a: AlertView) -> AlertView {
        a.description = self.description;
        a.raised_description = self.raised_description;
        a.severity = self.severity;
        a.first_severity = self.first_severity;
        a.max_severity = self.max_severity;
        a.state = self.state;
        a.count = self.count;
        a.occurrence = self.occurrence;
        a.last_time = self.last_time;
        a.entropy = self.entropy;
        a.flapping = self.flapping;
        a.in_maintenance = self.in_maintenance;
        a.incident = self.incident;
        a.incidents = self.incidents;
        a.extra = self.extra;
        // consecutive entries always differ in severity (an entry is added only when it
        // changes), so an entry equal to the last is one already appended
        if let Some(h) = self.history_add.filter(|h| a.history.last() != Some(h)) {
            a.history.push(h);
        }
        let excess = a.history.len().saturating_sub(self.history_len);
        a.history.drain(..excess);
        a
    }
}

/// One line of `updates.jsonl` as written in either form.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum UpdateRecord {
    Alert(AlertRecord),
    Incident(Box<IncidentUpdate>),
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AlertRecord {
    pub v: u32,
    pub seq: u64,
    pub time: Millis,
    pub change: AlertChange,
    #[serde(default)]
    pub partial: bool,
    pub alert: AlertRecordBody,
}

/// A full state has a `signature`; a partial one never does.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum AlertRecordBody {
    Full(Box<AlertView>),
    Partial(Box<AlertChanges>),
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RebuildError {
    #[error("update {seq}: a partial record of alert {id}, whose full state was not seen before it")]
    Unknown { seq: u64, id: AlertId },
    #[error("update {seq}: a record marked partial holds a full state, or the other way round")]
    Inconsistent { seq: u64 },
}

/// Rebuilds full updates from a stream of records in either form: the last full state of
/// every alert seen, each partial record applied to it. Purged alerts are forgotten.
#[derive(Debug, Default)]
pub struct AlertStates {
    alerts: HashMap<AlertId, AlertView>,
}

impl AlertStates {
    pub fn new() -> AlertStates {
        AlertStates::default()
    }

    /// Alerts whose state is held.
    pub fn len(&self) -> usize {
        self.alerts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.alerts.is_empty()
    }

    pub fn get(&self, id: &AlertId) -> Option<&AlertView> {
        self.alerts.get(id)
    }

    /// The record as a full [`Update`] (the owned form the engine emits).
    pub fn apply(&mut self, record: UpdateRecord) -> Result<Update, RebuildError> {
        let a = match record {
            UpdateRecord::Incident(i) => return Ok(Update::Incident(*i)),
            UpdateRecord::Alert(a) => a,
        };
        let view = match a.alert {
            AlertRecordBody::Full(v) if !a.partial => *v,
            AlertRecordBody::Partial(c) if a.partial => {
                let before = self
                    .alerts
                    .get(&c.id)
                    .cloned()
                    .ok_or(RebuildError::Unknown { seq: a.seq, id: c.id })?;
                c.apply_to(before)
            }
            _ => return Err(RebuildError::Inconsistent { seq: a.seq }),
        };
        if a.change == AlertChange::Purged {
            self.alerts.remove(&view.id);
        } else {
            self.alerts.insert(view.id, view.clone());
        }
        Ok(Update::Alert(AlertUpdate {
            v: a.v,
            seq: a.seq,
            time: a.time,
            change: a.change,
            alert: view,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_state_on_creation_and_at_the_first_change_of_each_period() {
        let f = AlertUpdateForm::Compact {
            full_state_every: 1000,
        };
        assert!(f.full(AlertChange::Created, 0, 0));
        assert!(!f.full(AlertChange::Deduplicated, 10, 999));
        assert!(f.full(AlertChange::Deduplicated, 999, 1000));
        assert!(!f.full(AlertChange::Cleared, 1000, 1999));
        // before the epoch too: periods are floored, not truncated towards zero
        assert!(f.full(AlertChange::Cleared, -1, 0));
        assert!(!f.full(AlertChange::Cleared, -1000, -1));
        assert!(AlertUpdateForm::Full.full(AlertChange::Cleared, 5, 5));
        let every = AlertUpdateForm::Compact { full_state_every: 0 };
        assert!(every.full(AlertChange::Cleared, 5, 5));
    }

    #[test]
    fn history_is_appended_then_trimmed_to_the_given_length() {
        let mut v = crate::update::sample_alert_view();
        v.history = (0..4)
            .map(|i| SeverityChange {
                time: i,
                severity: Severity::Major,
            })
            .collect();
        let c = AlertChanges {
            id: v.id,
            description: "now".into(),
            raised_description: None,
            severity: Severity::Clear,
            first_severity: Severity::Major,
            max_severity: Severity::Major,
            state: "cleared".into(),
            count: 9,
            occurrence: 1,
            last_time: 10,
            entropy: 0.5,
            flapping: false,
            in_maintenance: false,
            incident: None,
            incidents: vec![],
            history_add: Some(SeverityChange {
                time: 10,
                severity: Severity::Clear,
            }),
            history_len: 4,
            extra: None,
        };
        let after = c.apply_to(v);
        let times: Vec<Millis> = after.history.iter().map(|h| h.time).collect();
        assert_eq!(times, [1, 2, 3, 10]);
        assert_eq!((after.count, after.state.as_str()), (9, "cleared"));
    }

    #[test]
    fn a_partial_record_of_an_unseen_alert_is_an_error_not_a_guess() {
        let line = r#"{"type":"alert","v":3,"seq":5,"time":1,"change":"cleared","partial":true,"alert":{"id":"A0-9","description":"x","severity":"clear","first_severity":"major","max_severity":"major","state":"cleared","count":2,"occurrence":1,"last_time":1,"entropy":1.0,"flapping":false,"in_maintenance":false,"incidents":[],"history_len":2}}"#;
        let r: UpdateRecord = serde_json::from_str(line).unwrap();
        let mut s = AlertStates::new();
        assert!(matches!(s.apply(r), Err(RebuildError::Unknown { seq: 5, .. })));
    }
}
