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

/// Replays `data/events.jsonl` (with `config`, if any) into `out` and scores it against
/// `data/truth.json`: the eval report.
/// The scenario's `sitrep.toml` with its `[topology]` section removed, as a user with no
/// topology runs it (what `scripts/evaluate.sh` does with `grep -v`): its path.
fn without_topology(data: &std::path::Path) -> std::path::PathBuf {
    let cfg = std::fs::read_to_string(data.join("sitrep.toml")).unwrap();
    let without: String = cfg
        .lines()
        .filter(|l| *l != "[topology]" && !l.starts_with("file = "))
        .map(|l| format!("{l}\n"))
        .collect();
    let config = data.join("no-topology.toml");
    std::fs::write(&config, without).unwrap();
    config
}

fn replay_and_eval(
    data: &std::path::Path,
    config: Option<&std::path::Path>,
    out: &std::path::Path,
) -> serde_json::Value {
    let events = data.join("events.jsonl");
    let mut args = vec!["replay", "--input", events.to_str().unwrap()];
    if let Some(c) = config {
        args.extend(["--config", c.to_str().unwrap()]);
    }
    args.extend(["--out", out.to_str().unwrap(), "--quiet"]);
    run(&args);
    run(&[
        "eval",
        "--truth",
        data.join("truth.json").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    serde_json::from_slice(&std::fs::read(out.join("eval.json")).unwrap()).unwrap()
}

#[test]
fn every_scenario_meets_the_quality_bar_with_default_config() {
    let d = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for scenario in ["telco", "micro", "storm"] {
        let data = d.path().join(scenario);
        let out = d.path().join(format!("{scenario}-out"));
        let data_s = data.to_str().unwrap();
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
        let r = replay_and_eval(&data, Some(&data.join("sitrep.toml")), &out);
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

/// Issue 12: the same streams with the topology file removed, as a user without one would
/// run them. The engine must find the structure itself (learned recipe). The bars are the
/// levels reached on seed 1 (2026-12-05: 0.917 / 0.943 / 0.954), with a margin: a regression
/// guard (docs/evaluation.md has the figures over five seeds). Micro's bar was raised from
/// 0.90 to 0.93 when a node's own alert came to hold the place its pods' `labels.node` name
/// (2026-12-07, twenty-fourth session: seed 1 0.936 → 0.943).
#[test]
fn without_topology_the_learned_recipe_finds_the_incidents() {
    let d = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for (scenario, min_f1, min_root) in [
        ("telco", 0.88, 0.85),
        ("micro", 0.93, 0.85),
        ("storm", 0.90, 0.85),
    ] {
        let data = d.path().join(scenario);
        let out = d.path().join(format!("{scenario}-out"));
        let data_s = data.to_str().unwrap();
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
        // the scenario's facts minus its topology
        let config = without_topology(&data);
        let without = std::fs::read_to_string(&config).unwrap();
        assert!(!without.contains("topology"), "{without}");
        let events = data.join("events.jsonl");
        run(&[
            "replay",
            "--input",
            events.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ]);
        let truth = data.join("truth.json");
        run(&[
            "eval",
            "--truth",
            truth.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ]);
        let r: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("eval.json")).unwrap()).unwrap();
        let f1 = r["f1"].as_f64().unwrap();
        let root = r["root_cause_accuracy"].as_f64().unwrap();
        // one-off alerts on a failing service's pods or a failing site's cells are set apart
        // by their checks (docs/correlation.md): the bar is 5%
        let noise = r["noise_in_incidents"].as_f64().unwrap();
        eprintln!("{scenario} without topology: F1 {f1:.3} root cause {root:.3} noise {noise:.3}");
        if f1 < min_f1 || root < min_root || noise > 0.03 {
            failures.push(format!(
                "{scenario}: F1 {f1:.3} (bar {min_f1}), root {root:.3} (bar {min_root}), noise in \
                 incidents {noise:.3} (bar 0.03)"
            ));
        }
        // what was learned is written out, and the place keys are evidence
        let learned: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("learned.json")).unwrap()).unwrap();
        let evidence: Vec<&str> = learned
            .as_array()
            .unwrap()
            .iter()
            .filter(|k| k["evidence"].as_bool() == Some(true))
            .map(|k| k["key"].as_str().unwrap())
            .collect();
        assert!(!evidence.contains(&"labels.kind"), "{scenario}: {evidence:?}");
        let place = if scenario == "micro" {
            "labels.node"
        } else {
            "labels.site"
        };
        assert!(evidence.contains(&place), "{scenario}: {evidence:?}");
        // every learned join explains itself in words; one made on a shared attribute says
        // how it compares with chance
        let incidents = std::fs::read_to_string(out.join("incidents.jsonl")).unwrap();
        let learned_joins: Vec<String> = incidents
            .lines()
            .flat_map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                v["members"].as_array().unwrap().clone()
            })
            .filter(|m| m["why"]["kind"] == "learned")
            .map(|m| m["why"]["evidence"][0].as_str().unwrap_or("").to_string())
            .collect();
        assert!(!learned_joins.is_empty(), "{scenario}: no learned join");
        assert!(
            learned_joins.iter().all(|w| !w.is_empty()),
            "{scenario}: a join without words"
        );
        // … and one made before the stream has shown whether a label is evidence says so
        let (provisional, learned): (Vec<&String>, Vec<&String>) = learned_joins
            .iter()
            .filter(|w| w.starts_with("shares "))
            .partition(|w| w.contains("too early in the stream"));
        let shares = learned.first().expect("a join on a shared attribute");
        assert!(shares.contains("chance"), "{shares}");
        for w in provisional {
            assert!(
                !w.starts_with("shares labels.kind"),
                "a kind named before a place: {w}"
            );
        }
    }
    assert!(failures.is_empty(), "below the bar: {failures:?}");
}

