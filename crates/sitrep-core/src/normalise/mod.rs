//! normalise: raw input (native JSON, Alertmanager webhooks, syslog lines, any JSON through a
//! mapping) → [`Event`]s, or a [`Rejection`] naming why. Pure functions of the input, the
//! config and a reference time (for syslog's year-less RFC 3164 stamps).
//!
//! - `native`: the native JSON object, parsed without an intermediate DOM (hot path).
//! - `alertmanager`: Prometheus Alertmanager webhook payload, version 4.
//! - `syslog`: RFC 5424 and RFC 3164 lines.
//! - `mapping`: declarative JSON → native mapping (paths, constants, severity table, regex).
//! - [`otlp`]: OpenTelemetry logs (`ExportLogsServiceRequest`, protobuf or OTLP/JSON).

// Parsers read untrusted bytes: no slicing or indexing that can panic (tests may).
#![cfg_attr(not(test), deny(clippy::string_slice, clippy::indexing_slicing))]

mod alertmanager;
mod mapping;
mod native;
pub mod otlp;
mod syslog;

pub use mapping::CompiledMapping;

use crate::config::{Config, Limits, OtlpConfig, OutOfRange, SeverityConfig, SyslogConfig};
use crate::event::Event;
use crate::severity::Severity;
use crate::time::Millis;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The wire format of one input.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "format", content = "mapping")]
pub enum InputFormat {
    /// One native event (a JSON object) or an array of them.
    Native,
    Alertmanager,
    Syslog,
    /// Through the named mapping in the config.
    Mapping(String),
    /// One OTLP `ExportLogsServiceRequest`, protobuf (the Collector's `otlp_proto`).
    #[serde(rename = "otlp_proto")]
    OtlpProto,
    /// One OTLP `ExportLogsServiceRequest`, OTLP/JSON (the Collector's `otlp_json`).
    #[serde(rename = "otlp_json")]
    OtlpJson,
}

impl InputFormat {
    /// A format whose body is one binary or JSON document however many records it
    /// holds: never split into lines.
    pub fn is_otlp(&self) -> bool {
        matches!(self, InputFormat::OtlpProto | InputFormat::OtlpJson)
    }
}

/// An input format name that is not one of `native`, `alertmanager`, `syslog`, `mapping:NAME`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown format `{0}` (native, alertmanager, syslog, otlp_proto, otlp_json, mapping:NAME)")]
pub struct UnknownFormat(pub String);

impl std::str::FromStr for InputFormat {
    type Err = UnknownFormat;
    fn from_str(s: &str) -> Result<Self, UnknownFormat> {
        Ok(match s {
            "native" | "json" => InputFormat::Native,
            "alertmanager" => InputFormat::Alertmanager,
            "syslog" => InputFormat::Syslog,
            "otlp_proto" | "otlp" => InputFormat::OtlpProto,
            "otlp_json" => InputFormat::OtlpJson,
            _ => match s.strip_prefix("mapping:") {
                Some(name) => InputFormat::Mapping(name.to_string()),
                None => return Err(UnknownFormat(s.to_string())),
            },
        })
    }
}

/// Why an input was refused. The text is what operators read in the dead-letter output.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "code", content = "detail", rename_all = "snake_case")]
pub enum Rejection {
    #[error("input is {size} bytes, over the limit of {limit}")]
    TooLarge { size: usize, limit: usize },
    #[error("input is not UTF-8")]
    NotUtf8,
    #[error("not valid JSON: {0}")]
    NotJson(String),
    #[error("not a protobuf message of the expected type: {0}")]
    NotProtobuf(String),
    #[error("wrong shape: {0}")]
    Schema(String),
    #[error("required field `{0}` is missing or empty")]
    MissingField(String),
    #[error("unknown severity `{0}`")]
    UnknownSeverity(String),
    #[error("bad time `{0}`: expected RFC 3339 or epoch seconds/milliseconds")]
    BadTime(String),
    #[error("{count} labels, over the limit of {limit}")]
    TooManyLabels { count: usize, limit: usize },
    #[error("field `{field}` is {size} bytes, over the limit of {limit}")]
    FieldTooLong {
        field: String,
        size: usize,
        limit: usize,
    },
    #[error("not a syslog message: {0}")]
    Syslog(String),
    #[error("no mapping named `{0}` in the config")]
    UnknownMapping(String),
    #[error("empty input")]
    Empty,
    #[error("dated {ahead_secs} s ahead of the receiving clock, over the limit of {limit_secs} s (limits.max_future_secs): a device clock is wrong, or the time field is")]
    FutureTime { ahead_secs: i64, limit_secs: u64 },
    #[error("dated {behind_secs} s before the receiving clock, over the limit of {limit_secs} s (limits.max_past_secs)")]
    PastTime { behind_secs: i64, limit_secs: u64 },
}

