//! Request bodies: one body (HTTP, or a batch from a listener) → its documents → events,
//! each rejection reported with its index. Deterministic: the journal stores bodies and
//! replays them through the same function.

use sitrep_core::time::Millis;
use sitrep_core::{Event, InputFormat, Normaliser, Rejection};

/// A JSON array or a single JSON document is one input; anything else is JSON lines.
pub fn split_documents(body: &[u8]) -> Vec<&[u8]> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace()).copied();
    let whole = match first {
        Some(b'[') => true,
        Some(b'{') => serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok(),
        _ => false,
    };
    if whole {
        return vec![body];
    }
    body.split(|b| *b == b'\n')
        .filter(|l| l.iter().any(|b| !b.is_ascii_whitespace()))
        .collect()
}

/// A native JSON array's elements, each its own document: the size limit applies per
/// event, not to the whole array, and a bad element's dead letter holds that element.
/// Anything else (or an array that does not parse) is one document.
fn array_elements<'a>(format: &InputFormat, d: &'a [u8]) -> Vec<&'a [u8]> {
    let is_array = d.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
    if !(is_array && matches!(format, InputFormat::Native)) {
        return vec![d];
    }
    match serde_json::from_slice::<Vec<&serde_json::value::RawValue>>(d) {
        Ok(items) => items.into_iter().map(|r| r.get().as_bytes()).collect(),
        Err(_) => vec![d],
    }
}

