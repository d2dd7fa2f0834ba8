//! The engine behind one lock, and everything that must stay in step with it: the journal,
//! snapshots, the live feed, dead letters and the overview's history.
//!
//! Order is the recovery argument. Under the engine lock an input is encoded and queued to
//! the journal, then applied; so the journal's order is the processing order, and replaying
//! it (after the latest snapshot) rebuilds exactly the state the service had. Every source
//! — HTTP, syslog, SNMP, operator commands, the clock's ticks — goes through [`Shared::submit`].

use crate::body::normalise_body;
use crate::config::ServerSection;
use crate::dead_letters::DeadLetterFile;
use crate::error::ServerError;
use crate::journal::{self, Journal, OnDamage, WriteError};
use crate::live::{LiveFeed, LiveMsg};
use crate::records::{decode, encode, encode_body};
use crate::telemetry;
use serde::Serialize;
use sitrep_core::actions::{Command, CommandError};
use sitrep_core::time::Millis;
use sitrep_core::{Config, DeadLetter, Engine, EngineOptions, Event, Input, InputFormat, Normaliser};
use sitrep_publish::Sink;
use std::collections::VecDeque;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::{oneshot, Semaphore};

/// One point of the overview chart.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Sample {
    pub time: Millis,
    pub events: u64,
    /// Events per second since the previous sample.
    pub rate: f64,
    /// Open or acknowledged incidents (what an operator calls open).
    pub open_incidents: u64,
    /// Resolved (within the reopen grace) and closed incidents not yet purged.
    pub resolved_incidents: u64,
    pub closed_incidents: u64,
    /// Raised alerts (not cleared).
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
    /// Where updates and dead letters go (the UI's event stream, webhooks, the dead-letter
    /// file).
    pub feed: LiveFeed,
    /// Requests in flight (parse → journal → fsync); full means 503.
    pub inflight: Semaphore,
    snapshotting: AtomicBool,
    /// Journal generation of the state in `snapshot.json`.
    snapshot_generation: std::sync::atomic::AtomicU64,
    history: Mutex<VecDeque<Sample>>,
    dir: PathBuf,
    /// The engine's clock when a feeder drives it (the live demo's scenario time); 0 = the
    /// wall clock. See [`Shared::now`].
    driven_clock: std::sync::atomic::AtomicI64,
    /// What a built-in feeder (the live demo) reports of itself, for `/api/v1/stats` and the UI.
    feed_status: Mutex<Option<FeedStatus>>,
}

/// A built-in feeder's progress, as `/api/v1/stats` shows it under `feed`.
#[derive(Debug, Clone, Serialize)]
pub struct FeedStatus {
    /// What is being fed (`scenario telco, seed 42`).
    pub name: String,
    /// Scenario seconds per wall-clock second.
    pub speed: f64,
    pub fed: u64,
    pub total: u64,
    /// Every event has been fed; nothing more will come from it.
    pub ended: bool,
}

/// A request body's outcome: events accepted (durable once `durable` resolves; `None` when
/// there were none) and each rejected document.
pub struct Ingested {
    pub accepted: usize,
    pub rejected: Vec<Rejected>,
    pub durable: Option<Durable>,
}

/// One rejected document of a request body, as the client is told.
#[derive(Debug, Clone, Serialize)]
pub struct Rejected {
    pub index: usize,
    pub code: String,
    pub reason: String,
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
    /// Stretches of the journal that did not read (their records are lost; each was copied
    /// aside and logged).
    pub damage: Vec<journal::Damage>,
    /// Why the latest snapshot was not used, when the one before it was.
    pub snapshot_fallback: Option<String>,
}

/// A snapshot file's engine and where in the journal it stands.
fn load_snapshot(engine_cfg: &Config, path: &Path) -> Result<Option<(Engine, u64, u64)>, String> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let (generation, records, engine) = match split_snapshot_file(&bytes) {
        Some(parts) => parts,
        None => {
            let snap: SnapshotFile =
                serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
            let engine = Engine::restore(engine_cfg, snap.engine.get().as_bytes())
                .map_err(|e| format!("{}: {e}", path.display()))?;
            return Ok(Some((engine, snap.generation, snap.records)));
        }
    };
    let engine = Engine::restore(engine_cfg, engine).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Some((engine, generation, records)))
}

