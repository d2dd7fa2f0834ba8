//! The native event format: a JSON object (or an array of them). Parsed straight into an
//! [`Event`] with a hand-written serde visitor: no `serde_json::Value` DOM and no `flatten`
//! buffering, because this runs once per event on the replay and ingest hot paths.

use super::{Normaliser, Rejection};
use crate::event::Event;
use crate::time::{from_epoch_number, parse_rfc3339};
use compact_str::CompactString;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

pub(super) fn parse(n: &Normaliser, raw: &[u8], out: &mut Vec<Result<Event, Rejection>>) {
    let first = raw.iter().find(|b| !b.is_ascii_whitespace());
    match first {
        None => out.push(Err(Rejection::Empty)),
        Some(b'[') => match serde_json::from_slice::<Vec<&RawValue>>(raw) {
            Ok(items) => {
                for item in items {
                    out.push(parse_one(n, item.get().as_bytes()));
                }
            }
            Err(e) => out.push(Err(Rejection::NotJson(e.to_string()))),
        },
        Some(_) => out.push(parse_one(n, raw)),
    }
}

pub(crate) fn parse_one(n: &Normaliser, raw: &[u8]) -> Result<Event, Rejection> {
    // sonic-rs rather than serde_json: the same visitor, a third less decoding time
    // (docs/performance.md); it accepts and rejects the same input (invalid UTF-8 is
    // `not_json` here, where serde_json called it a wrong shape)
    let mut de = sonic_rs::Deserializer::from_slice(raw);
    let rawev = match RawNative::deserialize(&mut de).and_then(|r| de.end().map(|_| r)) {
        Ok(r) => r,
        Err(e) if e.is_unmatched_type() => return Err(Rejection::Schema(reason(&e))),
        Err(e) => return Err(Rejection::NotJson(reason(&e))),
    };
    // sonic-rs takes 254 levels of nesting, serde_json (which reads `extra` back when
    // alerts are emitted or restored) 127: deeper values are refused here, as before
    if let Some((k, _)) = rawev.extra.iter().find(|(_, v)| depth(v) > MAX_EXTRA_DEPTH) {
        return Err(Rejection::Schema(format!(
            "field `{k}` is nested deeper than {MAX_EXTRA_DEPTH} levels"
        )));
    }
    rawev.into_event(n)
}

/// The deepest nesting of an extra field's value that is kept (serde_json reads 127).
const MAX_EXTRA_DEPTH: usize = 100;

/// How deeply `v` nests arrays and objects (a scalar is 0), without recursion.
fn depth(v: &serde_json::Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(v, 0usize)];
    while let Some((v, d)) = stack.pop() {
        match v {
            serde_json::Value::Array(a) => {
                deepest = deepest.max(d + 1);
                stack.extend(a.iter().map(|x| (x, d + 1)));
            }
            serde_json::Value::Object(o) => {
                deepest = deepest.max(d + 1);
                stack.extend(o.values().map(|x| (x, d + 1)));
            }
            _ => {}
        }
    }
    deepest
}

/// The error's first paragraph: sonic-rs follows its message (which names the line and
/// column) with a drawing of the input around the fault, which the dead letter's `raw`
/// already holds.
fn reason(e: &sonic_rs::Error) -> String {
    let s = e.to_string();
    s.split("\n\n").next().unwrap_or_default().to_string()
}

/// A scalar JSON value, borrowed from the input where possible.
#[derive(Debug)]
pub(crate) enum Scalar<'a> {
    Str(Cow<'a, str>),
    Num(f64),
    Bool(bool),
    Null,
}

impl Scalar<'_> {
    pub(crate) fn into_text(self) -> Option<String> {
        match self {
            Scalar::Str(s) => Some(s.into_owned()),
            Scalar::Num(n) => Some(format_number(n)),
            Scalar::Bool(b) => Some(b.to_string()),
            Scalar::Null => None,
        }
    }
}

pub(crate) fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

impl<'de> Deserialize<'de> for Scalar<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Scalar<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, number, boolean or null")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Scalar::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Scalar::Str(Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Scalar::Str(Cow::Owned(v)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Scalar::Num(v as f64))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Scalar::Num(v as f64))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
                Ok(Scalar::Num(v))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
                Ok(Scalar::Bool(v))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Scalar::Null)
            }
        }
        d.deserialize_any(V)
    }
}

