//! Engine configuration: serde + TOML, every table `deny_unknown_fields` so that a typo is
//! an error naming the bad key rather than a silently ignored setting.
//!
//! - [`correlation`]: `[correlation]` (recipes, the learned recipe, similarity) and `[topology]`.

mod correlation;

pub use correlation::*;

use crate::severity::Severity;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid config: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("invalid config: {0}")]
    Invalid(String),
    /// A key that is unknown or holds a value of the wrong type, by its full path
    /// (`server.lissen`, `correlation.recipes[0].window_secs`).
    #[error("invalid config: {path}: {message}")]
    Key { path: String, message: String },
}

impl ConfigError {
    /// The full path of the bad key, when the error is about one key.
    pub fn path(&self) -> Option<&str> {
        match self {
            ConfigError::Key { path, .. } => Some(path),
            _ => None,
        }
    }
}

/// Deserialises `T` from a TOML value, naming the full path of a bad key: `prefix` is the
/// path of the value itself (`server`, or empty for the whole file).
pub fn deserialize_at<'de, T, D>(de: D, prefix: &str) -> Result<T, ConfigError>
where
    T: Deserialize<'de>,
    D: serde::Deserializer<'de, Error = toml::de::Error>,
{
    serde_path_to_error::deserialize(de).map_err(|e| {
        let inner = e.inner().message().trim().to_string();
        let at_root = e.path().to_string() == "." && !inner.starts_with("unknown field");
        if at_root && prefix.is_empty() {
            // a syntax error: toml's own message shows the line and column
            return ConfigError::Toml(e.into_inner());
        }
        let mut path = prefix.to_string();
        let at = e.path().to_string();
        if at != "." && !at.is_empty() {
            if !path.is_empty() && !at.starts_with('[') {
                path.push('.');
            }
            path.push_str(&at);
        }
        let unknown = inner
            .strip_prefix("unknown field `")
            .and_then(|r| r.split('`').next());
        if let Some(key) = unknown.filter(|k| !at.ends_with(k)) {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(key);
        }
        ConfigError::Key { path, message: inner }
    })
}

/// A `[section]` kept opaque by the core (`[server]`, `[kafka]`), read by the crate that owns it.
pub fn section<T: serde::de::DeserializeOwned>(t: &toml::Table, name: &str) -> Result<T, ConfigError> {
    deserialize_at(toml::Value::Table(t.clone()), name)
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub limits: Limits,
    pub severity: SeverityConfig,
    pub dedup: DedupConfig,
    pub noise: NoiseConfig,
    pub maintenance: Vec<MaintenanceWindow>,
    pub rules: Vec<RuleConfig>,
    pub correlation: CorrelationConfig,
    pub topology: TopologyConfig,
    pub syslog: SyslogConfig,
    /// OpenTelemetry logs (OTLP/HTTP `POST /v1/logs`, Kafka `otlp_proto`/`otlp_json`).
    pub otlp: OtlpConfig,
    /// Named declarative mappings for arbitrary JSON (Moogsoft LAM style).
    pub mappings: BTreeMap<String, MappingConfig>,
    /// Online log-template mining (for `syslog.check_from = "template"` and mappings with
    /// `template = true`).
    pub templates: crate::template::TemplateConfig,
    /// The service's own settings (`[server]`: listeners, auth, webhooks…). Opaque to the
    /// core: `sitrep-server` reads and validates it, with the same unknown-key errors.
    #[serde(skip_serializing_if = "toml::Table::is_empty")]
    pub server: toml::Table,
    /// Running on Kafka (`[kafka]`: brokers, topics, scope…). Opaque to the core:
    /// `sitrep-kafka` reads and validates it.
    #[serde(skip_serializing_if = "toml::Table::is_empty")]
    pub kafka: toml::Table,
}

