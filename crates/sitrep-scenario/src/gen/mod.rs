//! The scenario generator. A scenario is an estate (see [`crate::topology`]), a timeline,
//! and rates of faults and noise. Faults pick a root node and cascade downstream with
//! per-hop probabilities and jittered delays; every affected node raises one or two alerts
//! that repeat at a polling interval and (mostly) clear when the fault ends. Noise: one-off
//! alerts on random nodes, flapping checks, chatty low-information events, and maintenance
//! work whose alerts fall in a configured maintenance window.
//!
//! Rates are scaled so that the stream reaches the requested number of events within the
//! scenario's timeline (a pilot run at intensity 1 measures the yield first), so a bigger
//! stream means a busier estate, not a longer one: the timeline stays under the engine's
//! default 24 h retention, which keeps `(signature, occurrence)` a unique key.

mod catalogue;
mod ids;

use crate::topology::Estate;
use crate::truth::{AlertTruth, FaultTruth, Truth};
use catalogue::{fault_checks, named_check, opaque_prefix, CHATTY, FLAPPING, ONEOFF};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rustc_hash::FxHashMap;
use sitrep_core::config::{MaintenanceWindow, Matcher, TopologyConfig};
use sitrep_core::time::{format_rfc3339, Millis};
use sitrep_core::{build_signature, Event, Severity};
use std::collections::BTreeMap;

const T0: Millis = 1_795_478_400_000; // 2026-11-24T00:00:00Z
const MIN: Millis = 60_000;
const SEC: Millis = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// Telco network: regions, core routers, aggregation switches, cell sites, services.
    Telco,
    /// Web-scale microservices on Kubernetes clusters.
    Micro,
    /// An alert storm: a large telco estate with many concurrent faults.
    Storm,
    /// Intrusion detection: host and network IDS alerts that never clear, routine false
    /// positives, and multi-phase attacks (see [`ids`]).
    Ids,
}

impl Scenario {
    pub const ALL: [Scenario; 4] = [Scenario::Telco, Scenario::Micro, Scenario::Storm, Scenario::Ids];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::Telco => "telco",
            Scenario::Micro => "micro",
            Scenario::Storm => "storm",
            Scenario::Ids => "ids",
        }
    }

    pub fn parse(s: &str) -> Option<Scenario> {
        Scenario::ALL.into_iter().find(|x| x.name() == s)
    }

    fn params(self) -> Params {
        match self {
            Scenario::Ids => unreachable!("the ids scenario is built by gen::ids"),
            Scenario::Telco => Params {
                hours: 12,
                fault_every: 6 * MIN,
                oneoff_every: 2 * MIN,
                chatty_every: 20 * SEC,
                flappers: 6,
                maintenance: 2,
                poll: (10, 45),
            },
            Scenario::Micro => Params {
                hours: 10,
                fault_every: 8 * MIN,
                oneoff_every: 3 * MIN,
                chatty_every: 15 * SEC,
                flappers: 5,
                maintenance: 2,
                poll: (10, 40),
            },
            Scenario::Storm => Params {
                hours: 3,
                fault_every: 45 * SEC,
                oneoff_every: 30 * SEC,
                chatty_every: 5 * SEC,
                flappers: 10,
                maintenance: 1,
                poll: (5, 30),
            },
        }
    }

    fn estate(self, rng: &mut ChaCha8Rng) -> Estate {
        match self {
            Scenario::Telco => Estate::telco(rng, 6, 12),
            Scenario::Micro => Estate::micro(rng, 6, 8),
            Scenario::Storm => Estate::telco(rng, 8, 16),
            Scenario::Ids => unreachable!("the ids scenario is built by gen::ids"),
        }
    }
}