/// The file as this version writes it, split without a JSON pass over the engine's part
/// (which [`Engine::restore`] parses, and so checks, anyway: a second pass over a few
/// hundred megabytes cost a tenth of a restart). Anything else — another key order, spaces
/// — returns `None` and goes through the JSON reader.
fn split_snapshot_file(bytes: &[u8]) -> Option<(u64, u64, &[u8])> {
    fn number<'a>(rest: &'a [u8], key: &[u8]) -> Option<(u64, &'a [u8])> {
        let rest = rest.strip_prefix(key)?;
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        let n = std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()?;
        Some((n, &rest[digits..]))
    }
    let (generation, rest) = number(bytes, b"{\"generation\":")?;
    let (records, rest) = number(rest, b",\"records\":")?;
    let engine = rest.strip_prefix(b",\"engine\":")?.strip_suffix(b"}")?;
    Some((generation, records, engine))
}

impl Shared {
    /// Restores the latest snapshot (or, if it is unreadable, the one before it) and replays
    /// the journal after it, then starts a new journal generation: nothing is ever appended
    /// to a file that recovery found damaged.
    pub fn recover(engine_cfg: &Config, cfg: ServerSection) -> Result<Recovered, ServerError> {
        Shared::recover_with(engine_cfg, cfg, OnDamage::Refuse)
    }

    /// `sitrep recover`: recovery that salvages past damage between journal records (each
    /// stretch copied aside and returned), followed by a snapshot, so that the next start
    /// no longer reads the damaged file. The returned server state is not serving.
    pub fn salvage(engine_cfg: &Config, cfg: ServerSection) -> Result<Recovered, ServerError> {
        let r = Shared::recover_with(engine_cfg, cfg, OnDamage::Salvage)?;
        r.shared.snapshot().map_err(|e| ServerError::Journal {
            path: r.shared.dir.join("snapshot.json").display().to_string(),
            source: e,
        })?;
        Ok(r)
    }