impl Config {
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        let cfg: Config = deserialize_at(toml::Deserializer::new(text), "")?;
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError::Invalid(m));
        if self.dedup.signature.is_empty() {
            return bad("dedup.signature: needs at least one field".into());
        }
        for f in &self.dedup.signature {
            if !is_field_name(f) {
                return bad(format!("dedup.signature: unknown field `{f}`"));
            }
        }
        let l = &self.correlation.learned;
        if l.max_values < 10
            || l.max_classes < 10
            || l.max_class_pairs < 10
            || l.recent == 0
            || l.max_keys == 0
            || l.window_secs == 0
        {
            return bad(
                "correlation.learned: max_values, max_classes and max_class_pairs ≥ 10; recent, max_keys and window_secs > 0"
                    .into(),
            );
        }
        if l.min_lift.is_nan()
            || l.min_lift <= 1.0
            || !(l.min_related > 0.0 && l.min_related < 1.0)
            || !(0.0..=1.0).contains(&l.max_share)
            || !(l.max_chance > 0.0 && l.max_chance <= 1.0)
        {
            return bad(
                "correlation.learned: min_lift > 1, min_related within (0, 1), max_share within 0..1, max_chance within (0, 1]".into(),
            );
        }
        for (i, r) in self.correlation.recipes.iter().enumerate() {
            if r.window_secs == 0 {
                return bad(format!(
                    "correlation.recipes[{i}] ({}): window_secs must be > 0",
                    r.name
                ));
            }
            for f in r.equal.iter().chain(r.similar.iter().map(|s| &s.field)) {
                if !is_field_name(f) {
                    return bad(format!(
                        "correlation.recipes[{i}] ({}): unknown field `{f}`",
                        r.name
                    ));
                }
            }
            for s in &r.similar {
                if !(0.0..=1.0).contains(&s.threshold) {
                    return bad(format!(
                        "correlation.recipes[{i}] ({}): threshold must be in 0..1",
                        r.name
                    ));
                }
            }
        }
        for (i, r) in self.rules.iter().enumerate() {
            if r.key.is_empty() {
                return bad(format!("rules[{i}] ({}): key needs at least one field", r.name));
            }
            match r.kind {
                RuleKind::Count if r.threshold == 0 || r.window_secs == 0 => {
                    return bad(format!(
                        "rules[{i}] ({}): count rules need threshold and window_secs",
                        r.name
                    ))
                }
                RuleKind::Heartbeat if r.interval_secs == 0 || r.missed == 0 => {
                    return bad(format!(
                        "rules[{i}] ({}): heartbeat rules need interval_secs and missed",
                        r.name
                    ))
                }
                _ => {}
            }
        }
        for (i, m) in self.maintenance.iter().enumerate() {
            let (s, e) = (
                crate::time::parse_rfc3339(&m.start),
                crate::time::parse_rfc3339(&m.end),
            );
            match (s, e) {
                (Some(s), Some(e)) if s < e => {}
                _ => {
                    return bad(format!(
                        "maintenance[{i}] ({}): start/end must be RFC 3339 with start < end",
                        m.name
                    ))
                }
            }
        }
        if !matches!(self.otlp.check_from.as_str(), "event_name" | "template") {
            return bad(format!(
                "otlp.check_from: `{}` (event_name, template)",
                self.otlp.check_from
            ));
        }
        if self.otlp.source_attributes.is_empty() {
            return bad("otlp.source_attributes: needs at least one attribute name".into());
        }
        if !matches!(self.syslog.check_from.as_str(), "app" | "msgid" | "template") {
            return bad(format!(
                "syslog.check_from: `{}` (app, msgid, template)",
                self.syslog.check_from
            ));
        }
        if !(0.0..=1.0).contains(&self.templates.similarity)
            || !(0.0..=1.0).contains(&self.templates.word_similarity)
        {
            return bad("templates: similarities must be in 0..1".into());
        }
        Ok(())
    }
}

