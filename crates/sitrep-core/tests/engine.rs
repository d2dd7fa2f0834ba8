//! Behaviour of the engine as a whole: dedup, noise, rules, correlation, lifecycle,
//! determinism and snapshots. Time is injected through event times, never slept.

use sitrep_core::config::Config;
use sitrep_core::update::{AlertChange, IncidentChange, IncidentState, Update};
use sitrep_core::{Engine, EngineOptions, Event, Severity};

const T0: i64 = 1_795_514_400_000; // 2026-11-24T10:00:00Z
const S: i64 = 1000;

fn ev(t: i64, source: &str, check: &str, sev: Severity, desc: &str) -> Event {
    Event {
        source: source.into(),
        check: check.into(),
        severity: sev,
        description: desc.into(),
        time: Some(T0 + t),
        ..Event::default()
    }
}

fn svc(mut e: Event, s: &str) -> Event {
    e.service = Some(s.into());
    e
}

fn engine(toml: &str) -> Engine {
    Engine::new(&Config::from_toml(toml).unwrap(), EngineOptions::default()).unwrap()
}

fn run(e: &mut Engine, events: &[Event]) -> Vec<Update> {
    let mut out = Vec::new();
    for x in events {
        e.process(x);
        out.extend(e.drain_updates());
    }
    out
}

fn incident_changes(u: &[Update]) -> Vec<IncidentChange> {
    u.iter()
        .filter_map(|u| match u {
            Update::Incident(i) => Some(i.change),
            _ => None,
        })
        .collect()
}

#[test]
fn duplicates_are_one_alert_and_clear_reraise_counts_occurrences() {
    let mut e = engine("");
    let u = run(
        &mut e,
        &[
            ev(0, "db-1", "disk_full", Severity::Major, "disk 91% full"),
            ev(S, "db-1", "disk_full", Severity::Major, "disk 92% full"),
            ev(2 * S, "db-1", "disk_full", Severity::Critical, "disk 99% full"),
            ev(3 * S, "db-1", "disk_full", Severity::Clear, "disk ok"),
            ev(4 * S, "db-1", "disk_full", Severity::Major, "disk 95% full"),
        ],
    );
    let alerts = e.alerts();
    assert_eq!(alerts.len(), 1);
    let a = &alerts[0];
    assert_eq!(
        (a.count, a.occurrence, a.severity, a.max_severity),
        (5, 2, Severity::Major, Severity::Critical)
    );
    assert_eq!(a.first_time, T0);
    assert_eq!(a.last_time, T0 + 4 * S);
    assert_eq!(a.description, "disk 95% full");
    assert_eq!(a.history.len(), 4);
    let changes: Vec<AlertChange> = u
        .iter()
        .filter_map(|u| match u {
            Update::Alert(a) => Some(a.change),
            _ => None,
        })
        .collect();
    assert_eq!(
        changes,
        [
            AlertChange::Created,
            AlertChange::SeverityChanged,
            AlertChange::Cleared,
            AlertChange::Reraised
        ]
    );
    // sequence numbers are strictly increasing
    assert!(u.windows(2).all(|w| w[0].seq() < w[1].seq()));
}

#[test]
fn dedup_updates_are_throttled_by_event_time() {
    let mut e = engine("[dedup]\nupdate_interval_secs = 10\n");
    let events: Vec<Event> = (0..30)
        .map(|i| ev(i * S, "h", "c", Severity::Minor, "x"))
        .collect();
    let u = run(&mut e, &events);
    let dedups = u
        .iter()
        .filter(|u| matches!(u, Update::Alert(a) if a.change == AlertChange::Deduplicated))
        .count();
    assert_eq!(dedups, 2, "one at 10 s and one at 20 s");
    assert_eq!(e.alerts()[0].count, 30);
}

#[test]
fn flapping_is_detected_and_settles() {
    let mut e = engine("[dedup.flapping]\nchanges = 4\nwindow_secs = 100\n");
    let mut events = Vec::new();
    for i in 0..6 {
        let sev = if i % 2 == 0 {
            Severity::Major
        } else {
            Severity::Clear
        };
        events.push(ev(i * 10 * S, "h", "link", sev, "link state"));
    }
    let u = run(&mut e, &events);
    assert!(u
        .iter()
        .any(|u| matches!(u, Update::Alert(a) if a.change == AlertChange::Flapping)));
    assert!(e.alerts()[0].flapping);
    e.advance(T0 + 50 * S + 101 * S);
    let u: Vec<Update> = e.drain_updates().collect();
    assert!(u
        .iter()
        .any(|u| matches!(u, Update::Alert(a) if a.change == AlertChange::Settled)));
    assert!(!e.alerts()[0].flapping);
}

