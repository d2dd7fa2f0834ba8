//! timers: what is due when, in event time. Window ends, incident closes and purges, flapping
//! settles, alert purges and rule deadlines are all entries here; the engine fires the due
//! ones, in time order, before the input that moved its clock past them.
//!
//! Entries due at the same time fire in the order they were scheduled (a sequence number
//! breaks the tie), so the output never depends on anything but the input. A timer is never
//! cancelled: the component that set it checks, when it fires, whether it still applies
//! (an alert purge for a slot since reused, a window since extended).

use crate::time::Millis;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) enum Timer {
    ClusterWindow(u64),
    IncidentClose(u64),
    IncidentPurge(u64),
    FlapSettle { slot: u32, alert: u64 },
    AlertPurge { slot: u32, alert: u64 },
    Rule { rule: u16, key: Box<str> },
}

/// The pending timers. Serialised as two snapshot fields (`timers`, `timer_seq`).
#[derive(Debug, Default)]
pub(crate) struct Timers {
    pub(crate) due: BTreeSet<(Millis, u64, Timer)>,
    pub(crate) seq: u64,
}

impl Timers {
    pub fn schedule(&mut self, at: Millis, timer: Timer) {
        self.seq += 1;
        self.due.insert((at, self.seq, timer));
    }

    /// The earliest timer due at or before `now`, removed, with its time.
    pub fn pop_due(&mut self, now: Millis) -> Option<(Millis, Timer)> {
        if self.due.first()?.0 > now {
            return None;
        }
        let (t, _, timer) = self.due.pop_first().expect("first exists");
        Some((t, timer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_timers_come_out_in_time_then_schedule_order() {
        let mut t = Timers::default();
        t.schedule(20, Timer::IncidentClose(1));
        t.schedule(10, Timer::ClusterWindow(2));
        t.schedule(20, Timer::ClusterWindow(3));
        assert_eq!(t.pop_due(5), None);
        assert_eq!(t.pop_due(20), Some((10, Timer::ClusterWindow(2))));
        // same time: the one scheduled first, whatever its kind
        assert_eq!(t.pop_due(20), Some((20, Timer::IncidentClose(1))));
        assert_eq!(t.pop_due(20), Some((20, Timer::ClusterWindow(3))));
        assert_eq!(t.pop_due(i64::MAX), None);
        assert!(t.due.is_empty());
    }
}