fn is_field_name(f: &str) -> bool {
    matches!(
        f,
        "source" | "check" | "service" | "manager" | "description" | "severity"
    ) || f.strip_prefix("labels.").is_some_and(|k| !k.is_empty())
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest raw event (one JSON object, syslog line, …) accepted.
    pub max_event_bytes: usize,
    pub max_labels: usize,
    pub max_description_bytes: usize,
    /// For `source`, `check`, `service`, label keys and values.
    pub max_field_bytes: usize,
    /// How much of a rejected input the dead-letter record keeps.
    pub dead_letter_raw_bytes: usize,
    /// Live hosts refuse an event dated further than this after their own clock (one
    /// far-future event would move the engine's event-time clock for good).
    pub max_future_secs: u64,
    /// Live hosts refuse an event dated further than this before their own clock; 0 (the
    /// default) sets no bound. An old event cannot move the clock (it only ever moves
    /// forward), and a relay flushing a day-long backlog, or sample data with fixed dates,
    /// should not vanish by default: set it where stale events are noise.
    pub max_past_secs: u64,
    /// What a live host does with an event dated outside `max_past_secs` … `max_future_secs`
    /// of its clock: `dead_letter` (the default) refuses it (`future_time`, `past_time`);
    /// `redate` keeps it, dated at its arrival, with the time it carried in
    /// `extra.original_time` (a device whose clock is wrong still raises its alerts).
    pub out_of_range: OutOfRange,
    /// Purged incidents remembered (root cause, checks, sources, what operators did) for
    /// "similar past incidents"; the oldest is forgotten first. 0 keeps none.
    pub past_incidents: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_event_bytes: 64 * 1024,
            max_labels: 64,
            max_description_bytes: 8 * 1024,
            max_field_bytes: 512,
            dead_letter_raw_bytes: 2048,
            max_future_secs: 3600,
            max_past_secs: 0,
            out_of_range: OutOfRange::DeadLetter,
            past_incidents: 1000,
        }
    }
}

