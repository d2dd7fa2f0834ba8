//! What travels between the stages. On the events topic a record is a native event (JSON)
//! or, with header `sitrep-kind: command`, an operator command; header `sitrep-mine: 1`
//! marks an event whose check is to be the mined template of its description. On the
//! changelog, key `p{N}` holds partition N's latest snapshot: `{"offset": next input
//! offset, "engine": …}`.

use rdkafka::message::{Headers, Message};
use sitrep_core::actions::Command;
use sitrep_core::{Event, InputFormat, Normaliser};

pub const KIND: &str = "sitrep-kind";
pub const MINE: &str = "sitrep-mine";

pub enum Record {
    Event(Event),
    Command(Command),
}

fn header<'a, M: Message>(m: &'a M, key: &str) -> Option<&'a [u8]> {
    let h = m.headers()?;
    h.iter().find(|h| h.key == key).and_then(|h| h.value)
}

/// Decodes one events-topic record; `None` for what cannot be read (never produced by the
/// ingest stage; skipped and counted by the caller).
pub fn decode<M: Message>(m: &M, normaliser: &Normaliser) -> Option<Record> {
    let payload = m.payload()?;
    if header(m, KIND) == Some(b"command") {
        return serde_json::from_slice(payload).ok().map(Record::Command);
    }
    let mut out = Vec::with_capacity(1);
    normaliser.normalise(&InputFormat::Native, payload, 0, &mut out);
    let mut e = out.pop()?.ok()?;
    e.mine_template = header(m, MINE) == Some(b"1");
    Some(Record::Event(e))
}

pub fn changelog_key(partition: i32) -> String {
    format!("p{partition}")
}

#[derive(serde::Deserialize)]
pub struct SnapshotRecord {
    pub offset: i64,
    pub engine: Box<serde_json::value::RawValue>,
}

pub fn snapshot_record(offset: i64, engine: &[u8]) -> Vec<u8> {
    let mut v = format!("{{\"offset\":{offset},\"engine\":").into_bytes();
    v.extend_from_slice(engine);
    v.push(b'}');
    v
}
