//! How long a snapshot of N active alerts takes to write and to restore (issue 16: a
//! restart with 1,000,000 active alerts in ≤ 1 s).
//!
//! `cargo run --release -p sitrep-core --example restore -- [ALERTS]` (default 1,000,000):
//! the alerts of `--example memory`, then `Engine::snapshot` and `Engine::restore` timed
//! three times each (median printed), with the snapshot's size. Under mimalloc, the
//! allocator the `sitrep` binary runs with.

mod common;

use sitrep_core::{Config, Engine, EngineOptions};
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let cfg = Config::default();
    let mut e = Engine::new(&cfg, EngineOptions::default()).unwrap();
    common::fill(&mut e, n);
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let mut write = Vec::new();
    let mut drop_view = Vec::new();
    let mut bytes = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        bytes = e.snapshot();
        write.push(t.elapsed().as_secs_f64());
    }
    // the embedded server's way: a copy while the engine is held (the pause), encoded after
    let mut copy = Vec::new();
    let mut encode = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let view = e.snapshot_view();
        copy.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let b = view.encode();
        encode.push(t.elapsed().as_secs_f64());
        assert_eq!(b.len(), bytes.len());
        let t = Instant::now();
        drop(view);
        drop_view.push(t.elapsed().as_secs_f64());
    }
    let mut read = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let r = Engine::restore(&cfg, &bytes).unwrap();
        read.push(t.elapsed().as_secs_f64());
        assert_eq!(r.stats().alerts_active, e.stats().alerts_active);
    }
    println!(
        "{n} alerts: snapshot {:.0} MB, written in {:.3} s, restored in {:.3} s; \
         as a view: copied in {:.3} s (the pause), encoded in {:.3} s, dropped in {:.3} s (medians of 3)",
        bytes.len() as f64 / 1e6,
        median(write),
        median(read),
        median(copy),
        median(encode),
        median(drop_view),
    );
}
