//! `sitrep ait`: correlation on the AIT Alert Data Set (real, labelled IDS alerts) with a
//! config (the default unless `--config`), beside the naive 60 s time-gap baseline, both
//! scored by `sitrep_scenario::ait`. Every `*_alerts.txt.xz` (or `.csv`) in the folder is a
//! scenario; an empty folder is an error, never an average of nothing.

use crate::load;
use anyhow::{bail, Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use sitrep_scenario::ait::{self, AitReport};
use std::io::{BufReader, IsTerminal, Read};
use std::path::PathBuf;

#[derive(Args, Clone)]
pub struct AitArgs {
    /// Folder holding `NAME_alerts.txt.xz` files (the shared data set's layout).
    #[arg(long, default_value = "../shared/data/ait-ads")]
    pub data: PathBuf,
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Also write the reports as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

pub fn run(a: AitArgs) -> Result<Vec<AitReport>> {
    let cfg = load::config(a.config.as_deref())?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(&a.data)
        .with_context(|| format!("reading {}", a.data.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            n.ends_with("_alerts.txt.xz") || n.ends_with("_alerts.csv")
        })
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("{}: no *_alerts.txt.xz files", a.data.display());
    }
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::new(files.len() as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}").expect("style"));
    let mut reports = Vec::new();
    for f in &files {
        let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        let scenario = name.split("_alerts").next().unwrap_or(name).to_string();
        bar.set_message(scenario.clone());
        let mut raw = Vec::new();
        if name.ends_with(".xz") {
            let mut input = BufReader::new(std::fs::File::open(f)?);
            lzma_rs::xz_decompress(&mut input, &mut raw)
                .map_err(|e| anyhow::anyhow!("{}: {e:?}", f.display()))?;
        } else {
            std::fs::File::open(f)?.read_to_end(&mut raw)?;
        }
        let alerts = ait::read(raw.as_slice()).with_context(|| format!("in {}", f.display()))?;
        reports.push(ait::evaluate(&scenario, &alerts, &cfg)?);
        bar.inc(1);
    }
    bar.finish_and_clear();
    println!("| scenario | alerts | signatures (noise) | who | groups | precision | recall | F1 | ARI | noise sig. in incidents | attack sig. in incidents |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for r in &reports {
        for (who, s) in [("sitrep", &r.sitrep), ("60 s gap", &r.baseline_60s)] {
            println!(
                "| {} | {} | {} ({}) | {who} | {}{} | {:.3} | {:.3} | {:.3} | {:.3} | {:.1}% | {:.1}% |",
                r.scenario,
                r.alerts,
                r.signatures,
                r.noise_signatures,
                s.groups,
                match (who, r.withdrawn_incidents) {
                    ("sitrep", n) if n > 0 => format!(" (+{n} withdrawn)"),
                    _ => String::new(),
                },
                s.precision,
                s.recall,
                s.f1,
                s.ari,
                s.noise_in_incidents * 100.0,
                s.attack_in_incidents * 100.0
            );
        }
    }
    if let Some(p) = &a.json {
        std::fs::write(p, serde_json::to_vec_pretty(&reports)?)?;
    }
    Ok(reports)
}
