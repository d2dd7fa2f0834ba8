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
use std::path::{Path, PathBuf};

/// One labelled system found under a data folder: its name (the sub-folder) and the
/// structured CSV holding `Content`, `EventId` and `EventTemplate`.
#[derive(Debug, Clone)]
pub struct System {
    pub name: String,
    pub path: PathBuf,
}

/// Every sub-folder of `dir` that holds a labelled file, in name order: Loghub-2.0's
/// `*_structured_corrected.csv` when present (the corrected truth), else LogHub's
/// `*.log_structured.csv`. Any names: the systems a user evaluates are not a fixed list.
/// A folder that cannot be read, or holds no labelled system, is an error: an average of
/// nothing must never look like a score.
pub fn discover(dir: &Path) -> Result<Vec<System>, LoghubError> {
    let io = |source| LoghubError::Io {
        path: dir.display().to_string(),
        source,
    };
    let mut systems = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        if !entry.path().is_dir() {
            continue;
        }
        let mut corrected = None;
        let mut plain = None;
        let sub = entry.path();
        for f in std::fs::read_dir(&sub).map_err(|source| LoghubError::Io {
            path: sub.display().to_string(),
            source,
        })? {
            let f = f.map_err(io)?;
            let name = f.file_name().to_string_lossy().into_owned();
            if name.ends_with("_structured_corrected.csv") {
                corrected = Some(f.path());
            } else if name.ends_with(".log_structured.csv") {
                plain = Some(f.path());
            }
        }
        if let Some(path) = corrected.or(plain) {
            systems.push(System {
                name: entry.file_name().to_string_lossy().into_owned(),
                path,
            });
        }
    }
    systems.sort_by(|a, b| a.name.cmp(&b.name));
    if systems.is_empty() {
        return Err(LoghubError::NoSystems {
            path: dir.display().to_string(),
        });
    }
    Ok(systems)
}

pub struct Labelled {
    pub content: Vec<String>,
    pub event: Vec<String>,
    pub template: Vec<String>,
}

/// A labelled LogHub file that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum LoghubError {
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path}: no sub-folder holds a labelled `*.log_structured.csv` or `*_structured_corrected.csv`")]
    NoSystems { path: String },
    #[error("{path}: no labelled lines")]
    Empty { path: String },
    #[error("{path}: {source}")]
    Csv { path: String, source: csv::Error },
    #[error("{path}: no column {column}")]
    NoColumn { path: String, column: &'static str },
}

/// Reads a labelled file (LogHub's structured CSV).
pub fn load(path: &Path) -> Result<Labelled, LoghubError> {
    let csv_err = |source| LoghubError::Csv {
        path: path.display().to_string(),
        source,
    };
    let mut rd = csv::Reader::from_path(path).map_err(csv_err)?;
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
    if out.content.is_empty() {
        return Err(LoghubError::Empty {
            path: path.display().to_string(),
        });
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

/// Mines one system's lines with `cfg` and scores them. Throughput is measured over
/// `rounds` fresh passes (single thread, mining only); `rounds == 0` skips it.
pub fn evaluate(name: &str, truth: &Labelled, cfg: &TemplateConfig, rounds: usize) -> SystemScore {
    let mut miner = TemplateMiner::new(cfg.clone());
    let groups: Vec<u32> = truth.content.iter().map(|l| miner.mine_id(l)).collect();
    let templates: Vec<String> = groups
        .iter()
        .map(|g| miner.template(*g).unwrap_or_default())
        .collect();
    let mut lps = 0.0;
    if rounds > 0 {
        let start = std::time::Instant::now();
        let mut sink = 0u64;
        for _ in 0..rounds {
            let mut m = TemplateMiner::new(cfg.clone());
            for l in &truth.content {
                sink = sink.wrapping_add(m.mine_id(l) as u64);
            }
        }
        let secs = start.elapsed().as_secs_f64();
        std::hint::black_box(sink);
        lps = (truth.content.len() * rounds) as f64 / secs.max(1e-9);
    }
    score(name, truth, &groups, &templates, lps)
}

/// Leave-one-system-out figures for a parameter grid: for each system, the grid entry
/// with the best average GA on all the *other* systems (ties: the earlier entry), and
/// its GA on the held-out one. This is the honest estimate of how a configuration chosen
/// on known logs does on a system nobody tuned for.
#[derive(Debug, Clone, Serialize)]
pub struct HeldOut {
    pub system: String,
    /// Index into the grid of the entry chosen without this system.
    pub chosen: usize,
    /// Its average GA on the other systems (what it was chosen on).
    pub ga_others: f64,
    /// Its GA on this system (what is reported).
    pub ga: f64,
}

/// `ga[g][s]`: GA of grid entry `g` on system `s`.
pub fn leave_one_out(names: &[String], ga: &[Vec<f64>]) -> Vec<HeldOut> {
    let n = names.len();
    (0..n)
        .map(|held| {
            let others = |g: usize| {
                let sum: f64 = (0..n).filter(|&s| s != held).map(|s| ga[g][s]).sum();
                sum / (n - 1).max(1) as f64
            };
            let mut chosen = 0;
            for g in 1..ga.len() {
                if others(g) > others(chosen) + 1e-12 {
                    chosen = g;
                }
            }
            HeldOut {
                system: names[held].clone(),
                chosen,
                ga_others: others(chosen),
                ga: ga[chosen][held],
            }
        })
        .collect()
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

    #[test]
    fn leave_one_out_never_chooses_on_the_held_out_system() {
        let names: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        // entry 1 is best on `a` alone; entry 0 is best on b and c
        let ga = vec![vec![0.5, 0.9, 0.9], vec![1.0, 0.6, 0.6]];
        let h = leave_one_out(&names, &ga);
        assert_eq!(h[0].chosen, 0, "a is scored with what b and c chose");
        assert_eq!(h[0].ga, 0.5);
        // without b: entry 0 averages (0.5+0.9)/2 = 0.7, entry 1 (1.0+0.6)/2 = 0.8
        assert_eq!(h[1].chosen, 1);
        assert_eq!(h[1].ga, 0.6);
    }

    #[test]
    fn discovery_takes_any_names_and_refuses_an_empty_folder() {
        let d = tempfile::tempdir().unwrap();
        assert!(matches!(discover(d.path()), Err(LoghubError::NoSystems { .. })));
        assert!(discover(&d.path().join("missing")).is_err());
        let csv = "LineId,Content,EventId,EventTemplate\n1,hello world,E1,hello world\n";
        std::fs::create_dir(d.path().join("Zeta")).unwrap();
        std::fs::write(d.path().join("Zeta/Zeta_2k.log_structured.csv"), csv).unwrap();
        std::fs::create_dir(d.path().join("alpha")).unwrap();
        std::fs::write(d.path().join("alpha/alpha_2k.log_structured.csv"), "x").unwrap();
        std::fs::write(d.path().join("alpha/alpha_2k.log_structured_corrected.csv"), csv).unwrap();
        std::fs::create_dir(d.path().join("notes")).unwrap();
        let s = discover(d.path()).unwrap();
        let names: Vec<&str> = s.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["Zeta", "alpha"]);
        assert!(s[1].path.ends_with("alpha_2k.log_structured_corrected.csv"));
        assert_eq!(load(&s[1].path).unwrap().content, ["hello world"]);
        let header_only = d.path().join("Zeta/Zeta_2k.log_structured.csv");
        std::fs::write(&header_only, "LineId,Content,EventId,EventTemplate\n").unwrap();
        assert!(matches!(load(&header_only), Err(LoghubError::Empty { .. })));
    }
}
