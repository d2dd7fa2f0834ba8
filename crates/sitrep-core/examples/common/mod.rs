//! The active alerts the memory and restore examples hold: `n` distinct alerts over one hour
//! of event time (8 checks, 500 services, two labels, a numbered description).

use sitrep_core::{Engine, Event, Severity};

/// When the first of them starts.
pub const T0: i64 = 1_795_478_400_000;

pub fn fill(e: &mut Engine, n: u64) {
    let t0 = T0;
    let step = (3_600_000 / n.max(1) as i64).max(1);
    for i in 0..n {
        let ev = Event {
            source: format!("host-{:07}.dc{}.example.net", i / 8, i % 4).into(),
            check: [
                "cpu_high",
                "disk_full",
                "link_down",
                "http_5xx",
                "mem",
                "bgp",
                "latency",
                "queue",
            ][(i % 8) as usize]
                .into(),
            severity: Severity::Major,
            description: format!(
                "Filesystem /var usage {}% exceeds critical threshold",
                50 + i % 50
            ),
            time: Some(t0 + i as i64 * step),
            service: Some(format!("svc-{}", i % 500).into()),
            labels: vec![
                ("dc".into(), format!("dc{}", i % 4).into()),
                ("env".into(), "prod".into()),
            ],
            ..Event::default()
        };
        e.process(&ev);
        if i % 4096 == 0 {
            e.drain_updates().for_each(drop);
        }
    }
    e.drain_updates().for_each(drop);
}
