//! sitrep-server: the embedded service (`sitrep run`). One process, no Kafka: events arrive
//! over HTTP, syslog and SNMP; every input is journalled before it is acknowledged; state
//! survives kill -9; operators use a REST API and a live web UI.
//!
//! Map of the modules, from the wire inwards:
//! - [`config`]: the `[server]` section (listeners, durability, auth, traps, webhooks).
//! - [`api`]: HTTP routes — ingest, queries, actions, live feed (SSE), OpenAPI, metrics.
//! - [`otlp`]: the OTLP/HTTP logs receiver (`POST /v1/logs`, protobuf or JSON, gzip).
//! - [`listeners`]: syslog over UDP/TCP and SNMP traps over UDP.
//! - [`snmp`]: trap decoding (BER by `snmp-parser`) and the trap → event table.
//! - [`body`]: a request body → documents → events, rejections by index.
//! - [`state`]: the engine behind one lock with the journal, snapshots and live feed; the
//!   single path every input takes ([`state::Shared::submit`]; a body through
//!   [`state::Shared::ingest`]), and recovery at start.
//! - [`records`]: how an input (or a whole body) is written to the journal and read back.
//! - [`journal`]: length-prefixed records, group-commit fsync, torn-tail recovery.
//! - [`live`]: the live feed, the server's [`Sink`](sitrep_publish::Sink): metrics, the
//!   UI's event stream and webhooks' source, dead letters.
//! - [`dead_letters`]: the rotated `dead_letters.jsonl`.
//! - [`error`]: the server's error type, [`ServerError`].
//! - [`telemetry`]: every metric, named, described and emitted in one place.
//! - [`webhooks`]: outbound incident notifications with retry and idempotency keys.
//! - [`ui`]: the situation room, its assets embedded in the binary.

// Handlers answer errors as ready-made `Response`s (status, headers, JSON body): boxing
// them would only add an allocation on the error path.
#![allow(clippy::result_large_err)]

pub mod api;
pub mod body;
pub mod config;
pub mod dead_letters;
pub mod error;
pub mod journal;
pub mod listeners;
pub mod live;
pub mod otlp;
pub mod records;
pub mod snmp;
pub mod state;
pub mod telemetry;
pub mod ui;
pub mod webhooks;

pub use config::ServerSection;
pub use error::ServerError;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

/// Where each listener ended up (ports given as 0 are chosen by the OS).
#[derive(Debug, Clone)]
pub struct Bound {
    pub http: SocketAddr,
    pub syslog_udp: Option<SocketAddr>,
    pub syslog_tcp: Option<SocketAddr>,
    pub snmp: Option<SocketAddr>,
}

pub struct Server {
    pub bound: Bound,
    /// Journal records replayed at start.
    pub replayed: usize,
    /// Journal damage found at start (records lost; each stretch copied aside).
    pub damage: Vec<journal::Damage>,
    /// Why the latest snapshot was not used, if the one before it was.
    pub snapshot_fallback: Option<String>,
    pub shared: Arc<state::Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    pub fn abort(self) {
        self.task.abort();
    }

    /// An orderly stop (SIGTERM from systemd, Ctrl-C): stops accepting HTTP and writes a
    /// final snapshot, so that the next start replays nothing. Everything acknowledged is
    /// in the journal already; the snapshot only makes the restart fast. Inputs a listener
    /// journals after it land in the next generation and are replayed, as after a crash.
    pub async fn shutdown(self) -> std::io::Result<()> {
        self.task.abort();
        let shared = self.shared.clone();
        tokio::task::spawn_blocking(move || shared.final_snapshot())
            .await
            .map_err(|e| std::io::Error::other(format!("the snapshot thread died: {e}")))?
    }
}

/// The process-wide Prometheus recorder (the `metrics` facade has one global recorder).
fn metrics_handle() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let seconds = [
                0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                0.5, 1.0, 2.5, 5.0,
            ];
            PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &seconds)
                .ok()?
                .set_buckets_for_metric(
                    Matcher::Full("sitrep_journal_batch_records".into()),
                    &[1.0, 10.0, 100.0, 1000.0, 10_000.0, 100_000.0],
                )
                .ok()?
                .install_recorder()
                .ok()
                .inspect(|_| telemetry::describe())
        })
        .clone()
}

fn listen_err(addr: SocketAddr) -> impl Fn(std::io::Error) -> ServerError {
    move |e| ServerError::Listen {
        addr: addr.to_string(),
        source: e,
    }
}

/// Descriptors kept back from connections: journal, snapshot and dead-letter files, the
/// listening and UDP sockets, the runtime's epoll and event descriptors, webhook clients.
const RESERVED_DESCRIPTORS: u64 = 64;

/// How many connections each TCP listener may hold open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    pub http: usize,
    pub syslog_tcp: usize,
}

