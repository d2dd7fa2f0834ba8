//! The `sitrep` binary: the edge where files, threads, clocks and terminals live.
//!
//! - `replay`: run the core over a recorded stream as fast as it can ([`replay`]).
//! - `gen` / `eval`: scenarios with ground truth, and scoring a replay ([`scenario`]).
//! - `demo`: the server fed a built-in scenario in real time ([`live_demo`]); `--batch`
//!   generates, replays, evaluates and prints the incidents found ([`demo`]).
//! - `templates`: the log-template miner scored on LogHub samples ([`templates`]).
//! - `check-config`: parse and validate a config file.
//! - `recover`: salvage a data folder whose journal is damaged ([`recover`]).
//! - `loadgen`: the HTTP load generator of the server benchmarks ([`loadgen`]); with
//!   `--kafka`, produce → incident update latency of workers on Kafka ([`kafka_latency`]).
//! - `run`: the embedded service (`sitrep-server`): ingest, durable state, API, live UI;
//!   with a `[kafka]` section, a worker on Kafka instead ([`kafka`], `sitrep-kafka`).
//!
//! Config loading (TOML plus an optional topology file) is in [`load`].

mod ait;
mod demo;
mod kafka;
mod kafka_latency;
mod live_demo;
mod load;
mod loadgen;
mod recover;
mod replay;
mod scenario;
mod templates;

use anyhow::Result;

/// mimalloc: events are allocated on decoder threads and freed on the engine thread, the
/// pattern where glibc's allocator spends most of its time in locking and consolidation.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "sitrep",
    version,
    about = "Event correlation: monitoring events in, explained incidents out"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log lines on stderr as text (`human`) or one JSON object per line (`json`, for log
    /// shippers); also `SITREP_LOG_FORMAT`. Levels and targets come from `RUST_LOG`
    /// (default `info`).
    #[arg(long, global = true, value_enum)]
    log_format: Option<LogFormat>,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Human,
    Json,
}

/// The one tracing subscriber of the process: the libraries only emit events.
fn init_tracing(format: Option<LogFormat>) {
    use tracing_subscriber::EnvFilter;
    let format = format.unwrap_or_else(|| match std::env::var("SITREP_LOG_FORMAT").as_deref() {
        Ok("json") => LogFormat::Json,
        _ => LogFormat::Human,
    });
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Human => builder.try_init(),
    };
}

