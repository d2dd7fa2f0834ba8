//! correlate::cooccur: evidence from *when* alerts start, for joins that no shared attribute
//! explains. Two statistics over alert starts, kept online in event time, decayed like the
//! attribute statistics (`correlate::learned`) and bounded:
//!
//! - **Classes that start together** (the idea of Moogsoft's Tempus, streaming). An alert's
//!   class is its check. Every start is paired with the other classes that started within
//!   `window_secs` before it, and the pair's decayed count is set against what chance gives
//!   two classes that start independently at their own rates: `λ = 2·w·n_a·n_b / span`. A
//!   pair that has started together before, far more often than chance, is evidence. A
//!   check that fires all the time has a large `n` and so learns no association.
//! - **Bursts of novel alerts.** A start is *novel* when its `(check, source)` has not
//!   started within the decay horizon. In a settled estate novel starts are rare, and many
//!   of them within one window (an attack step, a new failure mode spreading) are far
//!   beyond chance — a Poisson count at the learned rate of novel starts. The novel alerts
//!   of a significant burst are grouped. A young stream, where everything is novel, has a
//!   high rate and forms no burst; so does an estate that churns constantly.
//!
//! Both are tested against chance with the same Chernoff bound as the attribute lift
//! (`max_chance`, `min_lift`). Memory: `max_classes` classes, `max_class_pairs` class pairs
//! and as many `(check, source)` counts, `recent` starts; the least frequent tenth is
//! dropped when a bound is reached (ties by hash: deterministic).

use super::learned::{chernoff, decay_step, prune, sorted_map};
use crate::config::LearnedConfig;
use crate::time::Millis;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct RecentStart {
    time: Millis,
    class: u64,
    novel: bool,
    /// Hash of its source's name (0 in snapshots written before it was kept).
    #[serde(default)]
    source: u64,
}

/// The co-occurrence statistics of one partition; part of the engine snapshot (inside the
/// learned statistics).
/// The counts are hash maps (every start looks up and bumps up to 2 × `max_pairs` pair
/// counts: a tree of 8,192 pairs was a few per cent of the engine's time); every walk over
/// them is per entry (decay) or order-free (`prune`), and they are written sorted,
/// as the trees they were wrote them.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub(crate) struct CoStarts {
    /// Decayed starts per class (check hash).
    #[serde(with = "sorted_map")]
    classes: FxHashMap<u64, f64>,
    /// Decayed starts per `(check, source)` hash: what makes a start novel.
    #[serde(with = "sorted_map")]
    seen: FxHashMap<u64, f64>,
    /// Decayed co-starts per class pair `(smaller hash, larger hash)`.
    #[serde(with = "sorted_pair_map")]
    pairs: FxHashMap<(u64, u64), f64>,
    /// The same, counting only starts on two different sources: what a join of two
    /// sources is judged by. Two checks one device raises together (a switch's
    /// `power_supply_failure` and `device_unreachable`) start together on one source, and
    /// say nothing of two switches whose alerts start together.
    #[serde(default, with = "sorted_pair_map")]
    apart: FxHashMap<(u64, u64), f64>,
    /// Decayed event time observed, in ms: the span the counts were gathered over.
    span_ms: f64,
    /// Decayed novel starts.
    novel: f64,
    last: Option<Millis>,
    decayed_at: Millis,
    recent: VecDeque<RecentStart>,
    /// What operators taught by merging, splitting and moving: per class pair, a weight
    /// (+1 for each time they were put together, −1 for each time they were taken apart)
    /// and the last lesson in words. Not decayed (an operator's judgement does not fade
    /// with a day's traffic); bounded by `max_class_pairs`, the weakest dropped first.
    #[serde(default, with = "pair_map")]
    lessons: BTreeMap<(u64, u64), Lesson>,
    /// Decayed starts per source name hash: the names a description may mention
    /// (`correlate::candidates::mentions`), and how many sources alerts start on
    /// (`novel_per_source`). Bounded by `max_class_pairs`.
    #[serde(default, with = "sorted_map")]
    sources: FxHashMap<u64, f64>,
}

/// One class pair's lesson from operators.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub(crate) struct Lesson {
    pub weight: f64,
    /// The last action that taught it ("the merge of INC0-12 into INC0-7 on 2026-12-03").
    pub from: String,
}

