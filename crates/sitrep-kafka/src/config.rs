//! The `[kafka]` section: brokers, topics, inputs and their formats, the correlation scope,
//! output routes, transaction cadence. `deny_unknown_fields` everywhere; librdkafka settings
//! (TLS, SASL, …) pass through `[kafka.client]` untouched.

use serde::{Deserialize, Serialize};
use sitrep_core::config::ConfigError;
use sitrep_core::config::Matcher;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaSection {
    /// `bootstrap.servers`.
    pub brokers: String,
    /// Consumer group of the correlation stage; the ingest stage uses `{group}-ingest`.
    pub group: String,
    /// librdkafka properties for every client (e.g. `security.protocol`, `sasl.mechanism`,
    /// `ssl.ca.location`).
    pub client: BTreeMap<String, String>,
    pub inputs: Vec<InputTopic>,
    /// Fields whose values form the correlation scope (the partition key): everything
    /// that can be correlated must share it. Empty: one scope (one partition's worth).
    pub scope: Vec<String>,
    /// The one input topic is already partitioned by the scope: every event on the
    /// partition its scope key gives under Kafka's default partitioner (murmur2 of the key,
    /// as the Java client and kcat's `murmur2_random` do). The correlate stage then reads
    /// it directly — no repartition hop, no ingest stage, one transaction per batch of
    /// input — and dead-letters an event found on another partition (`wrong_partition`).
    /// Operator commands are written to the input topic's owning partition.
    pub keyed_input: bool,
    pub topics: Topics,
    /// Partitions of the topics sitrep creates (events, changelog, outputs).
    pub partitions: i32,
    pub replication_factor: i32,
    /// `min.insync.replicas` of the topics sitrep creates (with acks=all).
    pub min_insync_replicas: Option<i32>,
    /// A transaction commits at least this often.
    pub commit_interval_ms: u64,
    /// Events per partition between state snapshots on the changelog.
    pub snapshot_every: u64,
    /// A crashed worker's open transaction blocks read_committed readers of the partitions
    /// it wrote until the broker aborts it after this long (unless the worker restarts
    /// under the same `--instance` first, which fences it at once).
    pub transaction_timeout_ms: u64,
    /// Alerts matching a route also go to its topic.
    pub routes: Vec<Route>,
}