/// See [`Limits::out_of_range`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutOfRange {
    #[default]
    DeadLetter,
    Redate,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SeverityConfig {
    /// Severity for an event that names none.
    pub missing: Option<Severity>,
    /// Severity for a value nobody knows; without it such an event is bad input.
    pub unknown: Option<Severity>,
    /// Extra names (case-insensitive), e.g. `p1 = "critical"`.
    pub synonyms: BTreeMap<String, Severity>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DedupConfig {
    /// Fields whose values form an alert's signature (missing optional fields are omitted).
    pub signature: Vec<String>,
    /// Severity changes kept per alert.
    pub history: usize,
    /// A pure duplicate (count and last-seen change only) emits an alert update at most
    /// once per this many seconds of event time per alert; the final state is always exact.
    pub update_interval_secs: u64,
    pub flapping: FlappingConfig,
    /// Cleared alerts are purged this long after their clear (event time).
    pub retention_secs: u64,
}

impl Default for DedupConfig {
    fn default() -> Self {
        DedupConfig {
            signature: vec!["source".into(), "check".into(), "service".into()],
            history: 8,
            update_interval_secs: 900,
            flapping: FlappingConfig::default(),
            retention_secs: 24 * 3600,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FlappingConfig {
    /// State changes (raise or clear) …
    pub changes: usize,
    /// … within this many seconds mark the alert flapping; it settles after this long
    /// without a change.
    pub window_secs: u64,
}

impl Default for FlappingConfig {
    fn default() -> Self {
        FlappingConfig {
            changes: 4,
            window_secs: 900,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NoiseConfig {
    /// Alerts scoring below this may join an incident but not start one.
    pub threshold: f64,
    /// Alerts scoring below this take no part in correlation at all (kept and counted).
    pub join_threshold: f64,
    /// Rarity is measured against at most this many alerts (`ln(N/df) / ln(min(N, this))`),
    /// so a score means the same on a long stream as on a short one.
    pub reference_alerts: u64,
    /// … and at least this many: early-stream scores are not inflated (see `score`).
    pub min_reference_alerts: u64,
    /// A description holding one of these words scores 1.
    pub priority_words: Vec<String>,
    /// Bound on the token-frequency table.
    pub max_tokens: usize,
    /// Every alert scores 1 until this many alerts have been seen.
    pub warmup_alerts: u64,
}

impl Default for NoiseConfig {
    fn default() -> Self {
        NoiseConfig {
            threshold: 0.4,
            join_threshold: 0.3,
            reference_alerts: 10_000,
            min_reference_alerts: 300,
            priority_words: [
                "outage",
                "down",
                "unreachable",
                "failed",
                "failure",
                "crash",
                "panic",
            ]
            .map(String::from)
            .to_vec(),
            max_tokens: 100_000,
            warmup_alerts: 20,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Matcher {
    /// Glob patterns (`*`, `?`) on the field; all given must match.
    pub source: Option<String>,
    pub check: Option<String>,
    pub service: Option<String>,
    pub manager: Option<String>,
    pub min_severity: Option<Severity>,
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceWindow {
    pub name: String,
    /// RFC 3339.
    pub start: String,
    pub end: String,
    #[serde(rename = "match", default)]
    pub matcher: Matcher,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RuleKind {
    /// More than `threshold` matching events per key within `window_secs`.
    Count,
    /// No matching event for `missed` × `interval_secs` on a key seen before.
    Heartbeat,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    pub name: String,
    pub kind: RuleKind,
    #[serde(rename = "match", default)]
    pub matcher: Matcher,
    /// Fields whose values form the key, e.g. `["source"]` or `["labels.user"]`.
    pub key: Vec<String>,
    #[serde(default)]
    pub window_secs: u64,
    #[serde(default)]
    pub threshold: usize,
    #[serde(default)]
    pub interval_secs: u64,
    #[serde(default)]
    pub missed: u32,
    #[serde(default = "default_rule_severity")]
    pub severity: Severity,
    /// The synthetic alert's check; defaults to the rule name.
    #[serde(default)]
    pub check: Option<String>,
}

fn default_rule_severity() -> Severity {
    Severity::Major
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SyslogConfig {
    /// `app` (app-name/tag, the default), `msgid` (RFC 5424 MSGID when present), or
    /// `template`: the mined template of the message, its variables as labels `p1`, `p2`…
    pub check_from: String,
    pub manager: String,
}

impl Default for SyslogConfig {
    fn default() -> Self {
        SyslogConfig {
            check_from: "app".into(),
            manager: "syslog".into(),
        }
    }
}

/// How an OpenTelemetry log record becomes an event (docs/otlp.md).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OtlpConfig {
    /// Attributes naming the entity the log is about, first present wins; each is looked up
    /// in the resource's attributes, then the record's.
    pub source_attributes: Vec<String>,
    /// The attribute naming the service (resource, then record); the SDKs' placeholder
    /// `unknown_service…` counts as absent.
    pub service_attribute: String,
    /// `event_name` (the default): the record's event name (`EventName`, else the
    /// `event.name` attribute), else the mined template of the body; `template`: always
    /// the template.
    pub check_from: String,
    pub manager: String,
}

impl Default for OtlpConfig {
    fn default() -> Self {
        OtlpConfig {
            source_attributes: [
                "host.name",
                "k8s.pod.name",
                "k8s.node.name",
                "service.instance.id",
                "host.id",
                "container.name",
                "hostname",
            ]
            .map(String::from)
            .to_vec(),
            service_attribute: "service.name".into(),
            check_from: "event_name".into(),
            manager: "otel".into(),
        }
    }
}

/// Maps arbitrary JSON to the native model. Paths are dotted (`host.name`, `items.0.id`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MappingConfig {
    /// If set, the payload holds an array of records at this path (`""` for the root).
    pub items: Option<String>,
    /// Native field -> path(s) in the record; the first present value wins.
    pub fields: BTreeMap<String, PathList>,
    /// Label name -> path.
    pub labels: BTreeMap<String, String>,
    /// Native field -> fixed value, used when the path gives nothing.
    pub constants: BTreeMap<String, String>,
    /// Source value (case-insensitive) -> severity, tried before the built-in names.
    pub severity_map: BTreeMap<String, Severity>,
    /// Path -> values (case-insensitive) that make the event a clear whatever its severity,
    /// e.g. `{ state = ["closed", "resolved"] }`.
    pub clear_when: BTreeMap<String, Vec<String>>,
    /// Regexes with named groups applied to a field's value; groups named like native
    /// fields (or `labels.x`) fill those fields when still empty.
    pub extract: Vec<ExtractConfig>,
    /// The description is free text: the check becomes its mined template (the mapped
    /// `check`, if any, is kept as label `source_check`).
    pub template: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PathList {
    One(String),
    Many(Vec<String>),
}

impl PathList {
    pub fn paths(&self) -> &[String] {
        match self {
            PathList::One(p) => std::slice::from_ref(p),
            PathList::Many(v) => v,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtractConfig {
    /// Path in the record whose text is split.
    pub from: String,
    pub regex: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_parse_from_empty() {
        let c = Config::from_toml("").unwrap();
        assert_eq!(c.correlation.min_alerts, 2);
        assert_eq!(c.dedup.signature, ["source", "check", "service"]);
    }

    #[test]
    fn unknown_key_is_named() {
        let err = Config::from_toml("[dedup]\nsignatur = []\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("signatur"), "{err}");
        let err = Config::from_toml("[noise]\nthreshold = 0.2\nbogus = 1\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("bogus"), "{err}");
    }

    #[test]
    fn bad_keys_are_named_by_full_path() {
        let e = Config::from_toml(
            "[correlation]\n[[correlation.recipes]]\nname='x'\nkind='attribute'\nwindw=1\n",
        )
        .unwrap_err();
        assert_eq!(e.path(), Some("correlation.recipes[0].windw"), "{e}");
        let e = Config::from_toml("[noise]\nthreshold = 'high'\n").unwrap_err();
        assert_eq!(e.path(), Some("noise.threshold"), "{e}");
        let t: toml::Table = toml::from_str("listen = 1\n[syslog]\nudpp = 2").unwrap();
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Syslog {
            udp: Option<u32>,
        }
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Section {
            listen: u32,
            syslog: Syslog,
        }
        let e = section::<Section>(&t, "server").unwrap_err();
        assert_eq!(e.path(), Some("server.syslog.udpp"), "{e}");
        // a syntax error keeps toml's line and column
        let e = Config::from_toml("[dedup\n").unwrap_err();
        assert!(e.to_string().contains("line 1"), "{e}");
    }

    #[test]
    fn semantic_errors_name_the_place() {
        let err = Config::from_toml("[dedup]\nsignature = [\"nope\"]\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("nope"), "{err}");
        let t = "[[correlation.recipes]]\nname='x'\nkind='attribute'\nwindow_secs=0\n";
        assert!(Config::from_toml(t)
            .unwrap_err()
            .to_string()
            .contains("window_secs"));
    }

    #[test]
    fn full_example_parses() {
        let t = r#"
            [severity.synonyms]
            p1 = "critical"
            [[maintenance]]
            name = "db patching"
            start = "2026-11-24T00:00:00Z"
            end = "2026-11-24T02:00:00Z"
            match = { source = "db-*" }
            [[rules]]
            name = "auth-bruteforce"
            kind = "count"
            match = { check = "auth_failure" }
            key = ["source"]
            window_secs = 60
            threshold = 5
            [[correlation.recipes]]
            name = "svc"
            kind = "attribute"
            equal = ["service"]
            similar = [{ field = "source", method = "jaccard", threshold = 0.5 }]
            [topology]
            nodes = [{ id = "r1" }, { id = "h1", kind = "host" }]
            edges = [["r1", "h1"]]
            [mappings.nagios]
            fields = { source = "host", check = ["service", "check"] }
            severity_map = { OK = "clear" }
        "#;
        let c = Config::from_toml(t).unwrap();
        assert_eq!(c.rules[0].threshold, 5);
        assert_eq!(c.topology.edges.len(), 1);
        assert_eq!(c.mappings["nagios"].fields["check"].paths().len(), 2);
    }
}
