//! The `[server]` section of the config file: listeners, durability, auth, SNMP trap table,
//! webhooks. Every table is `deny_unknown_fields`; errors name the key under `server.`.

use serde::{Deserialize, Serialize};
use sitrep_core::config::ConfigError;
use sitrep_core::Severity;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSection {
    /// HTTP API and UI. Loopback by default: exposing it is a decision.
    pub listen: SocketAddr,
    /// Journal, snapshots and dead letters.
    pub data_dir: PathBuf,
    /// fsync each group commit. Off only for benchmarks of everything else.
    pub fsync: bool,
    /// Journal records between engine snapshots (bounds restart time and disk use).
    pub snapshot_every: usize,
    /// …but no more often than this: serialising a large state pauses ingest briefly.
    pub snapshot_min_interval_ms: u64,
    pub max_body_bytes: usize,
    /// Requests being parsed, journalled or awaiting fsync at once; beyond this the
    /// service answers 503 with Retry-After rather than queue without bound.
    pub max_inflight_requests: usize,
    /// The engine's clock moves with wall time at this interval (journalled, so a replay
    /// fires the same timers at the same points).
    pub tick_ms: u64,
    /// Bearer token for mutating endpoints; `SITREP_API_TOKEN` overrides it. Unset: the
    /// API is open (loopback default).
    pub api_token: Option<String>,
    /// Reads need the token too.
    pub auth_reads: bool,
    pub syslog: SyslogListeners,
    pub snmp: SnmpSection,
    pub webhooks: Vec<WebhookConfig>,
    /// Dead-letter file size at which it is rotated (one older file kept).
    pub dead_letter_max_bytes: u64,
    /// An HTTP connection that has not sent a whole request head within this is closed
    /// (a slow or half-sent header must not hold a connection for ever).
    pub header_timeout_secs: u64,
    /// A request body not received whole within this is answered 408 and its slot freed.
    pub body_timeout_secs: u64,
}

impl Default for ServerSection {
    fn default() -> Self {
        ServerSection {
            listen: "127.0.0.1:8080".parse().expect("valid"),
            data_dir: "data".into(),
            fsync: true,
            snapshot_every: 100_000,
            snapshot_min_interval_ms: 10_000,
            max_body_bytes: 16 << 20,
            max_inflight_requests: 64,
            tick_ms: 1000,
            api_token: None,
            auth_reads: false,
            syslog: SyslogListeners::default(),
            snmp: SnmpSection::default(),
            webhooks: Vec::new(),
            dead_letter_max_bytes: 64 << 20,
            header_timeout_secs: 10,
            body_timeout_secs: 30,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SyslogListeners {
    pub udp: Option<SocketAddr>,
    pub tcp: Option<SocketAddr>,
    /// Longest message (TCP frame or datagram); longer ones go to the dead letters.
    pub max_message_bytes: Option<usize>,
    /// Open syslog TCP connections at most (default 256); more are closed on accept, so
    /// that idle senders cannot take every file descriptor from the HTTP API.
    pub max_tcp_connections: Option<usize>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SnmpSection {
    /// UDP address for traps (the standard port 162 needs privileges; 1162 is usual).
    pub listen: Option<SocketAddr>,
    /// Accepted communities (default `["public"]`); `"*"` accepts any, an empty list none.
    pub communities: Vec<String>,
    /// Take a v1 trap's source from its agent-addr field rather than from the sender's
    /// address. Off by default: any sender can write any agent-addr. Turn it on behind a
    /// trap forwarder, which sends on behalf of the device the field names.
    pub trust_agent_address: bool,
    /// Added to (and overriding by OID) the standard traps.
    pub traps: Vec<TrapMapping>,
    /// Severity of traps that no mapping names.
    pub default_severity: Severity,
}

impl Default for SnmpSection {
    fn default() -> Self {
        SnmpSection {
            listen: None,
            communities: vec!["public".into()],
            trust_agent_address: false,
            traps: Vec::new(),
            default_severity: Severity::Warning,
        }
    }
}

/// How one trap OID becomes an event.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrapMapping {
    /// The trap OID (v2c `snmpTrapOID.0`; v1 generic traps map to the same standard OIDs,
    /// enterprise-specific ones to `ENTERPRISE.0.SPECIFIC`).
    pub oid: String,
    /// Readable name, used in the description (`linkDown`).
    pub name: String,
    /// The event's check. Traps that raise and clear the same condition share it.
    pub check: String,
    pub severity: Severity,
    /// Varbind names (or OID prefixes) whose values join the alert's identity: linkDown on
    /// ifIndex 2 and on ifIndex 3 are two alerts.
    #[serde(default)]
    pub key: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    pub url: String,
    /// Which incident changes: `opened`, `updated` (anything else), `resolved`
    /// (resolved and closed). Empty means all.
    #[serde(default)]
    pub on: Vec<String>,
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
    /// First retry delay; doubles each attempt up to 60 s.
    #[serde(default = "default_backoff")]
    pub backoff_ms: u64,
    /// Sent as `Authorization: Bearer …`.
    #[serde(default)]
    pub token: Option<String>,
}

fn default_attempts() -> u32 {
    8
}
fn default_backoff() -> u64 {
    500
}

impl ServerSection {
    /// Reads `[server]` from the engine config (where the core keeps it opaque).
    pub fn from_table(t: &toml::Table) -> Result<ServerSection, ConfigError> {
        let s: ServerSection = sitrep_core::config::section(t, "server")?;
        let bad = |path: String, message: String| Err(ConfigError::Key { path, message });
        for (i, w) in s.webhooks.iter().enumerate() {
            if !(w.url.starts_with("http://") || w.url.starts_with("https://")) {
                return bad(
                    format!("server.webhooks[{i}].url"),
                    format!("`{}` is not http(s)", w.url),
                );
            }
            for on in &w.on {
                if !matches!(on.as_str(), "opened" | "updated" | "resolved") {
                    return bad(
                        format!("server.webhooks[{i}].on"),
                        format!("`{on}` (opened, updated, resolved)"),
                    );
                }
            }
        }
        for (i, m) in s.snmp.traps.iter().enumerate() {
            if crate::snmp::parse_oid(&m.oid).is_none() {
                return bad(
                    format!("server.snmp.traps[{i}].oid"),
                    format!("`{}` is not an OID", m.oid),
                );
            }
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_named() {
        let t: toml::Table = toml::from_str("listen = \"127.0.0.1:9\"\nlissen = 1").unwrap();
        let e = ServerSection::from_table(&t).unwrap_err().to_string();
        assert!(e.contains("lissen"), "{e}");
        let t: toml::Table = toml::from_str("[syslog]\nudpp = \"127.0.0.1:1\"").unwrap();
        let e = ServerSection::from_table(&t).unwrap_err().to_string();
        assert!(e.contains("udpp"), "{e}");
        let t: toml::Table = toml::from_str("[[webhooks]]\nurl = \"ftp://x\"").unwrap();
        let e = ServerSection::from_table(&t).unwrap_err().to_string();
        assert!(e.contains("webhooks[0].url"), "{e}");
        let t: toml::Table = toml::from_str("[syslog]\nudpp = \"127.0.0.1:1\"").unwrap();
        let e = ServerSection::from_table(&t).unwrap_err();
        assert_eq!(e.path(), Some("server.syslog.udpp"));
    }

    #[test]
    fn defaults_bind_loopback() {
        let s = ServerSection::from_table(&toml::Table::new()).unwrap();
        assert!(s.listen.ip().is_loopback());
        assert!(s.fsync);
    }
}
