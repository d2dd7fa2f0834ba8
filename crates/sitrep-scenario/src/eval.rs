//! The evaluator: scores a replay's incidents against a scenario's truth.
//!
//! Over alert occurrences `(signature, occurrence)`: truth clusters are the faults (every
//! noise occurrence is a singleton); predicted clusters are the incidents (an occurrence in
//! no incident is a singleton). From the contingency table: pairwise precision, recall and
//! F1 of "same incident", the Adjusted Rand Index and NMI (arithmetic normalisation, as
//! scikit-learn's default). Also compression, the share of noise put into incidents, and the
//! time from a fault's first event to the first incident holding one of its alerts.

use crate::truth::Truth;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use sitrep_core::time::Millis;
use sitrep_core::update::IncidentView;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Report {
    pub scenario: String,
    pub events: u64,
    pub alerts: usize,
    pub incidents: usize,
    pub occurrences: usize,
    pub fault_occurrences: usize,
    pub noise_occurrences: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub ari: f64,
    pub nmi: f64,
    /// 1 − alerts / events.
    pub alert_compression: f64,
    /// 1 − incidents / alerts.
    pub incident_compression: f64,
    /// Share of noise occurrences placed in some incident.
    pub noise_in_incidents: f64,
    /// Faults with at least two occurrences (those that can form an incident).
    pub faults: usize,
    pub faults_detected: usize,
    /// Mean number of incidents a detected fault's occurrences are spread over.
    pub fragmentation: f64,
    pub time_to_incident_median_s: Option<f64>,
    pub time_to_incident_p95_s: Option<f64>,
    /// Share of detected faults whose main incident (the one holding most of the fault's
    /// occurrences) names the fault's origin node as its root cause's source.
    #[serde(default)]
    pub root_cause_accuracy: Option<f64>,
    /// Alerts in the largest incident.
    #[serde(default)]
    pub largest_incident: usize,
    /// Incidents the engine withdrew as routine patterns (`IncidentChange::Withdrawn`):
    /// their members count as in no incident (unless another holds them), as the engine's
    /// final word on them is "not a fault". Operators saw them until then, so …
    #[serde(default)]
    pub withdrawn_incidents: usize,
    /// … the share of noise occurrences that were in an incident at some time, withdrawn
    /// ones included (equal to `noise_in_incidents` when nothing was withdrawn). Both are
    /// read off the incidents held at the end: a withdrawn incident already purged (after
    /// `dedup.retention_secs`) and an alert released as background (it leaves the members)
    /// are not counted, so both undercount on streams longer than a day.
    #[serde(default)]
    pub noise_ever_in_incidents: f64,
}

fn comb2(n: u64) -> f64 {
    (n as f64) * (n as f64 - 1.0) / 2.0
}

/// Counts of a true and a predicted labelling of the same units: the base of the pairwise
/// scores (here and in [`crate::ait`]).
pub(crate) struct Contingency {
    pub cont: FxHashMap<(u64, u64), u64>,
    pub t_sizes: FxHashMap<u64, u64>,
    pub p_sizes: FxHashMap<u64, u64>,
    n: usize,
}

impl Contingency {
    pub fn new(t_label: &[u64], p_label: &[u64]) -> Contingency {
        let mut c = Contingency {
            cont: FxHashMap::default(),
            t_sizes: FxHashMap::default(),
            p_sizes: FxHashMap::default(),
            n: t_label.len(),
        };
        for (&t, &p) in t_label.iter().zip(p_label) {
            *c.cont.entry((t, p)).or_default() += 1;
            *c.t_sizes.entry(t).or_default() += 1;
            *c.p_sizes.entry(p).or_default() += 1;
        }
        c
    }

