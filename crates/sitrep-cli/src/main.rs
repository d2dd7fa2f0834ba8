//! The `sitrep` binary: the edge where files, threads, clocks and terminals live.
//!
//! - `replay`: run the core over a recorded stream as fast as it can ([`replay`]).
//! - `gen` / `eval`: scenarios with ground truth, and scoring a replay ([`scenario`]).
//! - `demo`: generate, replay, evaluate and print the incidents found ([`demo`]).
//! - `templates`: the log-template miner scored on LogHub samples ([`templates`]).
//! - `check-config`: parse and validate a config file.
//! - `run`: the embedded service (HTTP ingest with a durable journal; issue #3 in progress).
//!
//! Config loading (TOML plus an optional topology file) is in [`load`].

mod demo;
mod load;
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
}

#[derive(Subcommand)]
enum Command {
    /// Run the engine over a recorded stream and write updates, alerts and incidents.
    Replay(replay::ReplayArgs),
    /// Generate a scenario stream with its ground truth.
    Gen(scenario::GenArgs),
    /// Score a replay's output against a ground truth.
    Eval(scenario::EvalArgs),
    /// Generate a built-in scenario, replay it and print the incidents found.
    Demo(demo::DemoArgs),
    /// The embedded service (groundwork of issue #3): HTTP ingest with a durable journal.
    Run {
        #[arg(long)]
        config: Option<PathBuf>,
        /// Folder for the journal.
        #[arg(long, default_value = "data")]
        data: PathBuf,
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        /// Journal records between engine snapshots.
        #[arg(long, default_value_t = 100_000)]
        snapshot_every: usize,
    },
    /// Evaluate the log-template miner on the labelled LogHub samples.
    Templates(templates::TemplatesArgs),
    /// Parse and validate a config file; print the effective recipes.
    CheckConfig {
        #[arg(long)]
        config: PathBuf,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Replay(a) => replay::run(a).map(|_| ()),
        Command::Gen(a) => scenario::gen(a),
        Command::Eval(a) => scenario::eval(a).map(|_| ()),
        Command::Demo(a) => demo::run(a),
        Command::Templates(a) => templates::run(a).map(|_| ()),
        Command::Run {
            config,
            data,
            listen,
            snapshot_every,
        } => {
            let engine = load::config(config.as_deref())?;
            let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            rt.block_on(async move {
                let server = sitrep_server::start(sitrep_server::ServerConfig {
                    engine,
                    data_dir: data,
                    listen,
                    max_body_bytes: 16 << 20,
                    fsync: true,
                    snapshot_every,
                })
                .await?;
                // the first line of stdout is the address (tests and scripts read it)
                println!(
                    "listening on http://{} ({} journal records replayed)",
                    server.addr, server.replayed
                );
                tokio::signal::ctrl_c().await?;
                anyhow::Ok(())
            })
        }
        Command::CheckConfig { config } => {
            let cfg = load::config(Some(&config))?;
            sitrep_core::Engine::new(&cfg, Default::default())?;
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
