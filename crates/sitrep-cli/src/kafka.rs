//! `sitrep run` with a `[kafka]` section: a worker of the consumer group. SIGINT or SIGTERM
//! stops it after its open transaction commits; SIGKILL is what the crash tests use. With
//! `--listen`, it also takes operator actions over HTTP and sends them to the commands
//! topic, whichever worker owns the incident.

use anyhow::Result;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use sitrep_core::actions::ActionRequest;
use sitrep_core::Config;
use sitrep_kafka::replay::{Prepared, StartAt};
use sitrep_kafka::worker::CommandSender;
use sitrep_kafka::KafkaSection;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// glibc's malloc, which librdkafka allocates with (Rust code uses mimalloc), serves a
/// large block — a fetch response's buffer — from a fresh `mmap` and unmaps it on free, so
/// every fetch faulted in and zeroed new pages: 17% of a worker's CPU in a profile
/// (docs/performance.md). With a fixed threshold of 32 MiB and a high trim threshold, freed
/// blocks are kept and reused instead.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_freed_memory() {
    // SAFETY: mallopt only sets glibc allocator parameters; called before any librdkafka
    // client (and so any of its threads) exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_freed_memory() {}

pub fn run(
    engine: Config,
    instance: Option<String>,
    listen: Option<std::net::SocketAddr>,
    idle_exit_ms: Option<u64>,
    replay: Option<(String, StartAt)>,
) -> Result<()> {
    keep_freed_memory();
    let mut k = KafkaSection::from_table(&engine.kafka).map_err(anyhow::Error::msg)?;
    let mut replay_line = None;
    if let Some((name, start)) = &replay {
        k = sitrep_kafka::replay::section(&k, name)?;
        sitrep_kafka::admin::ensure_topics(&k)?;
        replay_line = Some(match sitrep_kafka::replay::prepare(&k, start)? {
            Prepared::Committed(plan) => format!(
                "replay {name}: group {}, starting at {}",
                k.group,
                plan.iter()
                    .map(|(t, p, o)| format!("{t}[{p}]@{o}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            Prepared::Resumed => format!("replay {name}: group {} resumes from its offsets", k.group),
        });
    }
    let instance = instance
        .or_else(|| std::env::var("SITREP_INSTANCE").ok())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_string())
        })
        .unwrap_or_else(|| "sitrep".into());
    let stop = Arc::new(AtomicBool::new(false));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let s = stop.clone();
    rt.spawn(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        s.store(true, Ordering::Relaxed);
    });
    if let Some(addr) = listen {
        let sender = Arc::new(CommandSender::new(&k)?);
        let listener = rt.block_on(tokio::net::TcpListener::bind(addr))?;
        println!("actions on http://{}", listener.local_addr()?);
        let token: Option<Arc<str>> = std::env::var("SITREP_API_TOKEN")
            .ok()
            .filter(|t| !t.is_empty())
            .map(Into::into);
        let app = Router::new()
            .route("/api/v1/incidents/:id/actions", post(action))
            .layer(axum::middleware::from_fn_with_state(
                token,
                sitrep_server::api::headless_api_guard,
            ))
            .route("/healthz", get(|| async { "ok" }))
            .with_state(sender);
        // small replies sent at once (see serve_http in sitrep-server: Nagle + delayed ACK)
        rt.spawn(async move { axum::serve(listener, app).tcp_nodelay(true).await });
    }
    println!(
        "kafka worker {instance}: brokers {}, group {}",
        k.brokers, k.group
    );
    if let Some(line) = replay_line {
        println!("{line}");
    }
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let idle = idle_exit_ms.map(std::time::Duration::from_millis);
    let stats = sitrep_kafka::worker::run(&k, &engine, &instance, stop, idle)?;
    println!(
        "stopped: ingested {} messages ({} events, {} dead letters, {} commands); correlated {} events ({} updates) in {:.2} s, {:.2} s from first ingest; {} restores ({} events replayed, {} ms), {} snapshots, {} aborts; commits: ingest {} ({} ms blocked), correlate {} ({} ms blocked)",
        stats.ingest.messages,
        stats.ingest.events,
        stats.ingest.dead_letters + stats.correlate.dead_letters,
        stats.ingest.commands,
        stats.correlate.events,
        stats.correlate.updates,
        stats.correlate_secs,
        stats.busy_secs,
        stats.correlate.restores,
        stats.correlate.replayed,
        stats.correlate.restore_ms,
        stats.correlate.snapshots,
        stats.ingest.aborts + stats.correlate.aborts,
        stats.ingest.commits,
        stats.ingest.commit_ms,
        stats.correlate.commits,
        stats.correlate.commit_ms,
    );
    Ok(())
}

async fn action(
    State(sender): State<Arc<CommandSender>>,
    Path(id): Path<String>,
    Json(request): Json<ActionRequest>,
) -> (StatusCode, Json<serde_json::Value>) {
    let cmd = request.into_command(id, sitrep_server::state::now_ms());
    let result = tokio::task::spawn_blocking(move || sender.send(&cmd)).await;
    match result {
        Ok(Ok(())) => (StatusCode::ACCEPTED, Json(serde_json::json!({ "queued": true }))),
        Ok(Err(e)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({ "error": e.to_string() })),
        ),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(serde_json::json!({ "error": e.to_string() })),
        ),
    }
}
