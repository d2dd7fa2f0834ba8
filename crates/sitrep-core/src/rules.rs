//! rules: stateful per-key rules over each key's recent history, evaluated as events arrive.
//! A rule that fires produces a synthetic event (manager `sitrep-rules`) that is then
//! deduplicated and correlated like any other, with the rule and the window's figures as its
//! explanation.
//!
//! - `count`: more than `threshold` matching events for one key within `window_secs`
//!   (covers rates: 20 trades per user in 10 s). Only the newest `threshold + 1` times per key
//!   are kept, which is all the test needs. Clears once the window holds no more than the
//!   threshold; an idle key's history is dropped.
//! - `heartbeat`: a key seen before sends nothing for `missed × interval_secs`; clears when
//!   it is heard again.
//!
//! The per-key history is part of the engine's state (snapshotted with it).

use crate::config::RuleKind;
use crate::engine::{Compiled, Env};
use crate::event::Event;
use crate::severity::Severity;
use crate::time::Millis;
use crate::timers::Timer;
use crate::update::RuleExplanation;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, Deserialize)]
enum KeyState {
    Count {
        times: Vec<Millis>,
        firing: bool,
        service: Option<Box<str>>,
    },
    Heartbeat {
        last_seen: Millis,
        missing: bool,
        service: Option<Box<str>>,
    },
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct RuleEngine {
    keys: Vec<BTreeMap<Box<str>, KeyState>>,
}

impl RuleEngine {
    pub fn new(rules: usize) -> RuleEngine {
        RuleEngine {
            keys: vec![BTreeMap::new(); rules],
        }
    }
}

fn rule_key(fields: &[String], ev: &Event) -> Option<String> {
    let mut k = String::new();
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            k.push('/');
        }
        k.push_str(ev.field(f)?);
    }
    Some(k)
}

fn count_in_window(times: &[Millis], now: Millis, window: Millis) -> usize {
    times.iter().filter(|&&x| x > now - window && x <= now).count()
}

/// The synthetic event a rule raises (or clears) for a key, with its explanation.
fn synthetic(
    c: &Compiled,
    ri: usize,
    key: &str,
    sev: Severity,
    observed: u64,
    service: Option<&str>,
) -> (Event, RuleExplanation) {
    let (r, _) = &c.rules[ri];
    let (threshold, window, text) = match r.kind {
        RuleKind::Count => (
            r.threshold as u64,
            r.window_secs,
            format!(
                "{}: {} matching events within {} s (threshold {}) for {}",
                r.name, observed, r.window_secs, r.threshold, key
            ),
        ),
        RuleKind::Heartbeat => (
            r.missed as u64,
            r.interval_secs * r.missed as u64,
            format!(
                "{}: no heartbeat from {} for {} intervals of {} s",
                r.name, key, observed, r.interval_secs
            ),
        ),
    };
    let ev = Event {
        source: key.into(),
        check: r.check.as_deref().unwrap_or(&r.name).into(),
        severity: sev,
        description: text,
        service: service.map(Into::into),
        manager: Some("sitrep-rules".into()),
        labels: vec![("rule".into(), r.name.as_str().into())],
        ..Event::default()
    };
    let why = RuleExplanation {
        rule: r.name.clone(),
        kind: match r.kind {
            RuleKind::Count => "count",
            RuleKind::Heartbeat => "heartbeat",
        }
        .into(),
        key: key.to_string(),
        observed,
        threshold,
        window_secs: window,
    };
    (ev, why)
}

impl RuleEngine {
    /// Feeds one event to every matching rule; returns the synthetic events to ingest.
    pub(crate) fn apply(&mut self, env: &mut Env, ev: &Event, t: Millis) -> Vec<(Event, RuleExplanation)> {
        let mut out = Vec::new();
        for ri in 0..env.c.rules.len() {
            let (r, m) = &env.c.rules[ri];
            if !m.matches(ev) {
                continue;
            }
            let Some(key) = rule_key(&r.key, ev) else { continue };
            let c = env.c.clone();
            let r = &c.rules[ri].0;
            let service = ev.service.as_deref().map(Box::<str>::from);
            match r.kind {
                RuleKind::Count => {
                    let window = r.window_secs as i64 * 1000;
                    let entry = self.keys[ri]
                        .entry(key.as_str().into())
                        .or_insert(KeyState::Count {
                            times: Vec::new(),
                            firing: false,
                            service: None,
                        });
                    let KeyState::Count {
                        times,
                        firing,
                        service: svc,
                    } = entry
                    else {
                        continue;
                    };
                    let pos = times.partition_point(|&x| x <= t);
                    times.insert(pos, t);
                    if times.len() > r.threshold + 1 {
                        times.remove(0);
                    }
                    *svc = service;
                    let n = count_in_window(times, t, window);
                    let fire = !*firing && n > r.threshold;
                    if n > r.threshold {
                        *firing = true;
                    }
                    let svc = svc.clone();
                    if fire {
                        out.push(synthetic(&c, ri, &key, r.severity, n as u64, svc.as_deref()));
                    }
                    env.schedule(
                        t + window,
                        Timer::Rule {
                            rule: ri as u16,
                            key: key.into(),
                        },
                    );
                }
                RuleKind::Heartbeat => {
                    let deadline = (r.interval_secs * r.missed as u64) as i64 * 1000;
                    let entry = self.keys[ri]
                        .entry(key.as_str().into())
                        .or_insert(KeyState::Heartbeat {
                            last_seen: t,
                            missing: false,
                            service: None,
                        });
                    let KeyState::Heartbeat {
                        last_seen,
                        missing,
                        service: svc,
                    } = entry
                    else {
                        continue;
                    };
                    *last_seen = (*last_seen).max(t);
                    *svc = service;
                    let was_missing = std::mem::replace(missing, false);
                    let svc = svc.clone();
                    if was_missing {
                        out.push(synthetic(&c, ri, &key, Severity::Clear, 0, svc.as_deref()));
                    }
                    env.schedule(
                        t + deadline,
                        Timer::Rule {
                            rule: ri as u16,
                            key: key.into(),
                        },
                    );
                }
            }
        }
        out
    }

    /// A rule's deadline for a key: returns the clear (count fell back) or the missed
    /// heartbeat to ingest, if any.
    pub(crate) fn on_timer(
        &mut self,
        c: &Compiled,
        now: Millis,
        ri: u16,
        key: &str,
    ) -> Option<(Event, RuleExplanation)> {
        let r = &c.rules[ri as usize].0;
        let state = self.keys[ri as usize].get_mut(key)?;
        let mut emit = None;
        match state {
            KeyState::Count {
                times,
                firing,
                service,
            } => {
                let window = r.window_secs as i64 * 1000;
                let n = count_in_window(times, now, window);
                if *firing && n <= r.threshold {
                    *firing = false;
                    emit = Some((Severity::Clear, n as u64, service.clone()));
                }
                if times.last().is_none_or(|&last| last + window <= now) && !*firing {
                    self.keys[ri as usize].remove(key);
                }
            }
            KeyState::Heartbeat {
                last_seen,
                missing,
                service,
            } => {
                let interval = r.interval_secs as i64 * 1000;
                let deadline = interval * r.missed as i64;
                if !*missing && *last_seen + deadline <= now {
                    *missing = true;
                    let intervals = ((now - *last_seen) / interval.max(1)) as u64;
                    emit = Some((r.severity, intervals, service.clone()));
                }
            }
        }
        emit.map(|(sev, observed, service)| synthetic(c, ri as usize, key, sev, observed, service.as_deref()))
    }
}
