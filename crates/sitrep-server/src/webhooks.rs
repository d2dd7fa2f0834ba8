//! Outbound notifications: each configured webhook receives incident updates it asked for
//! (`opened`, `updated`, `resolved`) as the update's JSON (schema v1), one POST per update,
//! in order, with an `Idempotency-Key` of `{incident id}:{seq}` so that a receiver can drop
//! the duplicates a retry may cause. Failures are retried with exponential backoff (doubling
//! from `backoff_ms`, at most 60 s) up to `max_attempts`; then the update is counted as
//! failed and delivery goes on with the next.
//!
//! Delivery is at-least-once while the process lives; updates queued for a webhook when the
//! process stops are not re-sent after a restart (the Kafka sink is the durable feed).

use crate::config::WebhookConfig;
use crate::live::LiveMsg;
use crate::state::Shared;
use sitrep_core::update::{IncidentChange, IncidentUpdate};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// Which subscription an incident change falls under.
pub fn kind_of(change: IncidentChange) -> &'static str {
    match change {
        IncidentChange::Opened => "opened",
        // a withdrawn incident is closed (as routine): receivers that follow incidents to
        // their end must hear of it
        IncidentChange::Resolved | IncidentChange::Closed | IncidentChange::Withdrawn => "resolved",
        _ => "updated",
    }
}

pub fn wants(cfg: &WebhookConfig, change: IncidentChange) -> bool {
    cfg.on.is_empty() || cfg.on.iter().any(|o| o == kind_of(change))
}

pub fn idempotency_key(u: &IncidentUpdate) -> String {
    format!("{}:{}", u.incident.id, u.seq)
}

/// Delay before attempt `n` (1-based retries).
pub fn backoff(cfg: &WebhookConfig, retry: u32) -> Duration {
    let ms = cfg
        .backoff_ms
        .saturating_mul(1u64 << retry.min(16).saturating_sub(1));
    Duration::from_millis(ms.min(60_000))
}

pub fn spawn_all(shared: &Arc<Shared>) {
    for (i, cfg) in shared.cfg.webhooks.iter().enumerate() {
        let rx = shared.feed.subscribe();
        let cfg = cfg.clone();
        tokio::spawn(deliver(i, cfg, rx));
    }
}

async fn deliver(index: usize, cfg: WebhookConfig, mut rx: tokio::sync::broadcast::Receiver<LiveMsg>) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("http client");
    let label = format!("{index}");
    loop {
        let (update, json) = match rx.recv().await {
            Ok(LiveMsg::Incident(u, json)) => (u, json),
            Ok(LiveMsg::Stats(_)) => continue,
            Err(RecvError::Lagged(n)) => {
                crate::telemetry::webhook_dropped(&label, n);
                continue;
            }
            Err(RecvError::Closed) => return,
        };
        if !wants(&cfg, update.change) {
            continue;
        }
        let key = idempotency_key(&update);
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let mut req = client
                .post(&cfg.url)
                .header("content-type", "application/json")
                .header("idempotency-key", &key)
                .header("x-sitrep-event", kind_of(update.change))
                .body(json.to_string());
            if let Some(t) = &cfg.token {
                req = req.bearer_auth(t);
            }
            let ok = matches!(req.send().await, Ok(r) if r.status().is_success());
            if ok {
                crate::telemetry::webhook_delivered(&label, true);
                break;
            }
            if attempt >= cfg.max_attempts.max(1) {
                crate::telemetry::webhook_delivered(&label, false);
                tracing::error!(url = %cfg.url, key = %key, attempts = attempt, "webhook: giving up");
                break;
            }
            crate::telemetry::webhook_retry(&label);
            tokio::time::sleep(backoff(&cfg, attempt)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(on: &[&str]) -> WebhookConfig {
        WebhookConfig {
            url: "http://127.0.0.1:1/".into(),
            on: on.iter().map(|s| s.to_string()).collect(),
            max_attempts: 5,
            backoff_ms: 100,
            token: None,
        }
    }

    #[test]
    fn subscriptions_and_backoff() {
        let c = cfg(&["opened", "resolved"]);
        assert!(wants(&c, IncidentChange::Opened));
        assert!(wants(&c, IncidentChange::Closed));
        assert!(
            wants(&c, IncidentChange::Withdrawn),
            "closed as routine is an end too"
        );
        assert!(!wants(&c, IncidentChange::AlertAdded));
        assert!(wants(&cfg(&[]), IncidentChange::AlertAdded));
        assert_eq!(backoff(&c, 1), Duration::from_millis(100));
        assert_eq!(backoff(&c, 3), Duration::from_millis(400));
        assert_eq!(backoff(&c, 30), Duration::from_secs(60));
    }
}