    fn recover_with(
        engine_cfg: &Config,
        cfg: ServerSection,
        on_damage: OnDamage,
    ) -> Result<Recovered, ServerError> {
        let dir = cfg.data_dir.clone();
        let io = |e: std::io::Error| ServerError::Journal {
            path: dir.display().to_string(),
            source: e,
        };
        std::fs::create_dir_all(&dir).map_err(io)?;
        let normaliser = Normaliser::new(engine_cfg)?;
        let generations = journal_generations(&dir);
        let mut snapshot_fallback = None;
        let latest = dir.join("snapshot.json");
        let previous = dir.join("snapshot.1.json");
        // without any snapshot the journal alone will do only if it is whole from the start
        let journal_whole = generations.first().is_none_or(|g| *g == 0);
        let loaded = match load_snapshot(engine_cfg, &latest) {
            Ok(Some(s)) => Some(s),
            Ok(None) => match load_snapshot(engine_cfg, &previous) {
                Ok(Some(s)) => {
                    // a crash between a snapshot's renames cannot cause this (snapshot.json
                    // is there throughout), but a hand-deleted file can
                    tracing::error!("snapshot.json is missing; recovering from snapshot.1.json");
                    snapshot_fallback = Some("snapshot.json is missing".to_string());
                    Some(s)
                }
                Ok(None) if journal_whole => None,
                Ok(None) => {
                    return Err(io(std::io::Error::other(format!(
                        "no snapshot, and the journal starts at generation {}, not 0: the state before it is missing",
                        generations[0]
                    ))))
                }
                Err(older) => return Err(io(std::io::Error::other(older))),
            },
            Err(why) => {
                tracing::error!(problem = %why, "the latest snapshot is unreadable; trying the one before it");
                let fallback = match load_snapshot(engine_cfg, &previous) {
                    Ok(Some(s)) => Some(s),
                    Ok(None) if journal_whole => None,
                    Ok(None) => {
                        return Err(io(std::io::Error::other(format!(
                            "{why}; no older snapshot (snapshot.1.json) and the journal does not reach back to the start: move snapshot.json aside to start from the journal alone, accepting the loss"
                        ))))
                    }
                    Err(older) => return Err(io(std::io::Error::other(format!("{why}; and {older}")))),
                };
                // only now that the fallback loaded: kept for whoever investigates, and out
                // of the way of the next rotation
                let aside = dir.join(format!("damaged-snapshot-{}.json", now_ms()));
                std::fs::rename(&latest, &aside).map_err(io)?;
                snapshot_fallback = Some(why);
                fallback
            }
        };
        let (mut engine, first_gen, skip) = match loaded {
            Some(s) => s,
            None => (Engine::new(engine_cfg, EngineOptions::default())?, 0, 0),
        };
        let mut replayed = 0usize;
        let mut damage = Vec::new();
        for &g in generations.iter().filter(|g| **g >= first_gen) {
            let file = journal::read_all(&journal_path(&dir, g), on_damage)?;
            damage.extend(file.damage);
            let from = if g == first_gen { skip as usize } else { 0 };
            for r in file.records.iter().skip(from) {
                let inputs = decode(r, &normaliser);
                if inputs.is_empty() {
                    // checksummed, so not damage: a record this build cannot read
                    tracing::error!(
                        generation = g,
                        "journal: a record this version cannot read was skipped"
                    );
                    telemetry::journal_unreadable_record();
                }
                for input in &inputs {
                    // a journalled command was applied once already: it applies again
                    let _ = engine.apply(input);
                }
                replayed += 1;
            }
        }
        // a generation no file has yet: a fresh folder starts at 0, so that a journal without
        // any snapshot is whole exactly when it starts at generation 0
        let generation = generations.last().map_or(first_gen, |g| (*g).max(first_gen) + 1);
        engine.drain_updates().for_each(drop);
        let journal = Journal::open(journal_path(&dir, generation), cfg.fsync)?;
        let dead = DeadLetterFile::open(&dir, cfg.dead_letter_max_bytes);
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
            feed: LiveFeed::new(dead),
            snapshotting: AtomicBool::new(false),
            snapshot_generation: std::sync::atomic::AtomicU64::new(first_gen),
            history: Mutex::new(VecDeque::with_capacity(HISTORY)),
            dir,
            driven_clock: std::sync::atomic::AtomicI64::new(0),
            feed_status: Mutex::new(None),
        });
        Ok(Recovered {
            shared,
            replayed,
            damage,
            snapshot_fallback,
        })
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
            let _ = core.engine.apply(input);
        }
        self.after_apply(core, inputs.len(), started);
        durable
    }

    /// One request body in: its events journalled (as the body) and applied, its rejections
    /// dead-lettered and counted. What the HTTP handler answers from.
    pub fn ingest(
        self: &Arc<Self>,
        format: &InputFormat,
        source: &str,
        body: &[u8],
        now: Millis,
    ) -> Ingested {
        let mut rejected = Vec::new();
        let events = normalise_body(&self.normaliser, format, body, now, |index, rej, raw| {
            let d = DeadLetter::new(source, index as u64, &rej, raw, self.raw_limit());
            self.dead_letter(d);
            rejected.push(Rejected {
                index,
                code: rej.code().into(),
                reason: rej.to_string(),
            });
        });
        let accepted = events.len();
        telemetry::events_received(source, accepted as u64);
        let durable = (accepted > 0).then(|| self.submit_body(format, now, body, events));
        Ingested {
            accepted,
            rejected,
            durable,
        }
    }

    /// Events built by the listeners (syslog, SNMP): dated `now` where undated, journalled,
    /// applied.
    pub fn submit_events(self: &Arc<Self>, events: Vec<Event>, now: Millis) -> Durable {
        self.submit(
            events
                .into_iter()
                .map(|mut e| {
                    e.time.get_or_insert(now);
                    Input::Event(e)
                })
                .collect(),
        )
    }

    /// Journals one request body (see [`encode_body`]) and applies the events parsed from
    /// it — the same ones a replay of the body gives.
    fn submit_body(
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
        let before = core.engine.now();
        if let Err(e) = core.engine.command(&cmd) {
            // a refused command for a known incident still moved the clock (firing timers):
            // journal that move, or a replay would fire them later than this run did
            let after = core.engine.now();
            if after > before {
                drop(self.journal.append(vec![encode(&Input::Tick(after))]));
                self.after_apply(core, 1, started);
            }
            return Err(e);
        }
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
        telemetry::processed(started.elapsed().as_secs_f64());
        if due && !self.snapshotting.swap(true, Ordering::AcqRel) {
            let me = self.clone();
            std::thread::spawn(move || {
                if let Err(e) = me.snapshot() {
                    // the journal still holds everything: a failed snapshot costs restart time
                    tracing::error!(error = %e, "snapshot failed");
                    telemetry::snapshot_failed();
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
        let inflight = self.cfg.max_inflight_requests.max(1) - self.inflight.available_permits();
        telemetry::state_sample(&counts, &stats, open, inflight, self.journal.queued());
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
            resolved_incidents: stats.incidents_resolved,
            closed_incidents: stats.incidents_closed,
            active_alerts: stats.alerts_active,
        };
        if h.len() == HISTORY {
            h.pop_front();
        }
        h.push_back(s);
        drop(h);
        let json: Arc<str> = serde_json::to_string(&s).expect("sample serialises").into();
        let _ = self.feed.live.send(LiveMsg::Stats(json));
    }

    /// The time every input is stamped with and the ticker moves the engine to: the wall
    /// clock, unless a feeder drives it ([`Shared::drive_clock`]).
    pub fn now(&self) -> Millis {
        match self.driven_clock.load(Ordering::Acquire) {
            0 => now_ms(),
            t => t,
        }
    }

    /// Hands the clock to a feeder from now on: the live demo moves it in scenario time,
    /// only ever after feeding every event up to it, so that the engine's windows and
    /// timers see the scenario's own time (as a batch replay does) and no tick overtakes an
    /// event still to be fed. Never moves backwards.
    pub fn drive_clock(&self, t: Millis) {
        self.driven_clock.fetch_max(t.max(1), Ordering::AcqRel);
    }

    /// The latest journal write failed: inputs are being refused (see `/readyz`).
    pub fn journal_failing(&self) -> bool {
        self.journal.failing()
    }

    pub fn set_feed_status(&self, status: FeedStatus) {
        *self.feed_status.lock().expect("feed status lock") = Some(status);
    }

    pub fn feed_status(&self) -> Option<FeedStatus> {
        self.feed_status.lock().expect("feed status lock").clone()
    }

    pub fn history(&self) -> Vec<Sample> {
        self.history
            .lock()
            .expect("history lock")
            .iter()
            .copied()
            .collect()
    }

    /// Sends the engine's new updates to the live feed.
    fn publish(&self, engine: &mut Engine) {
        // the feed cannot fail (see LiveFeed): nothing to report
        let _ = (&self.feed).write_updates(&mut engine.drain_updates());
    }

    /// Writes a rejected input to the dead letters and counts it.
    pub fn dead_letter(&self, d: DeadLetter) {
        let _ = (&self.feed).write_dead_letters(std::slice::from_ref(&d));
    }

    /// How much of a rejected input a dead letter keeps (`limits.dead_letter_raw_bytes`).
    pub fn raw_limit(&self) -> usize {
        self.normaliser.limits().dead_letter_raw_bytes
    }

    /// The snapshot of an orderly stop; nothing to write when nothing was journalled since
    /// the last one.
    pub fn final_snapshot(&self) -> std::io::Result<()> {
        if self.core.lock().expect("engine lock").since_snapshot == 0 {
            return Ok(());
        }
        self.snapshot()
    }

    /// Writes the engine's state, atomically, as of the start of a new journal generation;
    /// then deletes the generations it covers. The engine lock is held only to take a
    /// copy-on-write view of the state and queue the rotation; the view is encoded and the
    /// file written outside it. A crash at any
    /// step leaves files that recover to the same state.
    fn snapshot(&self) -> std::io::Result<()> {
        let (view, generation, rotated) = {
            let mut core = self.core.lock().expect("engine lock");
            let held = std::time::Instant::now();
            // a copy-on-write view: ingest waits for the copy (milliseconds), not for the
            // encoding below (about a second per million alerts)
            let view = core.engine.snapshot_view();
            telemetry::snapshot_paused(held.elapsed().as_secs_f64());
            core.generation += 1;
            core.since_snapshot = 0;
            core.last_snapshot = std::time::Instant::now();
            // ordered after every append queued so far: the new file starts exactly here
            let rotated = self.journal.rotate(journal_path(&self.dir, core.generation));
            (view, core.generation, rotated)
        };
        let bytes = view.encode();
        drop(view);
        // a snapshot that says "generation G" while appends still go to an older file would
        // make recovery skip them: without the rotation there is no snapshot
        match rotated.blocking_recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(std::io::Error::other(e.to_string())),
            Err(_) => return Err(std::io::Error::other("journal writer stopped")),
        }
        let started = std::time::Instant::now();
        let tmp = self.dir.join("snapshot.json.tmp");
        {
            let mut f = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
            write!(f, "{{\"generation\":{generation},\"records\":0,\"engine\":")?;
            f.write_all(&bytes)?;
            f.write_all(b"}")?;
            f.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        }
        // the previous snapshot stays as snapshot.1.json, with the journals after it, so an
        // unreadable snapshot.json costs nothing: recovery falls back to the one before
        // snapshot.json exists at every step: the old one is linked as snapshot.1.json
        // before the new one replaces it
        let latest = self.dir.join("snapshot.json");
        let had_latest = latest.exists();
        if had_latest {
            let link = self.dir.join("snapshot.1.json.tmp");
            let _ = std::fs::remove_file(&link);
            std::fs::hard_link(&latest, &link)?;
            std::fs::rename(&link, self.dir.join("snapshot.1.json"))?;
        }
        std::fs::rename(&tmp, &latest)?;
        std::fs::File::open(&self.dir)?.sync_all()?;
        let previous = if had_latest {
            self.snapshot_generation.load(Ordering::Acquire)
        } else {
            0
        };
        self.snapshot_generation.store(generation, Ordering::Release);
        for g in journal_generations(&self.dir) {
            if g < previous {
                std::fs::remove_file(journal_path(&self.dir, g))?;
            }
        }
        telemetry::snapshot_written(started.elapsed().as_secs_f64(), bytes.len());
        Ok(())
    }
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
    use sitrep_core::Severity;

    async fn submit_alerts(s: &Arc<Shared>, from: usize, to: usize) {
        let events = (from..to)
            .map(|i| Event {
                source: format!("h{i}").into(),
                check: "disk".into(),
                severity: Severity::Major,
                time: Some(1_700_000_000_000 + i as i64),
                ..Event::default()
            })
            .collect();
        s.submit_events(events, 0).wait().await.unwrap();
    }

    #[test]
    fn the_snapshot_file_splits_without_parsing_the_engine_part() {
        let f = br#"{"generation":12,"records":0,"engine":{"format":3}}"#;
        assert_eq!(split_snapshot_file(f), Some((12, 0, &br#"{"format":3}"#[..])));
        // another writer's spelling goes through the JSON reader instead
        assert_eq!(
            split_snapshot_file(br#"{ "generation": 12, "records": 0, "engine": {}}"#),
            None
        );
        assert_eq!(
            split_snapshot_file(br#"{"records":0,"generation":12,"engine":{}}"#),
            None
        );
        // a file cut short is not split (and then fails the JSON reader, saying so)
        assert_eq!(
            split_snapshot_file(br#"{"generation":12,"records":0,"engine":{"format":3"#),
            None
        );
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("snapshot.json");
        std::fs::write(&p, br#"{"generation":12,"records":0,"engine":{"format":3"#).unwrap();
        assert!(load_snapshot(&Config::default(), &p).is_err());
    }

    /// The snapshotter runs on its own thread (it waits for the journal's rotation).
    async fn snapshot(s: &Arc<Shared>) {
        let s = s.clone();
        tokio::task::spawn_blocking(move || s.snapshot())
            .await
            .unwrap()
            .unwrap();
    }

    /// A command refused for a known incident moved the engine's clock; a recovery from the
    /// journal reaches the same state (the clock move is journalled as a tick).
    #[tokio::test]
    async fn a_refused_command_leaves_the_journal_in_step_with_the_engine() {
        let d = tempfile::tempdir().unwrap();
        let cfg = ServerSection {
            data_dir: d.path().to_path_buf(),
            ..ServerSection::default()
        };
        let engine_cfg = Config::default();
        let s = Shared::recover(&engine_cfg, cfg.clone()).unwrap().shared;
        let t0 = 1_700_000_000_000i64;
        let events = (0..3)
            .map(|i| Event {
                source: format!("web-{i}").into(),
                check: "http_5xx".into(),
                service: Some("shop".into()),
                severity: Severity::Major,
                time: Some(t0 + i),
                ..Event::default()
            })
            .collect();
        s.submit_events(events, 0).wait().await.unwrap();
        let id = s.engine().incidents()[0].summary.id.to_string();
        let command = |action, time| Command {
            incident: id.clone(),
            by: "ann".into(),
            time,
            action,
        };
        s.command(command(sitrep_core::actions::Action::Resolve, t0 + 10))
            .unwrap()
            .wait()
            .await
            .unwrap();
        // an hour later: resolving again is refused, but the clock moved and the incident closed
        let later = t0 + 3_600_000;
        assert!(s
            .command(command(sitrep_core::actions::Action::Resolve, later))
            .is_err());
        let now = s.engine().now();
        let incidents = s.engine().incidents();
        assert_eq!(now, later);
        // let the journal writer finish before reading the journal
        s.submit(Vec::new()).wait().await.unwrap();
        drop(s);
        let back = Shared::recover(&engine_cfg, cfg).unwrap().shared;
        let engine = back.engine();
        assert_eq!(engine.now(), now);
        assert_eq!(engine.incidents(), incidents);
    }

    #[tokio::test]
    async fn an_unreadable_snapshot_falls_back_to_the_one_before_it() {
        let d = tempfile::tempdir().unwrap();
        let cfg = ServerSection {
            data_dir: d.path().to_path_buf(),
            ..ServerSection::default()
        };
        let engine_cfg = Config::default();
        let s = Shared::recover(&engine_cfg, cfg.clone()).unwrap().shared;
        submit_alerts(&s, 0, 10).await;
        snapshot(&s).await;
        submit_alerts(&s, 10, 20).await;
        snapshot(&s).await;
        submit_alerts(&s, 20, 30).await;
        let want = s.engine().alerts();
        assert_eq!(want.len(), 30);
        drop(s);
        // the latest snapshot is damaged on disk
        let latest = d.path().join("snapshot.json");
        let mut bytes = std::fs::read(&latest).unwrap();
        bytes.truncate(bytes.len() / 2);
        std::fs::write(&latest, bytes).unwrap();
        let r = Shared::recover(&engine_cfg, cfg.clone()).unwrap();
        assert!(r.snapshot_fallback.as_deref().unwrap().contains("snapshot.json"));
        assert!(r.damage.is_empty());
        assert_eq!(r.shared.engine().alerts(), want, "nothing lost");
        // the damaged file is kept aside, and the next start is clean
        assert!(std::fs::read_dir(d.path()).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with("damaged-snapshot-")));
        snapshot(&r.shared).await;
        drop(r);
        let again = Shared::recover(&engine_cfg, cfg.clone()).unwrap();
        assert!(again.snapshot_fallback.is_none());
        assert_eq!(again.shared.engine().alerts(), want);
        drop(again);
        // a missing snapshot.json is never "start from nothing" while an older one exists
        std::fs::remove_file(&latest).unwrap();
        let r = Shared::recover(&engine_cfg, cfg).unwrap();
        assert_eq!(r.snapshot_fallback.as_deref(), Some("snapshot.json is missing"));
        assert_eq!(r.shared.engine().alerts(), want);
    }
}
