//! Criterion benchmarks of the core: parsing one native event, the duplicate hot path, and a
//! stream where one event in ten opens a new alert (default recipes, no topology).
//! Run: `cargo bench -p sitrep-core --bench core`. Results: docs/performance.md.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use sitrep_core::{Config, Engine, EngineOptions, Event, InputFormat, Normaliser, Severity};

const RAW: &str = r#"{"source":"host-012345.dc1.example.net","check":"disk_full","severity":"major","description":"Filesystem /var usage 93% exceeds critical threshold, 12 GB free","time":"2026-11-24T10:00:00.000Z","service":"svc-45","manager":"bench","labels":{"dc":"dc1","env":"prod"},"id":"b-1"}"#;

fn event(i: u64, alerts: u64) -> Event {
    let a = i % alerts;
    Event {
        source: format!("host-{:06}.dc{}.example.net", a / 8, a % 4).into(),
        check: [
            "cpu_high",
            "disk_full",
            "link_down",
            "http_5xx",
            "mem",
            "bgp",
            "latency",
            "queue",
        ][(a % 8) as usize]
            .into(),
        severity: Severity::Major,
        description: format!(
            "Filesystem /var usage {}% exceeds critical threshold",
            50 + i % 50
        ),
        time: Some(1_795_478_400_000 + i as i64 * 3),
        service: Some(format!("svc-{}", a % 500).into()),
        labels: vec![("dc".into(), "dc1".into()), ("env".into(), "prod".into())],
        ..Event::default()
    }
}

fn benches(c: &mut Criterion) {
    let n = Normaliser::new(&Config::default()).unwrap();
    let mut g = c.benchmark_group("normalise");
    g.throughput(Throughput::Elements(1));
    g.bench_function("native_300_bytes", |b| {
        let mut out = Vec::with_capacity(1);
        b.iter(|| {
            out.clear();
            n.normalise(&InputFormat::Native, RAW.as_bytes(), 0, &mut out);
            assert!(out[0].is_ok());
        })
    });
    g.finish();

    let mut g = c.benchmark_group("engine");
    let events: Vec<Event> = (0..100_000).map(|i| event(i, 1000)).collect();
    g.throughput(Throughput::Elements(events.len() as u64));
    g.bench_function("duplicates_of_1000_alerts", |b| {
        b.iter_batched(
            || {
                let mut e = Engine::new(&Config::default(), EngineOptions::default()).unwrap();
                for ev in &events[..1000] {
                    e.process(ev);
                }
                e.drain_updates().for_each(drop);
                e
            },
            |mut e| {
                for ev in &events {
                    e.process(ev);
                }
                e.drain_updates().count()
            },
            BatchSize::LargeInput,
        )
    });
    // one event in ten is a new alert
    let mixed: Vec<Event> = (0..100_000u64)
        .map(|i| {
            if i % 10 == 0 {
                event(i, u64::MAX)
            } else {
                event(i, 1000)
            }
        })
        .collect();
    g.bench_function("ten_percent_new_alerts", |b| {
        b.iter_batched(
            || Engine::new(&Config::default(), EngineOptions::default()).unwrap(),
            |mut e| {
                for ev in &mixed {
                    e.process(ev);
                }
                e.drain_updates().count()
            },
            BatchSize::LargeInput,
        )
    });
    // the yardstick for the learned recipe's cost, measured in the same run: the default
    // recipes minus `learned`
    let mut no_learned = Config::default();
    no_learned.correlation.recipes = sitrep_core::correlate::default_recipes(false)
        .into_iter()
        .filter(|r| r.name != "learned")
        .collect();
    g.bench_function("ten_percent_new_alerts_without_learned", |b| {
        b.iter_batched(
            || Engine::new(&no_learned, EngineOptions::default()).unwrap(),
            |mut e| {
                for ev in &mixed {
                    e.process(ev);
                }
                e.drain_updates().count()
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group! {
    name = core;
    config = Criterion::default().sample_size(10);
    targets = benches
}
criterion_main!(core);