struct Params {
    hours: i64,
    fault_every: Millis,
    oneoff_every: Millis,
    chatty_every: Millis,
    flappers: usize,
    maintenance: usize,
    poll: (i64, i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Label {
    Fault(u32),
    OneOff,
    Flapping,
    Chatty,
    Maintenance,
    /// A scheduled job's rules, firing together at every run (the `ids` scenario).
    Scheduled,
    /// People at work: users' activities and an administrator's rounds (`ids --people`).
    People,
}

struct GenEvent {
    time: Millis,
    seq: u64,
    event: Event,
    label: Label,
}

pub struct Generated {
    /// Native JSON lines, in time order.
    pub lines: Vec<String>,
    pub truth: Truth,
    pub topology: TopologyConfig,
    pub maintenance: Vec<MaintenanceWindow>,
}

struct Builder<'a> {
    rng: ChaCha8Rng,
    estate: &'a Estate,
    events: Vec<GenEvent>,
    seq: u64,
    poll: (i64, i64),
    /// Until when each node is taken by a fault or maintenance: a node already failing
    /// cannot fail again (its alerts would be one continuous problem, not two).
    busy_until: Vec<Millis>,
    /// `gen --names-in-text`: no place labels; dependants' descriptions name their upstream.
    names_in_text: bool,
}

impl Builder<'_> {
    fn text(&mut self, template: &str) -> String {
        let n = self.rng.gen_range(2..999);
        let ip = format!(
            "10.{}.{}.{}",
            self.rng.gen_range(0..255),
            self.rng.gen_range(0..255),
            self.rng.gen_range(1..255)
        );
        template.replace("{n}", &n.to_string()).replace("{ip}", &ip)
    }

    fn push(&mut self, node: usize, check: &str, sev: Severity, desc: String, time: Millis, label: Label) {
        let n = &self.estate.nodes[node];
        let mut labels: Vec<(compact_str::CompactString, compact_str::CompactString)> = n
            .labels
            .iter()
            .map(|(k, v)| (k.as_str().into(), v.as_str().into()))
            .collect();
        if n.kind == "pod" && !self.names_in_text {
            if let Some(&host) = self.estate.up[node]
                .iter()
                .find(|&&u| self.estate.nodes[u].kind == "node")
            {
                labels.push(("node".into(), self.estate.nodes[host].id.as_str().into()));
            }
        }
        labels.push(("kind".into(), n.kind.into()));
        labels.sort();
        self.seq += 1;
        let manager = match n.kind {
            "pod" | "node" | "service" if n.id.contains("-k") || n.service.is_some() => "prometheus",
            "cell" | "agg-switch" | "core-router" => "snmp",
            _ => "nagios",
        };
        self.events.push(GenEvent {
            time,
            seq: self.seq,
            event: Event {
                source: n.id.as_str().into(),
                check: check.into(),
                severity: sev,
                description: desc,
                time: Some(time),
                service: n.service.as_deref().map(Into::into),
                manager: Some(manager.into()),
                labels,
                id: Some(format!("ev-{}", self.seq).into()),
                ..Event::default()
            },
            label,
        });
    }

    /// One alert (`(check, description template)`) that repeats every poll interval over
    /// `span`, then clears.
    fn alert(
        &mut self,
        node: usize,
        (check, template): (&str, &str),
        sev: Severity,
        span: std::ops::Range<Millis>,
        label: Label,
        clears: bool,
    ) {
        let (start, end) = (span.start, span.end);
        let poll = self.rng.gen_range(self.poll.0..=self.poll.1) * SEC;
        let mut t = start;
        let mut sev_now = sev;
        while t < end {
            let d = self.text(template);
            self.push(node, check, sev_now, d, t, label);
            if sev_now < Severity::Critical && self.rng.gen_bool(0.03) {
                sev_now = Severity::from_level(sev_now as i64 + 1).unwrap_or(sev_now);
            }
            t += poll + self.rng.gen_range(0..3 * SEC);
        }
        if clears {
            let d = format!("{check} recovered");
            let at = end + self.rng.gen_range(0..60 * SEC);
            self.push(node, check, Severity::Clear, d, at, label);
        }
    }

