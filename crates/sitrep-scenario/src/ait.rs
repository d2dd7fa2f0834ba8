//! ait: the AIT Alert Data Set (real IDS alerts, labelled by attack phase) as an
//! evaluation that nobody here wrote and that defaults are never tuned on.
//!
//! Each CSV row (`time,name,ip,host,short,time_label,event_label`) becomes a native event:
//! `source` = host, `check` = name (detector and rule text), `description` = name,
//! severity `warning` (IDS alerts carry none; every one is an alert, none routine), labels
//! `ip` and `rule` (the short rule id). The unit of scoring, as the data set's README
//! suggests, is the *signature* `host|name`: its true incident is the majority attack phase
//! of its alerts, `false_positive` meaning noise (no incident). sitrep's incident for a
//! signature is the first incident its alert joined that was not withdrawn as routine. The
//! naive baseline — a new group whenever the gap to the previous alert exceeds 60 s, a
//! signature in the group of its first alert — is scored by the same code.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use sitrep_core::{Config, Engine, EngineOptions, Event, Severity};
use std::io::Read;

#[derive(Debug, Clone)]
pub struct AitAlert {
    /// Milliseconds since the epoch.
    pub time: i64,
    pub name: String,
    pub ip: String,
    pub host: String,
    pub short: String,
    pub phase: String,
}

#[derive(Debug, thiserror::Error)]
pub enum AitError {
    #[error("reading the CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("row {row}: {what}")]
    Row { row: usize, what: String },
    #[error("no alerts in the file")]
    Empty,
}

/// Reads the CSV (already decompressed).
pub fn read(r: impl Read) -> Result<Vec<AitAlert>, AitError> {
    let mut rd = csv::Reader::from_reader(r);
    let headers = rd.headers()?.clone();
    let col = |name: &str| {
        headers.iter().position(|h| h == name).ok_or(AitError::Row {
            row: 0,
            what: format!("no column {name}"),
        })
    };
    let (t, n, ip, h, s, l) = (
        col("time")?,
        col("name")?,
        col("ip")?,
        col("host")?,
        col("short")?,
        col("time_label")?,
    );
    let mut out = Vec::new();
    for (i, rec) in rd.records().enumerate() {
        let rec = rec?;
        let secs: f64 = rec[t].parse().map_err(|_| AitError::Row {
            row: i + 1,
            what: format!("time `{}` is not a number", &rec[t]),
        })?;
        out.push(AitAlert {
            time: (secs * 1000.0) as i64,
            name: rec[n].to_string(),
            ip: rec[ip].to_string(),
            host: rec[h].to_string(),
            short: rec[s].to_string(),
            phase: rec[l].to_string(),
        });
    }
    if out.is_empty() {
        return Err(AitError::Empty);
    }
    Ok(out)
}

pub fn to_event(a: &AitAlert) -> Event {
    let mut e = Event {
        source: a.host.as_str().into(),
        check: a.name.as_str().into(),
        severity: Severity::Warning,
        description: a.name.clone(),
        time: Some(a.time),
        manager: a.name.split(':').next().map(|d| d.trim().into()),
        labels: vec![
            ("ip".into(), a.ip.as_str().into()),
            ("rule".into(), a.short.as_str().into()),
        ],
        ..Event::default()
    };
    e.normalise_labels();
    e
}

/// Clustering quality of one grouping of the signatures.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Scores {
    /// Groups with two or more signatures.
    pub groups: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub ari: f64,
    /// Share of noise (`false_positive`) signatures placed in a group of two or more.
    pub noise_in_incidents: f64,
    /// Share of attack signatures placed in a group of two or more.
    pub attack_in_incidents: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AitReport {
    pub scenario: String,
    pub alerts: usize,
    pub signatures: usize,
    pub noise_signatures: usize,
    pub sitrep: Scores,
    pub baseline_60s: Scores,
    /// Incidents formed, not counting those withdrawn as routine …
    pub sitrep_incidents: usize,
    pub largest_incident: usize,
    /// … which are counted here.
    #[serde(default)]
    pub withdrawn_incidents: usize,
}