    /// Pairwise precision, recall, F1 of "same cluster", and the Adjusted Rand Index;
    /// `undefined` stands for a ratio with no pairs to count (and a degenerate ARI).
    pub fn pairwise(&self, undefined: f64) -> (f64, f64, f64, f64) {
        let tp: f64 = self.cont.values().map(|&c| comb2(c)).sum();
        let same_t: f64 = self.t_sizes.values().map(|&c| comb2(c)).sum();
        let same_p: f64 = self.p_sizes.values().map(|&c| comb2(c)).sum();
        let precision = if same_p > 0.0 { tp / same_p } else { undefined };
        let recall = if same_t > 0.0 { tp / same_t } else { undefined };
        let f1 = if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        };
        let total = comb2(self.n as u64);
        let expected = if total > 0.0 { same_t * same_p / total } else { 0.0 };
        let max_index = (same_t + same_p) / 2.0;
        let ari = if (max_index - expected).abs() < 1e-12 {
            undefined
        } else {
            (tp - expected) / (max_index - expected)
        };
        (precision, recall, f1, ari)
    }
}

/// `first_in_incident`: for each occurrence, the event time of the first update that put it
/// in an incident (from `updates.jsonl`).
pub fn evaluate(
    truth: &Truth,
    incidents: &[IncidentView],
    alerts: usize,
    first_in_incident: &FxHashMap<(String, u32), Millis>,
) -> Report {
    // an occurrence belongs to the incident it joined last: a merged-away incident keeps its
    // members as history, and they joined the incident they were merged into later (or in
    // the same millisecond, as `merged`)
    // (when it joined, whether as `merged`), and the incident's index
    type Joined = ((Millis, bool), usize);
    let mut last_join: FxHashMap<(&str, u32), Joined> = FxHashMap::default();
    let mut ever_in: rustc_hash::FxHashSet<(&str, u32)> = Default::default();
    for (i, inc) in incidents.iter().enumerate() {
        for m in &inc.members {
            ever_in.insert((m.signature.as_str(), m.occurrence));
        }
        if inc.summary.withdrawn.is_some() {
            continue;
        }
        for m in &inc.members {
            let when = (m.joined, m.why.kind == "merged");
            last_join
                .entry((m.signature.as_str(), m.occurrence))
                .and_modify(|e| {
                    if when > e.0 {
                        *e = (when, i)
                    }
                })
                .or_insert((when, i));
        }
    }
    let pred: FxHashMap<(&str, u32), usize> = last_join.into_iter().map(|(k, (_, i))| (k, i)).collect();
    // incidents that kept none of their members (merged into another) are not counted
    let kept_incidents = {
        let mut owners: Vec<usize> = pred.values().copied().collect();
        owners.sort_unstable();
        owners.dedup();
        owners.len()
            + incidents
                .iter()
                .filter(|i| i.members.is_empty() && i.summary.withdrawn.is_none())
                .count()
    };
    let n = truth.alerts.len();
    // labels: truth fault id (or a unique id per noise unit); predicted incident index (or unique)
    let mut t_label = Vec::with_capacity(n);
    let mut p_label = Vec::with_capacity(n);
    for (k, a) in truth.alerts.iter().enumerate() {
        t_label.push(match a.fault {
            Some(f) => f as u64,
            None => (1u64 << 40) + k as u64,
        });
        p_label.push(match pred.get(&(a.signature.as_str(), a.occurrence)) {
            Some(&i) => i as u64,
            None => (1u64 << 40) + k as u64,
        });
    }
    let table = Contingency::new(&t_label, &p_label);
    let (precision, recall, f1, ari) = table.pairwise(1.0);
    let Contingency {
        cont,
        t_sizes,
        p_sizes,
        ..
    } = table;
    let nf = n as f64;
    let entropy = |sizes: &FxHashMap<u64, u64>| -> f64 {
        sizes.values().map(|&c| c as f64 / nf).map(|p| -p * p.ln()).sum()
    };
    let (ht, hp) = (entropy(&t_sizes), entropy(&p_sizes));
    let mi: f64 = cont
        .iter()
        .map(|(&(t, p), &c)| {
            let pij = c as f64 / nf;
            pij * (pij / ((t_sizes[&t] as f64 / nf) * (p_sizes[&p] as f64 / nf))).ln()
        })
        .sum();
    let nmi = if ht + hp > 0.0 { 2.0 * mi / (ht + hp) } else { 1.0 };

    let noise: Vec<usize> = (0..n).filter(|&k| truth.alerts[k].fault.is_none()).collect();
    let noise_in = noise.iter().filter(|&&k| p_label[k] < (1u64 << 40)).count();
    let noise_ever_in = noise
        .iter()
        .filter(|&&k| ever_in.contains(&(truth.alerts[k].signature.as_str(), truth.alerts[k].occurrence)))
        .count();

    // detection latency and fragmentation per fault
    let mut fault_units: FxHashMap<u32, Vec<usize>> = FxHashMap::default();
    for (k, a) in truth.alerts.iter().enumerate() {
        if let Some(f) = a.fault {
            fault_units.entry(f).or_default().push(k);
        }
    }
    let mut latencies = Vec::new();
    let mut frag = Vec::new();
    let mut faults = 0;
    let mut roots_right = 0usize;
    for f in &truth.faults {
        let Some(units) = fault_units.get(&f.id) else {
            continue;
        };
        if units.len() < 2 {
            continue;
        }
        faults += 1;
        let mut incs: Vec<u64> = units
            .iter()
            .map(|&k| p_label[k])
            .filter(|&p| p < (1u64 << 40))
            .collect();
        incs.sort_unstable();
        incs.dedup();
        if incs.is_empty() {
            continue;
        }
        frag.push(incs.len() as f64);
        let mut votes: FxHashMap<u64, usize> = FxHashMap::default();
        for &k in units {
            if p_label[k] < (1u64 << 40) {
                *votes.entry(p_label[k]).or_default() += 1;
            }
        }
        let main = votes
            .iter()
            .max_by_key(|(p, c)| (**c, std::cmp::Reverse(**p)))
            .map(|(p, _)| *p as usize)
            .expect("a detected fault has an incident");
        roots_right += usize::from(incidents[main].summary.root_cause.source == f.root);
        let detected = units
            .iter()
            .filter_map(|&k| {
                first_in_incident.get(&(truth.alerts[k].signature.clone(), truth.alerts[k].occurrence))
            })
            .min();
        if let (Some(d), Some(first)) = (detected, f.first_event) {
            latencies.push((d - first) as f64 / 1000.0);
        }
    }
    latencies.sort_by(|a, b| a.total_cmp(b));
    let pct = |q: f64| -> Option<f64> {
        (!latencies.is_empty()).then(|| latencies[((latencies.len() as f64 - 1.0) * q).round() as usize])
    };
    let events = truth.events.max(1);
    Report {
        scenario: truth.scenario.clone(),
        events: truth.events,
        alerts,
        incidents: kept_incidents,
        occurrences: n,
        fault_occurrences: n - noise.len(),
        noise_occurrences: noise.len(),
        precision,
        recall,
        f1,
        ari,
        nmi,
        alert_compression: 1.0 - alerts as f64 / events as f64,
        incident_compression: if alerts > 0 {
            1.0 - kept_incidents as f64 / alerts as f64
        } else {
            0.0
        },
        noise_in_incidents: if noise.is_empty() {
            0.0
        } else {
            noise_in as f64 / noise.len() as f64
        },
        faults,
        faults_detected: frag.len(),
        fragmentation: if frag.is_empty() {
            0.0
        } else {
            frag.iter().sum::<f64>() / frag.len() as f64
        },
        time_to_incident_median_s: pct(0.5),
        time_to_incident_p95_s: pct(0.95),
        root_cause_accuracy: (!frag.is_empty()).then(|| roots_right as f64 / frag.len() as f64),
        largest_incident: incidents
            .iter()
            .filter(|i| i.summary.withdrawn.is_none())
            .map(|i| i.summary.alert_count)
            .max()
            .unwrap_or(0),
        withdrawn_incidents: incidents.iter().filter(|i| i.summary.withdrawn.is_some()).count(),
        noise_ever_in_incidents: if noise.is_empty() {
            0.0
        } else {
            noise_ever_in as f64 / noise.len() as f64
        },
    }
}