impl Rejection {
    /// A short stable code for metrics and dead-letter records.
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::TooLarge { .. } => "too_large",
            Rejection::NotUtf8 => "not_utf8",
            Rejection::NotJson(_) => "not_json",
            Rejection::NotProtobuf(_) => "not_protobuf",
            Rejection::Schema(_) => "schema",
            Rejection::MissingField(_) => "missing_field",
            Rejection::UnknownSeverity(_) => "unknown_severity",
            Rejection::BadTime(_) => "bad_time",
            Rejection::TooManyLabels { .. } => "too_many_labels",
            Rejection::FieldTooLong { .. } => "field_too_long",
            Rejection::Syslog(_) => "syslog",
            Rejection::UnknownMapping(_) => "unknown_mapping",
            Rejection::Empty => "empty",
            Rejection::FutureTime { .. } => "future_time",
            Rejection::PastTime { .. } => "past_time",
        }
    }
}

/// A rejected input as written to the dead-letter output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// Where it came from, e.g. `file:events.jsonl` or `http`.
    pub input: String,
    /// Line number, offset or batch index within the input.
    pub position: u64,
    pub code: String,
    pub reason: String,
    /// The raw input, cut at `limits.dead_letter_raw_bytes` on a character boundary.
    pub raw: String,
    pub truncated: bool,
}

impl DeadLetter {
    pub fn new(input: &str, position: u64, rejection: &Rejection, raw: &[u8], limit: usize) -> DeadLetter {
        DeadLetter::with_reason(
            input,
            position,
            rejection.code(),
            &rejection.to_string(),
            raw,
            limit,
        )
    }

    /// A dead letter for a refusal that is not a normaliser's [`Rejection`] (a framing error
    /// on a syslog stream, an SNMP packet that does not decode): the host names its code.
    pub fn with_reason(
        input: &str,
        position: u64,
        code: &str,
        reason: &str,
        raw: &[u8],
        limit: usize,
    ) -> DeadLetter {
        let text = String::from_utf8_lossy(raw);
        let mut cut = text.len().min(limit);
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        DeadLetter {
            input: input.to_string(),
            position,
            code: code.to_string(),
            reason: reason.to_string(),
            raw: text.get(..cut).unwrap_or_default().to_string(),
            truncated: cut < text.len(),
        }
    }
}

/// Turns raw inputs into events. Cheap to clone (shared compiled config).
#[derive(Clone)]
pub struct Normaliser {
    inner: Arc<Inner>,
}

struct Inner {
    limits: Limits,
    severity: SeverityConfig,
    synonyms: FxHashMap<String, Severity>,
    syslog: SyslogConfig,
    otlp: OtlpConfig,
    mappings: FxHashMap<String, CompiledMapping>,
}

impl Normaliser {
    pub fn new(cfg: &Config) -> Result<Normaliser, crate::config::ConfigError> {
        let mut mappings = FxHashMap::default();
        for (name, m) in &cfg.mappings {
            let compiled = CompiledMapping::compile(m)
                .map_err(|e| crate::config::ConfigError::Invalid(format!("mappings.{name}: {e}")))?;
            mappings.insert(name.clone(), compiled);
        }
        Ok(Normaliser {
            inner: Arc::new(Inner {
                limits: cfg.limits.clone(),
                severity: cfg.severity.clone(),
                synonyms: cfg
                    .severity
                    .synonyms
                    .iter()
                    .map(|(k, v)| (k.to_ascii_lowercase(), *v))
                    .collect(),
                syslog: cfg.syslog.clone(),
                otlp: cfg.otlp.clone(),
                mappings,
            }),
        })
    }

    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// For hosts that receive live (the server's HTTP, syslog, SNMP and OTLP, the Kafka
    /// ingest against each record's timestamp): an event dated more than
    /// `limits.max_future_secs` after `now`, the receiving clock, or (when set) more than
    /// `limits.max_past_secs` before it, is refused — or, with `limits.out_of_range =
    /// "redate"`, dated `now` with the time it carried kept in `extra.original_time`. The
    /// engine's clock is the greatest event time seen, so one event dated 9999-12-31 would
    /// otherwise purge every cleared alert at once and stop every timer for good. Replays
    /// of recorded streams do not call it: their times are whatever they were.
    pub fn check_time_range(&self, e: &mut Event, now: Millis) -> Result<(), Rejection> {
        let limits = &self.inner.limits;
        let Some(t) = e.time else { return Ok(()) };
        let ahead = t.saturating_sub(now);
        let refusal = if ahead > (limits.max_future_secs as i64).saturating_mul(1000) {
            Rejection::FutureTime {
                ahead_secs: ahead / 1000,
                limit_secs: limits.max_future_secs,
            }
        } else if limits.max_past_secs > 0 && -ahead > (limits.max_past_secs as i64).saturating_mul(1000) {
            Rejection::PastTime {
                behind_secs: -ahead / 1000,
                limit_secs: limits.max_past_secs,
            }
        } else {
            return Ok(());
        };
        match limits.out_of_range {
            OutOfRange::DeadLetter => Err(refusal),
            OutOfRange::Redate => {
                e.extra.push((
                    "original_time".into(),
                    serde_json::Value::String(crate::time::format_rfc3339(t)),
                ));
                e.time = Some(now);
                Ok(())
            }
        }
    }

