//! What travels between the stages. On the events topic a record is a batch of native
//! events (header `sitrep-kind: batch`) or an operator command (`sitrep-kind: command`).
//! A batch holds the events of one partition that arrived in one transaction, framed as
//! `[u32 length, little-endian][u8 flags][length bytes of native JSON]` repeated; flag bit 0
//! marks an event whose check is to be the mined template of its description. Batching
//! is why the internal hop is cheap: librdkafka, the broker and the correlate stage handle
//! one record per batch instead of one per event (docs/performance.md). On the changelog,
//! key `p{N}` holds partition N's latest snapshot: `{"offset": next input offset,
//! "engine": …}`.

use rdkafka::message::{Headers, Message};
use sitrep_core::actions::Command;
use sitrep_core::{Event, InputFormat, Normaliser};

pub const KIND: &str = "sitrep-kind";
const MINE: u8 = 1;

pub enum Record {
    Event(Event),
    Command(Command),
}

fn header<'a, M: Message>(m: &'a M, key: &str) -> Option<&'a [u8]> {
    let h = m.headers()?;
    h.iter().find(|h| h.key == key).and_then(|h| h.value)
}

/// Appends one event's native JSON to a batch.
pub fn push_event(batch: &mut Vec<u8>, json: &[u8], mine_template: bool) {
    batch.extend_from_slice(&(json.len() as u32).to_le_bytes());
    batch.push(if mine_template { MINE } else { 0 });
    batch.extend_from_slice(json);
}

/// Decodes one events-topic record into `out`; returns how many entries could not be read
/// (never produced by the ingest stage; counted by the caller).
pub fn decode<M: Message>(m: &M, normaliser: &Normaliser, out: &mut Vec<Record>) -> u64 {
    let Some(payload) = m.payload() else { return 1 };
    match header(m, KIND) {
        Some(b"command") => match serde_json::from_slice(payload) {
            Ok(c) => {
                out.push(Record::Command(c));
                0
            }
            Err(_) => 1,
        },
        Some(b"batch") => decode_batch(payload, normaliser, out),
        _ => 1,
    }
}

fn decode_batch(mut rest: &[u8], normaliser: &Normaliser, out: &mut Vec<Record>) -> u64 {
    let mut unreadable = 0;
    let mut parsed = Vec::with_capacity(1);
    while !rest.is_empty() {
        if rest.len() < 5 {
            return unreadable + 1;
        }
        let len = u32::from_le_bytes(rest[..4].try_into().expect("4 bytes")) as usize;
        let flags = rest[4];
        let Some(json) = rest.get(5..5 + len) else {
            return unreadable + 1;
        };
        rest = &rest[5 + len..];
        parsed.clear();
        normaliser.normalise(&InputFormat::Native, json, 0, &mut parsed);
        match parsed.pop() {
            Some(Ok(mut e)) => {
                e.mine_template = flags & MINE != 0;
                out.push(Record::Event(e));
            }
            _ => unreadable += 1,
        }
    }
    unreadable
}

/// The events-topic partition of a scope key: Kafka's default partitioner (murmur2 of the
/// key bytes, positive, modulo the partition count), so other Kafka clients that key by
/// the same scope land on the same partition numbers.
pub fn partition_of(key: &str, partitions: i32) -> i32 {
    (murmur2(key.as_bytes()) & 0x7fff_ffff) % partitions
}

/// Kafka's `Utils.murmur2`.
fn murmur2(data: &[u8]) -> i32 {
    const M: u32 = 0x5bd1_e995;
    let mut h: u32 = 0x9747_b28c ^ data.len() as u32;
    let chunks = data.chunks_exact(4);
    let tail = chunks.remainder();
    for c in chunks {
        let mut k = u32::from_le_bytes(c.try_into().expect("4 bytes"));
        k = k.wrapping_mul(M);
        k ^= k >> 24;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M) ^ k;
    }
    if tail.len() >= 3 {
        h ^= (tail[2] as u32) << 16;
    }
    if tail.len() >= 2 {
        h ^= (tail[1] as u32) << 8;
    }
    if !tail.is_empty() {
        h ^= tail[0] as u32;
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur2_is_kafkas() {
        // vectors from Apache Kafka's UtilsTest.testMurmur2
        for (s, h) in [
            ("21", -973932308),
            ("foobar", -790332482),
            ("a-little-bit-long-string", -985981536),
            ("a-little-bit-longer-string", -1486304829),
            ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
            ("abc", 479470107),
        ] {
            assert_eq!(murmur2(s.as_bytes()), h, "{s}");
        }
    }

    #[test]
    fn a_batch_round_trips_and_bad_frames_are_counted() {
        let n = Normaliser::new(&sitrep_core::Config::default()).unwrap();
        let mut b = Vec::new();
        push_event(
            &mut b,
            br#"{"source":"a","check":"x","severity":3,"time":1}"#,
            false,
        );
        push_event(
            &mut b,
            br#"{"source":"b","check":"y","severity":3,"time":2}"#,
            true,
        );
        push_event(&mut b, b"not json", false);
        let mut out = Vec::new();
        assert_eq!(decode_batch(&b, &n, &mut out), 1);
        let events: Vec<(String, bool)> = out
            .iter()
            .map(|r| match r {
                Record::Event(e) => (e.source.to_string(), e.mine_template),
                Record::Command(_) => unreachable!(),
            })
            .collect();
        assert_eq!(events, [("a".to_string(), false), ("b".to_string(), true)]);
        // a truncated frame ends the batch, counted once
        out.clear();
        assert_eq!(decode_batch(&b[..b.len() - 3], &n, &mut out), 1);
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn partitions_spread_and_are_stable() {
        assert_eq!(partition_of("par1", 6), partition_of("par1", 6));
        let used: std::collections::HashSet<i32> = (0..100)
            .map(|i| partition_of(&format!("region-{i}"), 6))
            .collect();
        assert_eq!(used.len(), 6);
        assert!((0..6).contains(&partition_of("", 6)));
    }
}
