//! What travels between the stages. On the events topic a record is a batch of native
//! events (header `sitrep-kind: batch`) or an operator command (`sitrep-kind: command`).
//! A batch holds the events of one partition that arrived in one transaction, framed as
//! `[u32 length, little-endian][u8 flags][length bytes of the binary event, see codec]`
//! repeated (no second JSON parse in the correlate stage); flag bit 0
//! marks an event whose check is to be the mined template of its description. Batching
//! is why the internal hop is cheap: librdkafka, the broker and the correlate stage handle
//! one record per batch instead of one per event (docs/performance.md). On the changelog,
//! key `p{N}` holds partition N's latest snapshot: `{"offset": next input offset,
//! "engine": …}`.

use rdkafka::message::{Headers, Message};
use sitrep_core::{Event, Input};

pub const KIND: &str = "sitrep-kind";
/// `sitrep-kind` of a batch record (its value names the frame format's version).
pub const BATCH: &[u8] = b"batch-v1";
const MINE: u8 = 1;

fn header<'a, M: Message>(m: &'a M, key: &str) -> Option<&'a [u8]> {
    let h = m.headers()?;
    h.iter().find(|h| h.key == key).and_then(|h| h.value)
}

/// Whether a record is an operator command (`sitrep-kind: command`).
pub fn is_command<M: Message>(m: &M) -> bool {
    header(m, KIND) == Some(b"command")
}

/// Appends one normalised event to a batch.
pub fn push_event(batch: &mut Vec<u8>, e: &Event) {
    let at = batch.len();
    batch.extend_from_slice(&[0; 4]);
    batch.push(if e.mine_template { MINE } else { 0 });
    codec::encode(e, batch);
    let len = (batch.len() - at - 5) as u32;
    batch[at..at + 4].copy_from_slice(&len.to_le_bytes());
}

/// Decodes one events-topic record into `out`; returns how many entries could not be read
/// (never produced by the ingest stage; counted by the caller).
pub fn decode<M: Message>(m: &M, out: &mut Vec<Input>) -> u64 {
    let Some(payload) = m.payload() else { return 1 };
    match header(m, KIND) {
        Some(b"command") => match serde_json::from_slice(payload) {
            Ok(c) => {
                out.push(Input::Command(c));
                0
            }
            Err(_) => 1,
        },
        Some(BATCH) => decode_batch(payload, out),
        _ => 1,
    }
}

fn decode_batch(mut rest: &[u8], out: &mut Vec<Input>) -> u64 {
    let mut unreadable = 0;
    while !rest.is_empty() {
        if rest.len() < 5 {
            return unreadable + 1;
        }
        let len = u32::from_le_bytes(rest[..4].try_into().expect("4 bytes")) as usize;
        let flags = rest[4];
        let Some(frame) = rest.get(5..5 + len) else {
            return unreadable + 1;
        };
        rest = &rest[5 + len..];
        match codec::decode(frame) {
            Some(mut e) => {
                e.mine_template = flags & MINE != 0;
                out.push(Input::Event(e));
            }
            None => unreadable += 1,
        }
    }
    unreadable
}

/// The binary form of a normalised [`Event`] inside a batch. Hand-written rather than a
/// serde format crate: `extra` holds `serde_json::Value`s, which bincode-style formats
/// cannot carry, and this runs once per event in both stages, where decoding it costs a
/// fraction of re-parsing JSON (docs/performance.md). Strings are a LEB128 length and
/// UTF-8 bytes; `extra` values are JSON text. The event was validated by the ingest stage,
/// so the correlate stage takes it as it comes.
mod codec {
    use compact_str::CompactString;
    use sitrep_core::{Event, Severity};

    const TIME: u8 = 1;
    const SERVICE: u8 = 2;
    const MANAGER: u8 = 4;
    const SIGNATURE: u8 = 8;
    const ID: u8 = 16;

    fn varint(out: &mut Vec<u8>, mut n: u64) {
        while n >= 0x80 {
            out.push(n as u8 | 0x80);
            n >>= 7;
        }
        out.push(n as u8);
    }

