//! Deadlines that never overflow: configuration and per-call options may
//! hold `Duration::MAX`, and `Instant + Duration::MAX` panics.

use std::time::{Duration, Instant};

/// The longest wait the core arms, about a century: a longer configured
/// duration means "never" in practice.
pub const LONGEST_WAIT: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// `now + after`, with `after` capped at [`LONGEST_WAIT`]; never panics.
#[must_use]
pub fn deadline_after(now: Instant, after: Duration) -> Instant {
    now.checked_add(after.min(LONGEST_WAIT)).unwrap_or(now)
}
