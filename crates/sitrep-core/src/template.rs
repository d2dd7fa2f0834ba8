//! template: online log-template mining, the technique of Drain (He et al., ICWS 2017) and
//! IBM's Drain3, so that free text becomes a stable check: `Connection from 10.0.0.7 closed
//! after 3 s` and `Connection from 10.1.2.3 closed after 9 s` are one template,
//! `Connection from <*> closed after <*>`, with the variables as parameters. Every rule is
//! generic: the miner is judged on logs of systems nobody tuned it for (docs/templates.md).
//!
//! 1. **Masking** before clustering: every run of digits (with the letters of a hex string
//!    or UUID around it), IP addresses with ports, `0x…` numbers, day and month names become
//!    `<*>`; a token made only of such parts, separators and brackets is one `<*>`, and a
//!    run of variables (with a unit after a number: `1.16 KB)`, `<1 sec`) is one variable.
//!    Most of the accuracy comes from here: variables are recognised by shape, not position.
//!    Plain words are presumed constant: a line whose words differ from a template's needs
//!    the higher `word_similarity` (unless the word follows `user`, `host`…), and
//!    `key=word` values never generalise.
//! 2. **Clusters** are grouped by token count and first token (Drain's fixed-depth tree
//!    with depth 1); within a group the best cluster by position-wise token similarity wins
//!    if it reaches `similarity`, and its template turns differing positions into `<*>`.
//!    A line headed by a name rather than a word may join a cluster under another head.
//! 3. **Length variants**: a line that matches a cluster up to two tokens longer or shorter
//!    once variables are left out is a variant of that message and reports its id.
//! 4. **Bounded**: at most `max_clusters`; the least recently used is evicted.
//!
//! Deterministic, no I/O; the state is serde-serialisable like the rest of the engine.

use hashbrown::HashTable;
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
    // asked of nearly every token: compare integers, not strings
    tok.len() == 3 && tok.as_bytes()[0].is_ascii_uppercase() && CALENDAR_PACKED.contains(&pack_short(tok))
}

/// A string of up to seven bytes as one integer (its length in the top byte), so that a
/// lookup in a short fixed list is a few integer compares; `u64::MAX` for longer ones.
const fn pack_short(s: &str) -> u64 {
    let b = s.as_bytes();
    if b.len() > 7 {
        return u64::MAX;
    }
    let mut v = (b.len() as u64) << 56;
    let mut i = 0;
    while i < b.len() {
        v |= (b[i] as u64) << (8 * i);
        i += 1;
    }
    v
}

const fn pack_all<const N: usize>(words: [&str; N]) -> [u64; N] {
    let mut out = [0u64; N];
    let mut i = 0;
    while i < N {
        out[i] = pack_short(words[i]);
        i += 1;
    }
    out
}

const CALENDAR_PACKED: [u64; 19] = pack_all(CALENDAR);
const UNITS_PACKED: [u64; 40] = pack_all(UNITS);

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
            // chosen by `sitrep templates --tune` as the best on all ten LogHub systems;
            // leave-one-system-out figures in docs/templates.md
            similarity: 0.6,
            word_similarity: 0.9,
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
    /// The message this cluster is a length variant of (0: itself): `a <*> b` and `a <*>
    /// <*> b` hold the same message, and mining reports one id for both.
    #[serde(default, skip_serializing_if = "is_zero")]
    event: u32,
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}

