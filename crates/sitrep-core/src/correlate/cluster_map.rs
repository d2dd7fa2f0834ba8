//! correlate::cluster_map: the clusters by id.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::{BTreeMap, BTreeSet};

/// Clusters by id (creation order): pending ones and incidents, until purged.
pub(crate) type Clusters = IdMap<super::Cluster>;

/// Values by id: a hash map for lookups — every candidate judged, every repeat of a member
/// and every update looks a cluster up, and a tree of a few thousand was a tenth of the
/// engine's time on a busy stream (docs/performance.md) — beside the ids in order, so that
/// every walk sees the values oldest first, as the tree gave them: walks decide outcomes
/// (the first of equals wins), and the same input must give the same output. Written and
/// read as the tree was (a map by id), so snapshots do not change.
#[derive(Debug, Clone)]
pub(crate) struct IdMap<V> {
    by_id: FxHashMap<u64, V>,
    ids: BTreeSet<u64>,
}

impl<V> Default for IdMap<V> {
    fn default() -> IdMap<V> {
        IdMap {
            by_id: FxHashMap::default(),
            ids: BTreeSet::new(),
        }
    }
}

impl<V> IdMap<V> {
    pub fn get(&self, id: &u64) -> Option<&V> {
        self.by_id.get(id)
    }

    pub fn get_mut(&mut self, id: &u64) -> Option<&mut V> {
        self.by_id.get_mut(id)
    }

    pub fn contains_key(&self, id: &u64) -> bool {
        self.by_id.contains_key(id)
    }

    pub fn insert(&mut self, id: u64, v: V) -> Option<V> {
        self.ids.insert(id);
        self.by_id.insert(id, v)
    }

    pub fn remove(&mut self, id: &u64) -> Option<V> {
        self.ids.remove(id);
        self.by_id.remove(id)
    }

    /// Every value, oldest (smallest id) first.
    pub fn iter(&self) -> impl Iterator<Item = (&u64, &V)> + '_ {
        self.ids.iter().map(|id| (id, &self.by_id[id]))
    }

    /// Every value, oldest (smallest id) first.
    pub fn values(&self) -> impl Iterator<Item = &V> + '_ {
        self.iter().map(|(_, v)| v)
    }
}

impl<V> std::ops::Index<&u64> for IdMap<V> {
    type Output = V;

    fn index(&self, id: &u64) -> &V {
        &self.by_id[id]
    }
}

impl<V> FromIterator<(u64, V)> for IdMap<V> {
    fn from_iter<I: IntoIterator<Item = (u64, V)>>(iter: I) -> IdMap<V> {
        let mut m = IdMap::default();
        for (id, v) in iter {
            m.insert(id, v);
        }
        m
    }
}

impl<V: Serialize> Serialize for IdMap<V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for IdMap<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<IdMap<V>, D::Error> {
        Ok(BTreeMap::<u64, V>::deserialize(d)?.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Whatever the inserts and removals, walks go in id order and the map is written
        /// exactly as a tree with the same entries (the snapshot's bytes), and read back.
        #[test]
        fn an_id_map_walks_and_is_written_as_a_tree(
            ops in proptest::collection::vec((0u64..200, proptest::bool::ANY), 0..300),
        ) {
            let mut m: IdMap<String> = IdMap::default();
            let mut tree: BTreeMap<u64, String> = BTreeMap::new();
            for (id, insert) in ops {
                if insert {
                    proptest::prop_assert_eq!(m.insert(id, format!("c{id}")), tree.insert(id, format!("c{id}")));
                } else {
                    proptest::prop_assert_eq!(m.remove(&id), tree.remove(&id));
                }
            }
            let walked: Vec<(u64, String)> = m.iter().map(|(k, v)| (*k, v.clone())).collect();
            let expected: Vec<(u64, String)> = tree.iter().map(|(k, v)| (*k, v.clone())).collect();
            proptest::prop_assert_eq!(&walked, &expected);
            for (id, v) in &tree {
                proptest::prop_assert_eq!(&m[id], v);
                proptest::prop_assert!(m.contains_key(id));
            }
            let json = serde_json::to_string(&m).unwrap();
            proptest::prop_assert_eq!(&json, &serde_json::to_string(&tree).unwrap());
            let back: IdMap<String> = serde_json::from_str(&json).unwrap();
            proptest::prop_assert_eq!(back.values().cloned().collect::<Vec<_>>(), tree.into_values().collect::<Vec<_>>());
        }
    }
}
