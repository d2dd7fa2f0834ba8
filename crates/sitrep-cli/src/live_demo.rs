//! `sitrep demo` (the default form): the server with a built-in scenario fed in real time.
//! The scenario's event times are rebased onto the wall clock and divided by `--speed`, so
//! an hour of a telco estate's faults plays in a minute at speed 60; a newcomer opens the
//! printed URL and watches incidents form in the situation room.

use crate::demo::DemoArgs;
use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use sitrep_core::InputFormat;
use sitrep_scenario::{generate, Scenario};
use sitrep_server::state::now_ms;
use std::time::Duration;

pub fn run(a: DemoArgs) -> Result<()> {
    let Some(s) = Scenario::parse(&a.scenario) else {
        bail!("unknown scenario `{}` (telco, micro, storm)", a.scenario)
    };
    let data = a.out.join("scenario");
    let state = a.out.join("state");
    // a fresh state each run: the scenario is replayed from its start
    let _ = std::fs::remove_dir_all(&state);
    let g = generate(s, a.seed, a.events);
    crate::scenario::write_generated(&data, &g.lines, &g.truth, &g.topology, g.maintenance)?;
    let engine = crate::load::config(Some(&data.join("sitrep.toml")))?;
    let mut server = sitrep_server::ServerSection::from_table(&engine.server).map_err(anyhow::Error::msg)?;
    server.data_dir = state;
    server.listen = a.listen;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async move {
        let srv = sitrep_server::start(engine, server).await?;
        let shared = srv.shared.clone();
        crate::print_bound(&srv);
        println!(
            "sitrep demo: open http://{}/ — scenario `{}` ({} events, {} faults on {} nodes) at {}× speed",
            srv.bound.http,
            a.scenario,
            g.lines.len(),
            g.truth.faults.len(),
            g.topology.nodes.len(),
            a.speed
        );
        // parse once, then play: each event is due at start + (t - t0) / speed
        let mut events = Vec::with_capacity(g.lines.len());
        let mut out = Vec::new();
        for l in &g.lines {
            out.clear();
            shared
                .normaliser
                .normalise(&InputFormat::Native, l.as_bytes(), 0, &mut out);
            if let Some(Ok(e)) = out.pop() {
                events.push(e);
            }
        }
        let t0 = events.first().and_then(|e| e.time).context("empty scenario")?;
        let start = now_ms();
        let due = |t: i64| start + ((t - t0) as f64 / a.speed) as i64;
        let bar = ProgressBar::new(events.len() as u64);
        bar.set_style(ProgressStyle::with_template("{bar:40} {pos}/{len} events · {msg}").expect("template"));
        let mut next = 0usize;
        while next < events.len() {
            let now = now_ms();
            let mut batch = Vec::new();
            while next < events.len() && due(events[next].time.unwrap_or(t0)) <= now {
                let mut e = events[next].clone();
                e.time = Some(due(e.time.unwrap_or(t0)));
                batch.push(e);
                next += 1;
            }
            if !batch.is_empty() {
                bar.inc(batch.len() as u64);
                shared
                    .submit_events(batch, now)
                    .wait()
                    .await
                    .map_err(anyhow::Error::msg)?;
                let st = shared.engine().stats();
                bar.set_message(format!(
                    "{} alerts, {} incidents open",
                    st.alerts_active, st.incidents_active
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bar.finish();
        let st = shared.engine().stats();
        println!(
            "fed {} events: {} alerts, {} incidents opened ({} open now)",
            st.events, st.alerts_created, st.incidents_opened, st.incidents_active
        );
        if a.exit_after_feed {
            return anyhow::Ok(());
        }
        println!("still serving http://{}/ — Ctrl-C to stop", srv.bound.http);
        tokio::signal::ctrl_c().await?;
        anyhow::Ok(())
    })
}
