//! Replay: reprocess past input into a fresh consumer group and separate output topics, to
//! try new recipes (a different engine config) on past data without touching the live
//! pipeline.
//!
//! A replay named `NAME` is the same worker with every name it owns suffixed: group
//! `{group}.NAME`, topics `{topic}.NAME` for the internal events, changelog and commands
//! topics, the alerts and incidents tables, the dead letters and every route. Input topics
//! stay as they are. Before the workers start, [`prepare`] commits the start position
//! (offsets, or the offsets for a time) of every input partition for the replay's ingest
//! group, once: a group that already has offsets (a replay resumed, or a second worker of
//! the same replay) keeps them. From there on the replay is an ordinary worker group: it
//! scales out, crashes and resumes as the live one does. A replay of `keyed_input` runs the
//! two stages (it needs its empty start state); live operator commands written into the
//! keyed input topic are skipped, as a replay never repeats the live commands. Undated events are dated by their
//! Kafka timestamp in both, so a replay with the live config gives the live outputs.

use crate::{client_config, KafkaError, KafkaSection};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(30);

/// Where a replay starts in every input partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartAt {
    Earliest,
    /// The first record with a Kafka timestamp at or after this (milliseconds since the
    /// epoch): Kafka's offsets-for-times.
    Time(i64),
    /// The same offset in every partition (clamped to what the partition still holds).
    Offset(i64),
}

/// A `--from` that names no start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}`: not `earliest`, `offset:N`, an RFC 3339 time or epoch milliseconds")]
pub struct BadStart(String);

impl std::str::FromStr for StartAt {
    type Err = BadStart;
    /// `earliest`, an offset (`offset:N`), a time (RFC 3339) or milliseconds since the epoch.
    fn from_str(s: &str) -> Result<StartAt, BadStart> {
        if s == "earliest" || s == "beginning" {
            return Ok(StartAt::Earliest);
        }
        if let Some(n) = s.strip_prefix("offset:") {
            return n
                .parse()
                .map(StartAt::Offset)
                .map_err(|_| BadStart(s.to_string()));
        }
        if let Ok(ms) = s.parse::<i64>() {
            return Ok(StartAt::Time(ms));
        }
        sitrep_core::time::parse_rfc3339(s)
            .map(StartAt::Time)
            .ok_or_else(|| BadStart(s.to_string()))
    }
}

/// The live section renamed for replay `name`: group and every topic sitrep writes.
pub fn section(live: &KafkaSection, name: &str) -> Result<KafkaSection, KafkaError> {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !ok {
        return Err(KafkaError::Config(format!(
            "replay name `{name}`: letters, digits, `-`, `_` and `.` only (it becomes part of topic names)"
        )));
    }
    let mut k = live.clone();
    // A replay starts at a chosen offset or time with empty state, which the two-stage
    // pipeline gives (its own events topic from offset 0); keyed input repartitions to the
    // same engine partitions in the same order, so the outputs match the live run's.
    k.keyed_input = false;
    let suffix = |t: &mut String| *t = format!("{t}.{name}");
    k.group = format!("{}.{name}", live.group);
    let t = &mut k.topics;
    for topic in [
        &mut t.events,
        &mut t.changelog,
        &mut t.alerts,
        &mut t.incidents,
        &mut t.dead_letters,
        &mut t.commands,
    ] {
        suffix(topic);
    }
    for r in &mut k.routes {
        suffix(&mut r.topic);
    }
    Ok(k)
}

/// What [`prepare`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prepared {
    /// Start offsets committed: (topic, partition, offset) for every input partition.
    Committed(Vec<(String, i32, i64)>),
    /// The group had offsets already: it resumes from them.
    Resumed,
}

/// Commits the replay's start offsets for its ingest group, unless the group has offsets.
pub fn prepare(k: &KafkaSection, start: &StartAt) -> Result<Prepared, KafkaError> {
    let consumer: BaseConsumer = client_config(k)
        .set("group.id", k.ingest_group())
        .set("enable.auto.commit", "false")
        .create()?;
    let mut all = TopicPartitionList::new();
    let mut bounds = Vec::new();
    for input in &k.inputs {
        let parts = crate::admin::partitions(k, &input.topic)?;
        for p in 0..parts {
            all.add_partition(&input.topic, p);
            let (low, high) = consumer.fetch_watermarks(&input.topic, p, TIMEOUT)?;
            bounds.push((input.topic.clone(), p, low, high));
        }
    }
    let committed = consumer.committed_offsets(all, TIMEOUT)?;
    if committed
        .elements()
        .iter()
        .any(|e| matches!(e.offset(), Offset::Offset(_)))
    {
        return Ok(Prepared::Resumed);
    }
    let mut times = None;
    if let StartAt::Time(ms) = start {
        let mut tpl = TopicPartitionList::new();
        for (t, p, _, _) in &bounds {
            tpl.add_partition_offset(t, *p, Offset::Offset(*ms))?;
        }
        times = Some(consumer.offsets_for_times(tpl, TIMEOUT)?);
    }
    let mut plan = Vec::new();
    let mut tpl = TopicPartitionList::new();
    for (t, p, low, high) in &bounds {
        let offset = match start {
            StartAt::Earliest => *low,
            StartAt::Offset(o) => (*o).clamp(*low, *high),
            StartAt::Time(_) => {
                let found = times
                    .as_ref()
                    .and_then(|r| r.find_partition(t, *p))
                    .map(|e| e.offset());
                match found {
                    Some(Offset::Offset(o)) => o,
                    // nothing at or after that time: start at the end
                    _ => *high,
                }
            }
        };
        tpl.add_partition_offset(t, *p, Offset::Offset(offset))?;
        plan.push((t.clone(), *p, offset));
    }
    consumer.commit(&tpl, CommitMode::Sync)?;
    Ok(Prepared::Committed(plan))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_positions_parse() {
        assert_eq!("earliest".parse(), Ok(StartAt::Earliest));
        assert_eq!("offset:42".parse(), Ok(StartAt::Offset(42)));
        assert_eq!("1700000000000".parse(), Ok(StartAt::Time(1_700_000_000_000)));
        assert_eq!(
            "2026-11-24T10:00:00Z".parse(),
            Ok(StartAt::Time(1_795_514_400_000))
        );
        assert!("offset:x"
            .parse::<StartAt>()
            .unwrap_err()
            .to_string()
            .contains("offset:N"));
        assert!("yesterday".parse::<StartAt>().is_err());
    }

    #[test]
    fn a_replay_owns_every_name_it_writes() {
        let live = KafkaSection {
            routes: vec![crate::config::Route {
                topic: "pager".into(),
                matcher: Default::default(),
            }],
            inputs: vec![crate::config::InputTopic {
                topic: "raw".into(),
                format: "native".into(),
            }],
            ..KafkaSection::default()
        };
        let r = section(&live, "try-2").unwrap();
        assert_eq!(r.group, "sitrep.try-2");
        assert_eq!(r.ingest_group(), "sitrep.try-2-ingest");
        assert_eq!(r.topics.alerts, "sitrep.alerts.try-2");
        assert_eq!(r.topics.events, "sitrep.events.try-2");
        assert_eq!(r.topics.changelog, "sitrep.changelog.try-2");
        assert_eq!(r.topics.commands, "sitrep.commands.try-2");
        assert_eq!(r.routes[0].topic, "pager.try-2");
        assert_eq!(r.inputs[0].topic, "raw", "inputs are read, not renamed");
        assert!(section(&live, "a b").is_err());
    }
}
