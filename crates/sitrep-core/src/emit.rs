//! emit: the engine's output, in order. Each alert or incident change becomes one [`Update`]
//! with the next sequence number, delivered in one of two forms chosen by the host:
//!
//! - **owned updates** ([`Engine::drain_updates`]): what the server and the Kafka worker
//!   take, to publish, serve and fan out;
//! - **JSON lines** ([`Engine::take_json_updates`]): serialised at once from borrowed state,
//!   the replay's form. It saves building an owned view (a dozen allocations) per update.
//!   In the [`AlertUpdateForm::Full`] form the bytes are exactly `serde_json` of the owned
//!   [`Update`] followed by a newline; in the compact form (the replay's default) most alert
//!   changes are partial records (see [`crate::compact`]).
//!
//!
//! JSON lines are first **encoded**: each alert change as a compact binary record borrowed
//! straight from the state (postcard), each incident change as its JSON line. Turning that
//! into JSON ([`render_json_lines`]) is the expensive half, and it needs nothing of the
//! engine, so a host can run it on another thread ([`Engine::take_encoded_updates`]: the
//! replay's writer thread does) while the engine goes on; [`Engine::take_json_updates`]
//! renders on the caller's thread. Either way the bytes are the same.
//!
//! [`Engine::drain_updates`]: crate::Engine::drain_updates
//! [`Engine::take_json_updates`]: crate::Engine::take_json_updates
//! [`Engine::take_encoded_updates`]: crate::Engine::take_encoded_updates

use crate::compact::{AlertChangesRef, AlertChangesUpdateRef, AlertUpdateForm};
use crate::severity::Severity;
use crate::time::Millis;
use crate::update::{
    AlertChange, AlertUpdate, AlertUpdateRef, AlertViewRef, IncidentUpdate, RuleExplanation, SeverityChange,
    Update, SCHEMA_VERSION,
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Default)]
pub(crate) struct Emitter {
    /// The last sequence number given (part of the snapshot: numbering goes on after a
    /// restore).
    pub(crate) seq: u64,
    /// `Some`: JSON lines in that form; `None`: owned updates.
    json_lines: Option<AlertUpdateForm>,
    updates: Vec<Update>,
    /// Encoded updates (see the module's notes) not yet taken.
    encoded: Vec<u8>,
}

/// An encoded record: a JSON line as it is (`u32` LE length, then the bytes).
const RECORD_LINE: u8 = 0;
/// An encoded record: an alert change ([`EncodedAlert`], postcard, self-delimiting).
const RECORD_ALERT: u8 = 1;

/// An alert change as encoded on the engine thread, borrowed from its state. Postcard is
/// positional: [`DecodedAlert`] has the same fields, in the same order, with the same
/// encodings (a slice and a `Vec`, a `&str` and a `String` are alike on the wire).
#[derive(Serialize)]
struct EncodedAlert<'v, 'a> {
    seq: u64,
    time: Millis,
    change: AlertChange,
    full: bool,
    partition: u32,
    id: u64,
    signature: &'a str,
    source: &'a str,
    check: &'a str,
    service: Option<&'a str>,
    manager: Option<&'a str>,
    labels: &'v [(&'a str, &'a str)],
    description: &'a str,
    raised_description: Option<&'a str>,
    severity: Severity,
    first_severity: Severity,
    max_severity: Severity,
    open: bool,
    count: u64,
    occurrence: u32,
    first_time: Millis,
    last_time: Millis,
    entropy: f32,
    flapping: bool,
    in_maintenance: bool,
    incident: Option<u64>,
    incidents: &'a [u64],
    history: &'a [SeverityChange],
    rule: Option<&'a RuleExplanation>,
    /// The unknown fields as JSON text (postcard cannot carry a free-form value).
    extra: Option<String>,
}