/// Scores predicted labels against true labels (`None` = a singleton on either side).
pub fn score(truth: &[Option<u32>], pred: &[Option<u64>], noise: &[bool]) -> Scores {
    let n = truth.len();
    let t: Vec<u64> = (0..n)
        .map(|k| truth[k].map_or((1u64 << 40) + k as u64, u64::from))
        .collect();
    let mut p_sizes_raw: FxHashMap<u64, u64> = FxHashMap::default();
    for q in pred.iter().flatten() {
        *p_sizes_raw.entry(*q).or_default() += 1;
    }
    // a predicted group of one is no grouping at all
    let p: Vec<u64> = (0..n)
        .map(|k| match pred[k] {
            Some(q) if p_sizes_raw[&q] > 1 => q,
            _ => (1u64 << 41) + k as u64,
        })
        .collect();
    let table = crate::eval::Contingency::new(&t, &p);
    let (precision, recall, f1, ari) = table.pairwise(0.0);
    let grouped = |k: usize| p[k] < (1u64 << 41);
    let share = |want: bool| {
        let all: Vec<usize> = (0..n).filter(|&k| noise[k] == want).collect();
        if all.is_empty() {
            0.0
        } else {
            all.iter().filter(|&&k| grouped(k)).count() as f64 / all.len() as f64
        }
    };
    Scores {
        groups: table.p_sizes.values().filter(|c| **c > 1).count(),
        precision,
        recall,
        f1,
        ari,
        noise_in_incidents: share(true),
        attack_in_incidents: share(false),
    }
}

