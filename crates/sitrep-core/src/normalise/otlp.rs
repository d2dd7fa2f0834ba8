//! OpenTelemetry logs: one OTLP `ExportLogsServiceRequest` (protobuf, or OTLP/JSON) → one
//! event per log record, or a rejection naming why. The message types are the ecosystem's
//! (`opentelemetry-proto`, decoded by `prost` / serde), not a hand-written reader.
//!
//! | native      | from (docs/otlp.md; `[otlp]` in the config overrides)                          |
//! |-------------|--------------------------------------------------------------------------------|
//! | source      | first of `otlp.source_attributes` (resource, then record attributes): `host.name`, `k8s.pod.name`, `k8s.node.name`, `service.instance.id`, `host.id`, `container.name`, `hostname`; else the service; else `otel` |
//! | service     | `service.name` (`unknown_service…`, the SDKs' placeholder, counts as absent)      |
//! | check       | `EventName`, else the `event.name` attribute, else the mined template of the body |
//! | severity    | `SeverityNumber` (TRACE…INFO → indeterminate, WARN → warning, ERROR → major, FATAL → critical), else `SeverityText` by name, else `severity.missing`, else indeterminate |
//! | time        | `TimeUnixNano`, else `ObservedTimestamp`, else the receiving time               |
//! | description | the body (a string as is; other values as JSON)                                  |
//! | labels      | resource then record attributes (the record's win) but the two that gave the source and the service, scalar values that fit the limits, at most `limits.max_labels` |
//! | extra       | `otel.trace_id`, `otel.span_id`, `otel.severity_text`, `otel.scope`, and `otel.attributes` holding every attribute that did not fit as a label (nothing is dropped) |
//! | manager     | `otlp.manager` (`otel`)                                                          |

use super::{Normaliser, Rejection};
use crate::event::Event;
use crate::severity::Severity;
use compact_str::CompactString;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value::Value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use prost::Message;
use std::collections::BTreeMap;

/// Decodes a request in either encoding.
pub fn decode(raw: &[u8], json: bool) -> Result<ExportLogsServiceRequest, Rejection> {
    if json {
        serde_json::from_slice(raw).map_err(|e| {
            if e.is_data() {
                Rejection::Schema(format!("OTLP/JSON logs request: {e}"))
            } else {
                Rejection::NotJson(e.to_string())
            }
        })
    } else {
        ExportLogsServiceRequest::decode(raw).map_err(|e| Rejection::NotProtobuf(e.to_string()))
    }
}

pub(super) fn parse(n: &Normaliser, raw: &[u8], json: bool, out: &mut Vec<Result<Event, Rejection>>) {
    let req = match decode(raw, json) {
        Ok(r) => r,
        Err(rej) => return out.push(Err(rej)),
    };
    // a request with no records is valid OTLP (an exporter's keep-alive): no events, no error
    for rl in &req.resource_logs {
        let resource = rl.resource.as_ref().map_or(&[][..], |r| &r.attributes[..]);
        for sl in &rl.scope_logs {
            let scope = sl
                .scope
                .as_ref()
                .map(|s| s.name.as_str())
                .filter(|s| !s.is_empty());
            for rec in &sl.log_records {
                out.push(record(n, resource, scope, rec));
            }
        }
    }
}

/// The `index`-th log record of a request as OTLP/JSON, for its dead letter (a rejected
/// record's raw is the record, not the whole batch).
pub fn record_json(raw: &[u8], json: bool, index: usize) -> Option<String> {
    let req = decode(raw, json).ok()?;
    let rec = req
        .resource_logs
        .iter()
        .flat_map(|rl| &rl.scope_logs)
        .flat_map(|sl| &sl.log_records)
        .nth(index)?;
    serde_json::to_string(rec).ok()
}

/// A value as label text: scalars as written; `None` for arrays, maps and bytes.
fn scalar(v: &AnyValue) -> Option<String> {
    Some(match v.value.as_ref()? {
        Value::StringValue(s) => s.clone(),
        Value::BoolValue(b) => b.to_string(),
        Value::IntValue(i) => i.to_string(),
        Value::DoubleValue(d) => d.to_string(),
        _ => return None,
    })
}

