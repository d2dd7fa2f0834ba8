//! Operator commands: every action lands in the timeline with who and when, emits an
//! update, and bad commands change nothing.

use sitrep_core::actions::{Action, Command, CommandError};
use sitrep_core::config::Config;
use sitrep_core::update::{IncidentChange, IncidentState, Update};
use sitrep_core::{Engine, EngineOptions, Event, Input, Severity};

const T0: i64 = 1_795_514_400_000;
const S: i64 = 1000;

fn ev(t: i64, source: &str, check: &str, service: &str, desc: &str) -> Event {
    Event {
        source: source.into(),
        check: check.into(),
        severity: Severity::Major,
        description: desc.into(),
        time: Some(T0 + t),
        service: Some(service.into()),
        ..Event::default()
    }
}

/// Two incidents: INC0-1 (checkout, 3 alerts) and INC0-2 (billing, 2 alerts).
fn setup() -> Engine {
    let mut e = Engine::new(&Config::default(), EngineOptions::default()).unwrap();
    for x in [
        ev(0, "web-1", "http_5xx", "checkout", "checkout returns HTTP 503"),
        ev(
            S,
            "web-2",
            "latency",
            "checkout",
            "checkout latency above objective",
        ),
        ev(
            2 * S,
            "db-1",
            "slow_query",
            "checkout",
            "orders query slow on primary",
        ),
        ev(
            3 * S,
            "db-7",
            "replication",
            "billing",
            "billing replica lagging behind",
        ),
        ev(4 * S, "app-7", "errors", "billing", "billing job failures rising"),
    ] {
        e.process(&x);
    }
    e.drain_updates().for_each(drop);
    assert_eq!(e.incidents().len(), 2);
    e
}

/// An operator command as the input every host hands the engine.
fn cmd(incident: &str, t: i64, action: Action) -> Input {
    Input::Command(command(incident, t, action))
}

fn command(incident: &str, t: i64, action: Action) -> Command {
    Command {
        incident: incident.into(),
        by: "alice".into(),
        time: T0 + t,
        action,
    }
}

fn changes(e: &mut Engine) -> Vec<(String, IncidentChange)> {
    e.drain_updates()
        .filter_map(|u| match u {
            Update::Incident(i) => Some((i.incident.id.to_string(), i.change)),
            _ => None,
        })
        .collect()
}

#[test]
fn acknowledge_assign_comment_resolve_reopen_close() {
    let mut e = setup();
    e.apply(&cmd("INC0-1", 10 * S, Action::Acknowledge)).unwrap();
    e.apply(&cmd("INC0-1", 11 * S, Action::Assign { to: "netops".into() }))
        .unwrap();
    e.apply(&cmd(
        "INC0-1",
        12 * S,
        Action::Comment {
            text: "looking at the LB".into(),
        },
    ))
    .unwrap();
    e.apply(&cmd("INC0-1", 13 * S, Action::Resolve)).unwrap();
    e.apply(&cmd("INC0-1", 14 * S, Action::Reopen)).unwrap();
    e.apply(&cmd("INC0-1", 15 * S, Action::Close)).unwrap();
    let got: Vec<IncidentChange> = changes(&mut e).into_iter().map(|(_, c)| c).collect();
    assert_eq!(
        got,
        [
            IncidentChange::Acknowledged,
            IncidentChange::Assigned,
            IncidentChange::Commented,
            IncidentChange::Resolved,
            IncidentChange::Reopened,
            IncidentChange::Closed
        ]
    );
    let inc = &e.incidents()[0];
    assert_eq!(inc.summary.state, IncidentState::Closed);
    assert_eq!(inc.summary.assignee.as_deref(), Some("netops"));
    let ops: Vec<(&str, Option<&str>, i64)> = inc
        .timeline
        .iter()
        .filter(|t| t.by.is_some())
        .map(|t| (t.what.as_str(), t.by.as_deref(), t.time - T0))
        .collect();
    assert_eq!(ops[0], ("acknowledged", Some("alice"), 10 * S));
    assert_eq!(ops[2].0, "comment: looking at the LB");
    assert_eq!(ops.len(), 6);
}

#[test]
fn invalid_commands_change_nothing() {
    let mut e = setup();
    let before = serde_json::to_string(&e.incidents()).unwrap();
    assert_eq!(
        e.apply(&cmd("INC0-9", S, Action::Acknowledge)),
        Err(CommandError::UnknownIncident("INC0-9".into()))
    );
    assert_eq!(
        e.apply(&cmd("INC3-1", S, Action::Acknowledge)),
        Err(CommandError::UnknownIncident("INC3-1".into()))
    );
    assert!(matches!(
        e.apply(&cmd("INC0-1", 5 * S, Action::Reopen)),
        Err(CommandError::InvalidState { .. })
    ));
    assert!(matches!(
        e.apply(&cmd(
            "INC0-1",
            5 * S,
            Action::Split {
                alerts: vec!["A0-4".into()]
            }
        )),
        Err(CommandError::NotAMember { .. })
    ));
    assert!(matches!(
        e.apply(&cmd(
            "INC0-1",
            5 * S,
            Action::Merge {
                from: "INC0-1".into()
            }
        )),
        Err(CommandError::Invalid(_))
    ));
    assert_eq!(before, serde_json::to_string(&e.incidents()).unwrap());
    assert!(changes(&mut e).is_empty());
}

