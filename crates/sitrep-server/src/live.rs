//! The live feed: where the server's output goes, as a [`Sink`]. Alert and incident updates
//! are counted in the metrics; incident updates go, serialised once, to every subscriber of
//! the broadcast (the UI's event stream, each webhook's delivery task); dead letters are
//! counted and appended to the dead-letter file.
//!
//! The feed is shared by every request and listener: it is synchronised inside (a
//! broadcast channel, the file's lock), so `Sink` is implemented for `&LiveFeed`.

use crate::dead_letters::DeadLetterFile;
use crate::telemetry;
use sitrep_core::update::{AlertChange, IncidentUpdate};
use sitrep_core::{DeadLetter, Update};
use sitrep_publish::{PublishError, Sink};
use std::sync::Arc;
use tokio::sync::broadcast;

/// What the live feed carries: incident updates (serialised once for every subscriber)
/// and a stats sample per tick.
#[derive(Debug, Clone)]
pub enum LiveMsg {
    Incident(Arc<IncidentUpdate>, Arc<str>),
    Stats(Arc<str>),
}

/// Messages a slow subscriber may fall behind by before it misses some (it is told how
/// many, and the UI reloads).
const BACKLOG: usize = 4096;

pub struct LiveFeed {
    pub live: broadcast::Sender<LiveMsg>,
    dead_letters: DeadLetterFile,
}

impl LiveFeed {
    pub fn new(dead_letters: DeadLetterFile) -> LiveFeed {
        LiveFeed {
            live: broadcast::channel(BACKLOG).0,
            dead_letters,
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<LiveMsg> {
        self.live.subscribe()
    }
}

impl Sink for &LiveFeed {
    fn write_updates(&mut self, updates: &mut dyn Iterator<Item = Update>) -> Result<(), PublishError> {
        for u in updates {
            match u {
                Update::Alert(a) => {
                    telemetry::alert_update(change_name(&a.change));
                }
                Update::Incident(i) => {
                    telemetry::incident_update();
                    if self.live.receiver_count() > 0 {
                        let json: Arc<str> = serde_json::to_string(&i).expect("update serialises").into();
                        let _ = self.live.send(LiveMsg::Incident(Arc::new(i), json));
                    }
                }
            }
        }
        Ok(())
    }

    fn write_dead_letters(&mut self, letters: &[DeadLetter]) -> Result<(), PublishError> {
        for d in letters {
            telemetry::event_rejected(&d.input, &d.code);
            self.dead_letters.write(d);
        }
        Ok(())
    }

    /// Nothing to wait for: the server acknowledges its inputs once journalled, and what
    /// the feed sent is derived from them.
    fn commit(&mut self) -> Result<(), PublishError> {
        Ok(())
    }
}

fn change_name(c: &AlertChange) -> &'static str {
    use AlertChange::*;
    match c {
        Created => "created",
        Deduplicated => "deduplicated",
        SeverityChanged => "severity_changed",
        Cleared => "cleared",
        Reraised => "reraised",
        Flapping => "flapping",
        Settled => "settled",
        Correlated => "correlated",
        Released => "released",
        Purged => "purged",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sitrep_core::{Config, Engine, EngineOptions, Event, Severity};

    #[test]
    fn incident_updates_reach_subscribers_and_dead_letters_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let feed = LiveFeed::new(DeadLetterFile::open(dir.path(), 1 << 20));
        let mut rx = feed.subscribe();
        let mut e = Engine::new(&Config::default(), EngineOptions::default()).unwrap();
        e.process(&Event {
            source: "h1".into(),
            check: "cpu".into(),
            severity: Severity::Critical,
            time: Some(1_000),
            ..Event::default()
        });
        let mut updates: Vec<Update> = e.drain_updates().collect();
        assert!(matches!(updates[0], Update::Alert(_)));
        let incident = serde_json::json!({
            "type": "incident", "v": 2, "seq": 2, "time": 1000, "change": "opened", "added": [],
            "incident": {"id": "INC0-1", "title": "t", "state": "open", "severity": "critical",
                "max_severity": "critical", "recipe": "r", "alert_count": 1, "source_count": 1,
                "first_time": 1000, "last_time": 1000, "reopen_count": 0, "assignee": null,
                "root_cause": {"alert_id": "A0-1", "signature": "h1::cpu", "source": "h1", "check": "cpu", "reason": "seed"}}
        });
        updates.push(serde_json::from_value(incident).unwrap());
        let incidents = 1;
        (&feed).write_updates(&mut updates.into_iter()).unwrap();
        let mut got = 0;
        while let Ok(m) = rx.try_recv() {
            assert!(
                matches!(m, LiveMsg::Incident(..)),
                "only incident updates are broadcast"
            );
            got += 1;
        }
        assert_eq!(got, incidents);
        let d = DeadLetter::with_reason("http", 3, "bad_json", "expected value", b"{oops", 1024);
        (&feed).write_dead_letters(&[d]).unwrap();
        (&feed).commit().unwrap();
        let text = std::fs::read_to_string(dir.path().join("dead_letters.jsonl")).unwrap();
        assert!(text.contains("bad_json") && text.contains("{oops"), "{text}");
    }
}