impl Report {
    pub fn summary(&self) -> String {
        let secs = |v: Option<f64>| v.map_or("-".to_string(), |s| format!("{s:.0} s"));
        format!(
            "scenario {}: {} events -> {} alerts -> {} incidents\n  \
             pairwise precision {:.3}  recall {:.3}  F1 {:.3}   ARI {:.3}  NMI {:.3}\n  \
             compression: alerts/events {:.3}, incidents/alerts {:.3}\n  \
             noise occurrences in incidents {:.1}% ({} noise of {} occurrences)\n  \
             faults detected {}/{} (fragmentation {:.2}); time to incident median {}, p95 {}\n  \
             root cause right for {} of detected faults; largest incident {} alerts{}",
            self.scenario,
            self.events,
            self.alerts,
            self.incidents,
            self.precision,
            self.recall,
            self.f1,
            self.ari,
            self.nmi,
            self.alert_compression,
            self.incident_compression,
            self.noise_in_incidents * 100.0,
            self.noise_occurrences,
            self.occurrences,
            self.faults_detected,
            self.faults,
            self.fragmentation,
            secs(self.time_to_incident_median_s),
            secs(self.time_to_incident_p95_s),
            self.root_cause_accuracy
                .map_or("-".to_string(), |r| format!("{:.1}%", r * 100.0)),
            self.largest_incident,
            if self.withdrawn_incidents > 0 {
                format!(
                    "\n  withdrawn as routine: {} incidents (noise occurrences ever in an incident {:.1}%)",
                    self.withdrawn_incidents,
                    self.noise_ever_in_incidents * 100.0
                )
            } else {
                String::new()
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::truth::{AlertTruth, FaultTruth};
    use sitrep_core::update::*;
    use sitrep_core::Severity;

    fn unit(sig: &str, fault: Option<u32>) -> AlertTruth {
        AlertTruth {
            signature: sig.into(),
            occurrence: 1,
            fault,
            kind: "x".into(),
            first_time: 0,
        }
    }

    fn incident(sigs: &[&str]) -> IncidentView {
        IncidentView {
            summary: IncidentSummary {
                id: "INC0-1".parse().unwrap(),
                title: "t".into(),
                state: IncidentState::Open,
                severity: Severity::Major,
                max_severity: Severity::Major,
                recipe: "r".into(),
                alert_count: sigs.len(),
                source_count: 1,
                first_time: 0,
                last_time: 0,
                root_cause: RootCause {
                    alert_id: "A0-1".parse().unwrap(),
                    signature: "s".into(),
                    source: "s".into(),
                    check: "c".into(),
                    reason: "r".into(),
                },
                reopen_count: 0,
                withdrawn: None,
                assignee: None,
            },
            members: sigs
                .iter()
                .map(|s| MemberView {
                    alert_id: "A0-1".parse().unwrap(),
                    signature: s.to_string(),
                    occurrence: 1,
                    joined: 0,
                    why: Explanation {
                        recipe: "r".into(),
                        kind: "seed".into(),
                        compared_with: None,
                        matched: vec![],
                        gap_ms: 0,
                        hops: None,
                        direction: None,
                        evidence: vec![],
                    },
                })
                .collect(),
            timeline: vec![],
        }
    }

    fn truth(alerts: Vec<AlertTruth>) -> Truth {
        Truth {
            scenario: "t".into(),
            seed: 0,
            events: 100,
            events_by_kind: Default::default(),
            faults: vec![
                FaultTruth {
                    id: 1,
                    kind: "k".into(),
                    root: "r".into(),
                    start: 0,
                    end: 0,
                    first_event: Some(0),
                    alerts: 3,
                },
                FaultTruth {
                    id: 2,
                    kind: "k".into(),
                    root: "r".into(),
                    start: 0,
                    end: 0,
                    first_event: Some(0),
                    alerts: 2,
                },
            ],
            alerts,
        }
    }

    #[test]
    fn a_withdrawn_incident_holds_nothing_but_is_reported() {
        let t = truth(vec![
            unit("a", Some(1)),
            unit("b", Some(1)),
            unit("c", Some(1)),
            unit("n1", None),
            unit("n2", None),
        ]);
        let mut routine = incident(&["n1", "n2"]);
        let kept = evaluate(
            &t,
            &[incident(&["a", "b", "c"]), routine.clone()],
            5,
            &FxHashMap::default(),
        );
        assert_eq!(kept.noise_in_incidents, 1.0);
        assert!(kept.precision < 1.0);
        routine.summary.withdrawn = Some("withdrawn as routine".into());
        let r = evaluate(
            &t,
            &[incident(&["a", "b", "c"]), routine],
            5,
            &FxHashMap::default(),
        );
        assert_eq!((r.precision, r.recall, r.noise_in_incidents), (1.0, 1.0, 0.0));
        assert_eq!((r.incidents, r.withdrawn_incidents), (1, 1));
        assert_eq!(
            r.noise_ever_in_incidents, 1.0,
            "operators saw them in one until then"
        );
    }

    #[test]
    fn a_merged_away_incident_keeps_its_members_as_history_only() {
        let t = truth(vec![
            unit("a", Some(1)),
            unit("b", Some(1)),
            unit("c", Some(1)),
            unit("d", Some(2)),
            unit("e", Some(2)),
        ]);
        // "c" seeded an incident of its own, later merged into the first: it is listed in
        // both, and joined the first later
        let mut first = incident(&["a", "b", "c"]);
        first.members[2].joined = 60_000;
        let r = evaluate(
            &t,
            &[incident(&["c"]), first.clone(), incident(&["d", "e"])],
            5,
            &FxHashMap::default(),
        );
        assert_eq!((r.precision, r.recall, r.f1), (1.0, 1.0, 1.0));
        assert_eq!(r.incidents, 2, "the merged-away incident is not counted");
        // or in the same millisecond (the alert whose join set off the merge): the `merged`
        // membership is the later one
        first.members[2].joined = 0;
        first.members[2].why.kind = "merged".into();
        let r = evaluate(
            &t,
            &[incident(&["c"]), first, incident(&["d", "e"])],
            5,
            &FxHashMap::default(),
        );
        assert_eq!((r.precision, r.recall, r.f1), (1.0, 1.0, 1.0));
        assert_eq!(r.incidents, 2);
    }

    #[test]
    fn perfect_clustering_scores_one() {
        let t = truth(vec![
            unit("a", Some(1)),
            unit("b", Some(1)),
            unit("c", Some(1)),
            unit("d", Some(2)),
            unit("e", Some(2)),
            unit("n", None),
        ]);
        let mut first = FxHashMap::default();
        first.insert(("b".to_string(), 1), 30_000);
        let r = evaluate(
            &t,
            &[incident(&["a", "b", "c"]), incident(&["d", "e"])],
            6,
            &first,
        );
        assert_eq!((r.precision, r.recall, r.f1), (1.0, 1.0, 1.0));
        assert!((r.ari - 1.0).abs() < 1e-9 && (r.nmi - 1.0).abs() < 1e-9);
        assert_eq!(r.noise_in_incidents, 0.0);
        assert_eq!((r.faults, r.faults_detected), (2, 2));
        assert_eq!(r.time_to_incident_median_s, Some(30.0));
        assert!((r.alert_compression - 0.94).abs() < 1e-9);
    }

    #[test]
    fn merging_two_faults_and_noise_costs_precision() {
        let t = truth(vec![
            unit("a", Some(1)),
            unit("b", Some(1)),
            unit("c", Some(1)),
            unit("d", Some(2)),
            unit("e", Some(2)),
            unit("n", None),
        ]);
        let r = evaluate(
            &t,
            &[incident(&["a", "b", "c", "d", "e", "n"])],
            6,
            &FxHashMap::default(),
        );
        // same-truth pairs: 3 + 1 = 4, all predicted together (recall 1); predicted pairs 15
        assert_eq!(r.recall, 1.0);
        assert!((r.precision - 4.0 / 15.0).abs() < 1e-9);
        assert!(r.ari < 0.5);
        assert_eq!(r.noise_in_incidents, 1.0);
        let r = evaluate(&t, &[], 6, &FxHashMap::default());
        assert_eq!(r.recall, 0.0);
        assert_eq!(r.faults_detected, 0);
    }
}
