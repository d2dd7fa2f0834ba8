//! The output schema: update records (alert and incident changes) and the final-state views
//! written to `alerts.jsonl` and `incidents.jsonl`. Versioned by [`SCHEMA_VERSION`]; fields
//! are only ever added within a version. docs/schema.md describes every field.

use crate::id::{AlertId, IncidentId};
use crate::severity::Severity;
use crate::time::Millis;
use serde::{Deserialize, Serialize};

pub const SCHEMA_VERSION: u32 = 3;

// Unboxed on purpose: updates are made and consumed one at a time on the hot path, and a
// box would cost an allocation per alert update for a size that matters only in bulk.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Update {
    Alert(AlertUpdate),
    Incident(IncidentUpdate),
}

impl Update {
    pub fn seq(&self) -> u64 {
        match self {
            Update::Alert(a) => a.seq,
            Update::Incident(i) => i.seq,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertChange {
    /// First event of a new alert.
    Created,
    /// Duplicates arrived (count, last time, description); at most one per
    /// `dedup.update_interval_secs` of event time.
    Deduplicated,
    SeverityChanged,
    Cleared,
    /// Raised again after a clear: a new occurrence.
    Reraised,
    Flapping,
    Settled,
    /// Joined an incident.
    Correlated,
    /// Left its incident without joining another: the incident was withdrawn as a routine
    /// pattern (`IncidentChange::Withdrawn`).
    Released,
    /// Removed after its retention; a Kafka sink writes a tombstone.
    Purged,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertUpdate {
    pub v: u32,
    pub seq: u64,
    /// Event time of the change.
    pub time: Millis,
    pub change: AlertChange,
    pub alert: AlertView,
}

/// Labels as a JSON object, as every consumer expects them (`labels.region`, not a search
/// through pairs); schema 1 wrote a list of pairs, which reading still takes.
mod labels_object {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::BTreeMap;

    pub fn serialize<S: Serializer>(labels: &[(String, String)], s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(labels.iter().map(|(k, v)| (k, v)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, String)>, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Object(BTreeMap<String, String>),
            Pairs(Vec<(String, String)>),
        }
        Ok(match Either::deserialize(d)? {
            Either::Object(m) => m.into_iter().collect(),
            Either::Pairs(p) => p,
        })
    }

    /// The borrowed view's labels, serialised the same way.
    pub(crate) struct Borrowed<'a, 'b>(pub &'b [(&'a str, &'a str)]);

    impl Serialize for Borrowed<'_, '_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertView {
    pub id: AlertId,
    pub signature: String,
    pub source: String,
    pub check: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub service: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub manager: Option<String>,
    /// Sorted by key. On the wire a JSON object (`{"region":"ams"}`) since schema 2.
    #[serde(skip_serializing_if = "Vec::is_empty", default, with = "labels_object")]
    pub labels: Vec<(String, String)>,
    pub description: String,
    /// The text it was raised with, when a clear replaced it (`description` is the latest).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub raised_description: Option<String>,
    pub severity: Severity,
    /// The severity it was (last) raised with; `max_severity` is the worst since.
    #[serde(default)]
    pub first_severity: Severity,
    pub max_severity: Severity,
    /// `open` or `cleared`.
    pub state: String,
    pub count: u64,
    /// 1 for the first raise, +1 for every raise after a clear.
    pub occurrence: u32,
    pub first_time: Millis,
    pub last_time: Millis,
    /// Noise score: 0 (no information) .. 1.
    pub entropy: f32,
    pub flapping: bool,
    pub in_maintenance: bool,
    /// The incident the current occurrence belongs to.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub incident: Option<IncidentId>,
    /// Every incident any occurrence joined.
    pub incidents: Vec<IncidentId>,
    /// Most recent severity changes, oldest first.
    pub history: Vec<SeverityChange>,
    /// For alerts raised by a per-key rule: why.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub rule: Option<RuleExplanation>,
    /// The latest event's fields outside the native model, verbatim.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub extra: Option<serde_json::Map<String, serde_json::Value>>,
}

/// An [`AlertView`] borrowed from the engine's state: it serialises to exactly the same
/// JSON without copying a string, for the JSON-lines output mode (the replay's hot path).
pub(crate) struct AlertViewRef<'a> {
    pub partition: u32,
    pub id: u64,
    pub signature: &'a str,
    pub source: &'a str,
    pub check: &'a str,
    pub service: Option<&'a str>,
    pub manager: Option<&'a str>,
    pub labels: Vec<(&'a str, &'a str)>,
    pub description: &'a str,
    pub raised_description: Option<&'a str>,
    pub severity: Severity,
    pub first_severity: Severity,
    pub max_severity: Severity,
    pub open: bool,
    pub count: u64,
    pub occurrence: u32,
    pub first_time: Millis,
    pub last_time: Millis,
    pub entropy: f32,
    pub flapping: bool,
    pub in_maintenance: bool,
    pub incident: Option<u64>,
    pub incidents: &'a [u64],
    pub history: &'a [SeverityChange],
    pub rule: Option<&'a RuleExplanation>,
    pub extra: Option<&'a serde_json::Map<String, serde_json::Value>>,
}

impl AlertViewRef<'_> {
    /// The owned view: the same data as this borrowed one, and the same JSON.
    pub fn to_owned_view(&self) -> AlertView {
        let partition = self.partition;
        let inc = |number: u64| IncidentId { partition, number };
        AlertView {
            id: AlertId {
                partition,
                number: self.id,
            },
            signature: self.signature.to_string(),
            source: self.source.to_string(),
            check: self.check.to_string(),
            service: self.service.map(str::to_string),
            manager: self.manager.map(str::to_string),
            labels: self
                .labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            description: self.description.to_string(),
            raised_description: self.raised_description.map(str::to_string),
            severity: self.severity,
            first_severity: self.first_severity,
            max_severity: self.max_severity,
            state: if self.open { "open" } else { "cleared" }.to_string(),
            count: self.count,
            occurrence: self.occurrence,
            first_time: self.first_time,
            last_time: self.last_time,
            entropy: self.entropy,
            flapping: self.flapping,
            in_maintenance: self.in_maintenance,
            incident: self.incident.map(inc),
            incidents: self.incidents.iter().map(|n| inc(*n)).collect(),
            history: self.history.to_vec(),
            rule: self.rule.cloned(),
            extra: self.extra.cloned(),
        }
    }
}

pub(crate) struct Ids<'a>(pub u32, pub &'a [u64]);

impl Serialize for Ids<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.1.iter().map(|&number| crate::id::IncidentId {
            partition: self.0,
            number,
        }))
    }
}

