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
    let t = t.trim_end_matches(['.', ',', ':', ';', '!', '?']);
    let t = t.split_once('=').map_or(t, |(_, v)| v);
    !t.is_empty() && t.chars().all(|c| c.is_alphabetic())
}

fn is_calendar(tok: &str) -> bool {
    tok.len() == 3 && CALENDAR.contains(&tok)
}

const CALENDAR: [&str; 19] = [
    "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug",
    "Sep", "Oct", "Nov", "Dec",
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
    /// Distinct words remembered; past it unseen words count as variables.
    pub max_vocabulary: usize,
}

impl Default for TemplateConfig {
    fn default() -> Self {
        TemplateConfig {
            similarity: 0.5,
            word_similarity: 0.8,
            max_clusters: 50_000,
            max_tokens: 128,
            max_vocabulary: 1_000_000,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Cluster {
    id: u32,
    /// Token ids; [`WILD`] marks a parameter.
    template: Vec<u32>,
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

/// The token id of `<*>`.
const WILD: u32 = 0;

/// Token vocabulary: masked tokens → ids. Bounded: once `max` words are known, an unseen
/// token is taken as a variable (`<*>`), which keeps memory fixed on hostile input.
#[derive(Debug, Clone, Default)]
struct Vocabulary {
    words: Vec<Box<str>>,
    ids: FxHashMap<Box<str>, u32>,
    max: usize,
}

impl Vocabulary {
    fn new(max: usize) -> Vocabulary {
        let mut v = Vocabulary {
            max,
            ..Vocabulary::default()
        };
        v.words.push(WILDCARD.into());
        v.ids.insert(WILDCARD.into(), WILD);
        v
    }

    fn id(&mut self, w: &str) -> u32 {
        if let Some(&id) = self.ids.get(w) {
            return id;
        }
        if self.words.len() >= self.max {
            return WILD;
        }
        let id = self.words.len() as u32;
        self.words.push(w.into());
        self.ids.insert(w.into(), id);
        id
    }

    fn word(&self, id: u32) -> &str {
        &self.words[id as usize]
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(into = "MinerState", from = "MinerState")]
pub struct TemplateMiner {
    cfg: TemplateConfig,
    vocab: Vocabulary,
    /// Per token id: a plain word, and the `key=` prefix length when it is `key=word`.
    word_kind: Vec<(bool, u16)>,
    clusters: FxHashMap<u32, Cluster>,
    /// (token count, first token or `<*>`) → cluster ids, oldest first.
    groups: FxHashMap<(u32, u32), Vec<u32>>,
    next_id: u32,
    clock: u64,
    #[serde(skip)]
    buf: String,
    #[serde(skip)]
    tokens: Vec<u32>,
}

/// The serialised form: vocabulary and clusters in id order; the groups are rebuilt.
#[derive(Serialize, Deserialize)]
struct MinerState {
    cfg: TemplateConfig,
    words: Vec<Box<str>>,
    clusters: Vec<Cluster>,
    next_id: u32,
    clock: u64,
}

impl From<TemplateMiner> for MinerState {
    fn from(m: TemplateMiner) -> MinerState {
        let mut clusters: Vec<Cluster> = m.clusters.into_values().collect();
        clusters.sort_by_key(|c| c.id);
        MinerState {
            cfg: m.cfg,
            words: m.vocab.words,
            clusters,
            next_id: m.next_id,
            clock: m.clock,
        }
    }
}

impl From<MinerState> for TemplateMiner {
    fn from(s: MinerState) -> TemplateMiner {
        let mut m = TemplateMiner::new(s.cfg);
        for w in s.words.iter().skip(1) {
            m.word_id(w);
        }
        m.next_id = s.next_id;
        m.clock = s.clock;
        for c in s.clusters {
            m.groups.entry(group_key(&c.template)).or_default().push(c.id);
            m.clusters.insert(c.id, c);
        }
        m
    }
}

fn group_key(tokens: &[u32]) -> (u32, u32) {
    (tokens.len() as u32, tokens.first().copied().unwrap_or(WILD))
}

/// Splits a line into tokens (whitespace) and masks variables within each token.
pub fn mask_tokens(line: &str, max_tokens: usize, out: &mut Vec<String>) {
    out.clear();
    let mut buf = String::new();
    for raw in ascii_tokens(line).take(max_tokens) {
        mask_token_into(raw, &mut buf);
        out.push(buf.clone());
    }
}

/// Tokens split on ASCII whitespace (what log lines use; Unicode-aware splitting costs a
/// third of the miner's time).
fn ascii_tokens(line: &str) -> impl Iterator<Item = &str> {
    line.split(|c: char| c.is_ascii_whitespace())
        .filter(|t| !t.is_empty())
}

fn is_sep(c: char) -> bool {
    matches!(c, '.' | ':' | '-' | '_' | '/' | ',' | '+' | '=' | '#' | '@')
}

fn is_collapsing_sep(c: char) -> bool {
    matches!(c, '.' | ':' | '-' | '_' | '/' | ',' | '+' | '=')
}

/// Masks digit runs (and hex strings) inside one token; a token with nothing but
/// variables and separators becomes a single `<*>`.
pub fn mask_token(tok: &str) -> String {
    let mut out = String::new();
    mask_token_into(tok, &mut out);
    out
}

/// As [`mask_token`], into a reused buffer (the hot path allocates nothing).
pub fn mask_token_into(tok: &str, out: &mut String) {
    out.clear();
    if !tok.bytes().any(|b| b.is_ascii_digit()) {
        // day and month names are parts of dates
        out.push_str(if is_calendar(tok) { WILDCARD } else { tok });
        return;
    }
    let mut any_literal = false;
    let mut only_vars = true;
    if tok.is_ascii() {
        let b = tok.as_bytes();
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            if c.is_ascii_alphanumeric() {
                let start = i;
                let mut digit = false;
                while i < b.len() && b[i].is_ascii_alphanumeric() {
                    digit |= b[i].is_ascii_digit();
                    i += 1;
                }
                if digit {
                    push_wildcard(out);
                } else {
                    out.push_str(&tok[start..i]);
                    any_literal = true;
                    only_vars = false;
                }
            } else {
                if !is_sep(c as char) {
                    only_vars = false;
                }
                out.push(c as char);
                i += 1;
            }
        }
        if !any_literal && only_vars {
            out.clear();
            out.push_str(WILDCARD);
        }
        return;
    }
    let mut chars = tok.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c.is_alphanumeric() {
            let mut end = i + c.len_utf8();
            while let Some(&(j, d)) = chars.peek() {
                if !d.is_alphanumeric() {
                    break;
                }
                end = j + d.len_utf8();
                chars.next();
            }
            let word = &tok[i..end];
            if word.bytes().any(|b| b.is_ascii_digit()) {
                // `<*>` SEP `<*>` collapses into one `<*>` (10.0.0.1:80 → <*>)
                // separators are ASCII, so the byte before them is a char boundary
                let n = out.len();
                let collapse = n > WILDCARD.len()
                    && out.as_bytes()[n - 1].is_ascii()
                    && is_collapsing_sep(out.as_bytes()[n - 1] as char)
                    && out.as_bytes()[..n - 1].ends_with(WILDCARD.as_bytes());
                if collapse {
                    out.pop();
                } else if !out.ends_with(WILDCARD) {
                    out.push_str(WILDCARD);
                }
            } else {
                out.push_str(word);
                any_literal = true;
                only_vars = false;
            }
        } else {
            if !is_sep(c) {
                only_vars = false;
            }
            out.push(c);
        }
    }
    if !any_literal && only_vars {
        out.clear();
        out.push_str(WILDCARD);
    }
}

/// Appends `<*>` unless the output already ends in one; `<*>` SEP `<*>` collapses into one
/// `<*>` (10.0.0.1:80 → <*>).
fn push_wildcard(out: &mut String) {
    // separators are ASCII, so the byte before them is a char boundary
    let n = out.len();
    let b = out.as_bytes();
    if n > WILDCARD.len()
        && b[n - 1].is_ascii()
        && is_collapsing_sep(b[n - 1] as char)
        && b[..n - 1].ends_with(WILDCARD.as_bytes())
    {
        out.pop();
    } else if !out.ends_with(WILDCARD) {
        out.push_str(WILDCARD);
    }
}

impl TemplateMiner {
    pub fn new(cfg: TemplateConfig) -> TemplateMiner {
        let mut m = TemplateMiner {
            vocab: Vocabulary::new(cfg.max_vocabulary.max(2)),
            word_kind: vec![(false, 0)],
            cfg,
            clusters: FxHashMap::default(),
            groups: FxHashMap::default(),
            next_id: 1,
            clock: 0,
            buf: String::new(),
            tokens: Vec::new(),
        };
        m.word_kind.reserve(1024);
        m
    }

    fn word_id(&mut self, w: &str) -> u32 {
        let id = self.vocab.id(w);
        if id as usize == self.word_kind.len() {
            let key = w
                .split_once('=')
                .map_or(0, |(k, v)| if v.is_empty() { 0 } else { k.len() as u16 + 1 });
            self.word_kind.push((is_word(w), key));
        }
        id
    }

    pub fn len(&self) -> usize {
        self.clusters.len()
    }

    pub fn is_empty(&self) -> bool {
        self.clusters.is_empty()
    }

    /// Mines one line and returns its cluster id: the fast path, allocating nothing once
    /// the vocabulary has the line's words.
    pub fn mine_id(&mut self, line: &str) -> u32 {
        let mut tokens = std::mem::take(&mut self.tokens);
        let mut buf = std::mem::take(&mut self.buf);
        tokens.clear();
        for raw in ascii_tokens(line).take(self.cfg.max_tokens) {
            let id = if !raw.bytes().any(|b| b.is_ascii_digit()) && !is_calendar(raw) {
                self.word_id(raw) // nothing to mask: no copy
            } else {
                mask_token_into(raw, &mut buf);
                self.word_id(&buf)
            };
            tokens.push(id);
        }
        let id = self.place(&tokens);
        self.tokens = tokens;
        self.buf = buf;
        id
    }

    /// Mines one line: finds or creates its cluster and returns the template and the
    /// line's values at its wildcard positions.
    pub fn mine(&mut self, line: &str) -> Mined {
        let cluster = self.mine_id(line);
        let c = &self.clusters[&cluster];
        let params = c
            .template
            .iter()
            .zip(ascii_tokens(line))
            .filter(|(t, _)| **t == WILD)
            .map(|(_, v)| v.to_string())
            .collect();
        Mined {
            cluster,
            template: self.render(&c.template),
            params,
        }
    }

    fn render(&self, t: &[u32]) -> String {
        let mut s = String::new();
        for (i, id) in t.iter().enumerate() {
            if i > 0 {
                s.push(' ');
            }
            s.push_str(self.vocab.word(*id));
        }
        s
    }

    /// (similarity, wildcard positions), or `None` when a `key=word` value differs.
    fn similarity(&self, template: &[u32], tokens: &[u32]) -> Option<(f64, usize, bool)> {
        if template.is_empty() {
            return Some((1.0, 0, false));
        }
        let (mut same, mut wild, mut words_differ) = (0usize, 0usize, false);
        for (&a, &b) in template.iter().zip(tokens) {
            if a == WILD {
                wild += 1;
            } else if a == b {
                same += 1;
            } else {
                let (wa, ka) = self.word_kind[a as usize];
                let (wb, kb) = self.word_kind[b as usize];
                if wa && wb {
                    words_differ = true;
                    // `user=root` vs `user=test`: a named field with word values is a constant
                    if ka > 0
                        && ka == kb
                        && self.vocab.word(a)[..ka as usize] == self.vocab.word(b)[..kb as usize]
                    {
                        return None;
                    }
                }
            }
        }
        // Drain's seqDist counts equal non-wildcard positions; wildcards count as half a match
        // so that a template that has generalised does not lose every line to a newcomer.
        Some((
            (same as f64 + wild as f64 * 0.5) / template.len() as f64,
            wild,
            words_differ,
        ))
    }

    fn place(&mut self, tokens: &[u32]) -> u32 {
        self.clock += 1;
        let key = group_key(tokens);
        let mut best: Option<(u32, f64, usize)> = None;
        if let Some(ids) = self.groups.get(&key) {
            for id in ids {
                let c = &self.clusters[id];
                let Some((sim, wild, words_differ)) = self.similarity(&c.template, tokens) else {
                    continue;
                };
                let needed = if words_differ {
                    self.cfg.word_similarity
                } else {
                    self.cfg.similarity
                };
                if sim >= needed && best.is_none_or(|(_, bs, bw)| sim > bs || (sim == bs && wild > bw)) {
                    best = Some((*id, sim, wild));
                }
            }
        }
        match best {
            Some((id, _, _)) => {
                let clock = self.clock;
                let c = self.clusters.get_mut(&id).expect("grouped cluster");
                for (t, tok) in c.template.iter_mut().zip(tokens) {
                    if t != tok {
                        *t = WILD;
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
                self.clusters.insert(
                    id,
                    Cluster {
                        id,
                        template: tokens.to_vec(),
                        size: 1,
                        last_used: self.clock,
                    },
                );
                self.groups.entry(key).or_default().push(id);
                id
            }
        }
    }

    fn evict(&mut self) {
        let Some((&id, _)) = self.clusters.iter().min_by_key(|(id, c)| (c.last_used, **id)) else {
            return;
        };
        let c = self.clusters.remove(&id).expect("present");
        if let Some(v) = self.groups.get_mut(&group_key(&c.template)) {
            v.retain(|x| *x != id);
        }
    }

    /// The current template of a cluster.
    pub fn template(&self, cluster: u32) -> Option<String> {
        self.clusters.get(&cluster).map(|c| self.render(&c.template))
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
    fn tokens_split_on_ascii_whitespace_only() {
        let t: Vec<&str> = ascii_tokens("  a\tbé\u{a0}c  d\n").collect();
        assert_eq!(t, ["a", "bé\u{a0}c", "d"]);
        assert_eq!(ascii_tokens("   ").count(), 0);
    }

    #[test]
    fn bounded_with_lru_eviction() {
        let mut m = TemplateMiner::new(TemplateConfig {
            max_clusters: 3,
            ..TemplateConfig::default()
        });
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
