//! Syslog lines: RFC 5424 and RFC 3164 (BSD). Severity comes from PRI
//! (see [`Severity::from_syslog`]), source from HOSTNAME, check from APP-NAME/TAG (or MSGID
//! when `syslog.check_from = "msgid"`), description from MSG. Facility, PROCID, MSGID and
//! structured-data params (`<sd-id>.<name>`) become labels.
//!
//! RFC 3164 stamps carry no year: the year is the reference time's, or the one before when
//! that would put the stamp more than 31 days in the future (a December line read in January).
//! A date that does not exist in that year (`Feb 30`) is refused, not rolled over.
//!
//! What other senders put in the BSD header, as rsyslog and syslog-ng read it:
//! - an RFC 3339 stamp instead of `Mmm dd hh:mm:ss` (rsyslog's forwarding formats);
//! - no HOSTNAME: the first word after the stamp is the TAG (`haproxy[73411]:`, `sshd:`).
//!   As RFC 3164 §4.3.3 asks of a receiver, the sender's address becomes the source; where
//!   none is known (a file, an HTTP body) the line is refused as `missing_field`.
//!
//! RFC 5424 header fields are separated by exactly one space: an empty field (two spaces)
//! is refused rather than letting the fields after it shift. A VERSION other than 1 is
//! refused as such.

use super::{Normaliser, Rejection};
use crate::event::Event;
use crate::severity::Severity;
use crate::time::{days_from_civil, days_in_month, parse_rfc3339, Millis};
use compact_str::CompactString;

const FACILITIES: [&str; 24] = [
    "kern",
    "user",
    "mail",
    "daemon",
    "auth",
    "syslog",
    "lpr",
    "news",
    "uucp",
    "cron",
    "authpriv",
    "ftp",
    "ntp",
    "security",
    "console",
    "solaris-cron",
    "local0",
    "local1",
    "local2",
    "local3",
    "local4",
    "local5",
    "local6",
    "local7",
];

/// One syslog line; `sender` is the address it came from, when the listener knows it.
pub(super) fn parse(
    n: &Normaliser,
    raw: &[u8],
    reference_time: Millis,
    sender: Option<&str>,
) -> Result<Event, Rejection> {
    let text = String::from_utf8_lossy(raw);
    let line = text.trim_end_matches(['\r', '\n', '\0']);
    if line.is_empty() {
        return Err(Rejection::Empty);
    }
    let err = |m: &str| Rejection::Syslog(m.to_string());
    let rest = line.strip_prefix('<').ok_or_else(|| err("missing <PRI>"))?;
    let close = rest
        .find('>')
        .filter(|&i| (1..=3).contains(&i))
        .ok_or_else(|| err("bad <PRI>"))?;
    let pri: u16 = rest
        .get(..close)
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| err("bad <PRI>"))?;
    if pri > 191 {
        return Err(err("PRI over 191"));
    }
    let rest = rest.get(close + 1..).unwrap_or_default();
    let (facility, level) = ((pri / 8) as usize, (pri % 8) as u8);
    let mut ev = if let Some(r) = rest.strip_prefix("1 ") {
        parse_5424(r, n)?
    } else if let Some(v) = version(rest) {
        return Err(err(&format!(
            "syslog VERSION {v} is not supported (RFC 5424 defines version 1)"
        )));
    } else {
        parse_3164(rest, reference_time, sender)?
    };
    ev.severity = Severity::from_syslog(level);
    if n.syslog_config().check_from == "template" {
        ev.labels.push(("app".into(), ev.check.clone()));
        ev.mine_template = true;
    }
    ev.manager = Some(n.syslog_config().manager.as_str().into());
    let facility = FACILITIES.get(facility).copied().unwrap_or("local7");
    ev.labels.push(("facility".into(), facility.into()));
    n.validate(ev)
}

/// The VERSION of an RFC 5424-shaped header other than 1: 1–2 digits and a space right
/// after PRI (no BSD stamp starts with a digit and a space).
fn version(rest: &str) -> Option<&str> {
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    ((1..=2).contains(&digits) && rest.as_bytes().get(digits) == Some(&b' '))
        .then(|| rest.get(..digits))
        .flatten()
}

fn nil(s: &str) -> Option<&str> {
    (s != "-" && !s.is_empty()).then_some(s)
}

