//! Heap bytes per active alert, measured with a counting allocator (exact, not an estimate).
//!
//! `cargo run --release -p sitrep-core --example memory -- [ALERTS]` (default 1,000,000):
//! creates that many distinct alerts over one hour of event time with the default config,
//! then lets two more hours pass so transient correlation state (pending clusters, window
//! timers) expires, and reports heap bytes per active alert at both points.

mod common;

use sitrep_core::{Config, Engine, EngineOptions};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size(), Ordering::Relaxed);
        System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        System.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new, Ordering::Relaxed);
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        System.realloc(p, l, new)
    }
}

#[global_allocator]
static A: Counting = Counting;

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let before = LIVE.load(Ordering::Relaxed);
    let mut e = Engine::new(&Config::default(), EngineOptions::default()).unwrap();
    common::fill(&mut e, n);
    let stats = e.stats();
    let live = LIVE.load(Ordering::Relaxed) - before;
    println!(
        "after {} alerts: {} bytes heap, {:.0} bytes per active alert (incl. correlation state in flight)",
        stats.alerts_active,
        live,
        live as f64 / stats.alerts_active as f64
    );
    e.advance(common::T0 + 3 * 3_600_000);
    e.drain_updates().for_each(drop);
    let live = LIVE.load(Ordering::Relaxed) - before;
    let stats = e.stats();
    println!(
        "two hours later: {} active alerts, {} incidents, {} bytes heap, {:.0} bytes per active alert",
        stats.alerts_active,
        stats.incidents_active,
        live,
        live as f64 / stats.alerts_active as f64
    );
}