/// The most starts of a check that its rate may give in one window for it to count as rare
/// ([`CoStarts::check_burst`]): fewer than one window in ten sees it start. Chosen on the
/// tuning sets, where a scan's rules gave 0.01 and the symptoms shared by concurrent
/// failures that must stay apart 0.20 (micro's `crash_loop`) to 2.7 (a storm's
/// `s1_link_failure`).
pub const RARE_CHECK: f64 = 0.1;

/// A significant burst of novel starts around the alert being placed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Burst {
    /// Novel starts in the window before this one.
    pub others: f64,
    /// The number chance gives at the learned rate of novel starts.
    pub expected: f64,
    pub chance: f64,
    /// Novel starts per hour, as learned.
    pub per_hour: f64,
}

impl Burst {
    pub fn lift(&self) -> f64 {
        self.others / self.expected.max(1e-9)
    }
}

/// Two classes that start together more often than chance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Association {
    /// Co-starts, this one included.
    pub together: f64,
    pub expected: f64,
    pub chance: f64,
}

impl Association {
    pub fn lift(&self) -> f64 {
        self.together / self.expected.max(1e-9)
    }
}

/// A map keyed by class pairs, written as a list of entries (JSON keys must be strings).
/// Also used for the learned edges (`correlate::edges`).
pub(crate) mod pair_map {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::BTreeMap;

    pub fn serialize<V: Serialize, S: Serializer>(
        m: &BTreeMap<(u64, u64), V>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(m.iter())
    }

    pub fn deserialize<'de, V: Deserialize<'de>, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<(u64, u64), V>, D::Error> {
        let v: Vec<((u64, u64), V)> = Vec::deserialize(d)?;
        Ok(v.into_iter().collect())
    }
}

/// [`pair_map`] of a hash map: written in key order, read into a hash map.
mod sorted_pair_map {
    use rustc_hash::FxHashMap;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<V: Serialize, S: Serializer>(
        m: &FxHashMap<(u64, u64), V>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let mut sorted: Vec<(&(u64, u64), &V)> = m.iter().collect();
        sorted.sort_unstable_by_key(|(k, _)| **k);
        s.collect_seq(sorted)
    }

    pub fn deserialize<'de, V: Deserialize<'de>, D: Deserializer<'de>>(
        d: D,
    ) -> Result<FxHashMap<(u64, u64), V>, D::Error> {
        let v: Vec<((u64, u64), V)> = Vec::deserialize(d)?;
        Ok(v.into_iter().collect())
    }
}

fn pair(a: u64, b: u64) -> (u64, u64) {
    (a.min(b), a.max(b))
}

impl CoStarts {
    /// Whether a start of `(check, source)` hash `key` now would be novel.
    pub fn is_novel(&self, key: u64) -> bool {
        self.seen.get(&key).copied().unwrap_or(0.0) < 0.5
    }

    fn window(cfg: &LearnedConfig) -> f64 {
        cfg.window_secs as f64 * 1000.0
    }

    /// The burst a novel start at `t` would belong to, if it is beyond chance.
    pub fn burst(&self, cfg: &LearnedConfig, t: Millis) -> Option<Burst> {
        let w = Self::window(cfg);
        // a rate needs a span many windows long before it means anything
        if self.span_ms < 10.0 * w {
            return None;
        }
        let others = self
            .recent
            .iter()
            .rev()
            .take_while(|r| (t - r.time) as f64 <= w)
            .filter(|r| r.novel)
            .count() as f64;
        if others < 1.0 {
            return None;
        }
        let expected = self.novel / self.span_ms * w;
        let chance = chernoff(others, expected);
        (chance <= cfg.max_chance && others / expected.max(1e-9) >= cfg.min_lift).then_some(Burst {
            others,
            expected,
            chance,
            per_hour: self.novel / self.span_ms * 3_600_000.0,
        })
    }

    /// Whether `class`, a check rare here ([`RARE_CHECK`]), is starting within the window
    /// before `t` far more often than its own rate gives (its starts in the window, and what
    /// chance gives there): a check new to the estate, or one rare here, starting on host
    /// after host (a scan's rule). A symptom many failures share (`backhaul_degraded` in a
    /// storm, `crash_loop`) is not rare, however it bursts: its burst says nothing of one
    /// cause.
    pub fn check_burst(&self, cfg: &LearnedConfig, class: u64, t: Millis) -> Option<(f64, f64)> {
        let w = Self::window(cfg);
        if self.span_ms < 10.0 * w {
            return None;
        }
        let within = self
            .recent
            .iter()
            .rev()
            .take_while(|r| (t - r.time) as f64 <= w)
            .filter(|r| r.class == class)
            .count() as f64;
        // the rate counts this burst's own starts too: it errs towards chance
        let expected = self.classes.get(&class).copied().unwrap_or(0.0) / self.span_ms * w;
        (within >= 2.0 && expected <= RARE_CHECK && chernoff(within, expected) <= cfg.max_chance)
            .then_some((within, expected))
    }

