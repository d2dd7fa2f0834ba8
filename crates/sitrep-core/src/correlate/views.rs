//! correlate::views: incidents as the outside sees them, and their updates.

use super::*;

impl Correlator {
    pub(crate) fn member_view(&self, env: &Env, m: &Member) -> MemberView {
        MemberView {
            alert_id: env.alert_id(m.alert),
            signature: m.signature.to_string(),
            occurrence: m.occurrence,
            joined: m.joined,
            why: m.why.clone(),
        }
    }

    pub(crate) fn incident_summary(&self, env: &Env, cid: u64) -> IncidentSummary {
        let c = &self.clusters[&cid];
        let root = &c.members[c.root];
        let sources = &c.sources;
        let others = c.alert_count - 1;
        let title = match others {
            0 => format!("{} on {}", root.check, root.source),
            _ => format!(
                "{} on {} (+{} related alert{} on {} source{})",
                root.check,
                root.source,
                others,
                if others == 1 { "" } else { "s" },
                sources.len(),
                if sources.len() == 1 { "" } else { "s" }
            ),
        };
        let state = c.state.incident_state();
        IncidentSummary {
            id: env.incident_id(c.incident.unwrap_or(0)),
            title,
            state,
            severity: c.severity,
            max_severity: c.max_severity,
            recipe: env.c.recipes[c.recipe as usize].name.clone(),
            alert_count: c.alert_count,
            source_count: sources.len(),
            first_time: c.first_time,
            last_time: c.last_time,
            root_cause: RootCause {
                alert_id: env.alert_id(root.alert),
                signature: root.signature.to_string(),
                source: root.source.to_string(),
                check: root.check.to_string(),
                reason: c.root_reason.clone(),
            },
            reopen_count: c.reopen_count,
            assignee: c.assignee.clone(),
            withdrawn: c.withdrawn.clone(),
        }
    }

    pub(crate) fn incident_view(&self, env: &Env, cid: u64) -> IncidentView {
        let c = &self.clusters[&cid];
        IncidentView {
            summary: self.incident_summary(env, cid),
            members: c.members.iter().map(|m| self.member_view(env, m)).collect(),
            timeline: c.timeline.clone(),
        }
    }

    pub(crate) fn emit_incident(
        &mut self,
        env: &mut Env,
        cid: u64,
        change: IncidentChange,
        t: Millis,
        added: Vec<MemberView>,
    ) {
        let incident = self.incident_summary(env, cid);
        env.emit_incident(IncidentUpdate {
            v: SCHEMA_VERSION,
            seq: 0,
            time: t,
            change,
            incident,
            added,
        });
    }
}
