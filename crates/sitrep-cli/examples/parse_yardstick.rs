//! The yardstick of issue 16: a one-thread parse of a native events file with sonic-rs into
//! borrowed structs, nothing else (no normalising, no engine, no output). The replay's speed
//! is quoted as a ratio to this, measured in the same run (`scripts/bench-replay.sh`,
//! docs/performance.md): it is what reading the stream costs at the least.
//!
//! `cargo run --release -p sitrep --example parse_yardstick -- EVENTS.jsonl`

use serde::Deserialize;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::Read;
use std::time::Instant;

/// The fields of a native event, borrowed from the input where no escape forces a copy.
#[derive(Deserialize)]
#[allow(dead_code)] // parsed to be measured, never read
struct NativeEvent<'a> {
    #[serde(borrow)]
    source: Option<Cow<'a, str>>,
    #[serde(borrow)]
    check: Option<Cow<'a, str>>,
    #[serde(borrow)]
    severity: Option<Cow<'a, str>>,
    #[serde(borrow)]
    description: Option<Cow<'a, str>>,
    #[serde(borrow)]
    time: Option<Cow<'a, str>>,
    #[serde(borrow)]
    service: Option<Cow<'a, str>>,
    #[serde(borrow)]
    manager: Option<Cow<'a, str>>,
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    labels: Option<BTreeMap<Cow<'a, str>, Cow<'a, str>>>,
}

/// Parses one line, counting it as an event or as not one.
fn parse(line: &[u8], events: &mut u64, bad: &mut u64) {
    match sonic_rs::from_slice::<NativeEvent>(line) {
        Ok(e) => {
            std::hint::black_box(&e);
            *events += 1;
        }
        Err(_) => *bad += 1,
    }
}

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: parse_yardstick EVENTS.jsonl");
    let started = Instant::now();
    let mut file = std::fs::File::open(&path).expect("events file");
    // read and parse in chunks, as the replay reads its input
    let mut buf = vec![0u8; 4 << 20];
    let mut carry = Vec::new();
    let (mut events, mut bad) = (0u64, 0u64);
    loop {
        let n = file.read(&mut buf).expect("read");
        if n == 0 {
            break;
        }
        carry.extend_from_slice(&buf[..n]);
        let end = carry.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        for line in carry[..end].split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            parse(line, &mut events, &mut bad);
        }
        carry.drain(..end);
    }
    // a last line without its newline
    if !carry.is_empty() {
        parse(&carry, &mut events, &mut bad);
    }
    let s = started.elapsed().as_secs_f64();
    // a yardstick that skipped lines would read fast: the fields it names are strings in
    // the generated streams; anything else is a stream it was not made for
    assert!(
        bad == 0,
        "{bad} lines did not parse as native events of string fields"
    );
    eprintln!(
        "parsed {events} events ({bad} not events) on one thread in {s:.2} s: {:.0} events/s",
        events as f64 / s
    );
}
