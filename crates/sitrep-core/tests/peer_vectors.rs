//! Inputs shaped as other senders and the RFCs write them, with the outcome each must have:
//! `tests/vectors/peers.jsonl`. Each entry names where it comes from (an RFC's example,
//! rewritten here; a sender's documented format; a finding). The expected values are
//! checked field by field; `reject` names the dead-letter code, `reason` a part of its text.
//!
//! Every entry is read at the reference time 2026-11-24T12:00:00Z (BSD stamps carry no year).

use sitrep_core::normalise::{Normaliser, Rejection};
use sitrep_core::time::{format_rfc3339, parse_rfc3339};
use sitrep_core::{Config, Event, InputFormat};

fn outcomes(n: &Normaliser, v: &serde_json::Value) -> Vec<Result<Event, Rejection>> {
    let now = parse_rfc3339("2026-11-24T12:00:00Z").unwrap();
    let input = match &v["input"] {
        serde_json::Value::String(s) => s.clone().into_bytes(),
        other => serde_json::to_vec(other).unwrap(),
    };
    match (v["format"].as_str().unwrap(), v["sender"].as_str()) {
        ("syslog", Some(sender)) => vec![n.normalise_syslog_from(&input, now, sender)],
        (format, _) => {
            let format: InputFormat = format.parse().unwrap();
            let mut out = Vec::new();
            n.normalise(&format, &input, now, &mut out);
            out
        }
    }
}

/// What differs between `got` and `want` (empty when it matches).
fn differences(got: &Result<Event, Rejection>, want: &serde_json::Value) -> Vec<String> {
    let mut d = Vec::new();
    match (got, want.get("reject")) {
        (Err(r), Some(code)) => {
            if r.code() != code.as_str().unwrap() {
                d.push(format!("rejected as {} ({r}), expected {code}", r.code()));
            }
            if let Some(reason) = want["reason"].as_str() {
                if !r.to_string().contains(reason) {
                    d.push(format!("reason `{r}` does not say `{reason}`"));
                }
            }
        }
        (Err(r), None) => d.push(format!("rejected: {} ({r})", r.code())),
        (Ok(e), Some(code)) => d.push(format!(
            "accepted as {}/{}, expected rejection {code}",
            e.source, e.check
        )),
        (Ok(e), None) => {
            let want = want.as_object().unwrap();
            for (field, value) in want {
                let got = match field.as_str() {
                    "source" => serde_json::json!(e.source.as_str()),
                    "check" => serde_json::json!(e.check.as_str()),
                    "severity" => serde_json::json!(e.severity.as_str()),
                    "description" => serde_json::json!(e.description),
                    "time" => serde_json::json!(e.time.map(format_rfc3339)),
                    "labels" => {
                        for (k, v) in value.as_object().unwrap() {
                            if e.label(k) != v.as_str() {
                                d.push(format!("label {k} = {:?}, expected {v}", e.label(k)));
                            }
                        }
                        continue;
                    }
                    other => panic!("unknown expectation `{other}`"),
                };
                if &got != value {
                    d.push(format!("{field} = {got}, expected {value}"));
                }
            }
        }
    }
    d
}

#[test]
fn peer_and_rfc_vectors_give_their_documented_outcome() {
    let n = Normaliser::new(&Config::default()).unwrap();
    let text = include_str!("vectors/peers.jsonl");
    let mut failures = Vec::new();
    let mut checked = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let name = v["name"].as_str().unwrap();
        let got = outcomes(&n, &v);
        let want = v["expect"].as_array().unwrap();
        if got.len() != want.len() {
            failures.push(format!("{name}: {} outcomes, expected {}", got.len(), want.len()));
            continue;
        }
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            for d in differences(g, w) {
                failures.push(format!("{name} [{i}]: {d}"));
            }
        }
        checked += 1;
    }
    assert!(checked >= 40, "only {checked} vectors read");
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
