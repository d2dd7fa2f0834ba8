//! correlate::clusters: the candidate indexes of the clusters that accept members.

use super::*;

impl Correlator {
    pub(super) fn accepting(&self, env: &Env, c: &Cluster, t: Millis) -> bool {
        c.indexed
            && matches!(
                c.state,
                ClusterState::Pending | ClusterState::Open | ClusterState::Acknowledged
            )
            && t <= c.window_end
            && c.members.len() < env.c.cfg.correlation.max_incident_alerts
    }

    /// Past its window, an incident whose alerts keep firing still takes an alert on a
    /// source it holds (`Correlator::member_fired`).
    pub(super) fn kept_open_for(&self, env: &Env, c: &Cluster, a: &Alert, t: Millis) -> bool {
        c.indexed
            && matches!(c.state, ClusterState::Open | ClusterState::Acknowledged)
            && c.members.len() < env.c.cfg.correlation.max_incident_alerts
            && {
                let source = env.store.interner.resolve(a.source);
                c.firing.iter().any(|f| *f.source == *source && t <= f.until)
            }
    }

    pub(crate) fn index_cluster(&mut self, env: &Env, id: u64) {
        let c = &self.clusters[&id];
        let ri = c.recipe;
        let r = &env.c.recipes[ri as usize];
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
                self.clusters.get_mut(&id).expect("cluster").indexed_entities = ents;
            }
            RecipeKind::Learned => {
                // kept in id order (ids grow with time): the last clusters of a token are the
                // youngest whether a cluster was re-indexed (a new lead, a new place) or the
                // index was rebuilt from a snapshot — the same candidates either way
                for t in index_tokens(c) {
                    let v = self.index.learned.entry((ri, t)).or_default();
                    let at = v.partition_point(|&x| x < id);
                    if v.get(at) != Some(&id) {
                        v.insert(at, id);
                    }
                }
            }
        }
        self.clusters.get_mut(&id).expect("cluster").indexed = true;
    }

    pub(crate) fn unindex_cluster(&mut self, env: &mut Env, id: u64) {
        let Some(c) = self.clusters.get_mut(&id) else {
            return;
        };
        if !c.indexed {
            return;
        }
        c.indexed = false;
        let ri = c.recipe;
        let ents = std::mem::take(&mut c.indexed_entities);
        let key = c.key;
        let tokens = if env.c.recipes[ri as usize].kind == RecipeKind::Learned {
            index_tokens(c)
        } else {
            Vec::new()
        };
        let r = &env.c.recipes[ri as usize];
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
                        // kept in id order (`index_cluster`): found by bisection, as a
                        // common value's list holds every open cluster
                        match v.binary_search(&id) {
                            Ok(at) => {
                                v.remove(at);
                            }
                            Err(_) => remove_id(v, id),
                        }
                        if v.is_empty() {
                            self.index.learned.remove(&(ri, t));
                        }
                    }
                }
            }
        }
    }
}

/// The tokens a learned cluster is found by: its anchor's, its members' entities, what the
/// anchor names, its lead's and its other places' (`Cluster::merged`).
fn index_tokens(c: &Cluster) -> Vec<learned::Token> {
    let mut tokens: Vec<learned::Token> = c
        .anchor_tokens
        .iter()
        .chain(&c.member_entities)
        .chain(&c.anchor_mentions)
        .chain(c.lead.iter().flat_map(|l| &l.tokens))
        .chain(c.merged.iter().flat_map(|l| &l.tokens))
        .copied()
        .collect();
    if c.anchor_class != 0 {
        tokens.push(TIME_TOKEN);
    }
    tokens.sort_unstable();
    tokens.dedup();
    tokens
}
