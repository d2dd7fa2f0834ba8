//! The output tables as a [`Sink`]: each alert update to the alerts topic keyed by alert
//! id (a tombstone when it is purged), and to every route whose matcher takes the alert;
//! each incident update to the incidents topic keyed by incident id (a tombstone on purge).
//! The topics are compacted, so each holds the latest state of every live alert or
//! incident. Dead letters go to the dead-letter topic as JSON, the reason in headers.
//!
//! Records join the stage's open transaction. `commit` waits until the brokers hold every
//! record sent; they become visible when the stage commits the transaction together with
//! the input offsets (the exactly-once point), see [`crate::txn`].

use crate::txn::Transactional;
use crate::{KafkaError, KafkaSection};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::BaseRecord;
use sitrep_core::matcher::CompiledMatcher;
use sitrep_core::update::{AlertChange, AlertView, IncidentChange};
use sitrep_core::{DeadLetter, Update};
use sitrep_publish::{PublishError, Sink};

/// Where the tables are: topics and routes, from the `[kafka]` section.
pub struct Tables {
    alerts: String,
    incidents: String,
    dead_letters: String,
    routes: Vec<(String, CompiledMatcher)>,
}

impl Tables {
    pub fn new(k: &KafkaSection, routes: Vec<(String, CompiledMatcher)>) -> Tables {
        Tables {
            alerts: k.topics.alerts.clone(),
            incidents: k.topics.incidents.clone(),
            dead_letters: k.topics.dead_letters.clone(),
            routes,
        }
    }

    /// The sink writing into `txn`'s open transaction.
    pub fn sink<'a>(&'a self, txn: &'a mut Transactional) -> TableSink<'a> {
        TableSink {
            tables: self,
            txn,
            written: 0,
        }
    }
}

pub struct TableSink<'a> {
    tables: &'a Tables,
    txn: &'a mut Transactional,
    /// Updates written through this sink.
    pub written: u64,
}

fn failed(e: KafkaError) -> PublishError {
    PublishError::Failed {
        sink: "kafka tables",
        source: Box::new(e),
    }
}

/// The Kafka error inside a [`PublishError`] from a [`TableSink`] (others become fatal).
pub fn kafka_error(e: PublishError) -> KafkaError {
    match e {
        PublishError::Failed { source, .. } => match source.downcast::<KafkaError>() {
            Ok(k) => *k,
            Err(other) => KafkaError::Fatal(other.to_string()),
        },
        other => KafkaError::Fatal(other.to_string()),
    }
}

impl TableSink<'_> {
    fn send(&mut self, topic: &str, key: &str, payload: Option<&[u8]>) -> Result<(), PublishError> {
        let record = BaseRecord::<str, [u8]>::to(topic).key(key);
        let record = match payload {
            Some(p) => record.payload(p),
            None => record,
        };
        self.txn.send(record).map_err(failed)
    }
}

impl Sink for TableSink<'_> {
    fn write_updates(&mut self, updates: &mut dyn Iterator<Item = Update>) -> Result<(), PublishError> {
        let t = self.tables;
        for u in updates {
            self.written += 1;
            match &u {
                Update::Alert(a) => {
                    let key = &a.alert.id.to_string();
                    if a.change == AlertChange::Purged {
                        self.send(&t.alerts, key, None)?;
                        continue;
                    }
                    let json = serde_json::to_vec(&u).expect("update serialises");
                    self.send(&t.alerts, key, Some(&json))?;
                    for (topic, m) in &t.routes {
                        if alert_matches(m, &a.alert) {
                            self.send(topic, key, Some(&json))?;
                        }
                    }
                }
                Update::Incident(i) => {
                    let key = &i.incident.id.to_string();
                    if i.change == IncidentChange::Purged {
                        self.send(&t.incidents, key, None)?;
                        continue;
                    }
                    let json = serde_json::to_vec(&u).expect("update serialises");
                    self.send(&t.incidents, key, Some(&json))?;
                }
            }
        }
        Ok(())
    }

    fn write_dead_letters(&mut self, letters: &[DeadLetter]) -> Result<(), PublishError> {
        for d in letters {
            let json = serde_json::to_vec(d).expect("dead letter serialises");
            let headers = OwnedHeaders::new()
                .insert(Header {
                    key: "sitrep-reason",
                    value: Some(&d.reason),
                })
                .insert(Header {
                    key: "sitrep-code",
                    value: Some(&d.code),
                });
            self.txn
                .send(
                    BaseRecord::<str, [u8]>::to(&self.tables.dead_letters)
                        .key(&d.input)
                        .payload(&json[..])
                        .headers(headers),
                )
                .map_err(failed)?;
        }
        Ok(())
    }

    fn commit(&mut self) -> Result<(), PublishError> {
        self.txn.drain().map_err(failed)
    }
}

/// Whether a route's matcher takes the alert (matched on its view, as published).
pub fn alert_matches(m: &CompiledMatcher, a: &AlertView) -> bool {
    m.matches_with(a.severity, |field| match field {
        "source" => Some(a.source.as_str()),
        "check" => Some(a.check.as_str()),
        "service" => a.service.as_deref(),
        "manager" => a.manager.as_deref(),
        "description" => Some(a.description.as_str()),
        _ => field
            .strip_prefix("labels.")
            .and_then(|k| a.labels.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())),
    })
}
