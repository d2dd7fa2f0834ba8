//! The `[correlation]` and `[topology]` sections: recipes, what the learned recipe learns,
//! similarity, and the topology graph.

use super::Matcher;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CorrelationConfig {
    /// Alerts an incident needs before it is opened (a recipe may override).
    pub min_alerts: usize,
    /// A resolved incident reopens if a member is raised again within this time, and is
    /// closed after it.
    pub reopen_grace_secs: u64,
    /// Empty means the default recipe set (see `correlate::default_recipes`).
    pub recipes: Vec<RecipeConfig>,
    /// Bound on the members one incident takes; beyond it new alerts start a new one.
    pub max_incident_alerts: usize,
    /// What `learned` recipes learn from the stream (see `correlate::learned`).
    pub learned: LearnedConfig,
    /// Incidents whose alerts keep firing together again after quiet spells are withdrawn
    /// as routine (see `correlate::recurring`).
    pub recurring: RecurringConfig,
}

/// `[correlation.recurring]`: an open incident nobody has taken up whose alerts, every one
/// of them, fire together again after a quiet spell, with nothing new joining, `episodes`
/// times, is a routine pattern (a scheduled job, a backup, a scan by the estate's own
/// tools), not a fault: it is withdrawn, its alerts are released and its checks are taught
/// apart as an operator's split would. The defaults were chosen on the `ids` scenario's
/// seeds 1–2 (docs/correlation.md, "Recurring patterns are withdrawn").
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RecurringConfig {
    pub enabled: bool,
    /// An episode starts with a member's repeat after at least this long with no repeat
    /// or new member in the incident …
    pub quiet_secs: u64,
    /// … and counts once every current member has repeated within this of its start.
    pub within_secs: u64,
    /// Episodes after the incident formed before it is withdrawn.
    pub episodes: u32,
    /// A member that keeps firing this long after every other alert of its incident went
    /// quiet, all of them still raised, is released from it as background — if its check
    /// has never been seen to clear (an event, like an IDS rule's, not a state whose
    /// repeats re-assert a failure). 0: never.
    pub release_after_secs: u64,
}

impl Default for RecurringConfig {
    fn default() -> Self {
        RecurringConfig {
            enabled: true,
            quiet_secs: 300,
            within_secs: 60,
            episodes: 2,
            release_after_secs: 1800,
        }
    }
}

/// `[correlation.learned]`: the attribute statistics learned online. The defaults were
/// chosen on the built-in scenarios, one left out at a time (docs/correlation.md).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LearnedConfig {
    /// Alerts that start within this of each other are a *close pair*.
    pub window_secs: u64,
    /// A key is evidence once at least this share of the close pairs that share its value
    /// are related beyond chance (`(1 − 1/lift) / (1 − chance of sharing)`; 0.65 is a lift
    /// of 2.9 for a key of many values, 2.2 for one of six) …
    pub min_related: f64,
    /// … over at least this many close pairs (decayed) …
    pub min_pairs: u64,
    /// … and chance alone would share it that often with probability at most this (a
    /// Poisson tail bound on the shared count given the expected one). It is what lets a
    /// small or young partition learn (20 pairs that share a site 15 times where 3 were
    /// expected are evidence) without trusting a lift made of a handful of pairs (2 shared
    /// where 0.4 were expected is not).
    pub max_chance: f64,
    /// A value held by more than this share of recent alerts is no evidence.
    pub max_share: f64,
    /// Recent alerts each new alert is paired with (bounds the cost per alert).
    pub max_pairs: usize,
    /// Counts halve over this much event time.
    pub half_life_secs: u64,
    /// Bounds on memory: attribute keys, values per key, recent alerts held for pairing.
    pub max_keys: usize,
    pub max_values: usize,
    pub recent: usize,
    /// Cut source names into parts (segments, prefixes, domain, IPv4 networks).
    pub name_parts: bool,
    /// Learn which alert classes (checks) start together more often than chance, and
    /// group bursts of alerts never seen before (see `correlate::cooccur`).
    pub cooccurrence: bool,
    /// Bounds on the co-occurrence memory: classes (checks) and (check, source) pairs
    /// counted, and class pairs counted.
    pub max_classes: usize,
    pub max_class_pairs: usize,
    /// Time evidence (checks that start together, bursts of novel alerts) needs this many
    /// times the chance count.
    pub min_lift: f64,
    /// Link an alert whose description names the source of another (a host name in
    /// "BGP neighbor cr2.fra Down") to it.
    pub named_entities: bool,
}

