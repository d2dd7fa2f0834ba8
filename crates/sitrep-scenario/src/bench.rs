//! The throughput streams for benchmarks: exactly `events` native events of about 300 bytes,
//! a share of which start a new alert; the rest repeat a uniformly chosen earlier alert.
//! Not a realistic estate (see [`crate::gen`] for that): fixed, reproducible loads with a
//! known number of alerts, in two shapes ([`Load`]):
//! - `bench`: a repeat keeps its alert's severity, 5% are clears: mostly pure duplicates,
//!   the cheap case (a count and a timestamp change);
//! - `churn`: one repeat in five is a clear and every other draws its severity anew (it
//!   changes on three repeats in four): nearly every event changes its alert's state and
//!   makes an update, the expensive case.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sitrep_core::time::format_rfc3339;

const CHECKS: [(&str, &str); 8] = [
    (
        "cpu_high",
        "CPU utilisation {n}% above threshold for 5 minutes on all cores",
    ),
    (
        "disk_full",
        "Filesystem /var usage {n}% exceeds critical threshold, {n} GB free",
    ),
    (
        "link_down",
        "Interface GigabitEthernet0/{n} changed state to down, carrier lost",
    ),
    (
        "http_5xx",
        "HTTP 5xx ratio {n}% on upstream pool, {n} requests failed in window",
    ),
    (
        "mem_pressure",
        "Memory pressure: {n}% used, swap activity {n} pages per second",
    ),
    (
        "bgp_down",
        "BGP neighbour 10.0.{n}.1 session down, hold timer expired after {n}s",
    ),
    (
        "latency",
        "p99 request latency {n}ms above objective for service endpoint",
    ),
    (
        "queue_depth",
        "Message queue depth {n} above threshold, consumers lagging {n}s",
    ),
];
const SEVERITIES: [&str; 4] = ["warning", "minor", "major", "critical"];

/// The shape of a fixed load (see the module's documentation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Load {
    /// Share of events that start a new alert (0.1: 100,000 alerts in 1,000,000 events).
    pub new_alert_share: f64,
    /// Share of events that are clears.
    pub clear_share: f64,
    /// Whether a repeat draws its severity anew instead of keeping its alert's.
    pub severity_churn: bool,
}

impl Load {
    pub const BENCH: Load = Load {
        new_alert_share: 0.1,
        clear_share: 0.05,
        severity_churn: false,
    };
    pub const CHURN: Load = Load {
        new_alert_share: 0.1,
        clear_share: 0.2,
        severity_churn: true,
    };

    pub fn by_name(name: &str) -> Option<Load> {
        match name {
            "bench" => Some(Load::BENCH),
            "churn" => Some(Load::CHURN),
            _ => None,
        }
    }
}

pub fn bench_stream(events: usize, new_alert_share: f64, seed: u64) -> Vec<String> {
    load_stream(
        events,
        Load {
            new_alert_share,
            ..Load::BENCH
        },
        seed,
    )
}

pub fn load_stream(events: usize, load: Load, seed: u64) -> Vec<String> {
    let new_alert_share = load.new_alert_share;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let t0 = 1_795_478_400_000i64;
    let mut alerts: Vec<(u32, u8, u8)> = Vec::new();
    let mut out = Vec::with_capacity(events);
    for i in 0..events {
        let (host, check, sev) = if alerts.is_empty() || rng.gen_bool(new_alert_share) {
            let a = (
                rng.gen_range(0..1_000_000u32),
                rng.gen_range(0..CHECKS.len() as u8),
                rng.gen_range(0..4u8),
            );
            alerts.push(a);
            a
        } else {
            alerts[rng.gen_range(0..alerts.len())]
        };
        let (name, tpl) = CHECKS[check as usize];
        let sev = if rng.gen_bool(load.clear_share) {
            "clear"
        } else if load.severity_churn {
            SEVERITIES[rng.gen_range(0..SEVERITIES.len())]
        } else {
            SEVERITIES[sev as usize]
        };
        let desc = tpl.replace("{n}", &rng.gen_range(1..100).to_string());
        out.push(format!(
            r#"{{"source":"host-{host:06}.dc{}.example.net","check":"{name}","severity":"{sev}","description":"{desc}","time":"{}","service":"svc-{}","manager":"bench","labels":{{"dc":"dc{}","env":"prod"}},"id":"b-{i}"}}"#,
            host % 4,
            format_rfc3339(t0 + i as i64 * 3),
            host % 500,
            host % 4,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value of a string field in one generated line.
    fn field<'a>(line: &'a str, name: &str) -> &'a str {
        let start = format!("\"{name}\":\"");
        line.split(start.as_str())
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
    }

    #[test]
    fn churn_changes_most_repeats() {
        let s = load_stream(20_000, Load::CHURN, 1);
        assert_eq!(s.len(), 20_000);
        let sev = |l: &str| field(l, "severity").to_string();
        let key = |l: &str| format!("{}/{}", field(l, "source"), field(l, "check"));
        let mut last = std::collections::HashMap::new();
        let (mut repeats, mut changed, mut clears) = (0, 0, 0);
        for l in &s {
            let (k, v) = (key(l), sev(l));
            clears += usize::from(v == "clear");
            if let Some(prev) = last.insert(k, v.clone()) {
                repeats += 1;
                changed += usize::from(prev != v);
            }
        }
        let (changed, clears) = (changed as f64 / repeats as f64, clears as f64 / s.len() as f64);
        assert!(changed > 0.6, "{changed} of repeats change severity");
        assert!((0.17..0.23).contains(&clears), "{clears} clears");
        // the bench stream is the same as before the loads were named
        assert_eq!(bench_stream(500, 0.1, 3), load_stream(500, Load::BENCH, 3));
    }

    #[test]
    fn sized_and_duplicated() {
        let s = bench_stream(20_000, 0.1, 1);
        assert_eq!(s.len(), 20_000);
        let avg = s.iter().map(|l| l.len()).sum::<usize>() / s.len();
        assert!((250..=350).contains(&avg), "{avg} bytes per event");
        let distinct: std::collections::HashSet<(&str, &str)> = s
            .iter()
            .map(|l| (field(l, "source"), field(l, "check")))
            .collect();
        let share = distinct.len() as f64 / s.len() as f64;
        assert!((0.08..0.12).contains(&share), "{share}");
    }
}