/// A string key, borrowed when it holds no escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}

struct Labels<'a>(Vec<(Cow<'a, str>, Scalar<'a>)>);

impl<'de> Deserialize<'de> for Labels<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Labels<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of string values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
                let mut v = Vec::new();
                while let Some(k) = m.next_key::<Key<'de>>()? {
                    v.push((k.0, m.next_value::<Scalar<'de>>()?));
                }
                Ok(Labels(v))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Labels(Vec::new()))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Default)]
struct RawNative<'a> {
    source: Option<Scalar<'a>>,
    check: Option<Scalar<'a>>,
    severity: Option<Scalar<'a>>,
    description: Option<Scalar<'a>>,
    time: Option<Scalar<'a>>,
    service: Option<Scalar<'a>>,
    manager: Option<Scalar<'a>>,
    signature: Option<Scalar<'a>>,
    id: Option<Scalar<'a>>,
    labels: Option<Labels<'a>>,
    extra: Vec<(String, serde_json::Value)>,
}

impl<'de> Deserialize<'de> for RawNative<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawNative<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an event object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
                let mut r = RawNative::default();
                while let Some(k) = m.next_key::<Key<'de>>()? {
                    let slot = match k.0.as_ref() {
                        "source" => &mut r.source,
                        "check" => &mut r.check,
                        "severity" => &mut r.severity,
                        "description" => &mut r.description,
                        "time" => &mut r.time,
                        "service" => &mut r.service,
                        "manager" => &mut r.manager,
                        "signature" => &mut r.signature,
                        "id" => &mut r.id,
                        "labels" => {
                            r.labels = Some(m.next_value()?);
                            continue;
                        }
                        _ => {
                            // kept as serde_json reads it (which is how it is written back
                            // and restored): sonic-rs's own reading of numbers differs at
                            // the edges (`-0` and `-0.0` lose their sign)
                            let raw: sonic_rs::LazyValue<'de> = m.next_value()?;
                            let v: serde_json::Value = serde_json::from_str(raw.as_raw_str())
                                .map_err(|e| de::Error::custom(format_args!("field `{}`: {e}", k.0)))?;
                            r.extra.push((k.0.into_owned(), v));
                            continue;
                        }
                    };
                    *slot =
                        Some(m.next_value().map_err(|e: A::Error| {
                            de::Error::custom(format_args!("field `{}`: {e}", k.0))
                        })?);
                }
                Ok(r)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut s: A) -> Result<Self::Value, A::Error> {
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Err(de::Error::custom("expected an event object, found an array"))
            }
        }
        d.deserialize_map(V)
    }
}

fn text(field: &str, v: Option<Scalar<'_>>) -> Result<Option<CompactString>, Rejection> {
    match v {
        None | Some(Scalar::Null) => Ok(None),
        Some(Scalar::Str(s)) => Ok(Some(CompactString::from(s.as_ref()))),
        Some(Scalar::Num(n)) => Ok(Some(CompactString::from(format_number(n)))),
        Some(Scalar::Bool(_)) => Err(Rejection::Schema(format!("field `{field}` must be a string"))),
    }
}

impl RawNative<'_> {
    fn into_event(self, n: &Normaliser) -> Result<Event, Rejection> {
        let source = text("source", self.source)?.ok_or_else(|| Rejection::MissingField("source".into()))?;
        let check = text("check", self.check)?.ok_or_else(|| Rejection::MissingField("check".into()))?;
        let severity = match self.severity {
            None | Some(Scalar::Null) => n.missing_severity()?,
            Some(Scalar::Str(s)) => n.severity_by_name(&s)?,
            Some(Scalar::Num(v)) => n.severity_by_number(v)?,
            Some(Scalar::Bool(b)) => return Err(Rejection::UnknownSeverity(b.to_string())),
        };
        let time = match self.time {
            None | Some(Scalar::Null) => None,
            Some(Scalar::Str(s)) => Some(parse_time_text(&s)?),
            Some(Scalar::Num(v)) => {
                Some(from_epoch_number(v).ok_or_else(|| Rejection::BadTime(v.to_string()))?)
            }
            Some(Scalar::Bool(b)) => return Err(Rejection::BadTime(b.to_string())),
        };
        let description = match self.description {
            None | Some(Scalar::Null) => String::new(),
            Some(Scalar::Str(s)) => s.into_owned(),
            Some(other) => other.into_text().unwrap_or_default(),
        };
        let mut labels = Vec::new();
        if let Some(Labels(ls)) = self.labels {
            labels.reserve(ls.len());
            for (k, v) in ls {
                let v = match v {
                    Scalar::Null => continue,
                    // short values stay inline, with no `String` made on the way
                    Scalar::Str(s) => CompactString::from(s.as_ref()),
                    v => CompactString::from(v.into_text().expect("not null")),
                };
                labels.push((CompactString::from(k.as_ref()), v));
            }
        }
        let ev = Event {
            source,
            check,
            severity,
            description,
            time,
            service: text("service", self.service)?,
            manager: text("manager", self.manager)?,
            labels,
            signature: text("signature", self.signature)?.map(String::from),
            id: text("id", self.id)?,
            extra: self.extra,
            mine_template: false,
        };
        n.validate(ev)
    }
}

