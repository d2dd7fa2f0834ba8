//! `sitrep demo --batch`: generates a built-in scenario, replays it with the default
//! config, scores it against the truth and prints the incidents it found, each with its
//! root cause and why its members were grouped. Without `--batch` the demo is live: see
//! [`crate::live_demo`].

use crate::replay::{self, ReplayArgs};
use crate::scenario::{self, EvalArgs};
use anyhow::{bail, Result};
use clap::Args;
use sitrep_core::time::format_rfc3339;
use sitrep_core::update::IncidentView;
use sitrep_scenario::{generate, Scenario};
use std::io::BufRead;
use std::path::PathBuf;

#[derive(Args, Clone)]
pub struct DemoArgs {
    #[arg(long, default_value = "telco")]
    pub scenario: String,
    #[arg(long, default_value_t = 50_000)]
    pub events: usize,
    /// Replay offline and print the incidents, instead of serving the live UI.
    #[arg(long)]
    pub batch: bool,
    /// Live: HTTP address of the API and UI.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    /// Live: scenario seconds per wall-clock second.
    #[arg(long, default_value_t = 60.0)]
    pub speed: f64,
    /// Live: stop once the scenario has been fed (for scripts and tests).
    #[arg(long)]
    pub exit_after_feed: bool,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Where the stream and the replay's output go.
    #[arg(long, default_value = "out/demo")]
    pub out: PathBuf,
    /// Incidents to print.
    #[arg(long, default_value_t = 5)]
    pub show: usize,
}

pub fn run(a: DemoArgs) -> Result<()> {
    if !a.batch {
        return crate::live_demo::run(a);
    }
    let Some(s) = Scenario::parse(&a.scenario) else {
        bail!("unknown scenario `{}` (telco, micro, storm, ids)", a.scenario)
    };
    let data = a.out.join("scenario");
    let result = a.out.join("replay");
    println!(
        "sitrep demo: scenario `{}`, {} events, seed {}",
        a.scenario, a.events, a.seed
    );
    let g = generate(s, a.seed, a.events);
    scenario::write_generated(&data, &g.lines, &g.truth, &g.topology, g.maintenance)?;
    println!(
        "  generated {} events from {} faults plus noise (one-off, flapping, chatty, maintenance) on {} nodes",
        g.lines.len(),
        g.truth.faults.len(),
        g.topology.nodes.len()
    );
    let outcome = replay::run(ReplayArgs {
        input: data.join("events.jsonl").display().to_string(),
        config: Some(data.join("sitrep.toml")),
        out: result.clone(),
        format: sitrep_core::InputFormat::Native,
        threads: None,
        partition: 0,
        reference_time: None,
        chunk_bytes: 4 << 20,
        quiet: true,
        parse_only: false,
        updates: replay::UpdatesForm::Compact,
        full_state_secs: 3600,
    })?;
    println!(
        "  replayed in {:.2} s ({:.0} events/s): {} alerts, {} incidents\n",
        outcome.seconds,
        outcome.stats.events as f64 / outcome.seconds.max(1e-9),
        outcome.stats.alerts_created,
        outcome.stats.incidents_opened
    );
    let report = scenario::eval(EvalArgs {
        truth: data.join("truth.json"),
        out: result.clone(),
        quiet: true,
    })?;
    println!("{}\n", report.summary());

    let f = std::fs::File::open(result.join("incidents.jsonl"))?;
    let mut incidents: Vec<IncidentView> = Vec::new();
    for l in std::io::BufReader::new(f).lines() {
        incidents.push(serde_json::from_str(&l?)?);
    }
    incidents.sort_by(|x, y| {
        y.summary
            .alert_count
            .cmp(&x.summary.alert_count)
            .then(x.summary.id.cmp(&y.summary.id))
    });
    println!("The {} largest incidents:", a.show.min(incidents.len()));
    for inc in incidents.iter().take(a.show) {
        let s = &inc.summary;
        println!(
            "\n  {} [{:?}, {}] {}\n    {} .. {}  recipe `{}`\n    probable root cause: {} on {} ({})",
            s.id,
            s.state,
            s.max_severity.as_str(),
            s.title,
            format_rfc3339(s.first_time),
            format_rfc3339(s.last_time),
            s.recipe,
            s.root_cause.check,
            s.root_cause.source,
            s.root_cause.reason
        );
        for m in inc.members.iter().skip(1).take(3) {
            let w = &m.why;
            let detail = match (w.hops, &w.direction) {
                (Some(h), Some(d)) => {
                    format!("{h} hop(s) {d} of {}", w.compared_with.as_deref().unwrap_or("?"))
                }
                _ => w
                    .matched
                    .iter()
                    .map(|f| format!("{} {} ({:.2})", f.field, f.method, f.similarity))
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            println!(
                "      + {} joined {:.0} s after the previous alert: {} [{}]",
                m.signature,
                w.gap_ms as f64 / 1000.0,
                detail,
                w.kind
            );
        }
        if inc.members.len() > 4 {
            println!("      … and {} more", inc.members.len() - 4);
        }
    }
    println!(
        "\nFiles: {} (updates.jsonl, alerts.jsonl, incidents.jsonl, eval.json)",
        result.display()
    );
    Ok(())
}
