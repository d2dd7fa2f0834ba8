//! The throughput stream for benchmarks: exactly `events` native events of about 300 bytes,
//! a share `new_alert_share` of which start a new alert (the rest are duplicates of a
//! uniformly chosen earlier alert with the alert's own severity; ~5% of them are clears). Not a realistic estate (see
//! [`crate::gen`] for that): a fixed, reproducible load with a known number of alerts.

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

pub fn bench_stream(events: usize, new_alert_share: f64, seed: u64) -> Vec<String> {
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
        let sev = if rng.gen_bool(0.05) {
            "clear"
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

    #[test]
    fn sized_and_duplicated() {
        let s = bench_stream(20_000, 0.1, 1);
        assert_eq!(s.len(), 20_000);
        let avg = s.iter().map(|l| l.len()).sum::<usize>() / s.len();
        assert!((250..=350).contains(&avg), "{avg} bytes per event");
        let distinct: std::collections::HashSet<(&str, &str)> = s
            .iter()
            .map(|l| {
                (
                    l.split("\"source\":\"")
                        .nth(1)
                        .unwrap()
                        .split('"')
                        .next()
                        .unwrap(),
                    l.split("\"check\":\"").nth(1).unwrap().split('"').next().unwrap(),
                )
            })
            .collect();
        let share = distinct.len() as f64 / s.len() as f64;
        assert!((0.08..0.12).contains(&share), "{share}");
    }
}