#[test]
fn same_service_alerts_form_an_incident_with_explanations() {
    let mut e = engine("");
    let u = run(
        &mut e,
        &[
            svc(
                ev(
                    0,
                    "web-1",
                    "http_5xx",
                    Severity::Major,
                    "checkout returns HTTP 503",
                ),
                "checkout",
            ),
            svc(
                ev(
                    20 * S,
                    "db-1",
                    "slow_query",
                    Severity::Critical,
                    "payments query latency high",
                ),
                "checkout",
            ),
        ],
    );
    assert_eq!(incident_changes(&u), [IncidentChange::Opened]);
    let inc = &e.incidents()[0];
    assert_eq!(inc.summary.alert_count, 2);
    assert_eq!(inc.summary.severity, Severity::Critical);
    assert_eq!(inc.summary.recipe, "same-service");
    assert_eq!(inc.summary.root_cause.source, "web-1");
    let why = &inc.members[1].why;
    assert_eq!(why.kind, "attribute");
    assert_eq!(why.gap_ms, 20 * S);
    assert_eq!(why.matched[0].field, "service");
    assert_eq!(why.matched[0].similarity, 1.0);
    assert_eq!(inc.members[0].why.kind, "seed");
    let alerts = e.alerts();
    assert!(alerts.iter().all(|a| a.incident == Some(inc.summary.id)));
}

#[test]
fn single_alert_opens_nothing_and_window_expiry_prevents_late_joins() {
    let mut e = engine("");
    let u = run(
        &mut e,
        &[
            svc(
                ev(
                    0,
                    "web-1",
                    "http_5xx",
                    Severity::Critical,
                    "checkout returns HTTP 503",
                ),
                "checkout",
            ),
            svc(
                ev(
                    500 * S,
                    "db-1",
                    "slow_query",
                    Severity::Major,
                    "payments query latency",
                ),
                "checkout",
            ),
        ],
    );
    assert!(
        incident_changes(&u).is_empty(),
        "beyond the 120 s window: no incident"
    );
}

#[test]
fn single_critical_recipe_opens_alone() {
    let mut e = engine(
        "[[correlation.recipes]]\nname='crit'\nkind='attribute'\nequal=['source']\nsingle_critical=true\n",
    );
    let u = run(
        &mut e,
        &[ev(
            0,
            "core-1",
            "power",
            Severity::Critical,
            "power supply failed",
        )],
    );
    assert_eq!(incident_changes(&u), [IncidentChange::Opened]);
}

#[test]
fn similarity_does_not_chain_transitively() {
    // A~B and B~C by host-name similarity, but A and C are unrelated: C must not join.
    let cfg = r#"
        [[correlation.recipes]]
        name = "hosts"
        kind = "attribute"
        equal = ["check"]
        similar = [{ field = "source", method = "jaccard", threshold = 0.5 }]
    "#;
    let mut e = engine(cfg);
    run(
        &mut e,
        &[
            ev(0, "alpha-bravo", "cpu", Severity::Major, "cpu saturated on node"),
            ev(
                S,
                "alpha-bravo-charlie",
                "cpu",
                Severity::Major,
                "cpu saturated on node",
            ),
            ev(
                2 * S,
                "bravo-charlie-delta",
                "cpu",
                Severity::Major,
                "cpu saturated on node",
            ),
        ],
    );
    let incs = e.incidents();
    assert_eq!(incs.len(), 1);
    let members: Vec<&str> = incs[0].members.iter().map(|m| m.signature.as_str()).collect();
    assert_eq!(members, ["alpha-bravo::cpu", "alpha-bravo-charlie::cpu"]);
    let m = &incs[0].members[1].why.matched[1];
    assert_eq!(m.method, "jaccard");
    assert!(m.similarity >= 0.5 && m.similarity < 1.0);
}

const TOPO: &str = r#"
    [topology]
    edges = [["core-1", "agg-1"], ["agg-1", "cell-1"], ["agg-1", "cell-2"], ["core-1", "agg-2"], ["agg-2", "cell-9"],
             ["cell-1", "svc-voice"], ["lonely-1", "lonely-2"]]
