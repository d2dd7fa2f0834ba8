//! Prometheus Alertmanager webhook payloads (version 4), so an Alertmanager can point its
//! `webhook_configs` at sitrep. Mapping, per entry of `alerts[]`:
//!
//! | native      | from                                                                  |
//! |-------------|-----------------------------------------------------------------------|
//! | check       | `labels.alertname`                                                    |
//! | source      | `labels.instance`, else `host`, `node`, `pod`, `job`, `service`, `deployment`, `namespace`, `cluster`, else `alertmanager` |
//! | service     | `labels.service`, else `labels.job`                                   |
//! | severity    | `clear` when `status` is `resolved`; else `labels.severity` by name (missing → config `severity.missing`, else `warning`) |
//! | description | `annotations.summary`, else `annotations.description`, else alertname |
//! | time        | `startsAt` (firing) or `endsAt` (resolved)                            |
//! | signature   | `am:` + `fingerprint` (Alertmanager's identity of the label set)      |
//! | labels      | all labels but `alertname`                                            |
//! | manager     | `alertmanager`; annotations, generatorURL and receiver go to `extra`  |

use super::native::parse_time_text;
use super::{Normaliser, Rejection};
use crate::event::Event;
use crate::severity::Severity;
use compact_str::CompactString;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize)]
struct Payload {
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    receiver: Option<String>,
    /// Judged entry by entry: one malformed entry is one rejection, the others still count.
    alerts: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AmAlert {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default)]
    starts_at: Option<String>,
    #[serde(default)]
    ends_at: Option<String>,
    #[serde(default, rename = "generatorURL")]
    generator_url: Option<String>,
    #[serde(default)]
    fingerprint: Option<String>,
}

pub(super) fn parse(n: &Normaliser, raw: &[u8], out: &mut Vec<Result<Event, Rejection>>) {
    let payload: Payload = match serde_json::from_slice(raw) {
        Ok(p) => p,
        Err(e) if e.is_data() => {
            return out.push(Err(Rejection::Schema(format!("alertmanager payload: {e}"))))
        }
        Err(e) => return out.push(Err(Rejection::NotJson(e.to_string()))),
    };
    if let Some(v) = &payload.version {
        if v != "4" {
            return out.push(Err(Rejection::Schema(format!(
                "alertmanager payload version `{v}`, expected `4`"
            ))));
        }
    }
    if payload.alerts.is_empty() {
        return out.push(Err(Rejection::Empty));
    }
    for (i, a) in payload.alerts.into_iter().enumerate() {
        out.push(match AmAlert::deserialize(a) {
            Ok(a) => convert(n, a, payload.receiver.as_deref()),
            Err(e) => Err(Rejection::Schema(format!("alertmanager alerts[{i}]: {e}"))),
        });
    }
}

