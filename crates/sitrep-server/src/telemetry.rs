//! Every metric the server exports, named, described (the `# HELP` lines of `/metrics`) and
//! emitted from here, one function per event, grouped by the component that reports it.
//! Components call these; no other module names a metric.

use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram, Unit};
use sitrep_core::query::StateCounts;
use sitrep_core::update::EngineStats;

/// Registers the descriptions (once, when the recorder is installed).
pub fn describe() {
    // intake (listeners, HTTP)
    describe_counter!(
        "sitrep_events_received_total",
        "Events accepted, by input (http, syslog-udp, syslog-tcp, snmp, …)"
    );
    describe_counter!(
        "sitrep_events_rejected_total",
        "Inputs refused and written to the dead letters, by input and reason"
    );
    describe_counter!(
        "sitrep_requests_shed_total",
        "HTTP ingest requests answered 503 because too many were in flight"
    );
    describe_gauge!("sitrep_requests_in_flight", "HTTP ingest requests being handled");
    describe_counter!("sitrep_actions_total", "Operator actions applied to incidents");
    describe_counter!(
        "sitrep_listener_restarts_total",
        "Listener loops started again after a panic, by listener"
    );
    // journal
    describe_counter!(
        "sitrep_journal_write_failures_total",
        "Journal group commits whose write or fsync failed (every input in them was refused)"
    );
    describe_counter!(
        "sitrep_snapshot_failures_total",
        "Snapshots that failed to be written"
    );
    describe_gauge!(
        "sitrep_journal_failing",
        "1 while the latest journal write failed (/readyz answers 503), else 0"
    );
    describe_histogram!(
        "sitrep_journal_fsync_seconds",
        Unit::Seconds,
        "Time to write and fsync one group commit of the journal"
    );
    describe_histogram!(
        "sitrep_journal_batch_records",
        "Records in one group commit of the journal"
    );
    describe_gauge!(
        "sitrep_journal_queue_records",
        "Records waiting for the journal writer"
    );
    describe_counter!(
        "sitrep_journal_damaged_bytes_total",
        "Journal bytes found damaged at start (copied aside, their records lost)"
    );
    describe_counter!(
        "sitrep_journal_unreadable_records_total",
        "Journal records of a kind this version cannot read, skipped at start"
    );
    // engine
    describe_histogram!(
        "sitrep_processing_seconds",
        Unit::Seconds,
        "Engine time for one submitted batch of inputs"
    );
    describe_histogram!(
        "sitrep_snapshot_seconds",
        Unit::Seconds,
        "Time to write one engine snapshot"
    );
    describe_histogram!(
        "sitrep_snapshot_pause_seconds",
        Unit::Seconds,
        "Time a snapshot held the engine (taking its copy-on-write view); ingest waits that long"
    );
    describe_gauge!(
        "sitrep_snapshot_bytes",
        Unit::Bytes,
        "Size of the latest engine snapshot"
    );
    describe_gauge!("sitrep_alerts", "Alerts held, by state (open, cleared)");
    describe_gauge!(
        "sitrep_incidents",
        "Incidents held, by state (open, acknowledged, resolved, closed)"
    );
    describe_gauge!("sitrep_alerts_active", "Alerts raised now (not cleared)");
    describe_gauge!("sitrep_incidents_active", "Incidents open or acknowledged now");
    describe_counter!(
        "sitrep_correlation_candidates_judged_total",
        "Clusters a new alert was judged against, summed: the work of correlation (bounded \
         per alert; a rise per alert means more clusters share its values)"
    );
    // live feed
    describe_counter!("sitrep_alert_updates_total", "Alert updates published, by change");
    describe_counter!("sitrep_incident_updates_total", "Incident updates published");
    // webhooks
    describe_counter!(
        "sitrep_webhook_deliveries_total",
        "Webhook deliveries, by webhook and result (ok, failed after every retry)"
    );
    describe_counter!(
        "sitrep_webhook_retries_total",
        "Webhook delivery attempts retried, by webhook"
    );
    describe_counter!(
        "sitrep_webhook_dropped_total",
        "Incident updates a slow webhook missed (its queue overflowed), by webhook"
    );
}

