//! Property tests of the engine on random streams (with out-of-order times, clears,
//! topology, rules and maintenance): it never panics, every event is counted once, every
//! incident respects the minimum size and each alert's current occurrence belongs to at
//! most one incident, and a snapshot/restore at any point changes nothing.

use proptest::prelude::*;
use sitrep_core::config::Config;
use sitrep_core::{Engine, EngineOptions, Event, Severity};

const CFG: &str = r#"
[dedup]
retention_secs = 600
[dedup.flapping]
changes = 4
window_secs = 120
[[maintenance]]
name = "m"
start = "2026-11-24T10:05:00Z"
end = "2026-11-24T10:10:00Z"
match = { source = "h3" }
[[rules]]
name = "burst"
kind = "count"
match = { check = "c1" }
key = ["source"]
window_secs = 30
threshold = 3
[[rules]]
name = "hb"
kind = "heartbeat"
match = { check = "c0" }
key = ["source"]
interval_secs = 20
missed = 2
[topology]
edges = [["h0", "h1"], ["h1", "h2"], ["h1", "h3"], ["h2", "h4"], ["h5", "h6"]]
"#;

const T0: i64 = 1_795_514_400_000;

fn stream() -> impl Strategy<Value = Vec<Event>> {
    prop::collection::vec(
        (0u8..8, 0u8..5, 0u8..6, 0u8..3, -5_000i64..20_000, any::<bool>()),
        1..300,
    )
    .prop_map(|v| {
        let mut t = T0;
        v.into_iter()
            .map(|(h, c, sev, svc, dt, desc)| {
                t += dt.max(-2_000);
                Event {
                    source: format!("h{h}").into(),
                    check: format!("c{c}").into(),
                    severity: Severity::from_level(sev as i64).unwrap(),
                    description: if desc {
                        "link down on port".into()
                    } else {
                        format!("value {dt} high")
                    },
                    time: Some(t),
                    service: (svc > 0).then(|| format!("s{svc}").into()),
                    ..Event::default()
                }
            })
            .collect()
    })
}

/// Feeds `events` to an engine on `cfg`, and from event `cut` on also to one restored from
/// its snapshot at that point; `check` sees the first engine after every event. The
/// restored engine must emit exactly the updates the first one emits from the cut on
/// (a Kafka worker that takes a partition over publishes them: one extra or missing update
/// would shift every later `seq`).
fn run_with_restore(
    cfg: &str,
    events: &[Event],
    cut: usize,
    mut check: impl FnMut(&Engine) -> Result<(), TestCaseError>,
) -> Result<(Engine, Option<Engine>), TestCaseError> {
    let cfg = Config::from_toml(cfg).unwrap();
    let mut e = Engine::new(&cfg, EngineOptions::default()).unwrap();
    let cut = cut.min(events.len());
    let mut restored: Option<Engine> = None;
    for (i, ev) in events.iter().enumerate() {
        if i == cut {
            e.drain_updates().for_each(drop);
            restored = Some(Engine::restore(&cfg, &e.snapshot()).unwrap());
        }
        e.process(ev);
        if let Some(r) = restored.as_mut() {
            r.process(ev);
            let (a, b) = (
                e.drain_updates().collect::<Vec<_>>(),
                r.drain_updates().collect::<Vec<_>>(),
            );
            prop_assert_eq!(
                serde_json::to_string(&a).unwrap(),
                serde_json::to_string(&b).unwrap(),
                "event {} after a restore at {}",
                i,
                cut
            );
        }
        check(&e)?;
    }
    Ok((e, restored))
}

fn output(e: &Engine) -> String {
    format!(
        "{}{}",
        serde_json::to_string(&e.alerts()).unwrap(),
        serde_json::to_string(&e.incidents()).unwrap()
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn engine_invariants_hold(events in stream(), cut in 0usize..300) {
        let (e, restored) = run_with_restore(CFG, &events, cut, |_| Ok(()))?;
        let stats = e.stats();
        prop_assert_eq!(stats.events as usize, events.len());
        let alerts = e.alerts();
        let counted: u64 = alerts.iter().map(|a| a.count).sum();
        prop_assert!(counted <= stats.events + stats.synthetic_events, "purged alerts took counts away, never added");
        if stats.alerts_purged == 0 {
            prop_assert_eq!(counted, stats.events + stats.synthetic_events);
        }
        for inc in e.incidents() {
            prop_assert!(inc.members.len() >= 2 || inc.summary.recipe.is_empty(), "{:?}", inc.summary);
            prop_assert!(inc.summary.alert_count >= 1);
        }
        for a in &alerts {
            if let Some(i) = &a.incident {
                prop_assert!(a.incidents.contains(i));
            }
        }
        if let Some(r) = restored {
            prop_assert_eq!(output(&e), output(&r));
        }
    }
}

/// No topology, so every alert goes through the learned recipe, with memory bounds far
/// below the stream's variety: the learned statistics (attributes, co-occurrence of checks,
/// novel bursts) stay within their bounds and a snapshot/restore at any point changes
/// nothing downstream.
const LEARNED_CFG: &str = r#"
[correlation.learned]
min_pairs = 2
max_keys = 6
max_values = 10
recent = 8
max_pairs = 4
max_classes = 10
max_class_pairs = 10
"#;

fn len_of(v: &serde_json::Value, path: &[&str]) -> usize {
    let mut v = v;
    for p in path {
        v = &v[*p];
    }
    v.as_object()
        .map(|o| o.len())
        .or(v.as_array().map(|a| a.len()))
        .unwrap_or(0)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 100, ..ProptestConfig::default() })]

    #[test]
    fn learned_state_stays_bounded_and_restores_identically(events in stream(), cut in 0usize..300) {
        let (e, restored) = run_with_restore(LEARNED_CFG, &events, cut, |e| {
            let snap: serde_json::Value = serde_json::from_slice(&e.snapshot()).unwrap();
            let l = &snap["learned"];
            prop_assert!(len_of(l, &["keys"]) <= 6);
            for k in l["keys"].as_array().unwrap() {
                prop_assert!(k["values"].as_object().unwrap().len() <= 10);
            }
            prop_assert!(len_of(l, &["recent"]) <= 8);
            prop_assert!(len_of(l, &["class_keys"]) <= 10);
            prop_assert!(len_of(l, &["costarts", "classes"]) <= 10);
            prop_assert!(len_of(l, &["costarts", "seen"]) <= 10);
            prop_assert!(len_of(l, &["costarts", "pairs"]) <= 10);
            prop_assert!(len_of(l, &["costarts", "recent"]) <= 8);
            Ok(())
        })?;
        if let Some(r) = restored {
            prop_assert_eq!(output(&e), output(&r));
            // the same state (compared as JSON values: some maps are hash maps whose
            // iteration order, and so byte order, depends on their insertion history)
            let state = |e: &Engine| serde_json::from_slice::<serde_json::Value>(&e.snapshot()).unwrap();
            prop_assert_eq!(state(&e), state(&r));
        }
    }
}
