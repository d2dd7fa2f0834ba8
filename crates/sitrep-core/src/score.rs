//! score: the noise score (entropy, 0..1) of an alert: how much information its description
//! carries, from the rarity of its tokens over the stream. Variables (numbers, IPs, hex,
//! UUIDs, paths, durations) are masked first so that `disk 93% full` and `disk 94% full` are
//! the same text. A token seen in a share `p = df/N` of the N alerts so far carries
//! `ln(1/p) / ln(N)` (1 for a token only this alert has, 0 for one every alert has); the
//! score is the mean over the description's distinct tokens. A priority word forces 1.
//!
//! Counting is per alert (not per event) so that one chatty alert does not drown its own
//! words; the table is bounded (`noise.max_tokens`): once full, unseen tokens are scored
//! as rare and not stored.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::hash::{BuildHasher, Hasher};

/// The words of a text that carry meaning: split on whitespace and punctuation, trimmed,
/// variables (see [`is_variable`]) dropped. Not yet case-folded.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| {
        c.is_whitespace()
            || matches!(
                c,
                ',' | ';' | '(' | ')' | '[' | ']' | '{' | '}' | '"' | '\'' | '=' | '<' | '>'
            )
    })
    .map(|raw| raw.trim_matches(|c: char| matches!(c, '.' | ':' | '!' | '?' | '-' | '_' | '#' | '*' | '`')))
    .filter(|w| !w.is_empty() && !is_variable(w))
}

/// Splits text into lower-case word tokens, dropping masked variables. Calls `f` once per
/// token occurrence (duplicates included).
pub fn for_each_token(text: &str, mut f: impl FnMut(&str)) {
    let mut buf = String::with_capacity(32);
    for w in words(text) {
        buf.clear();
        buf.extend(w.chars().flat_map(char::to_lowercase));
        f(&buf);
    }
}

/// Masks what varies between instances of one message: numbers (with short units like
/// `93%`, `5s`, `12ms`), IPv4/IPv6 addresses, hex, UUIDs, paths and URLs, and names with a
/// numeric or hex part (`web-01`, `frontend-7f9c`, `gi0/1`).
pub fn is_variable(w: &str) -> bool {
    let b = w.as_bytes();
    if b.is_empty() {
        return true;
    }
    if b[0] == b'/' || w.contains("://") || w.contains('\\') {
        return true;
    }
    if !b.iter().any(u8::is_ascii_digit) {
        return false;
    }
    if b.len() > 2 && (b.starts_with(b"0x") || b.starts_with(b"0X")) {
        return true;
    }
    w.split(['-', '_', '.', ':', '/', '@', ',', '+']).any(|seg| {
        let s = seg.as_bytes();
        let digits = s.iter().take_while(|c| c.is_ascii_digit()).count();
        if digits > 0 && s.len() - digits <= 2 {
            return true; // 93, 93%, 5s, 12ms, 4kb
        }
        s.len() >= 4 && s.iter().all(u8::is_ascii_hexdigit) && s.iter().any(u8::is_ascii_digit)
    })
}

/// The hashes of the distinct masked, case-folded tokens of `text` (see [`for_each_token`]),
/// computed without allocating per token: the noise score runs for every new occurrence.
pub fn token_hashes(text: &str, out: &mut Vec<u64>) {
    out.clear();
    for w in words(text) {
        let mut h = rustc_hash::FxBuildHasher.build_hasher();
        if w.is_ascii() {
            for b in w.bytes() {
                h.write_u8(b.to_ascii_lowercase());
            }
        } else {
            for c in w.chars().flat_map(char::to_lowercase) {
                h.write_u32(c as u32);
            }
        }
        let v = h.finish();
        if !out.contains(&v) {
            out.push(v);
        }
    }
}

/// Token document frequencies over the alerts seen. Tokens are kept as 64-bit hashes (a
/// collision merges two words' counts; at 2^-64 per pair that is not worth a string each).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TokenStats {
    df: FxHashMap<u64, u32>,
    docs: u64,
    max_tokens: usize,
    warmup: u64,
    reference: u64,
    #[serde(default)]
    reference_floor: u64,
    #[serde(skip)]
    scratch: Vec<u64>,
}

impl TokenStats {
    /// Until `warmup` alerts have been seen every description scores 1: frequencies over a
    /// handful of alerts say nothing yet.
    pub fn new(max_tokens: usize, warmup: u64) -> TokenStats {
        TokenStats::with_reference(max_tokens, warmup, u64::MAX)
    }

    /// `reference` caps the N of the normalisation `ln(N/df) / ln(N)`.
    pub fn with_reference(max_tokens: usize, warmup: u64, reference: u64) -> TokenStats {
        TokenStats::with_reference_range(max_tokens, warmup, 2, reference)
    }