/// A quiet estate: the scenarios with no routine noise (`gen --no-routine-noise`: only the
/// failures and maintenance) and no topology. With nothing routine to be rarer than, the
/// failures' words score as noise; the checks learned to belong must still form the
/// incidents, and checks not yet judged must not be held at the gate while the first
/// failures pass (docs/evaluation.md, "Quiet estates": F1 0.06 / 0.26 / 0.05 on seed 1
/// before the first, 0.900 / 0.872 / 0.919 before the second), and a short stream's first
/// faults must form incidents before any label is known to be evidence (storm, 10,000
/// events: 0.670 before provisional labels; telco, 10,000 events: its first fault was left
/// lone before the first burst's share was taken outside its cluster, and its regional
/// failure split by site before place bursts, and kept its first sites' incidents apart
/// before they were merged on the burst: 0.721, and its late sites' cells opened incidents
/// of their own before a site let in on the burst became a place of the incident: 0.789;
/// telco 100,000 events 0.965 then). Bars: seed 1's levels (2026-12-06, seventeenth
/// session: 0.992 / 0.915 / 0.972, short storm 0.907, short telco 1.000) with a margin;
/// micro's raised from 0.88 to 0.92 when a node's own alert came to hold the place its pods'
/// `labels.node` name (twenty-fourth session: 0.917 → 0.928: a second node's failure in one
/// cluster no longer chained in through a service alert), then to 0.93 when a service's own
/// checks were no longer set apart on the service they share only rarely, but far beyond
/// chance (twenty-fifth session: 0.932 → 0.937).
#[test]
fn a_quiet_estate_without_topology_still_forms_its_incidents() {
    let d = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    // (scenario, events, bar); the short stream is the first 1.6 hours of a storm: its
    // first faults come before any label is known to be evidence
    let runs = [
        ("telco", "100000", 0.97),
        ("micro", "100000", 0.93),
        ("storm", "100000", 0.93),
        ("storm", "10000", 0.86),
        ("telco", "10000", 0.95),
    ];
    for (scenario, events, min_f1) in runs {
        let data = d.path().join(format!("{scenario}-{events}"));
        let out = d.path().join(format!("{scenario}-{events}-out"));
        run(&[
            "gen",
            "--scenario",
            scenario,
            "--seed",
            "1",
            "--events",
            events,
            "--no-routine-noise",
            "--out",
            data.to_str().unwrap(),
        ]);
        let truth: serde_json::Value =
            serde_json::from_slice(&std::fs::read(data.join("truth.json")).unwrap()).unwrap();
        let kinds = truth["events_by_kind"].as_object().unwrap();
        assert!(
            kinds.keys().all(|k| k == "fault" || k == "maintenance"),
            "routine noise in a quiet estate: {kinds:?}"
        );
        let config = without_topology(&data);
        let r = replay_and_eval(&data, Some(&config), &out);
        let f1 = r["f1"].as_f64().unwrap();
        eprintln!("{scenario}, {events} events, quiet, without topology: F1 {f1:.3}");
        if f1 < min_f1 {
            failures.push(format!("{scenario} ({events} events): F1 {f1:.3} (bar {min_f1})"));
        }
    }
    assert!(failures.is_empty(), "below the bar: {failures:?}");
}