#[derive(Subcommand)]
enum Command {
    /// Run the engine over a recorded stream and write updates, alerts and incidents.
    Replay(replay::ReplayArgs),
    /// Rewrite an `updates.jsonl` in the compact form (partial alert records) with every
    /// alert record whole, for tools that expect full states.
    ExpandUpdates(replay::ExpandArgs),
    /// Generate a scenario stream with its ground truth.
    Gen(scenario::GenArgs),
    /// Score a replay's output against a ground truth.
    Eval(scenario::EvalArgs),
    /// The server with a built-in scenario fed in real time (`--batch`: replay offline and
    /// print the incidents found).
    Demo(demo::DemoArgs),
    /// The embedded service: HTTP, syslog and SNMP ingest, durable state, API and live UI.
    Run(RunArgs),
    /// HTTP load generator for the server benchmarks (throughput, incident latency,
    /// Alertmanager side by side).
    Loadgen(loadgen::LoadgenArgs),
    /// Correlate the AIT Alert Data Set (real IDS alerts) and score it beside a 60 s
    /// time-gap baseline.
    Ait(ait::AitArgs),
    /// Evaluate the log-template miner on the labelled LogHub samples.
    Templates(templates::TemplatesArgs),
    /// Salvage a data folder whose journal is damaged (what `run` asks for when it refuses
    /// to start): keep every readable record, set the damaged bytes aside, report the loss.
    Recover {
        #[arg(long)]
        config: Option<PathBuf>,
        /// The data folder (default: the config's `server.data_dir`).
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// Parse and validate a config file; print the effective recipes.
    CheckConfig {
        #[arg(long)]
        config: PathBuf,
    },
}

/// Command-line settings override the config file's `[server]` section.
#[derive(clap::Args)]
struct RunArgs {
    #[arg(long)]
    config: Option<PathBuf>,
    /// Folder for the journal, snapshots and dead letters.
    #[arg(long)]
    data: Option<PathBuf>,
    /// HTTP address (API and UI).
    #[arg(long)]
    listen: Option<std::net::SocketAddr>,
    #[arg(long)]
    syslog_udp: Option<std::net::SocketAddr>,
    #[arg(long)]
    syslog_tcp: Option<std::net::SocketAddr>,
    /// UDP address for SNMP traps.
    #[arg(long)]
    snmp: Option<std::net::SocketAddr>,
    /// Journal records between engine snapshots.
    #[arg(long)]
    snapshot_every: Option<usize>,
    #[arg(long)]
    snapshot_min_interval_ms: Option<u64>,
    /// On Kafka: this worker's stable name (transactional ids; a restarted worker with the
    /// same name fences its predecessor). Default: `SITREP_INSTANCE`, else the host name.
    #[arg(long)]
    instance: Option<String>,
    /// On Kafka: stop once both stages have been idle this long after some work
    /// (benchmarks).
    #[arg(long)]
    exit_when_idle_ms: Option<u64>,
    /// On Kafka: run as replay NAME — a fresh group and topics suffixed `.NAME`, the live
    /// pipeline untouched (try new recipes on past data; see docs/scaling.md).
    #[arg(long, value_name = "NAME")]
    replay: Option<String>,
    /// With --replay: where in the input topics to start the first time: `earliest`,
    /// `offset:N` (every partition), an RFC 3339 time or epoch milliseconds (Kafka
    /// offsets-for-times).
    #[arg(long, value_name = "START", requires = "replay", default_value = "earliest")]
    from: String,
}

fn run_server(a: RunArgs) -> Result<()> {
    let engine = load::config(a.config.as_deref())?;
    load::check_host_sections(&engine)?;
    if !engine.kafka.is_empty() {
        let replay = match a.replay {
            Some(name) => Some((name, a.from.parse().map_err(anyhow::Error::msg)?)),
            None => None,
        };
        return kafka::run(engine, a.instance, a.listen, a.exit_when_idle_ms, replay);
    }
    let mut server = sitrep_server::ServerSection::from_table(&engine.server).map_err(anyhow::Error::msg)?;
    if let Some(d) = a.data {
        server.data_dir = d;
    }
    if let Some(l) = a.listen {
        server.listen = l;
    }
    server.syslog.udp = a.syslog_udp.or(server.syslog.udp);
    server.syslog.tcp = a.syslog_tcp.or(server.syslog.tcp);
    server.snmp.listen = a.snmp.or(server.snmp.listen);
    if let Some(n) = a.snapshot_every {
        server.snapshot_every = n;
    }
    if let Some(n) = a.snapshot_min_interval_ms {
        server.snapshot_min_interval_ms = n;
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async move {
        let s = sitrep_server::start(engine, server).await?;
        print_bound(&s);
        // systemd and container runtimes stop with SIGTERM; a terminal with SIGINT
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r?,
            _ = term.recv() => {}
        }
        let alerts = s.shared.engine().alerts().len();
        s.shutdown()
            .await
            .map_err(|e| anyhow::anyhow!("final snapshot: {e}"))?;
        println!("stopped: final snapshot written ({alerts} alerts)");
        anyhow::Ok(())
    })
}

/// The first line of stdout is the HTTP address (tests and scripts read it); one line per
/// other listener follows.
pub(crate) fn print_bound(s: &sitrep_server::Server) {
    use std::io::Write;
    let b = &s.bound;
    println!(
        "listening on http://{} ({} journal records replayed)",
        b.http, s.replayed
    );
    if let Some(a) = b.syslog_udp {
        println!("syslog udp {a}");
    }
    if let Some(a) = b.syslog_tcp {
        println!("syslog tcp {a}");
    }
    if let Some(a) = b.snmp {
        println!("snmp udp {a}");
    }
    let _ = std::io::stdout().flush();
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    init_tracing(cli.log_format);
    match cli.command {
        Command::Replay(a) => replay::run(a).map(|_| ()),
        Command::ExpandUpdates(a) => replay::expand(a),
        Command::Gen(a) => scenario::gen(a),
        Command::Eval(a) => scenario::eval(a).map(|_| ()),
        Command::Demo(a) => demo::run(a),
        Command::Templates(a) => templates::run(a).map(|_| ()),
        Command::Ait(a) => ait::run(a).map(|_| ()),
        Command::Run(a) => run_server(a),
        Command::Loadgen(a) => loadgen::run(a),
        Command::Recover { config, data } => recover::run(config.as_deref(), data),
        Command::CheckConfig { config } => {
            let cfg = load::config(Some(&config))?;
            sitrep_core::Engine::new(&cfg, Default::default())?;
            // the whole file: the host sections too, not only what the core reads
            load::check_host_sections(&cfg)?;
            if !cfg.kafka.is_empty() {
                sitrep_kafka::KafkaSection::from_table(&cfg.kafka)?;
            } else {
                sitrep_server::ServerSection::from_table(&cfg.server)?;
            }
            let recipes = if cfg.correlation.recipes.is_empty() {
                sitrep_core::correlate::default_recipes(
                    !cfg.topology.nodes.is_empty() || !cfg.topology.edges.is_empty(),
                )
            } else {
                cfg.correlation.recipes.clone()
            };
            println!("{}: ok", config.display());
            for r in recipes {
                println!(
                    "  recipe {:<20} {:?} equal={:?} window={}s",
                    r.name, r.kind, r.equal, r.window_secs
                );
            }
            Ok(())
        }
    }
}