impl Default for KafkaSection {
    fn default() -> Self {
        KafkaSection {
            brokers: "127.0.0.1:9092".into(),
            group: "sitrep".into(),
            client: BTreeMap::new(),
            inputs: Vec::new(),
            scope: Vec::new(),
            keyed_input: false,
            topics: Topics::default(),
            partitions: 8,
            replication_factor: 1,
            min_insync_replicas: None,
            commit_interval_ms: 100,
            snapshot_every: 100_000,
            transaction_timeout_ms: 10_000,
            routes: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputTopic {
    pub topic: String,
    /// `native`, `alertmanager`, `syslog`, `otlp_proto`, `otlp_json` (one OTLP
    /// `ExportLogsServiceRequest` per record, as the Collector's kafka exporter writes) or
    /// `mapping:NAME`.
    #[serde(default = "native")]
    pub format: String,
}

fn native() -> String {
    "native".into()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Topics {
    /// Internal: normalised events keyed by scope (the repartition topic); operator
    /// commands travel on it too, to the partition that owns their incident.
    pub events: String,
    /// Internal, compacted: per-partition state snapshots.
    pub changelog: String,
    /// Compacted table of alerts, keyed by alert id (tombstone when purged).
    pub alerts: String,
    /// Compacted table of incidents, keyed by incident id (tombstone when purged).
    pub incidents: String,
    /// Rejected input, the reason in headers.
    pub dead_letters: String,
    /// Operator commands from the API, any worker; forwarded to the owning partition.
    pub commands: String,
}

impl Default for Topics {
    fn default() -> Self {
        Topics {
            events: "sitrep.events".into(),
            changelog: "sitrep.changelog".into(),
            alerts: "sitrep.alerts".into(),
            incidents: "sitrep.incidents".into(),
            dead_letters: "sitrep.dead-letters".into(),
            commands: "sitrep.commands".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    pub topic: String,
    #[serde(rename = "match")]
    pub matcher: Matcher,
}

impl KafkaSection {
    pub fn from_table(t: &toml::Table) -> Result<KafkaSection, ConfigError> {
        let k: KafkaSection = sitrep_core::config::section(t, "kafka")?;
        for (i, input) in k.inputs.iter().enumerate() {
            input
                .format
                .parse::<sitrep_core::InputFormat>()
                .map_err(|e| ConfigError::Key {
                    path: format!("kafka.inputs[{i}].format"),
                    message: e.to_string(),
                })?;
        }
        if k.keyed_input && k.inputs.len() != 1 {
            return Err(ConfigError::Key {
                path: "kafka.keyed_input".into(),
                message: format!(
                    "needs exactly one [[kafka.inputs]] topic (its partitions are the engines'), found {}",
                    k.inputs.len()
                ),
            });
        }
        if k.partitions < 1 {
            return Err(ConfigError::Key {
                path: "kafka.partitions".into(),
                message: "at least 1".into(),
            });
        }
        Ok(k)
    }

    /// The topic whose partitions the correlate stage owns, one engine each: the internal
    /// events topic, or the input topic itself with `keyed_input`.
    pub fn state_topic(&self) -> &str {
        match (self.keyed_input, self.inputs.first()) {
            (true, Some(input)) => &input.topic,
            _ => &self.topics.events,
        }
    }

    /// Consumer group of the ingest stage.
    pub fn ingest_group(&self) -> String {
        format!("{}-ingest", self.group)
    }

    /// The scope key of an event: its scope fields' values joined by `/`.
    pub fn scope_key(&self, e: &sitrep_core::Event) -> String {
        let mut key = String::new();
        self.scope_key_into(e, &mut key);
        key
    }

    /// [`KafkaSection::scope_key`] into a reused buffer (once per event on ingest).
    pub fn scope_key_into(&self, e: &sitrep_core::Event, key: &mut String) {
        key.clear();
        for (i, f) in self.scope.iter().enumerate() {
            if i > 0 {
                key.push('/');
            }
            key.push_str(e.field(f).unwrap_or(""));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_and_formats_are_named() {
        let t: toml::Table = toml::from_str("brokerz = \"x\"").unwrap();
        assert!(KafkaSection::from_table(&t)
            .unwrap_err()
            .to_string()
            .contains("brokerz"));
        assert_eq!(
            KafkaSection::from_table(&t).unwrap_err().path(),
            Some("kafka.brokerz")
        );
        let t: toml::Table = toml::from_str("[[inputs]]\ntopic = \"a\"\nformat = \"xml\"").unwrap();
        assert!(KafkaSection::from_table(&t)
            .unwrap_err()
            .to_string()
            .contains("inputs[0].format"));
    }

    #[test]
    fn keyed_input_needs_exactly_one_input() {
        let t: toml::Table = toml::from_str("keyed_input = true").unwrap();
        let e = KafkaSection::from_table(&t).unwrap_err();
        assert_eq!(e.path(), Some("kafka.keyed_input"), "{e}");
        let t: toml::Table = toml::from_str("keyed_input = true\n[[inputs]]\ntopic = \"raw\"").unwrap();
        let k = KafkaSection::from_table(&t).unwrap();
        assert_eq!(k.state_topic(), "raw");
        let t: toml::Table = toml::from_str("[[inputs]]\ntopic = \"raw\"").unwrap();
        assert_eq!(
            KafkaSection::from_table(&t).unwrap().state_topic(),
            "sitrep.events"
        );
    }

    #[test]
    fn scope_key_joins_fields() {
        let k = KafkaSection {
            scope: vec!["labels.dc".into(), "service".into()],
            ..KafkaSection::default()
        };
        let e = sitrep_core::Event {
            labels: vec![("dc".into(), "par1".into())],
            service: Some("shop".into()),
            ..Default::default()
        };
        assert_eq!(k.scope_key(&e), "par1/shop");
    }
}