    /// Nodes reached from `root` downstream, with depth and the node that reached them (the
    /// root's is itself), each hop kept with a probability.
    fn cascade(&mut self, root: usize, p: &[f64]) -> Vec<(usize, usize, usize)> {
        let mut out = vec![(root, 0, root)];
        let mut i = 0;
        while i < out.len() {
            let (n, d, _) = out[i];
            i += 1;
            if d >= p.len() {
                continue;
            }
            let downs = self.estate.down[n].clone();
            for m in downs {
                if !out.iter().any(|(x, _, _)| *x == m) && self.rng.gen_bool(p[d]) {
                    out.push((m, d + 1, n));
                }
            }
        }
        out
    }

    fn fault(&mut self, id: u32, root: usize, start: Millis, label: Label) -> Option<FaultTruth> {
        // Independent faults only: none of the root's lineage (ancestors and descendants
        // within three hops) is failing already. When an upstream and a downstream failure
        // coincide nobody, operator or engine, can tell them apart: their truth would be
        // arbitrary. Unrelated concurrent faults elsewhere are common, and kept.
        let mut lineage = vec![root];
        for dir in [&self.estate.up, &self.estate.down] {
            let mut frontier = vec![root];
            for _ in 0..3 {
                frontier = frontier.iter().flat_map(|&n| dir[n].iter().copied()).collect();
                lineage.extend(&frontier);
            }
        }
        if lineage.iter().any(|&n| self.busy_until[n] > start) {
            return None;
        }
        let dur = self.rng.gen_range(10..60) * MIN;
        let end = start + dur;
        let affected: Vec<(usize, usize, usize)> = self
            .cascade(root, &[0.85, 0.6, 0.15])
            .into_iter()
            .filter(|(n, _, _)| self.busy_until[*n] <= start)
            .collect();
        for (n, _, _) in &affected {
            self.busy_until[*n] = end + 10 * MIN;
        }
        for (node, depth, upstream) in affected {
            let kind = self.estate.nodes[node].kind;
            let checks = fault_checks(kind);
            let n_alerts = if depth == 0 { 2 } else { self.rng.gen_range(1..=2) };
            let mut picks: Vec<usize> = (0..checks.len()).collect();
            picks.shuffle(&mut self.rng);
            for &ci in picks.iter().take(n_alerts) {
                let (check, tpl, root_sev, dep_sev) = checks[ci];
                let sev = if depth == 0 { root_sev } else { dep_sev };
                let delay = depth as i64 * self.rng.gen_range(5..45) * SEC + self.rng.gen_range(0..20 * SEC);
                let clear_end = end + depth as i64 * self.rng.gen_range(0..30) * SEC;
                let clears = self.rng.gen_bool(0.97);
                // one of its alerts names what took it down, as devices' and services' own
                // texts do; the upstream node's name is only in the words
                let named;
                let (check, tpl) = if self.names_in_text && depth > 0 && ci == picks[0] {
                    let (c, t) = named_check(kind);
                    named = t.replace("{peer}", &self.estate.nodes[upstream].id);
                    (c, named.as_str())
                } else {
                    (check, tpl)
                };
                self.alert(node, (check, tpl), sev, start + delay..clear_end, label, clears);
            }
        }
        Some(FaultTruth {
            id,
            kind: self.estate.nodes[root].kind.to_string(),
            root: self.estate.nodes[root].id.clone(),
            start,
            end,
            first_event: None,
            alerts: 0,
        })
    }
}

/// Exponential inter-arrival with the given mean.
fn next_gap(rng: &mut ChaCha8Rng, mean: Millis) -> Millis {
    let u: f64 = rng.gen_range(1e-9..1.0);
    ((-u.ln()) * mean as f64).max(1000.0) as Millis
}