    /// Starts of `class` its rate here gives in one window (on any source); `None` while
    /// the stream is too young for a rate (a span under ten windows).
    pub fn class_per_window(&self, cfg: &LearnedConfig, class: u64) -> Option<f64> {
        let w = Self::window(cfg);
        if self.span_ms < 10.0 * w {
            return None;
        }
        Some(self.classes.get(&class).copied().unwrap_or(0.0) / self.span_ms * w)
    }

    /// Novel starts chance brings to one source within the window, at this estate's rate of
    /// novel starts spread over the sources alerts start on; `None` while the stream is too
    /// young for a rate (a span under ten windows).
    pub fn novel_per_source(&self, cfg: &LearnedConfig) -> Option<f64> {
        let w = Self::window(cfg);
        if self.span_ms < 10.0 * w {
            return None;
        }
        Some(self.novel / self.span_ms * w / self.sources.len().max(1) as f64)
    }

    /// Whether a start of class `a` now, with a start of class `b` within the window, is
    /// evidence: the two have started together before, more often than chance.
    pub fn association(&self, cfg: &LearnedConfig, a: u64, b: u64) -> Option<Association> {
        self.association_in(&self.pairs, cfg, a, b)
    }

    /// [`Self::association`] counting only co-starts on two different sources: for a join
    /// of two sources.
    pub fn association_apart(&self, cfg: &LearnedConfig, a: u64, b: u64) -> Option<Association> {
        self.association_in(&self.apart, cfg, a, b)
    }

    fn association_in(
        &self,
        pairs: &FxHashMap<(u64, u64), f64>,
        cfg: &LearnedConfig,
        a: u64,
        b: u64,
    ) -> Option<Association> {
        if a == b || self.span_ms < 10.0 * Self::window(cfg) {
            return None;
        }
        let before = pairs.get(&pair(a, b)).copied().unwrap_or(0.0);
        // "again": at least one earlier co-start that has not decayed away
        if before < 0.5 {
            return None;
        }
        let n_a = self.classes.get(&a).copied().unwrap_or(0.0) + 1.0;
        let n_b = self.classes.get(&b).copied().unwrap_or(0.0).max(1.0);
        let together = before + 1.0;
        let expected = 2.0 * Self::window(cfg) * n_a * n_b / self.span_ms;
        let chance = chernoff(together, expected);
        let s = Association {
            together,
            expected,
            chance,
        };
        (chance <= cfg.max_chance && s.lift() >= cfg.min_lift).then_some(s)
    }

    /// Whether `name_hash` is the name of a source that alerts started on recently.
    pub fn is_source(&self, name_hash: u64) -> bool {
        self.sources.contains_key(&name_hash)
    }

    /// Learns the name of a source alerts start on.
    pub fn observe_source(&mut self, cfg: &LearnedConfig, name_hash: u64) {
        *self.sources.entry(name_hash).or_default() += 1.0;
        if self.sources.len() > cfg.max_class_pairs {
            prune(&mut self.sources, cfg.max_class_pairs);
        }
    }

    /// Learns from a start of `class` (and `(check, source)` hash `seen_key`) at `t`, each
    /// on a source of its own.
    #[cfg(test)]
    pub fn observe(&mut self, cfg: &LearnedConfig, t: Millis, class: u64, seen_key: u64) {
        self.observe_start(cfg, t, class, seen_key, seen_key);
    }

