//! [`Backoff`]: exponential reconnect delays with jitter, floor and cap.

use std::time::Duration;

use super::rng::SeededRng;

/// No two connection attempts to one server closer than this.
pub const MIN_RECONNECT_DELAY: Duration = Duration::from_millis(100);

/// Reconnect delays: attempt `n` waits a random time in `[d/2, d]` with
/// `d = min(cap, base · factorⁿ)` ("equal jitter"), and never less than
/// [`MIN_RECONNECT_DELAY`] nor more than the cap. The expected delay grows
/// until the cap; the jitter spreads servers that dropped together.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// The first attempt's upper delay.
    pub base: Duration,
    /// Growth per attempt (at least 1).
    pub factor: u32,
    /// The largest delay.
    pub cap: Duration,
}

impl Default for Backoff {
    /// 500 ms, doubling, capped at 30 s.
    fn default() -> Self {
        Self {
            base: Duration::from_millis(500),
            factor: 2,
            cap: Duration::from_secs(30),
        }
    }
}

impl Backoff {
    /// Whether the settings can hold their promises: base and cap at least
    /// the floor, base at most the cap, factor at least 1 and finite.
    #[must_use]
    pub fn is_valid(&self) -> bool {
        self.base >= MIN_RECONNECT_DELAY && self.cap >= self.base && self.factor >= 1
    }

    /// The delay before attempt `attempt` (0 for the first retry).
    pub fn delay(&self, attempt: u32, rng: &mut SeededRng) -> Duration {
        let cap_ms = duration_ms(self.cap);
        let growth = u64::from(self.factor).saturating_pow(attempt);
        let upper = duration_ms(self.base).saturating_mul(growth).clamp(
            duration_ms(MIN_RECONNECT_DELAY),
            cap_ms.max(duration_ms(MIN_RECONNECT_DELAY)),
        );
        let lower = (upper / 2).max(duration_ms(MIN_RECONNECT_DELAY));
        Duration::from_millis(lower + rng.up_to(upper - lower))
    }
}

fn duration_ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
