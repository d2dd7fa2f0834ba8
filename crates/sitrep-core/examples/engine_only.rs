//! The engine's own time on a recorded stream, without reading, decoding or writing: what
//! the engine thread of `sitrep replay` spends per event (docs/performance.md, issue 16).
//!
//! `cargo run --release -p sitrep-core --example engine_only -- EVENTS.jsonl [CONFIG.toml]`
//!
//! Decodes the whole file first (native format), then times `Engine::process` over it in
//! chunks of 10,000 events, taking the encoded updates after each chunk as the replay does.
//! Run it under `perf record` to profile the engine alone.

use mimalloc::MiMalloc;
use sitrep_core::{Config, Engine, EngineOptions, InputFormat, Normaliser};
use std::time::Instant;

#[global_allocator]
static GLOBAL: MiMalloc = MiMalloc;

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .expect("usage: engine_only EVENTS.jsonl [CONFIG.toml]");
    let cfg: Config = match args.next() {
        Some(p) => toml::from_str(&std::fs::read_to_string(p).expect("config")).expect("config"),
        None => Config::default(),
    };
    let raw = std::fs::read(&path).expect("events file");
    let normaliser = Normaliser::new(&cfg).expect("normaliser");
    let mut decoded = Vec::new();
    for line in raw.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        normaliser.normalise(&InputFormat::Native, line, 0, &mut decoded);
    }
    let events: Vec<_> = decoded.into_iter().filter_map(Result::ok).collect();
    drop(raw);
    let mut engine = Engine::new(&cfg, EngineOptions::default()).expect("engine");
    engine.set_json_output_form(Some(sitrep_core::compact::AlertUpdateForm::Compact {
        full_state_every: 3_600_000,
    }));
    let mut encoded = Vec::with_capacity(64 << 20);
    let mut bytes = 0usize;
    let started = Instant::now();
    for chunk in events.chunks(10_000) {
        for e in chunk {
            engine.process(e);
        }
        encoded.clear();
        engine.take_encoded_updates(&mut encoded);
        bytes += encoded.len();
    }
    let s = started.elapsed().as_secs_f64();
    let stats = engine.stats();
    println!(
        "{} events in {s:.3} s: {:.2} µs per event ({:.0} events/s); {} alerts, {} incidents, {} MB encoded; {} candidate clusters judged",
        events.len(),
        s * 1e6 / events.len() as f64,
        events.len() as f64 / s,
        stats.alerts_created,
        stats.incidents_opened,
        bytes >> 20,
        stats.candidates_judged
    );
}
