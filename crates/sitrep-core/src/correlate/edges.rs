//! correlate::edges: the learned topology — which sources name which, accumulated from the
//! stream. Every observed alert whose labels, service or description name another known
//! source (`correlate::candidates::mentions`: a pod's `node = node-6-3`, `service = cart-6`,
//! "BGP neighbor cr2.fra Down") adds to the edge *its source → the named source*, tagged
//! with the field that named it. Counts decay with `half_life_secs` like every learned
//! statistic; at most `max_class_pairs` edges are kept (the weakest tenth dropped when
//! full, ties by hash: deterministic). Part of the snapshot.
//!
//! The edges are what sitrep has learned of the estate's structure, shown to operators
//! (`Engine::learned_edges`, `GET /api/v1/learned`, `learned_edges.json` of a replay) beside
//! any configured topology. The joins themselves are made by the named links of the
//! learned recipe as the alerts come; the graph gives their direction where the text does:
//! what an alert's description names is what it reports on, upstream of it, and in an
//! incident without a configured relation between its alerts the named source's alert
//! becomes the root cause (`Correlator::join`). A label or service names what the alert
//! belongs to, which is upstream (a pod's node) as often as downstream (its service).

use super::learned::decay_step;
use crate::config::LearnedConfig;
use crate::time::Millis;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// One learned edge: alerts of `from` named `to` by `via`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Edge {
    pub from: Box<str>,
    pub to: Box<str>,
    /// The field that named it the last time: `labels.node`, `service`, `description`.
    pub via: Box<str>,
    /// Decayed count of the alerts that named it.
    pub weight: f64,
    /// Event time it was last named.
    pub last: Millis,
}

/// The learned edges of one partition; part of the snapshot (inside the learned statistics).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "EdgesForm")]
pub(crate) struct LearnedEdges {
    /// Keyed by (hash of `from`, hash of `to`).
    #[serde(with = "super::cooccur::pair_map")]
    edges: BTreeMap<(u64, u64), Edge>,
    decayed_at: Millis,
    /// (to, from) of every edge named in a description: who names a source. Derived from
    /// `edges` (rebuilt on restore), not stored.
    #[serde(skip)]
    named_by: BTreeSet<(u64, u64)>,
}

/// The stored form of [`LearnedEdges`].
#[derive(Deserialize)]
struct EdgesForm {
    #[serde(with = "super::cooccur::pair_map")]
    edges: BTreeMap<(u64, u64), Edge>,
    decayed_at: Millis,
}

impl From<EdgesForm> for LearnedEdges {
    fn from(f: EdgesForm) -> Self {
        let mut g = LearnedEdges {
            edges: f.edges,
            decayed_at: f.decayed_at,
            named_by: BTreeSet::new(),
        };
        g.reindex();
        g
    }
}

/// How far apart, in learned links named in text, two sources may lie and still be one's
/// upstream of the other (as the configured topology's lineage, three hops).
const LINEAGE_HOPS: usize = 3;

impl LearnedEdges {
    /// An alert on `from` (hash `from_hash`) named `to` (hash `to_hash`) by `via` at `t`.
    #[allow(clippy::too_many_arguments)]
    pub fn observe(
        &mut self,
        cfg: &LearnedConfig,
        t: Millis,
        from_hash: u64,
        from: &str,
        to_hash: u64,
        to: &str,
        via: &str,
    ) {
        let mut changed = false;
        if let Some(f) = decay_step(cfg, &mut self.decayed_at, t) {
            self.edges.retain(|_, e| {
                e.weight *= f;
                e.weight >= 0.01
            });
            changed = true;
        }
        let e = self.edges.entry((from_hash, to_hash)).or_insert_with(|| Edge {
            from: from.into(),
            to: to.into(),
            via: via.into(),
            weight: 0.0,
            last: t,
        });
        e.weight += 1.0;
        e.last = e.last.max(t);
        if *e.via != *via {
            e.via = via.into();
            changed = true;
        }
        if &*e.via == "description" && e.weight >= 0.5 {
            self.named_by.insert((to_hash, from_hash));
        }
        if self.edges.len() > cfg.max_class_pairs {
            let mut v: Vec<((u64, u64), Edge)> = std::mem::take(&mut self.edges).into_iter().collect();
            v.sort_by(|a, b| b.1.weight.total_cmp(&a.1.weight).then(a.0.cmp(&b.0)));
            v.truncate(cfg.max_class_pairs - cfg.max_class_pairs / 10);
            self.edges = v.into_iter().collect();
            changed = true;
        }
        if changed {
            self.reindex();
        }
    }

    fn reindex(&mut self) {
        self.named_by = self
            .edges
            .iter()
            .filter(|(_, e)| Self::in_text(e))
            .map(|(&(from, to), _)| (to, from))
            .collect();
    }

    fn in_text(e: &Edge) -> bool {
        e.weight >= 0.5 && &*e.via == "description"
    }

