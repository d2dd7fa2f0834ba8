//! `sitrep demo` (the default form): the server with a built-in scenario fed in real time.
//! The events keep their scenario times and are fed `--speed` scenario seconds per
//! wall-clock second (an hour of a telco estate's faults in a minute at speed 60); the
//! engine's clock is the scenario's, driven by the feeder, so the incidents it forms are
//! exactly those of `demo --batch` for the same scenario and seed (a test checks it). A
//! newcomer opens the printed URL and watches incidents form in the situation room; the
//! final line, `/api/v1/stats` (`feed`) and the UI say when the feed has ended.

use crate::demo::DemoArgs;
use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use sitrep_core::time::format_rfc3339;
use sitrep_core::InputFormat;
use sitrep_scenario::{generate, Scenario};
use std::io::Write;
use std::time::{Duration, Instant};

pub fn run(a: DemoArgs) -> Result<()> {
    let Some(s) = Scenario::parse(&a.scenario) else {
        bail!("unknown scenario `{}` (telco, micro, storm, ids)", a.scenario)
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
        // parse once, then play in scenario time: the engine's clock is the scenario's,
        // moved by this feeder only after every event up to it has been fed, so its windows,
        // timers and maintenance see what a batch replay sees (an honest demo)
        let normaliser = sitrep_core::Normaliser::new(&engine).map_err(anyhow::Error::msg)?;
        let mut events = Vec::with_capacity(g.lines.len());
        let mut out = Vec::new();
        for l in &g.lines {
            out.clear();
            normaliser
                .normalise(&InputFormat::Native, l.as_bytes(), 0, &mut out);
            if let Some(Ok(e)) = out.pop() {
                events.push(e);
            }
        }
        let t0 = events.first().and_then(|e| e.time).context("empty scenario")?;
        let t_last = events.iter().filter_map(|e| e.time).max().unwrap_or(t0);
        let srv = sitrep_server::start_with_clock(engine, server, Some(t0)).await?;
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
        let name = format!("scenario {}, seed {}", a.scenario, a.seed);
        let status = |fed: usize, ended: bool| sitrep_server::state::FeedStatus {
            name: name.clone(),
            speed: a.speed,
            fed: fed as u64,
            total: events.len() as u64,
            ended,
        };
        shared.set_feed_status(status(0, false));
        let started = Instant::now();
        // scenario time now, never past the last event: the feed's end leaves the engine
        // where a batch replay of the same stream ends
        let horizon = |at: Instant| {
            (t0 + (at.duration_since(started).as_secs_f64() * 1000.0 * a.speed) as i64).min(t_last)
        };
        let bar = ProgressBar::new(events.len() as u64);
        bar.set_style(ProgressStyle::with_template("{bar:40} {pos}/{len} events · {msg}").expect("template"));
        let mut next = 0usize;
        loop {
            let until = horizon(Instant::now());
            let from = next;
            while next < events.len() && events[next].time.unwrap_or(t0) <= until {
                next += 1;
            }
            if next > from {
                bar.inc((next - from) as u64);
                sitrep_server::telemetry::events_received("demo", (next - from) as u64);
                shared
                    .submit_events(events[from..next].to_vec(), until)
                    .wait()
                    .await
                    .map_err(anyhow::Error::msg)?;
            }
            shared.drive_clock(until);
            let ended = next == events.len();
            shared.set_feed_status(status(next, ended));
            let st = shared.engine().stats();
            bar.set_message(format!(
                "{} · {} alerts, {} incidents open",
                format_rfc3339(until),
                st.alerts_active,
                st.incidents_active
            ));
            if ended {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bar.finish();
        let (st, incidents) = {
            let engine = shared.engine();
            (engine.stats(), engine.incidents())
        };
        // what the live run found, as `demo --batch` writes it: the two can be compared
        let found = a.out.join("live");
        std::fs::create_dir_all(&found)?;
        let mut w = std::io::BufWriter::new(std::fs::File::create(found.join("incidents.jsonl"))?);
        for i in &incidents {
            serde_json::to_writer(&mut w, i)?;
            w.write_all(b"\n")?;
        }
        w.flush()?;
        println!(
            "feed ended: {} events fed ({} → {} scenario time): {} alerts, {} incidents opened ({} open now); incidents in {}",
            st.events,
            format_rfc3339(t0),
            format_rfc3339(t_last),
            st.alerts_created,
            st.incidents_opened,
            st.incidents_active,
            found.join("incidents.jsonl").display()
        );
        if a.exit_after_feed {
            return anyhow::Ok(());
        }
        println!(
            "no more events will come; the clock goes on at real speed — still serving http://{}/, Ctrl-C to stop",
            srv.bound.http
        );
        // after the feed, scenario time flows at 1×: incidents resolve and close on their
        // own timers while the operator looks around
        let ended_at = Instant::now();
        let clock = shared.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(250)).await;
                clock.drive_clock(t_last + ended_at.elapsed().as_millis() as i64);
            }
        });
        tokio::signal::ctrl_c().await?;
        anyhow::Ok(())
    })
}