"#;

#[test]
fn topology_groups_dependants_and_names_the_upstream_root_cause() {
    let mut e = engine(TOPO);
    run(
        &mut e,
        &[
            ev(0, "cell-1", "cell_down", Severity::Major, "cell site unreachable"),
            ev(
                5 * S,
                "cell-2",
                "cell_down",
                Severity::Major,
                "cell site unreachable",
            ),
            ev(
                9 * S,
                "agg-1",
                "power",
                Severity::Critical,
                "aggregation switch power supply failed",
            ),
            ev(
                12 * S,
                "svc-voice",
                "degraded",
                Severity::Minor,
                "voice call setup failures rising",
            ),
            ev(14 * S, "lonely-2", "cpu", Severity::Major, "cpu saturated"),
        ],
    );
    let incs = e.incidents();
    assert_eq!(incs.len(), 1);
    let inc = &incs[0];
    assert_eq!(inc.summary.alert_count, 4);
    assert_eq!(inc.summary.root_cause.source, "agg-1");
    assert_eq!(inc.summary.root_cause.reason, "furthest upstream in the topology");
    assert!(inc.summary.title.starts_with("power on agg-1"));
    let agg = inc
        .members
        .iter()
        .find(|m| m.signature.starts_with("agg-1"))
        .unwrap();
    assert_eq!(agg.why.hops, Some(1));
    assert_eq!(agg.why.direction.as_deref(), Some("upstream"));
    let voice = inc
        .members
        .iter()
        .find(|m| m.signature.starts_with("svc-voice"))
        .unwrap();
    assert_eq!(voice.why.kind, "topology");
    assert!(voice.why.hops.unwrap() <= 2);
}

#[test]
fn incident_resolves_reopens_within_grace_then_closes() {
    let mut e = engine("[correlation]\nreopen_grace_secs = 60\n[dedup.flapping]\nchanges = 10\n");
    let a = |t, sev| {
        svc(
            ev(t, "web-1", "http_5xx", sev, "checkout returns HTTP 503"),
            "checkout",
        )
    };
    let b = |t, sev| {
        svc(
            ev(t, "db-1", "slow_query", sev, "payments query latency high"),
            "checkout",
        )
    };
    let u = run(
        &mut e,
        &[
            a(0, Severity::Major),
            b(S, Severity::Major),
            a(10 * S, Severity::Clear),
            b(11 * S, Severity::Clear),
            a(30 * S, Severity::Major), // within grace: reopens
            a(40 * S, Severity::Clear),
        ],
    );
    assert_eq!(
        incident_changes(&u),
        [
            IncidentChange::Opened,
            IncidentChange::Resolved,
            IncidentChange::Reopened,
            IncidentChange::Resolved
        ]
    );
    e.advance(T0 + 40 * S + 60 * S);
    let u: Vec<Update> = e.drain_updates().collect();
    assert_eq!(incident_changes(&u), [IncidentChange::Closed]);
    let inc = &e.incidents()[0];
    assert_eq!(inc.summary.state, IncidentState::Closed);
    assert_eq!(inc.summary.reopen_count, 1);
    // after close, a new raise starts over instead of reopening
    let u = run(
        &mut e,
        &[a(200 * S, Severity::Major), b(201 * S, Severity::Major)],
    );
    assert_eq!(incident_changes(&u), [IncidentChange::Opened]);
    assert_eq!(e.incidents().len(), 2);
}

#[test]
fn low_information_alerts_cannot_start_incidents_but_can_join() {
    let mut e = engine("[noise]\nthreshold = 0.5\njoin_threshold = 0.0\npriority_words = []\n");
    // make "configuration saved" very common
    let events: Vec<Event> = (0..200)
        .map(|i| {
            ev(
                i * S,
                &format!("sw{i}"),
                "config",
                Severity::Warning,
                "configuration saved",
            )
        })
        .collect();
    run(&mut e, &events);
    // two more common ones on one service: no incident (neither may start one)
    let u = run(
        &mut e,
        &[
            svc(
                ev(300 * S, "a-1", "cfg", Severity::Warning, "configuration saved"),
                "billing",
            ),
            svc(
                ev(301 * S, "a-2", "cfg", Severity::Warning, "configuration saved"),
                "billing",
            ),
        ],
    );
    assert!(incident_changes(&u).is_empty());
    let a = e.alerts().into_iter().find(|a| a.source == "a-1").unwrap();
    assert!(a.entropy < 0.5, "{}", a.entropy);
    // an informative alert starts one, and a common one may join it
    let u = run(
        &mut e,
        &[
            svc(
                ev(
                    400 * S,
                    "b-1",
                    "db",
                    Severity::Major,
                    "replication lag exceeds threshold on primary",
                ),
                "billing",
            ),
            svc(
                ev(401 * S, "a-3", "config", Severity::Warning, "configuration saved"),
                "billing",
            ),
        ],
    );
    assert_eq!(incident_changes(&u), [IncidentChange::Opened]);
}