#[test]
fn merge_split_and_move() {
    let mut e = setup();
    e.apply(&cmd(
        "INC0-1",
        10 * S,
        Action::Merge {
            from: "INC0-2".into(),
        },
    ))
    .unwrap();
    let incs = e.incidents();
    assert_eq!(incs[0].summary.alert_count, 5);
    assert_eq!(incs[1].summary.state, IncidentState::Closed);
    assert!(incs[1].timeline.iter().any(|t| t.what == "merged into INC0-1"));
    let alerts = e.alerts();
    assert!(alerts
        .iter()
        .all(|a| a.incident.map(|i| i.to_string()).as_deref() == Some("INC0-1")));
    assert_eq!(alerts[3].incidents, ["INC0-2", "INC0-1"]);
    let merged = incs[0].members.iter().find(|m| m.alert_id == "A0-4").unwrap();
    assert_eq!(merged.why.kind, "merged");

    e.apply(&cmd(
        "INC0-1",
        20 * S,
        Action::Split {
            alerts: vec!["A0-4".into(), "A0-5".into()],
        },
    ))
    .unwrap();
    let incs = e.incidents();
    assert_eq!(incs.len(), 3);
    assert_eq!(incs[0].summary.alert_count, 3);
    assert_eq!(incs[2].summary.id, "INC0-3");
    assert_eq!(incs[2].summary.alert_count, 2);
    assert_eq!(
        e.alerts()[4].incident.map(|i| i.to_string()).as_deref(),
        Some("INC0-3")
    );

    e.apply(&cmd(
        "INC0-3",
        30 * S,
        Action::MoveAlert {
            alert: "A0-5".into(),
            to: "INC0-1".into(),
        },
    ))
    .unwrap();
    let incs = e.incidents();
    assert_eq!((incs[0].summary.alert_count, incs[2].summary.alert_count), (4, 1));
    assert_eq!(
        e.alerts()[4].incident.map(|i| i.to_string()).as_deref(),
        Some("INC0-1")
    );
    assert!(matches!(
        e.apply(&cmd(
            "INC0-3",
            31 * S,
            Action::MoveAlert {
                alert: "A0-4".into(),
                to: "INC0-1".into()
            }
        )),
        Err(CommandError::Invalid(_))
    ));
    let got = changes(&mut e);
    assert!(got.contains(&("INC0-1".into(), IncidentChange::Merged)));
    assert!(got.contains(&("INC0-3".into(), IncidentChange::Opened)));
    assert!(got.contains(&("INC0-3".into(), IncidentChange::AlertMoved)));
}

#[test]
fn commands_are_part_of_the_snapshot() {
    let cfg = Config::default();
    let mut a = setup();
    a.apply(&cmd("INC0-1", 10 * S, Action::Assign { to: "netops".into() }))
        .unwrap();
    let b = Engine::restore(&cfg, &a.snapshot()).unwrap();
    assert_eq!(
        serde_json::to_string(&a.incidents()).unwrap(),
        serde_json::to_string(&b.incidents()).unwrap()
    );
    let j = serde_json::to_value(command("INC0-1", 0, Action::Assign { to: "x".into() })).unwrap();
    assert_eq!(j["action"], "assign");
    assert_eq!(j["to"], "x");
}

/// Issue 12, operator feedback: merging billing's incident into checkout's teaches the
/// learned recipe that their checks belong together; an hour later the same checks on
/// other hosts and services, 10 s apart and sharing nothing, join — explained by the
/// merge — where an engine never taught leaves them apart. A split teaches the opposite.
#[test]
fn a_merge_teaches_the_learned_recipe_and_a_split_unteaches_it() {
    let later = |e: &mut Engine| {
        e.process(&ev(
            3600 * S,
            "web-9",
            "http_5xx",
            "search",
            "search returns HTTP 503",
        ));
        e.process(&ev(
            3610 * S,
            "db-9",
            "replication",
            "ledger",
            "ledger replica lagging behind",
        ));
        let a = e.alerts();
        let of = |src: &str| a.iter().find(|x| x.source == src).and_then(|x| x.incident);
        (of("web-9"), of("db-9"))
    };
    let mut untaught = setup();
    let (w, d) = later(&mut untaught);
    assert!(w.is_none() || w != d, "apart without a lesson: {w:?} {d:?}");

    let mut e = setup();
    e.apply(&cmd(
        "INC0-1",
        10 * S,
        Action::Merge {
            from: "INC0-2".into(),
        },
    ))
    .unwrap();
    let (w, d) = later(&mut e);
    assert!(w.is_some() && w == d, "together after the merge: {w:?} {d:?}");
    let inc = e
        .incidents()
        .into_iter()
        .find(|i| Some(i.summary.id) == w)
        .unwrap();
    let why = &inc.members[1].why;
    assert_eq!(why.kind, "learned");
    assert!(
        why.evidence[0].contains("learned from the merge of INC0-2 into INC0-1 on 2026-11-24"),
        "{why:?}"
    );

    // splitting them apart twice outweighs the one merge: the pair is vetoed again
    let mut e = setup();
    e.apply(&cmd(
        "INC0-1",
        10 * S,
        Action::Merge {
            from: "INC0-2".into(),
        },
    ))
    .unwrap();
    for (t, alert) in [(20, "A0-4"), (30, "A0-1")] {
        let split = Action::Split {
            alerts: vec![alert.into()],
        };
        let _ = e.apply(&cmd("INC0-1", t * S, split));
    }
    let (w, d) = later(&mut e);
    assert!(w.is_none() || w != d, "apart after the splits: {w:?} {d:?}");
}

