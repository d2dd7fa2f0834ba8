//! template: online log-template mining, the technique of Drain (He et al., ICWS 2017) and
//! IBM's Drain3, so that free text becomes a stable check: `Connection from 10.0.0.7 closed
//! after 3 s` and `Connection from 10.1.2.3 closed after 9 s` are one template,
//! `Connection from <*> closed after <*> s`, with the variables as parameters.
//!
//! 1. **Masking** before clustering: every run of digits (with the letters of a hex string
//!    or UUID around it), IP addresses with ports, `0x…` numbers, day and month names become
//!    `<*>`; a token made only of such parts and separators collapses to one `<*>`. Most of
//!    the accuracy comes from here: variables are recognised by shape, not by position.
//!    Plain words are presumed constant: a line whose words differ from a template's needs
//!    the higher `word_similarity`, and `key=word` values never generalise.
//! 2. **Clusters** are grouped by token count and first token (Drain's fixed-depth tree
//!    with depth 1); within a group the best cluster by position-wise token similarity wins
//!    if it reaches `similarity`, and its template turns differing positions into `<*>`.
//! 3. **Bounded**: at most `max_clusters`; the least recently used is evicted.
//!
//! Deterministic, no I/O; the state is serde-serialisable like the rest of the engine.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

pub const WILDCARD: &str = "<*>";

/// A plain word: letters only (trailing punctuation allowed), or `key=word`.
fn is_word(t: &str) -> bool {
    let t = t.trim_end_matches(|c: char| matches!(c, '.' | ',' | ':' | ';' | '!' | '?'));
    let t = t.split_once('=').map_or(t, |(_, v)| v);
    !t.is_empty() && t.chars().all(|c| c.is_alphabetic())
}

fn same_key_word_values(a: &str, b: &str) -> bool {
    match (a.split_once('='), b.split_once('=')) {
        (Some((ka, va)), Some((kb, vb))) => ka == kb && !va.is_empty() && !vb.is_empty(),
        _ => false,
    }
}

const CALENDAR: [&str; 19] = [
    "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
    "Oct", "Nov", "Dec",
];

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TemplateConfig {
    /// Least share of positions equal to a cluster's template for a line to join it…
    pub similarity: f64,
    /// … and when two plain words (letters only) differ at some position: words are
    /// usually the constant part of a message (`Starting`/`Ending`, `true`/`false`), so
    /// it takes more evidence to call one a variable.
    pub word_similarity: f64,
    pub max_clusters: usize,
    /// Lines are cut to this many tokens before mining.
    pub max_tokens: usize,
}

