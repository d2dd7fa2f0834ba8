//! `sitrep templates`: the template miner on labelled log samples (LogHub's structured
//! CSVs): GA, F1, PA, template accuracy and lines/s per system and on average, with one
//! configuration for all; `--tune` adds leave-one-system-out figures over a parameter grid.

use anyhow::{Context, Result};
use clap::Args;
use sitrep_core::template::TemplateConfig;
use sitrep_scenario::loghub::{discover, evaluate, leave_one_out, load, HeldOut, Labelled, SystemScore};
use std::path::PathBuf;

#[derive(Args, Clone)]
pub struct TemplatesArgs {
    /// Folder with one sub-folder per system, each holding a labelled
    /// `<Name>_2k.log_structured.csv` (or Loghub-2.0's `*_structured_corrected.csv`).
    #[arg(long, default_value = "../shared/data/loghub2k")]
    pub data: PathBuf,
    /// Similarity threshold (default: the shipped default).
    #[arg(long)]
    pub similarity: Option<f64>,
    /// Word similarity threshold (see `TemplateConfig::word_similarity`).
    #[arg(long)]
    pub word_similarity: Option<f64>,
    /// Passes over each system for the throughput figure.
    #[arg(long, default_value_t = 20)]
    pub rounds: usize,
    /// Search the parameter grid and report leave-one-system-out GA: for each system,
    /// the parameters that score best on all the others, scored on it.
    #[arg(long)]
    pub tune: bool,
    /// Also write the scores (and, with --tune, the held-out figures) as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

#[derive(serde::Serialize)]
struct Report<'a> {
    config: &'a TemplateConfig,
    systems: &'a [SystemScore],
    #[serde(skip_serializing_if = "Option::is_none")]
    leave_one_out: Option<&'a [HeldOutReport]>,
}

#[derive(serde::Serialize)]
struct HeldOutReport {
    #[serde(flatten)]
    held_out: HeldOut,
    config: TemplateConfig,
}

/// The grid `--tune` searches: the two thresholds around their defaults. The shipped
/// default is first, so a tie keeps it.
fn grid() -> Vec<TemplateConfig> {
    let base = TemplateConfig::default();
    let mut g = vec![base.clone()];
    for similarity in [0.4, 0.5, 0.6, 0.7] {
        for word_similarity in [0.7, 0.75, 0.8, 0.85, 0.9] {
            let c = TemplateConfig {
                similarity,
                word_similarity,
                ..base.clone()
            };
            if c != base {
                g.push(c);
            }
        }
    }
    g
}

pub fn run(a: TemplatesArgs) -> Result<Vec<SystemScore>> {
    let systems = discover(&a.data).with_context(|| {
        format!(
            "no labelled logs at {} (see ../shared/data/loghub2k/README.md)",
            a.data.display()
        )
    })?;
    let mut cfg = TemplateConfig::default();
    if let Some(s) = a.similarity {
        cfg.similarity = s;
    }
    if let Some(s) = a.word_similarity {
        cfg.word_similarity = s;
    }
    let bar = indicatif::ProgressBar::new(systems.len() as u64);
    let mut data: Vec<(String, Labelled)> = Vec::new();
    let mut scores = Vec::new();
    for s in &systems {
        let truth = load(&s.path)?;
        scores.push(evaluate(&s.name, &truth, &cfg, a.rounds));
        data.push((s.name.clone(), truth));
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
    let n = scores.len() as f64;
    let avg = |f: fn(&SystemScore) -> f64| scores.iter().map(f).sum::<f64>() / n;
    println!(
        "| **average** | | **{:.3}** | {:.3} | {:.3} | {:.3} | {:.0} |",
        avg(|s| s.ga),
        avg(|s| s.f1),
        avg(|s| s.pa),
        avg(|s| s.template_accuracy),
        avg(|s| s.lines_per_sec)
    );
    let held_out = a.tune.then(|| tune(&data));
    if let Some(p) = &a.json {
        let report = Report {
            config: &cfg,
            systems: &scores,
            leave_one_out: held_out.as_deref(),
        };
        std::fs::write(p, serde_json::to_vec_pretty(&report)?)?;
    }
    Ok(scores)
}

fn tune(data: &[(String, Labelled)]) -> Vec<HeldOutReport> {
    let grid = grid();
    let bar = indicatif::ProgressBar::new(grid.len() as u64);
    let ga: Vec<Vec<f64>> = grid
        .iter()
        .map(|c| {
            bar.inc(1);
            data.iter().map(|(name, t)| evaluate(name, t, c, 0).ga).collect()
        })
        .collect();
    bar.finish_and_clear();
    let names: Vec<String> = data.iter().map(|(n, _)| n.clone()).collect();
    let held = leave_one_out(&names, &ga);
    println!();
    println!(
        "leave-one-system-out over {} parameter sets: each system scored with the set that does best on the others",
        grid.len()
    );
    println!("| held out | similarity | word similarity | GA on the others | GA held out |");
    println!("|---|---|---|---|---|");
    for h in &held {
        let c = &grid[h.chosen];
        println!(
            "| {} | {} | {} | {:.3} | **{:.3}** |",
            h.system, c.similarity, c.word_similarity, h.ga_others, h.ga
        );
    }
    let mean = held.iter().map(|h| h.ga).sum::<f64>() / held.len() as f64;
    let worst = held.iter().map(|h| h.ga).fold(f64::INFINITY, f64::min);
    println!("| **average** | | | | **{mean:.3}** (lowest {worst:.3}) |");
    let all = |g: usize| ga[g].iter().sum::<f64>() / ga[g].len() as f64;
    let best = (0..grid.len()).fold(0, |b, g| if all(g) > all(b) + 1e-12 { g } else { b });
    println!(
        "best on all {} systems (the candidate default): similarity {}, word similarity {}: GA {:.3}; the shipped default: {:.3}",
        names.len(),
        grid[best].similarity,
        grid[best].word_similarity,
        all(best),
        all(0)
    );
    held.into_iter()
        .map(|h| HeldOutReport {
            config: grid[h.chosen].clone(),
            held_out: h,
        })
        .collect()
}
