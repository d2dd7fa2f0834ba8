//! correlate: alerts are clustered into incidents as they arrive (no periodic batches), by
//! named, combinable recipes tried in order.
//!
//! - `attribute` recipes: chosen fields equal to the incident's anchor alert, and/or similar
//!   above a threshold (shingled Jaccard, token Jaccard).
//! - `topology` recipes: the alert's entity within `hop_limit` hops (ignoring direction) of
//!   the incident's anchor entity or its current root cause.
//!
//! **No transitive over-chaining.** A candidate is only ever compared with the incident's
//! *anchor* (the seed alert's values, fixed for the incident's life) and, for topology, its
//! root-cause entity, never with arbitrary members. So A~B and B~C put C in A's incident only
//! if C~A (or C is within reach of the root cause): a chain cannot walk away from the seed.
//!
//! **Windows.** An incident takes members until `window_secs` after its latest member
//! (Moogsoft's cook_for, extended by each new member), never past `max_window_secs` after its
//! first. **Minimum size.** Until it has `min_alerts` members (and one of them scores at or
//! above the noise threshold) a cluster is *pending*: invisible, and its seed may sit in one
//! pending cluster per recipe. The first to reach the minimum opens as an incident and the
//! members leave the other pending clusters.
//!
//! The first recipe (in order) with a matching candidate decides; among its candidates the
//! closest (fewest hops / highest similarity) wins, then an open incident over a pending
//! cluster, then the oldest.
//!
//! **Absorption.** A failure's dependants often alert before the failed node itself. Each
//! seeds its own pending cluster; when the upstream alert arrives and becomes an incident's
//! root cause, pending clusters seeded downstream of it (within the hop limit) are absorbed
//! into the incident, each member explained as `absorbed`.

pub(crate) mod learned;
pub mod similarity;
pub mod topology;

use crate::config::{Config, ConfigError, RecipeConfig, RecipeKind, SimilarityConfig, SimilarityMethod};
use crate::dedup::Alert;
use crate::engine::{Engine, Timer};
use crate::matcher::CompiledMatcher;
use crate::severity::Severity;
use crate::time::Millis;
use crate::update::*;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::hash::{BuildHasher, Hasher};
use topology::{NodeId, Topology};

const TIMELINE_CAP: usize = 256;
/// Distinct values from which a label is taken to name entities (see `alert_tokens`).
const ENTITY_LABEL_VALUES: usize = 20;

pub(crate) struct Recipe {
    pub name: String,
    pub kind: RecipeKind,
    pub equal: Vec<String>,
    pub similar: Vec<SimilarityConfig>,
    pub hop_limit: u32,
    pub siblings: bool,
    pub window: Millis,
    pub max_window: Millis,
    pub min_alerts: usize,
    pub single_critical: bool,
    pub matcher: CompiledMatcher,
}

/// The recipe set used when the config names none: with a topology, `topology` then
/// `same-service`; without one, `same-service` then `similar-sources` (the same check on
/// hosts with similar names). All of them leave out
/// informational alerts (severity below `warning`): routine events are kept and counted as
/// alerts, but they are not evidence of a failure.
pub fn default_recipes(has_topology: bool) -> Vec<RecipeConfig> {
    let mut v = Vec::new();
    let base = |name: &str, kind| RecipeConfig {
        name: name.to_string(),
        kind,
        equal: Vec::new(),
        similar: Vec::new(),
        hop_limit: 2,
        siblings: false,
        window_secs: 300,
        max_window_secs: 3600,
        min_alerts: None,
        single_critical: false,
        matcher: crate::config::Matcher {
            min_severity: Some(Severity::Warning),
            ..Default::default()
        },
    };
    if has_topology {
        v.push(RecipeConfig {
            hop_limit: 3,
            window_secs: 60,
            max_window_secs: 1800,
            ..base("topology", RecipeKind::Topology)
        });
    }
    v.push(RecipeConfig {
        equal: vec!["service".into()],
        window_secs: 60,
        ..base("same-service", RecipeKind::Attribute)
    });
    // What the stream itself says belongs together: with a topology it fills in where the
    // topology is silent; without one it is the main recipe.
    v.push(RecipeConfig {
        window_secs: 60,
        max_window_secs: 1800,
        ..base("learned", RecipeKind::Learned)
    });
    v
}

