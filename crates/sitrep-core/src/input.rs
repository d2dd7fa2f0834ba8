//! input: the one contract every host feeds the engine through. Replay, the server and the
//! Kafka worker each turn what they receive into [`Input`]s and hand them to
//! [`Engine::apply`](crate::Engine::apply); how they make inputs durable (a journal, a
//! changelog topic, a file that can be read again) is theirs, what an input does is not.

use crate::actions::Command;
use crate::event::Event;
use crate::time::Millis;

/// One thing that happens to an engine, in the order the host made durable.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// A normalised monitoring event.
    Event(Event),
    /// An operator's command on an incident.
    Command(Command),
    /// Time passed without events: moves the clock to this time (never back), firing due
    /// timers (window ends, closes, purges, heartbeats). Hosts on a wall clock send these;
    /// replays of event-time data need none.
    Tick(Millis),
}

impl From<Event> for Input {
    fn from(e: Event) -> Input {
        Input::Event(e)
    }
}

impl From<Command> for Input {
    fn from(c: Command) -> Input {
        Input::Command(c)
    }
}
