//! `sitrep gen` and `sitrep eval`.

use anyhow::{bail, Context, Result};
use clap::Args;
use indicatif::ProgressBar;
use rustc_hash::FxHashMap;
use serde::Serialize;
use sitrep_core::config::{MaintenanceWindow, TopologyConfig};
use sitrep_core::update::{IncidentView, Update};
use sitrep_scenario::eval::{evaluate, Report};
use sitrep_scenario::truth::Truth;
use sitrep_scenario::{generate_variant, Scenario, Variant};
use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};

#[derive(Args, Clone)]
pub struct GenArgs {
    /// telco, micro, storm, ids (intrusion detection), or a fixed throughput load with no
    /// truth: bench (mostly pure duplicates) or churn (nearly every event changes its alert).
    #[arg(long)]
    pub scenario: String,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[arg(long, default_value_t = 100_000)]
    pub events: usize,
    /// Writes events.jsonl, truth.json, topology.json and sitrep.toml here.
    #[arg(long)]
    pub out: PathBuf,
    /// A quiet estate: no one-off, flapping or chatty alerts, only the failures (and
    /// maintenance). Telco, micro and storm only.
    #[arg(long)]
    pub no_routine_noise: bool,
    /// The estate's structure only in words: opaque host names, no labels, and dependants'
    /// descriptions naming the upstream node that took them down. Telco, micro and storm.
    #[arg(long)]
    pub names_in_text: bool,
    /// People at work beside the routine alerts: users' activities and an administrator's
    /// rounds, benign alerts that span hosts. `ids` only.
    #[arg(long)]
    pub people: bool,
}

/// What `gen` writes as the scenario's config: facts about the estate (topology,
/// maintenance windows), never tuning.
#[derive(Serialize)]
struct ScenarioConfig {
    /// None for an estate with no dependencies (`ids`): a topology of nodes alone would only
    /// keep its alerts from the learned recipe (which takes what the topology does not know).
    #[serde(skip_serializing_if = "Option::is_none")]
    topology: Option<TopologyFile>,
    maintenance: Vec<MaintenanceWindow>,
}

#[derive(Serialize)]
struct TopologyFile {
    file: String,
}

pub fn gen(a: GenArgs) -> Result<()> {
    if let Some(load) = sitrep_scenario::bench::Load::by_name(&a.scenario) {
        std::fs::create_dir_all(&a.out)?;
        let lines = sitrep_scenario::bench::load_stream(a.events, load, a.seed);
        let mut w = BufWriter::new(std::fs::File::create(a.out.join("events.jsonl"))?);
        for l in &lines {
            w.write_all(l.as_bytes())?;
            w.write_all(b"\n")?;
        }
        w.flush()?;
        eprintln!(
            "{}: {} events ({:.0}% new alerts, {:.0}% clears{}), written to {}",
            a.scenario,
            lines.len(),
            load.new_alert_share * 100.0,
            load.clear_share * 100.0,
            if load.severity_churn {
                ", severity drawn anew on each repeat"
            } else {
                ""
            },
            a.out.display()
        );
        return Ok(());
    }
    let Some(scenario) = Scenario::parse(&a.scenario) else {
        bail!(
            "unknown scenario `{}` (telco, micro, storm, ids, bench, churn)",
            a.scenario
        );
    };
    let spinner = ProgressBar::new_spinner();
    spinner.set_message(format!("generating {} events of `{}`", a.events, a.scenario));
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    if a.names_in_text && scenario == Scenario::Ids {
        bail!("--names-in-text applies to telco, micro and storm");
    }
    if a.people && scenario != Scenario::Ids {
        bail!("--people applies to ids");
    }
    let variant = Variant {
        routine_noise: !a.no_routine_noise,
        names_in_text: a.names_in_text,
        people: a.people,
    };
    let g = generate_variant(scenario, a.seed, a.events, variant);
    spinner.finish_and_clear();
    write_generated(&a.out, &g.lines, &g.truth, &g.topology, g.maintenance)?;
    eprintln!(
        "{}: {} events, {} alert occurrences ({} faults), written to {}",
        a.scenario,
        g.lines.len(),
        g.truth.alerts.len(),
        g.truth.faults.len(),
        a.out.display()
    );
    Ok(())
}

pub fn write_generated(
    out: &Path,
    lines: &[String],
    truth: &Truth,
    topology: &TopologyConfig,
    maintenance: Vec<MaintenanceWindow>,
) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let mut w = BufWriter::new(std::fs::File::create(out.join("events.jsonl"))?);
    for l in lines {
        w.write_all(l.as_bytes())?;
        w.write_all(b"\n")?;
    }
    w.flush()?;
    std::fs::write(out.join("truth.json"), serde_json::to_vec(truth)?)?;
    let topology = if topology.edges.is_empty() {
        None
    } else {
        std::fs::write(out.join("topology.json"), serde_json::to_vec_pretty(topology)?)?;
        Some(TopologyFile {
            file: "topology.json".into(),
        })
    };
    let cfg = ScenarioConfig {
        topology,
        maintenance,
    };
    std::fs::write(
        out.join("sitrep.toml"),
        format!(
            "# Facts about the generated estate; correlation settings are the defaults.\n{}",
            toml::to_string(&cfg)?
        ),
    )?;
    Ok(())
}

#[derive(Args, Clone)]
pub struct EvalArgs {
    /// truth.json from `sitrep gen`.
    #[arg(long)]
    pub truth: PathBuf,
    /// The replay's output folder; eval.json is written there.
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long)]
    pub quiet: bool,
}

fn lines(path: &Path) -> Result<impl Iterator<Item = std::io::Result<String>>> {
    let f = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(std::io::BufReader::new(f).lines())
}

pub fn eval(a: EvalArgs) -> Result<Report> {
    let truth: Truth = serde_json::from_slice(
        &std::fs::read(&a.truth).with_context(|| format!("reading {}", a.truth.display()))?,
    )
    .context("truth file")?;
    let mut incidents: Vec<IncidentView> = Vec::new();
    for l in lines(&a.out.join("incidents.jsonl"))? {
        incidents.push(serde_json::from_str(&l?).context("incidents.jsonl")?);
    }
    let alerts = lines(&a.out.join("alerts.jsonl"))?.count();
    let mut first: FxHashMap<(String, u32), i64> = FxHashMap::default();
    for l in lines(&a.out.join("updates.jsonl"))? {
        let l = l?;
        if !l.starts_with("{\"type\":\"incident\"") {
            continue;
        }
        if let Update::Incident(u) = serde_json::from_str(&l).context("updates.jsonl")? {
            for m in u.added {
                first.entry((m.signature, m.occurrence)).or_insert(u.time);
            }
        }
    }
    let report = evaluate(&truth, &incidents, alerts, &first);
    std::fs::write(a.out.join("eval.json"), serde_json::to_vec_pretty(&report)?)?;
    if !a.quiet {
        println!("{}", report.summary());
    }
    Ok(report)
}
