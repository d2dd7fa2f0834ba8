//! correlate::candidates: placing a newly raised occurrence: the candidate clusters of
//! each recipe, how close each is (with the explanation), and the learned tokens an alert
//! brings.

use super::*;
use crate::config::LearnedConfig;

/// What a new alert is compared with in a learned cluster: its anchor (the seed, fixed for
/// the cluster's life) or its lead (the member that became root cause on joining).
struct Reference<'a> {
    alert: u64,
    tokens: &'a [learned::Token],
    class: u64,
    start: Millis,
    check: &'a str,
    /// How an explanation names it.
    what: &'a str,
}

impl Correlator {
    /// The attribute keys learned so far, strongest evidence first.
    pub fn learned_attributes(&self, env: &Env) -> Vec<LearnedAttributeView> {
        let cfg = &env.c.cfg.correlation.learned;
        let mut v: Vec<LearnedAttributeView> = self
            .learned
            .keys
            .iter()
            .map(|k| LearnedAttributeView {
                key: k.name.to_string(),
                lift: (k.lift() * 100.0).round() / 100.0,
                close_pairs: k.pairs.round(),
                values: k.values.len(),
                chance: k.chance(),
                evidence: k.informative(cfg),
            })
            .collect();
        v.sort_by(|a, b| b.lift.total_cmp(&a.lift).then_with(|| a.key.cmp(&b.key)));
        v
    }

    /// The learned topology, strongest edges first, at most `limit`.
    pub fn learned_edges(&self, limit: usize) -> Vec<LearnedEdgeView> {
        self.learned
            .edges
            .strongest()
            .into_iter()
            .take(limit)
            .map(|e| LearnedEdgeView {
                from: e.from.to_string(),
                to: e.to.to_string(),
                via: e.via.to_string(),
                weight: (e.weight * 100.0).round() / 100.0,
                last_time: e.last,
            })
            .collect()
    }

    /// An alert's learned attribute tokens: service, source and its name parts, labels.
    pub(super) fn alert_tokens(&self, env: &Env, a: &Alert) -> learned::Tokens {
        let i = &env.store.interner;
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
        if env.c.cfg.correlation.learned.name_parts {
            learned::name_parts("source", source, &mut t);
        }
        for (k, v) in a.labels.iter() {
            let key = format!("labels.{}", i.resolve(*k));
            // a label with many distinct values names entities (node, host, pod, instance);
            // one with few names a place or a kind, which its own key covers
            if self.learned.distinct_values(&key) >= ENTITY_LABEL_VALUES {
                t.list.push(("entity".into(), i.resolve(*v).into()));
            }
            t.list.push((key, i.resolve(*v).into()));
        }
        self.labels_naming_source(env, a, &mut t);
        t.list.truncate(48);
        t
    }

    /// A node's own alert holds the `labels.node` its pods hold (any label whose values
    /// name this alert's source, when the alert holds no value of its own): the node is in
    /// its own place, shared with what runs on it and differing from another node's.
    fn labels_naming_source(&self, env: &Env, a: &Alert, t: &mut learned::Tokens) {
        let source = env.store.interner.resolve(a.source);
        for key in self.labels_naming_others(env, a) {
            t.list.push((key.into(), source.into()));
        }
    }