/// Runs the engine with `cfg` over the alerts (in file order, which is time order) and
/// scores it beside the 60 s time-gap baseline.
pub fn evaluate(
    scenario: &str,
    alerts: &[AitAlert],
    cfg: &Config,
) -> Result<AitReport, sitrep_core::config::ConfigError> {
    // signatures and their majority phase
    let mut sig_index: FxHashMap<(String, String), usize> = FxHashMap::default();
    let mut phases: Vec<FxHashMap<&str, usize>> = Vec::new();
    let mut first_alert: Vec<usize> = Vec::new();
    for (i, a) in alerts.iter().enumerate() {
        let id = *sig_index
            .entry((a.host.clone(), a.name.clone()))
            .or_insert_with(|| {
                phases.push(FxHashMap::default());
                first_alert.push(i);
                phases.len() - 1
            });
        *phases[id].entry(a.phase.as_str()).or_default() += 1;
    }
    let mut phase_ids: FxHashMap<&str, u32> = FxHashMap::default();
    let mut truth = Vec::with_capacity(phases.len());
    let mut noise = Vec::with_capacity(phases.len());
    for ph in &phases {
        let (major, _) = ph
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
            .expect("a signature has alerts");
        let is_noise = *major == "false_positive";
        noise.push(is_noise);
        let next = phase_ids.len() as u32;
        truth.push((!is_noise).then(|| *phase_ids.entry(major).or_insert(next)));
    }

    // sitrep
    let mut engine = Engine::new(cfg, EngineOptions::default())?;
    // incidents withdrawn as routine, taken from the updates: one purged after its
    // retention is no longer among `engine.incidents()` but still in its alerts' history
    // (and alerts released from an incident as background to it; never forgotten: an IDS
    // alert never clears, so it cannot rejoin the incident it was released from)
    let mut withdrawn: rustc_hash::FxHashSet<u64> = Default::default();
    let mut released: rustc_hash::FxHashSet<(u64, u64)> = Default::default();
    for a in alerts {
        engine.process(&to_event(a));
        for u in engine.drain_updates() {
            match u {
                sitrep_core::Update::Incident(i)
                    if i.change == sitrep_core::update::IncidentChange::Withdrawn =>
                {
                    withdrawn.insert(i.incident.id.number);
                }
                // released from the incident it was in: the last it joined
                sitrep_core::Update::Alert(a) if a.change == sitrep_core::update::AlertChange::Released => {
                    if let Some(left) = a.alert.incidents.last() {
                        released.insert((a.alert.id.number, left.number));
                    }
                }
                _ => {}
            }
        }
    }
    let mut by_signature: FxHashMap<String, usize> = FxHashMap::default();
    let mut sig = String::new();
    for (id, &i) in first_alert.iter().enumerate() {
        sitrep_core::build_signature(&cfg.dedup.signature, &to_event(&alerts[i]), &mut sig);
        by_signature.insert(sig.clone(), id);
    }
    // an incident withdrawn as routine is the engine's word that its alerts form none
    let incidents = engine.incidents();
    let mut pred_sitrep: Vec<Option<u64>> = vec![None; phases.len()];
    for view in engine.alerts() {
        let first = view
            .incidents
            .iter()
            .find(|i| !withdrawn.contains(&i.number) && !released.contains(&(view.id.number, i.number)));
        if let (Some(&id), Some(inc)) = (by_signature.get(&view.signature), first) {
            pred_sitrep[id] = Some(inc.number);
        }
    }

    // the naive baseline
    let mut group = 0u64;
    let mut last = i64::MIN;
    let mut group_of_alert = Vec::with_capacity(alerts.len());
    for a in alerts {
        if a.time - last > 60_000 {
            group += 1;
        }
        last = a.time;
        group_of_alert.push(group);
    }
    let pred_base: Vec<Option<u64>> = first_alert.iter().map(|&i| Some(group_of_alert[i])).collect();

    Ok(AitReport {
        scenario: scenario.to_string(),
        alerts: alerts.len(),
        signatures: phases.len(),
        noise_signatures: noise.iter().filter(|n| **n).count(),
        sitrep: score(&truth, &pred_sitrep, &noise),
        baseline_60s: score(&truth, &pred_base, &noise),
        sitrep_incidents: incidents.iter().filter(|i| i.summary.withdrawn.is_none()).count(),
        largest_incident: incidents
            .iter()
            .filter(|i| i.summary.withdrawn.is_none())
            .map(|i| i.summary.alert_count)
            .max()
            .unwrap_or(0),
        withdrawn_incidents: withdrawn.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_and_empty_groupings_score_as_expected() {
        let truth = [Some(1), Some(1), Some(2), Some(2), None];
        let noise = [false, false, false, false, true];
        let s = score(&truth, &[Some(7), Some(7), Some(8), Some(8), None], &noise);
        assert_eq!((s.precision, s.recall, s.f1), (1.0, 1.0, 1.0));
        assert_eq!(s.noise_in_incidents, 0.0);
        let s = score(&truth, &[None, None, None, None, None], &noise);
        assert_eq!(s.f1, 0.0);
        assert_eq!(s.groups, 0);
        let s = score(&truth, &[Some(1); 5], &noise);
        assert_eq!(s.recall, 1.0);
        assert!(s.precision < 0.3);
        assert_eq!(s.noise_in_incidents, 1.0);
    }

    #[test]
    fn rows_become_events() {
        let csv = "time,name,ip,host,short,time_label,event_label\n\
                   1643849106,Wazuh: ClamAV database update,10.1.2.3,mail,W-Sys-Cav,false_positive,-\n";
        let a = read(csv.as_bytes()).unwrap();
        let e = to_event(&a[0]);
        assert_eq!(e.source, "mail");
        assert_eq!(e.time, Some(1_643_849_106_000));
        assert_eq!(e.label("rule"), Some("W-Sys-Cav"));
        assert_eq!(e.manager.as_deref(), Some("Wazuh"));
        assert!(read("time,name\n".as_bytes()).is_err());
    }
}