impl Default for TemplateConfig {
    fn default() -> Self {
        TemplateConfig { similarity: 0.5, word_similarity: 0.8, max_clusters: 50_000, max_tokens: 128 }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Cluster {
    id: u32,
    template: Vec<String>,
    size: u64,
    last_used: u64,
}

/// What mining a line gives: the cluster id, its template now, and the line's values at
/// the template's wildcard positions.
#[derive(Debug, Clone, PartialEq)]
pub struct Mined {
    pub cluster: u32,
    pub template: String,
    pub params: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(into = "MinerState", from = "MinerState")]
pub struct TemplateMiner {
    cfg: TemplateConfig,
    clusters: FxHashMap<u32, Cluster>,
    /// (token count, first token or `<*>`) → cluster ids, oldest first.
    groups: FxHashMap<(usize, String), Vec<u32>>,
    next_id: u32,
    clock: u64,
}

/// The serialised form: clusters in id order; the groups are rebuilt from them.
#[derive(Serialize, Deserialize)]
struct MinerState {
    cfg: TemplateConfig,
    clusters: Vec<Cluster>,
    next_id: u32,
    clock: u64,
}

impl From<TemplateMiner> for MinerState {
    fn from(m: TemplateMiner) -> MinerState {
        let mut clusters: Vec<Cluster> = m.clusters.into_values().collect();
        clusters.sort_by_key(|c| c.id);
        MinerState { cfg: m.cfg, clusters, next_id: m.next_id, clock: m.clock }
    }
}

impl From<MinerState> for TemplateMiner {
    fn from(s: MinerState) -> TemplateMiner {
        let mut m = TemplateMiner::new(s.cfg);
        m.next_id = s.next_id;
        m.clock = s.clock;
        for c in s.clusters {
            m.groups.entry(group_key(&c.template)).or_default().push(c.id);
            m.clusters.insert(c.id, c);
        }
        m
    }
}

fn group_key(tokens: &[String]) -> (usize, String) {
    let first = match tokens.first() {
        Some(t) if !t.contains(WILDCARD) => t.clone(),
        _ => WILDCARD.to_string(),
    };
    (tokens.len(), first)
}

/// Splits a line into tokens (whitespace) and masks variables within each token.
pub fn mask_tokens(line: &str, max_tokens: usize, out: &mut Vec<String>) {
    out.clear();
    for raw in line.split_whitespace().take(max_tokens) {
        out.push(mask_token(raw));
    }
}

fn is_sep(c: char) -> bool {
    matches!(c, '.' | ':' | '-' | '_' | '/' | ',' | '+' | '=' | '#' | '@')
}

/// Masks digit runs (and hex strings) inside one token; a token with nothing but
/// variables and separators becomes a single `<*>`.
pub fn mask_token(tok: &str) -> String {
    if !tok.bytes().any(|b| b.is_ascii_digit()) {
        // day and month names are parts of dates
        if CALENDAR.contains(&tok) {
            return WILDCARD.to_string();
        }
        return tok.to_string();
    }
    // Split into alphanumeric words and separators; a word holding a digit is a variable.
    let mut out = String::with_capacity(tok.len());
    let mut word = String::new();
    let mut any_literal = false;
    let flush = |word: &mut String, out: &mut String, any_literal: &mut bool| {
        if word.is_empty() {
            return;
        }
        let digit = word.bytes().any(|b| b.is_ascii_digit());
        if digit {
            // keep a leading alphabetic prefix of up to 3 letters only when the rest is
            // decimal (e.g. `blk` in blk_123 is split already; `v2` stays variable)
            if !out.ends_with(WILDCARD) {
                out.push_str(WILDCARD);
            }
        } else {
            out.push_str(word);
            *any_literal = true;
        }
        word.clear();
    };
    for c in tok.chars() {
        if c.is_alphanumeric() {
            word.push(c);
        } else {
            flush(&mut word, &mut out, &mut any_literal);
            if is_sep(c) && (out.ends_with(WILDCARD)) {
                // a separator right after a variable: keep it pending; a following
                // variable swallows it (10.0.0.1:80 → <*>)
                out.push(c);
            } else {
                out.push(c);
            }
        }
    }
    flush(&mut word, &mut out, &mut any_literal);
    // collapse `<*>` SEP `<*>` chains
    let mut collapsed = out.clone();
    loop {
        let mut changed = false;
        for sep in ['.', ':', '-', '_', '/', ',', '+', '='] {
            let pat = format!("{WILDCARD}{sep}{WILDCARD}");
            if collapsed.contains(&pat) {
                collapsed = collapsed.replace(&pat, WILDCARD);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    if !any_literal && collapsed.chars().all(|c| is_sep(c) || "<*>".contains(c)) {
        return WILDCARD.to_string();
    }
    collapsed
}

/// (similarity, wildcard positions, whether two plain words differ somewhere).
fn similarity(template: &[String], tokens: &[String]) -> (f64, usize, bool) {
    if template.is_empty() && tokens.is_empty() {
        return (1.0, 0, false);
    }
    let mut same = 0;
    let mut wild = 0;
    let mut word_mismatch = 0;
    for (a, b) in template.iter().zip(tokens) {
        if a == WILDCARD {
            wild += 1;
        } else if a == b {
            same += 1;
        } else if is_word(a) && is_word(b) {
            word_mismatch += 1;
            if same_key_word_values(a, b) {
                // `user=root` vs `user=test`: a named field with word values is a constant
                return (0.0, 0, true);
            }
        }
    }
    let n = template.len().max(1);
    // Drain's seqDist counts equal non-wildcard positions; wildcards count as half a match
    // so that a template that has generalised does not lose every line to a newcomer.
    let sim = (same as f64 + wild as f64 * 0.5) / n as f64;
    (sim, wild, word_mismatch > 0)
}

impl TemplateMiner {
    pub fn new(cfg: TemplateConfig) -> TemplateMiner {
        TemplateMiner { cfg, clusters: FxHashMap::default(), groups: FxHashMap::default(), next_id: 1, clock: 0 }
    }

    pub fn len(&self) -> usize {
        self.clusters.len()
    }

    pub fn is_empty(&self) -> bool {
        self.clusters.is_empty()
    }

    /// Mines one line: finds or creates its cluster and returns the template.
    pub fn mine(&mut self, line: &str) -> Mined {
        let mut tokens = Vec::new();
        mask_tokens(line, self.cfg.max_tokens, &mut tokens);
        let raw: Vec<&str> = line.split_whitespace().take(self.cfg.max_tokens).collect();
        self.mine_tokens(tokens, &raw)
    }

    /// `raw` are the unmasked tokens, the parameters' values.
    pub fn mine_tokens(&mut self, tokens: Vec<String>, raw: &[&str]) -> Mined {
        self.clock += 1;
        let key = group_key(&tokens);
        let mut best: Option<(u32, f64, usize)> = None;
        if let Some(ids) = self.groups.get(&key) {
            for id in ids {
                let c = &self.clusters[id];
                let (sim, wild, words_differ) = similarity(&c.template, &tokens);
                let needed = if words_differ { self.cfg.word_similarity } else { self.cfg.similarity };
                if sim >= needed
                    && best.is_none_or(|(_, bs, bw)| sim > bs || (sim == bs && wild > bw))
                {
                    best = Some((*id, sim, wild));
                }
            }
        }
        let id = match best {
            Some((id, _, _)) => {
                let clock = self.clock;
                let c = self.clusters.get_mut(&id).expect("grouped cluster");
                for (t, tok) in c.template.iter_mut().zip(&tokens) {
                    if t != tok && t != WILDCARD {
                        *t = WILDCARD.to_string();
                    }
                }
                c.size += 1;
                c.last_used = clock;
                id
            }
            None => {
                if self.clusters.len() >= self.cfg.max_clusters {
                    self.evict();
                }
                let id = self.next_id;
                self.next_id = self.next_id.wrapping_add(1).max(1);
                self.clusters.insert(id, Cluster { id, template: tokens.clone(), size: 1, last_used: self.clock });
                self.groups.entry(key).or_default().push(id);
                id
            }
        };
        let c = &self.clusters[&id];
        let params = c
            .template
            .iter()
            .zip(raw)
            .filter(|(t, _)| *t == WILDCARD)
            .map(|(_, v)| v.to_string())
            .collect();
        Mined { cluster: id, template: c.template.join(" "), params }
    }

    fn evict(&mut self) {
        let Some((&id, _)) = self.clusters.iter().min_by_key(|(id, c)| (c.last_used, **id)) else { return };
        let c = self.clusters.remove(&id).expect("present");
        if let Some(v) = self.groups.get_mut(&group_key(&c.template)) {
            v.retain(|x| *x != id);
        }
    }

    /// The current template of a cluster.
    pub fn template(&self, cluster: u32) -> Option<String> {
        self.clusters.get(&cluster).map(|c| c.template.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn masks_variables_by_shape() {
        assert_eq!(mask_token("10.251.42.84:50010"), "<*>");
        assert_eq!(mask_token("blk_-6952295868487656571"), "blk_-<*>");
        assert_eq!(mask_token("blk_38865049064139660"), "blk_<*>");
        assert_eq!(mask_token("rhost=218.188.2.4"), "rhost=<*>");
        assert_eq!(mask_token("0x1f3a"), "<*>");
        assert_eq!(mask_token("PacketResponder"), "PacketResponder");
        assert_eq!(mask_token("3s"), "<*>");
        assert_eq!(mask_token("550e8400-e29b-41d4-a716-446655440000"), "<*>");
    }

    #[test]
    fn the_issue_example_is_one_template() {
        let mut m = TemplateMiner::new(TemplateConfig::default());
        let a = m.mine("Connection from 10.0.0.7 closed after 3 s");
        let b = m.mine("Connection from 10.1.2.3 closed after 9 s");
        assert_eq!(a.cluster, b.cluster);
        assert_eq!(b.template, "Connection from <*> closed after <*> s");
        assert_eq!(b.params, ["10.1.2.3", "9"]);
        let c = m.mine("Disk /var is full");
        assert_ne!(c.cluster, a.cluster);
    }

    #[test]
    fn differing_words_generalise_the_template() {
        let mut m = TemplateMiner::new(TemplateConfig::default());
        m.mine("session opened for user root by uid");
        let b = m.mine("session opened for user alice by uid");
        assert_eq!(b.template, "session opened for user <*> by uid");
        assert_eq!(b.params, ["alice"]);
    }

    #[test]
    fn bounded_with_lru_eviction() {
        let mut m = TemplateMiner::new(TemplateConfig { max_clusters: 3, ..TemplateConfig::default() });
        for w in ["alpha", "bravo", "charlie", "delta", "echo"] {
            m.mine(&format!("{w} one two three"));
        }
        assert_eq!(m.len(), 3);
        let again = m.mine("echo one two three");
        assert_eq!(m.template(again.cluster).unwrap(), "echo one two three");
    }

    #[test]
    fn state_round_trips() {
        let mut m = TemplateMiner::new(TemplateConfig::default());
        m.mine("Connection from 10.0.0.7 closed after 3 s");
        let mut r: TemplateMiner = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
        let x = r.mine("Connection from 10.0.0.9 closed after 4 s");
        let y = m.mine("Connection from 10.0.0.9 closed after 4 s");
        assert_eq!(x, y);
    }

    proptest! {
        #[test]
        fn any_line_mines_without_panic(s in "\\PC{0,200}") {
            let mut m = TemplateMiner::new(TemplateConfig::default());
            let a = m.mine(&s);
            let b = m.mine(&s);
            prop_assert_eq!(a.cluster, b.cluster);
        }
    }
}
