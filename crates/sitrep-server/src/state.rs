//! The engine behind one lock, and everything that must stay in step with it: the journal,
//! snapshots, the live feed, dead letters and the overview's history.
//!
//! Order is the recovery argument. Under the engine lock an input is encoded and queued to
//! the journal, then applied; so the journal's order is the processing order, and replaying
//! it (after the latest snapshot) rebuilds exactly the state the service had. Every source
//! — HTTP, syslog, SNMP, operator commands, the clock's ticks — goes through [`Shared::submit`].

use crate::config::ServerSection;
use crate::journal::{self, Journal, WriteError};
use crate::ServerError;
use serde::Serialize;
use sitrep_core::actions::{Command, CommandError};
use sitrep_core::time::Millis;
use sitrep_core::update::IncidentUpdate;
use sitrep_core::{
    Config, DeadLetter, Engine, EngineOptions, Event, InputFormat, Normaliser, Rejection, Update,
};
use std::collections::VecDeque;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::{broadcast, oneshot, Semaphore};

/// One journalled input.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    Event(Event),
    Command(Command),
    /// The wall clock moved the engine's clock (fires timers: windows, closes, purges).
    Tick(Millis),
}

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

/// A JSON array or a single JSON document is one input; anything else is JSON lines.
pub fn split_documents(body: &[u8]) -> Vec<&[u8]> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace()).copied();
    let whole = match first {
        Some(b'[') => true,
        Some(b'{') => serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok(),
        _ => false,
    };
    if whole {
        return vec![body];
    }
    body.split(|b| *b == b'\n')
        .filter(|l| l.iter().any(|b| !b.is_ascii_whitespace()))
        .collect()
}

/// The events of one request body, dated `now` where they carry no time, in order; each
/// rejection goes to `reject(index, rejection, raw document)`. Deterministic: the journal
/// replays bodies through it.
pub fn normalise_body(
    normaliser: &Normaliser,
    format: &InputFormat,
    body: &[u8],
    now: Millis,
    mut reject: impl FnMut(usize, Rejection, &[u8]),
) -> Vec<Event> {
    let mut events = Vec::new();
    let mut out = Vec::new();
    let mut index = 0usize;
    for d in split_documents(body) {
        out.clear();
        normaliser.normalise(format, d, now, &mut out);
        let single = out.len() == 1;
        for r in out.drain(..) {
            match r {
                Ok(mut e) => {
                    e.time.get_or_insert(now);
                    events.push(e);
                }
                Err(rej) => reject(index, rej, if single { d } else { b"" }),
            }
            index += 1;
        }
    }
    events
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

/// What the live feed carries: incident updates (serialised once for every subscriber)
/// and a stats sample per tick.
#[derive(Debug, Clone)]
pub enum LiveMsg {
    Incident(Arc<IncidentUpdate>, Arc<str>),
    Stats(Arc<str>),
}

/// One point of the overview chart.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Sample {
    pub time: Millis,
    pub events: u64,
    /// Events per second since the previous sample.
    pub rate: f64,
    pub open_incidents: u64,
    pub active_alerts: u64,
}

const HISTORY: usize = 3600;

struct Core {
    engine: Engine,
    generation: u64,
    since_snapshot: usize,
    last_snapshot: std::time::Instant,
}

pub struct Shared {
    core: Mutex<Core>,
    pub normaliser: Normaliser,
    journal: Journal,
    pub cfg: ServerSection,
    /// The bearer token in force: `SITREP_API_TOKEN`, else `server.api_token`.
    pub api_token: Option<String>,
    /// Names of the configured mappings (for `/api/v1/ingest/{mapping}`).
    pub mappings: Vec<String>,
    pub live: broadcast::Sender<LiveMsg>,
    /// Requests in flight (parse → journal → fsync); full means 503.
    pub inflight: Semaphore,
    dead_letters: Mutex<Option<std::fs::File>>,
    snapshotting: AtomicBool,
    history: Mutex<VecDeque<Sample>>,
    dir: PathBuf,
}

/// Resolves once the inputs it was returned for are durable.
pub struct Durable(oneshot::Receiver<Result<(), WriteError>>);

impl Durable {
    pub async fn wait(self) -> Result<(), WriteError> {
        self.0.await.unwrap_or_else(|_| Err(WriteError::stopped()))
    }
}

pub fn now_ms() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or(0)
}

fn journal_path(dir: &Path, generation: u64) -> PathBuf {
    dir.join(format!("journal-{generation:012}"))
}