/// An estate whose structure is only in words (`gen --names-in-text`: opaque host names, no
/// labels, one alert of each dependant naming the upstream node that took it down) and no
/// topology: the names in text must form the incidents and place their root causes. Seed 1
/// without topology scored F1 0.793 / 0.854 / 0.839 (telco / micro / storm) before names
/// in text waited for their source's first alert and alerts alone before a join were
/// absorbed (0.836 / 0.868 / 0.899), and before time alone was refused between sources the
/// learned topology places apart (2026-12-06, twentieth session: 0.914 / 0.884 / 0.899),
/// and before an alert too dull to seed was taken along by the next alert of its source
/// that seeded (twenty-first session: 0.924 / 0.884 / 0.923 → 0.927 / 0.884 / 0.928), and
/// before a weak burst of new alerts (chance explaining more than a fifth of it) was made to
/// need a shared place (twenty-second session: 0.948 / 0.909 / 0.928), and before an alert
/// whose later message names a source of a young incident was moved there (twenty-third
/// session: 0.951 / 0.918 / 0.928), and before an alert below the noise gate or placed
/// nowhere was placed when its words name a young incident's source (same session: 0.959 /
/// 0.918 / 0.972), and before an alert naming nothing was linked to the upstream its
/// source's earlier descriptions named (the learned topology as evidence, twenty-fourth
/// session: 0.962 / 0.923 / 0.982), and before a co-occurrence join needed the related share
/// and two sources were judged by their co-starts on two sources (same session: 0.980 /
/// 0.932 / 0.982).
/// Bars: those levels with a margin; root cause right ≥ 90%.
#[test]
fn an_estate_described_only_in_words_forms_its_incidents() {
    let d = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for (scenario, min_f1) in [("telco", 0.965), ("micro", 0.925), ("storm", 0.97)] {
        let data = d.path().join(scenario);
        let out = d.path().join(format!("{scenario}-out"));
        run(&[
            "gen",
            "--scenario",
            scenario,
            "--seed",
            "1",
            "--events",
            "100000",
            "--names-in-text",
            "--out",
            data.to_str().unwrap(),
        ]);
        let events = std::fs::read_to_string(data.join("events.jsonl")).unwrap();
        let first: serde_json::Value = serde_json::from_str(events.lines().next().unwrap()).unwrap();
        assert!(
            first["labels"].as_object().unwrap().keys().all(|k| k == "kind"),
            "a place label in an estate described in words: {first}"
        );
        let named = [
            "changed state to down",
            "Backhaul link to",
            "of calls to",
            "refused connection",
        ];
        assert!(
            named.iter().any(|n| events.contains(n)),
            "no dependant names its upstream in words"
        );
        let config = without_topology(&data);
        let r = replay_and_eval(&data, Some(&config), &out);
        let f1 = r["f1"].as_f64().unwrap();
        let root = r["root_cause_accuracy"].as_f64().unwrap();
        eprintln!("{scenario}, names in text, without topology: F1 {f1:.3}, root cause {root:.3}");
        // a cell's dull first alert (`s1_link_failure`) taken along by the alert of its
        // source that seeded the cell's incident a few seconds later
        let incidents = std::fs::read_to_string(out.join("incidents.jsonl")).unwrap();
        if scenario == "storm" && !incidents.contains("which started this incident") {
            failures.push("storm: no dull alert taken along by its source's seed".into());
        }
        // a switch whose first message named nothing and whose next named the router
        if scenario != "storm" && !incidents.contains("a later message of it names") {
            failures.push(format!(
                "{scenario}: no alert moved by a later message naming its upstream"
            ));
        }
        if f1 < min_f1 || root < 0.9 {
            failures.push(format!(
                "{scenario}: F1 {f1:.3} (bar {min_f1}), root cause {root:.3}"
            ));
        }
    }
    assert!(failures.is_empty(), "below the bar: {failures:?}");
}

