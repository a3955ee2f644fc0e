//! # apn-ami-smol
//!
//! The smol runtime of apn-ami: the same driver (one task owning the core
//! and every connection) and the same application API as `apn-ami-tokio`,
//! on `async-io`'s reactor and timers and `smol`'s executor.
//!
//! ```no_run
//! use apn_ami_smol::{Action, Client, ClientConfig};
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     smol::block_on(async {
//!         let config = ClientConfig::from_file("apn-ami.toml".as_ref())?;
//!         let client = Client::start(&config)?;
//!         client.ready().await?;
//!         let pong = client.send(Action::new("Ping")?).await?;
//!         println!("{}", pong.frame().first_value());
//!         client.shutdown().await;
//!         Ok(())
//!     })
//! }
//! ```
//!
//! TCP and TLS (rustls through futures-rustls, feature `tls`, on by
//! default); in-memory fake nodes ([`memory`]) for an application's own
//! tests; SIGTERM/SIGINT with [`Client::shutdown_on_signals`].

use std::io;
use std::net::{TcpStream, ToSocketAddrs};
use std::ops::Deref;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use apn_ami_client::Driver;
pub use apn_ami_client::{
    Auth, ClientConfig, ConfigError, ConnectFuture, ConnectTarget, Connection, Connector,
    EventStream, EventsTaken, Failure, NotReady, ServerEvent, ServerSettings, ServerStatus,
    SharedConnector, SignalSeen, Target, Timer, WeakClient,
};
pub use apn_ami_core::connection::SubmitOptions;
pub use apn_ami_core::correlation::{AmiError, Response};
pub use apn_ami_core::health::HealthState;
pub use apn_ami_core::observe::Secret;
pub use apn_ami_core::protocol::{Action, Frame};
/// Typed events and actions (serde): `typed::events::Event::from_frame`,
/// `typed::actions::Originate`, `frame.parse::<T>()`.
pub use apn_ami_core::typed;
use async_io::Async;
use futures_io::{AsyncRead, AsyncWrite};
pub use signals::{Signal, wait_for_signal};
#[cfg(feature = "tls")]
pub use tls::TlsConnector;

pub mod memory;
mod signals;
#[cfg(feature = "tls")]
mod tls;

/// A running client on smol; every method of [`apn_ami_client::Client`]
/// is available on it. Dropping every handle shuts the client down.
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
    /// Checks `config`, spawns the driver on smol's global executor and
    /// returns at once; the servers connect in the background.
    ///
    /// # Errors
    /// [`ConfigError`] naming the server and the field.
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

    /// As [`Client::start`], with one connector for every server (its
    /// address and TLS settings are the connector's business):
    /// [`memory::FakeCluster`] for tests, or an application's own.
    ///
    /// # Errors
    /// [`ConfigError`] naming the server and the field.
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
        let (inner, driver) = Driver::new(resolved, connectors, SmolTimer::new())?;
        smol::spawn(driver.run()).detach();
        Ok(Self { inner })
    }
}

impl Client {
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
        smol::spawn(
            self.downgrade()
                .shutdown_after(wait_for_signal(), seen.clone()),
        )
        .detach();
        seen
    }
}

/// The driver's timer on async-io.
#[derive(Debug)]
struct SmolTimer {
    timer: async_io::Timer,
}

impl SmolTimer {
    fn new() -> Self {
        Self {
            timer: async_io::Timer::never(),
        }
    }
}

impl Timer for SmolTimer {
    #[allow(clippy::disallowed_methods)] // the runtime owns the clock
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn reset(&mut self, deadline: Instant) {
        self.timer.set_at(deadline);
    }

    fn poll_elapsed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.timer).poll(cx).map(drop)
    }
}

/// Any futures-io byte stream as a driver connection.
#[derive(Debug)]
pub struct SmolConnection<S>(pub S);

impl<S> Connection for SmolConnection<S>
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }
}

/// Plain TCP with `TCP_NODELAY` and a bounded connect time.
#[derive(Debug, Clone)]
pub struct TcpConnector {
    connect_timeout: Duration,
}

impl TcpConnector {
    /// A connector whose connects give up after `connect_timeout`.
    #[must_use]
    pub const fn new(connect_timeout: Duration) -> Self {
        Self { connect_timeout }
    }
}

/// Opens a TCP connection within `limit`.
async fn tcp_connect(address: String, limit: Duration) -> io::Result<Async<TcpStream>> {
    let connect = async {
        // Name resolution blocks: off the executor.
        let addresses: Vec<_> =
            smol::unblock(move || address.to_socket_addrs().map(Iterator::collect)).await?;
        let mut last = io::Error::from(io::ErrorKind::AddrNotAvailable);
        for address in addresses {
            match Async::<TcpStream>::connect(address).await {
                Ok(stream) => {
                    stream.get_ref().set_nodelay(true)?;
                    return Ok(stream);
                }
                Err(error) => last = error,
            }
        }
        Err(last)
    };
    smol::future::or(connect, timed_out(limit)).await
}

/// `TimedOut` after `limit`.
async fn timed_out<T>(limit: Duration) -> io::Result<T> {
    async_io::Timer::after(limit).await;
    Err(io::Error::from(io::ErrorKind::TimedOut))
}

impl Connector for TcpConnector {
    fn connect(&self, target: &ConnectTarget) -> ConnectFuture {
        let address = target.address.clone();
        let limit = self.connect_timeout;
        Box::pin(async move {
            let stream = tcp_connect(address, limit).await?;
            Ok(Box::new(SmolConnection(stream)) as Box<dyn Connection>)
        })
    }
}
