//! `sitrep templates`: the template miner on the labelled LogHub samples (GA, F1, PA,
//! template accuracy, lines/s per system and on average), with one configuration for all.

use anyhow::{bail, Result};
use clap::Args;
use sitrep_core::template::TemplateConfig;
use sitrep_scenario::loghub::{evaluate_system, SystemScore, SYSTEMS};
use std::path::PathBuf;

#[derive(Args, Clone)]
pub struct TemplatesArgs {
    /// Folder with one sub-folder per LogHub system.
    #[arg(long, default_value = "../shared/data/loghub2k")]
    pub data: PathBuf,
    /// Similarity threshold (the one setting; default = the shipped default).
    #[arg(long)]
    pub similarity: Option<f64>,
    /// Word similarity threshold (see `TemplateConfig::word_similarity`).
    #[arg(long)]
    pub word_similarity: Option<f64>,
    /// Passes over each system for the throughput figure.
    #[arg(long, default_value_t = 20)]
    pub rounds: usize,
    /// Also write the scores as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

pub fn run(a: TemplatesArgs) -> Result<Vec<SystemScore>> {
    if !a.data.is_dir() {
        bail!(
            "no LogHub data at {} (see ../shared/data/loghub2k/README.md)",
            a.data.display()
        );
    }
    let mut cfg = TemplateConfig::default();
    if let Some(s) = a.similarity {
        cfg.similarity = s;
    }
    if let Some(s) = a.word_similarity {
        cfg.word_similarity = s;
    }
    let bar = indicatif::ProgressBar::new(SYSTEMS.len() as u64);
    let mut scores = Vec::new();
    for s in SYSTEMS {
        if !a.data.join(s).is_dir() {
            continue;
        }
        scores.push(evaluate_system(&a.data, s, &cfg, a.rounds).map_err(anyhow::Error::msg)?);
        bar.inc(1);
    }
    bar.finish_and_clear();
    println!(
        "similarity {}, word similarity {}",
        cfg.similarity, cfg.word_similarity
    );
    println!("| system | templates (true / found) | GA | F1 | PA | template acc. | lines/s |");
    println!("|---|---|---|---|---|---|---|");
    for s in &scores {
        println!(
            "| {} | {} / {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.0} |",
            s.system,
            s.true_templates,
            s.found_templates,
            s.ga,
            s.f1,
            s.pa,
            s.template_accuracy,
            s.lines_per_sec
        );
    }
    let n = scores.len().max(1) as f64;
    let avg = |f: fn(&SystemScore) -> f64| scores.iter().map(f).sum::<f64>() / n;
    println!(
        "| **average** | | **{:.3}** | {:.3} | {:.3} | {:.3} | {:.0} |",
        avg(|s| s.ga),
        avg(|s| s.f1),
        avg(|s| s.pa),
        avg(|s| s.template_accuracy),
        avg(|s| s.lines_per_sec)
    );
    if let Some(p) = &a.json {
        std::fs::write(p, serde_json::to_vec_pretty(&scores)?)?;
    }
    Ok(scores)
}
