//! # apn-ami-client
//!
//! The runtime-independent half of apn-ami's clients. The tokio and smol
//! crates plug in what is theirs (a [`Connector`] per server, a [`Timer`],
//! a way to spawn one task) and re-export the rest:
//!
//! - [`ClientConfig`]: the settings, in code or TOML, checked with errors
//!   that name the server and the field.
//! - [`Driver`]: the one task that owns the core and every connection.
//! - [`Client`]: the application's handle (`send`, `send_to`,
//!   `send_keyed`, `events`, `health`, `metrics_text`, `shutdown`).
//! - [`EventStream`]: events handed over only as fast as the application
//!   takes them; they drop in one place only, the core's bounded queue.
//! - [`JsonLogger`]: the core's records as JSON lines through `log`.

mod client;
mod config;
mod driver;
mod handoff;
mod io;
mod logging;
mod read_pause;
#[cfg(feature = "tls")]
mod tls;

pub use client::{
    Client, EventsTaken, Failure, NotReady, ServerStatus, SignalSeen, Target, TlsFailure,
    WeakClient,
};
pub use config::{
    Auth, ClientConfig, ConfigError, ReconnectSettings, Resolved, RoutingSetting, ServerSettings,
    SessionSettings, TlsConnectorFor, TlsSettings,
};
pub use driver::Driver;
pub use handoff::{EventStream, ServerEvent};
pub use io::{ConnectFuture, ConnectTarget, Connection, Connector, SharedConnector, Timer};
pub use logging::{JsonLogger, TARGET, emit, log_level};
#[cfg(feature = "tls")]
pub use tls::TlsClient;

/// The core, for the types applications use with the client (`Action`,
/// `Response`, `Frame`, `AmiError`, `SubmitOptions`, `Secret`).
pub use apn_ami_core as core;