    /// Learns from a start of `class` (and `(check, source)` hash `seen_key`) at `t` on the
    /// source whose name hashes to `source`.
    pub fn observe_start(&mut self, cfg: &LearnedConfig, t: Millis, class: u64, seen_key: u64, source: u64) {
        self.decay(cfg, t);
        if let Some(last) = self.last {
            self.span_ms += (t - last).max(0) as f64;
        }
        self.last = Some(self.last.map_or(t, |l| l.max(t)));
        let w = Self::window(cfg);
        while self.recent.front().is_some_and(|r| ((t - r.time) as f64) > w) {
            self.recent.pop_front();
        }
        let mut partners: Vec<(u64, bool)> = self
            .recent
            .iter()
            .rev()
            .filter(|r| r.class != class)
            .take(cfg.max_pairs)
            .map(|r| (r.class, r.source != source))
            .collect();
        partners.sort_unstable();
        // a class counts once per start, and apart when any of its starts was elsewhere
        partners.dedup_by(|later, first| {
            let same = later.0 == first.0;
            if same {
                first.1 |= later.1;
            }
            same
        });
        for (b, elsewhere) in partners {
            *self.pairs.entry(pair(class, b)).or_default() += 1.0;
            if elsewhere {
                *self.apart.entry(pair(class, b)).or_default() += 1.0;
            }
        }
        if self.pairs.len() > cfg.max_class_pairs {
            prune(&mut self.pairs, cfg.max_class_pairs);
        }
        if self.apart.len() > cfg.max_class_pairs {
            prune(&mut self.apart, cfg.max_class_pairs);
        }
        let novel = self.is_novel(seen_key);
        if novel {
            self.novel += 1.0;
        }
        *self.classes.entry(class).or_default() += 1.0;
        if self.classes.len() > cfg.max_classes {
            prune(&mut self.classes, cfg.max_classes);
        }
        *self.seen.entry(seen_key).or_default() += 1.0;
        if self.seen.len() > cfg.max_class_pairs {
            prune(&mut self.seen, cfg.max_class_pairs);
        }
        self.recent.push_back(RecentStart {
            time: t,
            class,
            novel,
            source,
        });
        if self.recent.len() > cfg.recent {
            self.recent.pop_front();
        }
    }

    /// Records an operator's judgement on classes `a` and `b`: `together` (merge, move in)
    /// or apart (split, move out). A class with itself teaches nothing.
    pub fn teach(&mut self, cfg: &LearnedConfig, a: u64, b: u64, together: bool, from: &str) {
        if a == b {
            return;
        }
        let l = self.lessons.entry(pair(a, b)).or_default();
        l.weight += if together { 1.0 } else { -1.0 };
        l.from = from.to_string();
        if self.lessons.len() > cfg.max_class_pairs {
            let mut v: Vec<((u64, u64), f64)> =
                self.lessons.iter().map(|(k, l)| (*k, l.weight.abs())).collect();
            v.sort_by(|x, y| x.1.total_cmp(&y.1).then(x.0.cmp(&y.0)));
            for (k, _) in v
                .iter()
                .take(self.lessons.len() - cfg.max_class_pairs + cfg.max_class_pairs / 10)
            {
                self.lessons.remove(k);
            }
        }
    }

    /// What operators taught about classes `a` and `b`, if anything (weight ≠ 0).
    pub fn lesson(&self, a: u64, b: u64) -> Option<&Lesson> {
        self.lessons.get(&pair(a, b)).filter(|l| l.weight != 0.0)
    }

    /// Entries held: classes, `(check, source)` counts, class pairs.
    #[cfg(test)]
    pub fn len(&self) -> (usize, usize, usize) {
        (self.classes.len(), self.seen.len(), self.pairs.len())
    }

