//! # apn-ami-tokio
//!
//! The tokio runtime of apn-ami, an Asterisk Manager Interface client for
//! applications that keep connections to many Asterisk servers open for
//! months. One driver task per client owns every connection and the
//! sans-IO core; the application holds a cheap, cloneable [`Client`].
//!
//! ```no_run
//! use apn_ami_tokio::{Action, Client, ClientConfig};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // servers, credentials (from environment variables), timeouts, routing
//!     let config = ClientConfig::from_file("apn-ami.toml".as_ref())?;
//!     let client = Client::start(&config)?; // connects in the background
//!     client.shutdown_on_signals(); // SIGTERM / Ctrl-C: Logoff, then stop
//!     client.ready().await?; // at least one server logged in
//!
//!     let mut events = client.events()?;
//!     tokio::spawn(async move {
//!         while let Some(event) = events.next().await {
//!             println!("{}: {}", event.server(), event.frame().first_value());
//!         }
//!     });
//!
//!     let channels = client.send(Action::new("CoreShowChannels")?).await?;
//!     println!("{} channels up", channels.items().len());
//!     let reload = Action::builder("Command").header("Command", "core show uptime").build()?;
//!     let output = client.send_to("pbx-a", reload).await?;
//!     output.output_lines().for_each(|line| println!("{}", String::from_utf8_lossy(line)));
//!     client.shutdown().await; // every pending action has ended
//!     Ok(())
//! }
//! ```
//!
//! - Every action ends exactly once: its response, or a typed
//!   [`AmiError`] (timeout, connection lost, rejected, no healthy server,
//!   shutting down). Nothing is replayed after a reconnect.
//! - Events reach the application only as fast as it takes them; when it
//!   lags, each server's bounded queue drops the oldest and counts them
//!   (`ami_dropped_events_total`). Responses never wait behind events.
//! - Connectors: TCP, TLS with rustls (feature `tls`, on by default), and
//!   [`memory`]: fake Asterisk nodes in memory on tokio's (paused) clock.

mod io;
pub mod memory;
mod signals;
#[cfg(feature = "tls")]
mod tls;

use std::ops::Deref;
use std::sync::Arc;

pub use apn_ami_client::{
    Auth, ClientConfig, ConfigError, ConnectFuture, ConnectTarget, Connection, Connector,
    EventStream, EventsTaken, Failure, JsonLogger, NotReady, ReconnectSettings, RoutingSetting,
    ServerEvent, ServerSettings, ServerStatus, SessionSettings, SharedConnector, SignalSeen,
    TARGET, Target, TlsFailure, TlsSettings, WeakClient,
};
pub use apn_ami_core::connection::SubmitOptions;
pub use apn_ami_core::correlation::{AmiError, Response};
pub use apn_ami_core::health::HealthState;
pub use apn_ami_core::observe::Secret;
pub use apn_ami_core::protocol::{Action, Frame};
/// Typed events and actions (serde): `typed::events::Event::from_frame`,
/// `typed::actions::Originate`, `frame.parse::<T>()`.
pub use apn_ami_core::typed;
pub use io::{TcpConnector, TokioConnection};
pub use signals::{Signal, wait_for_signal};
#[cfg(feature = "tls")]
pub use tls::TlsConnector;

use apn_ami_client::Driver;

/// A running client on tokio: cheap to clone; every method of
/// [`apn_ami_client::Client`] (`send`, `send_to`, `send_keyed`, `events`,
/// `health`, `metrics_text`, `ready`, `shutdown`) is available on it.
/// Dropping every handle shuts the client down.
#[derive(Debug, Clone)]
pub struct Client {
    inner: apn_ami_client::Client,
}

impl Deref for Client {
    type Target = apn_ami_client::Client;

    fn deref(&self) -> &apn_ami_client::Client {
        &self.inner
    }
}

impl Client {
    /// Checks `config`, spawns the driver task and returns at once; the
    /// servers connect in the background (see [`apn_ami_client::Client::ready`]).
    /// TCP, or TLS for servers with `tls` settings.
    ///
    /// # Errors
    /// [`ConfigError`] naming the server and the field.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn start(config: &ClientConfig) -> Result<Self, ConfigError> {
        let resolved = config.resolve()?;
        let plain = |limit| Arc::new(TcpConnector::new(limit)) as SharedConnector;
        #[cfg(feature = "tls")]
        let tls: Option<apn_ami_client::TlsConnectorFor<'_>> = Some(&|server, settings, limit| {
            Ok(Arc::new(TlsConnector::new(
                &server.key,
                &server.host,
                settings,
                limit,
            )?))
        });
        #[cfg(not(feature = "tls"))]
        let tls = None;
        let connectors = config.connectors(resolved.connect_timeout, &plain, tls)?;
        Self::spawn(resolved, connectors)
    }

    /// As [`Client::start`], with one connector for every server (it gets
    /// each server's key and address): [`memory::FakeCluster`] for tests,
    /// or an application's own transport.
    ///
    /// # Errors
    /// [`ConfigError`] naming the server and the field.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn start_with(
        config: &ClientConfig,
        connector: SharedConnector,
    ) -> Result<Self, ConfigError> {
        let resolved = config.resolve()?;
        let connectors = vec![connector; resolved.cluster.servers.len()];
        Self::spawn(resolved, connectors)
    }

    fn spawn(
        resolved: apn_ami_client::Resolved,
        connectors: Vec<SharedConnector>,
    ) -> Result<Self, ConfigError> {
        let (inner, driver) = Driver::new(resolved, connectors, io::TokioTimer::new())?;
        tokio::spawn(driver.run());
        Ok(Self { inner })
    }

    /// Turns the first SIGTERM or SIGINT (Ctrl-C) into
    /// [`shutdown`](apn_ami_client::Client::shutdown): pending actions end,
    /// `Logoff` goes to every server, sockets close. The watching task runs
    /// on its own and does not keep the client alive; the returned
    /// [`SignalSeen`] tells which signal started the shutdown, from the
    /// moment it started (so after the event stream ends, it is already
    /// set).
    // Most callers let the task run on its own; asking is optional.
    #[allow(clippy::must_use_candidate)]
    pub fn shutdown_on_signals(&self) -> SignalSeen<Signal> {
        let seen = SignalSeen::default();
        tokio::spawn(
            self.downgrade()
                .shutdown_after(wait_for_signal(), seen.clone()),
        );
        seen
    }
}