pub(crate) fn compile_recipes(cfg: &Config, topo: &Topology) -> Result<Vec<Recipe>, ConfigError> {
    let invalid = ConfigError::Invalid;
    let list = if cfg.correlation.recipes.is_empty() {
        default_recipes(!topo.is_empty())
    } else {
        cfg.correlation.recipes.clone()
    };
    let mut out = Vec::new();
    for r in list {
        if r.kind == RecipeKind::Topology && topo.is_empty() {
            return Err(invalid(format!(
                "recipe `{}` is a topology recipe but no topology is configured",
                r.name
            )));
        }
        out.push(Recipe {
            matcher: CompiledMatcher::compile(&r.matcher)
                .map_err(|e| invalid(format!("recipe `{}`: {e}", r.name)))?,
            name: r.name,
            kind: r.kind,
            equal: r.equal,
            similar: r.similar,
            hop_limit: r.hop_limit,
            siblings: r.siblings,
            window: r.window_secs as i64 * 1000,
            max_window: r.max_window_secs.max(r.window_secs) as i64 * 1000,
            min_alerts: r.min_alerts.unwrap_or(cfg.correlation.min_alerts).max(1),
            single_critical: r.single_critical,
        });
    }
    if out.len() > u16::MAX as usize {
        return Err(invalid("too many recipes".into()));
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum ClusterState {
    Pending,
    Open,
    Acknowledged,
    Resolved,
    Closed,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Member {
    pub slot: u32,
    pub alert: u64,
    pub occurrence: u32,
    pub joined: Millis,
    pub signature: Box<str>,
    pub source: Box<str>,
    pub check: Box<str>,
    pub entity: Option<NodeId>,
    pub why: Explanation,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Cluster {
    pub recipe: u16,
    pub incident: Option<u64>,
    pub state: ClusterState,
    /// Seed alert id, and its values of the recipe's equal and similar fields.
    pub anchor: u64,
    pub anchor_values: Vec<Option<Box<str>>>,
    /// The anchor's shingle (or token) sets of the similar fields, computed once.
    pub anchor_sets: Vec<Vec<u64>>,
    pub anchor_entity: Option<NodeId>,
    /// The anchor's learned attribute tokens (learned recipes), sorted by key.
    #[serde(default)]
    pub anchor_tokens: Vec<learned::Token>,
    /// The `entity` tokens of the members (learned recipes; sorted, bounded): an alert that
    /// names the same entity as a member is linked to it, one hop, like a topology edge.
    #[serde(default)]
    pub member_entities: Vec<learned::Token>,
    pub key: u64,
    pub root: usize,
    pub root_reason: String,
    pub members: Vec<Member>,
    pub first_time: Millis,
    pub last_time: Millis,
    pub window_end: Millis,
    pub severity: Severity,
    pub max_severity: Severity,
    pub resolved_at: Option<Millis>,
    pub reopen_count: u32,
    pub timeline: Vec<TimelineEntry>,
    /// Distinct alerts and distinct sources among the members (kept up to date on every
    /// added member so that a summary costs O(1), not a sort of the members).
    pub alert_count: usize,
    pub sources: Vec<Box<str>>,
    /// Present in the candidate indexes (accepting members).
    pub indexed: bool,
    pub indexed_entities: Vec<NodeId>,
    #[serde(default)]
    pub assignee: Option<String>,
}

/// A topology neighbourhood computed once per alert: (hop limit, siblings, nodes and hops).
type NeighbourCache = (u32, bool, Vec<(NodeId, u32)>);

/// The learned tokens of the alert being placed: text for explanations, ids for lookups.
#[derive(Default)]
pub(crate) struct AlertTokens {
    text: learned::Tokens,
    ids: Vec<learned::Token>,
    /// A learned recipe takes this alert: it feeds the statistics.
    observed: bool,
}

/// Candidate lookup structures, rebuilt from the clusters on restore.
pub(crate) struct ClusterIndex {
    attr: FxHashMap<(u16, u64), Vec<u64>>,
    topo: FxHashMap<(u16, NodeId), Vec<u64>>,
    learned: FxHashMap<(u16, learned::Token), Vec<u64>>,
    scan: Vec<Vec<u64>>,
}

impl ClusterIndex {
    pub fn new(recipes: usize) -> ClusterIndex {
        ClusterIndex {
            attr: FxHashMap::default(),
            topo: FxHashMap::default(),
            learned: FxHashMap::default(),
            scan: vec![Vec::new(); recipes],
        }
    }
}

fn remove_id(v: &mut Vec<u64>, id: u64) {
    if let Some(p) = v.iter().position(|x| *x == id) {
        v.remove(p);
    }
}

impl Cluster {
    /// Recomputes the derived counts after members were removed.
    pub(crate) fn recount(&mut self) {
        let members = std::mem::take(&mut self.members);
        self.alert_count = 0;
        self.sources.clear();
        for m in members {
            self.add_member(m);
        }
        if self.root >= self.members.len() {
            self.root = 0;
        }
    }

    pub(crate) fn add_member(&mut self, m: Member) {
        if !self.members.iter().any(|x| x.alert == m.alert) {
            self.alert_count += 1;
        }
        if let Err(i) = self.sources.binary_search(&m.source) {
            self.sources.insert(i, m.source.clone());
        }
        self.members.push(m);
    }
}

impl Engine {
    /// A field of an alert by config name.
    pub(crate) fn alert_field<'a>(&'a self, a: &'a Alert, name: &str) -> Option<&'a str> {
        let i = &self.st.interner;
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

    fn recipe_accepts(&self, r: &Recipe, a: &Alert) -> bool {
        if r.kind == RecipeKind::Topology && a.entity.is_none() {
            return false;
        }
        // learned evidence fills in where the configured topology is silent
        if r.kind == RecipeKind::Learned && a.entity.is_some() && !self.c.topology.is_empty() {
            return false;
        }
        if !r.equal.iter().all(|f| self.alert_field(a, f).is_some()) {
            return false;
        }
        r.matcher.is_empty() || r.matcher.matches_with(a.severity, |f| self.alert_field(a, f))
    }

    fn key_of(&self, r: &Recipe, a: &Alert) -> u64 {
        let mut h = self.hasher.build_hasher();
        for f in &r.equal {
            h.write(self.alert_field(a, f).unwrap_or("").as_bytes());
            h.write_u8(0xff);
        }
        h.finish()
    }

    fn accepting(&self, c: &Cluster, t: Millis) -> bool {
        c.indexed
            && matches!(
                c.state,
                ClusterState::Pending | ClusterState::Open | ClusterState::Acknowledged
            )
            && t <= c.window_end
            && c.members.len() < self.c.cfg.correlation.max_incident_alerts
    }

    pub(crate) fn index_cluster(&mut self, id: u64) {
        let c = &self.st.clusters[&id];
        let ri = c.recipe;
        let r = &self.c.recipes[ri as usize];
        match r.kind {
            RecipeKind::Attribute if !r.equal.is_empty() => {
                self.index.attr.entry((ri, c.key)).or_default().push(id)
            }
            RecipeKind::Attribute => self.index.scan[ri as usize].push(id),
            RecipeKind::Topology => {
                let mut ents: Vec<NodeId> = c.anchor_entity.into_iter().collect();
                if let Some(e) = c.members.get(c.root).and_then(|m| m.entity) {
                    if !ents.contains(&e) {
                        ents.push(e);
                    }
                }
                for e in &ents {
                    self.index.topo.entry((ri, *e)).or_default().push(id);
                }
                self.st.clusters.get_mut(&id).expect("cluster").indexed_entities = ents;
            }
            RecipeKind::Learned => {
                let mut tokens: Vec<learned::Token> = c
                    .anchor_tokens
                    .iter()
                    .chain(&c.member_entities)
                    .copied()
                    .collect();
                tokens.sort_unstable();
                tokens.dedup();
                for t in tokens {
                    self.index.learned.entry((ri, t)).or_default().push(id);
                }
            }
        }
        self.st.clusters.get_mut(&id).expect("cluster").indexed = true;
    }

    pub(crate) fn unindex_cluster(&mut self, id: u64) {
        let Some(c) = self.st.clusters.get_mut(&id) else {
            return;
        };
        if !c.indexed {
            return;
        }
        c.indexed = false;
        let ri = c.recipe;
        let ents = std::mem::take(&mut c.indexed_entities);
        let key = c.key;
        let tokens = if self.c.recipes[ri as usize].kind == RecipeKind::Learned {
            let mut t: Vec<learned::Token> = c
                .anchor_tokens
                .iter()
                .chain(&c.member_entities)
                .copied()
                .collect();
            t.sort_unstable();
            t.dedup();
            t
        } else {
            Vec::new()
        };
        let r = &self.c.recipes[ri as usize];
        match r.kind {
            RecipeKind::Attribute if !r.equal.is_empty() => {
                if let Some(v) = self.index.attr.get_mut(&(ri, key)) {
                    remove_id(v, id);
                    if v.is_empty() {
                        self.index.attr.remove(&(ri, key));
                    }
                }
            }
            RecipeKind::Attribute => remove_id(&mut self.index.scan[ri as usize], id),
            RecipeKind::Topology => {
                for e in ents {
                    if let Some(v) = self.index.topo.get_mut(&(ri, e)) {
                        remove_id(v, id);
                        if v.is_empty() {
                            self.index.topo.remove(&(ri, e));
                        }
                    }
                }
            }
            RecipeKind::Learned => {
                for t in tokens {
                    if let Some(v) = self.index.learned.get_mut(&(ri, t)) {
                        remove_id(v, id);
                        if v.is_empty() {
                            self.index.learned.remove(&(ri, t));
                        }
                    }
                }
            }
        }
    }

    /// The attribute keys learned so far, strongest evidence first.
    pub fn learned_attributes(&self) -> Vec<LearnedAttributeView> {
        let cfg = &self.c.cfg.correlation.learned;
        let mut v: Vec<LearnedAttributeView> = self
            .st
            .learned
            .keys
            .iter()
            .map(|k| LearnedAttributeView {
                key: k.name.to_string(),
                lift: (k.lift() * 100.0).round() / 100.0,
                close_pairs: k.pairs.round(),
                values: k.values.len(),
                evidence: k.pairs >= cfg.min_pairs as f64 && k.lift() >= cfg.min_lift,
            })
            .collect();
        v.sort_by(|a, b| b.lift.total_cmp(&a.lift).then_with(|| a.key.cmp(&b.key)));
        v
    }

    /// An alert's learned attribute tokens: service, source and its name parts, labels.
    fn alert_tokens(&self, a: &Alert) -> learned::Tokens {
        let i = &self.st.interner;
        let mut t = learned::Tokens::default();
        // `entity`: the names of things the alert is about, whichever field names them, so
        // that a pod's `labels.node = node-3-7` meets the alert whose source is node-3-7
        let source = i.resolve(a.source);
        t.list.push(("source".into(), source.into()));
        t.list.push(("entity".into(), source.into()));
        if let Some(s) = a.service {
            t.list.push(("service".into(), i.resolve(s).into()));
            t.list.push(("entity".into(), i.resolve(s).into()));
        }
        if self.c.cfg.correlation.learned.name_parts {
            learned::name_parts("source", source, &mut t);
        }
        for (k, v) in a.labels.iter() {
            let key = format!("labels.{}", i.resolve(*k));
            // a label with many distinct values names entities (node, host, pod, instance);
            // one with few names a place or a kind, which its own key covers
            if self.st.learned.distinct_values(&key) >= ENTITY_LABEL_VALUES {
                t.list.push(("entity".into(), i.resolve(*v).into()));
            }
            t.list.push((key, i.resolve(*v).into()));
        }
        t.list.truncate(48);
        t
    }

    /// The sets an alert is compared by, one per similar field of the recipe.
    fn similarity_sets(&self, r: &Recipe, a: &Alert) -> Vec<Vec<u64>> {
        r.similar
            .iter()
            .map(|s| {
                let v = self.alert_field(a, &s.field).unwrap_or("");
                match s.method {
                    SimilarityMethod::Jaccard if s.field == "source" => {
                        similarity::shingles(similarity::host_part(v), s.shingle)
                    }
                    SimilarityMethod::Jaccard => similarity::shingles(v, s.shingle),
                    SimilarityMethod::Tokens => similarity::token_set(v),
                }
            })
            .collect()
    }

    /// Scores `cluster` for the alert under recipe `ri`: an explanation and a rank (lower is
    /// closer), or `None` when it does not match. `sets` are the alert's similarity sets.
    #[allow(clippy::too_many_arguments)]
    fn evaluate(
        &self,
        ri: usize,
        cid: u64,
        a: &Alert,
        t: Millis,
        nb: &[(NodeId, u32)],
        sets: &[Vec<u64>],
        lt: &AlertTokens,
    ) -> Option<(Explanation, f64)> {
        let r = &self.c.recipes[ri];
        let c = &self.st.clusters[&cid];
        let mut why = Explanation {
            compared_with: Some(self.alert_id(c.anchor)),
            gap_ms: (t - c.last_time).max(0),
            ..Explanation::new(r.name.clone(), "attribute")
        };
        let mut rank = 0.0;
        for (i, f) in r.equal.iter().enumerate() {
            let v = self.alert_field(a, f)?;
            let other = c.anchor_values[i].as_deref()?;
            if v != other {
                return None;
            }
            why.matched.push(FieldMatch {
                field: f.clone(),
                value: v.into(),
                other: other.into(),
                method: "equal".into(),
                similarity: 1.0,
            });
        }
        for (j, s) in r.similar.iter().enumerate() {
            let v = self.alert_field(a, &s.field)?;
            let other = c.anchor_values[r.equal.len() + j].as_deref()?;
            let mine = sets.get(j)?;
            let sim = similarity::jaccard(mine, c.anchor_sets.get(j)?);
            let method = match s.method {
                SimilarityMethod::Jaccard => "jaccard",
                SimilarityMethod::Tokens => "tokens",
            };
            if sim < s.threshold {
                return None;
            }
            rank += 1.0 - sim;
            why.matched.push(FieldMatch {
                field: s.field.clone(),
                value: v.into(),
                other: other.into(),
                method: method.into(),
                similarity: (sim * 1000.0).round() / 1000.0,
            });
        }
        if r.kind == RecipeKind::Topology {
            let e = a.entity?;
            let root = c.members.get(c.root);
            let root_e = root.and_then(|m| m.entity);
            let dist = |x: Option<NodeId>| x.and_then(|x| nb.iter().find(|(n, _)| *n == x).map(|(_, d)| *d));
            let (hops, target, target_id) = match (dist(c.anchor_entity), dist(root_e)) {
                (Some(a1), Some(b1)) if b1 < a1 => (b1, root_e?, root.map(|m| m.alert)?),
                (Some(a1), _) => (a1, c.anchor_entity?, c.anchor),
                (None, Some(b1)) => (b1, root_e?, root.map(|m| m.alert)?),
                (None, None) => return None,
            };
            let topo = &self.c.topology;
            let dir = if hops == 0 {
                "same entity"
            } else if topo.downstream_distance(target, e, hops).is_some() {
                "downstream"
            } else if topo.downstream_distance(e, target, hops).is_some() {
                "upstream"
            } else {
                "related"
            };
            why.kind = "topology".into();
            why.compared_with = Some(self.alert_id(target_id));
            why.hops = Some(hops);
            why.direction = Some(dir.into());
            why.matched.push(FieldMatch {
                field: "entity".into(),
                value: topo.name(e).into(),
                other: topo.name(target).into(),
                method: "hops".into(),
                similarity: 1.0 / (1.0 + hops as f64),
            });
            rank += hops as f64;
        }
        if r.kind == RecipeKind::Learned {
            let lcfg = &self.c.cfg.correlation.learned;
            let mut ev = self.st.learned.shared_evidence(lcfg, &lt.ids, &c.anchor_tokens);
            let mut via_member = false;
            if ev.is_empty() {
                ev = self.st.learned.shared_evidence(lcfg, &lt.ids, &c.member_entities);
                via_member = true;
            }
            let best = ev.first()?;
            why.kind = "learned".into();
            // a link through a member is one hop further than one to the anchor
            rank -= best.weight * if via_member { 0.5 } else { 1.0 };
            for e in ev.iter().take(3) {
                let name = self.st.learned.key_name(e.key);
                let value = lt
                    .text
                    .list
                    .iter()
                    .find(|(k, _)| k == name)
                    .map_or("", |(_, v)| v.as_str());
                why.evidence.push(if via_member {
                    format!(
                        "names {value}, an entity a member of this incident names too \
                         (alerts that name the same entity start close together {:.1}× as \
                         often as chance)",
                        e.lift
                    )
                } else {
                    format!(
                        "shares {name} = {value}: held by {:.1}% of recent alerts, and alerts \
                         that start close together share {name} {:.1}× as often as chance",
                        e.share * 100.0,
                        e.lift
                    )
                });
                why.matched.push(FieldMatch {
                    field: name.to_string(),
                    value: value.to_string(),
                    other: value.to_string(),
                    method: "learned".into(),
                    similarity: (e.lift * 100.0).round() / 100.0,
                });
            }
        }
        Some((why, rank))
    }

    /// Places a newly raised occurrence: joins the best open incident, else the best pending
    /// cluster, else seeds pending clusters of its own.
    pub(crate) fn correlate(&mut self, slot: u32, t: Millis) {
        let a = self.alert(slot);
        let noise = &self.c.cfg.noise;
        if (a.entropy as f64) < noise.join_threshold {
            return;
        }
        let lt = self.learned_tokens(slot);
        let a = self.alert(slot);
        let mut chosen: Option<(u64, Explanation)> = None;
        let mut nb_cache: Option<NeighbourCache> = None;
        for ri in 0..self.c.recipes.len() {
            let r = &self.c.recipes[ri];
            if !self.recipe_accepts(r, a) {
                continue;
            }
            let candidates: Vec<u64> = match r.kind {
                RecipeKind::Attribute if !r.equal.is_empty() => self
                    .index
                    .attr
                    .get(&(ri as u16, self.key_of(r, a)))
                    .cloned()
                    .unwrap_or_default(),
                RecipeKind::Attribute => self.index.scan[ri].clone(),
                RecipeKind::Topology => {
                    let e = a.entity.expect("accepted topology alert has an entity");
                    if nb_cache
                        .as_ref()
                        .is_none_or(|(h, s, _)| *h != r.hop_limit || *s != r.siblings)
                    {
                        nb_cache = Some((
                            r.hop_limit,
                            r.siblings,
                            self.c.topology.neighbourhood(e, r.hop_limit, r.siblings),
                        ));
                    }
                    let nb = &nb_cache.as_ref().expect("set").2;
                    let mut v: Vec<u64> = nb
                        .iter()
                        .filter_map(|(n, _)| self.index.topo.get(&(ri as u16, *n)))
                        .flatten()
                        .copied()
                        .collect();
                    v.sort_unstable();
                    v.dedup();
                    v
                }
                RecipeKind::Learned => {
                    let mut v: Vec<u64> = lt
                        .ids
                        .iter()
                        .filter_map(|t| self.index.learned.get(&(ri as u16, *t)))
                        .flatten()
                        .copied()
                        .collect();
                    v.sort_unstable();
                    v.dedup();
                    v
                }
            };
            let nb: &[(NodeId, u32)] = nb_cache.as_ref().map_or(&[], |(_, _, v)| v);
            let sets = if r.similar.is_empty() {
                Vec::new()
            } else {
                self.similarity_sets(r, a)
            };
            let mut best: Option<(u64, Explanation, (f64, bool, u64))> = None;
            for cid in candidates {
                let c = &self.st.clusters[&cid];
                if !self.accepting(c, t) {
                    continue;
                }
                let Some((why, rank)) = self.evaluate(ri, cid, a, t, nb, &sets, &lt) else {
                    continue;
                };
                let key = (rank, c.state == ClusterState::Pending, cid);
                if best
                    .as_ref()
                    .is_none_or(|(_, _, k)| key.partial_cmp(k) == Some(std::cmp::Ordering::Less))
                {
                    best = Some((cid, why, key));
                }
            }
            if let Some((cid, why, _)) = best {
                chosen = Some((cid, why));
                break;
            }
        }
        if let Some((cid, why)) = chosen {
            self.join(cid, slot, t, why);
            self.learn_member_entities(cid, &lt);
        } else {
            self.seed(slot, t, &lt);
        }
        if lt.observed {
            let lcfg = &self.c.cfg.correlation.learned;
            self.st.learned.observe(lcfg, t, &lt.ids);
        }
    }

    /// A member joined a learned cluster: the entities it names link later alerts to it.
    fn learn_member_entities(&mut self, cid: u64, lt: &AlertTokens) {
        const MAX_MEMBER_ENTITIES: usize = 64;
        let Some(entity) = self.st.learned.key_id("entity") else {
            return;
        };
        let Some(c) = self.st.clusters.get(&cid) else {
            return;
        };
        if self.c.recipes[c.recipe as usize].kind != RecipeKind::Learned || !c.indexed {
            return;
        }
        let new: Vec<learned::Token> = lt
            .ids
            .iter()
            .filter(|t| t.0 == entity && c.member_entities.binary_search(t).is_err())
            .copied()
            .collect();
        if new.is_empty() || c.member_entities.len() >= MAX_MEMBER_ENTITIES {
            return;
        }
        self.unindex_cluster(cid);
        let c = self.st.clusters.get_mut(&cid).expect("cluster");
        for t in new {
            if c.member_entities.len() < MAX_MEMBER_ENTITIES {
                if let Err(i) = c.member_entities.binary_search(&t) {
                    c.member_entities.insert(i, t);
                }
            }
        }
        self.index_cluster(cid);
    }

    /// The alert's learned tokens, when a learned recipe takes it (else empty).
    fn learned_tokens(&mut self, slot: u32) -> AlertTokens {
        let a = self.alert(slot);
        let takes = self
            .c
            .recipes
            .iter()
            .any(|r| r.kind == RecipeKind::Learned && self.recipe_accepts(r, a));
        if !takes {
            return AlertTokens::default();
        }
        let text = self.alert_tokens(a);
        let ids = self.st.learned.intern(&self.c.cfg.correlation.learned, &text);
        AlertTokens {
            text,
            ids,
            observed: true,
        }
    }

    fn informative(&self, a: &Alert) -> bool {
        let n = &self.c.cfg.noise;
        a.entropy as f64 >= n.threshold
    }

    fn seed(&mut self, slot: u32, t: Millis, lt: &AlertTokens) {
        if !self.informative(self.alert(slot)) {
            return;
        }
        for ri in 0..self.c.recipes.len() {
            let a = self.alert(slot);
            let r = &self.c.recipes[ri];
            if !self.recipe_accepts(r, a) {
                continue;
            }
            let anchor_tokens = if r.kind == RecipeKind::Learned {
                if lt.ids.is_empty() {
                    continue;
                }
                lt.ids.clone()
            } else {
                Vec::new()
            };
            let anchor_values: Vec<Option<Box<str>>> = r
                .equal
                .iter()
                .chain(r.similar.iter().map(|s| &s.field))
                .map(|f| self.alert_field(a, f).map(Into::into))
                .collect();
            let anchor_sets = self.similarity_sets(r, a);
            let member = self.member_for(slot, t, Explanation::new(r.name.clone(), "seed"));
            let promote_now = r.min_alerts <= 1 || (r.single_critical && a.severity == Severity::Critical);
            let cluster = Cluster {
                recipe: ri as u16,
                incident: None,
                state: ClusterState::Pending,
                anchor: a.id,
                anchor_values,
                anchor_sets,
                anchor_entity: a.entity,
                anchor_tokens,
                member_entities: Vec::new(),
                key: self.key_of(r, a),
                root: 0,
                root_reason: "earliest alert".into(),
                first_time: t,
                last_time: t,
                window_end: t + r.window,
                severity: a.severity,
                max_severity: a.severity,
                resolved_at: None,
                reopen_count: 0,
                timeline: Vec::new(),
                indexed: false,
                indexed_entities: Vec::new(),
                assignee: None,
                alert_count: 1,
                sources: vec![member.source.clone()],
                members: vec![member],
            };
            let cid = self.st.next_cluster;
            self.st.next_cluster += 1;
            let end = cluster.window_end;
            self.st.clusters.insert(cid, cluster);
            self.index_cluster(cid);
            self.schedule(end, Timer::ClusterWindow(cid));
            self.alert_mut(slot).pending.push(cid);
            if promote_now {
                self.promote(cid, t);
                return;
            }
        }
    }

    pub(crate) fn member_for(&self, slot: u32, t: Millis, why: Explanation) -> Member {
        let a = self.alert(slot);
        let i = &self.st.interner;
        Member {
            slot,
            alert: a.id,
            occurrence: a.occurrence,
            joined: t,
            signature: a.signature.clone(),
            source: i.resolve(a.source).into(),
            check: i.resolve(a.check).into(),
            entity: a.entity,
            why,
        }
    }

    fn join(&mut self, cid: u64, slot: u32, t: Millis, why: Explanation) {
        let member = self.member_for(slot, t, why);
        let entity = member.entity;
        // Low-information members may join but neither extend the window (or chatty noise
        // would keep an incident open forever) nor become its root cause.
        let informative = self.informative(self.alert(slot));
        let new_severity = self.alert(slot).severity;
        let (root_informative, root_severity) = {
            let c = &self.st.clusters[&cid];
            let m = &c.members[c.root];
            let live = self.live_alert(m.slot, m.alert);
            (
                live.is_none_or(|a| self.informative(a)),
                // a root that has cleared (or is gone) weighs nothing against a raised alert
                live.filter(|a| a.open).map_or(Severity::Clear, |a| a.severity),
            )
        };
        let c = self.st.clusters.get_mut(&cid).expect("candidate cluster");
        let r = &self.c.recipes[c.recipe as usize];
        c.add_member(member);
        c.last_time = c.last_time.max(t);
        let end = if informative {
            c.window_end.max(t + r.window).min(c.first_time + r.max_window)
        } else {
            c.window_end
        };
        let extended = end > c.window_end;
        c.window_end = end;
        let mut root_changed = false;
        let limit = (r.hop_limit * 2).max(4);
        let topo = &self.c.topology;
        let (upstream, related) = match (entity, c.members[c.root].entity) {
            (Some(e), Some(root_e)) if e != root_e => {
                let up = topo.downstream_distance(e, root_e, limit).is_some();
                (up, up || topo.downstream_distance(root_e, e, limit).is_some())
            }
            (Some(_), Some(_)) => (false, true),
            _ => (false, false),
        };
        // Without a topology relation between them, a raised informative alert is a better
        // root cause than one that has already cleared; under learned evidence (no configured
        // relation at all) also than an earlier, less severe one. Configured attribute
        // recipes keep the earliest: their author chose what makes alerts alike.
        let learned_recipe = r.kind == RecipeKind::Learned;
        let more_severe = !related
            && informative
            && new_severity > root_severity
            && (learned_recipe || root_severity == Severity::Clear);
        if (upstream && (informative || !root_informative))
            || (informative && !root_informative)
            || more_severe
        {
            c.root = c.members.len() - 1;
            c.root_reason = if upstream {
                "furthest upstream in the topology"
            } else if !root_informative {
                "earliest informative alert"
            } else {
                "most severe alert raised"
            }
            .into();
            root_changed = true;
        }
        let is_topology = r.kind == RecipeKind::Topology;
        let pending = c.state == ClusterState::Pending;
        let min_alerts = r.min_alerts;
        let size = c.members.len();
        if extended {
            self.schedule(end, Timer::ClusterWindow(cid));
        }
        if root_changed && is_topology {
            self.unindex_cluster(cid);
            self.index_cluster(cid);
        }
        if pending {
            self.alert_mut(slot).pending.push(cid);
            if size >= min_alerts && self.cluster_informative(cid) {
                self.promote(cid, t);
            }
            return;
        }
        let n = self.st.clusters[&cid]
            .incident
            .expect("open incident has a number");
        let a = self.alert_mut(slot);
        a.incident = Some(cid);
        a.incidents.push(n);
        let alert_id = self.alert_id(self.alert(slot).id);
        if root_changed {
            self.timeline(
                cid,
                t,
                format!("root cause now {alert_id} (furthest upstream)"),
                Some(alert_id.clone()),
            );
        }
        self.timeline(cid, t, "alert added".into(), Some(alert_id));
        self.refresh_severity(cid);
        let added = vec![self.member_view(&self.st.clusters[&cid].members[size - 1])];
        self.emit_incident(cid, IncidentChange::AlertAdded, t, added);
        self.emit_alert(slot, AlertChange::Correlated, t);
        if root_changed && is_topology {
            self.absorb_downstream(cid, t);
        }
    }

    /// Moves the members of pending clusters seeded downstream of the incident's root cause
    /// (within the hop limit) into the incident. See the module docs.
    fn absorb_downstream(&mut self, cid: u64, t: Millis) {
        let c = &self.st.clusters[&cid];
        let ri = c.recipe;
        let r = &self.c.recipes[ri as usize];
        if r.kind != RecipeKind::Topology {
            return;
        }
        let root = &c.members[c.root];
        let (Some(root_e), root_alert) = (root.entity, root.alert) else {
            return;
        };
        let n = c.incident.expect("absorbing incident is open");
        let mut victims: Vec<(u64, u32)> = Vec::new();
        for (node, hops) in self.c.topology.downstream(root_e, r.hop_limit) {
            for &pid in self.index.topo.get(&(ri, node)).into_iter().flatten() {
                let p = &self.st.clusters[&pid];
                if pid != cid
                    && p.state == ClusterState::Pending
                    && p.anchor_entity == Some(node)
                    && self.accepting(p, t)
                {
                    victims.push((pid, hops));
                }
            }
        }
        if victims.is_empty() {
            return;
        }
        let recipe = r.name.clone();
        let root_id = self.alert_id(root_alert);
        let mut absorbed: Vec<(u32, u64, u32)> = Vec::new();
        for (pid, hops) in victims {
            let Some(p) = self.st.clusters.get(&pid) else {
                continue;
            };
            let members: Vec<(u32, u64)> = p.members.iter().map(|m| (m.slot, m.alert)).collect();
            for (slot, id) in members {
                if self
                    .live_alert(slot, id)
                    .is_some_and(|a| a.incident.is_none() && a.open)
                    && !absorbed.iter().any(|x| x.0 == slot)
                {
                    absorbed.push((slot, id, hops));
                }
            }
            self.dissolve(pid);
        }
        let mut added = Vec::new();
        for &(slot, _, hops) in &absorbed {
            let gap = (t - self.st.clusters[&cid].last_time).max(0);
            let member = self.member_for(
                slot,
                t,
                Explanation {
                    compared_with: Some(root_id.clone()),
                    gap_ms: gap,
                    hops: Some(hops),
                    direction: Some("downstream".into()),
                    ..Explanation::new(recipe.clone(), "absorbed")
                },
            );
            added.push(self.member_view(&member));
            self.st
                .clusters
                .get_mut(&cid)
                .expect("cluster")
                .add_member(member);
            let a = self.alert_mut(slot);
            a.incident = Some(cid);
            a.incidents.push(n);
            for p in std::mem::take(&mut a.pending) {
                self.dissolve(p);
            }
        }
        if added.is_empty() {
            return;
        }
        self.timeline(
            cid,
            t,
            format!("absorbed {} alert(s) downstream of the root cause", added.len()),
            None,
        );
        self.refresh_severity(cid);
        self.emit_incident(cid, IncidentChange::AlertAdded, t, added);
        for (slot, _, _) in absorbed {
            self.emit_alert(slot, AlertChange::Correlated, t);
        }
    }

    fn cluster_informative(&self, cid: u64) -> bool {
        self.st.clusters[&cid].members.iter().any(|m| {
            self.live_alert(m.slot, m.alert)
                .is_some_and(|a| self.informative(a))
        })
    }

    fn promote(&mut self, cid: u64, t: Millis) {
        let n = self.st.next_incident;
        self.st.next_incident += 1;
        self.st.stats.incidents_opened += 1;
        let c = self.st.clusters.get_mut(&cid).expect("promoted cluster");
        c.incident = Some(n);
        c.state = ClusterState::Open;
        let members: Vec<(u32, u64)> = c.members.iter().map(|m| (m.slot, m.alert)).collect();
        let recipe = self.c.recipes[c.recipe as usize].name.clone();
        for &(slot, id) in &members {
            if self.live_alert(slot, id).is_none() {
                continue;
            }
            let a = self.alert_mut(slot);
            a.incident = Some(cid);
            a.incidents.push(n);
            let others: Vec<u64> = std::mem::take(&mut a.pending)
                .into_iter()
                .filter(|p| *p != cid)
                .collect();
            for p in others {
                self.dissolve(p);
            }
        }
        self.timeline(cid, t, format!("opened by recipe `{recipe}`"), None);
        self.refresh_severity(cid);
        let added: Vec<MemberView> = self.st.clusters[&cid]
            .members
            .iter()
            .map(|m| self.member_view(m))
            .collect();
        self.emit_incident(cid, IncidentChange::Opened, t, added);
        for (slot, id) in members {
            if self.live_alert(slot, id).is_some() {
                self.emit_alert(slot, AlertChange::Correlated, t);
            }
        }
        self.absorb_downstream(cid, t);
    }

    /// Drops a pending cluster; its members stay in their other clusters.
    fn dissolve(&mut self, cid: u64) {
        self.unindex_cluster(cid);
        let Some(c) = self.st.clusters.remove(&cid) else {
            return;
        };
        for m in c.members {
            if let Some(Some(a)) = self.st.alerts.get_mut(m.slot as usize) {
                if a.id == m.alert {
                    a.pending.retain(|p| *p != cid);
                }
            }
        }
    }

    /// A pending cluster loses a member (cleared): it cannot be trusted any more.
    pub(crate) fn leave_pending(&mut self, cid: u64) {
        self.dissolve(cid);
    }

    pub(crate) fn on_window_end(&mut self, cid: u64) {
        let Some(c) = self.st.clusters.get(&cid) else {
            return;
        };
        if self.st.now < c.window_end {
            return;
        }
        if c.state == ClusterState::Pending {
            self.dissolve(cid);
        } else {
            self.unindex_cluster(cid);
        }
    }

    /// The members whose current occurrence belongs to this incident.
    fn current_members(&self, cid: u64) -> impl Iterator<Item = &Alert> {
        self.st.clusters[&cid]
            .members
            .iter()
            .filter_map(move |m| self.live_alert(m.slot, m.alert))
            .filter(move |a| a.incident == Some(cid))
    }

    pub(crate) fn refresh_severity(&mut self, cid: u64) -> bool {
        let sev = self
            .current_members(cid)
            .filter(|a| a.open)
            .map(|a| a.severity)
            .max()
            .unwrap_or(Severity::Clear);
        let c = self.st.clusters.get_mut(&cid).expect("cluster");
        c.max_severity = c.max_severity.max(sev);
        let changed = c.severity != sev;
        c.severity = sev;
        changed
    }

    /// A member's severity moved from `old` to `new` while open: O(1) unless the incident's
    /// severity was the old one and may fall.
    pub(crate) fn member_severity_changed(&mut self, cid: u64, old: Severity, new: Severity, t: Millis) {
        let Some(c) = self.st.clusters.get_mut(&cid) else {
            return;
        };
        if c.incident.is_none() {
            return;
        }
        if new > c.severity {
            c.severity = new;
            c.max_severity = c.max_severity.max(new);
            self.emit_incident(cid, IncidentChange::SeverityChanged, t, Vec::new());
        } else if old == c.severity && new < old {
            self.refresh_incident_severity(cid, t);
        }
    }

    pub(crate) fn refresh_incident_severity(&mut self, cid: u64, t: Millis) {
        if self.st.clusters.get(&cid).is_some_and(|c| c.incident.is_some()) && self.refresh_severity(cid) {
            self.emit_incident(cid, IncidentChange::SeverityChanged, t, Vec::new());
        }
    }

    /// A member's current occurrence cleared: resolve when every member not flapping is clear.
    pub(crate) fn member_cleared(&mut self, cid: u64, t: Millis) {
        let Some(c) = self.st.clusters.get(&cid) else {
            return;
        };
        if !matches!(c.state, ClusterState::Open | ClusterState::Acknowledged) {
            return;
        }
        let all_clear = self.current_members(cid).filter(|a| !a.flapping).all(|a| !a.open);
        if !all_clear {
            self.refresh_incident_severity(cid, t);
            return;
        }
        self.refresh_severity(cid);
        let c = self.st.clusters.get_mut(&cid).expect("cluster");
        c.state = ClusterState::Resolved;
        c.resolved_at = Some(t);
        self.unindex_cluster(cid);
        self.timeline(cid, t, "resolved: all alerts clear".into(), None);
        self.emit_incident(cid, IncidentChange::Resolved, t, Vec::new());
        let grace = self.c.cfg.correlation.reopen_grace_secs as i64 * 1000;
        self.schedule(t + grace, Timer::IncidentClose(cid));
    }

    /// A member raised again: it rejoins its incident if that is still active, or reopens it
    /// within the grace period. Returns false when the incident is gone or closed.
    pub(crate) fn rejoin_incident(&mut self, cid: u64, slot: u32, t: Millis) -> bool {
        let grace = self.c.cfg.correlation.reopen_grace_secs as i64 * 1000;
        let Some(c) = self.st.clusters.get(&cid) else {
            return false;
        };
        let reopen = match c.state {
            ClusterState::Open | ClusterState::Acknowledged if t <= c.window_end => false,
            ClusterState::Resolved if c.resolved_at.is_some_and(|r| t <= r + grace) => true,
            _ => return false,
        };
        let recipe = self.c.recipes[c.recipe as usize].name.clone();
        let gap = (t - c.last_time).max(0);
        let n = c.incident.expect("incident");
        let member = self.member_for(
            slot,
            t,
            Explanation {
                gap_ms: gap,
                ..Explanation::new(recipe, "reraised")
            },
        );
        let c = self.st.clusters.get_mut(&cid).expect("cluster");
        c.add_member(member);
        c.last_time = c.last_time.max(t);
        let size = c.members.len();
        let window_open = t <= c.window_end;
        if reopen {
            c.state = ClusterState::Open;
            c.resolved_at = None;
            c.reopen_count += 1;
        }
        let a = self.alert_mut(slot);
        a.incident = Some(cid);
        if a.incidents.last() != Some(&n) {
            a.incidents.push(n);
        }
        let alert_id = self.alert_id(self.alert(slot).id);
        self.refresh_severity(cid);
        let added = vec![self.member_view(&self.st.clusters[&cid].members[size - 1])];
        if reopen {
            if window_open {
                self.index_cluster(cid);
            }
            self.timeline(
                cid,
                t,
                "reopened: a member was raised again".into(),
                Some(alert_id),
            );
            self.emit_incident(cid, IncidentChange::Reopened, t, added);
        } else {
            self.timeline(cid, t, "member raised again".into(), Some(alert_id));
            self.emit_incident(cid, IncidentChange::AlertAdded, t, added);
        }
        self.emit_alert(slot, AlertChange::Correlated, t);
        true
    }

    pub(crate) fn on_incident_close(&mut self, cid: u64) {
        let grace = self.c.cfg.correlation.reopen_grace_secs as i64 * 1000;
        let now = self.st.now;
        let Some(c) = self.st.clusters.get_mut(&cid) else {
            return;
        };
        if c.state != ClusterState::Resolved || c.resolved_at.is_none_or(|r| r + grace > now) {
            return;
        }
        c.state = ClusterState::Closed;
        self.timeline(cid, now, "closed".into(), None);
        self.emit_incident(cid, IncidentChange::Closed, now, Vec::new());
        let retention = self.c.cfg.dedup.retention_secs as i64 * 1000;
        self.schedule(now + retention, Timer::IncidentPurge(cid));
    }

    pub(crate) fn on_incident_purge(&mut self, cid: u64) {
        let now = self.st.now;
        if self
            .st
            .clusters
            .get(&cid)
            .is_none_or(|c| c.state != ClusterState::Closed)
        {
            return;
        }
        self.emit_incident(cid, IncidentChange::Purged, now, Vec::new());
        self.st.clusters.remove(&cid);
    }

    pub(crate) fn timeline(&mut self, cid: u64, t: Millis, what: String, alert_id: Option<String>) {
        let c = self.st.clusters.get_mut(&cid).expect("cluster");
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

    pub(crate) fn member_view(&self, m: &Member) -> MemberView {
        MemberView {
            alert_id: self.alert_id(m.alert),
            signature: m.signature.to_string(),
            occurrence: m.occurrence,
            joined: m.joined,
            why: m.why.clone(),
        }
    }

    pub(crate) fn incident_summary(&self, cid: u64) -> IncidentSummary {
        let c = &self.st.clusters[&cid];
        let root = &c.members[c.root];
        let sources = &c.sources;
        let others = c.alert_count - 1;
        let title = match others {
            0 => format!("{} on {}", root.check, root.source),
            _ => format!(
                "{} on {} (+{} related alert{} on {} source{})",
                root.check,
                root.source,
                others,
                if others == 1 { "" } else { "s" },
                sources.len(),
                if sources.len() == 1 { "" } else { "s" }
            ),
        };
        let state = match c.state {
            ClusterState::Pending | ClusterState::Open => IncidentState::Open,
            ClusterState::Acknowledged => IncidentState::Acknowledged,
            ClusterState::Resolved => IncidentState::Resolved,
            ClusterState::Closed => IncidentState::Closed,
        };
        IncidentSummary {
            id: self.incident_id(c.incident.unwrap_or(0)),
            title,
            state,
            severity: c.severity,
            max_severity: c.max_severity,
            recipe: self.c.recipes[c.recipe as usize].name.clone(),
            alert_count: c.alert_count,
            source_count: sources.len(),
            first_time: c.first_time,
            last_time: c.last_time,
            root_cause: RootCause {
                alert_id: self.alert_id(root.alert),
                signature: root.signature.to_string(),
                source: root.source.to_string(),
                check: root.check.to_string(),
                reason: c.root_reason.clone(),
            },
            reopen_count: c.reopen_count,
            assignee: c.assignee.clone(),
        }
    }

    pub(crate) fn incident_view(&self, cid: u64) -> IncidentView {
        let c = &self.st.clusters[&cid];
        IncidentView {
            summary: self.incident_summary(cid),
            members: c.members.iter().map(|m| self.member_view(m)).collect(),
            timeline: c.timeline.clone(),
        }
    }

    pub(crate) fn emit_incident(
        &mut self,
        cid: u64,
        change: IncidentChange,
        t: Millis,
        added: Vec<MemberView>,
    ) {
        let incident = self.incident_summary(cid);
        let seq = self.next_seq();
        let u = Update::Incident(IncidentUpdate {
            v: SCHEMA_VERSION,
            seq,
            time: t,
            change,
            incident,
            added,
        });
        if self.json_output {
            serde_json::to_writer(&mut self.json_out, &u).expect("incident update serialises");
            self.json_out.push(b'\n');
        } else {
            self.out.push(u);
        }
    }
}
