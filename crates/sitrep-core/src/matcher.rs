//! Compiled [`Matcher`]s: glob patterns on event fields, for maintenance windows, rules and
//! recipe filters.

use crate::config::ConfigError;
use crate::config::Matcher;
use crate::event::Event;
use crate::severity::Severity;
use regex::Regex;

#[derive(Debug, Clone)]
pub struct CompiledMatcher {
    fields: Vec<(String, Glob)>,
    min_severity: Option<Severity>,
}

#[derive(Debug, Clone)]
enum Glob {
    Exact(String),
    Any,
    Pattern(Regex),
}

impl Glob {
    fn new(p: &str) -> Result<Glob, ConfigError> {
        if p == "*" {
            return Ok(Glob::Any);
        }
        if !p.contains(['*', '?']) {
            return Ok(Glob::Exact(p.to_string()));
        }
        let mut re = String::from("^");
        for c in p.chars() {
            match c {
                '*' => re.push_str(".*"),
                '?' => re.push('.'),
                c => re.push_str(&regex::escape(&c.to_string())),
            }
        }
        re.push('$');
        Regex::new(&re)
            .map(Glob::Pattern)
            .map_err(|e| ConfigError::Invalid(format!("pattern `{p}`: {e}")))
    }

    fn matches(&self, v: &str) -> bool {
        match self {
            Glob::Exact(s) => s == v,
            Glob::Any => true,
            Glob::Pattern(r) => r.is_match(v),
        }
    }
}

impl CompiledMatcher {
    pub fn compile(m: &Matcher) -> Result<CompiledMatcher, ConfigError> {
        let mut fields = Vec::new();
        for (name, pat) in [
            ("source", &m.source),
            ("check", &m.check),
            ("service", &m.service),
            ("manager", &m.manager),
        ] {
            if let Some(p) = pat {
                fields.push((name.to_string(), Glob::new(p)?));
            }
        }
        for (k, p) in &m.labels {
            fields.push((format!("labels.{k}"), Glob::new(p)?));
        }
        Ok(CompiledMatcher {
            fields,
            min_severity: m.min_severity,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.min_severity.is_none()
    }

    /// `get` returns a field's value by config name (see [`Event::field`]).
    pub fn matches_with<'a>(&self, severity: Severity, get: impl Fn(&str) -> Option<&'a str>) -> bool {
        if let Some(min) = self.min_severity {
            if severity < min {
                return false;
            }
        }
        self.fields
            .iter()
            .all(|(f, g)| get(f).is_some_and(|v| g.matches(v)))
    }

    pub fn matches(&self, ev: &Event) -> bool {
        self.is_empty() || self.matches_with(ev.severity, |f| ev.field(f))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn globs_and_labels() {
        let m = CompiledMatcher::compile(&Matcher {
            source: Some("db-*".into()),
            labels: BTreeMap::from([("dc".to_string(), "par?".to_string())]),
            min_severity: Some(Severity::Warning),
            ..Matcher::default()
        })
        .unwrap();
        let mut e = Event {
            source: "db-7".into(),
            check: "x".into(),
            severity: Severity::Major,
            labels: vec![("dc".into(), "par1".into())],
            ..Event::default()
        };
        assert!(m.matches(&e));
        e.severity = Severity::Indeterminate;
        assert!(!m.matches(&e));
        e.severity = Severity::Major;
        e.source = "web-db-7".into();
        assert!(!m.matches(&e));
        e.source = "db-1".into();
        e.labels.clear();
        assert!(!m.matches(&e));
        assert!(CompiledMatcher::compile(&Matcher::default()).unwrap().matches(&e));
    }
}
