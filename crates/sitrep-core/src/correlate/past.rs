//! correlate::past: what is kept of an incident once it is purged — its fingerprint (root
//! cause, checks, sources) and what operators did about it — so that an incident can be
//! shown the closest earlier ones and how they were handled, as operators of Moogsoft and
//! BigPanda lean on. Bounded (`limits.past_incidents`, oldest dropped first), part of the
//! snapshot, and matched in event time order only: deterministic like the rest of the core.

use super::{Cluster, Correlator};
use crate::engine::Env;
use crate::id::IncidentId;
use crate::severity::Severity;
use crate::time::Millis;
use crate::update::{IncidentState, SimilarIncident, TimelineEntry};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Distinct checks and sources kept per fingerprint: enough to compare, bounded in memory.
const KEPT_NAMES: usize = 32;
/// Operator entries (assign, comment, resolve, …) kept per fingerprint, the latest.
const KEPT_HANDLING: usize = 8;
/// A match must score at least this to be shown (0..1; see [`score`]).
const MIN_SCORE: f64 = 0.2;

/// An incident reduced to what similarity and an operator's memory need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Fingerprint {
    pub id: IncidentId,
    pub title: String,
    pub state: IncidentState,
    pub max_severity: Severity,
    pub first_time: Millis,
    pub last_time: Millis,
    pub alert_count: usize,
    pub root_check: Box<str>,
    pub root_source: Box<str>,
    /// Sorted, distinct, at most [`KEPT_NAMES`].
    pub checks: Vec<Box<str>>,
    pub sources: Vec<Box<str>>,
    /// What operators did, oldest first, at most [`KEPT_HANDLING`].
    pub handling: Vec<TimelineEntry>,
}

/// Purged incidents' fingerprints, oldest first.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct PastIncidents {
    entries: VecDeque<Fingerprint>,
}

impl PastIncidents {
    pub fn keep(&mut self, f: Fingerprint, cap: usize) {
        if cap == 0 {
            return;
        }
        while self.entries.len() >= cap {
            self.entries.pop_front();
        }
        self.entries.push_back(f);
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }
}

fn sorted_distinct<'a>(names: impl Iterator<Item = &'a str>) -> Vec<Box<str>> {
    let mut v: Vec<&str> = names.collect();
    v.sort_unstable();
    v.dedup();
    v.truncate(KEPT_NAMES);
    v.into_iter().map(Into::into).collect()
}

/// The fingerprint of a held incident cluster.
pub(crate) fn fingerprint(env: &Env, c: &Cluster) -> Fingerprint {
    let root = &c.members[c.root];
    let handling: Vec<TimelineEntry> = c.timeline.iter().filter(|e| e.by.is_some()).cloned().collect();
    let skip = handling.len().saturating_sub(KEPT_HANDLING);
    Fingerprint {
        id: env.incident_id(c.incident.unwrap_or(0)),
        title: String::new(),
        state: c.state.incident_state(),
        max_severity: c.max_severity,
        first_time: c.first_time,
        last_time: c.last_time,
        alert_count: c.alert_count,
        root_check: root.check.clone(),
        root_source: root.source.clone(),
        checks: sorted_distinct(c.members.iter().map(|m| &*m.check)),
        sources: sorted_distinct(c.members.iter().map(|m| &*m.source)),
        handling: handling.into_iter().skip(skip).collect(),
    }
}

fn plural(n: usize, one: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {one}s")
    }
}

/// How alike two incidents are (0..1) and why, in words: the same probable root cause
/// (check 0.35, source 0.25) weighs most, then the share of checks (0.25) and of sources
/// (0.15) they have in common (Jaccard).
pub(crate) fn score(now: &Fingerprint, past: &Fingerprint) -> (f64, Vec<String>) {
    let mut s = 0.0;
    let mut why = Vec::new();
    let same_check = now.root_check == past.root_check;
    let same_source = now.root_source == past.root_source;
    match (same_check, same_source) {
        (true, true) => why.push(format!(
            "same probable root cause: {} on {}",
            past.root_check, past.root_source
        )),
        (true, false) => why.push(format!(
            "root cause of the same kind: {} (on {})",
            past.root_check, past.root_source
        )),
        (false, true) => why.push(format!(
            "root cause on the same source, {} ({})",
            past.root_source, past.root_check
        )),
        (false, false) => {}
    }
    if same_check {
        s += 0.35;
    }
    if same_source {
        s += 0.25;
    }
    let jaccard = |a: &[Box<str>], b: &[Box<str>]| {
        let n = super::similarity::sorted_intersection(a, b);
        (n, n as f64 / (a.len() + b.len() - n).max(1) as f64)
    };
    let (nc, jc) = jaccard(&now.checks, &past.checks);
    if nc > 0 {
        s += 0.25 * jc;
        why.push(format!(
            "{} of {} in common",
            plural(nc, "check"),
            now.checks.len()
        ));
    }
    let (ns, js) = jaccard(&now.sources, &past.sources);
    if ns > 0 {
        s += 0.15 * js;
        why.push(format!(
            "{} of {} in common",
            plural(ns, "source"),
            now.sources.len()
        ));
    }
    (s, why)
}