#[derive(Deserialize)]
struct DecodedAlert<'a> {
    seq: u64,
    time: Millis,
    change: AlertChange,
    full: bool,
    partition: u32,
    id: u64,
    signature: &'a str,
    source: &'a str,
    check: &'a str,
    service: Option<&'a str>,
    manager: Option<&'a str>,
    labels: Vec<(&'a str, &'a str)>,
    description: &'a str,
    raised_description: Option<&'a str>,
    severity: Severity,
    first_severity: Severity,
    max_severity: Severity,
    open: bool,
    count: u64,
    occurrence: u32,
    first_time: Millis,
    last_time: Millis,
    entropy: f32,
    flapping: bool,
    in_maintenance: bool,
    incident: Option<u64>,
    incidents: Vec<u64>,
    history: Vec<SeverityChange>,
    rule: Option<RuleExplanation>,
    extra: Option<&'a str>,
}

/// Renders encoded updates (from [`crate::Engine::take_encoded_updates`]) as JSON lines,
/// appended to `out`: the bytes [`crate::Engine::take_json_updates`] would have given.
pub fn render_json_lines(encoded: &[u8], out: &mut Vec<u8>) {
    // Both ends are this module: a record that does not decode is a bug, not bad input.
    let mut rest = encoded;
    while let Some((&tag, after)) = rest.split_first() {
        match tag {
            RECORD_LINE => {
                let (len, after) = after.split_at(4);
                let len = u32::from_le_bytes(len.try_into().expect("4 bytes")) as usize;
                let (line, after) = after.split_at(len);
                out.extend_from_slice(line);
                rest = after;
            }
            RECORD_ALERT => {
                let (d, after): (DecodedAlert, _) =
                    postcard::take_from_bytes(after).expect("an encoded alert update decodes");
                render_alert(d, out);
                rest = after;
            }
            other => panic!("encoded updates: unknown record {other}"),
        }
    }
}

fn render_alert(d: DecodedAlert<'_>, out: &mut Vec<u8>) {
    let extra: Option<serde_json::Map<String, serde_json::Value>> = d
        .extra
        .map(|x| serde_json::from_str(x).expect("encoded extra is a JSON object"));
    let view = AlertViewRef {
        partition: d.partition,
        id: d.id,
        signature: d.signature,
        source: d.source,
        check: d.check,
        service: d.service,
        manager: d.manager,
        labels: d.labels,
        description: d.description,
        raised_description: d.raised_description,
        severity: d.severity,
        first_severity: d.first_severity,
        max_severity: d.max_severity,
        open: d.open,
        count: d.count,
        occurrence: d.occurrence,
        first_time: d.first_time,
        last_time: d.last_time,
        entropy: d.entropy,
        flapping: d.flapping,
        in_maintenance: d.in_maintenance,
        incident: d.incident,
        incidents: &d.incidents,
        history: &d.history,
        rule: d.rule.as_ref(),
        extra: extra.as_ref(),
    };
    write_alert_line(out, d.seq, d.time, d.change, d.full, view);
}

/// One alert update as a JSON line, whole or partial (see [`crate::compact`]).
fn write_alert_line(
    out: &mut Vec<u8>,
    seq: u64,
    time: Millis,
    change: AlertChange,
    full: bool,
    alert: AlertViewRef<'_>,
) {
    if full {
        let u = AlertUpdateRef {
            kind: "alert",
            v: SCHEMA_VERSION,
            seq,
            time,
            change,
            alert,
        };
        serde_json::to_writer(&mut *out, &u).expect("alert update serialises");
    } else {
        let u = AlertChangesUpdateRef {
            kind: "alert",
            v: SCHEMA_VERSION,
            seq,
            time,
            change,
            partial: true,
            alert: AlertChangesRef { view: &alert, time },
        };
        serde_json::to_writer(&mut *out, &u).expect("alert update serialises");
    }
    out.push(b'\n');
}

impl Emitter {
    pub fn new(seq: u64) -> Emitter {
        Emitter {
            seq,
            ..Emitter::default()
        }
    }