fn parse_5424(s: &str, n: &Normaliser) -> Result<Event, Rejection> {
    let err = |m: &str| Rejection::Syslog(format!("RFC 5424: {m}"));
    let mut it = s.splitn(6, ' ');
    let mut field = |name: &str| match it.next() {
        None => Err(err(&format!("missing {name}"))),
        Some("") => Err(err(&format!(
            "empty {name} (two spaces in the header; a missing field is written `-`)"
        ))),
        Some(f) => Ok(f),
    };
    let ts = field("TIMESTAMP")?;
    let host = field("HOSTNAME")?;
    let app = field("APP-NAME")?;
    let procid = field("PROCID")?;
    let msgid = field("MSGID")?;
    let rest = it.next().unwrap_or("-");
    let time = match nil(ts) {
        None => None,
        Some(t) => Some(parse_rfc3339(t).ok_or_else(|| Rejection::BadTime(t.to_string()))?),
    };
    let mut labels: Vec<(CompactString, CompactString)> = Vec::new();
    let msg = if let Some(r) = rest.strip_prefix('-') {
        r.strip_prefix(' ').unwrap_or(r)
    } else if rest.starts_with('[') {
        let end = parse_sd(rest, &mut labels).ok_or_else(|| err("bad STRUCTURED-DATA"))?;
        let r = rest.get(end..).unwrap_or_default();
        r.strip_prefix(' ').unwrap_or(r)
    } else {
        return Err(err("bad STRUCTURED-DATA"));
    };
    let msg = msg.strip_prefix('\u{feff}').unwrap_or(msg);
    if let Some(p) = nil(procid) {
        labels.push(("procid".into(), p.into()));
    }
    if let Some(m) = nil(msgid) {
        labels.push(("msgid".into(), m.into()));
    }
    let check = match (n.syslog_config().check_from.as_str(), nil(msgid), nil(app)) {
        ("msgid", Some(m), _) => m,
        (_, _, Some(a)) => a,
        (_, Some(m), None) => m,
        _ => "syslog",
    };
    Ok(Event {
        source: nil(host)
            .ok_or_else(|| Rejection::MissingField("source (HOSTNAME)".into()))?
            .into(),
        check: check.into(),
        description: msg.to_string(),
        time,
        labels,
        ..Default::default()
    })
}