#[test]
fn alerts_below_the_join_threshold_take_no_part() {
    let mut e = engine("[noise]\nthreshold = 0.5\njoin_threshold = 0.2\npriority_words = []\n");
    let events: Vec<Event> = (0..200)
        .map(|i| {
            ev(
                i * S,
                &format!("sw{i}"),
                "config",
                Severity::Warning,
                "configuration saved",
            )
        })
        .collect();
    run(&mut e, &events);
    let u = run(
        &mut e,
        &[
            svc(
                ev(
                    400 * S,
                    "b-1",
                    "db",
                    Severity::Major,
                    "replication lag exceeds threshold on primary",
                ),
                "billing",
            ),
            svc(
                ev(401 * S, "a-3", "config", Severity::Warning, "configuration saved"),
                "billing",
            ),
        ],
    );
    assert!(
        incident_changes(&u).is_empty(),
        "the common alert may not join: no pair, no incident"
    );
}

#[test]
fn maintenance_counts_events_but_opens_nothing() {
    let mut e = engine(
        r#"
        [[maintenance]]
        name = "db patching"
        start = "2026-11-24T10:00:00Z"
        end = "2026-11-24T11:00:00Z"
        match = { service = "billing" }
    "#,
    );
    let u = run(
        &mut e,
        &[
            svc(
                ev(0, "db-1", "down", Severity::Critical, "database down"),
                "billing",
            ),
            svc(
                ev(S, "db-2", "down", Severity::Critical, "database down"),
                "billing",
            ),
            svc(
                ev(2 * S, "db-2", "down", Severity::Critical, "database down"),
                "billing",
            ),
        ],
    );
    assert!(incident_changes(&u).is_empty());
    let alerts = e.alerts();
    assert_eq!(alerts.len(), 2);
    assert!(alerts.iter().all(|a| a.in_maintenance));
    assert_eq!(alerts[1].count, 2);
    assert_eq!(e.stats().maintenance_events, 3);
}

#[test]
fn count_rule_raises_and_clears_a_synthetic_alert() {
    let mut e = engine(
        r#"
        [[rules]]
        name = "auth-bruteforce"
        kind = "count"
        match = { check = "auth_failure" }
        key = ["source"]
        window_secs = 60
        threshold = 5
    "#,
    );
    let events: Vec<Event> = (0..6)
        .map(|i| {
            ev(
                i * 5 * S,
                "bastion-1",
                "auth_failure",
                Severity::Warning,
                "failed password",
            )
        })
        .collect();
    run(&mut e, &events[..5]);
    assert_eq!(e.alerts().len(), 1, "5 in the window is not more than 5");
    run(&mut e, &events[5..]);
    let alerts = e.alerts();
    let syn = alerts
        .iter()
        .find(|a| a.check == "auth-bruteforce")
        .expect("synthetic alert");
    assert_eq!(syn.source, "bastion-1");
    assert_eq!(syn.severity, Severity::Major);
    let why = syn.rule.as_ref().unwrap();
    assert_eq!((why.observed, why.threshold, why.window_secs), (6, 5, 60));
    assert_eq!(syn.manager.as_deref(), Some("sitrep-rules"));
    e.advance(T0 + 25 * S + 61 * S);
    let syn = e
        .alerts()
        .into_iter()
        .find(|a| a.check == "auth-bruteforce")
        .unwrap();
    assert_eq!(syn.state, "cleared");
}

