//! What the generated alerts say: fault checks per node kind, one-off noise, chatty
//! low-information events and flapping checks.

use sitrep_core::Severity;

/// Fault alert vocabulary per node kind: (check, description template, severity for the
/// root, severity for dependants). `{n}` becomes a number, `{ip}` an address.
pub(super) fn fault_checks(kind: &str) -> &'static [(&'static str, &'static str, Severity, Severity)] {
    match kind {
        "core-router" => &[
            ("bgp_session_down", "BGP session to peer {ip} down, hold timer expired", Severity::Critical, Severity::Major),
            ("linecard_failure", "Linecard {n} failed, ports administratively down", Severity::Critical, Severity::Major),
        ],
        "agg-switch" => &[
            ("device_unreachable", "Device unreachable: ICMP and SNMP polling failed", Severity::Critical, Severity::Major),
            ("power_supply_failure", "Power supply unit {n} failed on chassis", Severity::Critical, Severity::Major),
            ("uplink_down", "Uplink interface to core down, LACP member lost", Severity::Major, Severity::Major),
        ],
        "cell" => &[
            ("cell_outage", "Cell site out of service, radio carriers disabled", Severity::Major, Severity::Major),
            ("s1_link_failure", "S1 link to MME {ip} lost, SCTP association aborted", Severity::Major, Severity::Minor),
            ("backhaul_degraded", "Backhaul packet loss {n}% exceeds threshold", Severity::Minor, Severity::Warning),
        ],
        "service" => &[
            ("error_rate_high", "Error ratio {n}% above SLO burn rate threshold", Severity::Major, Severity::Major),
            ("latency_high", "p99 latency {n}ms above objective", Severity::Major, Severity::Minor),
            ("availability_drop", "Success rate dropped to {n}% for subscriber sessions", Severity::Critical, Severity::Major),
        ],
        "node" => &[
            ("node_not_ready", "Kubelet stopped posting node status, NotReady", Severity::Critical, Severity::Major),
            ("disk_pressure", "Node filesystem {n}% used, eviction threshold reached", Severity::Major, Severity::Minor),
        ],
        _ /* pod */ => &[
            ("crash_loop", "Container restarting, CrashLoopBackOff after exit code {n}", Severity::Major, Severity::Major),
            ("pod_not_ready", "Readiness probe failed: connection refused on port {n}", Severity::Major, Severity::Minor),
            ("oom_killed", "Container OOMKilled at {n}Mi memory limit", Severity::Major, Severity::Minor),
        ],
    }
}

pub(super) const ONEOFF: [(&str, &str, Severity); 6] = [
    (
        "ntp_drift",
        "Clock offset {n}ms from reference exceeds tolerance",
        Severity::Warning,
    ),
    (
        "fan_speed",
        "Fan tray {n} running below expected speed",
        Severity::Minor,
    ),
    (
        "cert_expiry",
        "TLS certificate expires in {n} days",
        Severity::Warning,
    ),
    (
        "inode_usage",
        "Filesystem inode usage {n}% on volume",
        Severity::Minor,
    ),
    (
        "temperature",
        "Inlet temperature {n}C above warning threshold",
        Severity::Warning,
    ),
    (
        "process_restart",
        "Supervisor restarted worker process after {n}s",
        Severity::Minor,
    ),
];

pub(super) const CHATTY: [(&str, &str, Severity); 6] = [
    (
        "config_change",
        "Configuration saved by admin",
        Severity::Indeterminate,
    ),
    (
        "session",
        "User session opened for operator",
        Severity::Indeterminate,
    ),
    ("backup", "Scheduled backup completed", Severity::Indeterminate),
    ("logrotate", "Log file rotated", Severity::Warning),
    (
        "healthcheck",
        "Health check passed with warnings",
        Severity::Warning,
    ),
    (
        "snmp_auth",
        "SNMP request with unknown community",
        Severity::Warning,
    ),
];

pub(super) const FLAPPING: [(&str, &str); 3] = [
    (
        "link_flap",
        "Interface state changed, carrier transitions detected",
    ),
    ("probe_timeout", "Synthetic probe timed out intermittently"),
    ("queue_depth", "Queue depth oscillating around threshold"),
];

/// What a dependant says when its text names the upstream node that took it down
/// (`gen --names-in-text`): (check, description template); `{peer}` becomes the upstream
/// node's name. Worded as devices and services word it ("BGP neighbor … Down", "calls to …
/// failing"), so the estate's structure is in the words, not in labels.
pub(super) fn named_check(kind: &str) -> (&'static str, &'static str) {
    match kind {
        "core-router" => ("bgp_session_down", "BGP neighbor {peer} Down, hold timer expired"),
        "agg-switch" => ("uplink_down", "Uplink interface to {peer} changed state to down"),
        "cell" => ("s1_link_failure", "Backhaul link to {peer} lost, SCTP association aborted"),
        "service" => ("error_rate_high", "{n}% of calls to {peer} failing"),
        "node" => ("node_not_ready", "Kubelet lost connection to {peer}, NotReady"),
        _ /* pod */ => ("pod_not_ready", "Readiness probe failed: {peer} refused connection on port {n}"),
    }
}

/// Opaque host names for `gen --names-in-text`: a prefix per kind and a number that says
/// nothing of where the node sits. Services keep their names (a service is named by what it
/// does, and its alerts' `service` field says so).
pub(super) fn opaque_prefix(kind: &str) -> Option<&'static str> {
    match kind {
        "core-router" => Some("rtr"),
        "agg-switch" => Some("sw"),
        "cell" => Some("bts"),
        "node" => Some("host"),
        "pod" => Some("pod"),
        _ => None,
    }
}