    /// Normalises one raw input (one JSON document, one syslog line). Each resulting event or
    /// rejection is pushed to `out` in input order; a payload that fails as a whole pushes one
    /// rejection. `reference_time` dates syslog stamps that carry no year.
    pub fn normalise(
        &self,
        format: &InputFormat,
        raw: &[u8],
        reference_time: Millis,
        out: &mut Vec<Result<Event, Rejection>>,
    ) {
        // a batch format is judged record by record (the body limit bounds the whole)
        let batch = matches!(format, InputFormat::Alertmanager) || format.is_otlp();
        if !batch {
            if let Err(too_large) = self.check_event_size(raw) {
                out.push(Err(too_large));
                return;
            }
        }
        match format {
            InputFormat::Native => native::parse(self, raw, out),
            InputFormat::Alertmanager => alertmanager::parse(self, raw, out),
            InputFormat::Syslog => out.push(syslog::parse(self, raw, reference_time, None)),
            InputFormat::OtlpProto => otlp::parse(self, raw, false, out),
            InputFormat::OtlpJson => otlp::parse(self, raw, true, out),
            InputFormat::Mapping(name) => match self.inner.mappings.get(name) {
                Some(m) => m.apply(self, raw, out),
                None => out.push(Err(Rejection::UnknownMapping(name.clone()))),
            },
        }
    }

    /// One syslog line received from `sender` (the peer's address), which becomes the
    /// source of a BSD line that carries no HOSTNAME (RFC 3164 §4.3.3). Too large a line is
    /// refused as in [`Normaliser::normalise`].
    pub fn normalise_syslog_from(
        &self,
        raw: &[u8],
        reference_time: Millis,
        sender: &str,
    ) -> Result<Event, Rejection> {
        self.check_event_size(raw)?;
        syslog::parse(self, raw, reference_time, Some(sender))
    }

    /// Refuses one raw event over `limits.max_event_bytes`, before any parsing.
    fn check_event_size(&self, raw: &[u8]) -> Result<(), Rejection> {
        let limit = self.inner.limits.max_event_bytes;
        if raw.len() > limit {
            return Err(Rejection::TooLarge {
                size: raw.len(),
                limit,
            });
        }
        Ok(())
    }

    /// Resolves a severity name through the config's synonyms, then the built-in table.
    pub fn severity_by_name(&self, s: &str) -> Result<Severity, Rejection> {
        if !self.inner.synonyms.is_empty() {
            if let Some(v) = self.inner.synonyms.get(&s.to_ascii_lowercase()) {
                return Ok(*v);
            }
        }
        if let Some(v) = Severity::from_builtin_name(s) {
            return Ok(v);
        }
        self.inner
            .severity
            .unknown
            .ok_or_else(|| Rejection::UnknownSeverity(s.to_string()))
    }

    pub fn severity_by_number(&self, n: f64) -> Result<Severity, Rejection> {
        if n.fract() == 0.0 {
            if let Some(s) = Severity::from_level(n as i64) {
                return Ok(s);
            }
        }
        self.inner
            .severity
            .unknown
            .ok_or_else(|| Rejection::UnknownSeverity(n.to_string()))
    }

    pub fn missing_severity(&self) -> Result<Severity, Rejection> {
        self.inner
            .severity
            .missing
            .ok_or_else(|| Rejection::MissingField("severity".into()))
    }

    /// Applies the limits and the required-field checks shared by every format.
    pub fn validate(&self, mut e: Event) -> Result<Event, Rejection> {
        let l = &self.inner.limits;
        if e.source.trim().is_empty() {
            return Err(Rejection::MissingField("source".into()));
        }
        if e.check.trim().is_empty() {
            return Err(Rejection::MissingField("check".into()));
        }
        let long = |field: &str, size: usize, limit: usize| {
            Err(Rejection::FieldTooLong {
                field: field.to_string(),
                size,
                limit,
            })
        };
        if e.source.len() > l.max_field_bytes {
            return long("source", e.source.len(), l.max_field_bytes);
        }
        if e.check.len() > l.max_field_bytes {
            return long("check", e.check.len(), l.max_field_bytes);
        }
        if let Some(s) = &e.service {
            if s.len() > l.max_field_bytes {
                return long("service", s.len(), l.max_field_bytes);
            }
        }
        if e.description.len() > l.max_description_bytes {
            return long("description", e.description.len(), l.max_description_bytes);
        }
        if e.labels.len() > l.max_labels {
            return Err(Rejection::TooManyLabels {
                count: e.labels.len(),
                limit: l.max_labels,
            });
        }
        for (k, v) in &e.labels {
            if k.len() > l.max_field_bytes || v.len() > l.max_field_bytes {
                return long(&format!("labels.{k}"), k.len().max(v.len()), l.max_field_bytes);
            }
        }
        e.normalise_labels();
        Ok(e)
    }

