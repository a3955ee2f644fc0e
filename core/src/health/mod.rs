//! The health layer: whether to connect, and whether a server may be used.
//!
//! - [`ConnectionManager`] decides every reconnect: [`Backoff`] with jitter
//!   from the [`SeededRng`], a floor of [`MIN_RECONNECT_DELAY`], a cap, and a
//!   [`CircuitBreaker`].
//! - [`HealthState`] is derived from observed facts only (session state,
//!   breaker), so nothing can force a failing server healthy.

mod backoff;
mod breaker;
mod manager;
mod monitor;
mod rng;

pub use backoff::{Backoff, MIN_RECONNECT_DELAY};
pub use breaker::{BreakerConfig, BreakerState, CircuitBreaker};
pub use manager::{ConnectionManager, RESTART_WINDOW};
pub use monitor::HealthState;
pub use rng::SeededRng;
