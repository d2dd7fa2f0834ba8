//! SNMP traps (v1 and v2c) → native events. BER decoding is the `snmp-parser` crate
//! (rusticata); this module maps a trap to the event model through [`TrapTable`]: the trap
//! OID names the check and severity, chosen varbinds join the alert's identity, every
//! varbind becomes a label. The five standard traps are named out of the box, and linkUp
//! clears linkDown (same check, same key, severity clear).

use crate::config::{SnmpSection, TrapMapping};
use sitrep_core::{Event, Severity};
use snmp_parser::{ObjectSyntax, PduType, SnmpPdu, SnmpVariable, VarBindValue};
use std::collections::HashMap;
use std::net::IpAddr;

const SNMP_TRAP_OID: &str = "1.3.6.1.6.3.1.1.4.1.0";
const SYS_UP_TIME: &str = "1.3.6.1.2.1.1.3.0";
const SNMP_TRAP_ENTERPRISE: &str = "1.3.6.1.6.3.1.1.4.3.0";

/// Readable names for the varbinds the standard traps carry (IF-MIB, SNMPv2-MIB); any
/// other varbind is labelled by its OID.
const VARBIND_NAMES: &[(&str, &str)] = &[
    ("1.3.6.1.2.1.2.2.1.1", "ifIndex"),
    ("1.3.6.1.2.1.2.2.1.2", "ifDescr"),
    ("1.3.6.1.2.1.2.2.1.7", "ifAdminStatus"),
    ("1.3.6.1.2.1.2.2.1.8", "ifOperStatus"),
    ("1.3.6.1.2.1.31.1.1.1.1", "ifName"),
    ("1.3.6.1.2.1.1.5", "sysName"),
];

/// The standard traps (RFC 3418 / RFC 2863), v2c OIDs; v1 generic traps 0–4 map here.
pub fn standard_traps() -> Vec<TrapMapping> {
    let m = |oid: &str, name: &str, check: &str, severity, key: &[&str]| TrapMapping {
        oid: oid.into(),
        name: name.into(),
        check: check.into(),
        severity,
        key: key.iter().map(|k| k.to_string()).collect(),
    };
    vec![
        m(
            "1.3.6.1.6.3.1.1.5.1",
            "coldStart",
            "restart",
            Severity::Warning,
            &[],
        ),
        m(
            "1.3.6.1.6.3.1.1.5.2",
            "warmStart",
            "restart",
            Severity::Warning,
            &[],
        ),
        m(
            "1.3.6.1.6.3.1.1.5.3",
            "linkDown",
            "link_down",
            Severity::Major,
            &["ifIndex"],
        ),
        m(
            "1.3.6.1.6.3.1.1.5.4",
            "linkUp",
            "link_down",
            Severity::Clear,
            &["ifIndex"],
        ),
        m(
            "1.3.6.1.6.3.1.1.5.5",
            "authenticationFailure",
            "auth_failure",
            Severity::Minor,
            &[],
        ),
    ]
}

pub fn parse_oid(s: &str) -> Option<Vec<u64>> {
    let s = s.trim().trim_start_matches('.');
    if s.is_empty() {
        return None;
    }
    s.split('.').map(|p| p.parse().ok()).collect()
}

/// Trap OID → mapping, built once from the standard traps and the config's overrides.
pub struct TrapTable {
    by_oid: HashMap<String, TrapMapping>,
    communities: Vec<String>,
    trust_agent_address: bool,
    default_severity: Severity,
}

#[derive(Debug, PartialEq)]
pub enum TrapError {
    /// Not BER, or not a v1/v2c message.
    Malformed(String),
    /// A message that is not a trap (a get, a response…).
    NotATrap(String),
    Community(String),
}

impl TrapError {
    pub fn code(&self) -> &'static str {
        match self {
            TrapError::Malformed(_) => "snmp_malformed",
            TrapError::NotATrap(_) => "snmp_not_a_trap",
            TrapError::Community(_) => "snmp_community",
        }
    }
}

