//! Severity on Moogsoft's 0–5 scale, and the synonym table that maps what tools send.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
#[repr(u8)]
pub enum Severity {
    Clear = 0,
    #[default]
    Indeterminate = 1,
    Warning = 2,
    Minor = 3,
    Major = 4,
    Critical = 5,
}

impl Severity {
    pub fn from_level(n: i64) -> Option<Severity> {
        Some(match n {
            0 => Severity::Clear,
            1 => Severity::Indeterminate,
            2 => Severity::Warning,
            3 => Severity::Minor,
            4 => Severity::Major,
            5 => Severity::Critical,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Clear => "clear",
            Severity::Indeterminate => "indeterminate",
            Severity::Warning => "warning",
            Severity::Minor => "minor",
            Severity::Major => "major",
            Severity::Critical => "critical",
        }
    }

    pub fn is_clear(self) -> bool {
        self == Severity::Clear
    }

    /// Built-in names and synonyms, compared case-insensitively. The config's
    /// `[severity.synonyms]` table extends this (see [`crate::config::SeverityConfig`]).
    pub fn from_builtin_name(s: &str) -> Option<Severity> {
        let mut buf = [0u8; 16];
        if s.len() > buf.len() {
            return None;
        }
        for (d, c) in buf.iter_mut().zip(s.bytes()) {
            *d = c.to_ascii_lowercase();
        }
        Some(match &buf[..s.len()] {
            b"clear" | b"ok" | b"resolved" | b"normal" | b"cleared" | b"up" | b"green" | b"0" => {
                Severity::Clear
            }
            b"indeterminate" | b"info" | b"informational" | b"notice" | b"debug" | b"unknown" | b"none"
            | b"1" => Severity::Indeterminate,
            b"warning" | b"warn" | b"2" => Severity::Warning,
            b"minor" | b"low" | b"3" => Severity::Minor,
            b"major" | b"error" | b"err" | b"high" | b"4" => Severity::Major,
            b"critical" | b"crit" | b"fatal" | b"emergency" | b"emerg" | b"alert" | b"page" | b"disaster"
            | b"5" => Severity::Critical,
            _ => return None,
        })
    }

    /// Syslog severity (RFC 5424 §6.2.1, 0 = emergency … 7 = debug) to our scale.
    pub fn from_syslog(level: u8) -> Severity {
        match level {
            0..=2 => Severity::Critical,
            3 => Severity::Major,
            4 => Severity::Warning,
            _ => Severity::Indeterminate,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synonyms_and_case() {
        assert_eq!(Severity::from_builtin_name("CRIT"), Some(Severity::Critical));
        assert_eq!(Severity::from_builtin_name("Ok"), Some(Severity::Clear));
        assert_eq!(Severity::from_builtin_name("warn"), Some(Severity::Warning));
        assert_eq!(Severity::from_builtin_name("emergency"), Some(Severity::Critical));
        assert_eq!(Severity::from_builtin_name("banana"), None);
        assert_eq!(Severity::from_builtin_name("a-very-long-unknown-name"), None);
    }

    #[test]
    fn order_is_the_scale() {
        assert!(Severity::Critical > Severity::Major && Severity::Warning > Severity::Clear);
        assert_eq!(Severity::from_level(3), Some(Severity::Minor));
        assert_eq!(Severity::from_level(6), None);
    }
}
