//! # apn-ami-core
//!
//! The sans-IO core of apn-ami, an Asterisk Manager Interface client. It
//! consumes bytes and instants and emits writes, frames, log records and
//! deadlines; it never reads a clock, sleeps, touches a socket or spawns.
//! Runtimes (tokio, smol, the deterministic simulator) drive it.
//!
//! Layers, lowest first; a layer uses only layers below it, and `observe` is
//! usable by all (a test in `tests/layering.rs` enforces this):
//!
//! | layer | what it does |
//! | --- | --- |
//! | [`protocol`] | frame parser, action writer, frame and value types |
//! | [`correlation`] | ActionIDs, pending registry, completion strategies, timeouts |
//! | [`connection`] | one server's session: login, outbound buffer, event queue |
//! | [`health`] | backoff, circuit breaker, health states, reconnect decisions |
//! | [`cluster`] | every server, routing, the single object a runtime drives |
//! | [`observe`] | redacted log records and metrics |
//! | `typed` | `Frame::parse::<T>()` through serde (feature `serde`, on by default); uses only `protocol`, nothing uses it |

pub mod cluster;
pub mod connection;
pub mod correlation;
pub mod health;
pub mod observe;
pub mod protocol;
#[cfg(feature = "serde")]
pub mod typed;