impl std::fmt::Display for TrapError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrapError::Malformed(m) => write!(f, "not an SNMP v1/v2c message: {m}"),
            TrapError::NotATrap(m) => write!(f, "not a trap: {m}"),
            TrapError::Community(c) => write!(f, "community `{c}` is not accepted"),
        }
    }
}

fn varbind_name(oid: &str) -> String {
    for (prefix, name) in VARBIND_NAMES {
        if let Some(rest) = oid.strip_prefix(prefix) {
            if rest.is_empty() || rest.starts_with('.') {
                return name.to_string();
            }
        }
    }
    oid.to_string()
}

fn value_text(v: &VarBindValue) -> String {
    let VarBindValue::Value(v) = v else {
        return String::new();
    };
    match v {
        ObjectSyntax::Number(n) => n.to_string(),
        ObjectSyntax::String(b) | ObjectSyntax::Opaque(b) => match std::str::from_utf8(b) {
            Ok(s) if !s.chars().any(|c| c.is_control()) => s.to_string(),
            _ => b.iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join(":"),
        },
        ObjectSyntax::Object(o) => o.to_id_string(),
        ObjectSyntax::IpAddress(snmp_parser::NetworkAddress::IPv4(ip)) => ip.to_string(),
        ObjectSyntax::Counter32(n) | ObjectSyntax::Gauge32(n) | ObjectSyntax::UInteger32(n) => n.to_string(),
        ObjectSyntax::TimeTicks(n) => n.to_string(),
        ObjectSyntax::Counter64(n) => n.to_string(),
        ObjectSyntax::Empty => String::new(),
        other => format!("{other:?}"),
    }
}

impl TrapTable {
    pub fn new(cfg: &SnmpSection) -> TrapTable {
        let mut by_oid = HashMap::new();
        for m in standard_traps().into_iter().chain(cfg.traps.iter().cloned()) {
            let key = parse_oid(&m.oid)
                .map(|p| p.iter().map(u64::to_string).collect::<Vec<_>>().join("."))
                .unwrap_or_default();
            by_oid.insert(key, m);
        }
        TrapTable {
            by_oid,
            communities: cfg.communities.clone(),
            trust_agent_address: cfg.trust_agent_address,
            default_severity: cfg.default_severity,
        }
    }

