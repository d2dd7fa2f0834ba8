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
}

struct AppState {
    engine: Mutex<Engine>,
    normaliser: Normaliser,
    journal: Journal,
    max_body: usize,
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

/// Replays the journal into a fresh engine, then serves. Returns once listening.
pub async fn start(cfg: ServerConfig) -> Result<Server, ServerError> {
    std::fs::create_dir_all(&cfg.data_dir).map_err(|e| ServerError::Journal {
        path: cfg.data_dir.display().to_string(),
        source: e,
    })?;
    let path = cfg.data_dir.join("journal");
    let normaliser = Normaliser::new(&cfg.engine)?;
    let mut engine = Engine::new(&cfg.engine, EngineOptions::default())?;
    let records = journal::read_all(&path)?;
    let mut out = Vec::new();
    for r in &records {
        out.clear();
        normaliser.normalise(&InputFormat::Native, r, 0, &mut out);
        for e in out.drain(..).flatten() {
            engine.process(&e);
        }
    }
    engine.drain_updates().for_each(drop);
    let journal = Journal::open(path, cfg.fsync)?;
    let state = Arc::new(AppState {
        engine: Mutex::new(engine),
        normaliser,
        journal,
        max_body: cfg.max_body_bytes,
    });
    let app = Router::new()
        .route("/api/v1/events", post(post_events))
        .route("/api/v1/alerts", get(get_alerts))
        .route("/api/v1/incidents", get(get_incidents))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(state);
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
        replayed: records.len(),
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
        let mut engine = s.engine.lock().expect("engine lock");
        let durable = s
            .journal
            .append(accepted.iter().map(|e| e.to_native_json().into_bytes()).collect());
        for e in &accepted {
            engine.process(e);
        }
        engine.drain_updates().for_each(drop);
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

async fn get_alerts(State(s): State<Arc<AppState>>) -> Response {
    let alerts = s.engine.lock().expect("engine lock").alerts();
    Json(alerts).into_response()
}

async fn get_incidents(State(s): State<Arc<AppState>>) -> Response {
    let incidents = s.engine.lock().expect("engine lock").incidents();
    Json(incidents).into_response()
}
