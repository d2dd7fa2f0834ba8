//! The compiled topology: nodes and directed dependencies (upstream → downstream), with
//! bounded breadth-first searches for hop distances.

use crate::config::TopologyConfig;
use rustc_hash::FxHashMap;

pub type NodeId = u32;

#[derive(Debug, Default, Clone)]
pub struct Topology {
    ids: Vec<String>,
    by_name: FxHashMap<String, NodeId>,
    down: Vec<Vec<NodeId>>,
    up: Vec<Vec<NodeId>>,
    pub entity_fields: Vec<String>,
}

impl Topology {
    pub fn compile(cfg: &TopologyConfig) -> Result<Topology, crate::config::ConfigError> {
        let mut t = Topology {
            entity_fields: if cfg.entity_fields.is_empty() {
                vec!["source".into(), "service".into()]
            } else {
                cfg.entity_fields.clone()
            },
            ..Topology::default()
        };
        for n in &cfg.nodes {
            t.node(&n.id);
        }
        for (a, b) in &cfg.edges {
            if a == b {
                return Err(crate::config::ConfigError::Invalid(format!(
                    "topology: self-loop on `{a}`"
                )));
            }
            let (x, y) = (t.node(a), t.node(b));
            if !t.down[x as usize].contains(&y) {
                t.down[x as usize].push(y);
                t.up[y as usize].push(x);
            }
        }
        Ok(t)
    }

    fn node(&mut self, name: &str) -> NodeId {
        if let Some(&id) = self.by_name.get(name) {
            return id;
        }
        let id = self.ids.len() as NodeId;
        self.ids.push(name.to_string());
        self.by_name.insert(name.to_string(), id);
        self.down.push(Vec::new());
        self.up.push(Vec::new());
        id
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn lookup(&self, name: &str) -> Option<NodeId> {
        self.by_name.get(name).copied()
    }

    pub fn name(&self, id: NodeId) -> &str {
        &self.ids[id as usize]
    }

    /// Nodes related to `from` within `limit` hops, with their distance, in breadth-first
    /// order (deterministic). With `siblings` false only its lineage counts: nodes it
    /// depends on (upstream) and nodes that depend on it (downstream); with `siblings` true
    /// edge direction is ignored, so nodes sharing a parent are related too.
    pub fn neighbourhood(&self, from: NodeId, limit: u32, siblings: bool) -> Vec<(NodeId, u32)> {
        if !siblings {
            let mut out = vec![(from, 0)];
            for dir in [&self.down, &self.up] {
                let start = out.len();
                let mut frontier = vec![from];
                for d in 1..=limit {
                    let mut next = Vec::new();
                    for n in frontier {
                        for &m in &dir[n as usize] {
                            if m != from && !out[start..].iter().any(|(x, _)| *x == m) {
                                out.push((m, d));
                                next.push(m);
                            }
                        }
                    }
                    frontier = next;
                }
            }
            return out;
        }
        let mut out = vec![(from, 0)];
        let mut i = 0;
        while i < out.len() {
            let (n, d) = out[i];
            i += 1;
            if d == limit {
                continue;
            }
            for &m in self.down[n as usize].iter().chain(&self.up[n as usize]) {
                if !out.iter().any(|(x, _)| *x == m) {
                    out.push((m, d + 1));
                }
            }
        }
        out
    }

    /// Nodes downstream of `from` within `limit` hops, with their distance (BFS order).
    pub fn downstream(&self, from: NodeId, limit: u32) -> Vec<(NodeId, u32)> {
        let mut out: Vec<(NodeId, u32)> = Vec::new();
        let mut frontier = vec![from];
        for d in 1..=limit {
            let mut next = Vec::new();
            for n in frontier {
                for &m in &self.down[n as usize] {
                    if m != from && !out.iter().any(|(x, _)| *x == m) {
                        out.push((m, d));
                        next.push(m);
                    }
                }
            }
            frontier = next;
        }
        out
    }

    /// Hops along dependencies from `upstream` down to `downstream`, if within `limit`.
    pub fn downstream_distance(&self, upstream: NodeId, downstream: NodeId, limit: u32) -> Option<u32> {
        let mut frontier = vec![upstream];
        let mut seen = vec![upstream];
        for d in 0..=limit {
            if frontier.contains(&downstream) {
                return Some(d);
            }
            let mut next = Vec::new();
            for n in frontier {
                for &m in &self.down[n as usize] {
                    if !seen.contains(&m) {
                        seen.push(m);
                        next.push(m);
                    }
                }
            }
            frontier = next;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TopologyNode;

    fn t() -> Topology {
        let cfg = TopologyConfig {
            nodes: vec![TopologyNode {
                id: "lonely".into(),
                kind: None,
            }],
            edges: [
                ("core", "sw1"),
                ("sw1", "h1"),
                ("sw1", "h2"),
                ("h1", "svc"),
                ("core", "sw2"),
            ]
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .to_vec(),
            ..TopologyConfig::default()
        };
        Topology::compile(&cfg).unwrap()
    }

    #[test]
    fn distances() {
        let t = t();
        let [core, sw1, h1, h2, svc] = ["core", "sw1", "h1", "h2", "svc"].map(|n| t.lookup(n).unwrap());
        assert_eq!(t.downstream_distance(core, svc, 3), Some(3));
        assert_eq!(t.downstream_distance(core, svc, 2), None);
        assert_eq!(t.downstream_distance(svc, core, 5), None);
        let nb = t.neighbourhood(h1, 2, true);
        assert!(nb.contains(&(h2, 2)) && nb.contains(&(sw1, 1)) && nb.contains(&(core, 2)));
        assert!(!nb.iter().any(|(n, _)| *n == t.lookup("sw2").unwrap()));
        assert_eq!(t.neighbourhood(t.lookup("lonely").unwrap(), 3, true).len(), 1);
        let lineage = t.neighbourhood(h1, 2, false);
        assert!(lineage.contains(&(sw1, 1)) && lineage.contains(&(core, 2)) && lineage.contains(&(svc, 1)));
        assert!(
            !lineage.iter().any(|(n, _)| *n == h2),
            "a sibling is not in the lineage"
        );
    }
}