impl Correlator {
    /// Keeps the fingerprint of an incident about to be purged.
    pub(crate) fn remember(&mut self, env: &Env, cid: u64) {
        let Some(c) = self.clusters.get(&cid) else {
            return;
        };
        if c.incident.is_none() {
            return;
        }
        let mut f = fingerprint(env, c);
        f.title = self.incident_summary(env, cid).title;
        self.past.keep(f, env.c.cfg.limits.past_incidents);
    }

    /// The earlier incidents most like incident `cid` — still held (resolved, closed or
    /// active) or purged and remembered — best first, at most `limit`, each with why.
    pub(crate) fn similar(&self, env: &Env, cid: u64, limit: usize) -> Vec<SimilarIncident> {
        let Some(c) = self.clusters.get(&cid) else {
            return Vec::new();
        };
        let me = fingerprint(env, c);
        let mut held: Vec<(Fingerprint, bool)> = Vec::new();
        for (id, other) in self.clusters.iter() {
            if *id == cid || other.incident.is_none() || other.first_time > c.first_time {
                continue;
            }
            if other.first_time == c.first_time && other.incident >= c.incident {
                continue;
            }
            let mut f = fingerprint(env, other);
            f.title = self.incident_summary(env, *id).title;
            held.push((f, false));
        }
        let past = self
            .past
            .entries
            .iter()
            .filter(|f| f.first_time <= c.first_time)
            .map(|f| (f.clone(), true));
        let mut scored: Vec<(f64, Fingerprint, bool, Vec<String>)> = held
            .into_iter()
            .chain(past)
            .filter_map(|(f, purged)| {
                let (s, why) = score(&me, &f);
                (s >= MIN_SCORE).then_some((s, f, purged, why))
            })
            .collect();
        // best first; among equals the most recent (then the highest id, for determinism)
        scored.sort_by(|a, b| {
            b.0.total_cmp(&a.0)
                .then(b.1.first_time.cmp(&a.1.first_time))
                .then(b.1.id.number.cmp(&a.1.id.number))
        });
        scored
            .into_iter()
            .take(limit)
            .map(|(s, f, purged, reasons)| SimilarIncident {
                id: f.id,
                title: f.title,
                state: f.state,
                max_severity: f.max_severity,
                first_time: f.first_time,
                last_time: f.last_time,
                alert_count: f.alert_count,
                root_cause: format!("{} on {}", f.root_check, f.root_source),
                score: (s * 1000.0).round() / 1000.0,
                reasons,
                handling: f.handling,
                purged,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(root: (&str, &str), checks: &[&str], sources: &[&str]) -> Fingerprint {
        Fingerprint {
            id: IncidentId {
                partition: 0,
                number: 1,
            },
            title: String::new(),
            state: IncidentState::Closed,
            max_severity: Severity::Major,
            first_time: 0,
            last_time: 0,
            alert_count: checks.len(),
            root_check: root.0.into(),
            root_source: root.1.into(),
            checks: sorted_distinct(checks.iter().copied()),
            sources: sorted_distinct(sources.iter().copied()),
            handling: Vec::new(),
        }
    }

    #[test]
    fn the_same_root_cause_outweighs_shared_members() {
        let now = fp(
            ("bgp_down", "cr2.fra"),
            &["bgp_down", "link_down"],
            &["cr2.fra", "as1.fra"],
        );
        let same_root = fp(("bgp_down", "cr2.fra"), &["bgp_down"], &["cr2.fra"]);
        let shared = fp(
            ("link_down", "as9.ams"),
            &["link_down", "bgp_down"],
            &["as9.ams", "as1.fra"],
        );
        let unrelated = fp(("disk_full", "db-1"), &["disk_full"], &["db-1"]);
        let (a, why) = score(&now, &same_root);
        let (b, _) = score(&now, &shared);
        let (c, none) = score(&now, &unrelated);
        assert!(a > b && b > c, "{a} {b} {c}");
        assert_eq!(c, 0.0);
        assert!(none.is_empty());
        assert_eq!(why[0], "same probable root cause: bgp_down on cr2.fra");
        assert!(why.contains(&"1 check of 2 in common".to_string()), "{why:?}");
    }

    #[test]
    fn the_archive_is_bounded_oldest_first() {
        let mut p = PastIncidents::default();
        for n in 0..5 {
            let mut f = fp(("c", "s"), &["c"], &["s"]);
            f.id.number = n;
            p.keep(f, 3);
        }
        assert_eq!(p.len(), 3);
        assert_eq!(p.entries.front().unwrap().id.number, 2);
        p.keep(fp(("c", "s"), &["c"], &["s"]), 0);
        assert_eq!(p.len(), 3, "a cap of 0 keeps nothing new");
    }

    #[test]
    fn names_are_bounded_and_sorted() {
        let many: Vec<String> = (0..100).map(|i| format!("h{i:03}")).collect();
        let v = sorted_distinct(many.iter().rev().map(String::as_str).chain(["h000"]));
        assert_eq!(v.len(), KEPT_NAMES);
        assert_eq!(&*v[0], "h000");
    }
}