fn to_json(v: &AnyValue) -> serde_json::Value {
    use serde_json::Value as J;
    match &v.value {
        None => J::Null,
        Some(Value::StringValue(s)) => J::String(s.clone()),
        Some(Value::BoolValue(b)) => J::Bool(*b),
        Some(Value::IntValue(i)) => J::from(*i),
        Some(Value::DoubleValue(d)) => J::from(*d),
        Some(Value::BytesValue(b)) => J::String(hex(b)),
        Some(Value::ArrayValue(a)) => J::Array(a.values.iter().map(to_json).collect()),
        Some(Value::KvlistValue(kv)) => J::Object(
            kv.values
                .iter()
                .map(|p| (p.key.clone(), p.value.as_ref().map_or(J::Null, to_json)))
                .collect(),
        ),
        // a profiles-only reference into a string table: meaningless in a log
        Some(_) => J::Null,
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn text(v: Option<&AnyValue>) -> Option<String> {
    let v = v?;
    scalar(v).or_else(|| v.value.as_ref().map(|_| to_json(v).to_string()))
}

/// OTel's severity numbers in four-step bands (TRACE 1–4 … FATAL 21–24).
fn by_number(n: i32) -> Option<Severity> {
    Some(match n {
        1..=12 => Severity::Indeterminate,
        13..=16 => Severity::Warning,
        17..=20 => Severity::Major,
        21..=24 => Severity::Critical,
        _ => return None,
    })
}

fn record(
    n: &Normaliser,
    resource: &[KeyValue],
    scope: Option<&str>,
    r: &LogRecord,
) -> Result<Event, Rejection> {
    let cfg = n.otlp_config();
    let lookup = |key: &str| {
        resource
            .iter()
            .chain(&r.attributes)
            .find(|kv| kv.key == key)
            .and_then(|kv| text(kv.value.as_ref()))
            .filter(|s| !s.is_empty())
    };
    let service = lookup(&cfg.service_attribute).filter(|s| !s.starts_with("unknown_service"));
    let (source_key, source) = match cfg
        .source_attributes
        .iter()
        .find_map(|k| Some((k.as_str(), lookup(k)?)))
    {
        Some((k, v)) => (Some(k), v),
        None => (None, service.clone().unwrap_or_else(|| cfg.manager.clone())),
    };
    let severity = match by_number(r.severity_number) {
        Some(s) => s,
        None if !r.severity_text.is_empty() => n.severity_by_name(&r.severity_text)?,
        None if r.severity_number != 0 => {
            return Err(Rejection::UnknownSeverity(r.severity_number.to_string()))
        }
        None => n.missing_severity().unwrap_or(Severity::Indeterminate),
    };
    let nanos = if r.time_unix_nano != 0 {
        r.time_unix_nano
    } else {
        r.observed_time_unix_nano
    };
    let time = (nanos != 0).then(|| (nanos / 1_000_000).min(i64::MAX as u64) as i64);
    let description = text(r.body.as_ref()).unwrap_or_default();
    let event_name = Some(r.event_name.clone())
        .filter(|s| !s.is_empty())
        .or_else(|| {
            r.attributes
                .iter()
                .find(|kv| kv.key == "event.name")
                .and_then(|kv| text(kv.value.as_ref()))
        })
        .filter(|_| cfg.check_from == "event_name");

    // labels: the record's attributes over the resource's; what does not fit goes to extra
    let limits = n.limits();
    let mut all: BTreeMap<&str, &AnyValue> = BTreeMap::new();
    for kv in resource.iter().chain(&r.attributes) {
        if let Some(v) = &kv.value {
            all.insert(&kv.key, v);
        }
    }
    // what became the source and the service is not repeated as a label: each label is
    // one more attribute for correlation to weigh (a third of the ingest time, measured)
    if let Some(k) = source_key {
        all.remove(k);
    }
    if service.is_some() {
        all.remove(cfg.service_attribute.as_str());
    }
    let mut labels = Vec::with_capacity(all.len().min(limits.max_labels));
    let mut overflow = serde_json::Map::new();
    for (k, v) in &all {
        let fits = labels.len() < limits.max_labels && k.len() <= limits.max_field_bytes;
        match scalar(v).filter(|s| fits && s.len() <= limits.max_field_bytes) {
            Some(s) => labels.push((CompactString::from(*k), CompactString::from(s))),
            None => {
                overflow.insert(k.to_string(), to_json(v));
            }
        }
    }
    let mut extra = Vec::new();
    if !r.trace_id.is_empty() {
        extra.push(("otel.trace_id".to_string(), hex(&r.trace_id).into()));
    }
    if !r.span_id.is_empty() {
        extra.push(("otel.span_id".to_string(), hex(&r.span_id).into()));
    }
    if !r.severity_text.is_empty() {
        extra.push(("otel.severity_text".to_string(), r.severity_text.clone().into()));
    }
    if let Some(s) = scope {
        extra.push(("otel.scope".to_string(), s.into()));
    }
    if !overflow.is_empty() {
        extra.push(("otel.attributes".to_string(), overflow.into()));
    }
    let mine = event_name.is_none();
    let ev = Event {
        source: source.as_str().into(),
        // replaced by the mined template of the description when `mine_template`
        check: event_name.as_deref().unwrap_or("log").into(),
        severity,
        description,
        time,
        service: service.map(CompactString::from),
        manager: Some(cfg.manager.as_str().into()),
        labels,
        signature: None,
        id: None,
        extra,
        mine_template: mine,
    };
    n.validate(ev)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::normalise::InputFormat;
    use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
    use opentelemetry_proto::tonic::logs::v1::{ResourceLogs, ScopeLogs};
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use proptest::prelude::*;

    fn kv(k: &str, v: &str) -> KeyValue {
        KeyValue {
            key: k.into(),
            value: Some(AnyValue {
                value: Some(Value::StringValue(v.into())),
            }),
            ..Default::default()
        }
    }

    fn request(resource: Vec<KeyValue>, records: Vec<LogRecord>) -> ExportLogsServiceRequest {
        ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                resource: Some(Resource {
                    attributes: resource,
                    ..Default::default()
                }),
                scope_logs: vec![ScopeLogs {
                    scope: Some(InstrumentationScope {
                        name: "checkout.db".into(),
                        ..Default::default()
                    }),
                    log_records: records,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    fn log(body: &str, sev: i32) -> LogRecord {
        LogRecord {
            time_unix_nano: 1_800_000_000_123_456_789,
            severity_number: sev,
            body: Some(AnyValue {
                value: Some(Value::StringValue(body.into())),
            }),
            ..Default::default()
        }
    }

    fn normalise(format: InputFormat, raw: &[u8]) -> Vec<Result<Event, Rejection>> {
        let n = Normaliser::new(&Config::default()).unwrap();
        let mut out = Vec::new();
        n.normalise(&format, raw, 0, &mut out);
        out
    }

    #[test]
    fn a_record_maps_as_documented() {
        let mut rec = log("connection pool exhausted after 30 s", 17);
        rec.attributes = vec![kv("db.system", "postgresql"), kv("host.name", "db-7")];
        rec.trace_id = vec![0xab; 16];
        rec.severity_text = "ERROR".into();
        let req = request(
            vec![
                kv("service.name", "checkout"),
                kv("k8s.pod.name", "checkout-5f9c"),
                kv("host.name", "node-3"),
            ],
            vec![rec],
        );
        let out = normalise(InputFormat::OtlpProto, &req.encode_to_vec());
        let e = out[0].as_ref().unwrap();
        // the resource's host.name comes first, and is not repeated as a label
        assert_eq!(e.source, "node-3");
        assert_eq!(e.label("host.name"), None);
        assert_eq!(e.label("service.name"), None);
        assert_eq!(e.service.as_deref(), Some("checkout"));
        assert_eq!(e.severity, Severity::Major);
        assert_eq!(e.time, Some(1_800_000_000_123));
        assert_eq!(e.description, "connection pool exhausted after 30 s");
        assert!(e.mine_template, "no event name: the check is the body's template");
        assert_eq!(e.label("db.system"), Some("postgresql"));
        assert_eq!(e.label("k8s.pod.name"), Some("checkout-5f9c"));
        assert_eq!(e.manager.as_deref(), Some("otel"));
        let extra: BTreeMap<_, _> = e.extra.iter().cloned().collect();
        assert_eq!(extra["otel.trace_id"], "ab".repeat(16));
        assert_eq!(extra["otel.scope"], "checkout.db");
    }

    #[test]
    fn json_and_protobuf_give_the_same_events() {
        let mut rec = log("disk almost full", 13);
        rec.event_name = "disk.pressure".into();
        let req = request(vec![kv("host.name", "web-1")], vec![rec, log("x", 21)]);
        let proto = normalise(InputFormat::OtlpProto, &req.encode_to_vec());
        let json = normalise(
            InputFormat::OtlpJson,
            serde_json::to_string(&req).unwrap().as_bytes(),
        );
        assert_eq!(proto, json);
        let e = proto[0].as_ref().unwrap();
        assert_eq!(
            (e.check.as_str(), e.severity, e.mine_template),
            ("disk.pressure", Severity::Warning, false)
        );
        assert_eq!(proto[1].as_ref().unwrap().severity, Severity::Critical);
    }

    #[test]
    fn otlp_json_as_the_spec_writes_it() {
        // the shape of opentelemetry-proto's examples/logs.json: camelCase, int64 as strings,
        // hex ids, AnyValue objects
        let body = br#"{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"my.service"}}]},
          "scopeLogs":[{"scope":{"name":"my.library","version":"1.0.0"},"logRecords":[{"timeUnixNano":"1544712660300000000",
          "observedTimeUnixNano":"1544712660300000000","severityNumber":10,"severityText":"Information",
          "traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
          "body":{"stringValue":"Example log record"},"attributes":[{"key":"string.attribute","value":{"stringValue":"some string"}},
          {"key":"int.attribute","value":{"intValue":"10"}},{"key":"array.attribute","value":{"arrayValue":{"values":[{"stringValue":"many"}]}}}]}]}]}]}"#;
        let out = normalise(InputFormat::OtlpJson, body);
        let e = out[0].as_ref().unwrap();
        assert_eq!(
            e.source, "my.service",
            "no host attribute: the service names the source"
        );
        assert_eq!(e.time, Some(1_544_712_660_300));
        assert_eq!(e.severity, Severity::Indeterminate);
        assert_eq!(e.label("int.attribute"), Some("10"));
        let extra: BTreeMap<_, _> = e.extra.iter().cloned().collect();
        assert_eq!(
            extra["otel.attributes"]["array.attribute"],
            serde_json::json!(["many"])
        );
        assert_eq!(extra["otel.span_id"], "eee19b7ec3c1b174");
    }

    #[test]
    fn bad_input_is_named() {
        let out = normalise(InputFormat::OtlpProto, b"\xff\xff\xff\xff not protobuf");
        assert_eq!(out[0].as_ref().unwrap_err().code(), "not_protobuf");
        let out = normalise(InputFormat::OtlpJson, b"{\"resourceLogs\": 5}");
        assert_eq!(out[0].as_ref().unwrap_err().code(), "schema");
        let out = normalise(InputFormat::OtlpJson, b"{oops");
        assert_eq!(out[0].as_ref().unwrap_err().code(), "not_json");
        // one bad record is one rejection; the others still count
        let mut bad = log("x", 0);
        bad.severity_text = "banana".into();
        let req = request(vec![], vec![log("a", 9), bad, log("b", 9)]);
        let out = normalise(InputFormat::OtlpProto, &req.encode_to_vec());
        assert_eq!(out.len(), 3);
        assert_eq!(out[1].as_ref().unwrap_err().code(), "unknown_severity");
        assert!(out[0].is_ok() && out[2].is_ok());
        let raw = record_json(&req.encode_to_vec(), false, 1).unwrap();
        assert!(raw.contains("banana"), "{raw}");
        // an empty request is valid and yields nothing
        assert!(normalise(InputFormat::OtlpProto, b"").is_empty());
    }

    #[test]
    fn many_or_long_attributes_are_kept_in_extra_not_refused() {
        let attrs: Vec<KeyValue> = (0..100).map(|i| kv(&format!("a{i:03}"), "v")).collect();
        let mut rec = log("x", 9);
        rec.attributes = vec![kv("exception.stacktrace", &"at frame\n".repeat(500))];
        let req = request(attrs, vec![rec]);
        let out = normalise(InputFormat::OtlpProto, &req.encode_to_vec());
        let e = out[0].as_ref().expect("not refused");
        assert_eq!(e.labels.len(), 64);
        let extra: BTreeMap<_, _> = e.extra.iter().cloned().collect();
        let overflow = extra["otel.attributes"].as_object().unwrap();
        assert_eq!(overflow.len(), 100 + 1 - 64);
        assert!(overflow.contains_key("exception.stacktrace"));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..512)) {
            for format in [InputFormat::OtlpProto, InputFormat::OtlpJson] {
                for r in normalise(format, &raw) {
                    if let Err(rej) = r {
                        prop_assert!(!rej.to_string().is_empty());
                    }
                }
            }
        }
    }
}
