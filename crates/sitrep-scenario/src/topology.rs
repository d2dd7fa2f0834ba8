//! Estates to generate faults on: nodes with a kind and labels, and dependencies
//! (upstream → downstream).

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use sitrep_core::config::{TopologyConfig, TopologyNode};

#[derive(Debug, Clone)]
pub struct Node {
    pub id: String,
    pub kind: &'static str,
    /// `service` field of events about this node, if any.
    pub service: Option<String>,
    pub labels: Vec<(String, String)>,
}

#[derive(Debug, Clone, Default)]
pub struct Estate {
    pub nodes: Vec<Node>,
    pub down: Vec<Vec<usize>>,
    pub up: Vec<Vec<usize>>,
}

impl Estate {
    pub(crate) fn add(
        &mut self,
        id: String,
        kind: &'static str,
        service: Option<String>,
        labels: &[(&str, String)],
    ) -> usize {
        self.nodes.push(Node {
            id,
            kind,
            service,
            labels: labels.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
        });
        self.down.push(Vec::new());
        self.up.push(Vec::new());
        self.nodes.len() - 1
    }

    fn edge(&mut self, up: usize, down: usize) {
        if !self.down[up].contains(&down) {
            self.down[up].push(down);
            self.up[down].push(up);
        }
    }

    pub fn to_config(&self) -> TopologyConfig {
        TopologyConfig {
            file: None,
            nodes: self
                .nodes
                .iter()
                .map(|n| TopologyNode {
                    id: n.id.clone(),
                    kind: Some(n.kind.to_string()),
                })
                .collect(),
            edges: self
                .down
                .iter()
                .enumerate()
                .flat_map(|(u, ds)| ds.iter().map(move |d| (u, *d)))
                .map(|(u, d)| (self.nodes[u].id.clone(), self.nodes[d].id.clone()))
                .collect(),
            entity_fields: Vec::new(),
        }
    }

    /// Telco: regions with two core routers, sites with an aggregation switch, cell sites
    /// behind it; regional mobile-data and voice services on the cores.
    pub fn telco(rng: &mut ChaCha8Rng, regions: usize, sites: usize) -> Estate {
        let mut e = Estate::default();
        for r in 1..=regions {
            let region = format!("reg{r}");
            let l = |site: &str| vec![("region", region.clone()), ("site", site.to_string())];
            let core_a = e.add(
                format!("core-{r}a"),
                "core-router",
                None,
                &l(&format!("{region}-core")),
            );
            let core_b = e.add(
                format!("core-{r}b"),
                "core-router",
                None,
                &l(&format!("{region}-core")),
            );
            let data = e.add(
                format!("mobile-data-{r}"),
                "service",
                Some(format!("mobile-data-{r}")),
                &l(&format!("{region}-core")),
            );
            let voice = e.add(
                format!("voice-{r}"),
                "service",
                Some(format!("voice-{r}")),
                &l(&format!("{region}-core")),
            );
            e.edge(core_a, data);
            e.edge(core_b, voice);
            for s in 1..=sites {
                let site = format!("{region}-s{s}");
                let agg = e.add(format!("agg-{r}-{s}"), "agg-switch", None, &l(&site));
                e.edge(if s % 2 == 0 { core_a } else { core_b }, agg);
                let cells = rng.gen_range(3..=7);
                for c in 1..=cells {
                    let cell = e.add(format!("cell-{r}-{s}-{c}"), "cell", None, &l(&site));
                    e.edge(agg, cell);
                }
            }
        }
        e
    }

    /// Microservices: per cluster, worker nodes running pods of a call graph of services.
    /// A service depends on what it calls (callee upstream of caller); a pod depends on its
    /// node; a service on its pods.
    pub fn micro(rng: &mut ChaCha8Rng, clusters: usize, nodes_per_cluster: usize) -> Estate {
        const SERVICES: [(&str, &[&str]); 14] = [
            ("frontend", &["api-gateway"]),
            ("api-gateway", &["cart", "checkout", "search", "user"]),
            ("cart", &["redis-cart"]),
            ("checkout", &["payment", "inventory", "orders-db"]),
            ("search", &["elastic"]),
            ("user", &["users-db", "auth"]),
            ("payment", &["payments-db"]),
            ("inventory", &["inventory-db"]),
            ("auth", &["redis-session"]),
            ("orders-db", &[]),
            ("users-db", &[]),
            ("payments-db", &[]),
            ("inventory-db", &[]),
            ("elastic", &[]),
        ];
        let mut e = Estate::default();
        for k in 1..=clusters {
            let cluster = format!("k8s-{k}");
            let l = || vec![("cluster", cluster.clone())];
            let nodes: Vec<usize> = (1..=nodes_per_cluster)
                .map(|n| e.add(format!("node-{k}-{n}"), "node", None, &l()))
                .collect();
            let mut svc_idx = Vec::new();
            for (name, _) in SERVICES
                .iter()
                .chain([("redis-cart", &[][..]), ("redis-session", &[][..])].iter())
            {
                let svc = format!("{name}-{k}");
                let s = e.add(svc.clone(), "service", Some(svc.clone()), &l());
                svc_idx.push((name.to_string(), s));
                let pods = rng.gen_range(2..=3);
                for _ in 0..pods {
                    let hash: u32 = rng.gen();
                    let pod = e.add(
                        format!("{name}-{k}-{:05x}", hash & 0xfffff),
                        "pod",
                        Some(svc.clone()),
                        &l(),
                    );
                    let node = nodes[rng.gen_range(0..nodes.len())];
                    e.edge(node, pod);
                    e.edge(pod, s);
                }
            }
            let find = |n: &str| {
                svc_idx
                    .iter()
                    .find(|(x, _)| x == n)
                    .map(|(_, i)| *i)
                    .expect("service")
            };
            for (name, calls) in SERVICES {
                for callee in calls {
                    e.edge(find(callee), find(name));
                }
            }
        }
        e
    }
}
