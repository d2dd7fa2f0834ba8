//! How long a snapshot of N active alerts takes to write and to restore (issue 16: a
//! restart with 1,000,000 active alerts in ≤ 1 s).
//!
//! `cargo run --release -p sitrep-core --example restore -- [ALERTS]` (default 1,000,000):
//! the alerts of `--example memory`, then `Engine::snapshot` and `Engine::restore` timed
//! three times each (median printed), with the snapshot's size. Under mimalloc, the
//! allocator the `sitrep` binary runs with.

use sitrep_core::{Config, Engine, EngineOptions, Event, Severity};
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let t0 = 1_795_478_400_000i64;
    let cfg = Config::default();
    let mut e = Engine::new(&cfg, EngineOptions::default()).unwrap();
    let step = (3_600_000 / n.max(1) as i64).max(1);
    for i in 0..n {
        let ev = Event {
            source: format!("host-{:07}.dc{}.example.net", i / 8, i % 4).into(),
            check: [
                "cpu_high",
                "disk_full",
                "link_down",
                "http_5xx",
                "mem",
                "bgp",
                "latency",
                "queue",
            ][(i % 8) as usize]
                .into(),
            severity: Severity::Major,
            description: format!(
                "Filesystem /var usage {}% exceeds critical threshold",
                50 + i % 50
            ),
            time: Some(t0 + i as i64 * step),
            service: Some(format!("svc-{}", i % 500).into()),
            labels: vec![
                ("dc".into(), format!("dc{}", i % 4).into()),
                ("env".into(), "prod".into()),
            ],
            ..Event::default()
        };
        e.process(&ev);
        if i % 4096 == 0 {
            e.drain_updates().for_each(drop);
        }
    }
    e.drain_updates().for_each(drop);
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let mut write = Vec::new();
    let mut bytes = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        bytes = e.snapshot();
        write.push(t.elapsed().as_secs_f64());
    }
    let mut read = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let r = Engine::restore(&cfg, &bytes).unwrap();
        read.push(t.elapsed().as_secs_f64());
        assert_eq!(r.stats().alerts_active, e.stats().alerts_active);
    }
    println!(
        "{n} alerts: snapshot {:.0} MB, written in {:.3} s, restored in {:.3} s (medians of 3)",
        bytes.len() as f64 / 1e6,
        median(write),
        median(read)
    );
}