#[test]
fn heartbeat_rule_raises_when_missing_and_clears_when_heard() {
    let mut e = engine(
        r#"
        [[rules]]
        name = "heartbeat-lost"
        kind = "heartbeat"
        match = { check = "heartbeat" }
        key = ["source"]
        interval_secs = 30
        missed = 3
        severity = "critical"
    "#,
    );
    run(
        &mut e,
        &[ev(0, "probe-1", "heartbeat", Severity::Indeterminate, "alive")],
    );
    e.advance(T0 + 89 * S);
    assert!(e.alerts().iter().all(|a| a.check != "heartbeat-lost"));
    e.advance(T0 + 90 * S);
    let syn = e
        .alerts()
        .into_iter()
        .find(|a| a.check == "heartbeat-lost")
        .expect("raised at 90 s");
    assert_eq!(
        (syn.severity, syn.rule.unwrap().observed),
        (Severity::Critical, 3)
    );
    run(
        &mut e,
        &[ev(
            100 * S,
            "probe-1",
            "heartbeat",
            Severity::Indeterminate,
            "alive",
        )],
    );
    let syn = e
        .alerts()
        .into_iter()
        .find(|a| a.check == "heartbeat-lost")
        .unwrap();
    assert_eq!(syn.state, "cleared");
}

#[test]
fn retention_purges_cleared_alerts() {
    let mut e = engine("[dedup]\nretention_secs = 100\n");
    run(
        &mut e,
        &[
            ev(0, "h", "c", Severity::Major, "x"),
            ev(S, "h", "c", Severity::Clear, "x"),
        ],
    );
    e.advance(T0 + 101 * S);
    let u: Vec<Update> = e.drain_updates().collect();
    assert!(u
        .iter()
        .any(|u| matches!(u, Update::Alert(a) if a.change == AlertChange::Purged)));
    assert!(e.alerts().is_empty());
    assert_eq!(e.stats().alerts_purged, 1);
    // the signature is free again: a new alert with a new id
    run(&mut e, &[ev(200 * S, "h", "c", Severity::Major, "x")]);
    assert_eq!(e.alerts()[0].id, "A0-2");
}

fn mixed_stream() -> Vec<Event> {
    let mut v = Vec::new();
    for i in 0..400i64 {
        let host = format!("cell-{}", i % 3 + 1);
        let sev = if i % 17 == 0 {
            Severity::Clear
        } else {
            Severity::Major
        };
        v.push(ev(i * 3 * S, &host, "cell_down", sev, "cell site unreachable"));
        if i % 5 == 0 {
            v.push(ev(
                i * 3 * S + 1,
                "agg-1",
                "power",
                Severity::Critical,
                "power supply failed",
            ));
        }
        if i % 7 == 0 {
            v.push(svc(
                ev(
                    i * 3 * S + 2,
                    &format!("web-{}", i % 4),
                    "http_5xx",
                    Severity::Minor,
                    "HTTP 503",
                ),
                "shop",
            ));
        }
    }
    v
}

fn all_output(e: &Engine, updates: &[Update]) -> String {
    let mut s = String::new();
    for u in updates {
        s.push_str(&serde_json::to_string(u).unwrap());
        s.push('\n');
    }
    s.push_str(&serde_json::to_string(&e.alerts()).unwrap());
    s.push_str(&serde_json::to_string(&e.incidents()).unwrap());
    s
}

#[test]
fn output_is_identical_whatever_the_batching() {
    let events = mixed_stream();
    let mut reference = None;
    for batch in [1usize, 7, 64, 10_000] {
        let mut e = engine(TOPO);
        let mut updates = Vec::new();
        for chunk in events.chunks(batch) {
            for x in chunk {
                e.process(x);
            }
            updates.extend(e.drain_updates());
        }
        let out = all_output(&e, &updates);
        match &reference {
            None => reference = Some(out),
            Some(r) => assert_eq!(r, &out, "batch size {batch} changed the output"),
        }
    }
}

#[test]
fn snapshot_and_restore_continue_exactly() {
    let events = mixed_stream();
    let cfg = Config::from_toml(TOPO).unwrap();
    let mut whole = Engine::new(&cfg, EngineOptions::default()).unwrap();
    let mut updates = Vec::new();
    for x in &events {
        whole.process(x);
    }
    updates.extend(whole.drain_updates());
    let expected = all_output(&whole, &updates);

    let mut first = Engine::new(&cfg, EngineOptions::default()).unwrap();
    let mut updates = Vec::new();
    let half = events.len() / 2;
    for x in &events[..half] {
        first.process(x);
    }
    updates.extend(first.drain_updates());
    let snap = first.snapshot();
    drop(first);
    let mut second = Engine::restore(&cfg, &snap).unwrap();
    for x in &events[half..] {
        second.process(x);
    }
    updates.extend(second.drain_updates());
    assert_eq!(expected, all_output(&second, &updates));
}