    /// The N of the normalisation is kept within `floor..=reference`: early in a stream
    /// (N below the floor) frequencies are thin, and dividing by a small `ln(N)` would make
    /// routine messages look informative.
    pub fn with_reference_range(max_tokens: usize, warmup: u64, floor: u64, reference: u64) -> TokenStats {
        TokenStats {
            df: FxHashMap::default(),
            docs: 0,
            max_tokens,
            warmup,
            reference: reference.max(2),
            reference_floor: floor.max(2),
            scratch: Vec::new(),
        }
    }

    /// Counts one alert's description.
    pub fn observe(&mut self, text: &str) {
        let mut toks = std::mem::take(&mut self.scratch);
        token_hashes(text, &mut toks);
        self.observe_hashes(&toks);
        self.scratch = toks;
    }

    fn observe_hashes(&mut self, toks: &[u64]) {
        self.docs += 1;
        for t in toks {
            if let Some(c) = self.df.get_mut(t) {
                *c += 1;
            } else if self.df.len() < self.max_tokens {
                self.df.insert(*t, 1);
            }
        }
    }

    /// Counts the description, then scores it: what a new occurrence needs, in one pass.
    pub fn observe_and_score(&mut self, text: &str, priority_words: &[String]) -> f32 {
        let mut toks = std::mem::take(&mut self.scratch);
        token_hashes(text, &mut toks);
        self.observe_hashes(&toks);
        let s = self.score_hashes(&toks, || has_priority_word(text, priority_words));
        self.scratch = toks;
        s
    }

    /// The description's score now, in 0..=1.
    pub fn score(&self, text: &str, priority_words: &[String]) -> f32 {
        let mut toks = Vec::new();
        token_hashes(text, &mut toks);
        self.score_hashes(&toks, || has_priority_word(text, priority_words))
    }

    fn score_hashes(&self, toks: &[u64], priority: impl FnOnce() -> bool) -> f32 {
        if priority() {
            return 1.0;
        }
        if self.docs < self.warmup {
            return 1.0;
        }
        if toks.is_empty() {
            return 0.0;
        }
        let n = self.docs.max(1) as f64;
        let scale = n.clamp(
            self.reference_floor.min(self.reference) as f64,
            self.reference as f64,
        );
        let mut sum = 0.0;
        for t in toks {
            let df = self.df.get(t).copied().unwrap_or(1).max(1) as f64;
            sum += if n <= 1.0 {
                1.0
            } else {
                ((n / df).ln() / scale.ln()).clamp(0.0, 1.0)
            };
        }
        (sum / toks.len() as f64) as f32
    }

    pub fn docs(&self) -> u64 {
        self.docs
    }
}

fn has_priority_word(text: &str, words: &[String]) -> bool {
    if words.is_empty() {
        return false;
    }
    let mut found = false;
    for_each_token(text, |t| found |= words.iter().any(|p| p.eq_ignore_ascii_case(t)));
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(s: &str) -> Vec<String> {
        let mut v = Vec::new();
        for_each_token(s, |t| v.push(t.to_string()));
        v
    }

    #[test]
    fn masks_variables() {
        assert_eq!(
            tokens("Disk /var/log 93% full on 10.0.0.7 after 1.5s (id 550e8400-e29b-41d4-a716-446655440000, 0xdeadbeef)"),
            ["disk", "full", "on", "after", "id"]
        );
        assert_eq!(
            tokens("Connection from 10.1.2.3 closed after 9 s"),
            ["connection", "from", "closed", "after", "s"]
        );
        assert_eq!(
            tokens("web-01 BGP peer DOWN"),
            ["bgp", "peer", "down"],
            "short mostly-numeric names are masked"
        );
        assert_eq!(tokens("frontend-7f9c api"), ["api"]);
        assert_eq!(tokens("database replica"), ["database", "replica"]);
    }

    #[test]
    fn common_text_scores_low_rare_text_high() {
        let mut s = TokenStats::new(1000, 0);
        for i in 0..200 {
            s.observe("Scheduled backup completed successfully");
            if i % 20 == 0 {
                s.observe(&format!("unique failure mode number{i}x"));
            }
        }
        s.observe("BGP session flapping towards upstream transit");
        let low = s.score("Scheduled backup completed successfully", &[]);
        let high = s.score("BGP session flapping towards upstream transit", &[]);
        assert!(low < 0.1, "{low}");
        assert!(high > 0.9, "{high}");
        assert_eq!(
            s.score("Scheduled backup completed: outage", &["outage".into()]),
            1.0
        );
        assert_eq!(s.score("42 17", &[]), 0.0);
        let mut w = TokenStats::new(1000, 5);
        w.observe("same text");
        w.observe("same text");
        assert_eq!(w.score("same text", &[]), 1.0, "still warming up");
    }

    #[test]
    fn table_is_bounded() {
        let mut s = TokenStats::new(10, 0);
        for i in 0..100 {
            s.observe(&format!("word{}x other{}y", i, i));
        }
        assert_eq!(s.df.len(), 10);
        assert_eq!(s.docs(), 100);
    }
}
