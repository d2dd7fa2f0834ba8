//! The quality bar of issue #2: on every built-in scenario, with the default config, the
//! replay's incidents score pairwise F1 ≥ 0.95 and ARI ≥ 0.9 against the ground truth.
//! Seed 1, 100,000 events each; other seeds are reported in docs/evaluation.md.

use std::process::Command;

fn run(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_sitrep"))
        .args(args)
        .output()
        .expect("run sitrep");
    assert!(
        out.status.success(),
        "sitrep {args:?}:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_scenario_meets_the_quality_bar_with_default_config() {
    let d = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for scenario in ["telco", "micro", "storm"] {
        let data = d.path().join(scenario);
        let out = d.path().join(format!("{scenario}-out"));
        let (data_s, out_s) = (data.to_str().unwrap(), out.to_str().unwrap());
        run(&[
            "gen",
            "--scenario",
            scenario,
            "--seed",
            "1",
            "--events",
            "100000",
            "--out",
            data_s,
        ]);
        let events = data.join("events.jsonl");
        let config = data.join("sitrep.toml");
        run(&[
            "replay",
            "--input",
            events.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
            "--out",
            out_s,
            "--quiet",
        ]);
        let truth = data.join("truth.json");
        run(&[
            "eval",
            "--truth",
            truth.to_str().unwrap(),
            "--out",
            out_s,
            "--quiet",
        ]);
        let r: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("eval.json")).unwrap()).unwrap();
        let (f1, ari) = (r["f1"].as_f64().unwrap(), r["ari"].as_f64().unwrap());
        eprintln!(
            "{scenario}: F1 {f1:.3} ARI {ari:.3} precision {:.3} recall {:.3}",
            r["precision"], r["recall"]
        );
        if f1 < 0.95 || ari < 0.9 {
            failures.push(format!("{scenario}: F1 {f1:.3}, ARI {ari:.3}"));
        }
    }
    assert!(failures.is_empty(), "below the bar: {failures:?}");
}