/// Shares the descriptors this process may open between its TCP listeners, so that no
/// listener's connections can take the descriptors another needs: idle syslog senders
/// must not make `/healthz` unanswerable. First the soft `RLIMIT_NOFILE` is raised to the
/// hard one, as Go's runtime and systemd's services commonly do (the soft default, 1024,
/// is there for `select(2)`, which this process does not use). Of what remains after
/// [`RESERVED_DESCRIPTORS`], syslog TCP gets at most half (less when configured lower),
/// HTTP the rest.
pub fn connection_limits(syslog_configured: Option<usize>) -> (ConnectionLimits, u64) {
    let limit = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(1024);
    let spare = usize::try_from(limit.saturating_sub(RESERVED_DESCRIPTORS))
        .unwrap_or(usize::MAX)
        .max(2);
    let syslog_tcp = syslog_configured
        .unwrap_or(listeners::MAX_TCP_CONNECTIONS)
        .clamp(1, spare / 2);
    (
        ConnectionLimits {
            http: spare - syslog_tcp,
            syslog_tcp,
        },
        limit,
    )
}

/// The HTTP accept loop. A connection must send each request head within
/// `header_timeout`; accept errors (out of file descriptors above all) are logged and
/// waited out instead of retried in a tight loop, so the process stays responsive and
/// recovers once descriptors are free. Past `max_connections` open ones, a new connection
/// is closed at once (and counted).
async fn serve_http(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    header_timeout: std::time::Duration,
    max_connections: usize,
) {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    let mut last_warning: Option<std::time::Instant> = None;
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(max_connections.max(1)));
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                listeners::accept_failed("http", &e, &mut last_warning).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            telemetry::connection_refused("http");
            drop(stream);
            continue;
        };
        // Nagle's algorithm held each small write (an SSE incident update, a short reply)
        // until the previous one was acknowledged, and the client acknowledges late (its
        // delayed-ACK timer, 40 ms on Linux): 1% of live-feed updates arrived 30–40 ms late
        // (docs/performance.md). Writes here are whole messages: send them at once.
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set");
        }
        let app = app.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                tower_service::Service::call(&mut app.clone(), req.map(axum::body::Body::new))
            });
            let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout);
            let _ = builder
                .serve_connection_with_upgrades(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Recovers state (snapshot + journal tail), then starts every configured listener, the
/// clock and the webhooks. Returns once all are listening.
pub async fn start(engine: sitrep_core::Config, cfg: ServerSection) -> Result<Server, ServerError> {
    start_with_clock(engine, cfg, None).await
}

/// [`start`], with the engine's clock driven by the caller from `driven_from` on (see
/// [`state::Shared::drive_clock`]) instead of the wall clock: set before the ticker starts,
/// so that no wall-clock tick ever reaches the engine.
pub async fn start_with_clock(
    engine: sitrep_core::Config,
    cfg: ServerSection,
    driven_from: Option<sitrep_core::time::Millis>,
) -> Result<Server, ServerError> {
    let metrics = metrics_handle();
    let mut cfg = cfg;
    let (limits, descriptors) = connection_limits(cfg.syslog.max_tcp_connections);
    if cfg.syslog.tcp.is_some()
        && cfg
            .syslog
            .max_tcp_connections
            .is_some_and(|m| m > limits.syslog_tcp)
    {
        tracing::warn!(
            descriptors,
            configured = cfg.syslog.max_tcp_connections,
            allowed = limits.syslog_tcp,
            "syslog.max_tcp_connections lowered to fit the open-file limit (RLIMIT_NOFILE)"
        );
    }
    tracing::info!(
        descriptors,
        http = limits.http,
        syslog_tcp = limits.syslog_tcp,
        "connection limits"
    );
    cfg.syslog.max_tcp_connections = Some(limits.syslog_tcp);
    let recovered = state::Shared::recover(&engine, cfg.clone())?;
    let shared = recovered.shared;
    if let Some(t) = driven_from {
        shared.drive_clock(t);
    }
    let app = api::router(shared.clone(), metrics);
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .map_err(listen_err(cfg.listen))?;
    let http = listener.local_addr().map_err(listen_err(cfg.listen))?;
    let mut bound = Bound {
        http,
        syslog_udp: None,
        syslog_tcp: None,
        snmp: None,
    };
    if let Some(a) = cfg.syslog.udp {
        bound.syslog_udp = Some(
            listeners::syslog_udp(shared.clone(), a)
                .await
                .map_err(listen_err(a))?,
        );
    }
    if let Some(a) = cfg.syslog.tcp {
        bound.syslog_tcp = Some(
            listeners::syslog_tcp(shared.clone(), a)
                .await
                .map_err(listen_err(a))?,
        );
    }
    if let Some(a) = cfg.snmp.listen {
        bound.snmp = Some(
            listeners::snmp_traps(shared.clone(), a)
                .await
                .map_err(listen_err(a))?,
        );
    }
    webhooks::spawn_all(&shared);
    let ticker = shared.clone();
    let tick = std::time::Duration::from_millis(cfg.tick_ms.max(10));
    tokio::spawn(async move {
        let mut every = tokio::time::interval_at(tokio::time::Instant::now() + tick, tick);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            every.tick().await;
            let s = ticker.clone();
            // the tick takes the engine lock: keep it off the async workers
            let _ = tokio::task::spawn_blocking(move || s.tick(s.now())).await;
        }
    });
    let header_timeout = std::time::Duration::from_secs(cfg.header_timeout_secs.max(1));
    let task = tokio::spawn(serve_http(listener, app, header_timeout, limits.http));
    Ok(Server {
        bound,
        replayed: recovered.replayed,
        damage: recovered.damage,
        snapshot_fallback: recovered.snapshot_fallback,
        shared,
        task,
    })
}
