//! [`CircuitBreaker`]: stop hammering a server that keeps failing.

use std::time::{Duration, Instant};

use crate::correlation::deadline_after;

/// The breaker's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Consecutive failures that open the breaker.
    pub failure_threshold: u32,
    /// How long the breaker stays open the first time.
    pub cooldown: Duration,
    /// The longest cool-down after repeated failed probes.
    pub max_cooldown: Duration,
}

impl Default for BreakerConfig {
    /// Opens after 5 consecutive failures for 5 s, doubling per failed probe
    /// up to 5 minutes.
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            cooldown: Duration::from_secs(5),
            max_cooldown: Duration::from_secs(300),
        }
    }
}

/// Where a breaker stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Attempts flow; `failures` consecutive ones failed so far.
    Closed {
        /// Consecutive failures.
        failures: u32,
    },
    /// No attempt until `until`.
    Open {
        /// When a probe may go.
        until: Instant,
        /// The cool-down that led here.
        cooldown: Duration,
    },
    /// One probe is under way; its outcome closes or re-opens the breaker.
    HalfOpen {
        /// The cool-down of the opening that preceded it.
        cooldown: Duration,
    },
}

/// One server's circuit breaker: Closed → Open after N consecutive failures;
/// after the cool-down one `HalfOpen` probe; success closes, failure re-opens
/// with twice the cool-down, capped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CircuitBreaker {
    config: BreakerConfig,
    state: BreakerState,
}

impl CircuitBreaker {
    /// A closed breaker.
    #[must_use]
    pub const fn new(config: BreakerConfig) -> Self {
        Self {
            config,
            state: BreakerState::Closed { failures: 0 },
        }
    }

    /// Where it stands.
    #[must_use]
    pub const fn state(&self) -> BreakerState {
        self.state
    }

    /// Whether an attempt may start now. When an open breaker's cool-down
    /// has passed, this lets exactly one probe through (`HalfOpen`).
    pub fn try_attempt(&mut self, now: Instant) -> bool {
        match self.state {
            BreakerState::Closed { .. } => true,
            BreakerState::Open { until, cooldown } if now >= until => {
                self.state = BreakerState::HalfOpen { cooldown };
                true
            }
            BreakerState::Open { .. } | BreakerState::HalfOpen { .. } => false,
        }
    }

    /// The attempt (or the session it opened) succeeded.
    pub fn on_success(&mut self) {
        self.state = BreakerState::Closed { failures: 0 };
    }

    /// The attempt failed (refused, banner or login timeout, login refused,
    /// heartbeat reset). Returns the new state when it changed.
    pub fn on_failure(&mut self, now: Instant) -> BreakerState {
        self.state = match self.state {
            BreakerState::Closed { failures } if failures + 1 >= self.config.failure_threshold => {
                BreakerState::Open {
                    until: deadline_after(now, self.config.cooldown),
                    cooldown: self.config.cooldown,
                }
            }
            BreakerState::Closed { failures } => BreakerState::Closed {
                failures: failures + 1,
            },
            BreakerState::HalfOpen { cooldown } | BreakerState::Open { cooldown, .. } => {
                let longer = cooldown.saturating_mul(2).min(self.config.max_cooldown);
                BreakerState::Open {
                    until: deadline_after(now, longer),
                    cooldown: longer,
                }
            }
        };
        self.state
    }

    /// When an open breaker lets a probe go.
    #[must_use]
    pub const fn reopens_at(&self) -> Option<Instant> {
        match self.state {
            BreakerState::Open { until, .. } => Some(until),
            BreakerState::Closed { .. } | BreakerState::HalfOpen { .. } => None,
        }
    }
}
