//! `sitrep replay`: the core over a recorded stream, as fast as the machine allows. Records
//! are decoded on worker threads (in input order); the engine runs on this thread and
//! writes updates as it goes.

use crate::load;
use anyhow::{Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sitrep_core::compact::AlertUpdateForm;
use sitrep_core::update::EngineStats;
use sitrep_core::{Engine, EngineOptions, InputFormat, Normaliser};
use sitrep_ingest::{FileSource, ParallelDecoder};
use sitrep_publish::{BackgroundSink, JsonlDirSink, Sink};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Args, Clone)]
pub struct ReplayArgs {
    /// Input file, or `-` for stdin.
    #[arg(long)]
    pub input: String,
    /// Config file (TOML); defaults apply without one.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Output folder: updates.jsonl, alerts.jsonl, incidents.jsonl, dead_letters.jsonl.
    #[arg(long)]
    pub out: PathBuf,
    /// native, alertmanager, syslog or mapping:NAME.
    #[arg(long, default_value = "native")]
    pub format: InputFormat,
    /// Decoder threads (default: the machine's cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Partition number in alert and incident ids.
    #[arg(long, default_value_t = 0)]
    pub partition: u32,
    /// Reference time (RFC 3339) for year-less syslog stamps; default now.
    #[arg(long)]
    pub reference_time: Option<String>,
    /// Bytes per read chunk.
    #[arg(long, default_value_t = 4 << 20)]
    pub chunk_bytes: usize,
    /// No summary on stderr.
    #[arg(long)]
    pub quiet: bool,
    /// Only read and decode the input (no engine, no output): the parsing limit that the
    /// replay's throughput is compared with in docs/performance.md.
    #[arg(long)]
    pub parse_only: bool,
    /// How alert changes are written to updates.jsonl: `compact` (a full state on creation
    /// and at an alert's first change in every `--full-state-secs` of event time, the changing
    /// fields only in between: docs/schema.md) or `full` (every record a full state).
    #[arg(long, value_enum, default_value_t = UpdatesForm::Compact)]
    pub updates: UpdatesForm,
    /// In the compact form, the period (event time) at whose first change an alert's full
    /// state is written again.
    #[arg(long, default_value_t = 3600)]
    pub full_state_secs: u64,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdatesForm {
    Compact,
    Full,
}

pub struct ReplayOutcome {
    pub stats: EngineStats,
    pub seconds: f64,
}

/// `mi_option_purge_delay` in mimalloc v3's `mimalloc.h` (the bindings name no constant).
const MI_OPTION_PURGE_DELAY: i32 = 15;

/// A replay is a batch job: keep freed memory instead of purging it back to the OS. With
/// the default 10 ms delay mimalloc returns huge pages that the next chunk faults in again,
/// and the kernel's zeroing of those pages was a fifth of the replay's CPU time
/// (docs/performance.md). The cost is that RSS stays at its peak until the process exits.
fn keep_freed_memory() {
    // SAFETY: sets a process-wide allocator option; any value is valid for this option.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
}

pub fn run(a: ReplayArgs) -> Result<ReplayOutcome> {
    keep_freed_memory();
    let cfg = load::config(a.config.as_deref())?;
    let normaliser = Normaliser::new(&cfg)?;
    let mut engine = Engine::new(
        &cfg,
        EngineOptions {
            partition: a.partition,
        },
    )?;
    engine.set_json_output_form(Some(match a.updates {
        UpdatesForm::Full => AlertUpdateForm::Full,
        UpdatesForm::Compact => AlertUpdateForm::Compact {
            full_state_every: (a.full_state_secs as i64).saturating_mul(1000),
        },
    }));
    let reference_time = match &a.reference_time {
        Some(s) => sitrep_core::time::parse_rfc3339(s).context("--reference-time must be RFC 3339")?,
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis() as i64,
    };
    let source = FileSource::open(&a.input, a.chunk_bytes)?;
    let size = sitrep_ingest::Source::size_hint(&source);
    let threads = a
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let mut decoder = ParallelDecoder::spawn(
        Box::new(source),
        normaliser,
        a.format.clone(),
        threads,
        reference_time,
    );
    let mut sink = BackgroundSink::spawn(JsonlDirSink::create(&a.out)?, 8);

    let bar = if std::io::stderr().is_terminal() && !a.quiet {
        let b = ProgressBar::with_draw_target(size, ProgressDrawTarget::stderr());
        b.set_style(
            ProgressStyle::with_template(
                "{spinner} {bytes}/{total_bytes} [{bar:30}] {binary_bytes_per_sec} {msg}",
            )
            .expect("template")
            .progress_chars("=> "),
        );
        b
    } else {
        ProgressBar::hidden()
    };
    let started = Instant::now();
    let mut records = 0;
    let mut parsed = 0u64;
    while let Some(chunk) = decoder.next_chunk()? {
        if a.parse_only {
            records += chunk.records;
            parsed += chunk.events.len() as u64;
            bar.inc(chunk.bytes);
            decoder.recycle(chunk);
            continue;
        }
        for e in &chunk.events {
            engine.process(e);
        }
        // encoded here, rendered as JSON on the writer's thread
        let mut encoded = sink.buffer();
        engine.take_encoded_updates(&mut encoded);
        sink.send_encoded(encoded)?;
        sink.write_dead_letters(&chunk.dead_letters)?;
        records += chunk.records;
        bar.inc(chunk.bytes);
        bar.set_message(format!("{records} records"));
        decoder.recycle(chunk);
    }
    let sink = sink.finish()?;
    bar.finish_and_clear();
    let dead = sink.dead_letters_written;
    if !a.parse_only {
        let incidents = engine.incidents();
        sink.finish(|w| engine.write_alerts_jsonl(w), &incidents)?;
    }
    // end to end: reading, parsing, the engine, and every output file written
    let seconds = started.elapsed().as_secs_f64();
    let stats = engine.stats();
    if a.parse_only {
        eprintln!(
            "parsed {records} records ({parsed} events) in {seconds:.2} s: {:.0} events/s",
            parsed as f64 / seconds.max(1e-9)
        );
        return Ok(ReplayOutcome { stats, seconds });
    }
    let learned = engine.learned_attributes();
    if !learned.is_empty() {
        let path = a.out.join("learned.json");
        std::fs::write(&path, serde_json::to_vec_pretty(&learned)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let edges = engine.learned_edges(usize::MAX);
    if !edges.is_empty() {
        let path = a.out.join("learned_edges.json");
        std::fs::write(&path, serde_json::to_vec_pretty(&edges)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if !a.quiet {
        eprintln!(
            "replayed {records} records in {seconds:.2} s ({:.0} events/s): {} events, {} dead letters, {} alerts ({} raised at the end), {} incidents; output in {}",
            stats.events as f64 / seconds.max(1e-9),
            stats.events,
            dead,
            stats.alerts_created,
            stats.alerts_active,
            stats.incidents_opened,
            a.out.display()
        );
    }
    Ok(ReplayOutcome { stats, seconds })
}

#[derive(Args, Clone)]
pub struct ExpandArgs {
    /// A compact (or full) `updates.jsonl`.
    #[arg(long)]
    pub input: PathBuf,
    /// Where to write the full records (JSON lines).
    #[arg(long)]
    pub out: PathBuf,
}

/// `sitrep expand-updates`: every record of a compact updates file as a full one. A partial
/// record of an alert whose full state came before the file starts is an error naming the
/// line (a file cut from the middle of a stream rebuilds from its first full states on).
pub fn expand(a: ExpandArgs) -> Result<()> {
    use sitrep_core::compact::{AlertStates, UpdateRecord};
    use std::io::{BufRead, Write};
    let input = std::fs::File::open(&a.input).with_context(|| format!("reading {}", a.input.display()))?;
    let out = std::fs::File::create(&a.out).with_context(|| format!("writing {}", a.out.display()))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, out);
    let mut states = AlertStates::new();
    let mut line = Vec::new();
    let mut input = std::io::BufReader::with_capacity(1 << 20, input);
    let mut n = 0u64;
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        n += 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let record: UpdateRecord = serde_json::from_slice(&line)
            .with_context(|| format!("{} line {n}: not an update record", a.input.display()))?;
        let full = states
            .apply(record)
            .with_context(|| format!("{} line {n}", a.input.display()))?;
        serde_json::to_writer(&mut out, &full)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}
