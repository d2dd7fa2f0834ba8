//! query: filtered, paginated reads of the engine's alerts and incidents, for APIs and UIs.
//! Filters run on borrowed state; only the page returned is copied out, so listing 50
//! alerts out of a million costs one pass and 50 owned views.

use crate::engine::Engine;
use crate::severity::Severity;
use crate::time::Millis;
use crate::update::{AlertView, IncidentState, IncidentView};
use serde::{Deserialize, Serialize};

/// Filters shared by alert and incident queries. Every field narrows; `None` is "any".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Query {
    /// Alerts: `open` or `cleared`. Incidents: `open`, `acknowledged`, `resolved`,
    /// `closed`, or `active` (open or acknowledged).
    pub state: Option<String>,
    /// At least this severity (current severity).
    pub severity: Option<Severity>,
    pub service: Option<String>,
    pub source: Option<String>,
    /// Case-insensitive substring of the description/title, check, source or signature.
    pub text: Option<String>,
    /// Last activity at or after this time (ms).
    pub since: Option<Millis>,
    /// First activity before this time (ms).
    pub until: Option<Millis>,
    pub offset: usize,
    /// Page size; 0 means the default of 100. Capped at 10,000.
    pub limit: usize,
}

/// How many alerts and incidents are in each state (for metrics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateCounts {
    pub alerts_open: usize,
    pub alerts_cleared: usize,
    pub incidents_open: usize,
    pub incidents_acknowledged: usize,
    pub incidents_resolved: usize,
    pub incidents_closed: usize,
}

/// One page of results, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    /// Matches before pagination.
    pub total: usize,
    pub offset: usize,
    pub limit: usize,
    pub items: Vec<T>,
}

impl Query {
    fn page_size(&self) -> usize {
        match self.limit {
            0 => 100,
            n => n.min(10_000),
        }
    }

    fn text_matches(&self, fields: &[&str]) -> bool {
        let Some(t) = self.text.as_deref().filter(|t| !t.is_empty()) else {
            return true;
        };
        let needle = t.to_lowercase();
        fields.iter().any(|f| f.to_lowercase().contains(&needle))
    }

    fn time_matches(&self, first: Millis, last: Millis) -> bool {
        self.since.is_none_or(|s| last >= s) && self.until.is_none_or(|u| first < u)
    }
}

fn incident_state_matches(filter: &str, s: IncidentState) -> bool {
    match filter {
        "active" => matches!(s, IncidentState::Open | IncidentState::Acknowledged),
        "open" => s == IncidentState::Open,
        "acknowledged" => s == IncidentState::Acknowledged,
        "resolved" => s == IncidentState::Resolved,
        "closed" => s == IncidentState::Closed,
        _ => false,
    }
}

impl Engine {
    /// Alerts matching `q`, newest (highest id) first.
    pub fn query_alerts(&self, q: &Query) -> Page<AlertView> {
        let limit = q.page_size();
        let mut slots = self.alert_slots_newest_first();
        slots.retain(|&slot| {
            let a = self.env.alert_view_ref(&self.correlator.clusters, slot);
            q.state
                .as_deref()
                .is_none_or(|s| (s == "open") == a.open && matches!(s, "open" | "cleared"))
                && q.severity.is_none_or(|s| a.severity >= s)
                && q.service.as_deref().is_none_or(|s| a.service == Some(s))
                && q.source.as_deref().is_none_or(|s| a.source == s)
                && q.time_matches(a.first_time, a.last_time)
                && q.text_matches(&[a.description, a.check, a.source, a.signature])
        });
        Page {
            total: slots.len(),
            offset: q.offset,
            limit,
            items: slots
                .iter()
                .skip(q.offset)
                .take(limit)
                .map(|&s| self.alert_view(s))
                .collect(),
        }
    }