impl Serialize for AlertViewRef<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut m = s.serialize_struct("AlertView", 26)?;
        m.serialize_field(
            "id",
            &crate::id::AlertId {
                partition: self.partition,
                number: self.id,
            },
        )?;
        m.serialize_field("signature", self.signature)?;
        m.serialize_field("source", self.source)?;
        m.serialize_field("check", self.check)?;
        if let Some(v) = self.service {
            m.serialize_field("service", v)?;
        }
        if let Some(v) = self.manager {
            m.serialize_field("manager", v)?;
        }
        if !self.labels.is_empty() {
            m.serialize_field("labels", &labels_object::Borrowed(&self.labels))?;
        }
        m.serialize_field("description", self.description)?;
        if let Some(d) = self.raised_description {
            m.serialize_field("raised_description", d)?;
        }
        m.serialize_field("severity", &self.severity)?;
        m.serialize_field("first_severity", &self.first_severity)?;
        m.serialize_field("max_severity", &self.max_severity)?;
        m.serialize_field("state", if self.open { "open" } else { "cleared" })?;
        m.serialize_field("count", &self.count)?;
        m.serialize_field("occurrence", &self.occurrence)?;
        m.serialize_field("first_time", &self.first_time)?;
        m.serialize_field("last_time", &self.last_time)?;
        m.serialize_field("entropy", &self.entropy)?;
        m.serialize_field("flapping", &self.flapping)?;
        m.serialize_field("in_maintenance", &self.in_maintenance)?;
        if let Some(n) = self.incident {
            m.serialize_field(
                "incident",
                &crate::id::IncidentId {
                    partition: self.partition,
                    number: n,
                },
            )?;
        }
        m.serialize_field("incidents", &Ids(self.partition, self.incidents))?;
        m.serialize_field("history", self.history)?;
        if let Some(r) = self.rule {
            m.serialize_field("rule", r)?;
        }
        if let Some(x) = self.extra {
            m.serialize_field("extra", x)?;
        }
        m.end()
    }
}

