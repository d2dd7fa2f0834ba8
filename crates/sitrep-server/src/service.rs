//! The HTTP service over one engine. Order matters for recovery: under the engine's lock an
//! accepted batch is queued to the journal and then processed, so the journal's order is
//! the processing order; the response waits for the journal's fsync before saying 202.

use crate::journal::{self, Journal};
use crate::ServerError;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use sitrep_core::{Config, Engine, EngineOptions, Event, InputFormat, Normaliser};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub engine: Config,
    /// Folder for the journal.
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// Largest request body.
    pub max_body_bytes: usize,
    /// fsync each group commit (off only for benchmarks of everything else).
    pub fsync: bool,
    /// Journal records between engine snapshots; a snapshot lets the journal behind it go,
    /// which bounds restart time and disk use.
    pub snapshot_every: usize,
}

/// What the engine lock guards: the engine and the journal position it has seen.
struct Core {
    engine: Engine,
    /// Journal generation appends go to, and how many records it holds.
    generation: u64,
    records: u64,
    since_snapshot: usize,
}

struct AppState {
    core: Mutex<Core>,
    normaliser: Normaliser,
    journal: Journal,
    max_body: usize,
    data_dir: PathBuf,
    snapshot_every: usize,
}

fn journal_path(dir: &std::path::Path, generation: u64) -> PathBuf {
    dir.join(format!("journal-{generation:012}"))
}

/// `{"generation":G,"records":K,"engine":…}`: the engine state after the first K records of
/// journal generation G.
#[derive(serde::Deserialize)]
struct SnapshotFile {
    generation: u64,
    records: u64,
    engine: Box<serde_json::value::RawValue>,
}

fn journal_generations(dir: &std::path::Path) -> Vec<u64> {
    let mut g: Vec<u64> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.strip_prefix("journal-")?.parse().ok())
        .collect();
    g.sort_unstable();
    g
}

