//! Developer aid: prints the groups that break GA for one LogHub system:
//! `cargo run --release -p sitrep-scenario --example tpl_errors -- Windows [DATA_DIR]`.
use sitrep_core::template::{TemplateConfig, TemplateMiner};
use std::collections::BTreeMap;

fn main() {
    let sys = std::env::args().nth(1).unwrap_or("Windows".into());
    let dir = std::env::args()
        .nth(2)
        .unwrap_or("../shared/data/loghub2k".into());
    let systems = sitrep_scenario::loghub::discover(std::path::Path::new(&dir)).unwrap();
    let system = systems.iter().find(|s| s.name == sys).expect("no such system");
    let t = sitrep_scenario::loghub::load(&system.path).unwrap();
    let mut m = TemplateMiner::new(TemplateConfig::default());
    let g: Vec<u32> = t.content.iter().map(|l| m.mine(l).cluster).collect();
    let mut by_true: BTreeMap<&str, BTreeMap<u32, usize>> = BTreeMap::new();
    let mut by_pred: BTreeMap<u32, BTreeMap<&str, usize>> = BTreeMap::new();
    for (event, &group) in t.event.iter().zip(&g) {
        *by_true.entry(event).or_default().entry(group).or_default() += 1;
        *by_pred.entry(group).or_default().entry(event).or_default() += 1;
    }
    for (p, ts) in &by_pred {
        if ts.len() > 1 {
            let n: usize = ts.values().sum();
            println!("MERGED {n} lines pred {} : {:?}", m.template(*p).unwrap(), ts);
            for (e, _) in ts.iter().take(3) {
                let i = t.event.iter().position(|x| x == e).unwrap();
                println!("     {e}: {}  ||  {}", t.template[i], t.content[i]);
            }
        }
    }
    for (e, ps) in &by_true {
        if ps.len() > 1 {
            let i = t.event.iter().position(|x| x == e).unwrap();
            let parts: Vec<(String, usize)> = ps.iter().map(|(p, c)| (m.template(*p).unwrap(), *c)).collect();
            println!("SPLIT {e} {} into {parts:?}", t.template[i]);
        }
    }
}