impl Cluster {
    fn event(&self) -> u32 {
        if self.event == 0 {
            self.id
        } else {
            self.event
        }
    }
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
///
/// Hand-made rather than a `HashMap<Box<str>, u32>` because a lookup per token is a third
/// of the miner's time: a token of up to 16 bytes is held in the slot itself as two words
/// (with its length), so a hit compares two integers instead of following a pointer to
/// compare bytes, and the same two words give the hash.
#[derive(Debug, Clone, Default)]
struct Vocabulary {
    words: Vec<Box<str>>,
    index: HashTable<Slot>,
    max: usize,
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    hash: u64,
    /// The token's bytes when `len <= 16` (see [`pack`]), else its first and last eight.
    packed: (u64, u64),
    len: u32,
    id: u32,
}

/// The bytes of a token as two words: exact (with the length) up to 16 bytes, the first
/// and last eight beyond.
#[inline]
fn pack(b: &[u8]) -> (u64, u64) {
    let n = b.len();
    let word = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"));
    let half = |at: usize| u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes")) as u64;
    if n >= 8 {
        (word(0), word(n - 8))
    } else if n >= 4 {
        (half(0) | half(n - 4) << 32, 0)
    } else {
        let mut v = 0u64;
        for (i, &c) in b.iter().enumerate() {
            v |= (c as u64) << (8 * i);
        }
        (v, 0)
    }
}

/// The folded 64×64→128 multiply of wyhash and foldhash: a strong mix in one instruction.
#[inline]
fn fold(a: u64, b: u64) -> u64 {
    let r = (a as u128).wrapping_mul(b as u128);
    (r as u64) ^ ((r >> 64) as u64)
}

#[inline]
fn token_hash(b: &[u8], packed: (u64, u64)) -> u64 {
    const K: [u64; 3] = [
        0x243f_6a88_85a3_08d3,
        0x1319_8a2e_0370_7344,
        0xa409_3822_299f_31d0,
    ];
    let mut h = fold(packed.0 ^ K[0], packed.1 ^ K[1] ^ b.len() as u64);
    if b.len() > 16 {
        for chunk in b[8..b.len() - 8].chunks(8) {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            h = fold(h ^ u64::from_le_bytes(w), K[2]);
        }
    }
    h
}

impl Vocabulary {
    fn new(max: usize) -> Vocabulary {
        let mut v = Vocabulary {
            max,
            ..Vocabulary::default()
        };
        v.id(WILDCARD);
        v
    }

    #[inline]
    fn id(&mut self, w: &str) -> u32 {
        let b = w.as_bytes();
        let packed = pack(b);
        let hash = token_hash(b, packed);
        let len = b.len() as u32;
        let words = &self.words;
        let found = self.index.find(hash, |s| {
            s.hash == hash
                && s.len == len
                && s.packed == packed
                && (len <= 16 || words[s.id as usize].as_bytes() == b)
        });
        if let Some(s) = found {
            return s.id;
        }
        if self.words.len() >= self.max {
            return WILD;
        }
        let id = self.words.len() as u32;
        self.words.push(w.into());
        let slot = Slot {
            hash,
            packed,
            len,
            id,
        };
        self.index.insert_unique(hash, slot, |s| s.hash);
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
    /// Per token id: a word that introduces a name (`user`, `host`): the word after it is
    /// a value, however much it looks like a constant.
    #[serde(skip)]
    introduces: Vec<bool>,
    clusters: FxHashMap<u32, Cluster>,
    /// (token count, first token or `<*>`) → cluster ids, oldest first.
    groups: FxHashMap<(u32, u32), Vec<u32>>,
    /// token count → cluster ids, oldest first (the fallback when the first token varies).
    by_len: FxHashMap<u32, Vec<u32>>,
    next_id: u32,
    clock: u64,
    #[serde(skip)]
    buf: String,
    #[serde(skip)]
    tokens: Vec<u32>,
    /// Byte span in the line of each of `tokens` (a collapsed run of variables spans all).
    #[serde(skip)]
    spans: Vec<(u32, u32)>,
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
            let key = group_key(&c.template);
            m.groups.entry(key).or_default().push(c.id);
            m.by_len.entry(key.0).or_default().push(c.id);
            m.clusters.insert(c.id, c);
        }
        m
    }
}

fn group_key(tokens: &[u32]) -> (u32, u32) {
    (tokens.len() as u32, tokens.first().copied().unwrap_or(WILD))
}

/// How many clusters of its length a line with a name at its head is compared with when
/// its own first token finds none (the most recently created).
const MAX_HEAD_SCAN: usize = 256;

/// How many tokens a line may differ in length from a cluster it is a variant of.
const MAX_LENGTH_SHIFT: u32 = 2;