/// Parses `[id k="v" ...][id2 ...]`; returns the byte index just past the last `]`.
/// Every index it slices at is just past an ASCII byte (`[`, ` `, `=`, `"`, `]`) or the
/// end, so always a character boundary; `get` keeps that from being a panic if wrong.
fn parse_sd(s: &str, labels: &mut Vec<(CompactString, CompactString)>) -> Option<usize> {
    let b = s.as_bytes();
    let at = |i: usize| b.get(i).copied();
    let mut i = 0;
    while at(i) == Some(b'[') {
        i += 1;
        let id_start = i;
        while at(i).is_some_and(|c| c != b' ' && c != b']') {
            i += 1;
        }
        let id = s.get(id_start..i)?;
        if id.is_empty() {
            return None;
        }
        loop {
            match at(i)? {
                b']' => {
                    i += 1;
                    break;
                }
                b' ' => i += 1,
                _ => {
                    let k_start = i;
                    while at(i).is_some_and(|c| c != b'=') {
                        i += 1;
                    }
                    let key = s.get(k_start..i)?;
                    if at(i + 1) != Some(b'"') {
                        return None;
                    }
                    i += 2;
                    let mut val = String::new();
                    loop {
                        match at(i)? {
                            b'\\' if matches!(at(i + 1), Some(b'"' | b'\\' | b']')) => {
                                val.push(char::from(at(i + 1)?));
                                i += 2;
                            }
                            b'"' => {
                                i += 1;
                                break;
                            }
                            _ => {
                                let ch = s.get(i..)?.chars().next()?;
                                val.push(ch);
                                i += ch.len_utf8();
                            }
                        }
                    }
                    labels.push((format!("{id}.{key}").into(), val.into()));
                }
            }
        }
    }
    Some(i)
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A BSD stamp, `Mmm dd hh:mm:ss ` (the day may be space-padded), dated with the year
/// the reference time gives it; returns the time and what follows the stamp.
fn bsd_stamp(s: &str, reference_time: Millis) -> Result<(Millis, &str), Rejection> {
    let err = |m: &str| Rejection::Syslog(format!("RFC 3164: {m}"));
    let head = s.get(..16).ok_or_else(|| err("missing TIMESTAMP"))?;
    let month = MONTHS
        .iter()
        .position(|m| head.starts_with(m))
        .ok_or_else(|| err("bad month"))? as u32
        + 1;
    let day: u32 = head
        .get(4..6)
        .and_then(|d| d.trim().parse().ok())
        .ok_or_else(|| err("bad day"))?;
    let hms: Vec<u32> = head
        .get(7..15)
        .unwrap_or("")
        .split(':')
        .filter_map(|x| x.parse().ok())
        .collect();
    let &[h, m, sec] = hms.as_slice() else {
        return Err(err("bad TIMESTAMP"));
    };
    if h > 23 || m > 59 || sec > 60 || !(1..=31).contains(&day) || head.get(15..) != Some(" ") {
        return Err(err("bad TIMESTAMP"));
    }
    let ref_days = reference_time.div_euclid(86_400_000);
    let (ref_year, _, _) = crate::time::civil_from_days(ref_days);
    let stamp =
        |y: i64| (days_from_civil(y, month, day) * 86_400 + (h * 3600 + m * 60 + sec.min(59)) as i64) * 1000;
    let mut year = ref_year;
    if stamp(year) > reference_time + 31 * 86_400_000 {
        year -= 1;
    }
    if day > days_in_month(year, month) {
        return Err(err(&format!(
            "no such date: {} {day} in {year}",
            head.get(..3).unwrap_or_default()
        )));
    }
    Ok((stamp(year), s.get(16..).unwrap_or_default()))
}

/// An RFC 3339 stamp where the BSD one would be (rsyslog's forwarding formats):
/// `2026-11-24T10:00:00.123+01:00 host tag: msg`.
fn rfc3339_stamp(s: &str) -> Option<Result<(Millis, &str), Rejection>> {
    let b = s.as_bytes();
    let year_dash = matches!(b.get(..5), Some([y @ .., b'-']) if y.iter().all(u8::is_ascii_digit));
    if !(b.len() > 10 && year_dash) {
        return None;
    }
    let (t, rest) = s.split_once(' ').unwrap_or((s, ""));
    Some(
        parse_rfc3339(t)
            .map(|time| (time, rest))
            .ok_or_else(|| Rejection::BadTime(t.to_string())),
    )
}

/// Whether the word after the stamp is a TAG rather than a HOSTNAME: a host name has no
/// `[` and does not end in `:` (an IPv6 address may hold colons, but never ends in one).
fn is_tag(word: &str) -> bool {
    word.ends_with(':') || word.contains('[')
}

fn parse_3164(s: &str, reference_time: Millis, sender: Option<&str>) -> Result<Event, Rejection> {
    let err = |m: &str| Rejection::Syslog(format!("RFC 3164: {m}"));
    let (time, rest) = match rfc3339_stamp(s) {
        Some(r) => r?,
        None => bsd_stamp(s, reference_time)?,
    };
    let (word, after) = rest.split_once(' ').unwrap_or((rest, ""));
    let (host, rest) = if is_tag(word) {
        let host = sender.ok_or_else(|| {
            Rejection::MissingField("source (the line has no HOSTNAME and no sender address is known)".into())
        })?;
        (host, rest)
    } else if after.is_empty() && !rest.contains(' ') {
        return Err(err("missing HOSTNAME"));
    } else {
        (word, after)
    };
    // TAG is alphanumeric up to 32 chars, ended by '[' (pid) or ':'.
    let tag_end = rest.find(['[', ':', ' ']).unwrap_or(rest.len());
    let (tag, mut msg) = rest.split_at_checked(tag_end).unwrap_or((rest, ""));
    let mut labels: Vec<(CompactString, CompactString)> = Vec::new();
    if let Some(r) = msg.strip_prefix('[') {
        if let Some((pid, r2)) = r.split_once(']') {
            labels.push(("procid".into(), pid.into()));
            msg = r2;
        }
    }
    let msg = msg.strip_prefix(':').unwrap_or(msg).trim_start();
    if host.is_empty() {
        return Err(Rejection::MissingField("source (HOSTNAME)".into()));
    }
    Ok(Event {
        source: host.into(),
        check: if tag.is_empty() {
            "syslog".into()
        } else {
            tag.into()
        },
        description: msg.to_string(),
        time: Some(time),
        labels,
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use proptest::prelude::*;

    fn p(line: &str) -> Result<Event, Rejection> {
        let n = Normaliser::new(&Config::default()).unwrap();
        parse(
            &n,
            line.as_bytes(),
            parse_rfc3339("2026-11-24T12:00:00Z").unwrap(),
            None,
        )
    }

    #[test]
    fn rfc5424_with_structured_data() {
        let e = p(r#"<165>1 2026-11-24T10:00:00.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Appl\"ication"] An application event"#).unwrap();
        assert_eq!(e.source, "mymachine.example.com");
        assert_eq!(e.check, "evntslog");
        assert_eq!(e.severity, Severity::Indeterminate); // PRI 165 = local4 (20) * 8 + notice (5)
        assert_eq!(e.description, "An application event");
        assert_eq!(e.label("exampleSDID@32473.eventSource"), Some("Appl\"ication"));
        assert_eq!(e.label("facility"), Some("local4"));
        assert_eq!(e.label("msgid"), Some("ID47"));
        assert_eq!(e.time, parse_rfc3339("2026-11-24T10:00:00.003Z"));
    }

    #[test]
    fn rfc5424_nil_fields() {
        let e = p("<11>1 - host1 app - - - disk failed").unwrap();
        assert_eq!(
            (e.severity, e.time, e.description.as_str()),
            (Severity::Major, None, "disk failed")
        );
    }

    #[test]
    fn rfc3164_as_logger_sends_it() {
        let e = p("<13>Nov 24 11:59:01 web-1 sshd[4242]: Failed password for root").unwrap();
        assert_eq!((e.source.as_str(), e.check.as_str()), ("web-1", "sshd"));
        assert_eq!(e.label("procid"), Some("4242"));
        assert_eq!(e.description, "Failed password for root");
        assert_eq!(e.severity, Severity::Indeterminate);
        assert_eq!(e.time, parse_rfc3339("2026-11-24T11:59:01Z"));
        let e = p("<10>Dec 31 23:00:00 h app: x").unwrap();
        assert_eq!(
            e.time,
            parse_rfc3339("2025-12-31T23:00:00Z"),
            "December stamp read in November of next year"
        );
        let e = p("<10>Nov  3 01:02:03 h app: x").unwrap();
        assert_eq!(e.time, parse_rfc3339("2026-11-03T01:02:03Z"));
    }

    #[test]
    fn bad_lines() {
        for l in [
            "",
            "no pri",
            "<999>1 - h a - - -",
            "<13>Foo 24 11:59:01 h t: m",
            "<13>1 2026-99 h a - - -",
            "<13>1 - h a - - [bad",
        ] {
            assert!(p(l).is_err(), "{l:?}");
        }
    }

    /// Valid lines of each shape the parser knows, for mutation below.
    const SHAPES: [&str; 6] = [
        "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 [a@1 k=\"v\\\"é\"] \u{feff}'su root' failed",
        "<13>Nov 24 11:59:01 web-1 sshd[4242]: Failed password for root",
        "<13>Feb  5 17:32:18 haproxy[73411]: Connect from 10.0.0.1",
        "<13>2026-11-24T10:00:00.123456+01:00 web-1 nginx[12]: GET / 200",
        "<187>Nov 24 11:59:01 rtr1 %LINK-3-UPDOWN: Interface Gi0/1, changed state to down",
        "<11>1 - host1 - - - - disk failed",
    ];

    proptest! {
        #[test]
        fn arbitrary_lines_never_panic(s in "\\PC{0,120}") {
            let _ = p(&s);
            let _ = p(&format!("<13>{s}"));
            let _ = p(&format!("<13>1 {s}"));
        }

        /// Arbitrary bytes, with and without a sender: never a panic, and an accepted
        /// line always has a source.
        #[test]
        fn arbitrary_bytes_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..200)) {
            let n = Normaliser::new(&Config::default()).unwrap();
            for sender in [None, Some("192.0.2.1")] {
                if let Ok(e) = parse(&n, &raw, 1_795_514_400_000, sender) {
                    prop_assert!(!e.source.is_empty());
                }
            }
        }

        /// Valid lines with bytes overwritten, inserted or cut at random places (multi-byte
        /// characters split included): never a panic, whatever the shape.
        #[test]
        fn mutated_valid_lines_never_panic(
            shape in 0..SHAPES.len(),
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0..3u8), 1..6),
        ) {
            let n = Normaliser::new(&Config::default()).unwrap();
            let mut raw = SHAPES[shape].as_bytes().to_vec();
            for (at, byte, op) in edits {
                let i = at.index(raw.len() + 1);
                match op {
                    0 if i < raw.len() => raw[i] = byte,
                    1 => raw.insert(i, byte),
                    _ => raw.truncate(i),
                }
            }
            let _ = parse(&n, &raw, 1_795_514_400_000, Some("192.0.2.1"));
            let _ = parse(&n, &raw, 1_795_514_400_000, None);
        }
    }
}
