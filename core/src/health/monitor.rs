//! [`HealthState`]: a server's health, derived from observed facts only.

use super::breaker::BreakerState;
use crate::connection::SessionState;

/// What the router needs to know about a server. Derived from the session's
/// state (heartbeats, logins, disconnects) and the breaker; nothing else can
/// set it, so no API can force a failing server healthy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HealthState {
    /// Logged in, heartbeats answered.
    Healthy,
    /// Logged in, a heartbeat went unanswered.
    Degraded,
    /// Not logged in (connecting, authenticating, closed, shutting down).
    Disconnected,
    /// The breaker is open or probing.
    CircuitOpen,
    /// Logged in, but the server is shutting down: not routed to.
    Draining,
}

impl HealthState {
    /// The health these facts show.
    #[must_use]
    pub const fn from_facts(session: SessionState, breaker: BreakerState) -> Self {
        match (breaker, session) {
            (BreakerState::Open { .. } | BreakerState::HalfOpen { .. }, _) => Self::CircuitOpen,
            (_, SessionState::Ready) => Self::Healthy,
            (_, SessionState::Degraded) => Self::Degraded,
            (_, SessionState::Draining) => Self::Draining,
            _ => Self::Disconnected,
        }
    }

    /// Whether actions may be routed here: only when healthy.
    #[must_use]
    pub const fn is_eligible(self) -> bool {
        matches!(self, Self::Healthy)
    }

    /// The value of the `ami_circuit_state`-style gauges: 0 healthy,
    /// 1 degraded, 2 disconnected, 3 circuit open, 4 draining.
    #[must_use]
    pub const fn code(self) -> u8 {
        match self {
            Self::Healthy => 0,
            Self::Degraded => 1,
            Self::Disconnected => 2,
            Self::CircuitOpen => 3,
            Self::Draining => 4,
        }
    }
}