fn build(
    scenario: Scenario,
    seed: u64,
    intensity: f64,
    variant: Variant,
) -> (Estate, Vec<GenEvent>, Vec<FaultTruth>, Vec<MaintenanceWindow>) {
    let names_in_text = variant.names_in_text;
    if scenario == Scenario::Ids {
        return ids::build(seed, intensity, variant.people);
    }
    let p = scenario.params();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut estate = scenario.estate(&mut rng);
    if names_in_text {
        make_opaque(&mut estate, &mut ChaCha8Rng::seed_from_u64(seed ^ 0x0bad_cafe));
    }
    let horizon = T0 + p.hours * 60 * MIN;
    let mut b = Builder {
        rng: ChaCha8Rng::seed_from_u64(seed ^ 0x5eed),
        estate: &estate,
        events: Vec::new(),
        seq: 0,
        poll: p.poll,
        busy_until: vec![0; estate.nodes.len()],
        names_in_text,
    };
    let scale = |every: Millis| ((every as f64 / intensity) as Millis).max(200);

    // maintenance: planned work on one site / worker node, inside a configured window
    let mut windows = Vec::new();
    let groups: Vec<usize> = (0..estate.nodes.len())
        .filter(|&i| matches!(estate.nodes[i].kind, "agg-switch" | "node"))
        .collect();
    for w in 0..p.maintenance {
        let root = groups[b.rng.gen_range(0..groups.len())];
        let start = T0 + (w as i64 + 1) * p.hours * 60 * MIN / (p.maintenance as i64 + 1);
        let node = &estate.nodes[root];
        let matcher = if node.kind == "node" {
            Matcher {
                labels: BTreeMap::from([("node".to_string(), node.id.clone())]),
                ..Matcher::default()
            }
        } else {
            let site = node
                .labels
                .iter()
                .find(|(k, _)| k == "site")
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            Matcher {
                labels: BTreeMap::from([("site".to_string(), site)]),
                ..Matcher::default()
            }
        };
        let mut matcher = matcher;
        let affected = b.cascade(root, &[1.0]);
        if b.names_in_text {
            // no labels to match a site or a node's pods by: one window per affected source
            for &(n, _, _) in &affected {
                windows.push(MaintenanceWindow {
                    name: format!("maintenance {} ({})", node.id, estate.nodes[n].id),
                    start: format_rfc3339(start),
                    end: format_rfc3339(start + 60 * MIN),
                    matcher: Matcher {
                        source: Some(estate.nodes[n].id.clone()),
                        ..Matcher::default()
                    },
                });
            }
        } else if node.kind == "node" {
            // the node itself carries no `node` label: match it by source too
            windows.push(MaintenanceWindow {
                name: format!("maintenance {} (host)", node.id),
                start: format_rfc3339(start),
                end: format_rfc3339(start + 60 * MIN),
                matcher: Matcher {
                    source: Some(node.id.clone()),
                    ..Matcher::default()
                },
            });
        }
        if !b.names_in_text {
            windows.push(MaintenanceWindow {
                name: format!("maintenance {}", node.id),
                start: format_rfc3339(start),
                end: format_rfc3339(start + 60 * MIN),
                matcher: std::mem::take(&mut matcher),
            });
        }
        for (n, _, _) in affected {
            if b.busy_until[n] > start {
                continue;
            }
            b.busy_until[n] = start + 65 * MIN;
            let kind = estate.nodes[n].kind;
            let (check, tpl, sev, _) = fault_checks(kind)[0];
            let s = start + 5 * MIN + b.rng.gen_range(0..60 * SEC);
            b.alert(
                n,
                (check, tpl),
                sev,
                s..start + 40 * MIN,
                Label::Maintenance,
                true,
            );
        }
    }
    // Fault roots: weighted toward the kinds whose failures cascade.
    let roots: Vec<usize> = (0..estate.nodes.len())
        .flat_map(|i| {
            let w = match estate.nodes[i].kind {
                "agg-switch" => 6,
                "core-router" => 1,
                "cell" => 1,
                "node" => 3,
                "service" => 2,
                _ => 1,
            };
            std::iter::repeat_n(i, w)
        })
        .collect();
    let mut faults = Vec::new();
    let mut t = T0 + next_gap(&mut b.rng, scale(p.fault_every));
    while t < horizon {
        let root = roots[b.rng.gen_range(0..roots.len())];
        let id = faults.len() as u32 + 1;
        if let Some(f) = b.fault(id, root, t, Label::Fault(id)) {
            faults.push(f);
        }
        t += next_gap(&mut b.rng, scale(p.fault_every));
    }
    // one-off alerts
    let time_servers: Vec<usize> = (0..estate.nodes.len())
        .filter(|&i| matches!(estate.nodes[i].kind, "core-router" | "node"))
        .take(2)
        .collect();
    let mut t = T0 + next_gap(&mut b.rng, scale(p.oneoff_every));
    while t < horizon {
        let node = b.rng.gen_range(0..estate.nodes.len());
        let (check, tpl, sev) = ONEOFF[b.rng.gen_range(0..ONEOFF.len())];
        let repeats = b.rng.gen_range(1..=3);
        let end = t + repeats * 90 * SEC;
        let clears = b.rng.gen_bool(0.5);
        // names that mean nothing for a failure: the clock reference every host polls
        let ntp;
        let tpl = if names_in_text && check == "ntp_drift" && !time_servers.is_empty() {
            let server = time_servers[b.rng.gen_range(0..time_servers.len())];
            ntp = format!(
                "Clock offset {{n}}ms from reference {} exceeds tolerance",
                estate.nodes[server].id
            );
            ntp.as_str()
        } else {
            tpl
        };
        b.alert(node, (check, tpl), sev, t..end, Label::OneOff, clears);
        t += next_gap(&mut b.rng, scale(p.oneoff_every));
    }
    // chatty low-information events
    let mut t = T0 + next_gap(&mut b.rng, scale(p.chatty_every));
    while t < horizon {
        let node = b.rng.gen_range(0..estate.nodes.len());
        let (check, text, sev) = CHATTY[b.rng.gen_range(0..CHATTY.len())];
        b.push(node, check, sev, text.to_string(), t, Label::Chatty);
        t += next_gap(&mut b.rng, scale(p.chatty_every));
    }
    // flapping checks
    let flappers = ((p.flappers as f64 * intensity.max(1.0)).round() as usize).max(1);
    for _ in 0..flappers {
        let node = b.rng.gen_range(0..estate.nodes.len());
        let (check, text) = FLAPPING[b.rng.gen_range(0..FLAPPING.len())];
        let mut t = T0 + b.rng.gen_range(0..p.hours * 60) * MIN;
        let stop = t + b.rng.gen_range(20..90) * MIN;
        let period = b.rng.gen_range(60..240) * SEC;
        while t < stop.min(horizon) {
            b.push(node, check, Severity::Minor, text.to_string(), t, Label::Flapping);
            b.push(
                node,
                check,
                Severity::Clear,
                text.to_string(),
                t + period / 2,
                Label::Flapping,
            );
            t += period + b.rng.gen_range(0..20 * SEC);
        }
    }
    let mut events = b.events;
    events.sort_by_key(|e| (e.time, e.seq));
    (estate, events, faults, windows)
}