/// `{"type":"alert", …AlertUpdate}` with a borrowed view: the same bytes as serialising
/// `Update::Alert`.
#[derive(Serialize)]
pub(crate) struct AlertUpdateRef<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub v: u32,
    pub seq: u64,
    pub time: Millis,
    pub change: AlertChange,
    pub alert: AlertViewRef<'a>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SeverityChange {
    pub time: Millis,
    pub severity: Severity,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleExplanation {
    pub rule: String,
    pub kind: String,
    pub key: String,
    /// Count rules: events in the window; heartbeat rules: intervals missed.
    pub observed: u64,
    pub threshold: u64,
    pub window_secs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentChange {
    Opened,
    AlertAdded,
    SeverityChanged,
    Resolved,
    Reopened,
    Closed,
    Purged,
    /// Operator actions (see `sitrep_core::actions`).
    Acknowledged,
    Assigned,
    Commented,
    /// Another incident was merged into this one (which gets its members).
    Merged,
    /// Alerts were split out of this incident into a new one.
    Split,
    /// An alert was moved out of or into this incident.
    AlertMoved,
    /// Closed as a routine pattern, not a fault: its alerts kept firing together again
    /// after quiet spells (`IncidentSummary::withdrawn` says when); they were released.
    Withdrawn,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentUpdate {
    pub v: u32,
    pub seq: u64,
    pub time: Millis,
    pub change: IncidentChange,
    pub incident: IncidentSummary,
    /// The members this change added (all members on `opened`).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub added: Vec<MemberView>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentState {
    Open,
    Acknowledged,
    Resolved,
    Closed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentSummary {
    pub id: IncidentId,
    pub title: String,
    pub state: IncidentState,
    /// Highest current severity of its members (`clear` once all are clear).
    pub severity: Severity,
    pub max_severity: Severity,
    pub recipe: String,
    pub alert_count: usize,
    pub source_count: usize,
    pub first_time: Millis,
    pub last_time: Millis,
    pub root_cause: RootCause,
    pub reopen_count: u32,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub assignee: Option<String>,
    /// Why the engine withdrew it as a routine pattern (its state is then `closed` and its
    /// alerts are in no incident): set only for withdrawn incidents.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub withdrawn: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RootCause {
    pub alert_id: AlertId,
    pub signature: String,
    pub source: String,
    pub check: String,
    /// Why this member: `furthest upstream in the topology`, or `earliest alert`.
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberView {
    pub alert_id: AlertId,
    pub signature: String,
    pub occurrence: u32,
    pub joined: Millis,
    pub why: Explanation,
}

/// Why an alert joined an incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    pub recipe: String,
    /// `seed` (started the incident), `attribute`, `topology`, `reraised` (a member raised
    /// again while its incident was active or within the reopen grace).
    pub kind: String,
    /// The member it was compared with (the incident's anchor or root cause).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub compared_with: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub matched: Vec<FieldMatch>,
    /// Since the incident's previous alert.
    pub gap_ms: Millis,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub hops: Option<u32>,
    /// `upstream`, `downstream`, `same entity` or `related` relative to `compared_with`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub direction: Option<String>,
    /// Learned evidence, strongest first, each in words an operator reads.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub evidence: Vec<String>,
}

impl Explanation {
    /// A bare explanation: recipe and kind; the caller fills what applies.
    pub fn new(recipe: impl Into<String>, kind: &str) -> Explanation {
        Explanation {
            recipe: recipe.into(),
            kind: kind.to_string(),
            compared_with: None,
            matched: Vec::new(),
            gap_ms: 0,
            hops: None,
            direction: None,
            evidence: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldMatch {
    pub field: String,
    pub value: String,
    pub other: String,
    /// `equal`, `jaccard` or `tokens`.
    pub method: String,
    pub similarity: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub time: Millis,
    pub what: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub alert_id: Option<AlertId>,
    /// Who did it, for operator actions.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub by: Option<String>,
}

/// An earlier incident like a given one (`GET /api/v1/incidents/{id}/similar`): how alike,
/// why, and what operators did about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimilarIncident {
    pub id: IncidentId,
    pub title: String,
    /// Its state when last seen (purged ones: when purged, so `closed`).
    pub state: IncidentState,
    pub max_severity: Severity,
    pub first_time: Millis,
    pub last_time: Millis,
    pub alert_count: usize,
    /// `check on source` of its probable root cause.
    pub root_cause: String,
    /// 0..1: the same root cause weighs most, then shared checks and sources.
    pub score: f64,
    /// Why it is similar, in words.
    pub reasons: Vec<String>,
    /// Operator entries of its timeline (assigned, comments, resolved, closed), the latest.
    pub handling: Vec<TimelineEntry>,
    /// Purged from the live state; only its fingerprint is kept.
    pub purged: bool,
}

/// The final state of an incident as written to `incidents.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentView {
    #[serde(flatten)]
    pub summary: IncidentSummary,
    pub members: Vec<MemberView>,
    pub timeline: Vec<TimelineEntry>,
}

/// Counters and, from [`crate::Engine::stats`], counts from the current state. *Active*
/// means what an operator calls open: raised alerts; open or acknowledged incidents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineStats {
    pub events: u64,
    pub synthetic_events: u64,
    pub alerts_created: u64,
    /// Alerts raised now (not cleared).
    pub alerts_active: u64,
    /// Alerts held, raised or cleared, not yet purged (older snapshots: see `restore`).
    #[serde(default)]
    pub alerts_held: u64,
    pub alerts_purged: u64,
    pub incidents_opened: u64,
    /// Incidents open or acknowledged now.
    pub incidents_active: u64,
    /// Incidents resolved (within their reopen grace) and closed, not yet purged.
    #[serde(default)]
    pub incidents_resolved: u64,
    #[serde(default)]
    pub incidents_closed: u64,
    pub maintenance_events: u64,
    pub updates: u64,
    /// Candidate incidents new alerts were judged against, summed: correlation's work,
    /// bounded per alert (`TOKEN_CANDIDATES`, `TIME_CANDIDATES` in `correlate`).
    #[serde(default)]
    pub candidates_judged: u64,
}

/// An alert's full state, for tests that need one.
#[cfg(test)]
pub(crate) fn sample_alert_view() -> AlertView {
    AlertView {
        id: "A0-1".parse().unwrap(),
        signature: "h::c".into(),
        source: "h".into(),
        check: "c".into(),
        service: None,
        manager: None,
        labels: vec![("region".into(), "ams".into())],
        description: "d".into(),
        raised_description: None,
        severity: Severity::Major,
        first_severity: Severity::Major,
        max_severity: Severity::Major,
        state: "open".into(),
        count: 1,
        occurrence: 1,
        first_time: 0,
        last_time: 0,
        entropy: 1.0,
        flapping: false,
        in_maintenance: false,
        incident: None,
        incidents: vec![],
        history: vec![],
        rule: None,
        extra: None,
    }
}

/// An opened incident's update, for tests that need one.
#[cfg(test)]
pub(crate) fn sample_incident_update() -> IncidentUpdate {
    IncidentUpdate {
        v: SCHEMA_VERSION,
        seq: 0,
        time: 0,
        change: IncidentChange::Opened,
        incident: IncidentSummary {
            id: "INC0-1".parse().unwrap(),
            title: "t".into(),
            state: IncidentState::Open,
            severity: Severity::Major,
            max_severity: Severity::Major,
            recipe: "r".into(),
            alert_count: 2,
            source_count: 2,
            first_time: 0,
            last_time: 0,
            root_cause: RootCause {
                alert_id: "A0-1".parse().unwrap(),
                signature: "s".into(),
                source: "h".into(),
                check: "c".into(),
                reason: "earliest alert".into(),
            },
            reopen_count: 0,
            withdrawn: None,
            assignee: None,
        },
        added: vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_json_is_tagged_and_versioned() {
        let u = Update::Incident(IncidentUpdate {
            seq: 7,
            ..sample_incident_update()
        });
        let j = serde_json::to_value(&u).unwrap();
        assert_eq!(j["type"], "incident");
        assert_eq!(j["v"], 3);
        assert_eq!(j["change"], "opened");
        assert_eq!(j["incident"]["state"], "open");
        let back: Update = serde_json::from_value(j).unwrap();
        assert_eq!(back, u);
    }

    #[test]
    fn labels_are_an_object_and_schema_one_pairs_still_read() {
        let labels = vec![
            ("region".to_string(), "ams".to_string()),
            ("site".to_string(), "s6".to_string()),
        ];
        let borrowed: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let owned =
            serde_json::json!({"labels": serde_json::to_value(labels_object::Borrowed(&borrowed)).unwrap()});
        assert_eq!(
            owned["labels"],
            serde_json::json!({"region": "ams", "site": "s6"})
        );
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct L {
            #[serde(with = "labels_object")]
            labels: Vec<(String, String)>,
        }
        let l = L {
            labels: labels.clone(),
        };
        assert_eq!(serde_json::to_value(&l).unwrap(), owned);
        let old: L = serde_json::from_str(r#"{"labels":[["region","ams"],["site","s6"]]}"#).unwrap();
        assert_eq!(old, l);
    }
}

/// One edge of the learned topology (`Engine::learned_edges`): alerts on `from` named `to`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LearnedEdgeView {
    pub from: String,
    pub to: String,
    /// The field that named it the last time: `labels.node`, `service`, `description`.
    pub via: String,
    /// How many alerts named it (decayed with `half_life_secs`).
    pub weight: f64,
    /// When it was last named (event time, ms since the epoch).
    pub last_time: i64,
}

/// One attribute key as learned recipes see it (`Engine::learned_attributes`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LearnedAttributeView {
    /// `labels.site`, `service`, `source.prefix2`…
    pub key: String,
    /// How many times as often as chance alerts that start close together share its value.
    pub lift: f64,
    /// Close pairs seen (decayed).
    pub close_pairs: f64,
    /// Distinct values held.
    pub values: usize,
    /// Bound on the probability that chance alone shares values this often.
    pub chance: f64,
    /// Counts as evidence (enough pairs, a share of related pairs at or above
    /// `min_related`, chance at most `max_chance`).
    pub evidence: bool,
}