    fn syslog_config(&self) -> &SyslogConfig {
        &self.inner.syslog
    }

    fn otlp_config(&self) -> &OtlpConfig {
        &self.inner.otlp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dead_letter_truncates_on_char_boundary() {
        let raw = "é".repeat(10);
        let d = DeadLetter::new("t", 1, &Rejection::Empty, raw.as_bytes(), 5);
        assert_eq!(d.raw, "éé");
        assert!(d.truncated);
        assert_eq!(d.code, "empty");
    }

    #[test]
    fn too_large_is_rejected_before_parsing() {
        let cfg = Config {
            limits: Limits {
                max_event_bytes: 10,
                ..Limits::default()
            },
            ..Config::default()
        };
        let n = Normaliser::new(&cfg).unwrap();
        let mut out = Vec::new();
        n.normalise(
            &InputFormat::Native,
            br#"{"source":"a","check":"b","severity":5}"#,
            0,
            &mut out,
        );
        assert!(matches!(out[0], Err(Rejection::TooLarge { limit: 10, .. })));
    }

    #[test]
    fn time_range_refuses_or_redates() {
        let now = 1_795_514_400_000;
        let event = |t: Millis| Event {
            source: "h".into(),
            check: "c".into(),
            time: Some(t),
            ..Default::default()
        };
        let day = 86_400_000;
        // defaults: an hour ahead at most, no bound behind
        let n = Normaliser::new(&Config::default()).unwrap();
        let mut e = event(now + 2 * 3_600_000);
        assert_eq!(n.check_time_range(&mut e, now).unwrap_err().code(), "future_time");
        assert_eq!(n.check_time_range(&mut event(now + 60_000), now), Ok(()));
        assert_eq!(n.check_time_range(&mut event(now - 400 * day), now), Ok(()));
        // a bound behind, then re-dating instead of refusing
        let mut cfg = Config::default();
        cfg.limits.max_past_secs = 86_400;
        let n = Normaliser::new(&cfg).unwrap();
        let refused = n.check_time_range(&mut event(now - 2 * day), now).unwrap_err();
        assert_eq!(refused.code(), "past_time");
        assert!(refused.to_string().contains("172800 s before"), "{refused}");
        assert_eq!(n.check_time_range(&mut event(now - day / 2), now), Ok(()));
        cfg.limits.out_of_range = OutOfRange::Redate;
        let n = Normaliser::new(&cfg).unwrap();
        for t in [now - 2 * day, 253_402_214_400_000] {
            let mut e = event(t);
            assert_eq!(n.check_time_range(&mut e, now), Ok(()));
            assert_eq!(e.time, Some(now), "dated at its arrival");
            assert_eq!(
                e.extra,
                vec![(
                    "original_time".to_string(),
                    serde_json::json!(crate::time::format_rfc3339(t))
                )]
            );
        }
        // no time at all: the caller dates it
        let mut e = Event {
            time: None,
            ..event(0)
        };
        assert_eq!(n.check_time_range(&mut e, now), Ok(()));
        assert_eq!(e.time, None);
    }

    #[test]
    fn unknown_mapping_is_named() {
        let n = Normaliser::new(&Config::default()).unwrap();
        let mut out = Vec::new();
        n.normalise(&InputFormat::Mapping("zz".into()), b"{}", 0, &mut out);
        assert_eq!(
            out[0].as_ref().unwrap_err().to_string(),
            "no mapping named `zz` in the config"
        );
    }

    #[test]
    fn config_synonyms_and_unknown_default() {
        let mut cfg = Config::default();
        cfg.severity.synonyms.insert("P1".into(), Severity::Critical);
        let n = Normaliser::new(&cfg).unwrap();
        assert_eq!(n.severity_by_name("p1"), Ok(Severity::Critical));
        assert!(n.severity_by_name("p9").is_err());
        cfg.severity.unknown = Some(Severity::Warning);
        let n = Normaliser::new(&cfg).unwrap();
        assert_eq!(n.severity_by_name("p9"), Ok(Severity::Warning));
    }
}