fn convert(n: &Normaliser, a: AmAlert, receiver: Option<&str>) -> Result<Event, Rejection> {
    let pick = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| a.labels.get(*k))
            .map(|s| CompactString::from(s.as_str()))
    };
    let check = pick(&["alertname"]).ok_or_else(|| Rejection::MissingField("labels.alertname".into()))?;
    // an alert about no one host (`absent(...)`, a Watchdog) still has a place: the next
    // label that names one, else the sender
    let source = pick(&[
        "instance",
        "host",
        "node",
        "pod",
        "job",
        "service",
        "deployment",
        "namespace",
        "cluster",
    ])
    .unwrap_or_else(|| CompactString::from("alertmanager"));
    let resolved = a.status.as_deref() == Some("resolved");
    let severity = if resolved {
        Severity::Clear
    } else {
        match a.labels.get("severity") {
            Some(s) => n.severity_by_name(s)?,
            None => n.missing_severity().unwrap_or(Severity::Warning),
        }
    };
    let stamp = if resolved {
        a.ends_at.as_deref()
    } else {
        a.starts_at.as_deref()
    };
    let time = stamp
        .filter(|s| !s.starts_with("0001-"))
        .map(parse_time_text)
        .transpose()?;
    let description = a
        .annotations
        .get("summary")
        .or_else(|| a.annotations.get("description"))
        .cloned()
        .unwrap_or_else(|| check.to_string());
    let mut extra = Vec::new();
    if !a.annotations.is_empty() {
        extra.push((
            "annotations".to_string(),
            serde_json::to_value(&a.annotations).unwrap_or_default(),
        ));
    }
    if let Some(g) = a.generator_url {
        extra.push(("generatorURL".to_string(), g.into()));
    }
    if let Some(r) = receiver {
        extra.push(("receiver".to_string(), r.into()));
    }
    let ev = Event {
        service: pick(&["service", "job"]),
        source,
        check,
        severity,
        description,
        time,
        manager: Some("alertmanager".into()),
        labels: a
            .labels
            .iter()
            .filter(|(k, _)| k.as_str() != "alertname")
            .map(|(k, v)| (k.as_str().into(), v.as_str().into()))
            .collect(),
        signature: a.fingerprint.as_ref().map(|f| format!("am:{f}")),
        id: a
            .fingerprint
            .map(|f| CompactString::from(format!("{f}@{}", stamp.unwrap_or("")))),
        extra,
        mine_template: false,
    };
    n.validate(ev)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use proptest::prelude::*;

    const PAYLOAD: &str = r#"{
      "version": "4", "groupKey": "{}:{alertname=\"HighLatency\"}", "truncatedAlerts": 0,
      "status": "firing", "receiver": "sitrep", "groupLabels": {"alertname": "HighLatency"},
      "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://am:9093",
      "alerts": [
        {"status": "firing", "labels": {"alertname": "HighLatency", "instance": "web-1:9100", "job": "web", "severity": "critical"},
         "annotations": {"summary": "p99 latency above 2s"}, "startsAt": "2026-11-24T10:00:00Z",
         "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "http://prom/graph", "fingerprint": "abc123"},
        {"status": "resolved", "labels": {"alertname": "HighLatency", "instance": "web-2:9100", "job": "web"},
         "annotations": {}, "startsAt": "2026-11-24T09:00:00Z", "endsAt": "2026-11-24T10:05:00Z", "fingerprint": "def456"},
        {"status": "firing", "labels": {"instance": "x"}, "annotations": {}, "startsAt": "2026-11-24T10:00:00Z"}
      ]
    }"#;

    #[test]
    fn maps_each_alert() {
        let n = Normaliser::new(&Config::default()).unwrap();
        let mut out = Vec::new();
        parse(&n, PAYLOAD.as_bytes(), &mut out);
        assert_eq!(out.len(), 3);
        let a = out[0].as_ref().unwrap();
        assert_eq!(
            (a.source.as_str(), a.check.as_str()),
            ("web-1:9100", "HighLatency")
        );
        assert_eq!(a.severity, Severity::Critical);
        assert_eq!(a.service.as_deref(), Some("web"));
        assert_eq!(a.description, "p99 latency above 2s");
        assert_eq!(a.signature.as_deref(), Some("am:abc123"));
        assert_eq!(a.label("job"), Some("web"));
        assert!(a.label("alertname").is_none());
        let b = out[1].as_ref().unwrap();
        assert_eq!(b.severity, Severity::Clear);
        assert_eq!(b.time, crate::time::parse_rfc3339("2026-11-24T10:05:00Z"));
        assert_eq!(out[2], Err(Rejection::MissingField("labels.alertname".into())));
    }

    #[test]
    fn wrong_shape_and_version() {
        let n = Normaliser::new(&Config::default()).unwrap();
        for (raw, code) in [
            ("{}", "schema"),
            (r#"{"version":"3","alerts":[]}"#, "schema"),
            ("[", "not_json"),
            (r#"{"alerts":[]}"#, "empty"),
        ] {
            let mut out = Vec::new();
            parse(&n, raw.as_bytes(), &mut out);
            assert_eq!(out[0].as_ref().unwrap_err().code(), code, "{raw}");
        }
    }

    #[test]
    fn an_alert_about_no_host_falls_back_to_a_documented_source() {
        let n = Normaliser::new(&Config::default()).unwrap();
        let raw = r#"{"alerts":[
            {"status":"firing","labels":{"alertname":"Watchdog"}},
            {"status":"firing","labels":{"alertname":"KubeQuota","namespace":"shop"}}]}"#;
        let mut out = Vec::new();
        parse(&n, raw.as_bytes(), &mut out);
        assert_eq!(out[0].as_ref().unwrap().source, "alertmanager");
        assert_eq!(out[1].as_ref().unwrap().source, "shop");
    }

    #[test]
    fn one_malformed_entry_is_one_rejection_and_the_others_still_count() {
        let n = Normaliser::new(&Config::default()).unwrap();
        let raw = r#"{"version":"4","alerts":[
            {"status":"firing","labels":{"alertname":"Up","instance":"a:9100"}},
            {"status":"firing","labels":"not an object"},
            {"status":"firing","labels":{"alertname":"Up","instance":"b:9100"}}]}"#;
        let mut out = Vec::new();
        parse(&n, raw.as_bytes(), &mut out);
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].as_ref().unwrap().source, "a:9100");
        let err = out[1].as_ref().unwrap_err();
        assert_eq!(err.code(), "schema");
        assert!(err.to_string().contains("alerts[1]"), "{err}");
        assert_eq!(out[2].as_ref().unwrap().source, "b:9100");
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let n = Normaliser::new(&Config::default()).unwrap();
            let mut out = Vec::new();
            parse(&n, &bytes, &mut out);
            prop_assert!(!out.is_empty());
        }
    }
}
