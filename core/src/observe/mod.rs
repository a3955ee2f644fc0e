//! The observe layer: what the client tells its operators. Usable by every
//! layer; it uses only `protocol`.
//!
//! - [`Secret`] holds a credential that never prints.
//! - [`Redactor`] masks `Secret`, `Key`, `Password` and sensitive channel
//!   variables before any log record exists.
//! - [`LogRecord`]s wait in a bounded [`LogQueue`] (oldest dropped, counted).
//! - [`ServerMetrics`] counts per server; [`render_prometheus`] writes the
//!   Prometheus text format.

mod log;
mod metrics;
mod redact;
mod secret;

pub use log::{FieldValue, Level, LogQueue, LogRecord};
pub use metrics::{Counters, LoginFailure, Outcome, ServerMetrics, render_prometheus};
pub use redact::Redactor;
pub use secret::{MASK, Secret};
