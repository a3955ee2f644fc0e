//! [`ReadPause`]: the moment the driver waits for the event consumer
//! before reading more.
//!
//! The driver never stops reading: an application that lags loses its
//! oldest events (counted, in the core's queue), not its connection to
//! Asterisk, which drops a client it cannot write to for `writetimeout`
//! (100 ms by default). But a consumer that is merely not running yet
//! (on a second thread that shares one core with the driver's, as in a
//! container limited to one CPU) is not lagging: reading on at once would
//! fill the core's queue and drop events the consumer would have taken a
//! moment later. So when the hand-off is full after a read, reading waits
//! until the consumer takes the events, or [`ReadPause::LENGTH`] at most;
//! then one whole turn of reads goes ahead whatever the hand-off holds.
//! Responses arrive on the same sockets: while the application lags on
//! events they wait at most that long.

use std::time::{Duration, Instant};

/// Where the pause stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading goes ahead.
    Off,
    /// Reading waits until the consumer makes room, or until then.
    Until(Instant),
    /// The consumer had its moment: this turn reads whatever the hand-off
    /// holds.
    Spent,
}

/// The driver's pause in reading, while a full hand-off waits for the
/// event consumer.
#[derive(Debug)]
pub(crate) struct ReadPause {
    state: State,
}

impl ReadPause {
    /// The longest reading waits for the consumer: far below Asterisk's
    /// default `writetimeout` (100 ms), and long enough for an operating
    /// system to run a consumer thread that shares the driver's core (and
    /// for timers that tick by the millisecond, as tokio's do).
    pub(crate) const LENGTH: Duration = Duration::from_millis(5);

    pub(crate) const fn new() -> Self {
        Self { state: State::Off }
    }

    /// The hand-off is full: reading waits from `now`, unless a pause
    /// runs already or this turn already waited. Whether a pause began.
    pub(crate) fn begin(&mut self, now: Instant) -> bool {
        if self.state != State::Off {
            return false;
        }
        self.state = State::Until(now + Self::LENGTH);
        true
    }

    /// Whether reading waits at `now`. `room` says whether the consumer has
    /// made room in the hand-off (asked only while the pause runs, so that
    /// it registers to be woken when the consumer does).
    pub(crate) fn holds(&mut self, now: Instant, room: impl FnOnce() -> bool) -> bool {
        match self.state {
            State::Until(until) if now >= until => {
                self.state = State::Spent;
                false
            }
            State::Until(_) if room() => {
                self.state = State::Off;
                false
            }
            State::Until(_) => true,
            State::Off | State::Spent => false,
        }
    }

    /// A turn of reads is over: the next may wait again.
    pub(crate) fn end_turn(&mut self) {
        if self.state == State::Spent {
            self.state = State::Off;
        }
    }

    /// When the pause ends by itself, if one runs.
    pub(crate) const fn deadline(&self) -> Option<Instant> {
        match self.state {
            State::Until(until) => Some(until),
            State::Off | State::Spent => None,
        }
    }
}

#[cfg(test)]
// A base instant only: each test moves its own clock from it.
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;

    #[test]
    fn reading_waits_for_room_and_goes_ahead_once_the_consumer_takes() {
        let start = Instant::now();
        let mut pause = ReadPause::new();
        assert!(!pause.holds(start, || panic!("no pause runs: room is not asked")));
        assert!(pause.begin(start));
        assert_eq!(pause.deadline(), Some(start + ReadPause::LENGTH));
        assert!(pause.holds(start + Duration::from_millis(1), || false));
        assert!(!pause.holds(start + Duration::from_millis(1), || true));
        assert_eq!(pause.deadline(), None);
        assert!(pause.begin(start + Duration::from_millis(1)), "a new pause");
    }

    #[test]
    fn a_consumer_that_takes_nothing_holds_reading_one_pause_per_turn() {
        let start = Instant::now();
        let mut pause = ReadPause::new();
        assert!(pause.begin(start));
        let end = start + ReadPause::LENGTH;
        assert!(pause.holds(start + ReadPause::LENGTH / 2, || false));
        assert!(!pause.holds(end, || false), "the pause is over");
        assert!(!pause.begin(end), "the rest of the turn reads");
        assert!(!pause.holds(end, || false));
        assert_eq!(pause.deadline(), None);
        pause.end_turn();
        assert!(pause.begin(end), "the next turn waits again");
    }
}