    /// The same stepwise exponential decay as the attribute statistics.
    fn decay(&mut self, cfg: &LearnedConfig, t: Millis) {
        let Some(f) = decay_step(cfg, &mut self.decayed_at, t) else {
            return;
        };
        self.span_ms *= f;
        self.novel *= f;
        for m in [&mut self.classes, &mut self.seen, &mut self.sources] {
            m.retain(|_, c| {
                *c *= f;
                *c >= 0.01
            });
        }
        for m in [&mut self.pairs, &mut self.apart] {
            m.retain(|_, c| {
                *c *= f;
                *c >= 0.01
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Millis = 60_000;

    fn cfg() -> LearnedConfig {
        LearnedConfig::default()
    }

    fn h(s: &str) -> u64 {
        super::super::learned::hash_value(s)
    }

    /// A quiet estate: one routine start every 5 minutes from a handful of checks on a
    /// handful of hosts, so every (check, source) has been seen.
    fn quiet(s: &mut CoStarts, from: Millis, hours: i64) -> Millis {
        let c = cfg();
        let mut t = from;
        for i in 0..hours * 12 {
            let check = format!("routine{}", i % 4);
            let host = format!("h{}", i % 3);
            s.observe(&c, t, h(&check), h(&format!("{check}|{host}")));
            t += 5 * MIN;
        }
        t
    }

    #[test]
    fn checks_one_device_raises_together_are_no_evidence_between_two_devices() {
        let c = cfg();
        let mut s = CoStarts::default();
        let mut t = 1_000_000_000;
        for episode in 0..12 {
            // a switch raises both of its checks, five seconds apart
            let sw = h(&format!("sw{episode}"));
            s.observe_start(&c, t, h("power_supply_failure"), h(&format!("p|{episode}")), sw);
            s.observe_start(
                &c,
                t + 5_000,
                h("device_unreachable"),
                h(&format!("u|{episode}")),
                sw,
            );
            // a router's link and its neighbour's BGP session, on two devices
            let (r, n) = (h(&format!("r{episode}")), h(&format!("n{episode}")));
            s.observe_start(&c, t + 900_000, h("link_down"), h(&format!("l|{episode}")), r);
            s.observe_start(&c, t + 905_000, h("bgp_down"), h(&format!("b|{episode}")), n);
            t += 1_800_000;
        }
        let (power, unreachable) = (h("power_supply_failure"), h("device_unreachable"));
        assert!(
            s.association(&c, power, unreachable).is_some(),
            "together on one device"
        );
        assert_eq!(
            s.association_apart(&c, power, unreachable),
            None,
            "never on two devices"
        );
        let apart = s
            .association_apart(&c, h("link_down"), h("bgp_down"))
            .expect("together on two devices");
        assert!(apart.together >= 10.0, "{apart:?}");
    }

    #[test]
    fn a_burst_of_novel_alerts_in_a_quiet_estate_is_beyond_chance() {
        let c = cfg();
        let mut s = CoStarts::default();
        let t = quiet(&mut s, 1_000_000_000, 48);
        // four never-seen (check, source) pairs within 20 s
        for (i, name) in ["scan", "404", "forbidden", "nmap"].iter().enumerate() {
            let at = t + i as i64 * 5000;
            // at this estate's rate (12 novel starts in two days) two novel starts in a
            // minute could still be chance (p ≈ 0.01); three cannot
            if i == 1 {
                assert_eq!(s.burst(&c, at), None);
            }
            if i > 1 {
                let b = s.burst(&c, at).expect("a burst");
                assert_eq!(b.others, i as f64);
                assert!(b.expected < 0.05 && b.chance < 1e-3, "{b:?}");
            }
            assert!(s.is_novel(h(&format!("{name}|web"))));
            s.observe(&c, at, h(name), h(&format!("{name}|web")));
        }
        // the same checks again a minute later are no longer novel
        assert!(!s.is_novel(h("scan|web")));
    }

    #[test]
    fn a_rare_check_starting_on_host_after_host_is_a_check_burst_and_a_routine_one_is_not() {
        let c = cfg();
        let mut s = CoStarts::default();
        let mut t = quiet(&mut s, 1_000_000_000, 24);
        // a scan hours ago: its rule on three hosts
        for host in ["a", "b", "c"] {
            s.observe(&c, t, h("closed_port"), h(&format!("closed_port|{host}")));
            t += 2000;
        }
        t = quiet(&mut s, t + 5 * MIN, 6);
        // the same rule again, on other hosts: one start is no burst, two are
        s.observe(&c, t, h("closed_port"), h("closed_port|d"));
        assert_eq!(
            s.check_burst(&c, h("closed_port"), t + 1000),
            None,
            "a single start"
        );
        s.observe(&c, t + 20_000, h("closed_port"), h("closed_port|e"));
        let (within, expected) = s.check_burst(&c, h("closed_port"), t + 21_000).expect("a burst");
        assert_eq!(within, 2.0);
        assert!(expected < 0.01, "{expected}");
        // out of the window it is over
        assert_eq!(s.check_burst(&c, h("closed_port"), t + 20_000 + 2 * MIN), None);
        // a routine check (every 20 minutes all day) starting twice within a minute is chance
        s.observe(&c, t + 30_000, h("routine0"), h("routine0|h1"));
        s.observe(&c, t + 40_000, h("routine0"), h("routine0|h2"));
        assert_eq!(s.check_burst(&c, h("routine0"), t + 41_000), None);
    }

    #[test]
    fn a_common_symptom_bursting_is_no_check_burst() {
        let c = cfg();
        let mut s = CoStarts::default();
        // `backhaul_degraded` starts somewhere every four minutes (0.25 a window)…
        let mut t = 1_000_000_000;
        for i in 0..360 {
            s.observe(
                &c,
                t,
                h("backhaul_degraded"),
                h(&format!("backhaul_degraded|s{}", i % 40)),
            );
            t += 4 * MIN;
        }
        // …and six times in half a minute in a storm: far beyond chance, but not rare
        for i in 0..6 {
            s.observe(
                &c,
                t + i * 5000,
                h("backhaul_degraded"),
                h(&format!("backhaul_degraded|x{i}")),
            );
        }
        let expected = s.classes[&h("backhaul_degraded")] / s.span_ms * 60_000.0;
        assert!(
            expected > RARE_CHECK && chernoff(6.0, expected) <= c.max_chance,
            "{expected}"
        );
        assert_eq!(s.check_burst(&c, h("backhaul_degraded"), t + 30_000), None);
    }

    #[test]
    fn a_young_stream_where_everything_is_new_forms_no_burst() {
        let c = cfg();
        let mut s = CoStarts::default();
        let mut t = 1_000_000_000;
        for i in 0..200 {
            assert_eq!(s.burst(&c, t), None, "start {i}");
            s.observe(&c, t, h(&format!("c{i}")), h(&format!("c{i}|x")));
            t += 3000;
        }
    }

    #[test]
    fn classes_that_start_together_again_gain_an_association_and_chatty_ones_do_not() {
        let c = cfg();
        let mut s = CoStarts::default();
        let mut t = 1_000_000_000;
        for episode in 0..12 {
            // the chatty check fires every 20 s, always
            for k in 0..90 {
                s.observe(&c, t + k * 20_000, h("chatty"), h(&format!("chatty|{k}")));
            }
            // once per half hour, `link_down` and then `bgp_down` within 10 s
            s.observe(
                &c,
                t + 600_000,
                h("link_down"),
                h(&format!("link_down|{episode}")),
            );
            if episode < 11 {
                s.observe(&c, t + 610_000, h("bgp_down"), h(&format!("bgp_down|{episode}")));
            }
            t += 1_800_000;
        }
        let a = s
            .association(&c, h("bgp_down"), h("link_down"))
            .expect("associated");
        // eleven co-starts, decayed over six hours
        assert!(a.together >= 10.0 && a.lift() > 10.0, "{a:?}");
        assert_eq!(s.association(&c, h("bgp_down"), h("chatty")), None);
        assert_eq!(s.association(&c, h("link_down"), h("chatty")), None);
        assert_eq!(s.association(&c, h("link_down"), h("link_down")), None);
    }

    #[test]
    fn operators_lessons_add_up_per_pair_and_stay_bounded() {
        let c = LearnedConfig {
            max_class_pairs: 20,
            ..cfg()
        };
        let mut s = CoStarts::default();
        s.teach(&c, 1, 2, true, "the merge of INC0-2 into INC0-1");
        s.teach(&c, 2, 1, true, "the merge of INC0-4 into INC0-3");
        assert_eq!(s.lesson(1, 2).map(|l| l.weight), Some(2.0));
        assert_eq!(s.lesson(2, 1).unwrap().from, "the merge of INC0-4 into INC0-3");
        s.teach(&c, 1, 2, false, "a");
        s.teach(&c, 1, 2, false, "b");
        assert_eq!(s.lesson(1, 2), None, "two merges and two splits cancel");
        s.teach(&c, 5, 5, true, "x");
        assert_eq!(s.lesson(5, 5), None);
        for i in 10..100 {
            s.teach(&c, i, i + 1000, i % 2 == 0, "y");
            assert!(s.lessons.len() <= 20);
        }
    }

    #[test]
    fn the_statistics_survive_a_json_round_trip() {
        let c = cfg();
        let mut s = CoStarts::default();
        let t = quiet(&mut s, 1_000_000_000, 6);
        s.observe(&c, t, h("a"), h("a|x"));
        s.observe(&c, t + 1000, h("b"), h("b|x"));
        s.teach(
            &c,
            h("a"),
            h("b"),
            true,
            "the merge of INC0-2 into INC0-1 on 2026-12-03",
        );
        assert!(!s.pairs.is_empty());
        let json = serde_json::to_string(&s).unwrap();
        let back: CoStarts = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn memory_stays_within_the_bounds() {
        let c = LearnedConfig {
            max_classes: 50,
            max_class_pairs: 200,
            ..cfg()
        };
        let mut s = CoStarts::default();
        let mut t = 1_000_000_000;
        for i in 0..5000u64 {
            s.observe(&c, t, i % 997, i);
            t += 1000;
            let (classes, seen, pairs) = s.len();
            assert!(classes <= 50 && seen <= 200 && pairs <= 200);
            assert!(s.recent.len() <= c.recent);
        }
    }
}