    fn text(out: &mut Vec<u8>, s: &str) {
        varint(out, s.len() as u64);
        out.extend_from_slice(s.as_bytes());
    }

    pub fn encode(e: &Event, out: &mut Vec<u8>) {
        let mut present = 0;
        for (bit, on) in [
            (TIME, e.time.is_some()),
            (SERVICE, e.service.is_some()),
            (MANAGER, e.manager.is_some()),
            (SIGNATURE, e.signature.is_some()),
            (ID, e.id.is_some()),
        ] {
            if on {
                present |= bit;
            }
        }
        out.push(present);
        out.push(e.severity as u8);
        text(out, &e.source);
        text(out, &e.check);
        text(out, &e.description);
        if let Some(t) = e.time {
            out.extend_from_slice(&t.to_le_bytes());
        }
        for s in [
            e.service.as_deref(),
            e.manager.as_deref(),
            e.signature.as_deref(),
            e.id.as_deref(),
        ]
        .into_iter()
        .flatten()
        {
            text(out, s);
        }
        varint(out, e.labels.len() as u64);
        for (k, v) in &e.labels {
            text(out, k);
            text(out, v);
        }
        varint(out, e.extra.len() as u64);
        for (k, v) in &e.extra {
            text(out, k);
            text(out, &v.to_string());
        }
    }

    struct Reader<'a>(&'a [u8]);

    impl<'a> Reader<'a> {
        fn byte(&mut self) -> Option<u8> {
            let (b, rest) = self.0.split_first()?;
            self.0 = rest;
            Some(*b)
        }

        fn varint(&mut self) -> Option<u64> {
            let mut n = 0u64;
            for shift in (0..64).step_by(7) {
                let b = self.byte()?;
                n |= u64::from(b & 0x7f) << shift;
                if b < 0x80 {
                    return Some(n);
                }
            }
            None
        }

        fn text(&mut self) -> Option<&'a str> {
            let len = usize::try_from(self.varint()?).ok()?;
            if len > self.0.len() {
                return None;
            }
            let (s, rest) = self.0.split_at(len);
            self.0 = rest;
            std::str::from_utf8(s).ok()
        }

        fn compact(&mut self) -> Option<CompactString> {
            self.text().map(CompactString::from)
        }
    }

    pub fn decode(frame: &[u8]) -> Option<Event> {
        let mut r = Reader(frame);
        let present = r.byte()?;
        let severity = Severity::from_level(i64::from(r.byte()?))?;
        let source = r.compact()?;
        let check = r.compact()?;
        let description = r.text()?.to_string();
        let time = if present & TIME != 0 {
            let (t, rest) = r.0.split_first_chunk::<8>()?;
            r.0 = rest;
            Some(i64::from_le_bytes(*t))
        } else {
            None
        };
        let mut opt = |bit: u8| -> Option<Option<CompactString>> {
            Some(if present & bit != 0 {
                Some(r.compact()?)
            } else {
                None
            })
        };
        let service = opt(SERVICE)?;
        let manager = opt(MANAGER)?;
        let signature = opt(SIGNATURE)?.map(String::from);
        let id = opt(ID)?;
        // counts are bounded by the bytes left, so a corrupt count cannot over-allocate
        let n = usize::try_from(r.varint()?).ok()?.min(r.0.len());
        let mut labels = Vec::with_capacity(n);
        for _ in 0..n {
            labels.push((r.compact()?, r.compact()?));
        }
        let n = usize::try_from(r.varint()?).ok()?.min(r.0.len());
        let mut extra = Vec::with_capacity(n);
        for _ in 0..n {
            let k = r.text()?.to_string();
            extra.push((k, serde_json::from_str(r.text()?).ok()?));
        }
        if !r.0.is_empty() {
            return None;
        }
        Some(Event {
            source,
            check,
            severity,
            description,
            time,
            service,
            manager,
            labels,
            signature,
            id,
            extra,
            mine_template: false,
        })
    }
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