/// `gen --names-in-text`: nothing of a node's place in its name or labels. Hosts get an
/// opaque name (a kind prefix and a shuffled number), labels go; services keep their names.
fn make_opaque(estate: &mut Estate, rng: &mut ChaCha8Rng) {
    let mut numbers: Vec<usize> = (0..estate.nodes.len()).collect();
    numbers.shuffle(rng);
    for (node, n) in estate.nodes.iter_mut().zip(numbers) {
        if let Some(prefix) = opaque_prefix(node.kind) {
            node.id = format!("{prefix}{n:04}");
        }
        node.labels.clear();
    }
}

fn label_kind(l: Label) -> &'static str {
    match l {
        Label::Fault(_) => "fault",
        Label::OneOff => "oneoff",
        Label::Flapping => "flapping",
        Label::Chatty => "chatty",
        Label::Maintenance => "maintenance",
        Label::Scheduled => "scheduled",
        Label::People => "people",
    }
}

/// Generates `target` events of `scenario` (fewer if the scenario's timeline ends first,
/// which the pilot run makes unlikely).
pub fn generate(scenario: Scenario, seed: u64, target: usize) -> Generated {
    generate_with(scenario, seed, target, true)
}

/// [`generate`], optionally without the routine noise (one-offs, flapping and chatty
/// checks): a quiet estate whose stream is its failures and maintenance alone, as many
/// small test streams are. Then the failures' own words are the commonest in the stream,
/// which is what the noise score must not hold against them (docs/evaluation.md).
pub fn generate_with(scenario: Scenario, seed: u64, target: usize, routine_noise: bool) -> Generated {
    generate_variant(
        scenario,
        seed,
        target,
        Variant {
            routine_noise,
            ..Variant::default()
        },
    )
}

