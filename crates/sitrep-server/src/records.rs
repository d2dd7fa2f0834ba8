//! Journal records: how one [`Input`] (or one whole request body) is written to the
//! journal and read back. Replaying the records in order through the engine rebuilds the
//! state the service had; see `state` for why the order is the processing order.

use crate::body::normalise_body;
use sitrep_core::time::Millis;
use sitrep_core::{Input, InputFormat, Normaliser};

// Record tags. A record starting with `{` is an event (the first journal format).
const TAG_EVENT: u8 = b'E';
const TAG_MINE: u8 = b'M';
const TAG_COMMAND: u8 = b'C';
const TAG_TICK: u8 = b'T';
/// A whole request body as received, with its format and the edge's time: replaying it
/// through [`normalise_body`] gives exactly the events that were applied. Journalling the
/// body instead of re-encoding each event saves a serialisation per event on the hot path.
const TAG_BODY: u8 = b'B';

fn format_code(f: &InputFormat) -> (u8, &str) {
    match f {
        InputFormat::Native => (0, ""),
        InputFormat::Alertmanager => (1, ""),
        InputFormat::Syslog => (2, ""),
        InputFormat::Mapping(m) => (3, m),
        InputFormat::OtlpProto => (4, ""),
        InputFormat::OtlpJson => (5, ""),
    }
}

/// `B`, format code, edge time (i64 LE), mapping name length (u16 LE) and name, body.
pub fn encode_body(format: &InputFormat, now: Millis, body: &[u8]) -> Vec<u8> {
    let (code, name) = format_code(format);
    let mut r = Vec::with_capacity(body.len() + 12 + name.len());
    r.push(TAG_BODY);
    r.push(code);
    r.extend_from_slice(&now.to_le_bytes());
    r.extend_from_slice(&(name.len() as u16).to_le_bytes());
    r.extend_from_slice(name.as_bytes());
    r.extend_from_slice(body);
    r
}

pub fn encode(input: &Input) -> Vec<u8> {
    match input {
        Input::Event(e) => {
            let tag = if e.mine_template { TAG_MINE } else { TAG_EVENT };
            let json = e.to_native_json();
            let mut r = Vec::with_capacity(json.len() + 1);
            r.push(tag);
            r.extend_from_slice(json.as_bytes());
            r
        }
        Input::Command(c) => {
            let mut r = vec![TAG_COMMAND];
            serde_json::to_writer(&mut r, c).expect("commands serialise");
            r
        }
        Input::Tick(t) => {
            let mut r = vec![TAG_TICK];
            r.extend_from_slice(&t.to_le_bytes());
            r
        }
    }
}

/// The inputs of one journal record (a body record holds many); empty if unreadable.
pub fn decode(record: &[u8], normaliser: &Normaliser) -> Vec<Input> {
    decode_one(record, normaliser).unwrap_or_default()
}

fn decode_one(record: &[u8], normaliser: &Normaliser) -> Option<Vec<Input>> {
    let (tag, body) = match record.first()? {
        b'{' => (TAG_EVENT, record),
        t => (*t, &record[1..]),
    };
    Some(match tag {
        TAG_EVENT | TAG_MINE => {
            let mut out = Vec::with_capacity(1);
            normaliser.normalise(&InputFormat::Native, body, 0, &mut out);
            let mut e = out.pop()?.ok()?;
            e.mine_template = tag == TAG_MINE;
            vec![Input::Event(e)]
        }
        TAG_COMMAND => vec![Input::Command(serde_json::from_slice(body).ok()?)],
        TAG_TICK => vec![Input::Tick(Millis::from_le_bytes(body.try_into().ok()?))],
        TAG_BODY => {
            let code = *body.first()?;
            let now = Millis::from_le_bytes(body.get(1..9)?.try_into().ok()?);
            let n = u16::from_le_bytes(body.get(9..11)?.try_into().ok()?) as usize;
            let name = std::str::from_utf8(body.get(11..11 + n)?).ok()?;
            let raw = body.get(11 + n..)?;
            let format = match code {
                0 => InputFormat::Native,
                1 => InputFormat::Alertmanager,
                2 => InputFormat::Syslog,
                3 => InputFormat::Mapping(name.to_string()),
                4 => InputFormat::OtlpProto,
                5 => InputFormat::OtlpJson,
                _ => return None,
            };
            normalise_body(normaliser, &format, raw, now, |_, _, _| {})
                .into_iter()
                .map(Input::Event)
                .collect()
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::normalise_body;
    use sitrep_core::actions::Action;
    use sitrep_core::actions::Command;
    use sitrep_core::Severity;
    use sitrep_core::{Config, Event};

    #[test]
    fn records_round_trip() {
        let n = Normaliser::new(&Config::default()).unwrap();
        let e = Event {
            source: "h1".into(),
            check: "c".into(),
            severity: Severity::Major,
            description: "x".into(),
            time: Some(1_700_000_000_000),
            mine_template: true,
            ..Event::default()
        };
        let c = Command {
            incident: "INC0-1".into(),
            by: "ann".into(),
            time: 5,
            action: Action::Comment { text: "hi".into() },
        };
        for input in [Input::Event(e), Input::Command(c), Input::Tick(-3)] {
            assert_eq!(decode(&encode(&input), &n), vec![input]);
        }
        // a body record replays to the events it gave, dated by the edge where undated
        let body = b"{\"source\":\"a\",\"check\":\"b\",\"severity\":\"minor\"}\nnot json\n{\"source\":\"c\",\"check\":\"d\",\"severity\":\"major\",\"time\":5}";
        let mut rejected = Vec::new();
        let events = normalise_body(&n, &InputFormat::Native, body, 99, |i, r, raw| {
            rejected.push((i, r.code(), raw.len()))
        });
        assert_eq!(rejected, vec![(1, "not_json", 8)]);
        assert_eq!(
            events.iter().map(|e| e.time).collect::<Vec<_>>(),
            [Some(99), Some(5000)],
            "small numbers are epoch seconds"
        );
        let replayed = decode(&encode_body(&InputFormat::Native, 99, body), &n);
        assert_eq!(replayed, events.into_iter().map(Input::Event).collect::<Vec<_>>());
        let mapped = encode_body(&InputFormat::Mapping("nagios".into()), 1, b"{}");
        assert!(decode(&mapped, &n).is_empty(), "unknown mapping: no events");
        // the first journal format: bare native JSON
        let legacy = br#"{"source":"a","check":"b","severity":"minor"}"#;
        assert!(matches!(&decode(legacy, &n)[..], [Input::Event(e)] if e.source == "a"));
        assert!(decode(b"Zjunk", &n).is_empty());
    }
}