    /// Chooses JSON lines in a form (`Some`) or owned updates (`None`) for what is emitted
    /// from now on; what was emitted before stays where it is until taken.
    pub fn set_json_lines(&mut self, form: Option<AlertUpdateForm>) {
        self.json_lines = form;
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Emits an alert change from a borrowed view; returns its sequence number. `previous`
    /// is the event time of the alert's previous update (the compact form's rule).
    pub fn alert(
        &mut self,
        time: Millis,
        change: AlertChange,
        alert: AlertViewRef<'_>,
        previous: Millis,
    ) -> u64 {
        let seq = self.next_seq();
        if let Some(form) = self.json_lines {
            let full = form.full(change, previous, time);
            let v = &alert;
            let e = EncodedAlert {
                seq,
                time,
                change,
                full,
                partition: v.partition,
                id: v.id,
                signature: v.signature,
                source: v.source,
                check: v.check,
                service: v.service,
                manager: v.manager,
                labels: &v.labels,
                description: v.description,
                raised_description: v.raised_description,
                severity: v.severity,
                first_severity: v.first_severity,
                max_severity: v.max_severity,
                open: v.open,
                count: v.count,
                occurrence: v.occurrence,
                first_time: v.first_time,
                last_time: v.last_time,
                entropy: v.entropy,
                flapping: v.flapping,
                in_maintenance: v.in_maintenance,
                incident: v.incident,
                incidents: v.incidents,
                history: v.history,
                rule: v.rule,
                extra: v
                    .extra
                    .map(|x| serde_json::to_string(x).expect("a JSON map serialises")),
            };
            self.encoded.push(RECORD_ALERT);
            let buf = std::mem::take(&mut self.encoded);
            self.encoded = postcard::to_extend(&e, buf).expect("an alert update encodes");
        } else {
            self.updates.push(Update::Alert(AlertUpdate {
                v: SCHEMA_VERSION,
                seq,
                time,
                change,
                alert: alert.to_owned_view(),
            }));
        }
        seq
    }

    /// Emits an incident change; its `seq` is set here.
    pub fn incident(&mut self, mut u: IncidentUpdate) -> u64 {
        u.seq = self.next_seq();
        let seq = u.seq;
        let u = Update::Incident(u);
        if self.json_lines.is_some() {
            self.encoded.push(RECORD_LINE);
            let at = self.encoded.len();
            self.encoded.extend_from_slice(&[0; 4]);
            serde_json::to_writer(&mut self.encoded, &u).expect("incident update serialises");
            self.encoded.push(b'\n');
            let len = (self.encoded.len() - at - 4) as u32;
            self.encoded[at..at + 4].copy_from_slice(&len.to_le_bytes());
        } else {
            self.updates.push(u);
        }
        seq
    }

    /// The owned updates emitted since the last call (none in JSON-lines mode).
    pub fn drain(&mut self) -> std::vec::Drain<'_, Update> {
        self.updates.drain(..)
    }

    /// Appends the JSON lines emitted since the last call to `out` (nothing in owned mode).
    pub fn take_json_lines(&mut self, out: &mut Vec<u8>) {
        render_json_lines(&self.encoded, out);
        self.encoded.clear();
    }

    /// Appends the encoded updates emitted since the last call to `out`, for
    /// [`render_json_lines`] (nothing in owned mode).
    pub fn take_encoded(&mut self, out: &mut Vec<u8>) {
        if out.is_empty() {
            // no copy: `out` (a writer's recycled buffer, typically) becomes the next one
            // to encode into, so its pages are reused instead of fresh ones faulted in
            std::mem::swap(out, &mut self.encoded);
        } else {
            out.append(&mut self.encoded);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incident_update() -> IncidentUpdate {
        crate::update::sample_incident_update()
    }

    #[test]
    fn both_forms_number_on_from_the_restored_sequence_and_agree_byte_for_byte() {
        let mut owned = Emitter::new(41);
        let mut lines = Emitter::new(41);
        lines.set_json_lines(Some(AlertUpdateForm::Full));
        assert_eq!(owned.incident(incident_update()), 42);
        assert_eq!(lines.incident(incident_update()), 42);
        let mut bytes = Vec::new();
        lines.take_json_lines(&mut bytes);
        assert_eq!(lines.drain().count(), 0, "JSON-lines mode keeps no owned update");
        let drained: Vec<Update> = owned.drain().collect();
        assert_eq!(drained.len(), 1);
        let mut expected = serde_json::to_vec(&drained[0]).unwrap();
        expected.push(b'\n');
        assert_eq!(bytes, expected);
        let mut again = Vec::new();
        lines.take_json_lines(&mut again);
        assert!(again.is_empty(), "taken lines are not given twice");
    }
}