/// A record as [`snapshot_record`] writes it, split without a JSON pass over the engine
/// part (which `Engine::restore` parses, and so checks, anyway). Anything else gives `None`:
/// read it as a [`SnapshotRecord`].
pub fn split_snapshot_record(bytes: &[u8]) -> Option<(i64, &[u8])> {
    let rest = bytes.strip_prefix(b"{\"offset\":")?;
    let digits = rest
        .iter()
        .take_while(|b| b.is_ascii_digit() || **b == b'-')
        .count();
    let offset = std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()?;
    let engine = rest[digits..].strip_prefix(b",\"engine\":")?.strip_suffix(b"}")?;
    Some((offset, engine))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_records_split_as_written() {
        let r = snapshot_record(4_200, br#"{"format":3}"#);
        assert_eq!(split_snapshot_record(&r), Some((4_200, &br#"{"format":3}"#[..])));
        let parsed: SnapshotRecord = serde_json::from_slice(&r).unwrap();
        assert_eq!(parsed.offset, 4_200);
        assert_eq!(split_snapshot_record(br#"{"engine":{},"offset":1}"#), None);
        assert_eq!(split_snapshot_record(br#"{"offset":1,"engine":{"#), None);
    }

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

    fn event(source: &str) -> Event {
        Event {
            source: source.into(),
            check: "link_down".into(),
            severity: sitrep_core::Severity::Major,
            description: "ifIndex 3 \"ge-0/0/1\" went down — 中文".into(),
            time: Some(1_700_000_000_123),
            labels: vec![("region".into(), "eu-1".into()), ("site".into(), "".into())],
            ..Default::default()
        }
    }

    fn batch_of(events: &[Event]) -> Vec<u8> {
        let mut b = Vec::new();
        for e in events {
            push_event(&mut b, e);
        }
        b
    }

    fn decoded(b: &[u8]) -> (Vec<Event>, u64) {
        let mut out = Vec::new();
        let bad = decode_batch(b, &mut out);
        let events = out
            .into_iter()
            .map(|r| match r {
                Input::Event(e) => e,
                _ => unreachable!(),
            })
            .collect();
        (events, bad)
    }

    #[test]
    fn events_round_trip_through_a_batch() {
        let plain = event("a");
        let full = Event {
            service: Some("core".into()),
            manager: Some("snmp".into()),
            signature: Some("sig".into()),
            id: Some("e-1".into()),
            time: Some(-5),
            extra: vec![
                ("oid".into(), serde_json::json!("1.3.6.1")),
                ("n".into(), serde_json::json!({"a": [1, 2.5, null, true]})),
            ],
            mine_template: true,
            ..event("b")
        };
        let bare = Event {
            time: None,
            labels: vec![],
            description: String::new(),
            severity: sitrep_core::Severity::Clear,
            ..event("c")
        };
        let events = [plain, full, bare];
        assert_eq!(decoded(&batch_of(&events)), (events.to_vec(), 0));
    }

    #[test]
    fn bad_frames_are_counted_and_the_rest_kept() {
        let mut b = batch_of(&[event("a")]);
        // a frame whose body is not an event
        b.extend_from_slice(&3u32.to_le_bytes());
        b.push(0);
        b.extend_from_slice(b"\xff\xff\xff");
        b.extend(batch_of(&[event("b")]));
        let (events, bad) = decoded(&b);
        assert_eq!(bad, 1);
        assert_eq!(
            events.iter().map(|e| e.source.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
        // a truncated frame ends the batch, counted once
        let (events, bad) = decoded(&b[..b.len() - 3]);
        assert_eq!((events.len(), bad), (1, 2));
        // trailing bytes inside a frame make it unreadable, not misread
        let mut frame = batch_of(&[event("c")]);
        let len = u32::from_le_bytes(frame[..4].try_into().unwrap()) + 1;
        frame[..4].copy_from_slice(&len.to_le_bytes());
        frame.push(0);
        assert_eq!(decoded(&frame).1, 1);
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