/// Whether `a` and `b` (lengths differing by at most [`MAX_LENGTH_SHIFT`]) are the same
/// sequence once some variables are left out of either (a value that takes one token in
/// one line and two in another), `a`'s variables standing for any name or number of `b`;
/// returns the count of equal constant positions.
fn matches_but_for_variables(a: &[u32], b: &[u32], is_word: impl Fn(u32) -> bool) -> Option<usize> {
    // reach[i][j]: best count of equal constants aligning a[..i] with b[..j]; the band
    // |i - j| <= MAX_LENGTH_SHIFT keeps it linear in the line's length.
    let band = MAX_LENGTH_SHIFT as usize;
    let w = 2 * band + 1;
    let (n, m) = (a.len(), b.len());
    if n.abs_diff(m) > band {
        return None;
    }
    let idx = |i: usize, j: usize| i * w + (j + band - i);
    let mut reach = vec![None::<usize>; (n + 1) * w];
    reach[idx(0, 0)] = Some(0);
    for i in 0..=n {
        for j in i.saturating_sub(band)..=(i + band).min(m) {
            let Some(here) = reach[idx(i, j)] else {
                continue;
            };
            let mut step = |i2: usize, j2: usize, v: usize| {
                if j2 + band >= i2 && j2 <= i2 + band {
                    let cell = &mut reach[idx(i2, j2)];
                    if cell.is_none_or(|c| v > c) {
                        *cell = Some(v);
                    }
                }
            };
            // a template's variable takes any value but a plain word, which is where
            // messages differ (`Starting`/`Ending`)
            if i < n && j < m && (a[i] == b[j] || (a[i] == WILD && !is_word(b[j]))) {
                step(i + 1, j + 1, here + usize::from(a[i] != WILD));
            }
            if i < n && a[i] == WILD {
                step(i + 1, j, here);
            }
            if j < m && b[j] == WILD {
                step(i, j + 1, here);
            }
        }
    }
    reach[idx(n, m)]
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
    Tokens { line, at: 0 }.map(|(t, _, _)| t)
}

/// Byte classes for the tokeniser and the masker: one table load per byte instead of a
/// chain of comparisons (these two loops are most of the miner's time).
const WS: u8 = 1;
const DIGIT: u8 = 2;
const ALNUM: u8 = 4;
const HIGH: u8 = 8;

const CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = if c.is_ascii_whitespace() {
            WS
        } else if c.is_ascii_digit() {
            DIGIT | ALNUM
        } else if c.is_ascii_alphabetic() {
            ALNUM
        } else if c >= 0x80 {
            HIGH
        } else {
            0
        };
        b += 1;
    }
    t
};

/// The tokens of a line with whether each holds an ASCII digit, in one pass over the
/// bytes (whitespace is ASCII, so every cut is on a char boundary).
struct Tokens<'a> {
    line: &'a str,
    at: usize,
}

impl<'a> Iterator for Tokens<'a> {
    /// (token, holds a digit, is ASCII)
    type Item = (&'a str, bool, bool);

    #[inline]
    fn next(&mut self) -> Option<(&'a str, bool, bool)> {
        let b = self.line.as_bytes();
        let mut i = self.at;
        while i < b.len() && CLASS[b[i] as usize] == WS {
            i += 1;
        }
        if i == b.len() {
            self.at = i;
            return None;
        }
        let start = i;
        // eight bytes at a time while none of them can be whitespace (a token is most of
        // a line's bytes); the byte loop finishes the token
        let (mut digits, mut high) = (0u64, 0u64);
        while i + 8 <= b.len() {
            let x = u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
            let lane = swar_lanes(x);
            if lane.control == 0 {
                digits |= lane.digits;
                high |= x & HIGH_BITS;
                i += 8;
                continue;
            }
            // the bytes before the first control byte are in the token
            let n = lane.control.trailing_zeros() / 8;
            let before = (1u64 << (8 * n)) - 1;
            digits |= lane.digits & before;
            high |= x & HIGH_BITS & before;
            i += n as usize;
            break;
        }
        let mut seen = 0u8;
        while i < b.len() {
            let c = CLASS[b[i] as usize];
            if c == WS {
                break;
            }
            seen |= c;
            i += 1;
        }
        self.at = i;
        let digit = digits != 0 || seen & DIGIT != 0;
        let ascii = high == 0 && seen & HIGH == 0;
        Some((&self.line[start..i], digit, ascii))
    }
}

const HIGH_BITS: u64 = 0x8080_8080_8080_8080;
const fn lanes(b: u8) -> u64 {
    u64::from_le_bytes([b; 8])
}

/// Per byte of a word, as the byte's high bit: an ASCII digit; an ASCII byte below `!`
/// (whitespace or another control byte: the only ones that may end a token).
struct Lanes {
    digits: u64,
    control: u64,
}

/// SWAR tests on eight bytes at once. The high bit of each byte is cleared first so that
/// no addition carries into the next byte; non-ASCII bytes are then masked out with `!x`.
#[inline]
fn swar_lanes(x: u64) -> Lanes {
    let y = x & !HIGH_BITS;
    let ascii = !x & HIGH_BITS;
    // y + 0x50 reaches 0x80 iff y >= '0'; y + 0x46 reaches 0x80 iff y > '9'
    let at_least_0 = y.wrapping_add(lanes(0x50));
    let above_9 = y.wrapping_add(lanes(0x46));
    // (y | 0x80) - 0x21 keeps 0x80 iff y >= '!'
    let printable = (y | HIGH_BITS).wrapping_sub(lanes(0x21));
    Lanes {
        digits: at_least_0 & !above_9 & ascii,
        control: !printable & ascii,
    }
}

/// Characters that may surround or join the variable parts of a token without making it
/// a constant: `10.0.0.1:80`, `(1.16`, `<1`, `[42]`, `"0x1f"`, `50%`, `*64`.
fn is_sep(c: char) -> bool {
    c.is_ascii() && SEP[c as usize]
}

const SEP: [bool; 128] = {
    let mut t = [false; 128];
    let mut c = 0;
    while c < 128 {
        t[c] = is_sep_slow(c as u8 as char);
        c += 1;
    }
    t
};

const fn is_sep_slow(c: char) -> bool {
    matches!(
        c,
        '.' | ':'
            | '-'
            | '_'
            | '/'
            | ','
            | '+'
            | '='
            | '#'
            | '@'
            | '('
            | ')'
            | '['
            | ']'
            | '{'
            | '}'
            | '<'
            | '>'
            | '"'
            | '\''
            | '%'
            | '*'
            | '~'
            | ';'
            | '$'
    )
}

/// A unit of size or duration (`KB`, `MB)`, `sec`, `ms,`): after a number it is part of
/// the same value, so `1.16 KB` and `18.4 MB` are one variable and `<1 sec` is as
/// variable as `00:01`.
fn is_unit(raw: &str) -> bool {
    let t = raw.trim_end_matches([')', ']', '}', ',', ';', '.', ':']);
    t.len() <= 7 && UNITS_PACKED.contains(&pack_short(t))
}

/// Words after which a word is a name (a user, a host), not part of the message: the
/// English idioms of log text, not any one system's.
const INTRODUCERS: [&str; 8] = [
    "user", "User", "user:", "users", "account", "host", "hostname", "login",
];

const UNITS: [&str; 40] = [
    "B", "Bytes", "GB", "GiB", "KB", "KiB", "MB", "MiB", "PB", "TB", "TiB", "byte", "bytes", "day", "days",
    "gb", "h", "hour", "hours", "hr", "hrs", "kB", "kb", "mb", "min", "mins", "minute", "minutes", "ms",
    "msec", "msecs", "ns", "s", "sec", "second", "seconds", "secs", "tb", "us", "µs",
];

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
    mask_digits_into(tok, tok.is_ascii(), out);
}

