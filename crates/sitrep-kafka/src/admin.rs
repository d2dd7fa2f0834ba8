//! Topic creation on start: every topic sitrep reads or writes exists afterwards, with the
//! configured partitions and replication; the state and table topics are compacted.

use crate::{client_config, KafkaError, KafkaSection};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::types::RDKafkaErrorCode;
use std::time::Duration;

/// Creates the missing topics; existing ones are left as they are.
pub fn ensure_topics(k: &KafkaSection) -> Result<(), KafkaError> {
    let admin: AdminClient<DefaultClientContext> = client_config(k).create()?;
    let t = &k.topics;
    let isr = k.min_insync_replicas.map(|n| n.to_string());
    let mut wanted: Vec<(&str, bool)> = vec![
        (&t.changelog, true),
        (&t.alerts, true),
        (&t.incidents, true),
        (&t.dead_letters, false),
    ];
    if !k.keyed_input {
        // the repartition hop and the ingest stage's command input
        wanted.extend([(t.events.as_str(), false), (t.commands.as_str(), false)]);
    }
    for r in &k.routes {
        wanted.push((&r.topic, false));
    }
    for i in &k.inputs {
        wanted.push((&i.topic, false));
    }
    let topics: Vec<NewTopic> = wanted
        .iter()
        .map(|(name, compact)| {
            let mut nt = NewTopic::new(name, k.partitions, TopicReplication::Fixed(k.replication_factor));
            if *compact {
                nt = nt.set("cleanup.policy", "compact");
            }
            // snapshots of a large partition exceed the default 1 MB
            nt = nt.set("max.message.bytes", "67108864");
            if let Some(isr) = &isr {
                nt = nt.set("min.insync.replicas", isr);
            }
            nt
        })
        .collect();
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let results = futures_executor::block_on(admin.create_topics(topics.iter(), &opts))?;
    for r in results {
        match r {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) => return Err(KafkaError::Config(format!("creating topic {name}: {code}"))),
        }
    }
    Ok(())
}

/// The partition count of an existing topic. A topic created a moment ago may not be in
/// the metadata yet, or show no partitions: asked again for up to 30 s.
pub fn partitions(k: &KafkaSection, topic: &str) -> Result<i32, KafkaError> {
    let c: rdkafka::consumer::BaseConsumer = client_config(k).create()?;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let md = rdkafka::consumer::Consumer::fetch_metadata(&c, Some(topic), Duration::from_secs(30))?;
        let found = md
            .topics()
            .first()
            .filter(|t| t.error().is_none())
            .map(|t| t.partitions().len());
        match found {
            Some(n) if n > 0 => return Ok(n as i32),
            _ if std::time::Instant::now() > deadline => {
                return Err(KafkaError::Config(format!("topic {topic} has no partitions")))
            }
            _ => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}
