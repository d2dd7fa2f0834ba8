//! Declarative mappings from arbitrary JSON to the native model: the role of Moogsoft's
//! LAM mapping files. See [`MappingConfig`] for the config shape and `examples/mappings/`
//! for Nagios/Icinga, Logstash and APM webhook examples.

use super::native::{format_number, parse_time_text};
use super::{Normaliser, Rejection};
use crate::config::MappingConfig;
use crate::event::Event;
use crate::severity::Severity;
use crate::time::from_epoch_number;
use compact_str::CompactString;
use regex::Regex;
use rustc_hash::FxHashMap;
use serde_json::Value;
use std::collections::BTreeSet;

const NATIVE_FIELDS: [&str; 9] = [
    "source",
    "check",
    "severity",
    "description",
    "time",
    "service",
    "manager",
    "signature",
    "id",
];

pub struct CompiledMapping {
    items: Option<Vec<String>>,
    fields: Vec<(&'static str, Vec<Vec<String>>)>,
    labels: Vec<(String, Vec<String>)>,
    constants: FxHashMap<String, String>,
    severity_map: FxHashMap<String, Severity>,
    clear_when: Vec<(Vec<String>, Vec<String>)>,
    template: bool,
    extract: Vec<(Vec<String>, Regex)>,
    /// Top-level keys some path reads; the others are kept in `extra`.
    used_roots: BTreeSet<String>,
}

fn split_path(p: &str) -> Vec<String> {
    if p.is_empty() {
        Vec::new()
    } else {
        p.split('.').map(String::from).collect()
    }
}

fn lookup<'v>(mut v: &'v Value, path: &[String]) -> Option<&'v Value> {
    for seg in path {
        v = match v {
            Value::Object(m) => m.get(seg)?,
            Value::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    (!v.is_null()).then_some(v)
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => n.as_f64().map(format_number),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

impl CompiledMapping {
    pub fn compile(m: &MappingConfig) -> Result<CompiledMapping, crate::config::ConfigError> {
        let invalid = crate::config::ConfigError::Invalid;
        let mut used_roots = BTreeSet::new();
        let mut note = |p: &[String]| {
            if let Some(r) = p.first() {
                used_roots.insert(r.clone());
            }
        };
        let mut fields = Vec::new();
        for (name, paths) in &m.fields {
            let f = NATIVE_FIELDS
                .iter()
                .find(|f| **f == name)
                .ok_or_else(|| invalid(format!("fields: unknown native field `{name}`")))?;
            let ps: Vec<Vec<String>> = paths.paths().iter().map(|p| split_path(p)).collect();
            ps.iter().for_each(|p| note(p));
            fields.push((*f, ps));
        }
        for k in m.constants.keys() {
            if !NATIVE_FIELDS.contains(&k.as_str()) && !k.starts_with("labels.") {
                return Err(invalid(format!("constants: unknown native field `{k}`")));
            }
        }
        let labels: Vec<(String, Vec<String>)> =
            m.labels.iter().map(|(k, p)| (k.clone(), split_path(p))).collect();
        labels.iter().for_each(|(_, p)| note(p));
        let mut extract = Vec::new();
        for x in &m.extract {
            let re = Regex::new(&x.regex).map_err(|e| invalid(format!("extract: bad regex: {e}")))?;
            for name in re.capture_names().flatten() {
                if !NATIVE_FIELDS.contains(&name) && !name.starts_with("labels_") {
                    return Err(invalid(format!(
                        "extract: group `{name}` is not a native field (or labels_NAME)"
                    )));
                }
            }
            let p = split_path(&x.from);
            note(&p);
            extract.push((p, re));
        }
        Ok(CompiledMapping {
            items: m.items.as_deref().map(split_path),
            fields,
            labels,
            constants: m.constants.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            severity_map: m
                .severity_map
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), *v))
                .collect(),
            clear_when: m
                .clear_when
                .iter()
                .map(|(p, vs)| (split_path(p), vs.iter().map(|v| v.to_ascii_lowercase()).collect()))
                .collect(),
            extract,
            used_roots,
            template: m.template,
        })
    }

    pub(super) fn apply(&self, n: &Normaliser, raw: &[u8], out: &mut Vec<Result<Event, Rejection>>) {
        let doc: Value = match serde_json::from_slice(raw) {
            Ok(v) => v,
            Err(e) => return out.push(Err(Rejection::NotJson(e.to_string()))),
        };
        match &self.items {
            None => out.push(self.record(n, &doc)),
            Some(path) => match lookup(&doc, path) {
                Some(Value::Array(items)) if !items.is_empty() => {
                    for it in items {
                        out.push(self.record(n, it));
                    }
                }
                Some(Value::Array(_)) => out.push(Err(Rejection::Empty)),
                _ => out.push(Err(Rejection::Schema(format!(
                    "no array at `{}`",
                    path.join(".")
                )))),
            },
        }
    }

    fn record(&self, n: &Normaliser, rec: &Value) -> Result<Event, Rejection> {
        if !rec.is_object() {
            return Err(Rejection::Schema("a mapped record must be a JSON object".into()));
        }
        let mut vals: FxHashMap<&str, Value> = FxHashMap::default();
        for (name, paths) in &self.fields {
            if let Some(v) = paths.iter().find_map(|p| lookup(rec, p)) {
                vals.insert(name, v.clone());
            }
        }
        let mut labels: Vec<(CompactString, CompactString)> = Vec::new();
        for (p, re) in &self.extract {
            let Some(text) = lookup(rec, p).and_then(scalar_text) else {
                continue;
            };
            let Some(caps) = re.captures(&text) else { continue };
            for name in re.capture_names().flatten() {
                let Some(m) = caps.name(name) else { continue };
                if let Some(l) = name.strip_prefix("labels_") {
                    labels.push((l.into(), m.as_str().into()));
                } else if let Some(f) = NATIVE_FIELDS.iter().find(|f| **f == name) {
                    vals.entry(f)
                        .or_insert_with(|| Value::String(m.as_str().to_string()));
                }
            }
        }
        for (k, p) in &self.labels {
            if let Some(t) = lookup(rec, p).and_then(scalar_text) {
                labels.push((k.as_str().into(), t.into()));
            }
        }
        for (k, v) in &self.constants {
            if let Some(l) = k.strip_prefix("labels.") {
                if !labels.iter().any(|(x, _)| x == l) {
                    labels.push((l.into(), v.as_str().into()));
                }
            } else if let Some(f) = NATIVE_FIELDS.iter().find(|f| **f == k) {
                vals.entry(f).or_insert_with(|| Value::String(v.clone()));
            }
        }
        let text = |f: &str| vals.get(f).and_then(scalar_text);
        let cleared = self.clear_when.iter().any(|(p, vs)| {
            lookup(rec, p)
                .and_then(scalar_text)
                .is_some_and(|v| vs.contains(&v.to_ascii_lowercase()))
        });
        let severity = match vals.get("severity") {
            _ if cleared => Severity::Clear,
            None => n.missing_severity()?,
            Some(v) => {
                let t =
                    scalar_text(v).ok_or_else(|| Rejection::Schema("severity must be a scalar".into()))?;
                match self.severity_map.get(&t.to_ascii_lowercase()) {
                    Some(s) => *s,
                    None => match v {
                        Value::Number(x) => n.severity_by_number(x.as_f64().unwrap_or(-1.0))?,
                        _ => n.severity_by_name(&t)?,
                    },
                }
            }
        };
        let time = match vals.get("time") {
            None => None,
            Some(Value::Number(x)) => {
                let f = x.as_f64().unwrap_or(-1.0);
                Some(from_epoch_number(f).ok_or_else(|| Rejection::BadTime(f.to_string()))?)
            }
            Some(v) => Some(parse_time_text(&scalar_text(v).unwrap_or_default())?),
        };
        let extra = match rec {
            Value::Object(m) => m
                .iter()
                .filter(|(k, _)| !self.used_roots.contains(*k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            _ => Vec::new(),
        };
        let mut labels = labels;
        let check = match (self.template, text("check")) {
            (true, Some(c)) => {
                labels.push(("source_check".into(), c.into()));
                "template".to_string()
            }
            (true, None) => "template".to_string(),
            (false, c) => c.ok_or_else(|| Rejection::MissingField("check".into()))?,
        };
        let ev = Event {
            source: text("source")
                .ok_or_else(|| Rejection::MissingField("source".into()))?
                .into(),
            check: check.into(),
            mine_template: self.template,
            severity,
            description: text("description").unwrap_or_default(),
            time,
            service: text("service").map(Into::into),
            manager: text("manager").map(Into::into),
            labels,
            signature: text("signature"),
            id: text("id").map(Into::into),
            extra,
        };
        n.validate(ev)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::normalise::InputFormat;
    use proptest::prelude::*;

    fn normaliser(toml: &str) -> Normaliser {
        Normaliser::new(&Config::from_toml(toml).unwrap()).unwrap()
    }

    fn run(n: &Normaliser, name: &str, raw: &str) -> Vec<Result<Event, Rejection>> {
        let mut out = Vec::new();
        n.normalise(&InputFormat::Mapping(name.into()), raw.as_bytes(), 0, &mut out);
        out
    }

    const NAGIOS: &str = r#"
        [mappings.nagios]
        fields = { source = "host.name", check = ["service.description", "check_command"], severity = "state", description = "output", time = "timestamp" }
        constants = { manager = "nagios", "labels.tool" = "nagios" }
        severity_map = { OK = "clear", WARNING = "warning", CRITICAL = "critical", UNKNOWN = "indeterminate", UP = "clear", DOWN = "critical" }
    "#;

    #[test]
    fn nagios_notification() {
        let n = normaliser(NAGIOS);
        let out = run(
            &n,
            "nagios",
            r#"{"host":{"name":"db-1"},"service":{"description":"Disk /var"},"state":"CRITICAL","output":"DISK CRITICAL - 2% free","timestamp":1700000000,"notificationtype":"PROBLEM"}"#,
        );
        let e = out[0].as_ref().unwrap();
        assert_eq!(
            (e.source.as_str(), e.check.as_str(), e.severity),
            ("db-1", "Disk /var", Severity::Critical)
        );
        assert_eq!(e.manager.as_deref(), Some("nagios"));
        assert_eq!(e.label("tool"), Some("nagios"));
        assert_eq!(e.time, Some(1_700_000_000_000));
        assert_eq!(
            e.extra,
            vec![("notificationtype".to_string(), Value::String("PROBLEM".into()))]
        );
        let out = run(
            &n,
            "nagios",
            r#"{"host":{"name":"db-1"},"check_command":"check-host-alive","state":"DOWN"}"#,
        );
        assert_eq!(out[0].as_ref().unwrap().check, "check-host-alive");
    }

    #[test]
    fn items_and_regex_extract() {
        let n = normaliser(
            r#"
            [mappings.apm]
            items = "incidents"
            fields = { check = "condition_name", severity = "priority", description = "details" }
            clear_when = { state = ["closed"] }
            extract = [{ from = "targets.0.name", regex = "^(?P<service>[a-z]+)@(?P<source>[\\w.-]+)$" }]
            "#,
        );
        let out = run(
            &n,
            "apm",
            r#"{"incidents":[{"condition_name":"Error rate","priority":"critical","details":"x","targets":[{"name":"checkout@web-3"}]},{"condition_name":"y","priority":"critical"}]}"#,
        );
        let e = out[0].as_ref().unwrap();
        assert_eq!(
            (e.source.as_str(), e.service.as_deref()),
            ("web-3", Some("checkout"))
        );
        assert_eq!(out[1], Err(Rejection::MissingField("source".into())));
        assert!(matches!(
            run(&n, "apm", r#"{"x":1}"#)[0],
            Err(Rejection::Schema(_))
        ));
    }

    #[test]
    fn bad_mapping_config_is_refused() {
        let cfg = Config::from_toml("[mappings.x]\nfields = { sauce = \"a\" }\n").unwrap();
        assert!(Normaliser::new(&cfg).err().unwrap().to_string().contains("sauce"));
        let cfg = Config::from_toml("[mappings.x]\nextract = [{ from = \"a\", regex = \"(\" }]\n").unwrap();
        assert!(Normaliser::new(&cfg).is_err());
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let n = normaliser(NAGIOS);
            prop_assert!(!run(&n, "nagios", &String::from_utf8_lossy(&bytes)).is_empty());
        }
    }
}