    /// Incidents matching `q`, newest first. `service` matches any member's service;
    /// `source` any member's source.
    pub fn query_incidents(&self, q: &Query) -> Page<IncidentView> {
        let limit = q.page_size();
        let mut ids = self.incident_clusters_newest_first();
        ids.retain(|&cid| {
            let s = self.correlator.incident_summary(&self.env, cid);
            let id = s.id.to_string();
            let members = || self.member_alert_slots(cid);
            q.state
                .as_deref()
                .is_none_or(|f| incident_state_matches(f, s.state))
                && q.severity.is_none_or(|f| s.severity >= f)
                && q.time_matches(s.first_time, s.last_time)
                && q.text_matches(&[&s.title, &s.root_cause.source, &s.root_cause.check, &id])
                && q.service.as_deref().is_none_or(|f| {
                    members().any(|slot| {
                        self.env.alert_view_ref(&self.correlator.clusters, slot).service == Some(f)
                    })
                })
                && q.source.as_deref().is_none_or(|f| {
                    members().any(|slot| self.env.alert_view_ref(&self.correlator.clusters, slot).source == f)
                })
        });
        Page {
            total: ids.len(),
            offset: q.offset,
            limit,
            items: ids
                .iter()
                .skip(q.offset)
                .take(limit)
                .map(|&c| self.correlator.incident_view(&self.env, c))
                .collect(),
        }
    }

    /// Alerts and incidents by state: one pass, no copies.
    pub fn state_counts(&self) -> StateCounts {
        let mut c = StateCounts::default();
        for a in self.env.store.alerts.iter().flatten() {
            if a.open {
                c.alerts_open += 1;
            } else {
                c.alerts_cleared += 1;
            }
        }
        for cl in self
            .correlator
            .clusters
            .values()
            .filter(|cl| cl.incident.is_some())
        {
            use crate::correlate::ClusterState::*;
            match cl.state {
                Open => c.incidents_open += 1,
                Acknowledged => c.incidents_acknowledged += 1,
                Resolved => c.incidents_resolved += 1,
                Closed => c.incidents_closed += 1,
                Pending => {}
            }
        }
        c
    }

    /// One alert by id (`A0-17`).
    pub fn alert_by_id(&self, id: &str) -> Option<AlertView> {
        self.alert_slot_by_id(id).map(|s| self.alert_view(s))
    }

    /// One incident by id (`INC0-3`) with its member alerts' current state.
    pub fn incident_by_id(&self, id: &str) -> Option<(IncidentView, Vec<AlertView>)> {
        let cid = self.cluster_by_incident_id(id)?;
        let view = self.correlator.incident_view(&self.env, cid);
        let alerts = self.member_alert_slots(cid).map(|s| self.alert_view(s)).collect();
        Some((view, alerts))
    }
}

impl Engine {
    /// The earlier incidents most like incident `id` (`INC0-3`), best first, at most
    /// `limit`; `None` for an unknown id.
    pub fn similar_incidents(&self, id: &str, limit: usize) -> Option<Vec<crate::update::SimilarIncident>> {
        let cid = self.cluster_by_incident_id(id)?;
        Some(self.correlator.similar(&self.env, cid, limit))
    }

    /// What learned recipes have learned so far, per attribute key (for the API and UI).
    pub fn learned_attributes(&self) -> Vec<crate::update::LearnedAttributeView> {
        self.correlator.learned_attributes(&self.env)
    }

    /// The learned topology (which sources' alerts name which), strongest first, at most
    /// `limit` edges.
    pub fn learned_edges(&self, limit: usize) -> Vec<crate::update::LearnedEdgeView> {
        self.correlator.learned_edges(limit)
    }
}

// Lookups the queries need, kept here rather than spread over the modules that own the
// state: they only read.
impl Engine {
    fn alert_slots_newest_first(&self) -> Vec<u32> {
        let mut v = self.env.store.slots_in_order();
        v.reverse();
        v
    }

    fn incident_clusters_newest_first(&self) -> Vec<u64> {
        let mut v = self.correlator.incident_clusters_in_order();
        v.reverse();
        v
    }

