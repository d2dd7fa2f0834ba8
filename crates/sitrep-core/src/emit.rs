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
//! [`Engine::drain_updates`]: crate::Engine::drain_updates
//! [`Engine::take_json_updates`]: crate::Engine::take_json_updates

use crate::compact::{AlertChangesRef, AlertChangesUpdateRef, AlertUpdateForm};
use crate::time::Millis;
use crate::update::{
    AlertChange, AlertUpdate, AlertUpdateRef, AlertViewRef, IncidentUpdate, Update, SCHEMA_VERSION,
};

#[derive(Debug, Default)]
pub(crate) struct Emitter {
    /// The last sequence number given (part of the snapshot: numbering goes on after a
    /// restore).
    pub(crate) seq: u64,
    /// `Some`: JSON lines in that form; `None`: owned updates.
    json_lines: Option<AlertUpdateForm>,
    updates: Vec<Update>,
    json: Vec<u8>,
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
            if form.full(change, previous, time) {
                let u = AlertUpdateRef {
                    kind: "alert",
                    v: SCHEMA_VERSION,
                    seq,
                    time,
                    change,
                    alert,
                };
                serde_json::to_writer(&mut self.json, &u).expect("alert update serialises");
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
                serde_json::to_writer(&mut self.json, &u).expect("alert update serialises");
            }
            self.json.push(b'\n');
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
            serde_json::to_writer(&mut self.json, &u).expect("incident update serialises");
            self.json.push(b'\n');
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
        out.append(&mut self.json);
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