    /// The label keys whose values name `a`'s source while `a` itself holds none of them:
    /// other alerts' labels point at it (a label that restates each alert's own source is
    /// not one).
    fn labels_naming_others<'s>(&'s self, env: &'s Env, a: &'s Alert) -> impl Iterator<Item = &'s str> + 's {
        let i = &env.store.interner;
        self.learned
            .labels_naming(i.resolve(a.source))
            .filter(move |key| {
                !a.labels
                    .iter()
                    .any(|(k, _)| key.strip_prefix("labels.") == Some(i.resolve(*k)))
            })
    }

    /// The sets an alert is compared by, one per similar field of the recipe.
    pub(super) fn similarity_sets(&self, env: &Env, r: &Recipe, a: &Alert) -> Vec<Vec<u64>> {
        r.similar
            .iter()
            .map(|s| {
                let v = env.store.field(a, &s.field).unwrap_or("");
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
    pub(super) fn evaluate(
        &self,
        env: &Env,
        ri: usize,
        cid: u64,
        a: &Alert,
        t: Millis,
        nb: &[(NodeId, u32)],
        sets: &[Vec<u64>],
        lt: &AlertTokens,
    ) -> Option<(Explanation, f64, Option<BurstJoin>)> {
        let (mut why, rank, compared, burst) = self.judge(env, ri, cid, a, t, nb, sets, lt)?;
        why.recipe = env.c.recipes[ri].name.clone();
        if why.kind.is_empty() {
            why.kind = "attribute".into();
        }
        why.compared_with = Some(env.alert_id(compared).to_string());
        Some((why, rank, burst))
    }

    /// [`Self::evaluate`] without the explanation's recipe, kind `attribute` and the name
    /// of the member compared with (returned as its alert number): most candidates are
    /// refused, and naming them first was an allocation and a formatting each.
    #[allow(clippy::too_many_arguments)]
    fn judge(
        &self,
        env: &Env,
        ri: usize,
        cid: u64,
        a: &Alert,
        t: Millis,
        nb: &[(NodeId, u32)],
        sets: &[Vec<u64>],
        lt: &AlertTokens,
    ) -> Option<(Explanation, f64, u64, Option<BurstJoin>)> {
        let r = &env.c.recipes[ri];
        let c = &self.clusters[&cid];
        let mut compared = c.anchor;
        let mut burst = None;
        let mut why = Explanation {
            gap_ms: (t - c.last_time).max(0),
            ..Explanation::new(String::new(), "")
        };
        let mut rank = 0.0;
        for (i, f) in r.equal.iter().enumerate() {
            let v = env.store.field(a, f)?;
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
            let v = env.store.field(a, &s.field)?;
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
            let topo = &env.c.topology;
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
            compared = target_id;
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
            let lcfg = &env.c.cfg.correlation.learned;
            // operators took these checks apart more often than they put them together
            if self
                .learned
                .costarts
                .lesson(lt.class, c.anchor_class)
                .is_some_and(|l| l.weight < 0.0)
            {
                return None;
            }
            if let Some((named, link)) = self.named_link(lcfg, c, lt) {
                why.kind = "learned".into();
                rank -= NAMED_WEIGHT;
                why.evidence.push(named);
                // one hop of the learned topology from the member whose source is named
                // (or who named this alert's source), its direction where text gave it
                if let Some((member, direction)) = link {
                    compared = member;
                    why.hops = Some(1);
                    why.direction = direction.map(Into::into);
                }
                return Some((why, rank, compared, None));
            }
            let anchor = Reference {
                alert: c.anchor,
                tokens: &c.anchor_tokens,
                class: c.anchor_class,
                start: c.first_time,
                check: c.members.first().map_or("", |m| &m.check),
                what: "the first alert",
            };
            let lead = c.lead.as_ref().map(|l| Reference {
                alert: l.alert,
                tokens: &l.tokens,
                class: l.class,
                start: l.start,
                check: &l.check,
                what: "its root cause",
            });
            // a value shared by chance is no evidence for a check that shares it with close
            // alerts no more than chance does (a one-off), on either side of the pair
            let typical = |e: &learned::Evidence, theirs: u64| {
                !self.learned.class_undershares(lcfg, lt.class, e.key)
                    && !self.learned.class_undershares(lcfg, theirs, e.key)
            };
            let place = |key: u16| self.place_key(key);
            // two alerts that differ on a place key stronger than the strongest they share are
            // in two places: two sites of one region, where the region alone would join two
            // faults that start seconds apart
            // — unless places of that finer key are starting together within the shared one
            // far beyond chance (a region's core router takes its sites down: `place_burst`),
            // which is then said
            let burst_note = std::cell::RefCell::new(None::<(String, BurstJoin)>);
            let finer_differs = |ev: &[learned::Evidence], tokens: &[learned::Token]| {
                let Some(strongest) = ev.first() else {
                    return false;
                };
                let Some(k) = self
                    .learned
                    .conflict(lcfg, &lt.ids, tokens, place)
                    .filter(|&k| self.learned.key_lift(k) > strongest.lift)
                else {
                    return false;
                };
                // the places starting together must be places *within* a place the two
                // alerts share (sites within their region), not instances of one kind in
                // places that share nothing (two clusters whose databases fail together
                // share a role): a burst is refused once the differing key is shown to cut
                // across every place both hold
                let in_shared_place = lt.ids.iter().any(|x| {
                    x.0 != k
                        && tokens.binary_search(x).is_ok()
                        && place(x.0)
                        && !self.learned.held_by_all(lcfg, x.0)
                        && !self.learned.cuts_across(lcfg, k, x.0)
                });
                if !in_shared_place {
                    return true;
                }
                let within = (strongest.key, strongest.value);
                let own = lt.ids.iter().find(|x| x.0 == k).map_or(0, |x| x.1);
                let shared_name = self.learned.key_name(within.0);
                let burst = self.learned.place_burst(lcfg, within, k, own, t);
                match burst {
                    Some(b) => {
                        let finer = self.learned.key_name(k);
                        let note = format!(
                            "{BURST_NOTE}{finer}: {:.0} other {finer} value(s) of \
                             {shared_name} = {} began alerting within the window; {finer} \
                             values begin alerting {:.1} times an hour here, so chance gives \
                             {:.2} there (probability ≤ {:.0e})",
                            b.others,
                            shared_text(lt, shared_name, within.1),
                            b.per_hour,
                            b.expected,
                            b.chance
                        );
                        *burst_note.borrow_mut() = Some((note, BurstJoin { within, finer: k }));
                        false
                    }
                    None => true,
                }
            };
            let mut own = || self.member_tokens(env, c);
            let mut ev = self.learned.shared_evidence_outside(
                lcfg,
                &lt.ids,
                &c.anchor_tokens,
                t - c.first_time,
                &mut own,
            );
            ev.retain(|e| typical(e, c.anchor_class));
            if finer_differs(&ev, &c.anchor_tokens) {
                ev.clear();
            }
            let mut via_member = false;
            if ev.is_empty() {
                ev = self
                    .learned
                    .shared_evidence(lcfg, &lt.ids, &c.member_entities, t - c.last_time);
                ev.retain(|e| typical(e, 0));
                via_member = true;
            }
            if ev.is_empty() {
                if let Some(l) = &lead {
                    ev = self.learned.shared_evidence(lcfg, &lt.ids, l.tokens, t - l.start);
                    ev.retain(|e| typical(e, l.class));
                    if finer_differs(&ev, l.tokens) {
                        ev.clear();
                    }
                    via_member = false;
                    if !ev.is_empty() {
                        compared = l.alert;
                    }
                }
            }
            // the places of the incident: the anchors of the clusters merged into this one
            // (a regional failure's other sites) and the places a burst let in, each as the
            // first alert of its own place
            let mut via_place = None;
            for m in &c.merged {
                if !ev.is_empty() {
                    break;
                }
                ev = self
                    .learned
                    .shared_evidence(lcfg, &lt.ids, &m.tokens, t - m.start);
                ev.retain(|e| typical(e, m.class));
                if finer_differs(&ev, &m.tokens) {
                    ev.clear();
                }
                via_member = false;
                if !ev.is_empty() {
                    compared = m.alert;
                    via_place = m.place;
                }
            }
            // the latest member, within the window of the first alert and half the window
            // of the member: a fault whose alerts keep coming past 30 s of its first one
            // (its first alert's far gap band says little yet) stays one incident, while
            // the first alert's window still bounds the chain
            let mut via_frontier = false;
            let mut frontier_gap = 0;
            if ev.is_empty() {
                if let Some(f) = &c.frontier {
                    let gap = t - f.start;
                    if gap >= 0
                        && learned::band_of(lcfg, gap) <= 1
                        && t - c.first_time <= lcfg.window_secs as i64 * 1000
                    {
                        ev = self.learned.shared_evidence(lcfg, &lt.ids, &f.tokens, gap);
                        ev.retain(|e| self.group_label(e.key) && typical(e, f.class));
                        // nor across the host of the incident's first alert (as in
                        // `combined_evidence`)
                        if finer_differs(&ev, &f.tokens)
                            || self
                                .learned
                                .conflict(lcfg, &lt.ids, &c.anchor_tokens, |k| self.host_key(k))
                                .is_some()
                        {
                            ev.clear();
                        }
                        if !ev.is_empty() {
                            compared = f.alert;
                            via_frontier = true;
                            frontier_gap = gap;
                        }
                    }
                }
            }
            if ev.is_empty() {
                let frontier = c.frontier.as_ref().map(|l| Reference {
                    alert: l.alert,
                    tokens: &l.tokens,
                    class: l.class,
                    start: l.start,
                    check: &l.check,
                    what: "its latest member",
                });
                for reference in std::iter::once(&anchor)
                    .chain(lead.as_ref())
                    .chain(frontier.as_ref())
                {
                    if let Some((weight, evidence, matched)) =
                        self.combined_evidence(env, reference, &c.anchor_tokens, a, t, lt)
                    {
                        why.kind = "learned".into();
                        compared = reference.alert;
                        rank -= weight;
                        why.evidence.push(evidence);
                        why.matched.push(matched);
                        return Some((why, rank, compared, None));
                    }
                }
                // early in the stream, before any label is known to be evidence: the
                // labels two alerts close together share (as a person new to the estate
                // would join on them), weaker than anything learned
                if c.anchor_class != 0 && lt.class != 0 {
                    let place = |key: u16| self.place_key(key);
                    let mut own = || self.member_tokens(env, c);
                    for reference in frontier.iter().chain(std::iter::once(&anchor)) {
                        let gap = t - reference.start;
                        let Some(p) =
                            self.learned
                                .provisional_shared(lcfg, &lt.ids, reference.tokens, gap, &mut own)
                        else {
                            continue;
                        };
                        if self
                            .learned
                            .conflict(lcfg, &lt.ids, reference.tokens, place)
                            .is_some()
                        {
                            continue;
                        }
                        let name = self.learned.key_name(p.key);
                        let value = shared_text(lt, name, p.value);
                        why.kind = "learned".into();
                        compared = reference.alert;
                        rank += 1.0;
                        why.evidence.push(format!(
                            "shares {name} = {value} and {} other label(s) with {}, {:.0} s after \
                             it: too early in the stream to know whether {name} is evidence \
                             ({:.0} close pairs so far; outside this incident the value is \
                             held by {:.1}% of the alerts), so labels shared this close are \
                             taken as evidence until it is known",
                            p.labels - 1,
                            reference.what,
                            gap as f64 / 1000.0,
                            p.pairs,
                            p.share * 100.0
                        ));
                        return Some((why, rank, compared, None));
                    }
                }
                let Some((weight, evidence)) = self.time_evidence(env, c, a, t, lt) else {
                    if let Some(chain) = self.source_chain(env, c, a, lt, t) {
                        why.kind = "learned".into();
                        compared = chain.previous;
                        rank += 1.0 - (1.0 / chain.expected).min(10.0) / 100.0;
                        why.evidence.push(format!(
                            "started {:.0} s after {}, the latest alert never seen before on this \
                             source in this incident, and is itself never seen before there: such \
                             alerts start on one source {:.2} times an hour here, so chance gives \
                             {:.1e} in {:.0} s",
                            chain.gap as f64 / 1000.0,
                            env.alert_id(chain.previous),
                            chain.per_hour,
                            chain.expected,
                            chain.gap as f64 / 1000.0,
                        ));
                        return Some((why, rank, compared, None));
                    }
                    // the same source as a recent member, before the stream has shown whether
                    // sharing a source is evidence: a device's second alert seconds after its
                    // first (as a person new to the estate would join them)
                    if let Some((member, gap, pairs)) = self.same_source_member(env, c, a, lt, t) {
                        why.kind = "learned".into();
                        compared = member;
                        rank += 1.0;
                        why.evidence.push(format!(
                            "same source as {}, a member, {:.0} s after its latest member: too \
                             early in the stream to know whether sharing a source is evidence \
                             ({pairs:.0} close pairs so far), so the same source this close is \
                             taken as evidence until it is known",
                            env.alert_id(member),
                            gap as f64 / 1000.0
                        ));
                        return Some((why, rank, compared, None));
                    }
                    // time and place, where the estate is quiet enough for chance to give
                    // the pair little (as a person new to a quiet estate would join them)
                    if let Some((reference, gap, q)) =
                        self.quiet_place_with(env, c, lt, t, &anchor, frontier.as_ref())
                    {
                        let name = self.learned.key_name(q.key);
                        why.kind = "learned".into();
                        compared = reference;
                        rank += 1.0 - (1.0 / q.expected.max(1e-9)).min(10.0) / 100.0;
                        why.evidence.push(format!(
                            "shares {name} = {} with {}, {:.0} s after it, in a quiet stretch: \
                             alerts start {:.1} times an hour here and {:.1}% of those outside \
                             this incident hold it, so chance gives {:.1e} in {:.0} s",
                            shared_text(lt, name, q.value),
                            env.alert_id(reference),
                            gap as f64 / 1000.0,
                            q.per_hour,
                            q.share * 100.0,
                            q.expected,
                            gap as f64 / 1000.0,
                        ));
                        return Some((why, rank, compared, None));
                    }
                    return None;
                };
                why.kind = "learned".into();
                // weaker than any shared attribute (whose ranks are below 0): time evidence
                // decides only where no attribute does
                rank += 1.0 - weight.min(10.0) / 100.0;
                why.evidence.push(evidence);
                return Some((why, rank, compared, None));
            }
            let best = ev.first()?;
            why.kind = "learned".into();
            let (burst_note, joined_burst) = burst_note.borrow_mut().take().unzip();
            burst = joined_burst;
            // a link through a member is one hop further than one to the anchor
            rank -= best.weight * if via_member || via_frontier { 0.5 } else { 1.0 };
            for e in ev.iter().take(3) {
                let name = self.learned.key_name(e.key);
                let value = shared_text(lt, name, e.value);
                why.evidence.push(if via_member {
                    format!(
                        "names {value}, an entity a member of this incident names too \
                         (alerts that name the same entity start close together {:.1}× as \
                         often as chance)",
                        e.lift
                    )
                } else if via_frontier {
                    format!(
                        "shares {name} = {value} with its latest member, {:.0} s after it: \
                         held by {:.1}% of recent alerts, and alerts that start this close \
                         share {name} {:.1}× as often as chance",
                        frontier_gap as f64 / 1000.0,
                        e.share * 100.0,
                        e.lift
                    )
                } else {
                    format!(
                        "shares {name} = {value}: held by {:.1}% of recent alerts{}, and alerts \
                         that start close together share {name} {:.1}× as often as chance",
                        e.share * 100.0,
                        if e.outside { " outside this incident" } else { "" },
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
            if let Some(place) = via_place {
                let name = self.learned.key_name(place.0);
                why.evidence.push(if lt.ids.binary_search(&place).is_ok() {
                    format!(
                        "compared with {}, the latest alert of {name} = {} in this incident: \
                         a place of it since its places began alerting together",
                        env.alert_id(compared),
                        shared_text(lt, name, place.1)
                    )
                } else {
                    format!(
                        "compared with {}, the latest alert of another {name} of this \
                         incident: a place of it since its places began alerting together",
                        env.alert_id(compared)
                    )
                });
            }
            why.evidence.extend(burst_note);
        }
        Some((why, rank, compared, burst))
    }

    /// [`LearnedStats::quiet_place`] against the incident's latest member, then its first
    /// alert: the member compared with, the gap and the place. Never across a finer place
    /// the two hold apart, nor across the host of the incident's first alert.
    fn quiet_place_with(
        &self,
        env: &Env,
        c: &Cluster,
        lt: &AlertTokens,
        t: Millis,
        anchor: &Reference,
        frontier: Option<&Reference>,
    ) -> Option<(u64, Millis, learned::QuietPlace)> {
        let lcfg = &env.c.cfg.correlation.learned;
        // a place label, not one that only restates the host (`labels.ip`): one host's
        // alerts are judged by `same_source_member`
        let place = |key: u16| self.group_label(key) && self.burst_place_key(lcfg, key);
        let mut own = || self.member_tokens(env, c);
        // the cheap test first: in a busy stream `quiet_place` refuses before any lookup
        let (reference, gap, q) =
            frontier
                .into_iter()
                .chain(std::iter::once(anchor))
                .find_map(|reference| {
                    let gap = t - reference.start;
                    let q =
                        self.learned
                            .quiet_place(lcfg, &lt.ids, reference.tokens, gap, &mut own, place)?;
                    let apart = self
                        .learned
                        .conflict(lcfg, &lt.ids, reference.tokens, |k| self.place_key(k))
                        .is_some();
                    (!apart).then_some((reference.alert, gap, q))
                })?;
        let across_hosts = self
            .learned
            .conflict(lcfg, &lt.ids, &c.anchor_tokens, |k| self.host_key(k))
            .is_some();
        (!across_hosts).then_some((reference, gap, q))
    }

    /// A key the alert shares with the reference that is not evidence on its own (a
    /// cluster of six: half the close pairs sharing it belong together), judged with the
    /// checks involved. For each check, of the close pairs in which an alert of it shares the
    /// key's value, the share that belong together beyond chance (`learned::class_related`):
    /// a failure's checks share their place with the rest of the cascade nearly always, a
    /// one-off on a random host only as often as chance. The three views of the pair (its
    /// gap band, its two checks) are combined as independent evidence against the key's
    /// share over all pairs (naive Bayes in odds); joins when the result reaches
    /// `min_related`. Within the window of the reference's start only, and never across an
    /// informative place the two do not share.
    fn combined_evidence(
        &self,
        env: &Env,
        reference: &Reference,
        anchor: &[learned::Token],
        a: &Alert,
        t: Millis,
        lt: &AlertTokens,
    ) -> Option<(f64, String, FieldMatch)> {
        let lcfg = &env.c.cfg.correlation.learned;
        if reference.class == 0 || lt.class == 0 {
            return None;
        }
        let gap = t - reference.start;
        if gap < 0 || gap > lcfg.window_secs as i64 * 1000 {
            return None;
        }
        let weak = self.learned.weak_shared(lcfg, &lt.ids, reference.tokens, gap)?;
        let ours = self.learned.class_related(lcfg, lt.class, weak.key)?;
        let theirs = self.learned.class_related(lcfg, reference.class, weak.key)?;
        // naive Bayes over three views of one pair sharing the key: its gap (`weak`, from
        // the gap band) and each side's check, each against the key's share over all pairs
        let odds = |p: f64| p.clamp(1e-6, 1.0 - 1e-6) / (1.0 - p.clamp(1e-6, 1.0 - 1e-6));
        let base = odds(self.learned.key_related(weak.key));
        let combined = odds(weak.related) * odds(ours) * odds(theirs) / (base * base);
        let related = combined / (1.0 + combined);
        if related < lcfg.min_related {
            return None;
        }
        let place = |key: u16| self.place_key(key);
        // nor across the host of the incident's first alert (the node a pod runs on): a
        // chain through members that run on no host (a service) would otherwise carry a
        // second node's failure in
        if self
            .learned
            .conflict(lcfg, &lt.ids, reference.tokens, place)
            .is_some()
            || self
                .learned
                .conflict(lcfg, &lt.ids, anchor, |k| self.host_key(k))
                .is_some()
        {
            return None;
        }
        let name = self.learned.key_name(weak.key);
        let value = shared_text(lt, name, weak.value);
        let other_check = reference.check;
        let check = env.store.interner.resolve(a.check);
        let words = format!(
            "shares {name} = {value} with {}, {:.0} s after it: alerts that start this close \
             and share {name} belong together {:.0}% of the time (against chance), {:.0}% when \
             one is `{check}`, {:.0}% when one is `{other_check}`: together {:.0}%",
            reference.what,
            gap as f64 / 1000.0,
            weak.related * 100.0,
            ours * 100.0,
            theirs * 100.0,
            related * 100.0,
        );
        let matched = FieldMatch {
            field: name.to_string(),
            value: value.to_string(),
            other: value.to_string(),
            method: "learned".into(),
            similarity: (related * 100.0).round() / 100.0,
        };
        Some((-(1.0 - related).max(1e-9).ln(), words, matched))
    }

    /// Evidence from when the alert starts against the cluster's anchor (`cooccur`): its
    /// weight and the sentence that explains it, or `None`. Only within the window of the
    /// anchor's start, and never against an informative place the two do not share.
    fn time_evidence(
        &self,
        env: &Env,
        c: &Cluster,
        a: &Alert,
        t: Millis,
        lt: &AlertTokens,
    ) -> Option<(f64, String)> {
        let lcfg = &env.c.cfg.correlation.learned;
        if c.anchor_class == 0 || lt.class == 0 {
            return None;
        }
        let gap = t - c.first_time;
        if gap < 0 || gap > lcfg.window_secs as i64 * 1000 {
            return None;
        }
        let place = |key: u16| self.place_key(key);
        if self
            .learned
            .conflict(lcfg, &lt.ids, &c.anchor_tokens, place)
            .is_some()
        {
            return None;
        }
        let secs = gap as f64 / 1000.0;
        let i = &env.store.interner;
        let anchor_check = c.members.first().map_or("", |m| &m.check);
        if let Some(l) = self
            .learned
            .costarts
            .lesson(lt.class, c.anchor_class)
            .filter(|l| l.weight > 0.0)
        {
            return Some((
                (1.0 + l.weight).ln() + 1.0,
                format!(
                    "operators put `{}` with `{anchor_check}` (learned from {}); this one \
                     {secs:.0} s after it",
                    i.resolve(a.check),
                    l.from
                ),
            ));
        }
        let apart = self.lineage_refutes(env, a, c);
        if lt.novel && c.anchor_novel && !apart {
            // a weak burst (chance explains much of it) joins only within a shared place
            // (None: a strong burst; Some(None): a weak one and no place shared)
            let weak_burst_place = lt
                .burst
                .filter(|b| b.lift() < STRONG_BURST_LIFT)
                .map(|_| self.shared_place(lcfg, &lt.ids, &c.anchor_tokens));
            if let Some(b) = lt.burst.filter(|_| !matches!(weak_burst_place, Some(None))) {
                let mut words = format!(
                    "started {secs:.0} s after it, one of {} alerts never seen before that started within {} s; here such alerts start {:.1} times an hour, so chance gives {:.2} in a window (probability ≤ {:.0e})",
                    b.others as u64 + 1,
                    lcfg.window_secs,
                    b.per_hour,
                    b.expected,
                    b.chance
                );
                if let Some(Some((key, value))) = weak_burst_place {
                    let name = self.learned.key_name(key);
                    words.push_str(&format!(
                        "; chance could give a fair part of such a burst, and it shares {name} = {} with it",
                        shared_text(lt, name, value)
                    ));
                }
                return Some((b.lift().ln(), words));
            }
        }
        if apart {
            return None;
        }
        // two sources are judged by how often the two checks start together on two sources
        let own = learned::hash_value(i.resolve(a.source));
        let same_source = c
            .members
            .first()
            .is_some_and(|m| learned::hash_value(&m.source) == own);
        let costarts = &self.learned.costarts;
        let s = if same_source {
            costarts.association(lcfg, lt.class, c.anchor_class)
        } else {
            costarts.association_apart(lcfg, lt.class, c.anchor_class)
        }
        .filter(|s| 1.0 - 1.0 / s.lift() >= lcfg.min_related)?;
        Some((
            s.lift().ln(),
            format!(
                "`{}` and `{anchor_check}` have started within {} s of each other{} {:.0} times (this one included), {:.0}× as often as chance ({:.2} expected); this one {secs:.0} s after it",
                i.resolve(a.check),
                lcfg.window_secs,
                if same_source { "" } else { " on two sources" },
                s.together,
                s.lift(),
                s.expected
            ),
        ))
    }

    /// An explicit link in words: the alert's description names a source in the cluster
    /// (its anchor's or a member's), or the anchor's description names the alert's source.
    /// A link by a label value or the service (not by text) is a shared `entity` value, and
    /// the checks' statistics of sharing it may refuse it (`class_undershares`): the pods of
    /// a failing service name it, and so does a `fan_speed` one-off on one of them.
    /// The link in words, and — when it links to a member's source — that member with the
    /// alert's direction relative to it where a description gave it: `downstream` when this
    /// alert reports on the member's source ("BGP neighbor cr2.fra Down"), `upstream` when
    /// the anchor's description names this alert's source.
    #[allow(clippy::type_complexity)]
    fn named_link(
        &self,
        lcfg: &LearnedConfig,
        c: &Cluster,
        lt: &AlertTokens,
    ) -> Option<(String, Option<(u64, Option<&'static str>)>)> {
        let entity = self.learned.key_id("entity")?;
        let set_apart = self.learned.class_undershares(lcfg, lt.class, entity)
            || self.learned.class_undershares(lcfg, c.anchor_class, entity);
        for m in &lt.mentions {
            if (m.in_text || !set_apart)
                && (c.anchor_tokens.binary_search(&m.token).is_ok()
                    || c.member_entities.binary_search(&m.token).is_ok())
            {
                // the member whose source it names, if the name is a source (not a label
                // value or service the incident's alerts carry)
                let link = c
                    .members
                    .iter()
                    .find(|x| learned::hash_value(&x.source) == m.token.1)
                    .map(|x| (x.alert, m.in_text.then_some("downstream")));
                return Some((format!("{}, an entity of this incident", m.phrase()), link));
            }
        }
        if set_apart {
            return None;
        }
        // the alert's own source only: the anchor names things, and a label value of the
        // alert that the anchor holds too (a site) is a shared place, not a name
        let name = lt
            .text
            .list
            .iter()
            .find(|(k, _)| k == "entity")
            .map(|(_, v)| v.as_str());
        if let Some(name) = name {
            if c.anchor_mentions
                .binary_search(&(entity, learned::hash_value(name)))
                .is_ok()
            {
                let anchor_source = c.members.first().map(|x| learned::hash_value(&x.source));
                let in_text = anchor_source
                    .is_some_and(|a| self.learned.edges.named_in_text(a, learned::hash_value(name)));
                return Some((
                    format!(
                        "this incident's first alert names {name}, this alert's source, in its \
                         description or labels (or its source's earlier alerts did)"
                    ),
                    Some((c.anchor, in_text.then_some("upstream"))),
                ));
            }
        }
        None
    }

    /// Whether the topology learned from text places the alert's source and the cluster's
    /// anchor's apart (`LearnedEdges::unrelated`): time alone then joins nothing.
    fn lineage_refutes(&self, env: &Env, a: &Alert, c: &Cluster) -> bool {
        let Some(anchor) = c.members.first() else {
            return false;
        };
        let source = learned::hash_value(env.store.interner.resolve(a.source));
        self.learned
            .edges
            .unrelated(source, learned::hash_value(&anchor.source))
    }

    /// Whether the topology learned from text places the anchors of two clusters apart.
    fn anchors_unrelated(&self, p: &Cluster, c: &Cluster) -> bool {
        match (p.members.first(), c.members.first()) {
            (Some(x), Some(y)) => self
                .learned
                .edges
                .unrelated(learned::hash_value(&x.source), learned::hash_value(&y.source)),
            _ => false,
        }
    }

    /// A value of a place (a region, a site) that both sorted token lists hold, where close
    /// alerts share the place's values beyond chance (if too weakly to join on alone: a
    /// storm's region) and not (nearly) every alert holds it: what lets a weak burst of new
    /// alerts join (`STRONG_BURST_LIFT`). A kind (`labels.kind = cell`) is shared no more
    /// than chance gives.
    fn shared_place(
        &self,
        lcfg: &LearnedConfig,
        a: &[learned::Token],
        b: &[learned::Token],
    ) -> Option<learned::Token> {
        a.iter()
            .find(|x| {
                b.binary_search(x).is_ok()
                    && self.place_key(x.0)
                    && !self.learned.held_by_all(lcfg, x.0)
                    && self
                        .learned
                        .keys
                        .get(x.0 as usize)
                        .is_some_and(|k| k.shared_beyond_chance(lcfg))
            })
            .copied()
    }

    /// Keys on which a check below the noise gate can show that it belongs
    /// (`class_belongs`): labels — a region, a site, a cluster, a node. Not the source's
    /// name or its parts (the number in `host-000123` is a host's identity), and only
    /// between alerts on two sources (`observe_quiet`): routine jobs on one host come
    /// together, which says nothing of a failure.
    pub(super) fn group_label(&self, key: u16) -> bool {
        self.learned.key_name(key).starts_with("labels.")
    }

    /// Keys whose differing values veto a join on time evidence: places and groups, not the
    /// keys that name entities (two alerts on two hosts differ on `source` as a rule).
    /// A part of the source's name that tells hosts apart (`07` of `ws-07`, `3-7` of
    /// `node-3-7`) is one here: alerts of two nodes of one cluster that merely start together
    /// are not joined on that alone (measured: taking it out cost micro without topology 0.935
    /// → 0.885 on seed 1). Only a burst's merge looks past it ([`Self::burst_place_key`]).
    pub(super) fn place_key(&self, key: u16) -> bool {
        let name = self.learned.key_name(key);
        let names_entities = matches!(name, "source" | "entity" | "service")
            || (name.starts_with("labels.")
                && self.learned.distinct_values(name) >= ENTITY_LABEL_VALUES
                && !self.learned.names_hosts(key));
        !names_entities
    }

    /// Place keys that name the hosts things run on (`labels.node`, `LearnedStats::names_hosts`):
    /// a weak join never crosses the host of an incident's first alert.
    pub(super) fn host_key(&self, key: u16) -> bool {
        self.learned.names_hosts(key) && self.place_key(key)
    }

    /// Keys whose differing values keep apart two clusters of one burst of alerts never seen
    /// before ([`Self::merge_burst`]): the [`Self::place_key`]s, bar those that only restate
    /// the source (`labels.ip` beside the host name, the number of `ws-05`: every value seen
    /// on one source, `LearnedStats::restates_source`). A scan's rules each gather their
    /// hosts, and the clusters share a host; their anchors differ on such keys as they
    /// differ on `source` — that names two entities, not two places.
    pub(super) fn burst_place_key(&self, lcfg: &LearnedConfig, key: u16) -> bool {
        self.place_key(key) && !self.learned.restates_source(lcfg, key)
    }

    /// Places a newly raised occurrence: joins the best open incident, else the best pending
    /// cluster, else seeds pending clusters of its own.
    pub(crate) fn correlate(&mut self, env: &mut Env, slot: u32, t: Millis) {
        self.place(env, slot, t, true)
    }

    /// [`Self::correlate`]; `learn`: count the occurrence into the learned statistics (its
    /// start), which a second look at an alert placed nowhere must not do again.
    fn place(&mut self, env: &mut Env, slot: u32, t: Millis, learn: bool) {
        let a = env.store.alert(slot);
        let noise = &env.c.cfg.noise;
        if (a.entropy as f64) < noise.join_threshold {
            // below the gate: no correlation for it unless its check is learned to belong
            // with the alerts around it or not yet shown not to, for which the learned
            // statistics see it (its check's counts only; the cheap part of its tokens, as
            // most such alerts are routine chatter)
            let Some(class) = self.quiet_class(env, slot) else {
                return;
            };
            let lcfg = &env.c.cfg.correlation.learned;
            match self.learned.quiet_turn(lcfg, class) {
                // a routine check, unless its words name the source of a young incident
                // ("Backhaul link to sw0520 lost" seconds after sw0520's alerts): a link in
                // words is the alert's own statement, whatever its text's noise score
                Some(false) if !self.names_young_cluster(env, slot, t) => return,
                Some(false) | Some(true) => {}
                None => {
                    let ids = self.quiet_tokens(env, slot);
                    let group = |key: u16| self.group_label(key);
                    // a check shown to belong passes; so does one not yet shown *not* to
                    // (a stream's first failures, before their checks have enough pairs
                    // to be judged: chatter is refuted within a few of its alerts) — if it
                    // can be judged at all: an alert with no label stays below the gate
                    let keys = || ids.iter().map(|t| t.0);
                    // a label (nearly) every alert holds (`env = prod`) can judge nothing:
                    // an alert with only such labels is as unjudgeable as one with none
                    let judgeable = |k: u16| group(k) && !self.learned.held_by_all(lcfg, k);
                    let passes = self.learned.class_belongs(lcfg, class, keys(), group)
                        || (keys().any(judgeable) && !self.learned.class_refuted(lcfg, class, keys(), group));
                    self.learned.quiet_judged(class, passes);
                    if !passes && !self.names_young_cluster(env, slot, t) {
                        if learn {
                            self.learned.observe_quiet(lcfg, t, &ids, class);
                        }
                        return;
                    }
                }
            }
        }
        let lt = self.learned_tokens(env, slot, t);
        let a = env.store.alert(slot);
        let mut chosen: Option<(u64, Explanation, Option<BurstJoin>)> = None;
        let mut nb_cache: Option<NeighbourCache> = None;
        let mut judged = 0u64;
        for ri in 0..env.c.recipes.len() {
            let r = &env.c.recipes[ri];
            if !self.recipe_accepts(env, r, a) {
                continue;
            }
            let candidates: Vec<u64> = match r.kind {
                RecipeKind::Attribute if !r.equal.is_empty() => self
                    .index
                    .attr
                    .get(&(ri as u16, self.key_of(env, r, a)))
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
                            env.c.topology.neighbourhood(e, r.hop_limit, r.siblings),
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
                    // the youngest clusters of each token: a value many open clusters hold
                    // (`env = prod`, a data centre among four) would otherwise make every
                    // alert that passes the gate a comparison with each of them — at a
                    // hundred new alerts a second, thousands each (`TOKEN_CANDIDATES`)
                    let youngest =
                        |l: &'_ Vec<u64>| l.iter().rev().take(TOKEN_CANDIDATES).copied().collect::<Vec<_>>();
                    let mut v: Vec<u64> = lt
                        .ids
                        .iter()
                        .filter_map(|t| self.index.learned.get(&(ri as u16, *t)))
                        .flat_map(youngest)
                        .collect();
                    v.extend(
                        lt.mentions
                            .iter()
                            .filter_map(|m| self.index.learned.get(&(ri as u16, m.token)))
                            .flat_map(youngest),
                    );
                    if lt.class != 0 {
                        if let Some(recent) = self.index.learned.get(&(ri as u16, TIME_TOKEN)) {
                            v.extend(recent.iter().rev().take(TIME_CANDIDATES));
                        }
                    }
                    v.sort_unstable();
                    v.dedup();
                    v
                }
            };
            let nb: &[(NodeId, u32)] = nb_cache.as_ref().map_or(&[], |(_, _, v)| v);
            let sets = if r.similar.is_empty() {
                Vec::new()
            } else {
                self.similarity_sets(env, r, a)
            };
            // (cluster, why, ranking key, the place burst the join passed)
            type Best = (u64, Explanation, (f64, bool, u64), Option<BurstJoin>);
            let mut best: Option<Best> = None;
            for cid in candidates {
                let c = &self.clusters[&cid];
                let kept_open = !self.accepting(env, c, t);
                // only learned clusters are kept open (`member_fired`)
                if kept_open && !self.kept_open_for(env, c, a, t) {
                    continue;
                }
                judged += 1;
                let Some((mut why, rank, burst)) = self.evaluate(env, ri, cid, a, t, nb, &sets, &lt) else {
                    continue;
                };
                if kept_open {
                    why.evidence.push(format!(
                        "{} s after the incident's latest member, past its window: its alerts on this source are still firing",
                        (t - c.last_time) / 1000
                    ));
                }
                let key = (rank, c.state == ClusterState::Pending, cid);
                if best
                    .as_ref()
                    .is_none_or(|(_, _, k, _)| key.partial_cmp(k) == Some(std::cmp::Ordering::Less))
                {
                    best = Some((cid, why, key, burst));
                }
            }
            if let Some((cid, why, _, burst)) = best {
                chosen = Some((cid, why, burst));
                break;
            }
        }
        env.stats.candidates_judged += judged;
        if let Some((cid, why, place_burst)) = chosen {
            let burst_join = why.kind == "learned" && lt.novel && lt.burst.is_some();
            self.join(env, cid, slot, t, why);
            if lt.novel {
                let a = env.store.alert(slot);
                let (source, id) = (env.store.interner.resolve(a.source), a.id);
                if let Some(c) = self.clusters.get_mut(&cid) {
                    if env.c.recipes[c.recipe as usize].kind == RecipeKind::Learned {
                        c.note_novel_start(source, id, t);
                    }
                }
            }
            self.learn_member_entities(env, cid, &lt);
            self.take_lead(env, cid, slot, t, &lt);
            // the joined cluster may be merged into an older incident of its burst: the
            // steps below follow the survivor
            let cid = if burst_join {
                self.absorb_burst(
                    env,
                    cid,
                    slot,
                    t,
                    lt.burst.is_some_and(|b| b.lift() < STRONG_BURST_LIFT),
                );
                self.merge_burst(env, cid, t, &lt)
            } else {
                cid
            };
            self.absorb_named(env, cid, slot, t, &lt);
            self.absorb_before(env, cid, slot, t, &lt);
            self.take_lead_in(env, cid, slot, t, &lt);
            self.refresh_place(env, cid, slot, t, &lt);
            if let Some(b) = place_burst {
                self.take_place(env, cid, slot, t, &lt, b);
                self.merge_place_burst(env, cid, t, &lt, b);
            }
        } else {
            self.seed(env, slot, t, &lt);
            // the alerts of its source too dull to seed anything, just before it
            let learned_seed = env.store.alert(slot).pending.iter().copied().find(|p| {
                self.clusters
                    .get(p)
                    .is_some_and(|c| env.c.recipes[c.recipe as usize].kind == RecipeKind::Learned)
            });
            if let Some(cid) = learned_seed {
                self.absorb_unplaced(env, cid, slot, t, &lt, "started this incident");
            }
            let a = env.store.alert(slot);
            // a rare check's start new on its source that joined nothing: a lead-in of
            // what may join up on that source later (`take_lead_in`)
            let lcfg = &env.c.cfg.correlation.learned;
            let rare = self
                .learned
                .costarts
                .class_per_window(lcfg, lt.class)
                .is_some_and(|r| r <= cooccur::RARE_CHECK);
            if lt.novel && lt.class != 0 && a.incident().is_none() && rare {
                let horizon = SOURCE_CHAIN_WINDOWS * lcfg.window_secs as i64 * 1000;
                let u = learned::Unplaced {
                    time: t,
                    source: learned::hash_value(env.store.interner.resolve(a.source)),
                    slot,
                    alert: a.id,
                    novel: true,
                };
                self.learned.remember_lone_novel(horizon, u);
            }
            if lt.observed && a.pending.is_empty() && a.incident().is_none() {
                let source = learned::hash_value(env.store.interner.resolve(a.source));
                let u = learned::Unplaced {
                    time: t,
                    source,
                    slot,
                    alert: a.id,
                    novel: lt.novel,
                };
                self.learned.remember_unplaced(&env.c.cfg.correlation.learned, u);
            }
        }
        if learn {
            self.observe_learned(env, slot, t, &lt);
        }
    }

    /// Counts a newly raised occurrence into the learned statistics (attribute pairs,
    /// co-starts, the edges its mentions name).
    fn observe_learned(&mut self, env: &Env, slot: u32, t: Millis, lt: &AlertTokens) {
        if lt.observed {
            let lcfg = &env.c.cfg.correlation.learned;
            self.learned.observe_class(lcfg, t, &lt.ids, lt.class);
            let source = env.store.interner.resolve(env.store.alert(slot).source);
            let from = learned::hash_value(source);
            if lt.class != 0 {
                self.learned
                    .costarts
                    .observe_start(lcfg, t, lt.class, lt.seen_key, from);
            }
            if lt.class != 0 || lcfg.named_entities {
                self.learned.costarts.observe_source(lcfg, from);
            }
            if lcfg.named_entities {
                for m in lt.mentions.iter().filter(|m| !m.learned) {
                    self.learned
                        .edges
                        .observe(lcfg, t, from, source, m.token.1, &m.name, &m.via);
                }
            }
        }
    }

    /// An alert joined `cid` and names (by a label value, its service or its description's
    /// words) the source of an alert that started earlier within the window and is still
    /// alone in a pending cluster: the service alert that came before its pod's, which the
    /// pod's node links to the failing node's incident. The named link the other way round
    /// (`named_link`) could not see it: when the lone alert came, nothing in the incident
    /// named it yet. It joins the incident too, unless its check or this alert's is set
    /// apart on `entity` (for names that are label values or the service).
    fn absorb_named(&mut self, env: &mut Env, cid: u64, slot: u32, t: Millis, lt: &AlertTokens) {
        let lcfg = &env.c.cfg.correlation.learned;
        let window = lcfg.window_secs as i64 * 1000;
        let Some(entity) = self.learned.key_id("entity") else {
            return;
        };
        let Some(c) = self.clusters.get(&cid) else {
            return;
        };
        let ri = c.recipe;
        if env.c.recipes[ri as usize].kind != RecipeKind::Learned || lt.mentions.is_empty() {
            return;
        }
        let ours_apart = self.learned.class_undershares(lcfg, lt.class, entity);
        let joined_id = env.alert_id(env.store.alert(slot).id).to_string();
        // in cluster order, whatever the order of the index (rebuilt on restore)
        let mut found: Vec<(u64, usize)> = lt
            .mentions
            .iter()
            .enumerate()
            .flat_map(|(i, m)| {
                self.index
                    .learned
                    .get(&(ri, m.token))
                    .into_iter()
                    .flatten()
                    .map(move |&pid| (pid, i))
            })
            .collect();
        found.sort_unstable();
        let mut lonely: Vec<(u64, u32, Millis, String)> = Vec::new();
        for (pid, i) in found {
            let m = &lt.mentions[i];
            let Some(p) = self.clusters.get(&pid) else {
                continue;
            };
            let Some(first) = p.members.first() else {
                continue;
            };
            let alone = pid != cid
                && p.state == ClusterState::Pending
                && p.members.len() == 1
                && first.slot != slot
                && t - p.first_time <= window;
            if !alone || lonely.iter().any(|l| l.0 == pid) {
                continue;
            }
            let Some(a) = env.store.live_alert(first.slot, first.alert) else {
                continue;
            };
            let named_source = learned::hash_value(env.store.interner.resolve(a.source)) == m.token.1;
            let apart =
                !m.in_text && (ours_apart || self.learned.class_undershares(lcfg, p.anchor_class, entity));
            if a.open && a.incident().is_none() && named_source && !apart {
                lonely.push((pid, first.slot, p.first_time, m.phrase()));
            }
        }
        for (pid, member_slot, started, phrase) in lonely {
            let why = Explanation {
                compared_with: Some(joined_id.clone()),
                gap_ms: (t - started).max(0),
                evidence: vec![format!(
                    "absorbed: {joined_id} joined this incident {:.0} s after this alert \
                     started, and {phrase}, this alert's source",
                    (t - started) as f64 / 1000.0
                )],
                ..Explanation::new(env.c.recipes[ri as usize].name.clone(), "absorbed")
            };
            if !self.take_lonely(env, cid, pid, member_slot, t, why) {
                return;
            }
        }
    }

    /// Whether the alert's description names (in words) a source that alerts in a young
    /// incident or pending cluster of a learned recipe — one that started within the window
    /// and still accepts members: what lets an alert below the noise gate be placed.
    fn names_young_cluster(&self, env: &Env, slot: u32, t: Millis) -> bool {
        let lcfg = &env.c.cfg.correlation.learned;
        if !lcfg.named_entities || !env.c.recipes.iter().any(|r| r.kind == RecipeKind::Learned) {
            return false;
        }
        // no learned cluster to find (a quiet stream's every alert is below the gate): the
        // words need not be read
        if self.index.learned.is_empty() {
            return false;
        }
        let window = lcfg.window_secs as i64 * 1000;
        let Some(entity) = self.learned.key_id("entity") else {
            return false;
        };
        // the mentions in words only (the same as `mentions` gives): nothing else is needed
        let named = self.direct_names(env, env.store.alert(slot));
        named.iter().filter(|n| n.in_text).any(|n| {
            let token = (entity, n.hash);
            env.c
                .recipes
                .iter()
                .enumerate()
                .filter(|(_, r)| r.kind == RecipeKind::Learned)
                .flat_map(|(ri, _)| self.index.learned.get(&(ri as u16, token)).into_iter().flatten())
                .any(|pid| {
                    self.clusters.get(pid).is_some_and(|p| {
                        t - p.first_time <= window && self.accepting(env, p, t) && alerts_in(p, n.hash)
                    })
                })
        })
    }

    /// A raised alert's description changed (a later message of it, as a duplicate or with a
    /// new severity) and now names a source that alerts in another young incident or pending
    /// cluster of the learned recipe, one that the alert's own does not hold: what a first
    /// message left out ("Uplink interface to core down, LACP member lost", then "Uplink
    /// interface to rtr0459 changed state to down"). Had the alert been raised with that
    /// text, it would have joined there (`named_link`); so it does now: alone in its pending
    /// cluster it is taken into the other, and a cluster it has grown (its dependants naming
    /// it) is merged with the other. Only while both started within the window.
    /// `words`: the text changed in its words, not only its numbers — what an alert placed
    /// nowhere needs before its words are scanned again (most changed texts are counters).
    pub(crate) fn described_anew(&mut self, env: &mut Env, slot: u32, t: Millis, words: bool) {
        let lcfg = &env.c.cfg.correlation.learned;
        if !lcfg.named_entities {
            return;
        }
        let window = lcfg.window_secs as i64 * 1000;
        let a = env.store.alert(slot);
        if !a.open {
            return;
        }
        // on the hot path of chatty alerts: nothing allocated before this is known to matter
        if a.incident().is_none() && a.pending.is_empty() {
            if !words {
                return;
            }
            // placed nowhere when raised (its first words too dull, or naming nothing): had
            // it been raised with these words it would have been placed; so it is now
            if self.names_young_cluster(env, slot, t) {
                self.place(env, slot, t, false);
            }
            return;
        }
        let Some((home, ri)) = a
            .incident()
            .into_iter()
            .chain(a.pending.iter().copied())
            .find_map(|h| {
                let c = self.clusters.get(&h)?;
                (env.c.recipes[c.recipe as usize].kind == RecipeKind::Learned
                    && t - c.first_time <= window
                    && self.accepting(env, c, t))
                .then_some((h, c.recipe))
            })
        else {
            return;
        };
        let mentions: Vec<Mention> = self.mentions(env, a).into_iter().filter(|m| m.in_text).collect();
        let c = &self.clusters[&home];
        let mut found: Vec<(u64, usize)> = mentions
            .iter()
            .enumerate()
            .filter(|(_, m)| !alerts_in(c, m.token.1))
            .flat_map(|(i, m)| {
                self.index
                    .learned
                    .get(&(ri, m.token))
                    .into_iter()
                    .flatten()
                    .map(move |&pid| (pid, i))
            })
            .filter(|&(pid, i)| {
                pid != home
                    && self.clusters.get(&pid).is_some_and(|p| {
                        t - p.first_time <= window
                            && self.accepting(env, p, t)
                            && alerts_in(p, mentions[i].token.1)
                    })
            })
            .collect();
        found.sort_unstable();
        let Some(&(other, i)) = found.first() else {
            return;
        };
        let m = &mentions[i];
        let description = a.description.to_string();
        let alert_id = env.alert_id(a.id).to_string();
        let recipe = env.c.recipes[ri as usize].name.clone();
        let (other_first, other_anchor) = {
            let p = &self.clusters[&other];
            (p.first_time, p.anchor)
        };
        let source = env.store.interner.resolve(a.source).to_string();
        let name = m.name.clone();
        if c.state == ClusterState::Pending && c.members.len() == 1 {
            // found by its name from now on, as a member that joined on its own would be:
            // its dependants name it next
            let lt = self.learned_tokens(env, slot, t);
            let why = Explanation {
                compared_with: Some(env.alert_id(other_anchor).to_string()),
                gap_ms: (t - other_first).max(0),
                evidence: vec![format!(
                    "a later message of it names {name}, an entity of this incident: \"{description}\""
                )],
                ..Explanation::new(recipe, "learned")
            };
            if self.take_lonely(env, other, home, slot, t, why) {
                self.learn_member_entities(env, other, &lt);
            }
        } else {
            let reason = format!(
                "merged: a later message of {alert_id} ({source}) names {name}, which alerts in \
                 the other incident: \"{description}\"; the two are one failure"
            );
            self.merge_parts(
                env,
                home,
                t,
                vec![(other_first, other, reason)],
                "a later message of a member names a source of the other",
            );
        }
    }

    /// An alert joined `cid`; alerts that started before it within the window and are still
    /// alone in pending clusters join too when they are about its source: one on the same
    /// source (while sharing a source is evidence, or not yet known not to be, and no place
    /// of the two differs) — a cell's `cell_outage` twenty seconds before its link alert
    /// named the switch whose incident that alert joined; or one whose description named
    /// this alert's source before it had ever alerted ("Backhaul link to sw0107 lost" seconds
    /// before sw0107's own alerts). Either would have joined had it come after this alert.
    fn absorb_before(&mut self, env: &mut Env, cid: u64, slot: u32, t: Millis, lt: &AlertTokens) {
        let lcfg = &env.c.cfg.correlation.learned;
        let window = lcfg.window_secs as i64 * 1000;
        let (Some(entity), Some(source_key)) = (self.learned.key_id("entity"), self.learned.key_id("source"))
        else {
            return;
        };
        let Some(c) = self.clusters.get(&cid) else {
            return;
        };
        let ri = c.recipe;
        if env.c.recipes[ri as usize].kind != RecipeKind::Learned {
            return;
        }
        let a = env.store.alert(slot);
        let source = env.store.interner.resolve(a.source);
        let own = (entity, learned::hash_value(source));
        let joined_id = env.alert_id(a.id).to_string();
        let place = |key: u16| self.place_key(key);
        let mut lonely: Vec<(u64, u32, Millis, String)> = Vec::new();
        for &pid in self.index.learned.get(&(ri, own)).into_iter().flatten() {
            let Some(p) = self.clusters.get(&pid) else {
                continue;
            };
            let Some(first) = p.members.first() else {
                continue;
            };
            let gap = t - p.first_time;
            let alone = pid != cid
                && p.state == ClusterState::Pending
                && p.members.len() == 1
                && first.slot != slot
                && (0..=window).contains(&gap);
            if !alone {
                continue;
            }
            let Some(other) = env.store.live_alert(first.slot, first.alert) else {
                continue;
            };
            if !other.open || other.incident().is_some() {
                continue;
            }
            let gap_s = gap as f64 / 1000.0;
            let what = if &*first.source == source {
                let evidence = self
                    .learned
                    .shared_evidence(lcfg, &lt.ids, &p.anchor_tokens, gap)
                    .iter()
                    .any(|e| e.key == source_key)
                    || self.learned.undecided(lcfg, source_key, gap).is_some();
                if !evidence
                    || self.learned.class_undershares(lcfg, p.anchor_class, source_key)
                    || self
                        .learned
                        .conflict(lcfg, &lt.ids, &p.anchor_tokens, place)
                        .is_some()
                {
                    continue;
                }
                format!("absorbed: on the same source as {joined_id}, which joined this incident {gap_s:.0} s after this alert started")
            } else if p.anchor_mentions.binary_search(&own).is_ok()
                && description_words(&other.description).any(|w| w == source)
            {
                format!(
                    "absorbed: its description names {source}, whose alert {joined_id} joined this \
                     incident {gap_s:.0} s after this alert started"
                )
            } else {
                continue;
            };
            lonely.push((pid, first.slot, p.first_time, what));
        }
        // in cluster order, whatever the order of the index (rebuilt on restore)
        lonely.sort_unstable_by_key(|l| l.0);
        for (pid, member_slot, started, what) in lonely {
            let why = Explanation {
                compared_with: Some(joined_id.clone()),
                gap_ms: (t - started).max(0),
                evidence: vec![what],
                ..Explanation::new(env.c.recipes[ri as usize].name.clone(), "absorbed")
            };
            if !self.take_lonely(env, cid, pid, member_slot, t, why) {
                return;
            }
        }
        self.absorb_unplaced(env, cid, slot, t, lt, "joined this incident");
    }

    /// Alerts of the same source as the alert at `slot` (which `did` to `cid`: joined it,
    /// or seeded it) that were placed nowhere within the window before it — below the
    /// score that seeds a cluster, with nothing to join — join `cid`, once sharing a source
    /// is known as evidence and unless their check is set apart on it: a cell's
    /// `s1_link_failure`, too dull to start anything, before its `cell_outage` does.
    fn absorb_unplaced(
        &mut self,
        env: &mut Env,
        cid: u64,
        slot: u32,
        t: Millis,
        lt: &AlertTokens,
        did: &str,
    ) {
        let lcfg = &env.c.cfg.correlation.learned;
        let window = lcfg.window_secs as i64 * 1000;
        let Some(source_key) = self.learned.key_id("source") else {
            return;
        };
        let Some(ri) = self.clusters.get(&cid).map(|c| c.recipe) else {
            return;
        };
        if env.c.recipes[ri as usize].kind != RecipeKind::Learned {
            return;
        }
        let a = env.store.alert(slot);
        let own_name = env.store.interner.resolve(a.source);
        let own_source = learned::hash_value(own_name);
        let joined_id = env.alert_id(a.id).to_string();
        let place = |key: u16| self.place_key(key);
        let mut unplaced: Vec<(u32, u64, Millis, String)> = Vec::new();
        for u in self.learned.unplaced.iter().rev() {
            let gap = t - u.time;
            if gap > window {
                break;
            }
            if u.slot == slot || gap < 0 {
                continue;
            }
            let Some(other) = env.store.live_alert(u.slot, u.alert) else {
                continue;
            };
            if !other.open || other.incident().is_some() || !other.pending.is_empty() {
                continue;
            }
            let gap_s = gap as f64 / 1000.0;
            if u.source != own_source {
                // another source's alert whose words named this one before it alerted
                // ("Backhaul link to sw0517 lost", then sw0517's first alert): the
                // statement is the alert's own
                if description_words(&other.description).any(|w| w == own_name) {
                    unplaced.push((
                        u.slot,
                        u.alert,
                        u.time,
                        format!(
                            "absorbed: its description names {own_name}, whose alert {joined_id} \
                             {did} {gap_s:.0} s after this alert started"
                        ),
                    ));
                }
                continue;
            }
            // the source must be known as evidence: an alert too dull to seed is taken on
            // what the stream has shown, not on the benefit of the doubt a stream's first
            // minutes give (a scheduled job's alert on a host that then failed)
            let theirs = self.learned.lookup(&self.alert_tokens(env, other));
            let evidence = self
                .learned
                .shared_evidence(lcfg, &lt.ids, &theirs, gap)
                .iter()
                .any(|e| e.key == source_key);
            let class = learned::hash_value(env.store.interner.resolve(other.check)) | 1;
            // a check that shares its source with alerts near it less than alerts do
            // (chatter, a job on every host) is not taken along
            if !evidence
                || self.learned.class_undershares(lcfg, class, source_key)
                || self.learned.conflict(lcfg, &lt.ids, &theirs, place).is_some()
            {
                continue;
            }
            unplaced.push((
                u.slot,
                u.alert,
                u.time,
                format!("absorbed: on the same source as {joined_id}, which {did} {gap_s:.0} s after this alert started"),
            ));
        }
        // oldest first, as they came
        for (member_slot, alert, started, what) in unplaced.into_iter().rev() {
            if self.clusters.get(&cid).is_none_or(|c| !self.accepting(env, c, t)) {
                return;
            }
            // still placed nowhere (a join above may have changed that)
            let placed_since = env
                .store
                .live_alert(member_slot, alert)
                .is_none_or(|a| a.incident().is_some() || !a.pending.is_empty());
            self.learned.forget_unplaced(member_slot, alert);
            if placed_since {
                continue;
            }
            let why = Explanation {
                compared_with: Some(joined_id.clone()),
                gap_ms: (t - started).max(0),
                evidence: vec![what],
                ..Explanation::new(env.c.recipes[ri as usize].name.clone(), "absorbed")
            };
            self.join(env, cid, member_slot, t, why);
        }
    }

    /// Moves the lone member of pending cluster `pid` into `cid` with `why`: `pid` and the
    /// member's other pending clusters go (as when a pending cluster is absorbed
    /// downstream). `false` once `cid` no longer takes members; a `pid` already gone is
    /// skipped.
    fn take_lonely(
        &mut self,
        env: &mut Env,
        cid: u64,
        pid: u64,
        member_slot: u32,
        t: Millis,
        why: Explanation,
    ) -> bool {
        if self.clusters.get(&cid).is_none_or(|c| !self.accepting(env, c, t)) {
            return false;
        }
        if !self.clusters.contains_key(&pid) {
            return true;
        }
        self.dissolve(env, pid);
        for p in std::mem::take(&mut env.store.alert_mut(member_slot).pending) {
            self.dissolve(env, p);
        }
        self.join(env, cid, member_slot, t, why);
        true
    }

    /// A novel alert joined `cid` as part of a burst that is now beyond chance: the burst's
    /// earlier novel alerts that seeded apart (before the burst was significant) and are
    /// still alone in their pending clusters join it too, unless a place they do not share
    /// with the anchor vetoes it.
    fn absorb_burst(&mut self, env: &mut Env, cid: u64, slot: u32, t: Millis, weak: bool) {
        let lcfg = &env.c.cfg.correlation.learned;
        let window = lcfg.window_secs as i64 * 1000;
        let Some(c) = self.clusters.get(&cid) else {
            return;
        };
        let ri = c.recipe;
        let anchor_tokens = c.anchor_tokens.clone();
        let anchor_id = env.alert_id(c.anchor).to_string();
        let anchor_source = c.members.first().map_or(0, |m| learned::hash_value(&m.source));
        let Some(recent) = self.index.learned.get(&(ri, TIME_TOKEN)) else {
            return;
        };
        let place = |key: u16| self.place_key(key);
        // (cluster, its alert, when it started, the place a weak burst needs it to share)
        type Lonely = (u64, u32, Millis, Option<learned::Token>);
        let lonely: Vec<Lonely> = recent
            .iter()
            .rev()
            .take(TIME_CANDIDATES)
            .filter_map(|&pid| {
                let p = self.clusters.get(&pid)?;
                let m = p.members.first()?;
                let alone = pid != cid
                    && p.state == ClusterState::Pending
                    && p.members.len() == 1
                    && p.anchor_novel
                    && m.slot != slot
                    && t - p.first_time <= window;
                let live = env
                    .store
                    .live_alert(m.slot, m.alert)
                    .is_some_and(|a| a.open && a.incident().is_none());
                let vetoed = self
                    .learned
                    .conflict(lcfg, &p.anchor_tokens, &anchor_tokens, place)
                    .is_some()
                    || self
                        .learned
                        .edges
                        .unrelated(learned::hash_value(&m.source), anchor_source);
                let shared = if weak {
                    Some(self.shared_place(lcfg, &p.anchor_tokens, &anchor_tokens)?)
                } else {
                    None
                };
                (alone && live && !vetoed).then_some((pid, m.slot, p.first_time, shared))
            })
            .collect();
        for (pid, member_slot, started, shared) in lonely.into_iter().rev() {
            let words = self.burst_absorption(env, member_slot, t - started, false, shared);
            let why = Explanation {
                compared_with: Some(anchor_id.clone()),
                gap_ms: (t - started).max(0),
                evidence: vec![words],
                ..Explanation::new(env.c.recipes[ri as usize].name.clone(), "absorbed")
            };
            if !self.take_lonely(env, cid, pid, member_slot, t, why) {
                return;
            }
        }
        // the burst's alerts too dull to seed a cluster of their own, placed nowhere: the
        // burst counted them, and they are as much a part of it as the lone seeds above
        // (a failing database's caller whose `availability_drop` scores as noise in a
        // quiet stream, a second after the database's first alert)
        let Some(c) = self.clusters.get(&cid) else {
            return;
        };
        let anchor_tokens = c.anchor_tokens.clone();
        let lcfg = &env.c.cfg.correlation.learned;
        let place = |key: u16| self.place_key(key);
        let dull: Vec<(u32, u64, Millis, Option<learned::Token>)> = self
            .learned
            .unplaced
            .iter()
            .rev()
            .take_while(|u| t - u.time <= window)
            .filter(|u| u.novel && u.slot != slot && u.time <= t)
            .filter_map(|u| {
                let other = env.store.live_alert(u.slot, u.alert)?;
                if !other.open || other.incident().is_some() || !other.pending.is_empty() {
                    return None;
                }
                let theirs = self.learned.lookup(&self.alert_tokens(env, other));
                let vetoed = self
                    .learned
                    .conflict(lcfg, &theirs, &anchor_tokens, place)
                    .is_some()
                    || self.learned.edges.unrelated(u.source, anchor_source);
                if vetoed {
                    return None;
                }
                let shared = if weak {
                    Some(self.shared_place(lcfg, &theirs, &anchor_tokens)?)
                } else {
                    None
                };
                Some((u.slot, u.alert, u.time, shared))
            })
            .collect();
        for (member_slot, alert, started, shared) in dull.into_iter().rev() {
            if self.clusters.get(&cid).is_none_or(|c| !self.accepting(env, c, t)) {
                return;
            }
            self.learned.forget_unplaced(member_slot, alert);
            let words = self.burst_absorption(env, member_slot, t - started, true, shared);
            let why = Explanation {
                compared_with: Some(anchor_id.clone()),
                gap_ms: (t - started).max(0),
                evidence: vec![words],
                ..Explanation::new(env.c.recipes[ri as usize].name.clone(), "absorbed")
            };
            self.join(env, cid, member_slot, t, why);
        }
    }

    /// Why the alert at `slot`, which started `before` the burst it belonged to became
    /// beyond chance, is absorbed into its incident (`absorb_burst`): `dull`, it was too dull
    /// to start an incident itself; `shared`, the place a weak burst needs it to share.
    fn burst_absorption(
        &self,
        env: &Env,
        slot: u32,
        before: Millis,
        dull: bool,
        shared: Option<learned::Token>,
    ) -> String {
        let mut words = format!(
            "absorbed: started {:.0} s before the burst of alerts never seen before became \
             beyond chance, as part of it{}",
            before as f64 / 1000.0,
            if dull {
                " (too dull to start an incident of its own)"
            } else {
                ""
            }
        );
        if let Some((key, value)) = shared {
            let name = self.learned.key_name(key);
            let text = self.alert_tokens(env, env.store.alert(slot));
            let value = text
                .list
                .iter()
                .find(|(k, v)| k == name && learned::hash_value(v) == value)
                .map_or("", |(_, v)| v.as_str());
            words.push_str(&format!(
                "; chance could give a fair part of such a burst, and it shares {name} = \
                 {value} with the incident's first alert"
            ));
        }
        words
    }

    /// A novel alert joined `cid` as part of a burst that is now beyond chance: clusters the
    /// same burst grew on their own before it was significant (a scan's rules, each
    /// gathering its hosts on its rule id) are parts of it too. Each accepting cluster of the
    /// recipe seeded by a novel start within the window of this alert, holding more than its
    /// seed (a lone seed is absorbed by [`Self::absorb_burst`]), with a source that alerts in
    /// this one too and not set apart from this one's anchor by a place, is merged with it — an
    /// open incident survives a pending cluster, the older of two incidents the younger — and
    /// every moved member says why. Returns the cluster that holds the joined alert afterwards.
    fn merge_burst(&mut self, env: &mut Env, cid: u64, t: Millis, lt: &AlertTokens) -> u64 {
        let Some(b) = lt.burst else {
            return cid;
        };
        let lcfg = &env.c.cfg.correlation.learned;
        let window = lcfg.window_secs as i64 * 1000;
        let Some(c) = self.clusters.get(&cid) else {
            return cid;
        };
        let ri = c.recipe;
        let Some(recent) = self.index.learned.get(&(ri, TIME_TOKEN)) else {
            return cid;
        };
        let place = |key: u16| self.burst_place_key(lcfg, key);
        let merges: Vec<(Millis, u64, String)> = recent
            .iter()
            .rev()
            .take(TIME_CANDIDATES)
            .filter_map(|&pid| {
                let p = self.clusters.get(&pid)?;
                // one episode: a source alerting in both (a scanned host that fired another
                // rule in the other cluster), or a check new to the estate starting in both
                // (a scan's rule on hosts the two did not share); bursts of unrelated
                // failures share neither
                let common = match p.sources.iter().find(|s| c.sources.contains(s)) {
                    Some(s) => format!("{s} alerted in both"),
                    None => {
                        let (check, (within, expected)) =
                            p.members.iter().map(|m| &m.check).find_map(|k| {
                                c.members.iter().any(|n| &n.check == k).then_some(())?;
                                let class = learned::hash_value(k) | 1;
                                Some((k, self.learned.costarts.check_burst(lcfg, class, t)?))
                            })?;
                        format!(
                            "`{check}` started in both, {within:.0} times within {} s where its \
                             rate here gives {expected:.2}",
                            lcfg.window_secs
                        )
                    }
                };
                let part = pid != cid
                    && p.anchor_novel
                    && p.members.len() > 1
                    && t - p.first_time <= window
                    && self.accepting(env, p, t);
                let vetoed = || {
                    self.learned
                        .conflict(lcfg, &p.anchor_tokens, &c.anchor_tokens, place)
                        .is_some()
                        || self.anchors_unrelated(p, c)
                };
                (part && !vetoed()).then(|| {
                    (
                        p.first_time,
                        pid,
                        format!(
                            "merged: the two incidents began {:.0} s apart, among the same \
                             burst of alerts never seen before ({} within {} s; here such alerts \
                             start {:.1} times an hour, so chance gives {:.2} in a window, \
                             probability ≤ {:.0e}), and {common}: one episode",
                            (p.first_time - c.first_time).abs() as f64 / 1000.0,
                            b.others as u64 + 1,
                            lcfg.window_secs,
                            b.per_hour,
                            b.expected,
                            b.chance
                        ),
                    )
                })
            })
            .collect();
        self.merge_parts(
            env,
            cid,
            t,
            merges,
            "one episode: a burst of new alerts on a shared source",
        )
    }

    /// Merges `cid` with each of `merges` (first start, cluster, the reason each moved
    /// member gives), oldest first: an open incident survives a pending cluster, the older of
    /// two incidents the younger; `what` names the kind of merge in the incidents'
    /// timelines. Returns the surviving cluster.
    fn merge_parts(
        &mut self,
        env: &mut Env,
        cid: u64,
        t: Millis,
        mut merges: Vec<(Millis, u64, String)>,
        what: &str,
    ) -> u64 {
        merges.sort_by_key(|m| (m.0, m.1));
        let mut into = cid;
        for (_, other, reason) in merges {
            let (Some(a), Some(b)) = (self.clusters.get(&into), self.clusters.get(&other)) else {
                continue;
            };
            let open = |c: &Cluster| c.state != ClusterState::Pending;
            let (to, from) = match (open(a), open(b)) {
                (false, true) => (other, into),
                (true, true) if (b.first_time, other) < (a.first_time, into) => (other, into),
                _ => (into, other),
            };
            // `into` merged away (or dissolved trying): the survivor takes its place
            if self.merge_cluster(env, to, from, t, reason, what) || from == into {
                into = to;
            }
        }
        into
    }

    /// An alert joined `cid` across a finer place because places of a shared coarser one
    /// are starting together beyond chance (`place_burst`, the join's `burst`). The clusters
    /// the burst's earlier places formed on their own, before it was significant (a
    /// region's first two sites, each its own incident), are parts of the same failure:
    /// each accepting cluster of the recipe that started within the window of this one and
    /// whose anchor holds the burst's coarser place, as this one's anchor must (what differs
    /// between them is then a finer place, or a kind: a core router holds no site at all),
    /// is merged with it — an open incident survives a pending
    /// cluster, the older of two incidents survives the younger — and every moved member
    /// says why.
    fn merge_place_burst(&mut self, env: &mut Env, cid: u64, t: Millis, lt: &AlertTokens, burst: BurstJoin) {
        let lcfg = &env.c.cfg.correlation.learned;
        let window = lcfg.window_secs as i64 * 1000;
        let Some(c) = self.clusters.get(&cid) else {
            return;
        };
        let ri = c.recipe;
        let first = c.first_time;
        let BurstJoin { within, finer } = burst;
        // the reference the burst was judged against (the anchor, the lead or a place of
        // the incident) holds the coarser place: the joined cluster is in it
        let holds = |tokens: &[learned::Token]| tokens.binary_search(&within).is_ok();
        if !holds(&c.anchor_tokens)
            && !c.lead.as_ref().is_some_and(|l| holds(&l.tokens))
            && !c.merged.iter().any(|m| holds(&m.tokens))
        {
            return;
        }
        // the burst the join passed (other places than the alert's own), for the words
        let own = lt.ids.iter().find(|x| x.0 == finer).map_or(0, |x| x.1);
        let Some(b) = self.learned.place_burst(lcfg, within, finer, own, t) else {
            return;
        };
        let mut merges: Vec<(Millis, u64, String)> = Vec::new();
        for &o in self.index.learned.get(&(ri, within)).into_iter().flatten() {
            let oc = &self.clusters[&o];
            let gap = (oc.first_time - first).abs();
            if o == cid
                || gap > window
                || !self.accepting(env, oc, t)
                || oc.anchor_tokens.binary_search(&within).is_err()
            {
                continue;
            }
            let (coarse, finer) = (self.learned.key_name(within.0), self.learned.key_name(finer));
            let value = shared_text(lt, coarse, within.1);
            merges.push((
                oc.first_time,
                o,
                format!(
                    "merged: its incident began in another {finer} of {coarse} = {value} within \
                     {:.0} s of this one, while {:.0} other {finer} value(s) of it began \
                     alerting in the window; {finer} values begin alerting {:.1} times an hour \
                     here, so chance gives {:.2} (probability ≤ {:.0e}): one failure across \
                     {finer}s",
                    gap as f64 / 1000.0,
                    b.others,
                    b.per_hour,
                    b.expected,
                    b.chance
                ),
            ));
        }
        self.merge_parts(env, cid, t, merges, "one failure across places");
    }

    /// An alert joined `cid` across a finer place on a place burst (`burst`): its place is
    /// now part of the failure, so its tokens become one of the cluster's place references
    /// ([`Cluster::merged`], like the anchor of a merged cluster) — the place's later alerts
    /// (a site's cells after its switch) are compared with it and join here instead of
    /// opening an incident of their own. Only an informative alert, only the first of each
    /// place (a place the anchor, the lead or a reference already holds adds nothing), at
    /// most [`MAX_MERGED_ANCHORS`].
    fn take_place(
        &mut self,
        env: &mut Env,
        cid: u64,
        slot: u32,
        t: Millis,
        lt: &AlertTokens,
        burst: BurstJoin,
    ) {
        let informative = self.informative(env, env.store.alert(slot));
        let Some(c) = self.clusters.get(&cid) else {
            return;
        };
        let Some(place) = lt.ids.iter().find(|x| x.0 == burst.finer).copied() else {
            return;
        };
        // (not the lead's place: the lead moves on with the next root cause)
        let holds = |tokens: &[learned::Token]| tokens.binary_search(&place).is_ok();
        if !informative
            || lt.class == 0
            || !c.indexed
            || c.merged.len() >= MAX_MERGED_ANCHORS
            || holds(&c.anchor_tokens)
            || c.merged.iter().any(|m| holds(&m.tokens))
        {
            return;
        }
        // the alert's own membership: absorptions after its join may have added others
        let id = env.store.alert(slot).id;
        let Some(m) = c.members.iter().rev().find(|m| m.slot == slot && m.alert == id) else {
            return;
        };
        let reference = Lead::of(m, lt, t, Some(place));
        self.unindex_cluster(env, cid);
        self.clusters
            .get_mut(&cid)
            .expect("cluster")
            .merged
            .push(reference);
        self.index_cluster(env, cid);
    }

    /// A member joined `cid` in a place the burst brought in ([`Cluster::merged`] with a
    /// `place`): it becomes that place's reference, so the place's alerts keep finding the
    /// incident as long as they keep coming, as the latest member does for the incident.
    fn refresh_place(&mut self, env: &mut Env, cid: u64, slot: u32, t: Millis, lt: &AlertTokens) {
        let Some(c) = self.clusters.get(&cid) else {
            return;
        };
        if c.merged.is_empty() || lt.class == 0 || !c.indexed {
            return;
        }
        let Some(i) = c
            .merged
            .iter()
            .position(|m| m.place.is_some_and(|p| lt.ids.binary_search(&p).is_ok()) && m.start <= t)
        else {
            return;
        };
        let id = env.store.alert(slot).id;
        let Some(m) = c.members.iter().rev().find(|m| m.slot == slot && m.alert == id) else {
            return;
        };
        if c.merged[i].alert == m.alert || !self.informative(env, env.store.alert(slot)) {
            return;
        }
        let reference = Lead::of(m, lt, t, c.merged[i].place);
        self.unindex_cluster(env, cid);
        self.clusters.get_mut(&cid).expect("cluster").merged[i] = reference;
        self.index_cluster(env, cid);
    }

    /// A recent member (the last [`OWN_MEMBERS`]) on the alert's own source, when the alert
    /// starts within half the window of the cluster's latest member, the stream has not yet
    /// shown whether sharing a source is evidence, and no informative place of the two
    /// differs (a shared poller's alerts are about many places): that member, the gap and
    /// the close pairs of `source` so far.
    fn same_source_member(
        &self,
        env: &Env,
        c: &Cluster,
        a: &Alert,
        lt: &AlertTokens,
        t: Millis,
    ) -> Option<(u64, Millis, f64)> {
        let lcfg = &env.c.cfg.correlation.learned;
        let gap = t - c.last_time;
        if gap < 0 || gap > lcfg.window_secs as i64 * 500 {
            return None;
        }
        let pairs = self
            .learned
            .undecided(lcfg, self.learned.key_id("source")?, gap)?;
        let source = env.store.interner.resolve(a.source);
        let m = c
            .members
            .iter()
            .rev()
            .take(OWN_MEMBERS)
            .find(|m| &*m.source == source && m.alert != a.id)?;
        // a source that is a shared poller rather than a device: its alerts' places differ
        if self.places_differ(env, lt, env.store.live_alert(m.slot, m.alert)?) {
            return None;
        }
        Some((m.alert, gap, pairs))
    }

    /// Whether an informative place of the alert being placed (tokens `lt`) and of `other`
    /// differs: two alerts of one source about two places (a shared poller's).
    fn places_differ(&self, env: &Env, lt: &AlertTokens, other: &Alert) -> bool {
        let lcfg = &env.c.cfg.correlation.learned;
        let theirs = self.learned.lookup(&self.alert_tokens(env, other));
        let place = |key: u16| self.place_key(key);
        self.learned.conflict(lcfg, &lt.ids, &theirs, place).is_some()
    }

    /// A start never seen before on a source soon after the cluster's latest such start on
    /// the same source (`Cluster::novel_starts`), when new alerts start on one source so
    /// rarely here that chance gives another within the gap far less than once: an attack
    /// working through one host's services, rule after rule, a minute or two apart. Not
    /// while the stream is too young for a rate, and never across a place the two differ on.
    fn source_chain(
        &self,
        env: &Env,
        c: &Cluster,
        a: &Alert,
        lt: &AlertTokens,
        t: Millis,
    ) -> Option<SourceChain> {
        if !lt.novel || lt.class == 0 {
            return None;
        }
        let lcfg = &env.c.cfg.correlation.learned;
        let window = lcfg.window_secs as i64 * 1000;
        let source = env.store.interner.resolve(a.source);
        let previous = c
            .novel_starts
            .iter()
            .find(|n| *n.source == *source && n.alert != a.id)?;
        let gap = t - previous.at;
        if gap <= 0 || gap > SOURCE_CHAIN_WINDOWS * window {
            return None;
        }
        // a check that starts here often (a routine job, a chatter on every host) is new
        // on a host only because its turn came: a rare check new to a host is what an
        // attack brings
        if self.learned.costarts.class_per_window(lcfg, lt.class)? > cooccur::RARE_CHECK {
            return None;
        }
        let per_window = self.learned.costarts.novel_per_source(lcfg)?;
        let expected = per_window * gap as f64 / window as f64;
        if expected > SOURCE_CHAIN_CHANCE {
            return None;
        }
        let m = c.members.iter().rev().find(|m| m.alert == previous.alert)?;
        if self.places_differ(env, lt, env.store.live_alert(m.slot, m.alert)?) {
            return None;
        }
        Some(SourceChain {
            previous: previous.alert,
            gap,
            expected,
            per_hour: per_window * 3_600_000.0 / window as f64,
        })
    }

    /// A start never seen before on its source joined learned cluster `cid`: the source's
    /// earlier such starts that joined nothing (`LearnedStats::lone_novel`: they seeded a
    /// cluster that lapsed, or were placed nowhere) join too, newest first, while each is
    /// within the chain's reach of the next (as in [`Self::source_chain`]), its check is
    /// rare here, it is still firing (a repeat within the window) and no place of the two
    /// differs: a scan's first rules on a host, a minute or two apart, before anything on
    /// the host joined up.
    fn take_lead_in(&mut self, env: &mut Env, cid: u64, slot: u32, t: Millis, lt: &AlertTokens) {
        let lcfg = &env.c.cfg.correlation.learned;
        let window = lcfg.window_secs as i64 * 1000;
        let Some(c) = self.clusters.get(&cid) else {
            return;
        };
        if !lt.novel || env.c.recipes[c.recipe as usize].kind != RecipeKind::Learned {
            return;
        }
        let Some(per_window) = self.learned.costarts.novel_per_source(lcfg) else {
            return;
        };
        let a = env.store.alert(slot);
        let source = learned::hash_value(env.store.interner.resolve(a.source));
        let joined_id = env.alert_id(a.id).to_string();
        let mut next = t;
        let mut taken: Vec<(u32, u64, Millis, String)> = Vec::new();
        for u in self.learned.lone_novel.iter().rev() {
            if u.source != source || (u.slot, u.alert) == (slot, a.id) {
                continue;
            }
            let gap = next - u.time;
            if gap < 0 {
                continue;
            }
            if gap > SOURCE_CHAIN_WINDOWS * window
                || per_window * gap as f64 / window as f64 > SOURCE_CHAIN_CHANCE
            {
                break;
            }
            let Some(other) = env.store.live_alert(u.slot, u.alert) else {
                continue;
            };
            let alone = other.pending.iter().all(|p| {
                self.clusters
                    .get(p)
                    .is_none_or(|c| c.state == ClusterState::Pending && c.members.len() == 1)
            });
            let class = learned::hash_value(env.store.interner.resolve(other.check)) | 1;
            if !other.open
                || other.incident().is_some()
                || !alone
                || other.last_time < t - window
                || self
                    .learned
                    .costarts
                    .class_per_window(lcfg, class)
                    .is_none_or(|r| r > cooccur::RARE_CHECK)
            {
                continue;
            }
            if self.places_differ(env, lt, other) {
                continue;
            }
            taken.push((
                u.slot,
                u.alert,
                u.time,
                format!(
                    "absorbed: never seen before on its source, {:.0} s before {joined_id} there \
                     (which joined this incident), and still firing ({:.0} s ago): one of a chain \
                     of such starts on the source, each within {:.0} s of the next; they start \
                     on one source {:.2} times an hour here",
                    (t - u.time) as f64 / 1000.0,
                    (t - other.last_time).max(0) as f64 / 1000.0,
                    gap as f64 / 1000.0,
                    per_window * 3_600_000.0 / window as f64
                ),
            ));
            next = u.time;
        }
        // oldest first, as they came
        for (member_slot, alert, started, what) in taken.into_iter().rev() {
            if self.clusters.get(&cid).is_none_or(|c| !self.accepting(env, c, t)) {
                return;
            }
            self.learned
                .lone_novel
                .retain(|x| (x.slot, x.alert) != (member_slot, alert));
            for p in std::mem::take(&mut env.store.alert_mut(member_slot).pending) {
                self.dissolve(env, p);
            }
            let why = Explanation {
                compared_with: Some(joined_id.clone()),
                gap_ms: (t - started).max(0),
                evidence: vec![what],
                ..Explanation::new(
                    env.c.recipes[self.clusters[&cid].recipe as usize].name.clone(),
                    "absorbed",
                )
            };
            self.join(env, cid, member_slot, t, why);
        }
    }

    /// A member joined a learned cluster: it is the cluster's frontier, and when it became
    /// the root cause its lead, compared with later alerts too (see [`Cluster::lead`]).
    fn take_lead(&mut self, env: &mut Env, cid: u64, slot: u32, t: Millis, lt: &AlertTokens) {
        let informative = self.informative(env, env.store.alert(slot));
        let Some(c) = self.clusters.get_mut(&cid) else {
            return;
        };
        if env.c.recipes[c.recipe as usize].kind == RecipeKind::Learned
            && informative
            && lt.class != 0
            && !lt.ids.is_empty()
        {
            let m = c.members.last().expect("just joined");
            c.frontier = Some(Lead::of(m, lt, t, None));
        }
        let root = &c.members[c.root];
        if env.c.recipes[c.recipe as usize].kind != RecipeKind::Learned
            || c.root == 0
            || root.slot != slot
            || root.alert != env.store.alert(slot).id
            || lt.ids.is_empty()
            || !c.indexed
        {
            return;
        }
        let lead = Lead::of(root, lt, t, None);
        self.unindex_cluster(env, cid);
        self.clusters.get_mut(&cid).expect("cluster").lead = Some(lead);
        self.index_cluster(env, cid);
    }

    /// A member joined a learned cluster: the entities it names link later alerts to it.
    pub(super) fn learn_member_entities(&mut self, env: &mut Env, cid: u64, lt: &AlertTokens) {
        let Some(entity) = self.learned.key_id("entity") else {
            return;
        };
        let Some(c) = self.clusters.get(&cid) else {
            return;
        };
        if env.c.recipes[c.recipe as usize].kind != RecipeKind::Learned || !c.indexed {
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
        self.unindex_cluster(env, cid);
        let c = self.clusters.get_mut(&cid).expect("cluster");
        for t in new {
            if c.member_entities.len() < MAX_MEMBER_ENTITIES {
                if let Err(i) = c.member_entities.binary_search(&t) {
                    c.member_entities.insert(i, t);
                }
            }
        }
        self.index_cluster(env, cid);
    }

    /// The check class of an alert below the noise gate, when a learned recipe takes it and
    /// classes are learned (else it is simply not correlated).
    fn quiet_class(&self, env: &Env, slot: u32) -> Option<u64> {
        let lcfg = &env.c.cfg.correlation.learned;
        let a = env.store.alert(slot);
        let takes = env
            .c
            .recipes
            .iter()
            .any(|r| r.kind == RecipeKind::Learned && self.recipe_accepts(env, r, a));
        (takes && lcfg.cooccurrence).then(|| learned::hash_value(env.store.interner.resolve(a.check)) | 1)
    }

    /// An alert's source and label token ids: what [`learned::LearnedStats::observe_quiet`]
    /// and `class_belongs` read, no more (most alerts below the noise gate are routine
    /// chatter, and there are many).
    fn quiet_tokens(&mut self, env: &Env, slot: u32) -> Vec<learned::Token> {
        let lcfg = &env.c.cfg.correlation.learned;
        let a = env.store.alert(slot);
        // its labels (all `class_belongs` reads) and its source (pairs on one source are
        // not counted), interned one by one in the order `intern` would take them (no
        // strings made: every alert below the noise gate comes here)
        let i = &env.store.interner;
        let own = i.resolve(a.source);
        let naming: Vec<Box<str>> = self.labels_naming_others(env, a).map(Into::into).collect();
        let mut ids = Vec::with_capacity(a.labels.len() + 1 + naming.len());
        self.learned.intern_one(lcfg, "source", own, &mut ids);
        let mut key = String::with_capacity(32);
        for (k, v) in a.labels.iter() {
            key.clear();
            key.push_str("labels.");
            key.push_str(i.resolve(*k));
            self.learned.intern_one(lcfg, &key, i.resolve(*v), &mut ids);
        }
        for k in &naming {
            self.learned.intern_one(lcfg, k, own, &mut ids);
        }
        ids.sort_unstable();
        ids.dedup();
        let source = self.learned.key_id("source");
        ids.retain(|t| Some(t.0) == source || self.group_label(t.0));
        ids
    }

    /// The alert's learned tokens, when a learned recipe takes it (else empty).
    pub(super) fn learned_tokens(&mut self, env: &mut Env, slot: u32, t: Millis) -> AlertTokens {
        let a = env.store.alert(slot);
        let takes = env
            .c
            .recipes
            .iter()
            .any(|r| r.kind == RecipeKind::Learned && self.recipe_accepts(env, r, a));
        if !takes {
            return AlertTokens::default();
        }
        let text = self.alert_tokens(env, a);
        let lcfg = &env.c.cfg.correlation.learned;
        let naming: Vec<u16> = (self.labels_naming_others(env, a))
            .filter_map(|k| self.learned.key_id(k))
            .collect();
        for k in naming {
            self.learned.note_source_named(k);
        }
        let ids = self.learned.intern(lcfg, &text);
        let (mut class, mut seen_key, mut novel, mut burst) = (0, 0, false, None);
        if lcfg.cooccurrence {
            let i = &env.store.interner;
            let check = i.resolve(a.check);
            // never 0: 0 means "no class"
            class = learned::hash_value(check) | 1;
            seen_key = learned::hash_pair(check, i.resolve(a.source));
            novel = self.learned.costarts.is_novel(seen_key);
            if novel {
                burst = self.learned.costarts.burst(lcfg, t);
            }
        }
        let (mentions, names) = if lcfg.named_entities {
            (self.mentions(env, a), self.names(env, a))
        } else {
            (Vec::new(), Vec::new())
        };
        AlertTokens {
            text,
            ids,
            observed: true,
            class,
            seen_key,
            novel,
            burst,
            mentions,
            names,
        }
    }

    /// The learned tokens of a cluster's live members (sorted, one run per member holding
    /// a value) and how many members they are: what the cluster itself adds to the counts
    /// of its values. At most [`OWN_MEMBERS`] members are looked at: this is for the first
    /// minutes of a stream, when clusters are small.
    fn member_tokens(&self, env: &Env, c: &Cluster) -> (Vec<learned::Token>, usize) {
        let mut own = Vec::new();
        let mut n = 0;
        for m in c.members.iter().take(OWN_MEMBERS) {
            if let Some(a) = env.store.live_alert(m.slot, m.alert) {
                own.extend(self.learned.lookup(&self.alert_tokens(env, a)));
                n += 1;
            }
        }
        own.sort_unstable();
        (own, n)
    }

    /// Every label value and the service of an alert as `entity` tokens, known sources or
    /// not: what a cluster's anchor names, so that an alert on one of them later (a node
    /// that had never alerted before its pods did) is linked to it by its source.
    fn names(&self, env: &Env, a: &Alert) -> Vec<learned::Token> {
        let Some(entity) = self.learned.key_id("entity") else {
            return Vec::new();
        };
        let i = &env.store.interner;
        let mut out: Vec<learned::Token> = a
            .labels
            .iter()
            .map(|(_, v)| *v)
            .chain(a.service)
            .filter(|v| *v != a.source)
            .map(|v| (entity, learned::hash_value(i.resolve(v))))
            .take(16)
            .collect();
        let own = i.resolve(a.source);
        out.extend(
            description_words(&a.description)
                .filter(|w| *w != own && looks_like_a_name(w))
                .take(NAMES_IN_TEXT)
                .map(|w| (entity, learned::hash_value(w))),
        );
        out.sort_unstable();
        out.dedup();
        out
    }

    /// What an alert names itself, as [`Self::mentions`] takes it (at most 8): its label
    /// values and service that are known sources, then the words of its description that
    /// are (a word a label named too makes that one a naming in words). Nothing is
    /// allocated but the list: the noise gate asks this of every alert below it.
    fn direct_names<'a>(&self, env: &'a Env, a: &'a Alert) -> Vec<DirectName<'a>> {
        let i = &env.store.interner;
        let own = i.resolve(a.source);
        let mut out: Vec<DirectName<'a>> = Vec::new();
        let named = a
            .labels
            .iter()
            .map(|(k, v)| (Some(i.resolve(*k)), i.resolve(*v)))
            .chain(a.service.map(|s| (None, i.resolve(s))));
        for (via, v) in named {
            if v.len() < 3 || v == own || v.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            let h = learned::hash_value(v);
            if self.learned.costarts.is_source(h) && !out.iter().any(|m| m.hash == h) && out.len() < 8 {
                out.push(DirectName {
                    hash: h,
                    name: v,
                    via,
                    in_text: false,
                });
            }
        }
        for w in description_words(&a.description) {
            let h = learned::hash_value(w);
            if out.len() == 8 {
                break;
            }
            // named by a label too: the description's naming is the stronger claim (a
            // link in words is lineage, a label's is belonging), so it is the one kept
            if let Some(m) = out.iter_mut().find(|m| m.hash == h && !m.in_text) {
                m.name = w;
                m.via = None;
                m.in_text = true;
                continue;
            }
            if w != own && self.learned.costarts.is_source(h) && !out.iter().any(|m| m.hash == h) {
                out.push(DirectName {
                    hash: h,
                    name: w,
                    via: None,
                    in_text: true,
                });
                if out.len() == 8 {
                    break;
                }
            }
        }
        out
    }

    /// The sources alerts started on recently that an alert names, each with the phrase
    /// that says where: its labels' values and its service (a pod's `node = node-3-7`,
    /// `service = cart-6`), then words of its description. Not its own source; at most 8.
    /// A label naming a place or a kind (`cluster = k8s-6`, `env = prod`) is no source and
    /// links nothing.
    fn mentions(&self, env: &Env, a: &Alert) -> Vec<Mention> {
        let Some(entity) = self.learned.key_id("entity") else {
            return Vec::new();
        };
        let own = env.store.interner.resolve(a.source);
        let mut out: Vec<Mention> = self
            .direct_names(env, a)
            .into_iter()
            .map(|n| Mention {
                token: (entity, n.hash),
                name: n.name.into(),
                via: match n.via {
                    Some(key) => format!("labels.{key}").into(),
                    None if n.in_text => "description".into(),
                    None => "service".into(),
                },
                in_text: n.in_text,
                learned: false,
            })
            .collect();
        // the upstream its source's earlier alerts named in words (the learned topology),
        // when this alert names nothing itself; else the upstream of what its words name,
        // one hop further (a cell names its switch, whose alerts named the router that is
        // failing: the switch itself may not alert)
        // (the source whose earlier alerts named it: "" for its own)
        let from: Vec<(u64, Box<str>)> = if out.is_empty() {
            vec![(learned::hash_value(own), "".into())]
        } else {
            out.iter()
                .filter(|m| m.in_text)
                .map(|m| (m.token.1, m.name.clone()))
                .collect()
        };
        for (f, via) in from {
            for (h, name) in self.learned.edges.named_upstream(f, LEARNED_MENTIONS) {
                if out.len() >= 8 || h == learned::hash_value(own) || out.iter().any(|m| m.token.1 == h) {
                    continue;
                }
                out.push(Mention {
                    token: (entity, h),
                    name: name.into(),
                    via: via.clone(),
                    in_text: false,
                    learned: true,
                });
            }
        }
        out.sort_by_key(|m| m.token);
        out
    }
}

/// A source an alert names itself ([`Correlator::direct_names`]).
struct DirectName<'a> {
    /// The name's hash (an `entity` token's value).
    hash: u64,
    name: &'a str,
    /// The label key that names it; `None` for the service or the description.
    via: Option<&'a str>,
    /// Named in the description's words.
    in_text: bool,
}

/// Upstream sources of the learned topology an alert that names nothing itself is linked
/// to: the ones its source's descriptions named most.
const LEARNED_MENTIONS: usize = 2;

/// Whether a source whose name hashes to `name` alerts in cluster `c` (one of its members).
fn alerts_in(c: &Cluster, name: u64) -> bool {
    c.members.iter().any(|m| learned::hash_value(&m.source) == name)
}

/// Words of a description that could name something (64 at most): split on white space
/// and punctuation that never sits inside a name, trailing sentence marks cut; at least 3
/// bytes, not a number.
pub(super) fn description_words(description: &str) -> impl Iterator<Item = &str> {
    description
        .split(|c: char| c.is_whitespace() || ",;()[]{}\"'<>=|".contains(c))
        .map(|w| w.trim_end_matches(['.', ':', '!', '?']))
        .filter(|w| w.len() >= 3 && w.len() <= 253 && !w.bytes().all(|b| b.is_ascii_digit()))
        .take(64)
}

/// Description words an anchor keeps as names though no alert has come from them yet, at
/// most (the words that name known sources are mentions; these wait for their source's
/// first alert).
const NAMES_IN_TEXT: usize = 4;

/// Whether a description word is shaped like a host's or a device's name rather than a
/// word of prose: letters and digits together (`sw0107`, `cr2.fra`, `Te0/1`), or a dotted
/// name (`db.prod.example`, `10.4.0.7`). Prose words and plain numbers are not.
pub(super) fn looks_like_a_name(w: &str) -> bool {
    let letters = w.bytes().any(|b| b.is_ascii_alphabetic());
    let digits = w.bytes().any(|b| b.is_ascii_digit());
    if !letters {
        // of digits and dots only an IPv4 address names anything (`12.34`, `1.2.3` do not)
        let parts: Vec<&str> = w.split('.').collect();
        return parts.len() == 4
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()));
    }
    // a quantity and its unit (`500ms`, `30s`, `12GB`, `1.5Gbps`) is no name
    let unit = w.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.');
    if unit.len() < w.len() && unit.len() <= 4 && unit.bytes().all(|b| b.is_ascii_alphabetic()) {
        return false;
    }
    let dotted = w.len() >= 5 && w.trim_matches('.').contains('.');
    digits || dotted
}

/// The text of the alert's value of key `name` whose hash is `value` (the one it shares):
/// a key may hold several values of an alert (`entity`: its source, its service, a site).
fn shared_text<'a>(lt: &'a AlertTokens, name: &str, value: u64) -> &'a str {
    lt.text
        .list
        .iter()
        .find(|(k, v)| k == name && learned::hash_value(v) == value)
        .map_or("", |(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_shaped_like_names_are_told_from_prose() {
        let names: Vec<&str> = description_words(
            "Backhaul link to sw0107 lost (peer cr2.fra, 10.4.0.7), 12% of calls to db.prod.example failing: read-only",
        )
        .filter(|w| looks_like_a_name(w))
        .collect();
        assert_eq!(names, ["sw0107", "cr2.fra", "10.4.0.7", "db.prod.example"]);
        for prose in [
            "link",
            "lost",
            "12%",
            "2026",
            "e.g",
            "...",
            "read-only",
            "CrashLoopBackOff",
            "12.34",
            "97.5%",
            "1.2.3",
            "500ms",
            "30s",
            "12GB",
            "1.5Gbps",
        ] {
            assert!(!looks_like_a_name(prose), "{prose}");
        }
    }
}