    /// Live slots of a cluster's members (each alert once, even with several occurrences).
    fn member_alert_slots(&self, cid: u64) -> impl Iterator<Item = u32> + '_ {
        let members = self
            .correlator
            .clusters
            .get(&cid)
            .map(|c| &c.members[..])
            .unwrap_or(&[]);
        let mut seen = rustc_hash::FxHashSet::default();
        members.iter().filter_map(move |m| {
            let live = self.env.store.alerts.get(m.slot as usize)?.as_ref()?;
            (live.id == m.alert && seen.insert(m.alert)).then_some(m.slot)
        })
    }

    fn alert_slot_by_id(&self, id: &str) -> Option<u32> {
        let parsed: crate::id::AlertId = id.parse().ok()?;
        if parsed.partition != self.env.options.partition {
            return None;
        }
        let n = parsed.number;
        self.env
            .store
            .alerts
            .iter()
            .position(|a| a.as_ref().is_some_and(|a| a.id == n))
            .map(|i| i as u32)
    }

    fn cluster_by_incident_id(&self, id: &str) -> Option<u64> {
        let parsed: crate::id::IncidentId = id.parse().ok()?;
        if parsed.partition != self.env.options.partition {
            return None;
        }
        let n = parsed.number;
        self.correlator
            .clusters
            .iter()
            .find(|(_, c)| c.incident == Some(n))
            .map(|(id, _)| *id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Config, Event};

    fn ev(source: &str, check: &str, sev: Severity, t: Millis) -> Event {
        Event {
            source: source.into(),
            check: check.into(),
            severity: sev,
            description: format!("{check} on {source}"),
            time: Some(t),
            service: Some("web".into()),
            ..Event::default()
        }
    }

    #[test]
    fn alerts_filter_and_paginate_newest_first() {
        let mut e = Engine::new(&Config::default(), Default::default()).unwrap();
        for i in 0..30 {
            let sev = if i % 3 == 0 {
                Severity::Critical
            } else {
                Severity::Warning
            };
            e.process(&ev(&format!("h{i}"), "cpu_high", sev, 1_000 + i));
        }
        e.process(&ev("h0", "cpu_high", Severity::Clear, 2_000));
        let all = e.query_alerts(&Query::default());
        assert_eq!(all.total, 30);
        assert_eq!(all.items[0].source, "h29", "newest first");
        let crit = e.query_alerts(&Query {
            severity: Some(Severity::Critical),
            ..Query::default()
        });
        assert_eq!(crit.total, 9, "h0 was cleared: its severity is clear now");
        let counts = e.state_counts();
        assert_eq!((counts.alerts_open, counts.alerts_cleared), (29, 1));
        let cleared = e.query_alerts(&Query {
            state: Some("cleared".into()),
            ..Query::default()
        });
        assert_eq!(cleared.total, 1);
        assert_eq!(cleared.items[0].source, "h0");
        let page = e.query_alerts(&Query {
            offset: 25,
            limit: 10,
            ..Query::default()
        });
        assert_eq!((page.total, page.items.len()), (30, 5));
        let text = e.query_alerts(&Query {
            text: Some("CPU_HIGH ON H1".into()),
            ..Query::default()
        });
        // h1, h10..h19
        assert_eq!(text.total, 11);
        let by_id = e.alert_by_id(&all.items[3].id.to_string()).unwrap();
        assert_eq!(by_id, all.items[3]);
        assert!(e.alert_by_id("A0-999").is_none());
        assert!(e.alert_by_id("A7-1").is_none(), "another partition's id");
    }

    #[test]
    fn incidents_filter_by_member_service_and_state() {
        let mut e = Engine::new(&Config::default(), Default::default()).unwrap();
        // five hosts of one service (one host's alerts alone would wait while the stream is
        // young: correlate::membership::one_young_host)
        for i in 0..5 {
            e.process(&ev(
                &format!("db{i}"),
                &format!("check{i}"),
                Severity::Critical,
                1_000 + i,
            ));
        }
        e.advance(10 * 60_000);
        let page = e.query_incidents(&Query::default());
        assert!(page.total >= 1, "{page:?}");
        let id = page.items[0].summary.id;
        let (view, alerts) = e.incident_by_id(&id.to_string()).unwrap();
        assert_eq!(view.summary.id, id);
        assert_eq!(alerts.len(), view.summary.alert_count);
        let none = e.query_incidents(&Query {
            service: Some("nope".into()),
            ..Query::default()
        });
        assert_eq!(none.total, 0);
        let web = e.query_incidents(&Query {
            service: Some("web".into()),
            state: Some("active".into()),
            ..Query::default()
        });
        assert_eq!(web.total, page.total);
    }
}