pub fn events_received(source: &str, n: u64) {
    counter!("sitrep_events_received_total", "source" => source.to_string()).increment(n);
}

pub fn event_rejected(source: &str, reason: &str) {
    counter!("sitrep_events_rejected_total", "source" => source.to_string(), "reason" => reason.to_string())
        .increment(1);
}

pub fn connection_refused(listener: &'static str) {
    counter!("sitrep_connections_refused_total", "listener" => listener).increment(1);
}

pub fn listener_restarted(listener: &'static str) {
    counter!("sitrep_listener_restarts_total", "listener" => listener).increment(1);
}

pub fn request_shed() {
    counter!("sitrep_requests_shed_total").increment(1);
}

pub fn action_applied() {
    counter!("sitrep_actions_total").increment(1);
}

pub fn journal_commit(seconds: f64, records: usize) {
    histogram!("sitrep_journal_fsync_seconds").record(seconds);
    histogram!("sitrep_journal_batch_records").record(records as f64);
}

pub fn journal_write(ok: bool) {
    if !ok {
        counter!("sitrep_journal_write_failures_total").increment(1);
    }
    gauge!("sitrep_journal_failing").set(if ok { 0.0 } else { 1.0 });
}

pub fn dead_letter_write_failed() {
    counter!("sitrep_dead_letter_write_failures_total").increment(1);
}

pub fn snapshot_failed() {
    counter!("sitrep_snapshot_failures_total").increment(1);
}

pub fn journal_damaged(bytes: u64) {
    counter!("sitrep_journal_damaged_bytes_total").increment(bytes);
}

pub fn journal_unreadable_record() {
    counter!("sitrep_journal_unreadable_records_total").increment(1);
}

pub fn processed(seconds: f64) {
    histogram!("sitrep_processing_seconds").record(seconds);
}

/// How long a snapshot held the engine (ingest waits that long).
pub fn snapshot_paused(seconds: f64) {
    histogram!("sitrep_snapshot_pause_seconds").record(seconds);
}

pub fn snapshot_written(seconds: f64, bytes: usize) {
    histogram!("sitrep_snapshot_seconds").record(seconds);
    gauge!("sitrep_snapshot_bytes").set(bytes as f64);
}

/// The gauges sampled every tick.
pub fn state_sample(
    counts: &StateCounts,
    stats: &EngineStats,
    incidents_active: u64,
    in_flight: usize,
    journal_queue: usize,
) {
    for (state, n) in [("open", counts.alerts_open), ("cleared", counts.alerts_cleared)] {
        gauge!("sitrep_alerts", "state" => state).set(n as f64);
    }
    for (state, n) in [
        ("open", counts.incidents_open),
        ("acknowledged", counts.incidents_acknowledged),
        ("resolved", counts.incidents_resolved),
        ("closed", counts.incidents_closed),
    ] {
        gauge!("sitrep_incidents", "state" => state).set(n as f64);
    }
    gauge!("sitrep_alerts_active").set(stats.alerts_active as f64);
    counter!("sitrep_correlation_candidates_judged_total").absolute(stats.candidates_judged);
    gauge!("sitrep_incidents_active").set(incidents_active as f64);
    gauge!("sitrep_requests_in_flight").set(in_flight as f64);
    gauge!("sitrep_journal_queue_records").set(journal_queue as f64);
}

pub fn alert_update(change: &'static str) {
    counter!("sitrep_alert_updates_total", "change" => change).increment(1);
}

pub fn incident_update() {
    counter!("sitrep_incident_updates_total").increment(1);
}

pub fn webhook_delivered(webhook: &str, ok: bool) {
    counter!("sitrep_webhook_deliveries_total", "webhook" => webhook.to_string(), "result" => if ok { "ok" } else { "failed" })
        .increment(1);
}

pub fn webhook_retry(webhook: &str) {
    counter!("sitrep_webhook_retries_total", "webhook" => webhook.to_string()).increment(1);
}

pub fn webhook_dropped(webhook: &str, n: u64) {
    counter!("sitrep_webhook_dropped_total", "webhook" => webhook.to_string()).increment(n);
}