    /// Decodes one datagram from `peer` into an event (time left for the edge to set).
    pub fn decode(&self, datagram: &[u8], peer: IpAddr) -> Result<Event, TrapError> {
        let msg = match snmp_parser::parse_snmp_v1(datagram) {
            Ok((_, m)) => m,
            Err(_) => match snmp_parser::parse_snmp_v2c(datagram) {
                Ok((_, m)) => m,
                Err(e) => return Err(TrapError::Malformed(format!("{e:?}"))),
            },
        };
        if !self.communities.iter().any(|c| c == "*" || *c == msg.community) {
            return Err(TrapError::Community(msg.community));
        }
        // a v1 agent-addr not used as the source is kept as a label
        let mut agent_label = None;
        let (trap_oid, source, vars): (String, String, &[SnmpVariable]) = match &msg.pdu {
            SnmpPdu::TrapV1(t) => {
                let oid = if t.generic_trap.0 < 6 {
                    format!("1.3.6.1.6.3.1.1.5.{}", t.generic_trap.0 + 1)
                } else {
                    format!("{}.0.{}", t.enterprise.to_id_string(), t.specific_trap)
                };
                let snmp_parser::NetworkAddress::IPv4(agent) = t.agent_addr;
                let source = if agent.is_unspecified() || !self.trust_agent_address {
                    peer.to_string()
                } else {
                    agent.to_string()
                };
                if !agent.is_unspecified() && agent.to_string() != source {
                    agent_label = Some(agent.to_string());
                }
                (oid, source, &t.var)
            }
            SnmpPdu::Generic(g) if g.pdu_type == PduType::TrapV2 => {
                let oid = g
                    .var
                    .iter()
                    .find(|v| v.oid.to_id_string() == SNMP_TRAP_OID)
                    .map(|v| value_text(&v.val))
                    .ok_or_else(|| TrapError::Malformed("v2c trap without snmpTrapOID.0".into()))?;
                (oid, peer.to_string(), &g.var)
            }
            SnmpPdu::Generic(g) => return Err(TrapError::NotATrap(format!("{:?}", g.pdu_type))),
            SnmpPdu::Bulk(_) => return Err(TrapError::NotATrap("GetBulk".into())),
        };
        let mapping = self.by_oid.get(&trap_oid);
        let mut ev = Event {
            source: source.as_str().into(),
            manager: Some("snmp".into()),
            ..Event::default()
        };
        let mut labels = Vec::new();
        let mut text = Vec::new();
        for v in vars {
            let oid = v.oid.to_id_string();
            if oid == SNMP_TRAP_OID || oid == SYS_UP_TIME || oid == SNMP_TRAP_ENTERPRISE {
                continue;
            }
            let name = varbind_name(&oid);
            let value = value_text(&v.val);
            text.push(format!("{name}={value}"));
            labels.push((name, value));
        }
        labels.push(("trap_oid".to_string(), trap_oid.clone()));
        if let Some(a) = agent_label {
            labels.push(("agent_addr".to_string(), a));
        }
        let (name, check, severity) = match mapping {
            Some(m) => (m.name.clone(), m.check.clone(), m.severity),
            None => (trap_oid.clone(), trap_oid.clone(), self.default_severity),
        };
        ev.check = check.as_str().into();
        ev.severity = severity;
        ev.description = if text.is_empty() {
            format!("{name} from {source}")
        } else {
            format!("{name} from {source}: {}", text.join(", "))
        };
        if let Some(m) = mapping.filter(|m| !m.key.is_empty()) {
            let mut sig = format!("{source}::{check}");
            for k in &m.key {
                let v = labels
                    .iter()
                    .find(|(n, _)| n == k || n.starts_with(&format!("{k}.")))
                    .map(|(_, v)| v.as_str())
                    .unwrap_or("");
                sig.push_str(&format!("::{k}={v}"));
            }
            ev.signature = Some(sig);
        }
        labels.sort();
        labels.dedup_by(|a, b| a.0 == b.0);
        ev.labels = labels.into_iter().map(|(k, v)| (k.into(), v.into())).collect();
        Ok(ev)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A v1 linkDown (generic 2) from agent 10.0.0.1 with ifIndex.2 = 2, BER by hand (the
    // integration test sends the same through net-snmp's `snmptrap`).
    fn v1_link_down() -> Vec<u8> {
        let ifindex_oid = [0x2b, 6, 1, 2, 1, 2, 2, 1, 1, 2];
        let mut varbind = vec![0x06, ifindex_oid.len() as u8];
        varbind.extend_from_slice(&ifindex_oid);
        varbind.extend_from_slice(&[0x02, 0x01, 0x02]);
        let mut vb = vec![0x30, varbind.len() as u8];
        vb.extend(varbind);
        let mut vbl = vec![0x30, vb.len() as u8];
        vbl.extend(vb);
        let mut pdu_body = Vec::new();
        // enterprise 1.3.6.1.4.1
        pdu_body.extend_from_slice(&[0x06, 0x05, 0x2b, 6, 1, 4, 1]);
        pdu_body.extend_from_slice(&[0x40, 0x04, 10, 0, 0, 1]); // agent-addr
        pdu_body.extend_from_slice(&[0x02, 0x01, 0x02]); // generic linkDown
        pdu_body.extend_from_slice(&[0x02, 0x01, 0x00]); // specific
        pdu_body.extend_from_slice(&[0x43, 0x01, 0x05]); // time-stamp
        pdu_body.extend(vbl);
        let mut pdu = vec![0xa4, pdu_body.len() as u8];
        pdu.extend(pdu_body);
        let mut body = vec![0x02, 0x01, 0x00, 0x04, 0x06];
        body.extend_from_slice(b"public");
        body.extend(pdu);
        let mut msg = vec![0x30, body.len() as u8];
        msg.extend(body);
        msg
    }

    #[test]
    fn v1_link_down_maps_to_a_keyed_major_alert() {
        let t = TrapTable::new(&SnmpSection {
            trust_agent_address: true,
            ..SnmpSection::default()
        });
        let e = t.decode(&v1_link_down(), "127.0.0.1".parse().unwrap()).unwrap();
        assert_eq!(e.source, "10.0.0.1");
        assert_eq!(e.check, "link_down");
        assert_eq!(e.severity, Severity::Major);
        assert_eq!(e.label("ifIndex"), Some("2"));
        assert_eq!(e.signature.as_deref(), Some("10.0.0.1::link_down::ifIndex=2"));
        assert!(
            e.description.starts_with("linkDown from 10.0.0.1"),
            "{}",
            e.description
        );
    }

    #[test]
    fn by_default_the_sender_not_the_agent_field_is_the_source() {
        let t = TrapTable::new(&SnmpSection::default());
        let e = t.decode(&v1_link_down(), "127.0.0.1".parse().unwrap()).unwrap();
        assert_eq!(e.source, "127.0.0.1", "agent-addr is whatever the sender wrote");
        assert_eq!(e.label("agent_addr"), Some("10.0.0.1"), "kept as a label");
        let any = TrapTable::new(&SnmpSection {
            communities: vec!["*".into()],
            ..SnmpSection::default()
        });
        assert!(any.decode(&v1_link_down(), "127.0.0.1".parse().unwrap()).is_ok());
        let none = TrapTable::new(&SnmpSection {
            communities: Vec::new(),
            ..SnmpSection::default()
        });
        assert_eq!(
            none.decode(&v1_link_down(), "127.0.0.1".parse().unwrap())
                .unwrap_err()
                .code(),
            "snmp_community"
        );
    }

    #[test]
    fn communities_are_checked_and_garbage_is_malformed() {
        let t = TrapTable::new(&SnmpSection {
            communities: vec!["secret".into()],
            ..SnmpSection::default()
        });
        let ip = "127.0.0.1".parse().unwrap();
        assert_eq!(
            t.decode(&v1_link_down(), ip).unwrap_err(),
            TrapError::Community("public".into())
        );
        assert_eq!(t.decode(b"hello", ip).unwrap_err().code(), "snmp_malformed");
    }

    proptest::proptest! {
        /// Any datagram, and a valid trap with bytes overwritten, inserted or cut anywhere
        /// (BER lengths included): decoded or refused, never a panic.
        #[test]
        fn arbitrary_and_mutated_datagrams_never_panic(
            raw in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
            edits in proptest::collection::vec(
                (proptest::prelude::any::<proptest::sample::Index>(), proptest::prelude::any::<u8>(), 0..3u8),
                1..6,
            ),
        ) {
            let t = TrapTable::new(&SnmpSection::default());
            let ip = "127.0.0.1".parse().unwrap();
            let _ = t.decode(&raw, ip);
            let mut trap = v1_link_down();
            for (at, byte, op) in edits {
                let i = at.index(trap.len() + 1);
                match op {
                    0 if i < trap.len() => trap[i] = byte,
                    1 => trap.insert(i, byte),
                    _ => trap.truncate(i),
                }
            }
            let _ = t.decode(&trap, ip);
        }
    }

    #[test]
    fn oids_parse() {
        assert_eq!(parse_oid(".1.3.6"), Some(vec![1, 3, 6]));
        assert_eq!(parse_oid("1.x"), None);
        assert_eq!(parse_oid(""), None);
    }
}