fn journal_generations(dir: &Path) -> Vec<u64> {
    let mut g: Vec<u64> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.strip_prefix("journal-")?.parse().ok())
        .collect();
    g.sort_unstable();
    g
}

/// `{"generation":G,"records":K,"engine":…}`: the engine state after the first K records of
/// journal generation G (K is 0 for snapshots written by this version).
#[derive(serde::Deserialize)]
struct SnapshotFile {
    generation: u64,
    records: u64,
    engine: Box<serde_json::value::RawValue>,
}

/// Start-up: what recovery found.
pub struct Recovered {
    pub shared: Arc<Shared>,
    pub replayed: usize,
}

impl Shared {
    /// Restores the latest snapshot and replays the journal after it.
    pub fn recover(engine_cfg: &Config, cfg: ServerSection) -> Result<Recovered, ServerError> {
        let dir = cfg.data_dir.clone();
        let io = |e: std::io::Error| ServerError::Journal {
            path: dir.display().to_string(),
            source: e,
        };
        std::fs::create_dir_all(&dir).map_err(io)?;
        let normaliser = Normaliser::new(engine_cfg)?;
        let (mut engine, first_gen, skip) = match std::fs::read(dir.join("snapshot.json")) {
            Ok(bytes) => {
                let snap: SnapshotFile = serde_json::from_slice(&bytes)
                    .map_err(|e| io(std::io::Error::other(format!("snapshot.json: {e}"))))?;
                let engine = Engine::restore(engine_cfg, snap.engine.get().as_bytes())?;
                (engine, snap.generation, snap.records)
            }
            Err(_) => (Engine::new(engine_cfg, EngineOptions::default())?, 0, 0),
        };
        let mut replayed = 0usize;
        let mut generation = first_gen;
        for g in journal_generations(&dir) {
            if g < first_gen {
                // covered by the snapshot; a crash stopped the snapshotter before deleting it
                let _ = std::fs::remove_file(journal_path(&dir, g));
                continue;
            }
            let recs = journal::read_all(&journal_path(&dir, g))?;
            let from = if g == first_gen { skip as usize } else { 0 };
            for r in recs.iter().skip(from) {
                let inputs = decode(r, &normaliser);
                if inputs.is_empty() {
                    eprintln!("journal {g}: skipping an unreadable record");
                }
                for input in &inputs {
                    let _ = apply(&mut engine, input);
                }
                replayed += 1;
            }
            generation = g;
        }
        engine.drain_updates().for_each(drop);
        let journal = Journal::open(journal_path(&dir, generation), cfg.fsync)?;
        let dead = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("dead-letters.jsonl"))
            .ok();
        let (live, _) = broadcast::channel(4096);
        let shared = Arc::new(Shared {
            core: Mutex::new(Core {
                engine,
                generation,
                since_snapshot: 0,
                last_snapshot: std::time::Instant::now(),
            }),
            normaliser,
            journal,
            inflight: Semaphore::new(cfg.max_inflight_requests.max(1)),
            api_token: std::env::var("SITREP_API_TOKEN")
                .ok()
                .filter(|t| !t.is_empty())
                .or_else(|| cfg.api_token.clone()),
            mappings: engine_cfg.mappings.keys().cloned().collect(),
            cfg,
            live,
            dead_letters: Mutex::new(dead),
            snapshotting: AtomicBool::new(false),
            history: Mutex::new(VecDeque::with_capacity(HISTORY)),
            dir,
        });
        Ok(Recovered { shared, replayed })
    }

    /// Read access to the engine (queries). Hold it briefly: ingest waits on it.
    pub fn engine(&self) -> EngineGuard<'_> {
        EngineGuard(self.core.lock().expect("engine lock"))
    }

    /// Journals and applies events and ticks, in order.
    pub fn submit(self: &Arc<Self>, inputs: Vec<Input>) -> Durable {
        debug_assert!(!inputs.iter().any(|i| matches!(i, Input::Command(_))));
        let started = std::time::Instant::now();
        let mut core = self.core.lock().expect("engine lock");
        let durable = Durable(self.journal.append(inputs.iter().map(encode).collect()));
        for input in &inputs {
            let _ = apply(&mut core.engine, input);
        }
        self.after_apply(core, inputs.len(), started);
        durable
    }

    /// Journals one request body (see [`encode_body`]) and applies the events parsed from
    /// it — the same ones a replay of the body gives.
    pub fn submit_body(
        self: &Arc<Self>,
        format: &InputFormat,
        now: Millis,
        body: &[u8],
        events: Vec<Event>,
    ) -> Durable {
        let started = std::time::Instant::now();
        let record = encode_body(format, now, body);
        let mut core = self.core.lock().expect("engine lock");
        let durable = Durable(self.journal.append(vec![record]));
        for e in &events {
            core.engine.process(e);
        }
        self.after_apply(core, events.len(), started);
        durable
    }

    /// Applies an operator command and journals it if it succeeded; a failed command
    /// changes nothing and is not journalled.
    pub fn command(self: &Arc<Self>, cmd: Command) -> Result<Durable, CommandError> {
        let started = std::time::Instant::now();
        let mut core = self.core.lock().expect("engine lock");
        core.engine.apply(&cmd)?;
        let durable = Durable(self.journal.append(vec![encode(&Input::Command(cmd))]));
        self.after_apply(core, 1, started);
        Ok(durable)
    }

    fn after_apply(
        self: &Arc<Self>,
        mut core: MutexGuard<'_, Core>,
        inputs: usize,
        started: std::time::Instant,
    ) {
        self.publish(&mut core.engine);
        core.since_snapshot += inputs;
        let due = core.since_snapshot >= self.cfg.snapshot_every
            && core.last_snapshot.elapsed()
                >= std::time::Duration::from_millis(self.cfg.snapshot_min_interval_ms);
        drop(core);
        metrics::histogram!("sitrep_processing_seconds").record(started.elapsed().as_secs_f64());
        if due && !self.snapshotting.swap(true, Ordering::AcqRel) {
            let me = self.clone();
            std::thread::spawn(move || {
                if let Err(e) = me.snapshot() {
                    // the journal still holds everything: a failed snapshot costs restart time
                    eprintln!("snapshot failed: {e}");
                }
                me.snapshotting.store(false, Ordering::Release);
            });
        }
    }

    /// Moves the engine's clock to the wall clock (journalled) and records a stats sample.
    pub fn tick(self: &Arc<Self>, now: Millis) {
        let behind = self.core.lock().expect("engine lock").engine.now() < now;
        if behind {
            drop(self.submit(vec![Input::Tick(now)]));
        }
        let (stats, open, counts) = {
            let core = self.core.lock().expect("engine lock");
            let stats = core.engine.stats();
            (stats, stats.incidents_active, core.engine.state_counts())
        };
        for (state, n) in [("open", counts.alerts_open), ("cleared", counts.alerts_cleared)] {
            metrics::gauge!("sitrep_alerts", "state" => state).set(n as f64);
        }
        for (state, n) in [
            ("open", counts.incidents_open),
            ("acknowledged", counts.incidents_acknowledged),
            ("resolved", counts.incidents_resolved),
            ("closed", counts.incidents_closed),
        ] {
            metrics::gauge!("sitrep_incidents", "state" => state).set(n as f64);
        }
        let inflight = self.cfg.max_inflight_requests.max(1) - self.inflight.available_permits();
        metrics::gauge!("sitrep_requests_in_flight").set(inflight as f64);
        metrics::gauge!("sitrep_journal_queue_records").set(self.journal.queued() as f64);
        let mut h = self.history.lock().expect("history lock");
        let rate = match h.back() {
            Some(p) if now > p.time => {
                (stats.events.saturating_sub(p.events)) as f64 * 1000.0 / (now - p.time) as f64
            }
            _ => 0.0,
        };
        let s = Sample {
            time: now,
            events: stats.events,
            rate,
            open_incidents: open,
            active_alerts: stats.alerts_active,
        };
        if h.len() == HISTORY {
            h.pop_front();
        }
        h.push_back(s);
        drop(h);
        metrics::gauge!("sitrep_alerts_active").set(stats.alerts_active as f64);
        metrics::gauge!("sitrep_incidents_active").set(open as f64);
        let json: Arc<str> = serde_json::to_string(&s).expect("sample serialises").into();
        let _ = self.live.send(LiveMsg::Stats(json));
    }

    pub fn history(&self) -> Vec<Sample> {
        self.history
            .lock()
            .expect("history lock")
            .iter()
            .copied()
            .collect()
    }

    /// Sends the engine's new updates to the live feed and counts them.
    fn publish(&self, engine: &mut Engine) {
        for u in engine.drain_updates() {
            match u {
                Update::Alert(a) => {
                    metrics::counter!("sitrep_alert_updates_total", "change" => change_name(&a.change))
                        .increment(1);
                }
                Update::Incident(i) => {
                    metrics::counter!("sitrep_incident_updates_total").increment(1);
                    if self.live.receiver_count() > 0 {
                        let json: Arc<str> = serde_json::to_string(&i).expect("update serialises").into();
                        let _ = self.live.send(LiveMsg::Incident(Arc::new(i), json));
                    }
                }
            }
        }
    }

    /// Writes a rejected input to `dead-letters.jsonl` (rotated at the configured size,
    /// one older file kept) and counts it.
    pub fn dead_letter(&self, input: &str, position: u64, code: &str, reason: &str, raw: &[u8]) {
        metrics::counter!("sitrep_events_rejected_total", "source" => input.to_string(), "reason" => code.to_string())
            .increment(1);
        let mut d = DeadLetter::new(
            input,
            position,
            &Rejection::Empty,
            raw,
            self.normaliser.limits().dead_letter_raw_bytes,
        );
        d.code = code.to_string();
        d.reason = reason.to_string();
        let mut line = serde_json::to_vec(&d).expect("dead letter serialises");
        line.push(b'\n');
        let mut f = self.dead_letters.lock().expect("dead-letter lock");
        let path = self.dir.join("dead-letters.jsonl");
        let full = f
            .as_ref()
            .and_then(|f| f.metadata().ok())
            .is_some_and(|m| m.len() + line.len() as u64 > self.cfg.dead_letter_max_bytes);
        if full {
            let _ = std::fs::rename(&path, self.dir.join("dead-letters.1.jsonl"));
            *f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .ok();
        }
        if let Some(file) = f.as_mut() {
            if let Err(e) = file.write_all(&line) {
                eprintln!("dead letters: {e}");
            }
        }
    }

    /// Writes the engine's state, atomically, as of the start of a new journal generation;
    /// then deletes the generations it covers. The engine lock is held only to serialise
    /// the state and queue the rotation; the file is written outside it. A crash at any
    /// step leaves files that recover to the same state.
    fn snapshot(&self) -> std::io::Result<()> {
        let (bytes, generation) = {
            let mut core = self.core.lock().expect("engine lock");
            let bytes = core.engine.snapshot();
            core.generation += 1;
            core.since_snapshot = 0;
            core.last_snapshot = std::time::Instant::now();
            // ordered after every append queued so far: the new file starts exactly here
            drop(self.journal.rotate(journal_path(&self.dir, core.generation)));
            (bytes, core.generation)
        };
        let started = std::time::Instant::now();
        let tmp = self.dir.join("snapshot.json.tmp");
        {
            let mut f = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
            write!(f, "{{\"generation\":{generation},\"records\":0,\"engine\":")?;
            f.write_all(&bytes)?;
            f.write_all(b"}")?;
            f.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        }
        std::fs::rename(&tmp, self.dir.join("snapshot.json"))?;
        std::fs::File::open(&self.dir)?.sync_all()?;
        for g in journal_generations(&self.dir) {
            if g < generation {
                std::fs::remove_file(journal_path(&self.dir, g))?;
            }
        }
        metrics::histogram!("sitrep_snapshot_seconds").record(started.elapsed().as_secs_f64());
        metrics::gauge!("sitrep_snapshot_bytes").set(bytes.len() as f64);
        Ok(())
    }
}

fn change_name(c: &sitrep_core::update::AlertChange) -> &'static str {
    use sitrep_core::update::AlertChange::*;
    match c {
        Created => "created",
        Deduplicated => "deduplicated",
        SeverityChanged => "severity_changed",
        Cleared => "cleared",
        Reraised => "reraised",
        Flapping => "flapping",
        Settled => "settled",
        Correlated => "correlated",
        Purged => "purged",
    }
}

fn apply(engine: &mut Engine, input: &Input) -> Result<(), CommandError> {
    match input {
        Input::Event(e) => engine.process(e),
        Input::Command(c) => engine.apply(c)?,
        Input::Tick(t) => engine.advance(*t),
    }
    Ok(())
}

pub struct EngineGuard<'a>(MutexGuard<'a, Core>);

impl std::ops::Deref for EngineGuard<'_> {
    type Target = Engine;
    fn deref(&self) -> &Engine {
        &self.0.engine
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sitrep_core::actions::Action;
    use sitrep_core::Severity;

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
