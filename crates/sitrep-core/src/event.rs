//! The native event model every input is normalised into.

use crate::severity::Severity;
use crate::time::Millis;
use compact_str::CompactString;
use serde::{Deserialize, Serialize};

/// One normalised monitoring event. Short identifiers use `CompactString` so that the
/// common case (host and check names under 24 bytes) needs no heap allocation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Event {
    /// The host, device or entity the event is about.
    pub source: CompactString,
    /// What was observed (Moogsoft's class/type), e.g. `disk_full`.
    pub check: CompactString,
    pub severity: Severity,
    #[serde(default)]
    pub description: String,
    /// Event time; `None` means "now" as the engine sees it (its watermark).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<Millis>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<CompactString>,
    /// The tool that sent the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<CompactString>,
    /// Sorted by key, keys unique.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<(CompactString, CompactString)>,
    /// Explicit deduplication key; overrides the configured signature template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    /// The producer's own event id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<CompactString>,
    /// Unknown fields, kept verbatim (never dropped).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<(String, serde_json::Value)>,
    /// Set by a normaliser when the check is to be the mined template of the description
    /// (free text: syslog, mapped log lines). The engine mines it, deterministically, with
    /// its partition's template state. Not part of the wire format.
    #[serde(skip)]
    pub mine_template: bool,
}

impl Event {
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .binary_search_by(|(k, _)| k.as_str().cmp(key))
            .ok()
            .map(|i| self.labels[i].1.as_str())
    }

    /// Looks up a field by the name used in config: `source`, `check`, `service`,
    /// `manager`, `severity`, `description`, or `labels.NAME`.
    pub fn field(&self, name: &str) -> Option<&str> {
        match name {
            "source" => Some(&self.source),
            "check" => Some(&self.check),
            "service" => self.service.as_deref(),
            "manager" => self.manager.as_deref(),
            "description" => Some(&self.description),
            "severity" => Some(self.severity.as_str()),
            _ => name.strip_prefix("labels.").and_then(|k| self.label(k)),
        }
    }

    /// The event in the native JSON format that the native parser reads back (time as
    /// RFC 3339, labels as an object, unknown fields at the top level).
    pub fn to_native_json(&self) -> String {
        let mut m = serde_json::Map::new();
        m.insert("source".into(), self.source.as_str().into());
        m.insert("check".into(), self.check.as_str().into());
        m.insert("severity".into(), self.severity.as_str().into());
        if !self.description.is_empty() {
            m.insert("description".into(), self.description.as_str().into());
        }
        if let Some(t) = self.time {
            m.insert("time".into(), crate::time::format_rfc3339(t).into());
        }
        for (k, v) in [
            ("service", &self.service),
            ("manager", &self.manager),
            ("id", &self.id),
        ] {
            if let Some(v) = v {
                m.insert(k.into(), v.as_str().into());
            }
        }
        if let Some(s) = &self.signature {
            m.insert("signature".into(), s.as_str().into());
        }
        if !self.labels.is_empty() {
            let l: serde_json::Map<String, serde_json::Value> = self
                .labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.as_str().into()))
                .collect();
            m.insert("labels".into(), l.into());
        }
        for (k, v) in &self.extra {
            m.entry(k.clone()).or_insert_with(|| v.clone());
        }
        serde_json::Value::Object(m).to_string()
    }

    /// Sorts labels and keeps the last value of a repeated key.
    pub fn normalise_labels(&mut self) {
        if self.labels.windows(2).all(|w| w[0].0 < w[1].0) {
            return;
        }
        self.labels.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<(CompactString, CompactString)> = Vec::with_capacity(self.labels.len());
        for (k, v) in self.labels.drain(..) {
            match out.last_mut() {
                Some(last) if last.0 == k => last.1 = v,
                _ => out.push((k, v)),
            }
        }
        self.labels = out;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::normalise::{InputFormat, Normaliser};

    #[test]
    fn native_json_round_trips_through_the_parser() {
        let e = Event {
            source: "db-1".into(),
            check: "disk".into(),
            severity: crate::Severity::Minor,
            description: "disk \"x\" full".into(),
            time: Some(1_795_514_400_123),
            service: Some("billing".into()),
            labels: vec![("dc".into(), "par1".into())],
            extra: vec![("ticket".into(), serde_json::json!({"n": 1}))],
            ..Event::default()
        };
        let n = Normaliser::new(&Config::default()).unwrap();
        let mut out = Vec::new();
        n.normalise(&InputFormat::Native, e.to_native_json().as_bytes(), 0, &mut out);
        assert_eq!(out[0].as_ref().unwrap(), &e);
    }

    #[test]
    fn labels_are_sorted_and_looked_up() {
        let mut e = Event {
            labels: vec![
                ("z".into(), "1".into()),
                ("a".into(), "2".into()),
                ("z".into(), "3".into()),
            ],
            ..Default::default()
        };
        e.normalise_labels();
        assert_eq!(e.labels.len(), 2);
        assert_eq!(e.label("z"), Some("3"));
        assert_eq!(e.field("labels.a"), Some("2"));
        assert_eq!(e.field("labels.q"), None);
    }
}