/// RFC 3339, or a number written as a string (epoch seconds or milliseconds).
pub(crate) fn parse_time_text(s: &str) -> Result<i64, Rejection> {
    if let Some(t) = parse_rfc3339(s) {
        return Ok(t);
    }
    s.trim()
        .parse::<f64>()
        .ok()
        .and_then(from_epoch_number)
        .ok_or_else(|| Rejection::BadTime(s.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::severity::Severity;
    use proptest::prelude::*;

    fn norm() -> Normaliser {
        Normaliser::new(&Config::default()).unwrap()
    }

    fn one(raw: &str) -> Result<Event, Rejection> {
        let mut out = Vec::new();
        parse(&norm(), raw.as_bytes(), &mut out);
        assert_eq!(out.len(), 1);
        out.pop().unwrap()
    }

    #[test]
    fn full_event() {
        let e = one(
            r#"{"source":"db-1","check":"disk_full","severity":"CRIT","description":"disk \"/\" 99%",
            "time":"2026-11-24T10:00:00Z","service":"billing","manager":"nagios","labels":{"dc":"par1","n":3},
            "signature":"x","id":"e1","custom":{"a":[1,2]}}"#,
        )
        .unwrap();
        assert_eq!(e.source, "db-1");
        assert_eq!(e.severity, Severity::Critical);
        assert_eq!(e.description, "disk \"/\" 99%");
        assert_eq!(e.time, Some(1_795_514_400_000));
        assert_eq!(e.label("n"), Some("3"));
        assert_eq!(e.extra[0].0, "custom");
        assert_eq!(e.extra[0].1["a"][1], 2);
        // unknown fields are kept as serde_json reads them, the sign of a zero included
        let z = one(
            r#"{"source":"a","check":"b","severity":"warning","z":-0,"f":-0.0,"big":18446744073709551615}"#,
        )
        .unwrap();
        assert_eq!(
            serde_json::to_string(&z.extra).unwrap(),
            r#"[["z",-0.0],["f",-0.0],["big",18446744073709551615]]"#
        );
    }

    #[test]
    fn numeric_severity_and_epoch_times() {
        let e = one(r#"{"source":"a","check":"b","severity":4,"time":1700000000}"#).unwrap();
        assert_eq!((e.severity, e.time), (Severity::Major, Some(1_700_000_000_000)));
        let e = one(r#"{"source":"a","check":"b","severity":0,"time":1700000000123}"#).unwrap();
        assert_eq!((e.severity, e.time), (Severity::Clear, Some(1_700_000_000_123)));
    }

    #[test]
    fn array_of_events_reports_each() {
        let mut out = Vec::new();
        parse(
            &norm(),
            br#"[{"source":"a","check":"b","severity":1},{"check":"b","severity":1}]"#,
            &mut out,
        );
        assert!(out[0].is_ok());
        assert_eq!(out[1], Err(Rejection::MissingField("source".into())));
    }

    #[test]
    fn bad_inputs_have_reasons() {
        assert!(matches!(one("{nope"), Err(Rejection::NotJson(_))));
        assert!(matches!(one("42"), Err(Rejection::Schema(_))));
        assert_eq!(
            one(r#"{"source":"a","check":"b"}"#),
            Err(Rejection::MissingField("severity".into()))
        );
        assert_eq!(
            one(r#"{"source":"a","check":"b","severity":"meh"}"#),
            Err(Rejection::UnknownSeverity("meh".into()))
        );
        assert_eq!(
            one(r#"{"source":"a","check":"b","severity":9}"#),
            Err(Rejection::UnknownSeverity("9".into()))
        );
        assert!(matches!(
            one(r#"{"source":"a","check":"b","severity":1,"time":"yesterday"}"#),
            Err(Rejection::BadTime(_))
        ));
        assert!(matches!(
            one(r#"{"source":"","check":"b","severity":1}"#),
            Err(Rejection::MissingField(_))
        ));
        assert!(matches!(
            one(r#"{"source":"a","check":"b","severity":1,"labels":{"x":{}}}"#),
            Err(Rejection::Schema(_))
        ));
        assert!(matches!(
            one(r#"{"source":"a","check":"b","severity":1} trailing"#),
            Err(Rejection::NotJson(_))
        ));
        assert!(matches!(one(""), Err(Rejection::Empty)));
    }

    /// What serde_json refused, the faster parser refuses too, with a one-line reason that
    /// names the field and the column.
    #[test]
    fn malformed_json_is_refused_with_a_one_line_reason() {
        let n = norm();
        let bytes = |raw: &[u8]| parse_one(&n, raw);
        let refused: [&[u8]; 7] = [
            b"{\"source\":\"a\xff\",\"check\":\"b\",\"severity\":1}",
            br#"{"source":"\ud800","check":"b","severity":1}"#,
            b"{\"source\":\"a\",\"check\":\"b\tc\",\"severity\":1}",
            br#"{"source":"a","check":"b","severity":1,"n":NaN}"#,
            br#"{"source":"a","check":"b","severity":1,"labels":{"w":1e400}}"#,
            br#"{"source":"a","check":"b","severity":1"#,
            b"nul",
        ];
        for raw in refused {
            let reason = match bytes(raw) {
                Err(Rejection::NotJson(r) | Rejection::Schema(r)) => r,
                other => panic!("{}: {other:?}", String::from_utf8_lossy(raw)),
            };
            assert!(!reason.contains('\n') && reason.contains("column"), "{reason}");
        }
        assert!(matches!(
            one(r#"{"source":"\u00e9t\"e","check":"b","severity":1,"x":{"d":[1,{"a":null}]}}"#),
            Ok(e) if e.source == "ét\"e" && e.extra.len() == 1
        ));
        // nesting serde_json (which reads extra fields back) would refuse is refused here
        let deep = |n: usize| {
            format!(
                r#"{{"source":"a","check":"b","severity":1,"x":{}{}}}"#,
                "[".repeat(n),
                "]".repeat(n)
            )
        };
        assert!(matches!(one(&deep(100)), Ok(e) if e.extra.len() == 1));
        for n in [101, 200, 300, 100_000] {
            assert!(
                matches!(one(&deep(n)), Err(Rejection::Schema(_) | Rejection::NotJson(_))),
                "{n}"
            );
        }
        assert_eq!(
            one(r#"{"source":"a","check":"c","severity":"major","source":"b"}"#).map(|e| e.source),
            Ok("b".into())
        );
    }

    #[test]
    fn label_limit() {
        let labels: Vec<String> = (0..70).map(|i| format!("\"k{i}\":\"v\"")).collect();
        let raw = format!(
            r#"{{"source":"a","check":"b","severity":1,"labels":{{{}}}}}"#,
            labels.join(",")
        );
        assert_eq!(one(&raw), Err(Rejection::TooManyLabels { count: 70, limit: 64 }));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut out = Vec::new();
            parse(&norm(), &bytes, &mut out);
            prop_assert!(!out.is_empty());
        }

        #[test]
        fn valid_events_round_trip(source in "[a-z][a-z0-9.-]{0,30}", check in "[a-z_]{1,20}",
                                   sev in 0i64..=5, desc in "\\PC{0,80}", t in 0i64..4_000_000_000) {
            let raw = serde_json::json!({"source": source, "check": check, "severity": sev,
                                         "description": desc, "time": t}).to_string();
            let e = one(&raw).unwrap();
            prop_assert_eq!(e.source.as_str(), source.as_str());
            prop_assert_eq!(e.description, desc);
            prop_assert_eq!(e.severity as i64, sev);
            prop_assert_eq!(e.time, Some(t * 1000));
        }
    }
}