/// [`mask_token_into`] for a token known to hold a digit, told whether it is ASCII (the
/// tokeniser knows both from its one pass).
fn mask_digits_into(tok: &str, ascii: bool, out: &mut String) {
    out.clear();
    let mut any_literal = false;
    let mut only_vars = true;
    if ascii {
        let b = tok.as_bytes();
        // the output holds ASCII only; `wild_end` is its length just after the last `<*>`
        let mut wild_end = usize::MAX;
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            if CLASS[c as usize] & ALNUM != 0 {
                let start = i;
                let mut seen = 0u8;
                while i < b.len() {
                    let k = CLASS[b[i] as usize];
                    if k & ALNUM == 0 {
                        break;
                    }
                    seen |= k;
                    i += 1;
                }
                if seen & DIGIT != 0 {
                    let n = out.len();
                    if wild_end.checked_add(1) == Some(n) && is_collapsing_sep(out.as_bytes()[n - 1] as char)
                    {
                        // `<*>` SEP `<*>` is one `<*>` (10.0.0.1:80 → <*>)
                        out.pop();
                    } else if n != wild_end {
                        // a minus sign is part of the number: `index:-1` is `index:5`'s shape
                        // (but `node-12` keeps its dash: a letter or digit comes before it)
                        let o = out.as_bytes();
                        if n > 0 && o[n - 1] == b'-' && (n == 1 || CLASS[o[n - 2] as usize] & ALNUM == 0) {
                            out.pop();
                        }
                        out.push_str(WILDCARD);
                    }
                    wild_end = out.len();
                } else {
                    out.push_str(&tok[start..i]);
                    any_literal = true;
                    only_vars = false;
                }
            } else {
                if !SEP[c as usize] {
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

impl TemplateMiner {
    pub fn new(cfg: TemplateConfig) -> TemplateMiner {
        let mut m = TemplateMiner {
            vocab: Vocabulary::new(cfg.max_vocabulary.max(2)),
            word_kind: vec![(false, 0)],
            introduces: vec![false],
            cfg,
            clusters: FxHashMap::default(),
            groups: FxHashMap::default(),
            by_len: FxHashMap::default(),
            next_id: 1,
            clock: 0,
            buf: String::new(),
            tokens: Vec::new(),
            spans: Vec::new(),
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
            self.introduces.push(INTRODUCERS.contains(&w));
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
        let id = self.mine_cluster(line);
        self.clusters[&id].event()
    }

    /// Tokenises and places a line; the cluster it joined or made (a length variant keeps
    /// its own id here, for the parameters).
    fn mine_cluster(&mut self, line: &str) -> u32 {
        let mut tokens = std::mem::take(&mut self.tokens);
        self.tokenize(line, &mut tokens);
        let id = self.place(&tokens);
        self.tokens = tokens;
        id
    }

    /// The line's masked token ids into `tokens`, and their byte spans in the line into
    /// `self.spans`. Variables that follow each other (`Mon Dec 04`, `1190 bytes (1.16
    /// KB)`) are one variable: how many tokens a value takes is not part of the message's
    /// shape, so an optional `(18.4 KB)` or `<1 sec` against `00:01` does not change it.
    fn tokenize(&mut self, line: &str, tokens: &mut Vec<u32>) {
        let mut buf = std::mem::take(&mut self.buf);
        tokens.clear();
        self.spans.clear();
        let base = line.as_ptr() as usize;
        for (raw, digit, ascii) in (Tokens { line, at: 0 }).take(self.cfg.max_tokens) {
            let start = (raw.as_ptr() as usize - base) as u32;
            let end = start + raw.len() as u32;
            let after_variable = tokens.last() == Some(&WILD);
            let id = if !digit && !is_calendar(raw) {
                if after_variable && is_unit(raw) {
                    WILD
                } else {
                    self.word_id(raw) // nothing to mask: no copy
                }
            } else if digit {
                mask_digits_into(raw, ascii, &mut buf);
                self.word_id(&buf)
            } else {
                WILD // a day or month name
            };
            if id == WILD && after_variable {
                if let Some(span) = self.spans.last_mut() {
                    span.1 = end;
                }
                continue;
            }
            tokens.push(id);
            self.spans.push((start, end));
        }
        self.buf = buf;
    }

    /// Mines one line: finds or creates its cluster and returns the template and the
    /// line's values at its wildcard positions.
    pub fn mine(&mut self, line: &str) -> Mined {
        let id = self.mine_cluster(line);
        let c = &self.clusters[&id];
        let params = c
            .template
            .iter()
            .zip(&self.spans)
            .filter(|(t, _)| **t == WILD)
            .map(|(_, &(a, b))| line[a as usize..b as usize].to_string())
            .collect();
        let event = c.event();
        // a length variant is named by its message's template, so that both dedup as one
        let shown = self.clusters.get(&event).unwrap_or(c);
        Mined {
            cluster: event,
            template: self.render(&shown.template),
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
    fn similarity(&self, template: &[u32], tokens: &[u32]) -> Option<(f64, usize, usize)> {
        if template.is_empty() {
            return Some((1.0, 0, 0));
        }
        let (mut same, mut wild, mut words_differ) = (0usize, 0usize, 0usize);
        // the line is the template itself (a line of nothing but variables, say)
        let mut exact = true;
        for (i, (&a, &b)) in template.iter().zip(tokens).enumerate() {
            if a == WILD {
                wild += 1;
                exact &= b == WILD;
            } else if a == b {
                same += 1;
            } else {
                let (wa, ka) = self.word_kind[a as usize];
                let (wb, kb) = self.word_kind[b as usize];
                exact = false;
                if wa && wb && !(i > 0 && self.introduces[tokens[i - 1] as usize]) {
                    words_differ += 1;
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
        if exact {
            return Some((1.0, wild, 0));
        }
        Some((
            (same as f64 + wild as f64 * 0.5) / template.len() as f64,
            wild,
            words_differ,
        ))
    }

    /// The most similar cluster among `ids` that the line may join: (id, similarity,
    /// wildcards), ties to more wildcards then the older cluster.
    fn best_among<'a>(
        &self,
        ids: impl Iterator<Item = &'a u32>,
        tokens: &[u32],
    ) -> Option<(u32, f64, usize)> {
        let mut best: Option<(u32, f64, usize)> = None;
        for id in ids {
            let c = &self.clusters[id];
            let Some((sim, wild, words_differ)) = self.similarity(&c.template, tokens) else {
                continue;
            };
            let needed = if words_differ == 0 {
                self.cfg.similarity
            } else {
                self.cfg.word_similarity
            };
            if sim >= needed && best.is_none_or(|(_, bs, bw)| sim > bs || (sim == bs && wild > bw)) {
                best = Some((*id, sim, wild));
            }
        }
        best
    }

    fn place(&mut self, tokens: &[u32]) -> u32 {
        self.clock += 1;
        let key = group_key(tokens);
        let wild_key = (key.0, WILD);
        let none: &[u32] = &[];
        // Drain's tree keys on the first token, rightly when it is a word (`Starting`,
        // `getTasks:`): a message that starts with another word is another message. A line
        // that starts with a name (`chrome.exe`, `host-7.example.org`, `/usr/bin/cron`)
        // may be the same message from another entity, so when it finds nothing under its
        // own first token it tries the clusters of its length that start with a name or a
        // variable too.
        let mut best = self.best_among(self.groups.get(&key).map_or(none, |v| v).iter(), tokens);
        let named_head = tokens.len() > 1 && !self.word_kind[key.1 as usize].0;
        if named_head && best.is_none() && key.1 != WILD {
            best = self.best_among(self.groups.get(&wild_key).map_or(none, |v| v).iter(), tokens);
        }
        if named_head && best.is_none() {
            if let Some(ids) = self.by_len.get(&key.0) {
                // the newest clusters only: a stream of lines that are all new (unique names
                // at the head) must not make every line scan every cluster of its length
                let others = ids.iter().rev().take(MAX_HEAD_SCAN).filter(|id| {
                    let first = self.clusters[*id].template.first().copied().unwrap_or(WILD);
                    first != key.1 && first != WILD && !self.word_kind[first as usize].0
                });
                best = self.best_among(others, tokens);
            }
        }
        let mut variant_of = 0;
        if best.is_none() {
            variant_of = self.variant_of(tokens);
        }
        match best {
            Some((id, _, _)) => {
                let clock = self.clock;
                let c = self.clusters.get_mut(&id).expect("grouped cluster");
                let old_key = group_key(&c.template);
                for (t, tok) in c.template.iter_mut().zip(tokens) {
                    if t != tok {
                        *t = WILD;
                    }
                }
                c.size += 1;
                c.last_used = clock;
                let new_key = group_key(&c.template);
                if new_key != old_key {
                    if let Some(v) = self.groups.get_mut(&old_key) {
                        v.retain(|x| *x != id);
                    }
                    self.groups.entry(new_key).or_default().push(id);
                }
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
                        event: variant_of,
                    },
                );
                self.groups.entry(key).or_default().push(id);
                self.by_len.entry(key.0).or_default().push(id);
                id
            }
        }
    }

    /// The message (event id) of a cluster of another length (by up to
    /// [`MAX_LENGTH_SHIFT`] tokens) that this line matches once the extra variables of
    /// either side are left out, or 0. Only clusters under the same first token (or a
    /// variable one) are tried, which bounds the work on a stream of novel lines.
    fn variant_of(&self, tokens: &[u32]) -> u32 {
        let (len, first) = group_key(tokens);
        let mut best: Option<(u32, usize)> = None;
        for shift in 1..=MAX_LENGTH_SHIFT {
            for other in [len.wrapping_sub(shift), len + shift] {
                for head in [first, WILD] {
                    let Some(ids) = self.groups.get(&(other, head)) else {
                        continue;
                    };
                    for id in ids {
                        let c = &self.clusters[id];
                        if let Some(same) =
                            matches_but_for_variables(&c.template, tokens, |t| self.word_kind[t as usize].0)
                        {
                            let longer = c.template.len().max(tokens.len());
                            if same as f64 >= self.cfg.similarity * longer as f64
                                && best.is_none_or(|(_, s)| same > s)
                            {
                                best = Some((c.event(), same));
                            }
                        }
                    }
                    if head == WILD {
                        break;
                    }
                }
            }
        }
        best.map_or(0, |(event, _)| event)
    }

    fn evict(&mut self) {
        let Some((&id, _)) = self.clusters.iter().min_by_key(|(id, c)| (c.last_used, **id)) else {
            return;
        };
        let c = self.clusters.remove(&id).expect("present");
        let key = group_key(&c.template);
        if let Some(v) = self.groups.get_mut(&key) {
            v.retain(|x| *x != id);
        }
        if let Some(v) = self.by_len.get_mut(&key.0) {
            v.retain(|x| *x != id);
        }
    }

    /// The current template of a cluster.
    pub fn template(&self, cluster: u32) -> Option<String> {
        let c = self.clusters.get(&cluster)?;
        let shown = self.clusters.get(&c.event()).unwrap_or(c);
        Some(self.render(&shown.template))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn vocabulary_tells_apart_tokens_that_share_ends_or_bytes() {
        let mut v = Vocabulary::new(100);
        // same first and last eight bytes, different middle; lengths 3..=17; prefixes
        let words = [
            "abcdefgh-1-ijklmnop",
            "abcdefgh-2-ijklmnop",
            "abcdefghijklmnop",
            "abcdefghijklmnopq",
            "abc",
            "abcd",
            "abcde",
            "a",
            "",
            "bcd",
            "abcdefgh",
            "abcdefghi",
        ];
        let ids: Vec<u32> = words.iter().map(|w| v.id(w)).collect();
        let mut distinct = ids.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), words.len(), "{ids:?}");
        assert!(!ids.contains(&WILD));
        for (w, id) in words.iter().zip(&ids) {
            assert_eq!(v.id(w), *id);
            assert_eq!(v.word(*id), *w);
        }
        assert_eq!(v.id(WILDCARD), WILD);
        let mut full = Vocabulary::new(3);
        assert_eq!(full.id("x"), 1);
        assert_eq!(full.id("y"), 2);
        assert_eq!(
            full.id("z"),
            WILD,
            "a full vocabulary takes new tokens as variables"
        );
        assert_eq!(full.id("x"), 1);
    }

    #[test]
    fn masks_variables_by_shape() {
        assert_eq!(mask_token("10.251.42.84:50010"), "<*>");
        assert_eq!(
            mask_token("blk_-6952295868487656571"),
            "blk_<*>",
            "a sign is part of the number"
        );
        assert_eq!(mask_token("index:-1"), mask_token("index:5"));
        assert_eq!(mask_token("-24.0"), "<*>");
        assert_eq!(
            mask_token("node-12"),
            "node-<*>",
            "a dash after a letter is not a sign"
        );
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
        assert_eq!(b.template, "Connection from <*> closed after <*>");
        assert_eq!(b.params, ["10.1.2.3", "9 s"]);
        let c = m.mine("Disk /var is full");
        assert_ne!(c.cluster, a.cluster);
    }

    #[test]
    fn differing_words_generalise_the_template() {
        let mut m = TemplateMiner::new(TemplateConfig::default());
        m.mine("session opened for user root by uid on the console of host");
        let b = m.mine("session opened for user alice by uid on the console of host");
        assert_eq!(
            b.template,
            "session opened for user <*> by uid on the console of host"
        );
        assert_eq!(b.params, ["alice"]);
        // in a short message one differing word is too large a share to call it a variable
        let c = m.mine("Starting job now");
        assert_ne!(m.mine("Stopping job now").cluster, c.cluster);
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

    #[test]
    fn values_of_any_token_count_are_one_variable() {
        let mut m = TemplateMiner::new(TemplateConfig::default());
        let a = m.mine("conn 7 close, 0 bytes sent, lifetime <1 sec");
        let b = m.mine("conn 9 close, 1190 bytes (1.16 KB) sent, lifetime 00:01");
        assert_eq!(a.cluster, b.cluster);
        assert_eq!(b.template, "conn <*> close, <*> sent, lifetime <*>");
        assert_eq!(b.params, ["9", "1190 bytes (1.16 KB)", "00:01"]);
        let c = m.mine("Block 3 stored (estimated size 4.0 KB, free 317.5 MB)");
        let d = m.mine("Block 4 stored (estimated size 812 B, free 1.2 GB)");
        assert_eq!(c.cluster, d.cluster, "units are part of the value");
    }

    #[test]
    fn a_name_at_the_head_may_vary_a_word_may_not() {
        let mut m = TemplateMiner::new(TemplateConfig::default());
        let a = m.mine("chrome.exe - a.example.net:443 open through proxy gw.example.org:3128 HTTPS");
        let b = m.mine("Dropbox.exe - c.example.com:80 open through proxy gw.example.org:3128 HTTPS");
        assert_eq!(a.cluster, b.cluster, "program names are entities");
        assert_eq!(
            b.template,
            "<*> - <*> open through proxy gw.example.org:<*> HTTPS"
        );
        // the same message with one more variable token is a length variant of it
        let c = m.mine("svc.exe *64 - d.example.com:80 open through proxy gw.example.org:3128 HTTPS");
        assert_eq!(c.cluster, a.cluster);
        assert_eq!(c.template, b.template, "a variant is named by its message");
        let d = m.mine("svc.exe *64 - e.example.com:80 open through proxy gw.example.org:3128 HTTPS");
        assert_eq!(d.cluster, a.cluster);
        assert_eq!(d.params, ["*64", "e.example.com:80"]);
        // a differing leading word is a different message
        let x = m.mine("getTasks: caller 10113 does not hold REAL_GET_TASKS; limiting output");
        let y = m.mine("getRunningAppProcesses: caller 10113 does not hold REAL_GET_TASKS; limiting output");
        assert_ne!(x.cluster, y.cluster);
        // and a single word is never caught by a one-token variable cluster
        let n = m.mine("42");
        assert_ne!(m.mine("getMode...").cluster, n.cluster);
    }

    #[test]
    fn length_variants_survive_a_snapshot() {
        let mut m = TemplateMiner::new(TemplateConfig::default());
        let a = m.mine("job 5 done in 3 s on node-4");
        let b = m.mine("job 5 x7 done in 3 s on node-4");
        assert_eq!(a.cluster, b.cluster);
        let mut r: TemplateMiner = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
        assert_eq!(
            r.mine("job 6 x8 done in 4 s on node-5"),
            m.mine("job 6 x8 done in 4 s on node-5")
        );
        assert_eq!(r.mine("job 6 x8 done in 4 s on node-5").cluster, a.cluster);
    }

    #[test]
    fn units_and_calendar_words_are_found_by_their_packed_form() {
        assert!(UNITS.iter().all(|u| u.len() <= 7 && is_unit(u)));
        assert!(is_unit("KB)") && is_unit("ms,") && is_unit("µs") && is_unit("seconds."));
        assert!(!is_unit("bytesx") && !is_unit("Sec") && !is_unit("") && !is_unit("secondss"));
        assert!(CALENDAR.iter().all(|d| is_calendar(d)));
        assert!(!is_calendar("Mo") && !is_calendar("Monday") && !is_calendar("MON") && !is_calendar("Mom"));
    }

    #[test]
    fn a_word_after_user_or_host_is_a_name() {
        let mut m = TemplateMiner::new(TemplateConfig::default());
        let a = m.mine("session opened for user root by (uid=0)");
        let b = m.mine("session opened for user cyrus by (uid=0)");
        assert_eq!(a.cluster, b.cluster);
        assert_eq!(b.params, ["cyrus"]);
        // elsewhere a differing word in a short line is another message
        let c = m.mine("session opened for group root by (uid=0)");
        assert_ne!(c.cluster, a.cluster);
    }

    /// The byte-at-a-time tokeniser the SWAR one must agree with.
    fn reference_tokens(line: &str) -> Vec<(&str, bool, bool)> {
        line.split(|c: char| c.is_ascii_whitespace())
            .filter(|t| !t.is_empty())
            .map(|t| (t, t.bytes().any(|b| b.is_ascii_digit()), t.is_ascii()))
            .collect()
    }

    #[test]
    fn swar_tokeniser_agrees_with_the_byte_loop_on_edges() {
        for line in [
            "abcdefgh12345678 x\tyz",
            "abcdefgh\x01ijklmnop9 é1234567 ééééé 0",
            "        12345678901234567890\r\n",
            "a\x0bb\x0cc 日本語のテキスト123 ",
            "0123456789:;<=>?/ ~\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x7f9",
        ] {
            let got: Vec<_> = Tokens { line, at: 0 }.collect();
            assert_eq!(got, reference_tokens(line), "{line:?}");
        }
    }

    proptest! {
        #[test]
        fn params_are_the_lines_values_at_the_variables(s in "[a-z0-9 .:()<>-]{0,80}", t in "[a-z0-9 .:()<>-]{0,80}") {
            let mut m = TemplateMiner::new(TemplateConfig::default());
            m.mine(&s);
            let b = m.mine(&t);
            let wild = b.template.split(' ').filter(|w| *w == WILDCARD).count();
            prop_assert!(b.params.len() <= wild.max(ascii_tokens(&t).count()));
            for p in &b.params {
                prop_assert!(t.contains(p.as_str()), "{:?} not in {:?}", p, t);
            }
        }

        #[test]
        fn swar_tokeniser_agrees_with_the_byte_loop(s in "[ \t\n\r\x0b\x0c\x01\x1f!/09:@a~\x7fé日]{0,64}") {
            let got: Vec<_> = Tokens { line: &s, at: 0 }.collect();
            prop_assert_eq!(got, reference_tokens(&s));
        }

        #[test]
        fn any_line_mines_without_panic(s in "\\PC{0,200}") {
            let mut m = TemplateMiner::new(TemplateConfig::default());
            let a = m.mine(&s);
            let b = m.mine(&s);
            prop_assert_eq!(a.cluster, b.cluster);
        }
    }
}
