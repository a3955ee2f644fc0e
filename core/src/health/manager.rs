//! [`ConnectionManager`]: the one place where reconnects are decided.

use std::time::{Duration, Instant};

use crate::correlation::deadline_after;

use super::backoff::Backoff;
use super::breaker::{BreakerConfig, BreakerState, CircuitBreaker};
use super::rng::SeededRng;

/// Where a server's connection attempts stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for `next_attempt` (and for the breaker).
    Waiting,
    /// An attempt is under way: connecting, banner, login.
    Attempting,
    /// Logged in.
    Up,
    /// Shut down: no more attempts.
    Stopped,
}

/// Decides when to connect to one server: exponential backoff with jitter,
/// at least [`MIN_RECONNECT_DELAY`](super::MIN_RECONNECT_DELAY) between two
/// attempts, never more than the cap, and a circuit breaker that holds
/// attempts back while open. Parsers and transports never reconnect.
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    backoff: Backoff,
    breaker: CircuitBreaker,
    phase: Phase,
    /// Failures since the last success: the backoff exponent.
    failures: u32,
    next_attempt: Instant,
    last_attempt: Option<Instant>,
    attempts: u64,
    /// Until then the server is restarting, as it said: failed attempts
    /// retry at the base delay and do not count toward the breaker.
    restarting_until: Option<Instant>,
}

/// How long a server that announced its restart is retried at the base
/// delay before the backoff and the breaker apply again: an Asterisk
/// restart takes seconds; two minutes covers a slow one.
pub const RESTART_WINDOW: Duration = Duration::from_secs(120);

impl ConnectionManager {
    /// A manager whose first attempt is due at `now`.
    #[must_use]
    pub const fn new(backoff: Backoff, breaker: BreakerConfig, now: Instant) -> Self {
        Self {
            backoff,
            breaker: CircuitBreaker::new(breaker),
            phase: Phase::Waiting,
            failures: 0,
            next_attempt: now,
            last_attempt: None,
            attempts: 0,
            restarting_until: None,
        }
    }

    /// Whether to start an attempt now. An open breaker whose cool-down has
    /// passed lets one probe through; otherwise the next attempt waits for it.
    pub fn poll_attempt(&mut self, now: Instant) -> bool {
        if self.phase != Phase::Waiting || now < self.next_attempt {
            return false;
        }
        if !self.breaker.try_attempt(now) {
            if let Some(until) = self.breaker.reopens_at() {
                self.next_attempt = until;
            }
            return false;
        }
        self.phase = Phase::Attempting;
        self.last_attempt = Some(now);
        self.attempts += 1;
        true
    }

    /// The attempt led to a logged-in session: the breaker closes and the
    /// backoff starts over.
    pub fn on_up(&mut self) {
        self.breaker.on_success();
        self.failures = 0;
        self.restarting_until = None;
        self.phase = Phase::Up;
    }

    /// The attempt failed, or the session it opened was lost. Returns the
    /// delay chosen before the next attempt.
    pub fn on_failure(&mut self, now: Instant, rng: &mut SeededRng) -> Duration {
        if self.phase == Phase::Stopped {
            return Duration::ZERO;
        }
        if self.restarting_until.is_some_and(|until| now < until) {
            // Coming back, as it said: retry at the base delay, breaker
            // untouched, so it is in use about a base delay after it is up.
            let delay = self.backoff.delay(0, rng);
            self.next_attempt = deadline_after(now, delay);
            self.phase = Phase::Waiting;
            return delay;
        }
        let state = self.breaker.on_failure(now);
        let delay = self.backoff.delay(self.failures, rng);
        self.failures = self.failures.saturating_add(1);
        let mut next = deadline_after(now, delay);
        if let BreakerState::Open { until, .. } = state {
            next = next.max(until);
        }
        self.next_attempt = next;
        self.phase = Phase::Waiting;
        next - now
    }

    /// The server announced a restart (`Shutdown` with `Restart: True`):
    /// for [`RESTART_WINDOW`] from `now`, failures retry at the base delay.
    /// The breaker closes: the failures before the announcement say
    /// nothing about a server that is coming back (and a probe in flight
    /// must not leave it half-open with no attempt allowed).
    pub fn expect_restart(&mut self, now: Instant) {
        self.restarting_until = Some(deadline_after(now, RESTART_WINDOW));
        self.breaker.on_success();
        self.failures = 0;
    }

    /// No more attempts (shutdown).
    pub fn stop(&mut self) {
        self.phase = Phase::Stopped;
    }

    /// When [`ConnectionManager::poll_attempt`] may next say yes.
    #[must_use]
    pub fn next_deadline(&self) -> Option<Instant> {
        (self.phase == Phase::Waiting).then_some(self.next_attempt)
    }

    /// The breaker's state.
    #[must_use]
    pub const fn breaker(&self) -> BreakerState {
        self.breaker.state()
    }

    /// When the last attempt started.
    #[must_use]
    pub const fn last_attempt(&self) -> Option<Instant> {
        self.last_attempt
    }

    /// Attempts started so far (the first connection included).
    #[must_use]
    pub const fn attempts(&self) -> u64 {
        self.attempts
    }
}