    /// The sources the descriptions of `from`'s alerts name (its upstream, as text gives it).
    fn named_from(&self, from: u64) -> impl Iterator<Item = u64> + '_ {
        self.edges
            .range((from, 0)..=(from, u64::MAX))
            .filter(|(_, e)| Self::in_text(e))
            .map(|(&(_, to), _)| to)
    }

    /// The sources the descriptions of `from`'s alerts have named (its upstream as text
    /// gave it), with the name of each, at most `limit`, strongest first (ties by hash).
    pub fn named_upstream(&self, from: u64, limit: usize) -> Vec<(u64, &str)> {
        let mut v: Vec<(u64, &Edge)> = self
            .edges
            .range((from, 0)..=(from, u64::MAX))
            .filter(|(_, e)| Self::in_text(e))
            .map(|(&(_, to), e)| (to, e))
            .collect();
        v.sort_by(|a, b| b.1.weight.total_cmp(&a.1.weight).then(a.0.cmp(&b.0)));
        v.into_iter().take(limit).map(|(to, e)| (to, &*e.to)).collect()
    }

    /// Whether the source hashed `x` has a place in the topology learned from text: its
    /// descriptions name a source, or a source's name it.
    pub fn placed(&self, x: u64) -> bool {
        self.named_from(x).next().is_some() || self.named_by.range((x, 0)..=(x, u64::MAX)).next().is_some()
    }

    /// Whether `upstream` is reached from `x` within [`LINEAGE_HOPS`] links named in text.
    fn reaches(&self, x: u64, upstream: u64) -> bool {
        let mut frontier = vec![x];
        let mut seen = vec![x];
        for _ in 0..LINEAGE_HOPS {
            let mut next = Vec::new();
            for &n in &frontier {
                for to in self.named_from(n) {
                    if to == upstream {
                        return true;
                    }
                    if !seen.contains(&to) && seen.len() < 256 {
                        seen.push(to);
                        next.push(to);
                    }
                }
            }
            if next.is_empty() {
                break;
            }
            frontier = next;
        }
        false
    }

    /// Whether two sources both have a place in the topology learned from text and neither
    /// lies upstream of the other within three learned links: two switches under one
    /// router, two devices of unrelated sites. Their alerts starting together is then
    /// chance, not one failure — as with a configured topology, where only a lineage joins.
    /// `false` where either has no learned place (nothing known is nothing refuted).
    pub fn unrelated(&self, a: u64, b: u64) -> bool {
        a != b && self.placed(a) && self.placed(b) && !self.reaches(a, b) && !self.reaches(b, a)
    }

    /// Whether the descriptions of alerts of the source hashed `from` name the source hashed
    /// `to` (the last time it was named, and not yet decayed below one naming). Only text
    /// gives a direction: "calls to cart failing", "BGP neighbor cr2.fra Down" report on
    /// what they name, while a label or a service names what the alert belongs to — its
    /// node (upstream) as much as its service (downstream).
    pub fn named_in_text(&self, from: u64, to: u64) -> bool {
        self.edges
            .get(&(from, to))
            .is_some_and(|e| e.weight >= 0.5 && &*e.via == "description")
    }

    /// The edges, strongest first (ties by name).
    pub fn strongest(&self) -> Vec<&Edge> {
        let mut v: Vec<&Edge> = self.edges.values().collect();
        v.sort_by(|a, b| {
            b.weight
                .total_cmp(&a.weight)
                .then_with(|| a.from.cmp(&b.from))
                .then_with(|| a.to.cmp(&b.to))
        });
        v
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.edges.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> LearnedConfig {
        LearnedConfig::default()
    }

    #[test]
    fn edges_accumulate_decay_and_stay_bounded() {
        let c = LearnedConfig {
            max_class_pairs: 50,
            ..cfg()
        };
        let mut g = LearnedEdges::default();
        let t0 = 1_000_000_000;
        for i in 0..3 {
            g.observe(&c, t0 + i, 1, "pod-a", 2, "node-1", "labels.node");
        }
        g.observe(&c, t0 + 5, 3, "pod-b", 2, "node-1", "labels.node");
        let s = g.strongest();
        assert_eq!(
            (&*s[0].from, &*s[0].to, &*s[0].via, s[0].weight),
            ("pod-a", "node-1", "labels.node", 3.0)
        );
        assert_eq!(s[1].weight, 1.0);
        // a half-life later every count has halved
        let later = t0 + c.half_life_secs as i64 * 1000 + 10;
        g.observe(&c, later, 9, "x", 8, "y", "service");
        let a = g
            .strongest()
            .into_iter()
            .find(|e| &*e.from == "pod-a")
            .unwrap()
            .weight;
        assert!((a - 1.5).abs() < 0.01, "{a}");
        for i in 0..500u64 {
            g.observe(&c, later + i as i64, 100 + i, "p", 7, "n", "labels.node");
        }
        assert!(g.len() <= 50, "{}", g.len());
        // restores identically
        let json = serde_json::to_string(&g).unwrap();
        let back: LearnedEdges = serde_json::from_str(&json).unwrap();
        assert_eq!(back, g);
    }

    #[test]
    fn sources_the_text_places_apart_are_unrelated_and_the_index_restores() {
        let c = cfg();
        let mut g = LearnedEdges::default();
        let t = 1_000_000_000;
        // bts1 → sw1 → rtr1, bts2 → sw2 → rtr1 (descriptions); pod → node (a label)
        g.observe(&c, t, 11, "bts1", 21, "sw1", "description");
        g.observe(&c, t, 21, "sw1", 31, "rtr1", "description");
        g.observe(&c, t, 12, "bts2", 22, "sw2", "description");
        g.observe(&c, t, 22, "sw2", 31, "rtr1", "description");
        g.observe(&c, t, 41, "pod", 51, "node", "labels.node");
        // lineage either way, within three links
        assert!(!g.unrelated(11, 31) && !g.unrelated(31, 11) && !g.unrelated(11, 21));
        // siblings under one router, a cell and another site's switch: apart
        assert!(g.unrelated(21, 22));
        assert!(g.unrelated(11, 22));
        // a source with no place learned from text is never refuted
        assert!(!g.unrelated(11, 41) && !g.unrelated(41, 51) && !g.unrelated(11, 99));
        let json = serde_json::to_string(&g).unwrap();
        let back: LearnedEdges = serde_json::from_str(&json).unwrap();
        assert_eq!(back, g);
        assert!(back.unrelated(21, 22) && !back.unrelated(12, 31));
    }
}