/// An intrusion-detection stream (`gen --scenario ids`: IDS alerts that never clear, routine
/// false positives, two multi-phase attacks; no topology exists for it): the attack phases
/// form incidents and the routine stays out of them. Before one host's new alerts were made
/// to wait while the stream is young, seed 1 scored F1 0.680 with 17.8% of its noise in
/// incidents (the first minutes' scheduled jobs); before clusters of one burst sharing a
/// source were merged, 0.770 (its first network scan in two incidents, one per rule); before
/// recurring patterns were withdrawn, 0.886 with 8.9% (the scheduled jobs' first runs, now
/// withdrawn at their third). Bars: seed 1's level on 2026-12-06 (twenty-first session:
/// 0.978, 0.0%, eight incidents withdrawn) with a margin.
#[test]
fn an_intrusion_detection_stream_forms_its_attack_phases() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("ids");
    let out = d.path().join("ids-out");
    run(&[
        "gen",
        "--scenario",
        "ids",
        "--seed",
        "1",
        "--events",
        "100000",
        "--out",
        data.to_str().unwrap(),
    ]);
    let r = replay_and_eval(&data, None, &out);
    let (f1, noise) = (
        r["f1"].as_f64().unwrap(),
        r["noise_in_incidents"].as_f64().unwrap(),
    );
    eprintln!(
        "ids, seed 1: F1 {f1:.3}, noise in incidents {:.1}%",
        noise * 100.0
    );
    assert!(f1 >= 0.93, "F1 {f1:.3} (bar 0.93)");
    assert!(noise <= 0.03, "noise in incidents {:.1}% (bar 3%)", noise * 100.0);
    // the routine jobs' first runs did form incidents, seen until they were withdrawn
    assert!(
        r["withdrawn_incidents"].as_u64().unwrap() >= 4,
        "withdrawn as routine: {}",
        r["withdrawn_incidents"]
    );
    assert!(r["noise_ever_in_incidents"].as_f64().unwrap() > noise);
    assert!(
        r["faults_detected"].as_u64().unwrap() * 10 >= r["faults"].as_u64().unwrap() * 8,
        "attack phases detected: {} of {}",
        r["faults_detected"],
        r["faults"]
    );
}

/// The same estate, seed 15 (a tuning seed): its first campaign scans ten hosts (`ws-01`,
/// `ws-03`, `ws-04`, `db`, `dns`, `intranet`, `vpn`, …) with three rules within a minute: 16
/// alerts, one incident. Each rule first gathers its own hosts, and their first alerts differ
/// on the number in `ws-01` / `ws-03` and on the address label — keys that only restate the
/// host, which once kept such clusters apart as if they were places (seed 16 of the stream before the
/// twenty-eighth session's web scans: F1 0.545 → 0.929). Bars: 2026-12-07's run (F1 0.971,
/// the scan's 16 alerts in one incident) with a margin.
#[test]
fn a_scan_across_hosts_named_alike_is_one_incident() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("ids15");
    let out = d.path().join("ids15-out");
    run(&[
        "gen",
        "--scenario",
        "ids",
        "--seed",
        "15",
        "--events",
        "100000",
        "--out",
        data.to_str().unwrap(),
    ]);
    let r = replay_and_eval(&data, None, &out);
    let f1 = r["f1"].as_f64().unwrap();
    eprintln!(
        "ids, seed 15: F1 {f1:.3}, largest incident {}",
        r["largest_incident"]
    );
    assert!(f1 >= 0.93, "F1 {f1:.3} (bar 0.93)");
    assert!(
        r["largest_incident"].as_u64().unwrap() >= 16,
        "the scan's 16 alerts in one incident: largest {}",
        r["largest_incident"]
    );
}

/// The same estate, seed 13 (a tuning seed): its second scan reaches eight hosts in all
/// three subnets within a minute, with rules the first scan had raised hours before. The
/// burst of new alerts is not yet beyond chance when some of its parts start, so they seed
/// incidents of their own on a shared rule id, sharing no host with the first part. All hold
/// `Inbound connection attempt to closed port`, a check rare here that starts on host after
/// host: one episode, merged — the scan's 12 alerts in one incident. (On the stream before the
/// twenty-eighth session's web scans, whose second scan reached ten hosts in two subnets, the
/// merge took F1 0.829 → 0.957.) Bars: 2026-12-07's run (F1 0.880, largest incident 14) with
/// a margin.
#[test]
fn a_scan_across_subnets_is_one_incident() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("ids13");
    let out = d.path().join("ids13-out");
    run(&[
        "gen",
        "--scenario",
        "ids",
        "--seed",
        "13",
        "--events",
        "100000",
        "--out",
        data.to_str().unwrap(),
    ]);
    let r = replay_and_eval(&data, None, &out);
    let f1 = r["f1"].as_f64().unwrap();
    eprintln!(
        "ids, seed 13: F1 {f1:.3}, largest incident {}",
        r["largest_incident"]
    );
    assert!(f1 >= 0.85, "F1 {f1:.3} (bar 0.85)");
    assert!(
        r["largest_incident"].as_u64().unwrap() >= 12,
        "the scan's 12 alerts in one incident: largest {}",
        r["largest_incident"]
    );
}