#[test]
fn partition_is_part_of_every_id() {
    let mut e = Engine::new(&Config::default(), EngineOptions { partition: 7 }).unwrap();
    run(
        &mut e,
        &[
            svc(ev(0, "a", "x", Severity::Major, "alpha failure"), "s"),
            svc(ev(S, "b", "y", Severity::Major, "beta failure"), "s"),
        ],
    );
    assert_eq!(e.alerts()[0].id, "A7-1");
    assert_eq!(e.incidents()[0].summary.id, "INC7-1");
}

#[test]
fn json_output_mode_writes_the_same_bytes_as_typed_updates() {
    let events = mixed_stream();
    let mut typed = engine(TOPO);
    let mut expected = String::new();
    for x in &events {
        typed.process(x);
    }
    for u in typed.drain_updates() {
        expected.push_str(&serde_json::to_string(&u).unwrap());
        expected.push('\n');
    }
    let mut json = engine(TOPO);
    json.set_json_output(true);
    let mut bytes = Vec::new();
    for (i, x) in events.iter().enumerate() {
        json.process(x);
        if i % 50 == 0 {
            json.take_json_updates(&mut bytes);
        }
    }
    json.take_json_updates(&mut bytes);
    assert_eq!(json.drain_updates().count(), 0);
    assert!(expected.lines().count() > 20);
    assert!(expected.contains("\"type\":\"incident\"") && expected.contains("\"incident\":\"INC0-"));
    assert_eq!(String::from_utf8(bytes).unwrap(), expected);
}

/// The compact form loses nothing: rebuilding full states from its records gives exactly
/// the owned updates, and it writes fewer bytes.
#[test]
fn compact_updates_rebuild_exactly_the_full_ones() {
    use sitrep_core::compact::{AlertStates, AlertUpdateForm, UpdateRecord};
    let mut events = mixed_stream();
    // unknown fields and changing text on some repeats, so that `extra` and the
    // descriptions travel in partial records too
    for (i, x) in events.iter_mut().enumerate() {
        if i % 9 == 0 {
            x.extra = vec![("ticket".into(), serde_json::json!({"n": i}))];
            x.description = format!("{} #{i}", x.description);
        }
    }
    let mut typed = engine(TOPO);
    let mut expected = Vec::new();
    for x in &events {
        typed.process(x);
        expected.extend(typed.drain_updates());
    }
    let mut compact = engine(TOPO);
    compact.set_json_output_form(Some(AlertUpdateForm::Compact {
        full_state_every: 300 * S,
    }));
    let mut bytes = Vec::new();
    for x in &events {
        compact.process(x);
        compact.take_json_updates(&mut bytes);
    }
    let text = String::from_utf8(bytes).unwrap();
    let partial = text.lines().filter(|l| l.contains("\"partial\":true")).count();
    let full_alerts = text
        .lines()
        .filter(|l| l.starts_with("{\"type\":\"alert\"") && !l.contains("\"partial\":true"))
        .count();
    assert!(
        partial > 30 && full_alerts > 10,
        "{partial} partial, {full_alerts} full"
    );
    let mut states = AlertStates::new();
    let rebuilt: Vec<_> = text
        .lines()
        .map(|l| {
            states
                .apply(serde_json::from_str::<UpdateRecord>(l).unwrap())
                .unwrap()
        })
        .collect();
    assert_eq!(rebuilt.len(), expected.len());
    for (r, e) in rebuilt.iter().zip(&expected) {
        assert_eq!(
            serde_json::to_string(r).unwrap(),
            serde_json::to_string(e).unwrap()
        );
    }
    let full_bytes: usize = expected
        .iter()
        .map(|u| serde_json::to_string(u).unwrap().len() + 1)
        .sum();
    assert!(text.len() < full_bytes, "{} vs {full_bytes}", text.len());

    // a reader that starts in the middle holds every changing alert's full state one
    // period later: from there on, every record rebuilds
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len() / 2;
    let t_start = serde_json::from_str::<serde_json::Value>(lines[start]).unwrap()["time"]
        .as_i64()
        .unwrap();
    let mut late = AlertStates::new();
    let mut rebuilt_after_a_period = 0;
    for (i, l) in lines.iter().enumerate().skip(start) {
        let r = late.apply(serde_json::from_str::<UpdateRecord>(l).unwrap());
        let t = serde_json::from_str::<serde_json::Value>(l).unwrap()["time"]
            .as_i64()
            .unwrap();
        if t >= (t_start.div_euclid(300 * S) + 1) * 300 * S {
            let r = r.unwrap_or_else(|e| panic!("line {i}: {e}"));
            assert_eq!(
                serde_json::to_string(&r).unwrap(),
                serde_json::to_string(&expected[i]).unwrap()
            );
            rebuilt_after_a_period += 1;
        }
    }
    assert!(rebuilt_after_a_period > 20, "{rebuilt_after_a_period}");
}