/// The events of one request body, dated `now` where they carry no time and refused when
/// dated outside the accepted range around it ([`Normaliser::check_time_range`]), in order; each
/// rejection goes to `reject(index, rejection, raw document)`. Deterministic: the journal
/// replays bodies through it.
pub fn normalise_body(
    normaliser: &Normaliser,
    format: &InputFormat,
    body: &[u8],
    now: Millis,
    mut reject: impl FnMut(usize, Rejection, &[u8]),
) -> Vec<Event> {
    let mut events = Vec::new();
    let mut out = Vec::new();
    let mut index = 0usize;
    // an OTLP request is one document, binary or not
    let documents = if format.is_otlp() {
        vec![body]
    } else {
        split_documents(body)
    };
    for d in documents.into_iter().flat_map(|d| array_elements(format, d)) {
        out.clear();
        normaliser.normalise(format, d, now, &mut out);
        let single = out.len() == 1;
        for r in out.drain(..) {
            let refused = match r {
                Ok(mut e) => match normaliser.check_time_range(&mut e, now) {
                    Ok(()) => {
                        e.time.get_or_insert(now);
                        events.push(e);
                        None
                    }
                    Err(rej) => Some((rej, true)),
                },
                Err(rej) => Some((rej, single)),
            };
            if let Some((rej, whole)) = refused {
                if format.is_otlp() {
                    // a refused log record's raw is that record (as OTLP/JSON), not the
                    // batch; a body that does not decode is its own raw
                    let json = matches!(format, InputFormat::OtlpJson);
                    match sitrep_core::normalise::otlp::record_json(d, json, index) {
                        Some(raw) => reject(index, rej, raw.as_bytes()),
                        None => reject(index, rej, d),
                    }
                } else {
                    reject(index, rej, if whole { d } else { b"" });
                }
            }
            index += 1;
        }
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_split_as_documented() {
        assert_eq!(split_documents(b"[{\"a\":1},\n{\"a\":2}]").len(), 1);
        assert_eq!(
            split_documents(b"{\n \"a\": 1\n}").len(),
            1,
            "pretty-printed object"
        );
        assert_eq!(
            split_documents(b"{\"a\":1}\n{\"a\":2}\n\n").len(),
            2,
            "JSON lines"
        );
        assert_eq!(split_documents(b"not json\nat all").len(), 2);
    }

    #[test]
    fn an_event_dated_far_ahead_of_the_edge_is_refused_and_the_rest_kept() {
        let n = Normaliser::new(&sitrep_core::Config::default()).unwrap();
        let now = 1_800_000_000_000;
        let body = b"{\"source\":\"a\",\"check\":\"b\",\"severity\":\"minor\",\"time\":\"9999-12-31T00:00:00Z\"}\n{\"source\":\"a\",\"check\":\"b\",\"severity\":\"minor\",\"time\":1800000600}";
        let mut rejected = Vec::new();
        let events = normalise_body(&n, &InputFormat::Native, body, now, |i, r, raw| {
            rejected.push((i, r.code(), !raw.is_empty()))
        });
        assert_eq!(rejected, vec![(0, "future_time", true)]);
        assert_eq!(events.len(), 1, "ten minutes ahead is within the limit");

        // re-dated instead: both kept, the far one dated at its arrival
        let mut cfg = sitrep_core::Config::default();
        cfg.limits.out_of_range = sitrep_core::config::OutOfRange::Redate;
        let n = Normaliser::new(&cfg).unwrap();
        let events = normalise_body(&n, &InputFormat::Native, body, now, |_, r, _| {
            panic!("refused: {r}")
        });
        assert_eq!(events[0].time, Some(now));
        assert_eq!(events[0].extra[0].0, "original_time");
        assert_eq!(events[1].time, Some(1_800_000_600_000));
    }

    proptest::proptest! {
        /// Any body in any format: never a panic, and every event kept has a time.
        #[test]
        fn arbitrary_bodies_never_panic(
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400),
            format in 0..5usize,
        ) {
            let n = Normaliser::new(&sitrep_core::Config::default()).unwrap();
            let format = [
                InputFormat::Native,
                InputFormat::Alertmanager,
                InputFormat::Syslog,
                InputFormat::OtlpJson,
                InputFormat::OtlpProto,
            ][format]
                .clone();
            let events = normalise_body(&n, &format, &body, 1_800_000_000_000, |_, _, _| {});
            for e in &events {
                proptest::prop_assert!(e.time.is_some());
            }
        }

        /// JSON lines mixing valid and broken documents: each valid one becomes an event,
        /// each broken one a refusal at its own index; none is lost or counted twice.
        #[test]
        fn every_document_of_a_mixed_body_is_accounted_for(
            valid in proptest::collection::vec(proptest::prelude::any::<bool>(), 1..20),
        ) {
            let n = Normaliser::new(&sitrep_core::Config::default()).unwrap();
            let body: String = valid
                .iter()
                .enumerate()
                .map(|(i, ok)| match ok {
                    true => format!("{{\"source\":\"h{i}\",\"check\":\"c\",\"severity\":\"minor\"}}\n"),
                    false => format!("{{\"source\":\"h{i}\",\n"),
                })
                .collect();
            let mut refused = Vec::new();
            let events = normalise_body(&n, &InputFormat::Native, body.as_bytes(), 1_800_000_000_000, |i, _, _| {
                refused.push(i)
            });
            let want_refused: Vec<usize> = valid.iter().enumerate().filter(|(_, ok)| !**ok).map(|(i, _)| i).collect();
            proptest::prop_assert_eq!(events.len(), valid.len() - want_refused.len());
            proptest::prop_assert_eq!(refused, want_refused);
        }
    }

    #[test]
    fn a_refused_otlp_record_is_its_own_dead_letter() {
        let n = Normaliser::new(&sitrep_core::Config::default()).unwrap();
        let now = 1_800_000_000_000;
        let rec = |body: &str, nanos: u64| {
            format!(r#"{{"timeUnixNano":"{nanos}","severityNumber":9,"body":{{"stringValue":"{body}"}}}}"#)
        };
        let body = format!(
            r#"{{"resourceLogs":[{{"scopeLogs":[{{"logRecords":[{},{}]}}]}}]}}"#,
            rec("far ahead", (now as u64 + 10 * 86_400_000) * 1_000_000),
            rec("fine", now as u64 * 1_000_000)
        );
        let mut rejected = Vec::new();
        let events = normalise_body(&n, &InputFormat::OtlpJson, body.as_bytes(), now, |i, r, raw| {
            rejected.push((i, r.code(), String::from_utf8_lossy(raw).into_owned()))
        });
        assert_eq!(events.len(), 1);
        assert_eq!((rejected[0].0, rejected[0].1), (0, "future_time"));
        assert!(
            rejected[0].2.contains("far ahead") && !rejected[0].2.contains("fine"),
            "{}",
            rejected[0].2
        );
    }

    #[test]
    fn a_large_array_is_judged_event_by_event() {
        let n = Normaliser::new(&sitrep_core::Config::default()).unwrap();
        // 2,000 events, ~170 KB in all: over the 64 KiB event limit as a whole
        let mut items: Vec<String> = (0..2000)
            .map(|i| {
                format!(
                    r#"{{"source":"h{i}","check":"c","severity":"minor","description":"event number {i}"}}"#
                )
            })
            .collect();
        items[7] = r#"{"source":"h7","check":"c","severity":"banana"}"#.into();
        let body = format!("[{}]", items.join(","));
        assert!(body.len() > 64 * 1024);
        let mut rejected = Vec::new();
        let events = normalise_body(&n, &InputFormat::Native, body.as_bytes(), 1, |i, r, raw| {
            rejected.push((i, r.code(), String::from_utf8_lossy(raw).into_owned()))
        });
        assert_eq!(events.len(), 1999);
        assert_eq!(rejected.len(), 1);
        assert_eq!((rejected[0].0, rejected[0].1), (7, "unknown_severity"));
        assert!(
            rejected[0].2.contains("banana"),
            "the element is the dead letter's raw"
        );
    }
}