/// How a generated estate departs from its scenario's usual shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Variant {
    /// One-off, flapping and chatty alerts (false: a quiet estate, [`generate_with`]).
    pub routine_noise: bool,
    /// The estate's structure only in words: hosts with opaque names and no labels, and the
    /// alert of each dependant (its first check picked) naming the upstream node that took it down ("Uplink
    /// interface to sw0042 changed state to down", "12% of calls to cart-3 failing"); a
    /// one-off clock alert names a time server. For streams whose tools put the topology in
    /// their texts. Telco, micro and storm only.
    pub names_in_text: bool,
    /// People at work beside the routine alerts: users' activities and an administrator's
    /// rounds, benign alerts that span hosts (`ids` only; its module documentation).
    pub people: bool,
}

impl Default for Variant {
    fn default() -> Self {
        Variant {
            routine_noise: true,
            names_in_text: false,
            people: false,
        }
    }
}

/// [`generate`] in a [`Variant`].
pub fn generate_variant(scenario: Scenario, seed: u64, target: usize, variant: Variant) -> Generated {
    let routine_noise = variant.routine_noise;
    let build = |intensity: f64| {
        let mut b = build(scenario, seed, intensity, variant);
        if !routine_noise {
            b.1.retain(|e| matches!(e.label, Label::Fault(_) | Label::Maintenance));
        }
        b
    };
    // Fixed parts (maintenance, flappers) make the yield non-linear in intensity: correct a
    // few times until the stream is long enough.
    let mut intensity = 1.0;
    let mut built = build(intensity);
    for round in 0..12 {
        let got = built.1.len().max(1);
        if got >= target && ((got as f64) < target as f64 * 1.3 || round >= 6) {
            break;
        }
        intensity *= (target as f64 / got as f64) * 1.05;
        built = build(intensity);
    }
    let (estate, mut events, mut faults, maintenance) = built;
    events.truncate(target);

    // Truth: replay the engine's occurrence rules over the labelled stream.
    let sig_fields = sitrep_core::Config::default().dedup.signature;
    let mut open: FxHashMap<String, (bool, u32)> = FxHashMap::default();
    let mut alerts = Vec::new();
    let mut first_event: FxHashMap<u32, Millis> = FxHashMap::default();
    let mut sig = String::new();
    let mut events_by_kind: BTreeMap<String, u64> = BTreeMap::new();
    for e in &events {
        *events_by_kind.entry(label_kind(e.label).into()).or_default() += 1;
        if let Label::Fault(f) = e.label {
            first_event.entry(f).or_insert(e.time);
        }
        build_signature(&sig_fields, &e.event, &mut sig);
        let st = open.entry(sig.clone()).or_insert((false, 0));
        if e.event.severity.is_clear() {
            st.0 = false;
        } else if !st.0 {
            st.0 = true;
            st.1 += 1;
            let fault = match e.label {
                Label::Fault(f) => Some(f),
                _ => None,
            };
            let kind = label_kind(e.label);
            alerts.push(AlertTruth {
                signature: sig.clone(),
                occurrence: st.1,
                fault,
                kind: kind.into(),
                first_time: e.time,
            });
        }
    }
    let mut per_fault: FxHashMap<u32, usize> = FxHashMap::default();
    for a in &alerts {
        if let Some(f) = a.fault {
            *per_fault.entry(f).or_default() += 1;
        }
    }
    faults.retain(|f| first_event.contains_key(&f.id));
    for f in &mut faults {
        f.first_event = first_event.get(&f.id).copied();
        f.alerts = per_fault.get(&f.id).copied().unwrap_or(0);
    }
    Generated {
        lines: events.iter().map(|e| e.event.to_native_json()).collect(),
        truth: Truth {
            scenario: scenario.name().into(),
            seed,
            events: events.len() as u64,
            events_by_kind,
            faults,
            alerts,
        },
        topology: estate.to_config(),
        maintenance,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_sized() {
        let a = generate(Scenario::Telco, 7, 5000);
        let b = generate(Scenario::Telco, 7, 5000);
        assert_eq!(a.lines, b.lines);
        assert_eq!(a.lines.len(), 5000);
        let c = generate(Scenario::Telco, 8, 5000);
        assert_ne!(a.lines, c.lines);
    }

    #[test]
    fn stream_has_every_ingredient() {
        for s in Scenario::ALL {
            let g = generate(s, 1, 20_000);
            let kinds: std::collections::BTreeSet<&str> =
                g.truth.alerts.iter().map(|a| a.kind.as_str()).collect();
            let ingredients: &[&str] = match s {
                Scenario::Ids => &["fault", "oneoff", "chatty", "scheduled"],
                _ => &["fault", "oneoff", "chatty", "flapping"],
            };
            for k in ingredients {
                assert!(kinds.contains(k), "{} lacks {k}", s.name());
            }
            assert!(
                g.truth.faults.len() >= 3,
                "{}: {} faults",
                s.name(),
                g.truth.faults.len()
            );
            assert!(
                g.truth.faults.iter().any(|f| f.alerts >= 5),
                "{}: no cascading fault",
                s.name()
            );
            assert_eq!(g.maintenance.is_empty(), s == Scenario::Ids);
            let times: Vec<&str> = g.lines.iter().take(2).map(|l| &l[..]).collect();
            assert!(times[0].contains("\"time\":\"2026-11-24T"));
            // truth alerts are fewer than events: repeats exist
            assert!(g.truth.alerts.len() * 3 < g.lines.len(), "{}", s.name());
        }
    }

    #[test]
    fn people_at_work_come_in_office_hours_and_span_hosts() {
        let people = Variant {
            people: true,
            ..Variant::default()
        };
        let g = generate_variant(Scenario::Ids, 2, 20_000, people);
        let theirs: Vec<&AlertTruth> = g.truth.alerts.iter().filter(|a| a.kind == "people").collect();
        assert!(theirs.len() >= 10, "{} alerts of people at work", theirs.len());
        // an IDS stream's alerts start when someone is at work: none before 07:30
        let day = T0;
        assert!(theirs.iter().all(|a| a.first_time >= day + 450 * MIN));
        let hosts: std::collections::BTreeSet<&str> = theirs
            .iter()
            .map(|a| a.signature.split("::").next().unwrap())
            .collect();
        assert!(hosts.len() >= 5, "people's alerts on {hosts:?}");
        assert_eq!(g.lines, generate_variant(Scenario::Ids, 2, 20_000, people).lines);
        // people's alerts are drawn from a generator of their own: the first attack starts
        // when it does without them
        let without = generate(Scenario::Ids, 2, 20_000);
        assert_eq!(g.truth.faults[0].start, without.truth.faults[0].start);
        assert_eq!(g.truth.faults[0].kind, without.truth.faults[0].kind);
    }
}
