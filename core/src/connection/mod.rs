//! The connection layer: one Asterisk server's session.
//!
//! [`Session`] runs the handshake (banner, plain or MD5 login), writes
//! nothing but the handshake before the login succeeds, correlates answers
//! through the registry, keeps a heartbeat, bounds its outbound bytes, its
//! events (drop-oldest) and its memory, and shuts down with `Logoff`.

mod config;
mod event_queue;
mod handshake;
mod outbound;
mod session;
mod state;

pub use config::{AuthMethod, BUDGET_HEADROOM, SessionConfig, SessionConfigError};
pub use session::Session;
pub use state::{CloseReason, SessionOutput, SessionState, SubmitOptions};