impl Default for LearnedConfig {
    fn default() -> Self {
        LearnedConfig {
            window_secs: 60,
            min_related: 0.65,
            min_pairs: 20,
            max_chance: 1e-3,
            max_share: 0.25,
            max_pairs: 32,
            half_life_secs: 86_400,
            max_keys: 64,
            max_values: 2048,
            recent: 256,
            name_parts: true,
            cooccurrence: true,
            max_classes: 4096,
            max_class_pairs: 8192,
            min_lift: 2.5,
            named_entities: true,
        }
    }
}

impl Default for CorrelationConfig {
    fn default() -> Self {
        CorrelationConfig {
            min_alerts: 2,
            reopen_grace_secs: 300,
            recipes: Vec::new(),
            max_incident_alerts: 5000,
            learned: LearnedConfig::default(),
            recurring: RecurringConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RecipeKind {
    Attribute,
    Topology,
    /// Attributes learned from the stream to predict that alerts belong together.
    Learned,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecipeConfig {
    pub name: String,
    pub kind: RecipeKind,
    /// Fields that must be present and equal to the incident's anchor alert's.
    #[serde(default)]
    pub equal: Vec<String>,
    /// Fields that must be similar to the anchor alert's, above a threshold.
    #[serde(default)]
    pub similar: Vec<SimilarityConfig>,
    /// Topology recipes: the most hops between an alert's entity and the incident's.
    #[serde(default = "default_hops")]
    pub hop_limit: u32,
    /// Topology recipes: relate nodes that only share an upstream (siblings, cousins).
    /// Off by default: then an alert must be upstream or downstream of the incident's
    /// anchor or root cause, and siblings meet through the root cause once it alerts.
    #[serde(default)]
    pub siblings: bool,
    /// Moogsoft's cook_for: an incident takes alerts until this long after its last member.
    #[serde(default = "default_window")]
    pub window_secs: u64,
    /// … but never longer than this after its first member.
    #[serde(default = "default_max_window")]
    pub max_window_secs: u64,
    #[serde(default)]
    pub min_alerts: Option<usize>,
    /// A single critical alert may open an incident of this recipe on its own.
    #[serde(default)]
    pub single_critical: bool,
    /// Only alerts matching this take part.
    #[serde(rename = "match", default)]
    pub matcher: Matcher,
}

fn default_hops() -> u32 {
    2
}
fn default_window() -> u64 {
    300
}
fn default_max_window() -> u64 {
    3600
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SimilarityMethod {
    /// Jaccard of character shingles (n-grams): for host names.
    Jaccard,
    /// Jaccard of word tokens with variables masked: for descriptions.
    Tokens,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimilarityConfig {
    pub field: String,
    pub method: SimilarityMethod,
    pub threshold: f64,
    #[serde(default = "default_shingle")]
    pub shingle: usize,
}

fn default_shingle() -> usize {
    3
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TopologyConfig {
    /// A JSON or TOML file with `nodes` and `edges`; read by the binary, not the core.
    pub file: Option<String>,
    pub nodes: Vec<TopologyNode>,
    /// `[upstream, downstream]`: a failure of the first impacts the second
    /// (host → service it runs, service → service that calls it).
    pub edges: Vec<(String, String)>,
    /// Alert fields tried in order to find the alert's node.
    pub entity_fields: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TopologyNode {
    pub id: String,
    #[serde(default)]
    pub kind: Option<String>,
}