/// Issue 15, counts from state: open incidents are open + acknowledged; resolved and
/// closed ones are counted apart; a cleared alert is held but no longer active.
#[test]
fn stats_count_incidents_and_alerts_by_their_current_state() {
    let mut e = setup();
    let s = e.stats();
    assert_eq!(
        (s.incidents_active, s.incidents_resolved, s.incidents_closed),
        (2, 0, 0)
    );
    assert_eq!((s.alerts_active, s.alerts_held), (5, 5));
    e.apply(&cmd("INC0-1", 5 * S, Action::Acknowledge)).unwrap();
    assert_eq!(e.stats().incidents_active, 2, "acknowledged is still open");
    e.apply(&cmd("INC0-2", 6 * S, Action::Resolve)).unwrap();
    let s = e.stats();
    assert_eq!(
        (s.incidents_active, s.incidents_resolved, s.incidents_closed),
        (1, 1, 0)
    );
    e.apply(&cmd("INC0-2", 7 * S, Action::Close)).unwrap();
    let s = e.stats();
    assert_eq!(
        (s.incidents_active, s.incidents_resolved, s.incidents_closed),
        (1, 0, 1)
    );
    let mut clear = ev(8 * S, "web-1", "http_5xx", "checkout", "checkout recovered");
    clear.severity = Severity::Clear;
    e.process(&clear);
    let s = e.stats();
    assert_eq!((s.alerts_active, s.alerts_held), (4, 5));
    // the held count survives a snapshot (and older snapshots' `alerts_active` is read as it)
    let r = Engine::restore(&Config::default(), &e.snapshot()).unwrap();
    assert_eq!(r.stats(), s);
}

/// An incident closed with a comment and then purged is remembered: a later incident with
/// the same root cause lists it first among its similar past incidents, with what the
/// operator did, and says why; an unrelated one is not listed. Part of the snapshot.
#[test]
fn similar_past_incidents_remember_purged_ones_and_how_they_were_handled() {
    let mut e = setup();
    let clear = |t: i64, source: &str, check: &str| Event {
        severity: Severity::Clear,
        ..ev(t, source, check, "checkout", "recovered")
    };
    for x in [
        clear(5 * S, "web-1", "http_5xx"),
        clear(5 * S, "web-2", "latency"),
        clear(5 * S, "db-1", "slow_query"),
    ] {
        e.process(&x);
    }
    let note = Action::Comment {
        text: "failed over the LB pool".into(),
    };
    // every member cleared: it resolved itself; the operator notes and closes it
    e.apply(&cmd("INC0-1", 10 * S, note)).unwrap();
    e.apply(&cmd("INC0-1", 12 * S, Action::Close)).unwrap();
    // a week later: INC0-1 and its alerts are long purged
    let later = 7 * 24 * 3600 * S;
    e.apply(&Input::Tick(T0 + later)).unwrap();
    assert!(e.incident_by_id("INC0-1").is_none(), "purged");
    for x in [
        ev(
            later + S,
            "web-1",
            "http_5xx",
            "checkout",
            "checkout returns HTTP 503",
        ),
        ev(later + 2 * S, "web-2", "latency", "checkout", "slow again"),
        ev(later + 3 * S, "mq-4", "queue_depth", "orders", "queue backing up"),
    ] {
        e.process(&x);
    }
    let now = e.incidents().last().unwrap().summary.id.to_string();
    let similar = e.similar_incidents(&now, 5).unwrap();
    assert!(!similar.is_empty(), "the purged incident is remembered");
    let first = &similar[0];
    assert_eq!(first.id.to_string(), "INC0-1");
    assert!(first.purged);
    assert_eq!(first.root_cause, "http_5xx on web-1");
    assert_eq!(first.reasons[0], "same probable root cause: http_5xx on web-1");
    let handled: Vec<&str> = first.handling.iter().map(|t| t.what.as_str()).collect();
    assert!(
        handled.contains(&"comment: failed over the LB pool"),
        "{handled:?}"
    );
    assert!(
        similar.iter().all(|s| s.id.number != 2),
        "billing shares nothing with it: {similar:?}"
    );
    assert!(e.similar_incidents("INC9-9", 5).is_none());
    // the memory is part of the state
    let back = Engine::restore(&Config::default(), &e.snapshot()).unwrap();
    assert_eq!(back.similar_incidents(&now, 5).unwrap(), similar);
}
