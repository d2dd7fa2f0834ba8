//! correlate::cluster_map: the clusters by id.

use super::Cluster;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::{BTreeMap, BTreeSet};

/// Clusters by id (creation order): pending ones and incidents, until purged.
///
/// A hash map for lookups — every candidate judged, every repeat of a member and every
/// update looks a cluster up, and a tree of a few thousand was a tenth of the engine's time
/// on a busy stream (docs/performance.md) — beside the ids in order, so that every walk
/// sees the clusters oldest first, as the tree gave them: walks decide outcomes (the first
/// of equals wins), and the same input must give the same output. Written and read as the
/// tree was (a map by id), so snapshots do not change.
#[derive(Debug, Clone, Default)]
pub(crate) struct Clusters {
    by_id: FxHashMap<u64, Cluster>,
    ids: BTreeSet<u64>,
}

impl Clusters {
    pub fn get(&self, id: &u64) -> Option<&Cluster> {
        self.by_id.get(id)
    }

    pub fn get_mut(&mut self, id: &u64) -> Option<&mut Cluster> {
        self.by_id.get_mut(id)
    }

    pub fn contains_key(&self, id: &u64) -> bool {
        self.by_id.contains_key(id)
    }

    pub fn insert(&mut self, id: u64, c: Cluster) -> Option<Cluster> {
        self.ids.insert(id);
        self.by_id.insert(id, c)
    }

    pub fn remove(&mut self, id: &u64) -> Option<Cluster> {
        self.ids.remove(id);
        self.by_id.remove(id)
    }

    /// Every cluster, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = (&u64, &Cluster)> + '_ {
        self.ids.iter().map(|id| (id, &self.by_id[id]))
    }

    /// Every cluster, oldest first.
    pub fn values(&self) -> impl Iterator<Item = &Cluster> + '_ {
        self.iter().map(|(_, c)| c)
    }
}

impl std::ops::Index<&u64> for Clusters {
    type Output = Cluster;

    fn index(&self, id: &u64) -> &Cluster {
        &self.by_id[id]
    }
}

impl FromIterator<(u64, Cluster)> for Clusters {
    fn from_iter<I: IntoIterator<Item = (u64, Cluster)>>(iter: I) -> Clusters {
        let mut m = Clusters::default();
        for (id, c) in iter {
            m.insert(id, c);
        }
        m
    }
}

impl Serialize for Clusters {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for Clusters {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Clusters, D::Error> {
        Ok(BTreeMap::<u64, Cluster>::deserialize(d)?.into_iter().collect())
    }
}