/// Encoded updates rendered elsewhere (the replay's writer thread) are the JSON lines,
/// byte for byte, in either form, whatever the batches they were taken in.
#[test]
fn encoded_updates_render_to_the_json_lines() {
    use sitrep_core::compact::AlertUpdateForm;
    let mut events = mixed_stream();
    for (i, x) in events.iter_mut().enumerate().filter(|(i, _)| i % 11 == 0) {
        x.extra = vec![("ticket".into(), serde_json::json!({"n": i, "s": "a\"b"}))];
    }
    for form in [
        AlertUpdateForm::Full,
        AlertUpdateForm::Compact {
            full_state_every: 120 * S,
        },
    ] {
        let mut direct = engine(TOPO);
        direct.set_json_output_form(Some(form));
        let mut expected = Vec::new();
        let mut encoded = engine(TOPO);
        encoded.set_json_output_form(Some(form));
        let mut rendered = Vec::new();
        for (i, x) in events.iter().enumerate() {
            direct.process(x);
            encoded.process(x);
            if i % 13 == 0 {
                direct.take_json_updates(&mut expected);
                let mut bin = Vec::new();
                encoded.take_encoded_updates(&mut bin);
                sitrep_core::emit::render_json_lines(&bin, &mut rendered);
            }
        }
        direct.take_json_updates(&mut expected);
        let mut bin = Vec::new();
        encoded.take_encoded_updates(&mut bin);
        sitrep_core::emit::render_json_lines(&bin, &mut rendered);
        let text = String::from_utf8(rendered).unwrap();
        assert!(text.contains(r#""ticket":{"n":0,"s":"a\"b"}"#), "extra travels");
        assert!(text.lines().count() > 40, "{}", text.lines().count());
        assert_eq!(text, String::from_utf8(expected).unwrap(), "{form:?}");
    }
}

#[test]
fn alerts_jsonl_writer_matches_the_views() {
    let mut e = engine(TOPO);
    for x in &mixed_stream() {
        e.process(x);
    }
    let mut expected = String::new();
    for a in e.alerts() {
        expected.push_str(&serde_json::to_string(&a).unwrap());
        expected.push('\n');
    }
    let mut bytes = Vec::new();
    e.write_alerts_jsonl(&mut bytes).unwrap();
    assert_eq!(String::from_utf8(bytes).unwrap(), expected);
}

#[test]
fn syslog_templates_become_the_check_and_survive_a_snapshot() {
    use sitrep_core::{InputFormat, Normaliser};
    let cfg = Config::from_toml("[syslog]\ncheck_from = \"template\"\n").unwrap();
    let n = Normaliser::new(&cfg).unwrap();
    let lines = [
        "<38>Nov 24 10:00:01 bastion-1 sshd[101]: Failed password for root from 10.0.0.7 port 5122 ssh2",
        "<38>Nov 24 10:00:03 bastion-1 sshd[102]: Failed password for root from 10.1.2.3 port 6001 ssh2",
        "<38>Nov 24 10:00:05 bastion-1 sshd[103]: Accepted publickey for deploy from 10.0.0.9 port 7000 ssh2",
        "<38>Nov 24 10:00:07 bastion-1 sshd[104]: Failed password for root from 10.9.9.9 port 6002 ssh2",
    ];
    let events: Vec<Event> = lines
        .iter()
        .map(|l| {
            let mut out = Vec::new();
            n.normalise(&InputFormat::Syslog, l.as_bytes(), T0, &mut out);
            out.pop().unwrap().unwrap()
        })
        .collect();
    assert!(events[0].mine_template);
    let mut whole = Engine::new(&cfg, EngineOptions::default()).unwrap();
    for e in &events {
        whole.process(e);
    }
    let alerts = whole.alerts();
    assert_eq!(
        alerts.len(),
        2,
        "{:?}",
        alerts.iter().map(|a| &a.check).collect::<Vec<_>>()
    );
    let failed = alerts
        .iter()
        .find(|a| a.check.starts_with("Failed password"))
        .unwrap();
    assert_eq!(
        failed.check, "Failed password for root from <*> port <*>",
        "ssh2 has a digit: masked by shape, and one run of variables with the port"
    );
    assert_eq!(failed.count, 3);
    assert!(
        failed
            .labels
            .contains(&("p1".to_string(), "10.0.0.7".to_string())),
        "labels are the first event's"
    );
    assert!(failed.labels.contains(&("app".to_string(), "sshd".to_string())));
    // the template state is part of the snapshot
    let mut first = Engine::new(&cfg, EngineOptions::default()).unwrap();
    for e in &events[..2] {
        first.process(e);
    }
    let mut second = Engine::restore(&cfg, &first.snapshot()).unwrap();
    for e in &events[2..] {
        second.process(e);
    }
    assert_eq!(
        serde_json::to_string(&second.alerts()).unwrap(),
        serde_json::to_string(&alerts).unwrap()
    );
}

#[test]
fn unknown_event_fields_reach_the_alert() {
    let mut e = engine("");
    let mut x = ev(0, "db-1", "disk", Severity::Major, "disk full");
    x.extra = vec![
        ("ticket".into(), serde_json::json!({"id": 7})),
        ("runbook".into(), "http://wiki/disk".into()),
    ];
    let plain = ev(S, "db-1", "disk", Severity::Major, "disk full");
    run(&mut e, &[x.clone(), plain]);
    let a = &e.alerts()[0];
    let extra = a.extra.as_ref().expect("kept");
    assert_eq!(extra["ticket"]["id"], 7);
    assert_eq!(extra["runbook"], "http://wiki/disk");
    // the JSON-lines mode writes the same
    let mut j = engine("");
    j.set_json_output(true);
    j.process(&x);
    let mut bytes = Vec::new();
    j.take_json_updates(&mut bytes);
    assert!(String::from_utf8(bytes)
        .unwrap()
        .contains(r#""extra":{"runbook":"http://wiki/disk","ticket":{"id":7}}"#));
}

/// A cleared alert still says what it was raised with: its first severity, its worst, and
/// the text of the raise beside the clear's text; a re-raise starts over.
#[test]
fn a_cleared_alert_keeps_the_severity_and_text_it_was_raised_with() {
    let mut e = engine("");
    run(
        &mut e,
        &[
            ev(0, "as1.ams", "link", Severity::Major, "Te0/1 to cr2.fra down"),
            ev(
                S,
                "as1.ams",
                "link",
                Severity::Critical,
                "Te0/1 to cr2.fra down, 3 flaps",
            ),
            ev(2 * S, "as1.ams", "link", Severity::Clear, "Te0/1 up"),
        ],
    );
    let a = e.alert_by_id("A0-1").unwrap();
    assert_eq!(a.state, "cleared");
    assert_eq!(a.description, "Te0/1 up");
    assert_eq!(
        a.raised_description.as_deref(),
        Some("Te0/1 to cr2.fra down, 3 flaps")
    );
    assert_eq!(a.first_severity, Severity::Major);
    assert_eq!(a.max_severity, Severity::Critical);
    let json = serde_json::to_value(&a).unwrap();
    assert_eq!(json["raised_description"], "Te0/1 to cr2.fra down, 3 flaps");
    assert_eq!(json["first_severity"], "major");
    // the snapshot keeps it
    let back = Engine::restore(&Config::default(), &e.snapshot()).unwrap();
    assert_eq!(back.alert_by_id("A0-1").unwrap(), a);
    run(
        &mut e,
        &[ev(3 * S, "as1.ams", "link", Severity::Minor, "Te0/1 errors")],
    );
    let a = e.alert_by_id("A0-1").unwrap();
    assert_eq!(a.raised_description, None);
    assert_eq!(a.first_severity, Severity::Minor);
}