pub struct Server {
    pub addr: SocketAddr,
    pub replayed: usize,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    pub fn abort(self) {
        self.task.abort();
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Restores the latest snapshot, replays the journal after it, then serves. Returns once
/// listening.
pub async fn start(cfg: ServerConfig) -> Result<Server, ServerError> {
    let dir = cfg.data_dir.clone();
    let io = |e: std::io::Error| ServerError::Journal {
        path: dir.display().to_string(),
        source: e,
    };
    std::fs::create_dir_all(&dir).map_err(io)?;
    let normaliser = Normaliser::new(&cfg.engine)?;
    let snapshot_path = dir.join("snapshot.json");
    let (mut engine, first_gen, skip) = match std::fs::read(&snapshot_path) {
        Ok(bytes) => {
            let snap: SnapshotFile = serde_json::from_slice(&bytes)
                .map_err(|e| io(std::io::Error::other(format!("snapshot.json: {e}"))))?;
            (
                Engine::restore(&cfg.engine, snap.engine.get().as_bytes())?,
                snap.generation,
                snap.records,
            )
        }
        Err(_) => (Engine::new(&cfg.engine, EngineOptions::default())?, 0, 0),
    };
    let mut replayed = 0usize;
    let (mut generation, mut records) = (first_gen, 0u64);
    let mut out = Vec::new();
    for g in journal_generations(&dir).into_iter().filter(|g| *g >= first_gen) {
        let recs = journal::read_all(&journal_path(&dir, g))?;
        let from = if g == first_gen { skip as usize } else { 0 };
        for r in recs.iter().skip(from) {
            out.clear();
            normaliser.normalise(&InputFormat::Native, r, 0, &mut out);
            for e in out.drain(..).flatten() {
                engine.process(&e);
            }
            replayed += 1;
        }
        (generation, records) = (g, recs.len() as u64);
    }
    engine.drain_updates().for_each(drop);
    let journal = Journal::open(journal_path(&dir, generation), cfg.fsync)?;
    let state = Arc::new(AppState {
        core: Mutex::new(Core {
            engine,
            generation,
            records,
            since_snapshot: 0,
        }),
        normaliser,
        journal,
        max_body: cfg.max_body_bytes,
        data_dir: dir.clone(),
        snapshot_every: cfg.snapshot_every.max(1),
    });
    let app = Router::new()
        .route("/api/v1/events", post(post_events))
        .route("/api/v1/alerts", get(get_alerts))
        .route("/api/v1/incidents", get(get_incidents))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(state);
    let records = replayed;
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .map_err(|e| ServerError::Listen {
            addr: cfg.listen.to_string(),
            source: e,
        })?;
    let addr = listener.local_addr().map_err(|e| ServerError::Listen {
        addr: cfg.listen.to_string(),
        source: e,
    })?;
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(Server {
        addr,
        replayed: records,
        task,
    })
}

#[derive(Serialize)]
struct Rejected {
    index: usize,
    code: String,
    reason: String,
}

#[derive(Serialize)]
struct IngestReply {
    accepted: usize,
    rejected: Vec<Rejected>,
}

async fn post_events(State(s): State<Arc<AppState>>, body: Bytes) -> Response {
    if body.len() > s.max_body {
        let msg = format!("body of {} bytes is over the limit of {}", body.len(), s.max_body);
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            Json(serde_json::json!({ "error": msg })),
        )
            .into_response();
    }
    // An array or a single object is one document; anything else is JSON lines.
    let first = body.iter().find(|b| !b.is_ascii_whitespace()).copied();
    let docs: Vec<&[u8]> = match first {
        Some(b'[') => vec![&body[..]],
        _ => body
            .split(|b| *b == b'\n')
            .filter(|l| l.iter().any(|b| !b.is_ascii_whitespace()))
            .collect(),
    };
    let mut accepted: Vec<Event> = Vec::new();
    let mut rejected = Vec::new();
    let mut out = Vec::new();
    let mut index = 0usize;
    let now = now_ms();
    for d in docs {
        out.clear();
        s.normaliser.normalise(&InputFormat::Native, d, now, &mut out);
        for r in out.drain(..) {
            match r {
                Ok(mut e) => {
                    // the edge dates events without a time, so that a replay agrees
                    e.time.get_or_insert(now);
                    accepted.push(e);
                }
                Err(rej) => rejected.push(Rejected {
                    index,
                    code: rej.code().into(),
                    reason: rej.to_string(),
                }),
            }
            index += 1;
        }
    }
    let durable = {
        let mut core = s.core.lock().expect("engine lock");
        let durable = s
            .journal
            .append(accepted.iter().map(|e| e.to_native_json().into_bytes()).collect());
        for e in &accepted {
            core.engine.process(e);
        }
        core.engine.drain_updates().for_each(drop);
        core.records += accepted.len() as u64;
        core.since_snapshot += accepted.len();
        if core.since_snapshot >= s.snapshot_every {
            if let Err(e) = snapshot(&s, &mut core) {
                // the journal still holds everything: a failed snapshot only costs restart time
                eprintln!("snapshot failed: {e}");
            }
        }
        durable
    };
    match durable.await {
        Ok(Ok(())) => {}
        _ => {
            let msg = "journal write failed: nothing in this request is acknowledged";
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({ "error": msg })),
            )
                .into_response();
        }
    }
    let status = if rejected.is_empty() {
        StatusCode::ACCEPTED
    } else {
        StatusCode::BAD_REQUEST
    };
    (
        status,
        Json(IngestReply {
            accepted: accepted.len(),
            rejected,
        }),
    )
        .into_response()
}

/// Writes the engine's state (atomically: temporary file, fsync, rename) with the journal
/// position it covers, then moves appends to the next journal generation and deletes the
/// covered one. A crash at any point leaves a snapshot and journal files that replay to
/// the same state. Runs under the engine lock (a pause; acceptable at this stage).
fn snapshot(s: &AppState, core: &mut Core) -> std::io::Result<()> {
    let mut bytes = format!(
        "{{\"generation\":{},\"records\":{},\"engine\":",
        core.generation, core.records
    )
    .into_bytes();
    bytes.extend_from_slice(&core.engine.snapshot());
    bytes.push(b'}');
    let tmp = s.data_dir.join("snapshot.json.tmp");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, s.data_dir.join("snapshot.json"))?;
    std::fs::File::open(&s.data_dir)?.sync_all()?;
    core.generation += 1;
    core.records = 0;
    core.since_snapshot = 0;
    // ordered after every append queued so far; its completion needs no waiting here
    drop(s.journal.rotate(journal_path(&s.data_dir, core.generation)));
    Ok(())
}

async fn get_alerts(State(s): State<Arc<AppState>>) -> Response {
    let alerts = s.core.lock().expect("engine lock").engine.alerts();
    Json(alerts).into_response()
}

async fn get_incidents(State(s): State<Arc<AppState>>) -> Response {
    let incidents = s.core.lock().expect("engine lock").engine.incidents();
    Json(incidents).into_response()
}
