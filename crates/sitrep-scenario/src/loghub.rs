//! Template-mining evaluation on the labelled LogHub 2k samples (He et al., LogHub; Zhu et
//! al., ICSE-SEIP 2019). The data is read from a folder beside the repository
//! (`../shared/data/loghub2k`), never copied into it (its licence: research use, cite the
//! repository and the paper).
//!
//! Metrics, per system:
//! - **GA** (grouping accuracy, Zhu et al.): the share of lines whose predicted group holds
//!   exactly the lines of their true group.
//! - **F1 of grouping**: pairwise precision/recall of "same group" over lines.
//! - **PA** (parsing accuracy): the share of lines whose final template equals the true
//!   template (whitespace-normalised).
//! - **Template accuracy**: the share of true templates whose lines form exactly one
//!   predicted group.

use rustc_hash::FxHashMap;
use serde::Serialize;
use sitrep_core::template::{TemplateConfig, TemplateMiner};
use std::path::Path;

pub const SYSTEMS: [&str; 10] = [
    "HDFS",
    "Hadoop",
    "Spark",
    "Zookeeper",
    "BGL",
    "HPC",
    "Thunderbird",
    "Windows",
    "Linux",
    "Android",
];

pub struct Labelled {
    pub content: Vec<String>,
    pub event: Vec<String>,
    pub template: Vec<String>,
}

/// A labelled LogHub file that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum LoghubError {
    #[error("{path}: {source}")]
    Csv { path: String, source: csv::Error },
    #[error("{path}: no column {column}")]
    NoColumn { path: String, column: &'static str },
}

pub fn load(dir: &Path, system: &str) -> Result<Labelled, LoghubError> {
    let path = dir.join(system).join(format!("{system}_2k.log_structured.csv"));
    let csv_err = |source| LoghubError::Csv {
        path: path.display().to_string(),
        source,
    };
    let mut rd = csv::Reader::from_path(&path).map_err(csv_err)?;
    let headers = rd.headers().map_err(csv_err)?.clone();
    let col = |column: &'static str| {
        headers
            .iter()
            .position(|h| h == column)
            .ok_or(LoghubError::NoColumn {
                path: path.display().to_string(),
                column,
            })
    };
    let (c, e, t) = (col("Content")?, col("EventId")?, col("EventTemplate")?);
    let mut out = Labelled {
        content: Vec::new(),
        event: Vec::new(),
        template: Vec::new(),
    };
    for r in rd.records() {
        let r = r.map_err(csv_err)?;
        out.content.push(r[c].to_string());
        out.event.push(r[e].to_string());
        out.template.push(r[t].to_string());
    }
    Ok(out)
}

#[derive(Debug, Clone, Serialize)]
pub struct SystemScore {
    pub system: String,
    pub lines: usize,
    pub true_templates: usize,
    pub found_templates: usize,
    pub ga: f64,
    pub f1: f64,
    pub pa: f64,
    pub template_accuracy: f64,
    pub lines_per_sec: f64,
}

fn norm(t: &str) -> String {
    t.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Scores predicted groups (and final templates) against the truth.
pub fn score(
    system: &str,
    truth: &Labelled,
    groups: &[u32],
    templates: &[String],
    lines_per_sec: f64,
) -> SystemScore {
    let n = groups.len();
    let mut t_sizes: FxHashMap<&str, usize> = FxHashMap::default();
    let mut p_sizes: FxHashMap<u32, usize> = FxHashMap::default();
    let mut cont: FxHashMap<(&str, u32), usize> = FxHashMap::default();
    for (event, &group) in truth.event.iter().zip(groups) {
        *t_sizes.entry(event).or_default() += 1;
        *p_sizes.entry(group).or_default() += 1;
        *cont.entry((event, group)).or_default() += 1;
    }
    // GA: a line is right when its predicted group and its true group are the same set,
    // i.e. the contingency cell holds both whole groups.
    let correct_lines: usize = (0..n)
        .filter(|&i| {
            let c = cont[&(truth.event[i].as_str(), groups[i])];
            c == t_sizes[truth.event[i].as_str()] && c == p_sizes[&groups[i]]
        })
        .count();
    let c2 = |k: usize| (k * k.saturating_sub(1) / 2) as f64;
    let tp: f64 = cont.values().map(|&c| c2(c)).sum();
    let (st, sp): (f64, f64) = (
        t_sizes.values().map(|&c| c2(c)).sum(),
        p_sizes.values().map(|&c| c2(c)).sum(),
    );
    let (prec, rec) = (
        if sp > 0.0 { tp / sp } else { 1.0 },
        if st > 0.0 { tp / st } else { 1.0 },
    );
    let f1 = if prec + rec > 0.0 {
        2.0 * prec * rec / (prec + rec)
    } else {
        0.0
    };
    let pa = (0..n)
        .filter(|&i| norm(&templates[i]) == norm(&truth.template[i]))
        .count() as f64
        / n.max(1) as f64;
    let exact_templates = t_sizes
        .iter()
        .filter(|(t, size)| {
            cont.iter()
                .any(|((tt, g), c)| tt == *t && c == *size && p_sizes[g] == **size)
        })
        .count();
    SystemScore {
        system: system.to_string(),
        lines: n,
        true_templates: t_sizes.len(),
        found_templates: p_sizes.len(),
        ga: correct_lines as f64 / n.max(1) as f64,
        f1,
        pa,
        template_accuracy: exact_templates as f64 / t_sizes.len().max(1) as f64,
        lines_per_sec,
    }
}

/// Mines one system with `cfg` and scores it. Throughput is measured over `rounds` fresh
/// passes (single thread, mining only).
pub fn evaluate_system(
    dir: &Path,
    system: &str,
    cfg: &TemplateConfig,
    rounds: usize,
) -> Result<SystemScore, LoghubError> {
    let truth = load(dir, system)?;
    let mut miner = TemplateMiner::new(cfg.clone());
    let groups: Vec<u32> = truth.content.iter().map(|l| miner.mine_id(l)).collect();
    let templates: Vec<String> = groups
        .iter()
        .map(|g| miner.template(*g).unwrap_or_default())
        .collect();
    let start = std::time::Instant::now();
    let mut sink = 0u64;
    for _ in 0..rounds.max(1) {
        let mut m = TemplateMiner::new(cfg.clone());
        for l in &truth.content {
            sink = sink.wrapping_add(m.mine_id(l) as u64);
        }
    }
    let secs = start.elapsed().as_secs_f64();
    std::hint::black_box(sink);
    let lps = (truth.content.len() * rounds.max(1)) as f64 / secs.max(1e-9);
    Ok(score(system, &truth, &groups, &templates, lps))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_on_a_hand_made_case() {
        let truth = Labelled {
            content: vec!["a".into(); 4],
            event: ["E1", "E1", "E2", "E3"].map(String::from).to_vec(),
            template: ["x <*>", "x <*>", "y", "z"].map(String::from).to_vec(),
        };
        // E1 split in two, E2 and E3 merged
        let s = score(
            "t",
            &truth,
            &[1, 2, 3, 3],
            &["x <*>".into(), "x  <*>".into(), "q".into(), "z".into()],
            1.0,
        );
        assert_eq!(s.ga, 0.0);
        assert_eq!(s.pa, 0.75);
        assert_eq!(s.template_accuracy, 0.0);
        let s = score("t", &truth, &[1, 1, 2, 3], &truth.template, 1.0);
        assert_eq!((s.ga, s.f1, s.pa, s.template_accuracy), (1.0, 1.0, 1.0, 1.0));
    }
}
